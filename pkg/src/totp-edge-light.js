// Source of dist/totp-edge-light.mjs (edge-otp/totp for the Vercel Edge Runtime; the
// `edge-light` condition), bundled by .ci/entries.mjs like dist/edge-light.mjs: Edge
// Functions are bundled into scripts, so no top-level await and no import.meta; the
// inlined TOTP .wasm is compiled synchronously.
import { bytes } from "../dist/wasm-totp-inline.js";
import { initSync } from "../totp-slim.js";

initSync({ module: new WebAssembly.Module(bytes()) });

export { TotpManager, OtpError, memoryStorage } from "../totp-slim.js";
