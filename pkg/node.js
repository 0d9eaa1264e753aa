// edge-otp for Node.js (ESM): reads the .wasm next to this file and compiles it once.
import { urandom } from "./node-random.js";
import { initSync } from "./slim.js";

// process.getBuiltinModule (Node 20.16+) hands over the CommonJS fs module directly; an ESM
// `import "node:fs"` costs about 2 ms of start-up in Node 20 (bench/coldstart.mjs).
const fs = globalThis.process?.getBuiltinModule?.("node:fs") ?? (await import("node:fs"));

initSync({
  module: fs.readFileSync(new URL("./wasm/edge_otp_bg.wasm", import.meta.url)),
  getRandomValues: urandom(fs),
});

export { OtpManager, OtpError, memoryStorage } from "./slim.js";
