// Source of dist/node.cjs (edge-otp for Node.js via require), bundled by .ci/build.
// __dirname is dist/, next to wasm/.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { initSync } from "../slim.js";

initSync({ module: readFileSync(join(__dirname, "..", "wasm", "edge_otp_bg.wasm")) });

export { OtpManager, OtpError, memoryStorage } from "../slim.js";
