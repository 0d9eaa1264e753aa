// edge-otp for Cloudflare Workers (workerd): the .wasm is imported as a compiled module
// (Workers cannot compile wasm from bytes at run time). No randomness is drawn here;
// salts are drawn inside operations, i.e. inside request handlers.
import wasmModule from "./wasm/edge_otp_bg.wasm";
import { initSync } from "./slim.js";

initSync({ module: wasmModule });

export { OtpManager, OtpError, memoryStorage } from "./slim.js";
