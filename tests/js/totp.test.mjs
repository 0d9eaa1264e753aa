// edge-otp/totp in Node: the TOTP suite (tests/js/totp-suite.mjs) over memoryStorage, a
// Promise-returning CAS store and a plain get/put store; storms over package instances;
// the entries' loading and errors.
//
//   node --test tests/js/totp.test.mjs
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cases } from "./totp-suite.mjs";
import { loadTotpInstances, rightStorm, wrongStorm } from "./totp-concurrency.mjs";
import { yieldingStorage } from "./reliability-lib.mjs";
import { withDelete } from "./stores.mjs";
import * as api from "../../pkg/totp-node.js";
import { OtpError as RootOtpError } from "../../pkg/error.js";
import { initSync as totpWasm } from "../../pkg/wasm-totp/edge_otp_totp.js";

const STORES = {
  "memoryStorage (sync, compare-and-swap)": () => api.memoryStorage(),
  "async store with compare-and-swap": () => withDelete(yieldingStorage({ cas: true, maxDelayMs: 0 })),
  "async store without compare-and-swap": () => withDelete(yieldingStorage({ cas: false, maxDelayMs: 0 })),
};

for (const [name, makeStorage] of Object.entries(STORES)) {
  describe(`TOTP suite on ${name}`, () => {
    for (const c of cases) {
      test(c.name, () => c.run({ makeStorage: async () => makeStorage(), api, assert }));
    }
  });
}

describe("TOTP storms over 4 package instances", () => {
  let classes;
  test("load", async () => {
    classes = await loadTotpInstances(4);
    assert.equal(new Set(classes).size, 4);
  });
  for (const [name, make] of [
    ["memoryStorage", () => api.memoryStorage()],
    ["a yielding compare-and-swap store", () => withDelete(yieldingStorage({ cas: true, seed: 7, maxDelayMs: 2 }))],
  ]) {
    test(`100 parallel right verifies on ${name}: exactly one true`, async () => {
      const r = await rightStorm(classes, make(), 100);
      assert.deepEqual(r.answers, { true: 1, false: 99 });
      assert.equal(r.status, "active");
    });
    test(`1000 parallel wrong checks on ${name}: exactly the failure budget (5) counted`, async () => {
      const r = await wrongStorm(classes, make(), 1000);
      assert.deepEqual(r.answers, { invalid: 5, locked: 995 });
      assert.equal(r.after, "locked");
    });
  }
});

// The system clock as the TOTP engine reads it (web-time, Date.now()): a clock it cannot
// read must not trap the wasm method, which would leave the engine borrowed for every
// manager sharing it.
describe("edge-otp/totp and the system clock", () => {
  const options = { secret: "builtins secret 0123456789", issuer: "Acme", scope: "builtins" };
  test("a negative or NaN Date.now() (no now option) is refused, and the engine keeps working", async () => {
    const store = api.memoryStorage();
    const totp = new api.TotpManager(store, options);
    const realNow = Date.now;
    for (const fake of [() => -1, () => NaN]) {
      Date.now = fake;
      try {
        for (let i = 0; i < 200; i++) {
          await assert.rejects(totp.enroll("ada"), (e) => e.code === "INVALID_ARGUMENT");
          await assert.rejects(totp.check("ada", "123456"), (e) => e.code === "INVALID_ARGUMENT");
        }
      } finally {
        Date.now = realNow;
      }
    }
    assert.equal(store.size, 0, "nothing written");
    assert.equal((await totp.enroll("ada")).status, "pending");
    assert.equal((await new api.TotpManager(api.memoryStorage(), options).enroll("bob")).status, "pending");
  });
});

