// Errors and bad input through the public JS API (pkg/node.js; pkg/slim.js for
// NOT_INITIALIZED, in child processes): option and argument validation, storage failures,
// corrupt records, compare-and-swap conflicts, and that no error leaks the code or the
// secret. After every error the same OtpManager must keep working.
//
//   node --test tests/js/package.test.mjs
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execFile } from "node:child_process";
import { inspect } from "node:util";
import { counting, promiseMap, syncMap } from "./stores.mjs";

const WASM = fileURLToPath(new URL("../../pkg/wasm/edge_otp_bg.wasm", import.meta.url));
const SLIM = fileURLToPath(new URL("../../pkg/slim.js", import.meta.url));
const built = existsSync(WASM);
const skip = built ? false : "package not built (run `bash .ci/build` first)";
const { OtpManager, OtpError, memoryStorage } = built ? await import("../../pkg/node.js") : {};

const SECRET = "package-test SECRET do-not-leak 7f3a9c";
const T0 = 1_893_456_000_000;
const MiB = "x".repeat(1 << 20);
let seq = 0;
const uid = (tag = "u") => `${tag}-${process.pid}-${++seq}`;

/** A code of the same shape as `code` that is certainly wrong. */
const wrongCode = (code) => String((Number(code[0]) + 1) % 10) + code.slice(1);

function isOtpError(code) {
  return (e) => {
    assert.ok(e instanceof OtpError, `expected an OtpError, got ${inspect(e)}`);
    assert.ok(e instanceof Error);
    assert.equal(e.name, "OtpError");
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    assert.equal(typeof e.message, "string");
    assert.ok(e.message.startsWith("edge-otp: "), e.message);
    assert.ok(e.message.length < 300, "message is short");
    assert.ok(!e.message.includes(SECRET), "message contains the secret");
    return true;
  };
}

const throwsOtp = (fn, code, message) => assert.throws(fn, isOtpError(code), message);
const rejectsOtp = (p, code, message) => assert.rejects(p, isOtpError(code), message);

function setup(options = {}, inner = memoryStorage()) {
  const storage = counting(inner);
  const clock = { t: T0 };
  const otp = new OtpManager(storage, { secret: SECRET, now: () => clock.t, ...options });
  return { otp, storage, inner, clock };
}

/** The manager still issues and verifies codes. */
async function stillWorks(otp, tag = "after-error") {
  const u = uid(tag);
  const { code } = await otp.create(u);
  assert.equal(await otp.verify(u, wrongCode(code)), false);
  assert.equal(await otp.verify(u, code), true);
}

const OPS = {
  create: (otp, u) => otp.create(u),
  generate: (otp, u) => otp.generate(u),
  getLatestOtp: (otp, u) => otp.getLatestOtp(u),
  check: (otp, u) => otp.check(u, "1234"),
  verify: (otp, u) => otp.verify(u, "1234"),
  resetAttempts: (otp, u) => otp.resetAttempts(u),
  invalidate: (otp, u) => otp.invalidate(u),
};

// ------------------------------------------------------------------ options

