// Deno 2 and Bun, from the packed tarball (npm `deno` and `bun` ship the binaries; root
// devDependencies, installed by .ci/setup). A missing binary fails the test, never skips.
//
//   node --test tests/js/deno-bun.test.mjs
//
// In a temporary project with only package.json + node_modules (no deno.json, no bunfig):
//  * Deno: `import { OtpManager } from "edge-otp"` under `deno run --no-prompt` with NO
//    permission flags resolves to the `deno` entry (the .wasm is a source phase import,
//    not a file read) and does create + verify; the whole conformance suite passes there
//    on four stores; "edge-otp/totp" likewise resolves to totp-deno.js. Control: the Node entry (a file read) is refused without --allow-read,
//    so the permission sandbox is really on.
//  * Bun: the conformance suite passes (Bun matches `bun`, `node`, `import`: the Node
//    ESM bundle), and require("edge-otp") works; a `bun build --target=bun` bundle runs
//    away from node_modules with --conditions=edge-light (and, without, fails as the
//    README says).
//  * Both: sqliteStorage over the runtime's own SQLite (node:sqlite in Deno, bun:sqlite in
//    Bun) passes the conformance suite; an onEvent that throws or rejects leaves the
//    process running (the errors go to console.error).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { installTarball, run, lastJson, tool, ROOT } from "./tarball.mjs";

const roundTrip = (importLine) => `${importLine}
const otp = new OtpManager(memoryStorage(), { secret: "runtime test secret 0123456789" });
const issued = await otp.create("alice@example.com");
const wrong = await otp.check("alice@example.com", issued.code === "0000" ? "1111" : "0000");
const right = await otp.verify("alice@example.com", issued.code);
let error;
try { await otp.create(""); } catch (e) { error = { code: e.code, isOtpError: e instanceof OtpError }; }
console.log(JSON.stringify({ code: issued.code, wrong, right, error, resolved: import.meta.resolve("edge-otp") }));
`;

function assertRoundTrip(out) {
  assert.match(out.code, /^[0-9]{4}$/);
  assert.deepEqual(out.wrong, { ok: false, reason: "invalid", attemptsLeft: 2 });
  assert.equal(out.right, true);
  assert.deepEqual(out.error, { code: "INVALID_ARGUMENT", isOtpError: true });
}

/** Asserts a conformance-cli.mjs report: every case ran on every store, none failed. */
function assertConformance(report) {
  const failed = report.results.filter((r) => r.status === "failed");
  assert.deepEqual(failed.map((r) => `[${r.store}] ${r.name}: ${r.message}\n${r.stack}`), [], `${report.runtime}: failed cases`);
  assert.ok(report.cases >= 30, `only ${report.cases} cases`);
  assert.equal(report.results.length, report.cases * 4);
  const passed = report.results.filter((r) => r.status === "passed").length;
  // Only the compare-and-swap cases skip, on the two stores without compareAndSwap.
  const skipped = report.results.filter((r) => r.status === "skipped");
  assert.ok(skipped.every((r) => r.store === "syncMap" || r.store === "promiseMap"), JSON.stringify(skipped));
  assert.ok(passed >= report.cases * 4 - skipped.length);
}

/** Asserts a sqlite-conformance.mjs report: every case passed on every variant (the store has compare-and-swap and delete). */
function assertSqlite(report) {
  assert.deepEqual(report.results.filter((r) => r.status !== "passed").map((r) => `[${r.store}] ${r.name}: ${r.status} ${r.message ?? ""}`), []);
  assert.equal(report.variants.length, 2);
  assert.ok(report.cases >= 30 && report.results.length === report.cases * 2, JSON.stringify(report.cases));
  for (const v of report.variants) {
    assert.deepEqual(report.ends[v], { missing: null, deleted: false, swapped: true, purged: 1 }, v);
  }
}