describe("edge-otp/totp entries", () => {
  test("one OtpError class with edge-otp", async () => {
    const root = await import("../../pkg/node.js");
    assert.equal(api.OtpError, RootOtpError);
    assert.equal(api.OtpError, root.OtpError);
  });
  test("enroll: a short label or secret with a lone surrogate is refused as not well-formed", async () => {
    const totp = new api.TotpManager(api.memoryStorage(), { secret: "s".repeat(20), issuer: "Acme" });
    for (const [argument, options] of [["label", { label: "ada\uD800" }], ["secret", { secret: "JBSWY3DPEHPK3PXP\uDC00" }]]) {
      await assert.rejects(totp.enroll("ada", options), (e) =>
        e.code === "INVALID_ARGUMENT" && e.argument === argument && e.reason === "must be well-formed unicode (no lone surrogates)", argument);
    }
    totp.dispose();
  });
  test("slim: NOT_INITIALIZED before init", async () => {
    const slim = await import("../../pkg/totp-slim.js?uninitialised");
    assert.throws(() => new slim.TotpManager(slim.memoryStorage(), { secret: "x".repeat(16), issuer: "A" }),
      (e) => e instanceof RootOtpError && e.code === "NOT_INITIALIZED" &&
        /the TOTP wasm module is not initialised: call init\(\) or initSync\(\) from edge-otp\/totp-slim first$/.test(e.message));
  });
  test("slim: a valid module that is not this one (no imports) is refused, and the right bytes still load", () => {
    // In a fresh process: this one has the TOTP glue loaded already.
    const script = `
      import { readFileSync } from "node:fs";
      import { TotpManager, memoryStorage, init, initSync } from "${new URL("../../pkg/totp-slim.js", import.meta.url)}";
      const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
      const refused = [];
      for (const load of [() => initSync({ module: empty }), () => init(empty)]) {
        try { await load(); refused.push("loaded"); } catch (e) { refused.push(e.constructor.name); }
      }
      initSync({ module: readFileSync(new URL("../../pkg/wasm-totp/edge_otp_totp_bg.wasm", "${import.meta.url}")) });
      const totp = new TotpManager(memoryStorage(), { secret: "s".repeat(20), issuer: "Acme" });
      const { secret } = await totp.enroll("ada");
      console.log(JSON.stringify({ refused, enrolled: typeof secret }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { refused: ["TypeError", "TypeError"], enrolled: "string" });
  });
  test("slim: init() still waiting for its input when initSync() loads the module: the module loaded stays", () => {
    const script = `
      import { readFileSync } from "node:fs";
      import { TotpManager, memoryStorage, init, initSync } from "${new URL("../../pkg/totp-slim.js", import.meta.url)}";
      const bytes = readFileSync(new URL("../../pkg/wasm-totp/edge_otp_totp_bg.wasm", "${import.meta.url}"));
      const pending = init(new Promise((resolve) => setTimeout(() => resolve(bytes), 50)));
      initSync(bytes);
      const early = new TotpManager(memoryStorage(), { secret: "s".repeat(20), issuer: "Acme" });
      await early.enroll("ada");
      await pending;
      const late = new TotpManager(memoryStorage(), { secret: "s".repeat(20), issuer: "Acme" });
      await late.enroll("bob");
      console.log(JSON.stringify({ early: await early.status("ada"), late: await late.status("bob") }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { early: "pending", late: "pending" });
  });
  test("dispose() from the now clock: DISPOSED, and the freed engine is not called", async () => {
    const store = api.memoryStorage();
    for (const [name, op] of [["enroll", (t) => t.enroll("ada")], ["check", (t) => t.check("ada", "123456")]]) {
      let totp;
      totp = new api.TotpManager(store, { secret: `s${name}`.repeat(10), issuer: "Acme", now: () => { totp.dispose(); return Date.now(); } });
      await assert.rejects(op(totp), (e) => e instanceof RootOtpError && e.code === "DISPOSED", name);
    }
    assert.equal(store.size, 0, "nothing written");
  });
  test("new recovery codes are not left in wasm memory once handed to JS", async () => {
    // Before, the binding freed its copies without wiping them: half of a set was still in
    // the module's memory. What is left is the last code's HMAC input block on the wasm
    // stack (the hash's own buffer; SECURITY.md §6), at most that one code.
    const totp = new api.TotpManager(api.memoryStorage(), { secret: "s".repeat(20), issuer: "Acme" });
    await totp.enroll("ada");
    const codes = await totp.newRecoveryCodes("ada");
    const memory = Buffer.from(totpWasm().memory.buffer); // the loaded module's (initSync answers it)
    const left = codes.flatMap((c, i) => (memory.includes(Buffer.from(c)) ? [i] : []));
    assert.ok(left.every((i) => i === codes.length - 1), `codes left in wasm memory: ${left.join(", ")}`);
    totp.dispose();
  });
  test("a store without delete: disable throws INVALID_CONFIG, nothing else needs it", async () => {
    const m = new Map();
    const store = { get: (k) => m.get(k) ?? null, put: (k, v) => void m.set(k, v) };
    const totp = new api.TotpManager(store, { secret: "s".repeat(20), issuer: "Acme" });
    // Refused whether or not there is a record, so a store without delete fails at once.
    await assert.rejects(totp.disable("nobody"), (e) => e.code === "INVALID_CONFIG" && e.field === "storage");
    await totp.enroll("ada");
    await assert.rejects(totp.disable("ada"), (e) => e.code === "INVALID_CONFIG" && e.field === "storage");
    assert.equal(await totp.status("ada"), "pending");
  });
  test("corrupt and oversized records are CORRUPT_RECORD", async () => {
    const store = api.memoryStorage();
    const totp = new api.TotpManager(store, { secret: "s".repeat(20), issuer: "Acme" });
    for (const v of ["garbage", "x".repeat(100_000), JSON.stringify([1, 2, 3])]) {
      store.put(totp.keyFor("ada"), v);
      await assert.rejects(totp.check("ada", "123456"), (e) => e.code === "CORRUPT_RECORD");
    }
  });
  test("disable deletes any value under the key, a corrupt one too, as forget does", async () => {
    const store = api.memoryStorage();
    const totp = new api.TotpManager(store, { secret: "s".repeat(20), issuer: "Acme" });
    for (const v of ["garbage", "x".repeat(100_000), 42, { seed: "?" }, ""]) {
      store.put(totp.keyFor("ada"), v);
      assert.equal(await totp.disable("ada"), true, `disable over ${JSON.stringify(v).slice(0, 20)}`);
      assert.equal(store.get(totp.keyFor("ada")), null, "deleted");
      assert.equal(await totp.status("ada"), "none");
    }
    assert.equal(await totp.disable("ada"), false, "nothing left");
  });
  test("policy: defaults filled in, frozen", () => {
    const totp = new api.TotpManager(api.memoryStorage(), { secret: "s".repeat(20), issuer: "Acme" });
    assert.deepEqual(totp.policy, {
      scope: "totp", keyPrefix: "otp:", issuer: "Acme", algorithm: "SHA1", digits: 6, periodSeconds: 30,
      window: 1, failureLimit: { count: 5, windowSeconds: 900 }, recoveryCodes: { count: 10, length: 10 },
      retentionSeconds: null, timeoutMs: 10000,
    });
    assert.ok(Object.isFrozen(totp.policy) && Object.values(totp.policy).every((v) => v === null || typeof v !== "object" || Object.isFrozen(v)));
    assert.equal(totp.keyFor("ada"), "otp:totp:ada");
  });
  test("a polluted Object.prototype changes nothing", async () => {
    Object.prototype.digits = 8;
    Object.prototype.replace = true;
    try {
      const totp = new api.TotpManager(api.memoryStorage(), { secret: "s".repeat(20), issuer: "Acme" });
      assert.equal(totp.policy.digits, 6);
      await totp.enroll("ada", {});
    } finally {
      delete Object.prototype.digits;
      delete Object.prototype.replace;
    }
  });
});

describe("edge-otp/totp browser entry", () => {
  test("an esbuild browser bundle of dist/totp-browser.mjs (inlined wasm, compiled synchronously) runs", async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const path = await import("node:path");
    const { createRequire } = await import("node:module");
    const esbuild = createRequire(import.meta.url)("esbuild");
    const dir = mkdtempSync(path.join(tmpdir(), "edge-otp-totp-browser-"));
    try {
      const entry = path.join(dir, "entry.js");
      writeFileSync(entry, `
        import { TotpManager, memoryStorage, OtpError } from ${JSON.stringify(new URL("../../pkg/dist/totp-browser.mjs", import.meta.url).pathname)};
        const totp = new TotpManager(memoryStorage(), { secret: "browser secret 0123456789", issuer: "Acme" });
        const e = await totp.enroll("ada");
        export const result = { status: e.status, uri: e.uri.startsWith("otpauth://totp/Acme:ada?"), isClass: typeof OtpError === "function",
          check: await totp.check("ada", "abcdef") };
      `);
      const out = path.join(dir, "bundle.mjs");
      await esbuild.build({ entryPoints: [entry], bundle: true, format: "esm", platform: "browser", outfile: out, logLevel: "error" });
      const { result } = await import(out);
      assert.deepEqual(result, { status: "pending", uri: true, isClass: true, check: { ok: false, reason: "invalid" } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