describe("OtpManager options", { skip }, () => {
  const good = { secret: SECRET };
  const storage = () => memoryStorage();

  test("accepts every option at its documented bounds", () => {
    const valid = [
      { secret: "x".repeat(16) },
      { secret: "é".repeat(8) },
      { secret: new Uint8Array(16) },
      { secret: new Uint8Array(1024).fill(7) },
      { secret: "x".repeat(1024) },
      { ...good, ttlSeconds: 1 },
      { ...good, ttlSeconds: 2_592_000 },
      { ...good, maxAttempts: 1 },
      { ...good, maxAttempts: 1000 },
      { ...good, length: 1 },
      { ...good, length: 10 },
      { ...good, alphabet: "01" },
      { ...good, length: 10, alphabet: "!\"#$%&'()*+,./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`a" },
      { ...good, scope: "a" },
      { ...good, scope: "A-z_09".padEnd(32, "x") },
      { ...good, keyPrefix: "" },
      { ...good, keyPrefix: "p".repeat(64) },
      { ...good, keyPrefix: "ü🙂:/" },
      { ...good, resendCooldownSeconds: 0 },
      { ...good, resendCooldownSeconds: 2_592_000 },
      { ...good, issueLimit: null, failureLimit: null },
      { ...good, issueLimit: { count: 1, windowSeconds: 1 }, failureLimit: { count: 1_000_000, windowSeconds: 2_592_000 } },
      { ...good, retentionSeconds: null },
      { ...good, retentionSeconds: 3600 },
      { ...good, retentionSeconds: 315_360_000 },
      { ...good, ttlSeconds: 60, resendCooldownSeconds: 0, issueLimit: null, failureLimit: null, retentionSeconds: 60 },
      { ...good, now: () => T0 },
      { ...good, now: undefined, ttlSeconds: undefined, scope: undefined },
    ];
    for (const options of valid) {
      assert.ok(new OtpManager(storage(), options) instanceof OtpManager, inspect(options));
    }
  });

  test("options that are not an object -> INVALID_CONFIG", () => {
    for (const options of [undefined, null, [], "secret", 5, true, () => {}]) {
      throwsOtp(() => new OtpManager(storage(), options), "INVALID_CONFIG", inspect(options));
    }
    throwsOtp(() => new OtpManager(storage()), "INVALID_CONFIG", "no options");
    throwsOtp(() => new OtpManager(storage(), {}), "INVALID_CONFIG", "no secret");
  });

  const bad = {
    secret: [null, 123, {}, ["x".repeat(16)], "x".repeat(15), "", new Uint8Array(15), new Uint8Array(0),
      "x".repeat(1025), new Uint8Array(1025), new ArrayBuffer(32), new Uint16Array(16), MiB, true],
    ttlSeconds: ["60", null, NaN, Infinity, -1, 0, 1.5, 2_592_001, 1e300, true, 60n, {}],
    maxAttempts: ["3", null, NaN, -1, 0, 2.5, 1001, Infinity, 3n],
    length: ["4", null, NaN, 0, 4.5, 11, -4, 1e9],
    alphabet: ["", "a", "aa", "aba", "ab c", "ab-c", "abé", "ab\u0000", "ab\x7f", "ab\t", "\uD800b",
      "x".repeat(65), MiB, 5, null, ["a", "b"]],
    scope: ["", "a b", "a:b", "ü", "a/b", "x".repeat(33), "a\u0000", "\uD800", MiB, 5, null, {}],
    keyPrefix: [5, null, "x".repeat(65), "\uD800", "a\uDC00", MiB, {}],
    resendCooldownSeconds: [-1, 1.5, "30", 2_592_001, null, NaN, Infinity],
    issueLimit: ["5", 5, true, [], [5, 60], {}, { count: 5 }, { windowSeconds: 60 }, { count: 0, windowSeconds: 60 },
      { count: -1, windowSeconds: 60 }, { count: 1.5, windowSeconds: 60 }, { count: 1_000_001, windowSeconds: 60 },
      { count: "5", windowSeconds: 60 }, { count: 5, windowSeconds: "60" }, { count: 5, windowSeconds: 0 },
      { count: 5, windowSeconds: -1 }, { count: 5, windowSeconds: 2_592_001 }, { count: 5, windowSeconds: 1.5 },
      { count: NaN, windowSeconds: 60 }, { count: 5, windowSeconds: NaN }, { count: 5, windowSeconds: 60, extra: 1 },
      { count: Infinity, windowSeconds: 60 }],
    retentionSeconds: [59, 0, -1, 60.5, "3600", NaN, Infinity, true, {}, 315_360_001,
      // shorter than the longest window (default: 3600 s)
      60, 3599],
    now: [5, "x", null, {}, Date.now()],
  };
  bad.failureLimit = bad.issueLimit;

  for (const [key, values] of Object.entries(bad)) {
    test(`bad ${key} -> INVALID_CONFIG`, () => {
      for (const value of values) {
        throwsOtp(() => new OtpManager(storage(), { ...good, [key]: value }), "INVALID_CONFIG", `${key}: ${inspect(value).slice(0, 80)}`);
      }
    });
  }

  test("retentionSeconds must cover the longest window", () => {
    throwsOtp(() => new OtpManager(storage(), { ...good, ttlSeconds: 120, resendCooldownSeconds: 0, issueLimit: null, failureLimit: null, retentionSeconds: 119 }), "INVALID_CONFIG");
    throwsOtp(() => new OtpManager(storage(), { ...good, ttlSeconds: 60, issueLimit: null, failureLimit: { count: 3, windowSeconds: 7200 }, retentionSeconds: 3600 }), "INVALID_CONFIG");
    throwsOtp(() => new OtpManager(storage(), { ...good, ttlSeconds: 60, issueLimit: null, failureLimit: null, resendCooldownSeconds: 900, retentionSeconds: 899 }), "INVALID_CONFIG");
    new OtpManager(storage(), { ...good, ttlSeconds: 60, issueLimit: null, failureLimit: { count: 3, windowSeconds: 7200 }, retentionSeconds: 7200 });
  });

  test("unknown option keys -> INVALID_CONFIG (message does not echo more than the key's start)", () => {
    const longKey = `k${"y".repeat(100_000)}`;
    for (const options of [
      { ...good, ttl: 60 },
      { ...good, secretKey: "x" },
      { ...good, Secret: SECRET },
      { ...good, expirationTtl: 60 },
      { ...good, storage: {} },
      { ...good, retention: 3600 },
      { ...good, now: undefined, clock: () => T0 },
      { ...good, [longKey]: 1 },
      { ...JSON.parse('{"__proto__": {"x": 1}}'), ...good },
    ]) {
      throwsOtp(() => new OtpManager(storage(), options), "INVALID_CONFIG", Object.keys(options).join(",").slice(0, 80));
    }
  });

  test("storage without get/put functions -> INVALID_CONFIG", () => {
    const fn = () => null;
    for (const s of [undefined, null, 5, "kv", {}, { get: fn }, { put: fn }, { get: 1, put: fn }, { get: fn, put: "x" },
      { get: fn, put: fn, compareAndSwap: 1 }, { get: fn, put: fn, compareAndSwap: null }, { get: fn, put: fn, compareAndSwap: {} }]) {
      throwsOtp(() => new OtpManager(s, good), "INVALID_CONFIG", inspect(s));
    }
  });

  test("storage methods on a prototype, on a function object, and via `this` work", async () => {
    class Store {
      #map = new Map();
      get(key) {
        return this.#map.get(key) ?? null;
      }
      put(key, value) {
        this.#map.set(key, value);
      }
      compareAndSwap(key, expected, value) {
        if ((this.#map.get(key) ?? null) !== expected) return false;
        this.#map.set(key, value);
        return true;
      }
    }
    await stillWorks(new OtpManager(new Store(), good));
    const map = new Map();
    const f = Object.assign(function storage() {}, { get: (k) => map.get(k), put: (k, v) => void map.set(k, v) });
    await stillWorks(new OtpManager(f, good));
    // compareAndSwap: undefined counts as absent.
    await stillWorks(new OtpManager({ ...syncMap(), compareAndSwap: undefined }, good));
    // A thenable that is not a Promise.
    const m2 = new Map();
    const thenable = (v) => ({ then: (resolve) => resolve(v) });
    await stillWorks(new OtpManager({ get: (k) => thenable(m2.get(k) ?? null), put: (k, v) => thenable(void m2.set(k, v)) }, good));
  });

  test("the secret may be a string or any Uint8Array (Buffer too); equal bytes give equal codes", async () => {
    const inner = memoryStorage();
    const a = new OtpManager(inner, { secret: SECRET, length: 10, now: () => T0 });
    const b = new OtpManager(inner, { secret: new TextEncoder().encode(SECRET), length: 10, now: () => T0 });
    const c = new OtpManager(inner, { secret: Buffer.from(SECRET), length: 10, now: () => T0 });
    const u = uid();
    const { code } = await a.create(u);
    assert.equal((await b.getLatestOtp(u)).code, code);
    assert.equal(await c.verify(u, code), true);
  });
});

// ------------------------------------------------------------------ arguments

describe("arguments", { skip }, () => {
  const badUsers = [
    ["undefined", undefined], ["null", null], ["number", 5], ["object", {}], ["array", ["a"]],
    ["String object", new String("alice")], ["symbol", Symbol("u")], ["empty", ""],
    ["257 ASCII bytes", "x".repeat(257)], ["1 MiB", MiB],
    ["lone high surrogate", "\uD800"], ["lone low surrogate", "a\uDC00"], ["reversed pair", "\uDC00\uD800"],
    ["trailing lone surrogate", `${"x".repeat(200)}\uD800`],
  ];
  // Over 256 bytes of UTF-8 but at most 256 UTF-16 units.
  const multiByteUsers = [
    ["258 bytes of é", "é".repeat(129)],
    ["257 bytes with emoji", `${"🙂".repeat(64)}x`],
    ["768 bytes of CJK", "中".repeat(256)],
  ];

  test("bad user ids -> INVALID_ARGUMENT from every method, as a rejected promise, without storage calls", async () => {
    const { otp, storage } = setup();
    for (const [label, user] of badUsers) {
      for (const [name, op] of Object.entries(OPS)) {
        let p;
        assert.doesNotThrow(() => {
          p = op(otp, user);
        }, `${name}(${label}) threw synchronously`);
        await rejectsOtp(p, "INVALID_ARGUMENT", `${name}(${label})`);
      }
      throwsOtp(() => otp.keyFor(user), "INVALID_ARGUMENT", `keyFor(${label})`);
    }
    assert.equal(storage.count(), 0, "no storage calls");
    await stillWorks(otp);
  });

  test("user ids over 256 UTF-8 bytes (but at most 256 UTF-16 units) -> INVALID_ARGUMENT", async () => {
    const { otp } = setup();
    for (const [label, user] of multiByteUsers) {
      for (const [name, op] of Object.entries(OPS)) await rejectsOtp(op(otp, user), "INVALID_ARGUMENT", `${name}(${label})`);
    }
    await stillWorks(otp);
  });

  test(
    "user ids over 256 UTF-8 bytes are rejected before touching storage (KV keys are limited to 512 bytes)",
    async () => {
      const { otp, storage } = setup();
      for (const [, user] of multiByteUsers) await otp.create(user).catch(() => {});
      assert.equal(storage.count(), 0, `storage was called with keys of up to ${Math.max(...storage.calls.map((c) => Buffer.byteLength(c.key)))} bytes`);
    },
  );

  test("user ids of exactly 256 bytes and any well-formed unicode work", async () => {
    const { otp } = setup();
    for (const user of ["x".repeat(256), "é".repeat(128), "🙂".repeat(64), "中".repeat(85) + "x", "\u0000", " ", "a\u{10FFFF}"]) {
      const { code } = await otp.create(user);
      assert.equal(otp.keyFor(user), `otp:default:${user}`);
      assert.equal(await otp.verify(user, code), true);
    }
  });

  test("bad codes -> INVALID_ARGUMENT, no attempt spent, no storage calls", async () => {
    const { otp, storage } = setup();
    const u = uid();
    const { code } = await otp.create(u);
    storage.reset();
    for (const bad of [undefined, null, Number(code), {}, [code], new String(code), Symbol("c"), true, 1n, () => code]) {
      for (const method of ["check", "verify"]) {
        let p;
        assert.doesNotThrow(() => {
          p = otp[method](u, bad);
        });
        await rejectsOtp(p, "INVALID_ARGUMENT", `${method}(${inspect(bad).slice(0, 40)})`);
      }
    }
    await rejectsOtp(otp.check(u), "INVALID_ARGUMENT", "missing code");
    assert.equal(storage.count(), 0);
    assert.equal((await otp.getLatestOtp(u)).attempts, 0);
    assert.equal(await otp.verify(u, code), true);
  });

  test("any string is a guess, whatever its length: an invalid attempt, never an error", async () => {
    const { otp } = setup({ maxAttempts: 11, failureLimit: null });
    const u = uid();
    const { code } = await otp.create(u);
    const guesses = ["", " ", "x".repeat(256), "\uD800", "١٢٣٤", `${code}\u0000`, `${code}0`, "🙂🙂🙂🙂", "\u200B" + code, "1".repeat(100_000), `${code}${" ".repeat(300)}`];
    let left = 10;
    for (const g of guesses) {
      assert.deepEqual(await otp.check(u, g), { ok: false, reason: "invalid", attemptsLeft: left-- }, inspect(g).slice(0, 40));
    }
    await stillWorks(otp);
  });

  test("now() returning a non-number or out-of-range time -> INVALID_ARGUMENT, nothing written", async () => {
    const inner = memoryStorage();
    const storage = counting(inner);
    let now = () => T0;
    const otp = new OtpManager(storage, { secret: SECRET, now: () => now() });
    const u = uid();
    const { code } = await otp.create(u);
    for (const value of ["1893456000000", null, {}, new Date(T0), 1n, true, NaN, -1, -0.5, Infinity, -Infinity, 253_402_300_800_000, Number.MAX_VALUE]) {
      now = () => value;
      storage.reset();
      for (const [name, op] of Object.entries(OPS)) {
        await rejectsOtp(op(otp, u), "INVALID_ARGUMENT", `${name} with now() = ${inspect(value)}`);
      }
      await rejectsOtp(otp.check(u, code), "INVALID_ARGUMENT");
      assert.equal(storage.writes().length, 0);
    }
    now = () => T0 + 1;
    assert.equal(await otp.verify(u, code), true);
    now = () => 253_402_300_799_999 - 3_600_000; // codes expiring at the last millisecond of year 9999
    await stillWorks(otp);
    now = () => 0;
    await stillWorks(otp);
  });

  test(
    "a code issued near the end of year 9999 is either refused or stored readably",
    async () => {
      const { otp } = setup({ now: () => 253_402_300_799_999 });
      const u = uid();
      let issued;
      try {
        issued = await otp.create(u);
      } catch (e) {
        assert.equal(e.code, "INVALID_ARGUMENT");
        return;
      }
      assert.equal((await otp.getLatestOtp(u)).code, issued.code);
      assert.equal(await otp.verify(u, issued.code), true);
    },
  );

  test(
    "now() returning undefined -> INVALID_ARGUMENT (a non-number)",
    async () => {
      const otp = new OtpManager(memoryStorage(), { secret: SECRET, now: () => undefined });
      await rejectsOtp(otp.create(uid()), "INVALID_ARGUMENT");
    },
  );

  test("a now() clock may start operations: on the same user they wait their turn (cooldown kept), on another they run", async () => {
    for (const [name, makeStore] of [["sync Map, no compareAndSwap", syncMap], ["memoryStorage", memoryStorage], ["async, no compareAndSwap", promiseMap]]) {
      const nested = [];
      let start = null; // the user the clock starts one create for, once
      const otp = new OtpManager(makeStore(), {
        secret: SECRET,
        resendCooldownSeconds: 60,
        now: () => {
          if (start !== null) {
            const u = start;
            start = null;
            nested.push(otp.create(u).then(() => "issued", (e) => e.code));
          }
          return T0;
        },
      });
      const u = uid();
      start = u;
      await otp.create(u);
      assert.deepEqual(await Promise.all(nested), ["RATE_LIMITED"], `${name}: the clock's create on the same user saw the cooldown`);
      start = uid();
      await otp.create(uid());
      assert.deepEqual(await Promise.all(nested), ["RATE_LIMITED", "issued"], `${name}: another user's create ran`);
    }
  });

  test("an onEventError that throws or rejects goes to console.error, never an unhandled rejection", async () => {
    // An async onEventError that rejects (a log sink that is down) ended the Node process.
    const unhandled = [];
    const logged = [];
    const onUnhandled = (reason) => unhandled.push(reason);
    const consoleError = console.error;
    process.on("unhandledRejection", onUnhandled);
    console.error = (e) => logged.push(e);
    try {
      const sinks = [
        ["async", async () => { throw new Error("async sink down"); }],
        ["thenable", () => ({ then: (_, reject) => reject(new Error("thenable sink down")) })],
        ["sync", () => { throw new Error("sync sink down"); }],
      ];
      for (const [name, onEventError] of sinks) {
        for (const onEvent of [() => { throw new Error("ev"); }, async () => { throw new Error("ev"); }]) {
          const otp = new OtpManager(memoryStorage(), { secret: SECRET, onEvent, onEventError });
          const { code } = await otp.create(uid());
          assert.equal(typeof code, "string", `${name}: the answer stands`);
        }
      }
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(unhandled, []);
      assert.deepEqual(logged.map((e) => e.message), [
        "async sink down", "async sink down", "thenable sink down", "thenable sink down", "sync sink down", "sync sink down",
      ]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      console.error = consoleError;
    }
  });

  test("without onEventError, what onEvent throws or rejects goes to console.error, not to reportError", async () => {
    // reportError dispatches an error event; in Deno one that nobody handles ends the
    // process (tests/js/deno-bun.test.mjs runs that there).
    const reported = [];
    const logged = [];
    const consoleError = console.error;
    globalThis.reportError = (e) => reported.push(e);
    console.error = (e) => logged.push(e);
    try {
      for (const onEvent of [() => { throw new Error("sync logger down"); }, async () => { throw new Error("async logger down"); }]) {
        const otp = new OtpManager(memoryStorage(), { secret: SECRET, onEvent });
        const u = uid();
        const { code } = await otp.create(u);
        assert.equal(await otp.verify(u, code), true, "the answers stand");
      }
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(reported, []);
      assert.deepEqual(logged.map((e) => e.message), ["sync logger down", "sync logger down", "async logger down", "async logger down"]);
    } finally {
      delete globalThis.reportError;
      console.error = consoleError;
    }
  });

  test("a now() clock that throws an OtpError reports no event (not another manager's left in a shared engine)", async () => {
    const storage = memoryStorage();
    const quiet = new OtpManager(storage, { secret: SECRET }); // no onEvent: leaves its events
    const events = [];
    const noisy = new OtpManager(storage, {
      secret: SECRET,
      onEvent: (e) => events.push(e),
      now: () => quiet.keyFor(""), // throws INVALID_ARGUMENT
    });
    await quiet.create(uid());
    await rejectsOtp(noisy.create(uid()), "INVALID_ARGUMENT");
    assert.deepEqual(events, []);
  });

  test("a now() clock may use its own manager and the managers sharing its engine", async () => {
    // The clock runs outside wasm: a clock that calls keyFor on its manager or a twin
    // does not meet wasm-bindgen's "recursive use" error.
    let reads = 0;
    const options = {
      secret: SECRET,
      now: () => {
        reads++;
        otp.keyFor("clock-user");
        twin.keyFor("clock-user");
        return T0;
      },
    };
    const storage = memoryStorage();
    const otp = new OtpManager(storage, options);
    const twin = new OtpManager(storage, options); // equal options: one shared engine
    for (const [name, op] of Object.entries(OPS)) {
      const before = reads;
      await op(otp, uid()).catch((e) => assert.ok(e instanceof OtpError && e.code !== "INTERNAL", `${name}: ${e}`));
      assert.ok(reads > before, `${name} read the clock`);
    }
    const u = uid();
    const { code } = await otp.create(u);
    assert.equal(await twin.verify(u, code), true);
  });

  test("per-call options getters may use their own manager and the managers sharing its engine", async () => {
    // The getters run inside the engine call that reads the options (once per call, before
    // its storage read). What they start runs as any other call would: on a synchronous
    // store the nested create runs to its end inside the getter. Before, every such call
    // threw wasm-bindgen's "recursive use of an object" Error, without a code.
    const storage = syncMap();
    const options = { secret: SECRET, now: () => T0 };
    const otp = new OtpManager(storage, options);
    const twin = new OtpManager(storage, options); // equal options: one shared engine
    const nested = [];
    const getter = (key, value, call) =>
      Object.defineProperty({}, key, { enumerable: true, get: () => (nested.push(call()), value) });
    for (let round = 0; round < 300; round++) {
      const [outer, inner] = [uid("outer"), uid("inner")];
      nested.length = 0;
      const { code } = await otp.create(outer, getter("ttlSeconds", 60, () => twin.create(inner)));
      assert.equal(nested.length, 1, "the getter ran once");
      const [first] = await Promise.allSettled(nested);
      assert.equal(first.status, "fulfilled", String(first.reason));
      const latest = await twin.getLatestOtp(inner);
      assert.equal(latest.code, first.value.code, "the nested create stored its code");
      nested.length = 0;
      const verdict = await otp.check(outer, code, getter("consume", true, () => otp.verify(inner, first.value.code)));
      assert.deepEqual(verdict, { ok: true, reason: "verified", attemptsLeft: 0 });
      assert.deepEqual(await Promise.all(nested), [true], "the nested verify took the code");
    }
    await stillWorks(otp);
  });

  test("an options getter that checks a code of the same user: every guess counts, on a store without compareAndSwap", async () => {
    // Before, the getter ran again inside the operation, between its read and its write,
    // and on a synchronous store without compareAndSwap the outer write put the nested
    // guess back. The options are now read once, before the operation's turn.
    // No clock: a clock makes every operation take its turn before reading anyway.
    const otp = new OtpManager(syncMap(), { secret: SECRET, maxAttempts: 9 });
    const u = uid("same-key");
    const { code } = await otp.create(u);
    const wrong = wrongCode(code);
    const nested = [];
    const options = { get consume() { nested.push(otp.check(u, wrong)); return true; } };
    const outer = await otp.check(u, wrong, options);
    const inner = await Promise.all(nested);
    assert.equal(inner.length, 1, "the getter ran once");
    const left = [outer, ...inner].map((v) => v.attemptsLeft).sort((a, b) => b - a);
    assert.deepEqual(left, [8, 7], "two wrong guesses, two attempts spent");
    assert.equal((await otp.check(u, wrong)).attemptsLeft, 6);
  });

  test("dispose() from an options getter: that call answers DISPOSED, and the engine outlives it", async () => {
    // Before, the engine was freed under the running call: its next call failed with a
    // plain "null pointer passed to rust" Error, and the memory it was reading was freed.
    for (let round = 0; round < 200; round++) {
      const options = { secret: `${SECRET} dispose ${round}`, now: () => T0 };
      const storage = memoryStorage();
      const otp = new OtpManager(storage, options);
      const disposing = { get ttlSeconds() { otp.dispose(); return 60; } };
      await rejectsOtp(otp.create(uid(), disposing), "DISPOSED");
      await stillWorks(new OtpManager(storage, options));
    }
  });

  test("dispose() from the now clock or from normalizeUser: DISPOSED, and the freed engine is not called", async () => {
    // Before, the manager's only engine was freed by the app code and then called: a plain
    // "null pointer passed to rust" Error (not an OtpError).
    let round = 0;
    for (const [name, op] of [...Object.entries(OPS), ["keyFor", async (otp, u) => otp.keyFor(u)]]) {
      for (const from of ["now", "normalizeUser"]) {
        const options = { secret: `${SECRET} dispose from ${from} ${round++}` };
        let otp;
        options[from] = from === "now" ? () => { otp.dispose(); return T0; } : (u) => { otp.dispose(); return u; };
        const storage = memoryStorage();
        otp = new OtpManager(storage, options);
        if (from === "now" && name === "keyFor") continue; // keyFor reads no clock
        await rejectsOtp(op(otp, uid()), "DISPOSED", `${name}, ${from} disposes`);
        assert.equal(storage.size, 0, "nothing written");
        await stillWorks(new OtpManager(storage, { secret: options.secret, now: () => T0 }));
      }
    }
  });

  test("now() that throws: the same error reaches the caller, nothing written", async () => {
    const boom = new Error("clock broke");
    let broken = true;
    const { otp, storage } = setup({ now: () => { if (broken) throw boom; return T0; } });
    for (const [name, op] of Object.entries(OPS)) {
      await assert.rejects(op(otp, uid()), (e) => e === boom, name);
    }
    assert.equal(storage.writes().length, 0);
    broken = false;
    await stillWorks(otp);
  });
});

// ------------------------------------------------------------------ storage failures

describe("storage failures reach the caller unchanged", { skip }, () => {
  const failures = () => [
    ["Error", new Error("store down")],
    ["TypeError", new TypeError("fetch failed")],
    ["string", "plain string thrown"],
    ["object", { code: "ECONNRESET" }],
    ["OtpError-looking object", { name: "OtpError", code: "RATE_LIMITED" }],
  ];

  /** A store over `inner` whose `op` fails with `err` while `state.fail` is set. */
  function faulty(inner, op, err, mode, state) {
    const s = {};
    for (const m of ["get", "put", "compareAndSwap"]) {
      if (typeof inner[m] !== "function") continue;
      s[m] = (...args) => {
        if (m === op && state.fail) {
          if (mode === "throw") throw err;
          return Promise.reject(err);
        }
        return inner[m](...args);
      };
    }
    return s;
  }

  for (const [op, base] of [["get", memoryStorage], ["put", syncMap], ["put", promiseMap], ["compareAndSwap", memoryStorage]]) {
    for (const mode of ["throw", "reject"]) {
      test(`${op} that ${mode === "throw" ? "throws synchronously" : "rejects"} (${base.name})`, async () => {
        for (const [label, err] of failures()) {
          const state = { fail: false };
          const inner = base();
          const storage = counting(faulty(inner, op, err, mode, state));
          const otp = new OtpManager(storage, { secret: SECRET, now: () => T0, resendCooldownSeconds: 0 });
          const u = uid();
          const { code } = await otp.create(u);
          const before = inner.get(otp.keyFor(u));
          state.fail = true;
          const ops = op === "get" ? Object.entries(OPS) : [["create", OPS.create], ["check wrong", (o, x) => o.check(x, wrongCode(code))], ["verify right", (o, x) => o.verify(x, code)]];
          for (const [name, run] of ops) {
            let p;
            assert.doesNotThrow(() => {
              p = run(otp, u);
            }, `${name} threw synchronously`);
            await assert.rejects(p, (e) => e === err, `${name} with ${label}`);
          }
          state.fail = false;
          assert.deepEqual(await inner.get(otp.keyFor(u)), await before, "the record is unchanged");
          assert.equal(await otp.verify(u, code), true);
          await stillWorks(otp);
        }
      });
    }
  }
});

// ------------------------------------------------------------------ compare-and-swap

describe("compare-and-swap conflicts", { skip }, () => {
  /**
   * memoryStorage whose compareAndSwap, on its n-th call (from 1), answers `answer(n)`
   * without writing, or really compares and swaps when `answer(n)` is "real", or
   * writes and then answers `x` when `answer(n)` is `{ wrote: x }`.
   */
  function conflicting(answer) {
    const inner = memoryStorage();
    let n = 0;
    const s = counting({
      get: (k) => inner.get(k),
      put: (k, v) => inner.put(k, v),
      compareAndSwap: (k, e, v) => {
        const a = answer(++n);
        if (a === "real") return inner.compareAndSwap(k, e, v);
        if (a !== null && typeof a === "object" && "wrote" in a) {
          inner.compareAndSwap(k, e, v);
          return a.wrote;
        }
        return a;
      },
    });
    return { s, inner };
  }

  test("a CAS that always fails -> CONFLICT after 16 tries, nothing stored", async () => {
    const { s, inner } = conflicting(() => false);
    const otp = new OtpManager(s, { secret: SECRET });
    await rejectsOtp(otp.create(uid()), "CONFLICT");
    assert.equal(s.count("get"), 16);
    assert.equal(s.count("compareAndSwap"), 16);
    assert.equal(s.count("put"), 0);
    assert.equal(inner.size, 0);
  });

  test("false is a conflict, sync and async", async () => {
    for (const answer of [false, Promise.resolve(false)]) {
      const { s } = conflicting(() => answer);
      await rejectsOtp(new OtpManager(s, { secret: SECRET }).create(uid()), "CONFLICT", inspect(answer));
    }
  });

  test("15 conflicts then success: the operation succeeds after re-reading 16 times", async () => {
    const { s } = conflicting((n) => (n <= 15 ? false : "real"));
    const otp = new OtpManager(s, { secret: SECRET });
    const u = uid();
    const { code } = await otp.create(u);
    assert.equal(s.count("get"), 16);
    assert.equal(await otp.verify(u, code), true);
  });

  test("a CAS answer other than true or false is INVALID_CONFIG (storage), never taken for a write nor retried as a conflict (the store may have written: its answer comes after)", async () => {
    for (const other of [0, "", null, undefined, NaN, 1, "yes", {}, Promise.resolve(0), Promise.resolve(1), Promise.resolve(undefined)]) {
      const { s } = conflicting(() => ({ wrote: other }));
      const e = await new OtpManager(s, { secret: SECRET }).create(uid()).then(() => null, (x) => x);
      assert.ok(e instanceof OtpError, inspect(other));
      assert.equal(e.code, "INVALID_CONFIG", inspect(other));
      assert.equal(e.field, "storage", inspect(other));
      assert.equal(s.count("compareAndSwap"), 1, `${inspect(other)}: not retried as a conflict`);
    }
  });

  test("after CONFLICT the same manager works once the store does; the conflicting write is retried from a fresh read", async () => {
    let failing = true;
    const { s, inner } = conflicting(() => (failing ? false : "real"));
    const otp = new OtpManager(s, { secret: SECRET, now: () => T0 });
    const u = uid();
    const e = await otp.create(u).catch((x) => x);
    assert.equal(e.code, "CONFLICT");
    failing = false;
    const { code } = await otp.create(u);
    // Every CAS compared against the value read just before it.
    assert.equal(await otp.verify(u, code), true);
    assert.equal(JSON.parse(inner.get(otp.keyFor(u)))[7], 1, "stored as used");
    await stillWorks(otp);
  });

  test("every write compares against the value read: expected is null for an absent key, else the stored string", async () => {
    const { otp, storage } = setup({ resendCooldownSeconds: 0 });
    const u = uid();
    await otp.create(u);
    const first = storage.writes()[0];
    assert.equal(first.op, "compareAndSwap");
    assert.equal(first.expected, null);
    storage.reset();
    await otp.create(u);
    assert.equal(storage.writes()[0].expected, first.value);
  });
});

// ------------------------------------------------------------------ corrupt records

describe("corrupt stored records -> CORRUPT_RECORD, nothing written", { skip }, async () => {
  if (!built) return;
  // A genuine record, to derive corrupt variants from.
  const probe = setup();
  const probeUser = uid("probe");
  await probe.otp.create(probeUser);
  const genuine = probe.inner.get(probe.otp.keyFor(probeUser));
  const fields = JSON.parse(genuine);
  const variant = (i, v) => JSON.stringify(fields.map((f, j) => (j === i ? v : f)));

  test("records are compact JSON arrays of 12 fields, version 1", () => {
    assert.equal(JSON.stringify(fields), genuine);
    assert.equal(fields.length, 12);
    assert.equal(fields[0], 1);
    assert.match(fields[1], /^[0-9a-f]{32}$/);
  });

  const corrupt = [
    ["garbage", "garbage"],
    ["empty string", ""],
    ["empty array", "[]"],
    ["object", "{}"],
    ["null literal", "null"],
    ["only a version", "[1]"],
    ["version 2", variant(0, 2)],
    ["version 0", variant(0, 0)],
    ["attempts > maxAttempts", variant(5, fields[6] + 1)],
    ["maxAttempts 0", variant(6, 0)],
    ["unknown state", variant(7, 3)],
    ["expiresAt <= createdAt", variant(4, fields[3])],
    ["short salt", variant(1, "abcd")],
    ["non-hex salt", variant(1, "z".repeat(32))],
    ["negative number", variant(5, -1)],
    ["fraction", variant(5, 0.5)],
    ["string number", variant(5, "0")],
    ["time after year 9999", variant(3, 253_402_300_800_000)],
    ["missing field", JSON.stringify(fields.slice(0, 11))],
    ["extra field", JSON.stringify([...fields, 0])],
    ["trailing junk", `${genuine}x`],
    ["leading BOM", `\uFEFF${genuine}`],
    ["truncated", genuine.slice(0, -1)],
    ["1025 characters", genuine + " ".repeat(1025 - genuine.length)],
    ["1 MiB", MiB],
    ["lone surrogate", `${genuine.slice(0, -1)}\uD800]`],
    ["number", 5],
    ["zero", 0],
    ["true", true],
    ["false", false],
    ["object value", { v: genuine }],
    ["array value", fields],
    ["bytes", new TextEncoder().encode(genuine)],
    ["String object", new String(genuine)],
    ["promise of a number", Promise.resolve(42)],
  ];

  test("a genuine record copied verbatim reads fine (the variants below differ only where named)", async () => {
    const { otp, inner } = setup();
    const u = uid();
    inner.put(otp.keyFor(u), genuine);
    const latest = await otp.getLatestOtp(u);
    assert.equal(latest.createdAt, fields[3]);
  });

  for (const [label, value] of corrupt) {
    test(label, async () => {
      const map = new Map();
      let override = true;
      const inner = {
        get: (k) => (override && k.includes(":victim-") ? value : map.get(k) ?? null),
        put: (k, v) => void map.set(k, v),
        compareAndSwap: (k, e, v) => ((map.get(k) ?? null) === e ? (map.set(k, v), true) : false),
      };
      const storage = counting(inner);
      const otp = new OtpManager(storage, { secret: SECRET, now: () => T0 });
      const u = uid("victim");
      for (const [name, op] of Object.entries(OPS)) {
        await rejectsOtp(op(otp, u), "CORRUPT_RECORD", name);
      }
      assert.equal(storage.writes().length, 0, "nothing written");
      assert.equal(storage.count("get"), Object.keys(OPS).length);
      await stillWorks(otp);
      override = false;
      const { code } = await otp.create(u);
      assert.equal(await otp.verify(u, code), true);
    });
  }
});

// ------------------------------------------------------------------ no leaks

describe("errors never contain the code or the secret", { skip }, () => {
  const secret = "LEAKCHECK-secret-Zq8w3e4r5t6y";
  const leaks = (e, needles) => {
    const texts = [e.message, String(e), e.stack ?? "", inspect(e, { showHidden: true, depth: 5 }), JSON.stringify(e) ?? ""];
    return needles.filter((n) => texts.some((t) => t.includes(n)));
  };

  test("every error kind, with a known secret and 10-digit codes", async () => {
    const inner = memoryStorage();
    let clock = T0;
    const storage = counting(inner);
    const otp = new OtpManager(storage, { secret, length: 10, now: () => clock, failureLimit: { count: 4, windowSeconds: 600 } });
    const u = uid();
    const { code } = await otp.create(u);
    const needles = [secret, code];
    const errors = [];
    const collect = async (p) => errors.push(await p.then(() => assert.fail("expected an error"), (e) => e));
    await collect(otp.create(u)); // RATE_LIMITED (cooldown)
    await collect(otp.generate(u)); // ACTIVE_OTP_EXISTS
    await collect(otp.check(u, 12345)); // INVALID_ARGUMENT (code type)
    await collect(otp.create(`${code}${"x".repeat(300)}`)); // INVALID_ARGUMENT (user)
    await collect(otp.create(`${code}${"é".repeat(200)}`)); // INVALID_ARGUMENT (user bytes)
    clock = NaN;
    await collect(otp.verify(u, code)); // INVALID_ARGUMENT (clock)
    clock = T0 + 1;
    for (let i = 0; i < 3; i++) await otp.check(u, wrongCode(code));
    clock += 60_000;
    const second = await otp.create(u);
    needles.push(second.code);
    await otp.check(u, wrongCode(second.code));
    const locked = await otp.check(u, second.code);
    assert.equal(locked.reason, "locked");
    await collect(otp.create(u)); // RATE_LIMITED (locked out)
    inner.put(otp.keyFor("corrupt"), `[1,"${code}"]`);
    await collect(otp.getLatestOtp("corrupt")); // CORRUPT_RECORD
    const conflict = new OtpManager({ get: () => null, put() {}, compareAndSwap: () => false }, { secret, length: 10 });
    await collect(conflict.create(u)); // CONFLICT
    for (const options of [
      { secret: secret.slice(0, 15) }, // too short: the partial secret must not be echoed
      { secret: secret.repeat(40) }, // too long
      { secret, ttlSeconds: 0 },
      { secret, alphabet: "aa" },
      { secret, scope: `${code}!` },
      { secret, keyPrefix: `${code}${"p".repeat(70)}` },
      { secret, issueLimit: { count: 0, windowSeconds: 1 } },
      { secret, retentionSeconds: 10 },
    ]) {
      try {
        new OtpManager(memoryStorage(), options);
        assert.fail(`accepted ${inspect(options)}`);
      } catch (e) {
        errors.push(e);
      }
    }
    const codes = new Set(errors.map((e) => e.code));
    for (const c of ["RATE_LIMITED", "ACTIVE_OTP_EXISTS", "INVALID_ARGUMENT", "CORRUPT_RECORD", "CONFLICT", "INVALID_CONFIG"]) {
      assert.ok(codes.has(c), `no ${c} error was produced`);
    }
    for (const e of errors) {
      assert.ok(e instanceof OtpError, inspect(e));
      const found = leaks(e, needles);
      assert.deepEqual(found, [], `${e.code}: ${e.message}`);
      assert.ok(!e.message.includes(secret.slice(0, 15)), `${e.code} echoes the start of the secret: ${e.message}`);
    }
    // Nor does inspecting the manager or a stored record show the secret.
    assert.ok(!inspect(otp, { showHidden: true, depth: Infinity }).includes(secret));
    for (const w of storage.writes()) assert.ok(!w.value.includes(secret) && !w.value.includes(code));
  });

  test("messages do not echo the submitted user or code", async () => {
    const { otp } = setup();
    const marker = "ECHO-MARKER-";
    for (const p of [
      otp.create(marker.repeat(30)),
      otp.create(`${marker}\uD800`),
      otp.check(marker.repeat(30), "1234"),
    ]) {
      const e = await p.catch((x) => x);
      assert.equal(e.code, "INVALID_ARGUMENT");
      assert.ok(!e.message.includes(marker), e.message);
    }
  });
});

// ------------------------------------------------------------------ NOT_INITIALIZED

describe("edge-otp/slim initialisation (fresh module state in a child process)", { skip }, () => {
  function child(body) {
    const script = `
      import { readFileSync } from "node:fs";
      import * as slim from ${JSON.stringify(pathToFileURL(SLIM).href)};
      const { OtpManager, OtpError, memoryStorage, init, initSync } = slim;
      const bytes = readFileSync(${JSON.stringify(WASM)});
      const out = { exports: Object.keys(slim).sort() };
      const attempt = () => {
        try {
          new OtpManager(memoryStorage(), { secret: "x".repeat(16) });
          return "ok";
        } catch (e) {
          return { code: e.code, isOtpError: e instanceof OtpError, message: e.message };
        }
      };
      out.before = attempt();
      ${body}
      out.after = attempt();
      const otp = new OtpManager(memoryStorage(), { secret: "x".repeat(16) });
      const { code } = await otp.create("u");
      out.verified = await otp.verify("u", code);
      console.log(JSON.stringify(out));
    `;
    return new Promise((resolve, reject) => {
      execFile(process.execPath, ["--input-type=module", "-e", script], { timeout: 20_000 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout.trim().split("\n").at(-1)));
      });
    });
  }

  const variants = {
    "initSync({ module: bytes })": "initSync({ module: bytes }); initSync({ module: bytes });",
    "initSync({ module: WebAssembly.Module })": "initSync({ module: new WebAssembly.Module(bytes) });",
    "initSync(bytes)": "initSync(bytes);",
    "await init(bytes)": "await init(bytes); await init(bytes);",
    "await init(WebAssembly.Module)": "await init(await WebAssembly.compile(bytes));",
    "await init(Response)": "await init(new Response(bytes, { headers: { 'content-type': 'application/wasm' } }));",
  };

  test("init() still waiting for its input when initSync() loads the module: the module loaded stays", async () => {
    // Before, the pending init put a second instance in place of the first: the manager
    // made meanwhile failed with "memory access out of bounds", a new one looped forever.
    const out = await child(`
      const pending = init(new Promise((resolve) => setTimeout(() => resolve(bytes), 50)));
      initSync(bytes);
      const early = new OtpManager(memoryStorage(), { secret: "x".repeat(16) });
      const issued = await early.create("early");
      await pending;
      out.earlyVerified = await early.verify("early", issued.code);
    `);
    assert.equal(out.before.code, "NOT_INITIALIZED");
    assert.equal(out.earlyVerified, true, "the manager made before the pending init settled");
    assert.equal(out.after, "ok");
    assert.equal(out.verified, true, "a manager made after it");
  });

  for (const [name, body] of Object.entries(variants)) {
    test(`NOT_INITIALIZED before ${name}, working after`, async () => {
      const out = await child(body);
      assert.deepEqual(out.exports, ["MAX_TRIES", "OtpError", "OtpManager", "init", "initSync", "memoryStorage"]);
      assert.equal(out.before.code, "NOT_INITIALIZED");
      assert.equal(out.before.isOtpError, true);
      assert.match(out.before.message, /^edge-otp: the wasm module is not initialised: call init\(\) or initSync\(\) from edge-otp\/slim first$/);
      assert.equal(out.after, "ok");
      assert.equal(out.verified, true);
    });
  }
});
