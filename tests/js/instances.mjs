// Independent instances of the package in one Node process: each `slim.js?instance=k` is a
// separate module instance with its own engine pool and per-key queues, as separate
// processes or isolates sharing one store would have. Used to make operations of one key
// really interleave at the store (inside one instance they take turns).
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { acrossInstances } from "./reliability-lib.mjs";
import { PKG } from "./tarball.mjs";

/** `n` OtpManager classes, one per instance of the package in `dir` (default pkg/; pass an installed copy). */
export async function loadInstances(n = 4, dir = PKG) {
  const wasmBytes = readFileSync(path.join(dir, "wasm/edge_otp_bg.wasm"));
  const slim = pathToFileURL(path.join(dir, "slim.js")).href;
  return Promise.all(Array.from({ length: n }, async (_, k) => {
    const m = await import(`${slim}?instance=${k + 1}`);
    m.initSync({ module: wasmBytes });
    return m.OtpManager;
  }));
}

/** A manager class whose calls go to `n` instances in turn (see acrossInstances). */
export async function spreadManager(n = 4, dir = PKG) {
  return acrossInstances(await loadInstances(n, dir));
}
