// edge-otp/sql's d1Storage on Cloudflare D1 inside workerd (Miniflare, a local D1
// database), through the installed tarball's workerd entry and its "edge-otp/sql" export
// (the Worker is bundled against the packed package, installed into an empty project): the
// conformance suite, the SQL store checks (sql-checks.mjs), the storms (exact) and
// driver errors as the same object; all of it runs inside the Worker
// (tests/js/fixtures/sql-d1-worker.js).
//
//   node --test tests/js/sql-d1.test.mjs
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { buildWorker, serveBuild, packageBuilt, ROOT, stubNodeEntry } from "./miniflare.mjs";
import { cases } from "./conformance.mjs";
import { sqlChecks } from "./sql-checks.mjs";
import { installedPackage } from "./tarball.mjs";

const skip = packageBuilt() ? false : "package not built (run `bash .ci/build` first)";
const report = (figures) => console.log(JSON.stringify(figures));

let w;
before(async () => {
  if (skip) return;
  const installed = await installedPackage();
  const build = await buildWorker({ entry: path.join(ROOT, "tests/js/fixtures/sql-d1-worker.js"), pkgDir: installed.dir, plugins: [stubNodeEntry] });
  w = await serveBuild(build, { name: "edge-otp-sql-d1", d1Databases: ["DB"] });
});
after(() => w?.dispose());

async function post(p, body = {}) {
  const res = await w.mf.dispatchFetch(`http://d1${p}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${p} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

function passed(r, t) {
  if (r.status === "skipped") return t.skip(r.reason);
  if (r.status !== "passed") {
    const err = new Error(`[workerd] ${r.message ?? r.status}`);
    err.stack = `${err.message}\n${r.stack ?? ""}`;
    throw err;
  }
}

describe("D1 in workerd: the same suites as in Node", { skip }, () => {
  test("the fixture runs the same case lists", async () => {
    const res = await w.mf.dispatchFetch("http://d1/cases");
    const lists = await res.json();
    assert.deepEqual(lists.conformance, cases.map((c) => c.name));
    assert.deepEqual(lists.checks, sqlChecks.map((c) => c.name));
  });
});

describe("conformance on D1 (d1Storage inside workerd)", { skip }, () => {
  for (const c of cases) test(c.name, async (t) => passed(await post("/conformance", { name: c.name }), t));
});

describe("SQL store checks on D1", { skip }, () => {
  for (const c of sqlChecks) test(c.name, async (t) => passed(await post("/check", { name: c.name }), t));
});

describe("D1 storms and driver errors", { skip }, () => {
  test("the three storms (exactly 3 / 1 / 5) and 1000 wrong / 100 right over 8 d1Storage objects (exactly 3 / 1), concurrent promises in one request", async (t) => {
    const t0 = performance.now();
    const r = await post("/storms");
    passed(r, t);
    report({ storm: "suite", store: "d1 in workerd (miniflare)", ...r.suite });
    report({ storm: "spread", store: "d1 in workerd (miniflare), 8 d1Storage objects", ...r.spread, casCalls: r.casCalls, ms: Math.round(performance.now() - t0) });
    assert.deepEqual(r.suite.wrong, { invalid: 3, exhausted: 997 });
    assert.equal(r.suite.attempts, 3);
    assert.deepEqual(r.suite.right, { verified: 1, used: 99 });
    assert.deepEqual(r.suite.create, { issued: 5, "error:RATE_LIMITED": 95 });
    assert.equal(r.spread.wrong.attempts, 3);
    assert.equal(r.spread.right.verified, 1);
    // One package instance in the isolate: its managers take turns per key, so the CAS
    // calls do not conflict here (conflicting CAS across instances is exercised on SQLite
    // and PostgreSQL, whose statements are the same shape).
    assert.ok(r.casCalls >= 4, `CAS calls: ${r.casCalls}`);
  });

  test("a D1 error reaches the caller as the same object; the manager works after", async (t) => {
    const r = await post("/errors");
    passed(r, t);
    assert.equal(r.rejected, true);
    assert.equal(r.sameObject, true, `not the same object: ${r.name}: ${r.message}`);
    assert.equal(r.isOtpError, false);
    assert.match(r.message, /no such table/);
    assert.equal(r.worksAfter, true);
  });
});
