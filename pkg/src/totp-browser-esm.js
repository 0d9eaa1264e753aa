// Source of dist/totp-browser.mjs (edge-otp/totp for browsers, bundlers and other
// runtimes; the `browser` and `default` conditions), bundled by .ci/entries.mjs with
// totp-slim.js and the TOTP wasm glue without its default wasm URL (error.js and the
// inlined bytes stay external). The TOTP .wasm is inlined (base64) and compiled
// asynchronously, so bundlers (Vite, webpack) emit no copy of the .wasm beside it.
import { bytes } from "../dist/wasm-totp-inline.js";
import { init } from "../totp-slim.js";

await init(bytes());

export { TotpManager, OtpError, memoryStorage } from "../totp-slim.js";
