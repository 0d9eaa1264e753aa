// Vercel Edge Runtime (npm edge-runtime, a root devDependency) from the packed tarball.
//
//   node --test tests/js/edge-runtime.test.mjs
//
// An Edge Function (tests/js/fixtures/edge-app.js) importing "edge-otp" and
// "edge-otp/totp" is bundled from
// a consumer project into one IIFE script with esbuild (--conditions=edge-light, as
// Vercel's bundler resolves; the Edge Runtime evaluates scripts, not modules), and run in
// `new EdgeRuntime({ initialCode })`: the bundle must resolve to dist/browser.mjs and
// dist/totp-browser.mjs (what the edge-light condition names), have no top-level await and no import.meta, then
// create/verify, the whole conformance suite and the whole TOTP suite (memoryStorage and
// a Promise store with compareAndSwap) pass inside the runtime.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { installTarball, ROOT } from "./tarball.mjs";

const require = createRequire(path.join(ROOT, "package.json"));

describe("Vercel Edge Runtime (edge-runtime, edge-light condition)", () => {
  const work = {};
  before(async () => {
    work.t = await installTarball({
      prefix: "edge-otp-edge-",
      files: {
        "edge-app.js": { copy: path.join(ROOT, "tests/js/fixtures/edge-app.js") },
        "conformance.mjs": { copy: path.join(ROOT, "tests/js/conformance.mjs") },
        "stores.mjs": { copy: path.join(ROOT, "tests/js/stores.mjs") },
        "totp-suite.mjs": { copy: path.join(ROOT, "tests/js/totp-suite.mjs") },
      },
    });
    const esbuild = require("esbuild");
    const outfile = path.join(work.t.project, "edge-bundle.js");
    const result = await esbuild.build({
      absWorkingDir: work.t.project,
      entryPoints: ["edge-app.js"],
      bundle: true,
      format: "iife",
      target: "es2022",
      platform: "browser",
      conditions: ["edge-light"],
      // conformance.mjs' default loader (pkg/node.js) is never called here.
      external: ["../../pkg/node.js"],
      metafile: true,
      logLevel: "silent",
      outfile,
    });
    work.warnings = result.warnings;
    work.inputs = Object.keys(result.metafile.inputs);
    work.code = readFileSync(outfile, "utf8");
    const { EdgeRuntime } = require("edge-runtime");
    work.runtime = new EdgeRuntime({ initialCode: work.code });
  });
  after(async () => {
    await work.runtime?.dispose?.();
    work.t?.cleanup();
  });

  const get = async (p, init) => {
    const res = await work.runtime.dispatchFetch(`http://edge.test${p}`, init);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return JSON.parse(text);
  };

  test("the bundle takes dist/browser.mjs and dist/totp-browser.mjs: no top-level await, no import.meta, no esbuild warnings", () => {
    assert.ok(work.inputs.includes("node_modules/edge-otp/dist/browser.mjs"), work.inputs.join(", "));
    assert.ok(work.inputs.includes("node_modules/edge-otp/dist/totp-browser.mjs"), work.inputs.join(", "));
    assert.ok(!work.inputs.some((i) => /edge-otp\/(dist\/node\.mjs|(totp-)?slim\.js|wasm(-totp)?\/)/.test(i)), work.inputs.join(", "));
    assert.deepEqual(work.warnings.map((w) => w.text), []);
    assert.doesNotMatch(work.code, /import\.meta/);
  });

  test("create / wrong / right / used / bad user inside new EdgeRuntime(...)", async () => {
    const out = await get("/roundtrip");
    assert.match(out.code, /^[0-9]{4}$/);
    assert.deepEqual(out.wrong, { ok: false, reason: "invalid", attemptsLeft: 2 });
    assert.equal(out.right, true);
    assert.equal(out.again, false);
    assert.deepEqual(out.error, { code: "INVALID_ARGUMENT", isOtpError: true });
    assert.equal(out.edgeRuntime, "edge-runtime", "ran inside the Edge Runtime's context");
  });

  const suites = [
    ["conformance", "conformance.mjs", "/cases", "/run", ["memoryStorage", "promiseCasMap"]],
    ["TOTP", "totp-suite.mjs", "/totp-cases", "/totp-run", ["memoryStorage", "promiseCasDeleteMap"]],
  ];
  for (const [suite, file, list, run, stores] of suites) {
    test(`the ${suite} suite inside the Edge Runtime`, async () => {
      const names = await get(list);
      const { cases } = await import(path.join(ROOT, "tests/js", file));
      assert.deepEqual(names, cases.map((c) => c.name), "same suite in Node and in the Edge Runtime");
      const failed = [];
      for (const store of stores) {
        for (const name of names) {
          const r = await get(run, { method: "POST", body: JSON.stringify({ store, name }), headers: { "content-type": "application/json" } });
          if (r.status !== "passed") failed.push(`[${store}] ${name}: ${r.status} ${r.message ?? r.reason ?? ""}\n${r.stack ?? ""}`);
        }
      }
      assert.deepEqual(failed, []);
    });
  }
});
