// The conformance suite (conformance.mjs) against the in-process stores, through the
// Node entry (pkg/node.js):
//   node --test tests/js/conformance.test.mjs
import { describe, test } from "node:test";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runConformance, cases } from "./conformance.mjs";
import { syncMap, promiseMap, promiseCasMap, memory, yielding } from "./stores.mjs";

const built = existsSync(fileURLToPath(new URL("../../pkg/wasm/edge_otp_bg.wasm", import.meta.url)));
const skip = built ? false : "package not built (run `bash .ci/build` first)";
const load = () => import("../../pkg/node.js");

const stores = [
  ["plain Map, sync get/put, no compareAndSwap", async () => syncMap(), { compareAndSwap: false }],
  ["Promise-returning get/put, no compareAndSwap", async () => promiseMap(), { compareAndSwap: false }],
  ["memoryStorage() (sync compareAndSwap)", async () => memory(await load()), {}],
  ["Promise-returning compareAndSwap, yielding between calls", async () => yielding(promiseCasMap()), {}],
];

for (const [name, makeStorage, opts] of stores) {
  describe(`conformance: ${name}`, { skip }, () => {
    runConformance(test, makeStorage, { load, ...opts });
  });
}

test("conformance: the suite is complete", () => {
  if (cases.length < 30) throw new Error(`only ${cases.length} cases`);
  const names = new Set(cases.map((c) => c.name));
  if (names.size !== cases.length) throw new Error("duplicate case names");
});
