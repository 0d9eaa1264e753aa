// edge-otp/totp inside workerd (Miniflare): the TOTP suite through pkg/totp-workerd.js
// (the .wasm imported as a compiled module) on Durable Object storage and on KV, and the
// storms inside one Durable Object; also that the edge-otp Worker bundle holds no TOTP.
//
//   node --test tests/js/totp-worker.test.mjs
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { buildWorker, serveBuild, ROOT, stubNodeEntry } from "./miniflare.mjs";
import { cases } from "./totp-suite.mjs";

let worker;
before(async () => {
  const build = await buildWorker({ entry: path.join(ROOT, "tests/js/fixtures/totp-worker.js"), plugins: [stubNodeEntry] });
  assert.deepEqual(build.modules.map((m) => path.basename(m.path)).sort(), ["edge_otp_totp_bg.wasm", "index.js"],
    "the TOTP Worker carries only the TOTP wasm");
  worker = await serveBuild(build, {
    name: "edge-otp-totp",
    kvNamespaces: ["KV"],
    durableObjects: { TOTP_DO: { className: "TotpDO", useSQLite: true } },
  });
});
after(() => worker?.dispose());

async function post(p, body) {
  const res = await worker.mf.dispatchFetch(`http://totp${p}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

test("the same suite in Node and in workerd", async () => {
  const res = await worker.mf.dispatchFetch("http://totp/cases");
  assert.deepEqual(await res.json(), cases.map((c) => c.name));
});

for (const store of ["do", "kv"]) {
  describe(`TOTP suite in workerd on ${store === "do" ? "Durable Object storage" : "KV"}`, () => {
    for (const c of cases) {
      test(c.name, async () => {
        const r = await post("/run", { store, name: c.name });
        assert.equal(r.status, "passed", `${r.message}\n${r.stack}`);
      });
    }
  });
}

test("storms in one Durable Object: one true of 100 right, 5 counted of 1000 wrong", async () => {
  const r = await post("/storm");
  assert.deepEqual(r.right, { true: 1, false: 99 });
  assert.deepEqual(r.wrong, { invalid: 5, locked: 995 });
});
