// Independent instances of the package in one Node process: each `slim.js?instance=k` is a
// separate module instance with its own engine pool and per-key queues, as separate
// processes or isolates sharing one store would have. Used to make operations of one key
// really interleave at the store (inside one instance they take turns).
import { readFileSync } from "node:fs";
import { acrossInstances } from "./reliability-lib.mjs";

const wasmBytes = readFileSync(new URL("../../pkg/wasm/edge_otp_bg.wasm", import.meta.url));

/** `n` OtpManager classes, one per instance. */
export async function loadInstances(n = 4) {
  return Promise.all(Array.from({ length: n }, async (_, k) => {
    const m = await import(`../../pkg/slim.js?instance=${k + 1}`);
    m.initSync({ module: wasmBytes });
    return m.OtpManager;
  }));
}

/** A manager class whose calls go to `n` instances in turn (see acrossInstances). */
export async function spreadManager(n = 4) {
  return acrossInstances(await loadInstances(n));
}
