// edge-otp/totp for Cloudflare Workers (workerd): the TOTP .wasm is imported as a compiled
// module. Seeds, nonces and recovery codes are drawn inside operations, i.e. inside
// request handlers.
import wasmModule from "./wasm-totp/edge_otp_totp_bg.wasm";
import { initSync } from "./totp-slim.js";

initSync({ module: wasmModule });

export { TotpManager, OtpError, memoryStorage } from "./totp-slim.js";
