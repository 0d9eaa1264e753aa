// edge-otp/totp for Node.js (import and require: no top-level await): reads the TOTP .wasm
// next to this file and compiles it once.
import { initSync } from "./totp-slim.js";

const fs = process.getBuiltinModule("node:fs");
initSync({ module: fs.readFileSync(new URL("./wasm-totp/edge_otp_totp_bg.wasm", import.meta.url)) });

export { TotpManager, OtpError, memoryStorage } from "./totp-slim.js";
