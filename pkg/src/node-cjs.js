// Source of dist/node.cjs (edge-otp for Node.js via require), bundled by .ci/build.
// __dirname is dist/, next to wasm/.
import * as fs from "node:fs";
import { join } from "node:path";
import { urandom } from "../node-random.js";
import { initSync } from "../slim.js";

initSync({
  module: fs.readFileSync(join(__dirname, "..", "wasm", "edge_otp_bg.wasm")),
  getRandomValues: urandom(fs),
});

export { OtpManager, OtpError, memoryStorage } from "../slim.js";
