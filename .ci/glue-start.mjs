// Makes the glue forget an instance whose start fails. wasm-bindgen's glue keeps the
// instance's exports (`wasm = instance.exports`) before it calls `__wbindgen_start`; a
// valid WebAssembly module that is not this one (no imports, so it instantiates: an empty
// module, another library's) then fails there, and every later `init`/`initSync`, the
// right bytes included, returned that broken instance. With this, the start's error
// (TypeError) is thrown and the glue stays unloaded, as for bytes that do not compile.
//
//   node .ci/glue-start.mjs glue.js   (in place; .ci/build runs it after wasm-bindgen)
import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2];
const START = "\n    wasm.__wbindgen_start();\n";
const glue = readFileSync(file, "utf8");
// Exactly once, in __wbg_finalize_init: a new wasm-bindgen may write it otherwise, and
// then this step must be looked at again.
const at = glue.indexOf(START);
if (at < 0 || glue.indexOf(START, at + 1) >= 0 || !/function __wbg_finalize_init\([^)]*\) \{[^}]*$/.test(glue.slice(0, at))) {
  throw new Error(`${file}: wasm.__wbindgen_start() not found once in __wbg_finalize_init`);
}
writeFileSync(file, glue.replace(START, "\n    try { wasm.__wbindgen_start(); } catch (e) { wasm = undefined; throw e; }\n"));
