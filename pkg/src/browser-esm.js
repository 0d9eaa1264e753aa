// Source of dist/browser.mjs (edge-otp for browsers, bundlers and other runtimes; the
// `browser`, `edge-light` and `default` conditions), bundled by .ci/entries.mjs with
// slim.js and the wasm glue (error.js and the inlined bytes stay external). The .wasm is
// inlined (base64), so that any bundler handles it without asset configuration, and
// compiled synchronously: no top-level await and no import.meta, so the bundle also works
// as a classic script, required from CommonJS by a bundler, split into lazy chunks, and
// in the Vercel Edge Runtime. Browsers compile up to 8 MB synchronously on the main thread
// (Chrome since 114, Firefox and Safari always; older Chrome refused more than 4 KB:
// there, use edge-otp/slim with `await init(...)`). The bundled glue has no
// `new URL("edge_otp_bg.wasm", import.meta.url)`, so bundlers emit no second copy.
import { bytes } from "../dist/wasm-inline.js";
import { initSync } from "../slim.js";

initSync({ module: new WebAssembly.Module(bytes()) });

export { OtpManager, OtpError, memoryStorage } from "../slim.js";
