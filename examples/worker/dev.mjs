#!/usr/bin/env node
// Local demo runner for the Worker example: bundles src/index.js with esbuild and
// runs it on Miniflare/workerd at http://127.0.0.1:8787 (demo mode: the code is
// returned by POST /api/otp so the page can show it).
//
//   node examples/worker/dev.mjs                        # KV mode
//   OTP_MODE=durable-object node examples/worker/dev.mjs
//   PORT=8788 node examples/worker/dev.mjs
//
// State (KV / Durable Objects) persists under <repo>/.mf/ (git-ignored);
// delete that directory to start over. Needs the built package (bash .ci/build).
import path from "node:path";
import { existsSync } from "node:fs";
import { startWorker, packageBuilt } from "../../tests/js/miniflare.mjs";

// DEV ONLY. This secret is public (it is in the repository). A deployed Worker
// must get its own: `wrangler secret put OTP_SECRET`.
const DEV_ONLY_SECRET = "dev-only-secret-DO-NOT-DEPLOY-edge-otp-8787";

// EDGE_OTP_PKG_DIR=<dir> resolves "edge-otp" to another package build (default <repo>/pkg).
const pkgDir = process.env.EDGE_OTP_PKG_DIR ? path.resolve(process.env.EDGE_OTP_PKG_DIR) : undefined;
if (pkgDir ? !existsSync(path.join(pkgDir, "workerd.js")) : !packageBuilt()) {
  console.error("pkg/wasm/ is missing: build the package first (bash .ci/build).");
  process.exit(1);
}

const mode = process.env.OTP_MODE ?? "kv";
const worker = await startWorker({
  mode,
  demo: true,
  port: Number(process.env.PORT ?? 8787),
  persist: ".mf",
  secret: DEV_ONLY_SECRET,
  pkgDir,
  verbose: true,
});
console.log(`edge-otp Worker example (${mode} mode, demo on) listening on ${worker.url}`);
console.log("Press Ctrl+C to stop.");

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    await worker.dispose();
    process.exit(0);
  });
}
