// Source of dist/node.mjs (edge-otp for Node.js, both `import` and `require`), bundled by
// .ci/build into one module with slim.js and the wasm glue: Node's ESM loader costs about
// 0.6 ms per module at start-up, and cold start is a budget (BENCHMARKS.md). No top-level
// await, so that `require("edge-otp")` (Node >= 20.19 loads ES modules with require)
// gives this very module, and the same OtpError class as `import`.
// pkg/node.js is the same entry unbundled. The .wasm is read from ../wasm/, next to dist/.
import { initSync } from "../slim.js";

// process.getBuiltinModule (Node 20.16+) hands over the CommonJS fs module directly; an ESM
// `import "node:fs"` costs about 2 ms of start-up in Node 20 (bench/coldstart.mjs).
const fs = process.getBuiltinModule("node:fs");
initSync({ module: fs.readFileSync(new URL("../wasm/edge_otp_bg.wasm", import.meta.url)) });

export { OtpManager, OtpError, memoryStorage } from "../slim.js";
