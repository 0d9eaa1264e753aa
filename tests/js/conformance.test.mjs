// The conformance suite (conformance.mjs) against the in-process stores, through the
// Node entry of the package as users get it (npm pack, installed into an empty project,
// dist/node.mjs: what `import "edge-otp"` resolves to in Node):
//   node --test tests/js/conformance.test.mjs
import { describe, test } from "node:test";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { runConformance, cases } from "./conformance.mjs";
import { syncMap, promiseMap, promiseCasMap, memory, yielding } from "./stores.mjs";
import { installTarball } from "./tarball.mjs";

const tarball = await installTarball();
process.on("exit", () => tarball.cleanup());
const entry = pathToFileURL(path.join(tarball.project, "node_modules/edge-otp/dist/node.mjs")).href;
const skip = false;
const load = () => import(entry);

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
