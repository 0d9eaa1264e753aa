// edge-otp for Deno (the `deno` condition): the .wasm is loaded by the module loader as a
// WebAssembly.Module (a source phase import), so no read permission is needed, unlike
// the Node entry's file read. Shares slim.js (one instance with edge-otp/slim).
import source wasmModule from "./wasm/edge_otp_bg.wasm";
import { initSync } from "./slim.js";

initSync({ module: wasmModule });

export { OtpManager, OtpError, memoryStorage } from "./slim.js";
