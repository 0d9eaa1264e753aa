// edge-otp/totp for browsers, bundlers and other runtimes: the TOTP .wasm is inlined
// (base64) and compiled asynchronously.
import { bytes } from "./dist/wasm-totp-inline.js";
import { init } from "./totp-slim.js";

await init(bytes());

export { TotpManager, OtpError, memoryStorage } from "./totp-slim.js";
