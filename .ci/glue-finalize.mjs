// Two mends to wasm-bindgen's glue, both in `__wbg_finalize_init`, which every load
// (`init` and `initSync`) ends in:
//
// - An instance whose start fails is forgotten. The glue keeps the instance's exports
//   (`wasm = instance.exports`) before it calls `__wbindgen_start`; a valid WebAssembly
//   module that is not this one (no imports, so it instantiates: an empty module, another
//   library's) then fails there, and every later `init`/`initSync`, the right bytes
//   included, returned that broken instance. With this, the start's error (TypeError) is
//   thrown and the glue stays unloaded, as for bytes that do not compile.
// - A module loaded already is kept. `init` checks for one only before it awaits its
//   input; an `initSync` while that input is on its way loaded the module, and the
//   pending `init` then put its own instance in place of it: the engines made meanwhile
//   were called with the other instance's memory (a "memory access out of bounds", or
//   an endless loop in the allocator). Now the pending `init` finds the module loaded
//   and leaves it (its own instance is dropped; it resolves, the module being loaded,
//   even when its own input would have failed to start).
//
//   node .ci/glue-finalize.mjs glue.js   (in place; .ci/build runs it after wasm-bindgen)
import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2];
const glue = readFileSync(file, "utf8");
// Each exactly once, in __wbg_finalize_init: a new wasm-bindgen may write it otherwise,
// and then this step must be looked at again.
function once(text, what) {
  const at = glue.indexOf(text);
  if (at < 0 || glue.indexOf(text, at + 1) >= 0) throw new Error(`${file}: ${what} not found once`);
  return at;
}
const HEAD = "function __wbg_finalize_init(instance, module) {\n";
const START = "\n    wasm.__wbindgen_start();\n";
const head = once(HEAD, "__wbg_finalize_init");
const start = once(START, "wasm.__wbindgen_start()");
if (!(start > head && !glue.slice(head, start).includes("}"))) {
  throw new Error(`${file}: wasm.__wbindgen_start() is not in __wbg_finalize_init`);
}
writeFileSync(file, glue
  .replace(START, "\n    try { wasm.__wbindgen_start(); } catch (e) { wasm = undefined; throw e; }\n")
  .replace(HEAD, `${HEAD}    if (wasm !== undefined) return wasm;\n`));
