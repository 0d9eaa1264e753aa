// edge-otp for browsers, bundlers and other runtimes: the .wasm is inlined (base64) so
// that any bundler handles it without asset configuration, and compiled asynchronously
// (browsers refuse synchronous compilation of modules over 4 KB on the main thread).
import { bytes } from "./dist/wasm-inline.js";
import { init } from "./slim.js";

await init(bytes());

export { OtpManager, OtpError, memoryStorage } from "./slim.js";
