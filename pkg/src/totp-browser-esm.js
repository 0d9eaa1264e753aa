// Source of dist/totp-browser.mjs (edge-otp/totp for browsers, bundlers and other
// runtimes; the `browser`, `edge-light` and `default` conditions), bundled by
// .ci/entries.mjs like dist/browser.mjs (see pkg/src/browser-esm.js): the TOTP .wasm
// inlined (base64) and compiled synchronously, no top-level await, no import.meta, and
// a glue without its default wasm URL, so bundlers (Vite, webpack) emit no copy of it.
import { bytes } from "../dist/wasm-totp-inline.js";
import { initSync } from "../totp-slim.js";

initSync({ module: new WebAssembly.Module(bytes()) });

export { TotpManager, OtpError, memoryStorage } from "../totp-slim.js";
