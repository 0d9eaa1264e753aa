// edge-otp/totp for Deno (the `deno` condition): the TOTP .wasm is loaded by the module
// loader as a WebAssembly.Module (a source phase import), so no read permission is
// needed, as for deno.js.
import source wasmModule from "./wasm-totp/edge_otp_totp_bg.wasm";
import { initSync } from "./totp-slim.js";

initSync({ module: wasmModule });

export { TotpManager, OtpError, memoryStorage } from "./totp-slim.js";
