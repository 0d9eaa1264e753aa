// A copy of the package (pkg/) in a temporary directory whose one-time-code .wasm keeps
// its function names: wasm-bindgen on the cargo output and .ci/build's panic snipping
// (.ci/snip-panics.mjs, which keeps names), without its wasm-opt pass (which strips them)
// and without its glue rewrites (short import names, import arity), which change no
// function body. For the bench scripts that name wasm functions
// (profile.mjs, lazy-compile.mjs). Exits the process (status 2) when the package is not
// built or wasm-bindgen or the snipping fails.

import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
// The one-time-code module's cargo output (.ci/build builds the TOTP module into
// release-totp/).
const CARGO_WASM = join(ROOT, "target/wasm32-unknown-unknown/release/edge_otp.wasm");

/** The copy's directory (`prefix` names it); its .wasm is `wasm/edge_otp_bg.wasm`. */
export function namedCopy(prefix) {
  if (!existsSync(CARGO_WASM) || !existsSync(join(ROOT, "pkg/slim.js"))) {
    console.error("build first: bash .ci/build");
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(ROOT, "pkg"), dir, { recursive: true });
  const wb = spawnSync("wasm-bindgen", ["--target", "web", "--out-dir", join(dir, "wasm"), "--out-name", "edge_otp", CARGO_WASM], {
    encoding: "utf8",
  });
  if (wb.status !== 0) {
    console.error(`wasm-bindgen failed: ${wb.stderr || wb.error}`);
    process.exit(2);
  }
  const snip = spawnSync(process.execPath, [join(ROOT, ".ci/snip-panics.mjs"), join(dir, "wasm/edge_otp_bg.wasm")], { encoding: "utf8" });
  if (snip.status !== 0) {
    console.error(`.ci/snip-panics.mjs failed: ${snip.stderr || snip.error}`);
    process.exit(2);
  }
  return dir;
}
