// Source of dist/edge-light.mjs (edge-otp for the Vercel Edge Runtime; the `edge-light`
// condition), bundled by .ci/entries.mjs with slim.js and the wasm glue (error.js stays
// external). Edge Functions are bundled into scripts: no top-level await and no
// import.meta here or in the bundled glue. The inlined .wasm is compiled synchronously
// (compiling from bytes is allowed there; workerd, which forbids it, has its own entry).
import { bytes } from "../dist/wasm-inline.js";
import { initSync } from "../slim.js";

initSync({ module: new WebAssembly.Module(bytes()) });

export { OtpManager, OtpError, memoryStorage } from "../slim.js";