/** Asserts an onevent-throws.mjs run: both operations answered, both errors logged, exit 0. */
function assertEventErrorsLogged(r) {
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`);
  assert.deepEqual(lastJson(r.stdout), { right: [true, true] });
  assert.match(r.stderr, /logger down/);
  assert.match(r.stderr, /sink down/);
}

const work = {};
before(async () => {
  work.t = await installTarball({
    prefix: "edge-otp-deno-bun-",
    files: {
      "conformance-cli.mjs": { copy: path.join(ROOT, "tests/js/fixtures/conformance-cli.mjs") },
      "conformance.mjs": { copy: path.join(ROOT, "tests/js/conformance.mjs") },
      "stores.mjs": { copy: path.join(ROOT, "tests/js/stores.mjs") },
      "deno-main.mjs": roundTrip('import { OtpManager, OtpError, memoryStorage } from "edge-otp";'),
      "deno-totp.mjs": `import { TotpManager, memoryStorage } from "edge-otp/totp";
        const totp = new TotpManager(memoryStorage(), { secret: "runtime test secret 0123456789", issuer: "Acme" });
        const e = await totp.enroll("ada@example.com");
        console.log(JSON.stringify({ status: e.status, check: await totp.check("ada@example.com", "abcdef"), resolved: import.meta.resolve("edge-otp/totp") }));`,
      "deno-node-entry.mjs": roundTrip('import { OtpManager, OtpError, memoryStorage } from "./node_modules/edge-otp/dist/node.mjs";'),
      "bun-main.mjs": roundTrip('import { OtpManager, OtpError, memoryStorage } from "edge-otp";'),
      // What a bundle runs (away from node_modules: nothing to resolve there).
      "bun-bundle.mjs": roundTrip('import { OtpManager, OtpError, memoryStorage } from "edge-otp";')
        .replace(', resolved: import.meta.resolve("edge-otp")', ""),
      // An onEvent that throws, and one that rejects: the operations answer, the errors go
      // to console.error, and the process lives on (a default reportError ended Deno's).
      "onevent-throws.mjs": `import { OtpManager, memoryStorage } from "edge-otp";
        const secret = "runtime test secret 0123456789";
        const throws = new OtpManager(memoryStorage(), { secret, onEvent: () => { throw new Error("logger down"); } });
        const rejects = new OtpManager(memoryStorage(), { secret, onEvent: async () => { throw new Error("sink down"); } });
        const a = await throws.create("ada@example.com");
        const b = await rejects.create("ada@example.com");
        await new Promise((r) => setTimeout(r, 50));
        const right = [await throws.verify("ada@example.com", a.code), await rejects.verify("ada@example.com", b.code)];
        await new Promise((r) => setTimeout(r, 50));
        console.log(JSON.stringify({ right }));`,
      // The conformance suite on sqliteStorage over the runtime's own SQLite: bun:sqlite
      // (whose get() answers null for no row) in Bun, node:sqlite in Deno; each also with
      // its integers as BigInts (node:sqlite's readBigInts makes run().changes one).
      "sqlite-conformance.mjs": `import * as api from "edge-otp";
        import { sqliteStorage } from "edge-otp/sql";
        import { cases, runCases } from "./conformance.mjs";
        const variants = typeof Bun !== "undefined"
          ? ((D) => ({ plain: () => new D(":memory:"), safeIntegers: () => new D(":memory:", { safeIntegers: true }) }))((await import("bun:sqlite")).Database)
          : ((D) => ({ plain: () => new D(":memory:"), readBigInts: () => new D(":memory:", { readBigInts: true }) }))((await import("node:sqlite")).DatabaseSync);
        const results = await runCases(
          Object.fromEntries(Object.entries(variants).map(([variant, open]) => [variant, async () => { const s = sqliteStorage(open()); s.createTable(); return s; }])),
          async () => api,
        );
        const ends = {};
        for (const [variant, open] of Object.entries(variants)) {
          const s = sqliteStorage(open());
          s.createTable();
          const swapped = s.compareAndSwap("k", null, "v", { expirationTtl: 60 });
          s.put("old", "v", { expirationTtl: 1e-3 });
          await new Promise((r) => setTimeout(r, 5));
          ends[variant] = { missing: s.get("none"), deleted: s.delete("none"), swapped, purged: s.purgeExpired() };
        }
        console.log(JSON.stringify({ cases: cases.length, variants: Object.keys(variants), results, ends }));`,
      "bun-require.cjs": `const { OtpManager, memoryStorage, OtpError } = require("edge-otp");
        const otp = new OtpManager(memoryStorage(), { secret: "runtime test secret 0123456789" });
        otp.create("bob@example.com").then(async (c) => console.log(JSON.stringify({
          right: await otp.verify("bob@example.com", c.code), resolved: require.resolve("edge-otp"),
          sameClass: OtpError === (await import("edge-otp")).OtpError })));`,
    },
  });
  work.denoDir = mkdtempSync(path.join(tmpdir(), "edge-otp-deno-dir-"));
});
after(() => {
  work.t?.cleanup();
  if (work.denoDir) rmSync(work.denoDir, { recursive: true, force: true });
});

describe("Deno 2 (npm deno), no permission flags", () => {
  const deno = (args, opts = {}) =>
    run(tool("deno"), ["run", "--no-prompt", ...args], {
      cwd: work.t.project,
      env: { DENO_DIR: work.denoDir, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      ...opts,
    });

  test("deno --version is the pinned one", async () => {
    const { stdout } = await run(tool("deno"), ["--version"]);
    const pinned = JSON.parse((await import("node:fs")).readFileSync(path.join(ROOT, "package.json"), "utf8")).devDependencies.deno;
    assert.match(stdout, new RegExp(`^deno ${pinned.replace(/\./g, "\\.")} `));
  });

  test('import { OtpManager } from "edge-otp" resolves to deno.js and does create + verify', async () => {
    const out = lastJson((await deno(["deno-main.mjs"])).stdout);
    assertRoundTrip(out);
    assert.match(out.resolved, /\/node_modules\/edge-otp\/deno\.js$/);
  });

  test('import { TotpManager } from "edge-otp/totp" resolves to totp-deno.js and enrolls + checks', async () => {
    const out = lastJson((await deno(["deno-totp.mjs"])).stdout);
    assert.deepEqual({ status: out.status, check: out.check }, { status: "pending", check: { ok: false, reason: "invalid" } });
    assert.match(out.resolved, /\/node_modules\/edge-otp\/totp-deno\.js$/);
  });

  test("control: the Node entry's file read is refused without --allow-read", async () => {
    const r = await deno(["deno-node-entry.mjs"], { allowFail: true });
    assert.notEqual(r.code, 0, `expected a permission error, got: ${r.stdout}`);
    assert.match(r.stderr, /NotCapable|Requires read access/);
  });

  test("an onEvent that throws or rejects: the operations answer, console.error has the errors, the process lives on", async () => {
    assertEventErrorsLogged(await deno(["onevent-throws.mjs"], { allowFail: true }));
  });

  test("the conformance suite on sqliteStorage over node:sqlite (and with readBigInts)", async () => {
    assertSqlite(lastJson((await deno(["sqlite-conformance.mjs"], { timeout: 120_000 })).stdout));
  });

  test("the conformance suite on four stores", async () => {
    const report = lastJson((await deno(["conformance-cli.mjs"], { timeout: 120_000 })).stdout);
    assert.match(report.runtime, /^deno 2\./);
    assert.match(report.resolved, /\/node_modules\/edge-otp\/deno\.js$/);
    assertConformance(report);
  });
});

describe("Bun (npm bun)", () => {
  const bun = (args, opts = {}) => run(tool("bun"), args, { cwd: work.t.project, env: { NO_COLOR: "1" }, ...opts });

  test("import from \"edge-otp\" does create + verify", async () => {
    const out = lastJson((await bun(["bun-main.mjs"])).stdout);
    assertRoundTrip(out);
    assert.match(out.resolved, /\/node_modules\/edge-otp\/dist\/node\.mjs$/);
  });

  test("require(\"edge-otp\") works and shares OtpError with import", async () => {
    const out = lastJson((await bun(["bun-require.cjs"])).stdout);
    assert.equal(out.right, true);
    assert.equal(out.sameClass, true);
    assert.match(out.resolved, /\/node_modules\/edge-otp\/node\.cjs$/);
  });

  test("bun build --target=bun bundles: with --conditions=edge-light the bundle runs anywhere; without, it needs the .wasm beside it", async () => {
    const away = mkdtempSync(path.join(tmpdir(), "edge-otp-bun-bundle-"));
    try {
      const bundle = async (name, extra) => {
        const out = path.join(away, name);
        await bun(["build", "--target=bun", ...extra, "--outfile", out, "bun-bundle.mjs"]);
        return run(tool("bun"), [out], { cwd: away, env: { NO_COLOR: "1" }, allowFail: true });
      };
      const inlined = await bundle("inlined.mjs", ["--conditions=edge-light"]);
      assert.equal(inlined.code, 0, inlined.stderr);
      assertRoundTrip(lastJson(inlined.stdout));
      // The documented failure, so that the README's advice stays needed and true.
      const plain = await bundle("plain.mjs", []);
      assert.notEqual(plain.code, 0);
      assert.match(plain.stderr, /ENOENT/);
    } finally {
      rmSync(away, { recursive: true, force: true });
    }
  });

  test("an onEvent that throws or rejects: the operations answer, console.error has the errors, exit code 0", async () => {
    assertEventErrorsLogged(await bun(["onevent-throws.mjs"], { allowFail: true }));
  });

  test("the conformance suite on sqliteStorage over bun:sqlite (and with safeIntegers)", async () => {
    assertSqlite(lastJson((await bun(["sqlite-conformance.mjs"], { timeout: 120_000 })).stdout));
  });

  test("the conformance suite on four stores", async () => {
    const report = lastJson((await bun(["conformance-cli.mjs"], { timeout: 120_000 })).stdout);
    assert.match(report.runtime, /^bun 1\./);
    assertConformance(report);
  });
});
