// edge-otp for Node.js (ESM): reads the .wasm next to this file and compiles it once.
import { readFileSync } from "node:fs";
import { initSync } from "./slim.js";

initSync({ module: readFileSync(new URL("./wasm/edge_otp_bg.wasm", import.meta.url)) });

export { OtpManager, OtpError, memoryStorage } from "./slim.js";
