// Gives the glue's catching imports (`function() { return handleError(function (arg0,
// arg1) { ... }, arguments); }`, wasm-bindgen's `catch` imports) the arity that wasm calls
// them with. V8 compiles the module's wasm-to-JS import wrappers when it compiles the
// module, for functions whose declared arity matches the import's; an import of another
// arity gets a second wrapper, compiled (TurboFan) when the module is instantiated, which
// was half of the instantiation in Node's cold start (bench/coldstart.mjs). They still
// pass `arguments` on, so nothing else changes.
//
//   node .ci/import-arity.mjs glue.js   (in place; .ci/build runs it after wasm-bindgen)
import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2];
const CATCHING = /function\(\) \{ return handleError\(function \(([^)]+)\) \{/g;
let n = 0;
const out = readFileSync(file, "utf8").replace(CATCHING, (_, params) => {
  n++;
  return `function(${params}) { return handleError(function (${params}) {`;
});
// A new wasm-bindgen may write them otherwise: then this step must be looked at again.
if (n === 0 || /function\(\) \{ return handleError\(function \([^)]/.test(out)) {
  throw new Error(`${file}: no catching import of wasm-bindgen's usual form (found ${n})`);
}
writeFileSync(file, out);
