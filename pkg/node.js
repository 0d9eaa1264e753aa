// edge-otp for Node.js (ESM), unbundled: reads the .wasm next to this file and compiles it
// once. dist/node.mjs is the same entry bundled (what `import` and `require` of
// "edge-otp" load in Node), except that its glue draws salts from /dev/urandom instead of
// WebCrypto (pkg/src/node-random.js).
import { initSync } from "./slim.js";

const fs = process.getBuiltinModule("node:fs");
initSync({ module: fs.readFileSync(new URL("./wasm/edge_otp_bg.wasm", import.meta.url)) });

export { OtpManager, OtpError, memoryStorage } from "./slim.js";
