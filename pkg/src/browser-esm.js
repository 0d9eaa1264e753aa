// Source of dist/browser.mjs (edge-otp for browsers, bundlers and other runtimes; the
// `browser` and `default` conditions), bundled by .ci/entries.mjs with slim.js and the wasm
// glue (error.js stays external). The .wasm is inlined (base64) so that any bundler handles
// it without asset configuration, and compiled asynchronously (browsers refuse synchronous
// compilation of modules over 4 KB on the main thread). The bundled glue has no
// `new URL("edge_otp_bg.wasm", import.meta.url)`, so bundlers emit no second copy.
import { bytes } from "../dist/wasm-inline.js";
import { init } from "../slim.js";

await init(bytes());

export { OtpManager, OtpError, memoryStorage } from "../slim.js";
