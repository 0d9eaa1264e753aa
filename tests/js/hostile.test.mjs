// Hostile input: user ids, submitted codes, options, clocks and stored records that a
// careless or malicious caller (or a tampered store) can hand the package. Table-driven:
// each case names the OtpError code or the verdict it must give. Never a crash (a
// non-OtpError), never a write for a rejected argument, and the same manager instance
// answers a normal create + verify right after every case.
//
//   node --test tests/js/hostile.test.mjs
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { OtpManager, OtpError, memoryStorage } from "../../pkg/node.js";
// The wasm-bindgen glue returns the already-initialised instance's exports: used only to
// watch the size of the WebAssembly memory.
import { initSync as wasmExports } from "../../pkg/wasm/edge_otp.js";
import { SECRET, T0, makeRecord, outcome, wrongCode } from "./reliability-lib.mjs";

const MiB = 1 << 20;
const MAX_TIME = 253_402_300_799_999;
const HOUR = 3_600_000;

// One store and one manager for the whole file: every case runs on them, and every case
// ends with a normal create + verify on the same instance.
const inner = memoryStorage();
const stats = { gets: 0, writes: 0 };
const store = {
  get: (k) => (stats.gets++, inner.get(k)),
  put: (k, v) => (stats.writes++, inner.put(k, v)),
  compareAndSwap: (k, e, v) => (stats.writes++, inner.compareAndSwap(k, e, v)),
};
const clock = { t: T0, fn: null };
const otp = new OtpManager(store, { secret: SECRET, now: () => (clock.fn ? clock.fn() : clock.t) });

let seq = 0;
const fresh = (tag = "u") => `${tag}-${++seq}@example.com`;
const show = (o) => (o.code ? `OtpError ${o.code}` : o.error ? `crash: ${o.error && o.error.stack || String(o.error)}` : `value ${JSON.stringify(o.value)}`);

/** A normal create + verify on `m`, for a new user, with the normal clock. */
async function healthy(m = otp) {
  const saved = clock.fn;
  clock.fn = null;
  try {
    const user = fresh("healthy");
    const { code } = await m.create(user);
    assert.match(code, /^\d{4}$/);
    assert.equal(await m.verify(user, code), true, "healthy create + verify");
    assert.equal(await m.verify(user, code), false, "healthy second verify");
  } finally {
    clock.fn = saved;
  }
}

async function expectCode(run, code, label) {
  const o = await outcome(run);
  assert.equal(o.code, code, `${label}: want ${code}, got ${show(o)}`);
  return o;
}

let caseCount = 0;
const hostile = (name, fn, opts = {}) =>
  test(name, opts, async () => {
    caseCount++;
    await fn();
    await healthy();
  });

// ---------------------------------------------------------------------------------------
describe("user ids", () => {
  const fn = () => "ada";
  const USERS = [
    ["number 42", 42, "INVALID_ARGUMENT"],
    ["number 0", 0, "INVALID_ARGUMENT"],
    ["NaN", NaN, "INVALID_ARGUMENT"],
    ["plain object", {}, "INVALID_ARGUMENT"],
    ["object with toString", { toString: () => "ada" }, "INVALID_ARGUMENT"],
    ["empty array", [], "INVALID_ARGUMENT"],
    ["array of a string", ["ada"], "INVALID_ARGUMENT"],
    ["nested arrays", [[["ada"]]], "INVALID_ARGUMENT"],
    ["symbol", Symbol("ada"), "INVALID_ARGUMENT"],
    ["null", null, "INVALID_ARGUMENT"],
    ["undefined", undefined, "INVALID_ARGUMENT"],
    ["BigInt", 1n, "INVALID_ARGUMENT"],
    ["function", fn, "INVALID_ARGUMENT"],
    ["String object", new String("ada"), "INVALID_ARGUMENT"],
    ["empty string", "", "INVALID_ARGUMENT"],
    ["1 MiB string", "a".repeat(MiB), "INVALID_ARGUMENT"],
    ["257 ASCII characters", "a".repeat(257), "INVALID_ARGUMENT"],
    ["256 ASCII characters (the limit)", "a".repeat(256), "ok"],
    ["129 × é (258 UTF-8 bytes in 129 units)", "é".repeat(129), "INVALID_ARGUMENT"],
    ["128 × é (256 UTF-8 bytes)", "é".repeat(128), "ok"],
    ["65 × 😀 (260 UTF-8 bytes)", "😀".repeat(65), "INVALID_ARGUMENT"],
    ["64 × 😀 (256 UTF-8 bytes)", "😀".repeat(64), "ok"],
    ["emoji 😀", "😀", "ok"],
    ["NUL inside", "a\u0000b", "ok"],
    ["only NUL", "\u0000", "ok"],
    ["lone high surrogate", "\uD800", "INVALID_ARGUMENT"],
    ["lone low surrogate", "\uDC00", "INVALID_ARGUMENT"],
    ["lone high surrogate inside", "a\uDBFFb", "INVALID_ARGUMENT"],
    ["reversed surrogate pair", "\uDC00\uD800", "INVALID_ARGUMENT"],
    ["high surrogate at the end", "ada\uD83D", "INVALID_ARGUMENT"],
    ["single space", " ", "ok"],
    ["whitespace and line separators", "\t\n\u2028\u00a0", "ok"],
    ["__proto__", "__proto__", "ok"],
    ["constructor", "constructor", "ok"],
    ["key-like with colons", "login:otp:default:ada", "ok"],
  ];
  for (const [name, user, want] of USERS) {
    hostile(`user: ${name} → ${want}`, async () => {
      const writes = stats.writes;
      const size = inner.size;
      if (want === "INVALID_ARGUMENT") {
        for (const [op, run] of [
          ["create", () => otp.create(user)],
          ["generate", () => otp.generate(user)],
          ["check", () => otp.check(user, "1234")],
          ["verify", () => otp.verify(user, "1234")],
          ["getLatestOtp", () => otp.getLatestOtp(user)],
          ["resetAttempts", () => otp.resetAttempts(user)],
          ["invalidate", () => otp.invalidate(user)],
        ]) {
          await expectCode(run, "INVALID_ARGUMENT", op);
        }
        if (!(typeof user === "string" && user.length <= 256 && user.isWellFormed())) {
          assert.throws(() => otp.keyFor(user), (e) => e instanceof OtpError && e.code === "INVALID_ARGUMENT");
        }
        assert.equal(stats.writes, writes, "no write for a rejected user");
        assert.equal(inner.size, size);
      } else {
        const { code } = await otp.create(user);
        assert.equal(inner.get(otp.keyFor(user)) !== null, true);
        assert.equal((await otp.getLatestOtp(user)).status, "active");
        assert.equal(await otp.verify(user, code), true);
        assert.equal(await otp.verify(user, code), false);
      }
    });
  }
  hostile("user: keyFor rejects a user of more than 256 UTF-8 bytes in at most 256 units", async () => {
    for (const user of ["é".repeat(129), "😀".repeat(65)]) {
      assert.throws(() => otp.keyFor(user), (e) => e instanceof OtpError && e.code === "INVALID_ARGUMENT");
    }
  });
  hostile("user: distinct ids never share a record (NUL, whitespace, case, NFC/NFD)", async () => {
    const ids = ["ada", "ada\u0000", " ada", "ADA", "\u00e9", "e\u0301"];
    const issued = [];
    for (const id of ids) issued.push((await otp.create(id)).code);
    for (const [i, id] of ids.entries()) {
      assert.equal((await otp.getLatestOtp(id)).code, issued[i]);
      assert.equal(new Set(ids.map((x) => otp.keyFor(x))).size, ids.length);
    }
    for (const [i, id] of ids.entries()) assert.equal(await otp.verify(id, issued[i]), true, id);
  });
});

// ---------------------------------------------------------------------------------------
describe("submitted codes", () => {
  const fw = (s) => [...s].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join("");
  const CODES = [
    ["number", (c) => Number(c), "INVALID_ARGUMENT"],
    ["null", () => null, "INVALID_ARGUMENT"],
    ["undefined", () => undefined, "INVALID_ARGUMENT"],
    ["object", () => ({}), "INVALID_ARGUMENT"],
    ["array holding the right code", (c) => [c], "INVALID_ARGUMENT"],
    ["symbol", () => Symbol("1234"), "INVALID_ARGUMENT"],
    ["BigInt", (c) => BigInt(c), "INVALID_ARGUMENT"],
    ["String object of the right code", (c) => new String(c), "INVALID_ARGUMENT"],
    ["function returning the right code", (c) => () => c, "INVALID_ARGUMENT"],
    // Any string is a guess, whatever its length (a long one cannot be a code).
    ["1 MiB string", () => "1".repeat(MiB), "invalid"],
    ["100,000 characters", () => "7".repeat(100_000), "invalid"],
    ["right code padded with spaces to 257 units", (c) => c + " ".repeat(253), "invalid"],
    ["empty string", () => "", "invalid"],
    ["wrong code", (c) => wrongCode(c), "invalid"],
    ["right code padded with spaces to 256 units", (c) => c.padStart(130, " ").padEnd(256, " "), "verified"],
    ["right code with hyphens", (c) => `${c.slice(0, 2)}-${c.slice(2)}`, "verified"],
    ["right code spaced out", (c) => ` ${[...c].join(" ")} `, "verified"],
    ["right code + NUL", (c) => `${c}\u0000`, "invalid"],
    ["NUL + right code", (c) => `\u0000${c}`, "invalid"],
    ["right code + lone high surrogate", (c) => `${c}\uD800`, "invalid"],
    ["lone low surrogate", () => "\uDC00", "invalid"],
    ["emoji", () => "😀😀😀😀", "invalid"],
    // As pasted or typed: white space, dashes and full-width forms read as typed.
    ["right code in full-width digits", (c) => fw(c), "verified"],
    ["right code + tab", (c) => `${c}\t`, "verified"],
    ["right code + newline", (c) => `${c}\n`, "verified"],
    ["right code + CRLF, after a no-break space", (c) => `\u00a0${c}\r\n`, "verified"],
    ["right code with an en dash", (c) => `${c.slice(0, 2)}\u2013${c.slice(2)}`, "verified"],
    // Invisible characters that are not white space are not separators.
    ["right code + zero-width space", (c) => `${c}\u200b`, "invalid"],
    ["right code + soft hyphen", (c) => `${c.slice(0, 2)}\u00ad${c.slice(2)}`, "invalid"],
    ["right code twice", (c) => c + c, "invalid"],
    ["right code minus its last digit", (c) => c.slice(0, -1), "invalid"],
    ["only hyphens and spaces", () => "- - - -", "invalid"],
    ["right code with a leading +", (c) => `+${c}`, "invalid"],
  ];
  for (const [name, make, want] of CODES) {
    hostile(`code: ${name} → ${want}`, async () => {
      const user = fresh("code");
      const { code } = await otp.create(user);
      const submitted = make(code);
      const before = inner.get(otp.keyFor(user));
      if (want === "INVALID_ARGUMENT") {
        await expectCode(() => otp.check(user, submitted), "INVALID_ARGUMENT", "check");
        await expectCode(() => otp.verify(user, submitted), "INVALID_ARGUMENT", "verify");
        assert.equal(inner.get(otp.keyFor(user)), before, "no attempt spent");
        assert.equal(await otp.verify(user, code), true, "the right code still verifies");
      } else {
        const o = await outcome(() => otp.check(user, submitted));
        assert.equal(o.value && o.value.reason, want, show(o));
        if (want === "invalid") {
          assert.equal(o.value.attemptsLeft, 2);
          assert.equal((await otp.getLatestOtp(user)).attempts, 1);
          assert.equal(await otp.verify(user, code), true, "the right code still verifies");
        } else {
          assert.equal(await otp.verify(user, code), false, "used");
        }
      }
    });
  }
});

// ---------------------------------------------------------------------------------------
describe("options", () => {
  const make = (options, storage = memoryStorage()) => () => new OtpManager(storage, options);
  const base = { secret: SECRET };
  const CASES = [];
  const BAD_NUMBERS = [["NaN", NaN], ["Infinity", Infinity], ["-Infinity", -Infinity], ["-1", -1], ["1.5", 1.5], ['"3"', "3"], ["1e300", 1e300], ["null", null]];
  for (const key of ["ttlSeconds", "maxAttempts", "length", "resendCooldownSeconds", "retentionSeconds"]) {
    for (const [label, v] of BAD_NUMBERS) {
      // retentionSeconds: null means "off" and is valid.
      const want = key === "retentionSeconds" && v === null ? "ok" : "INVALID_CONFIG";
      CASES.push([`${key}: ${label}`, { ...base, [key]: v }, want]);
    }
  }
  for (const limit of ["issueLimit", "failureLimit"]) {
    for (const field of ["count", "windowSeconds"]) {
      for (const [label, v] of BAD_NUMBERS) {
        CASES.push([`${limit}.${field}: ${label}`, { ...base, [limit]: { count: 5, windowSeconds: 3600, [field]: v } }, "INVALID_CONFIG"]);
      }
    }
    CASES.push([`${limit}: array`, { ...base, [limit]: [5, 3600] }, "INVALID_CONFIG"]);
    CASES.push([`${limit}: string`, { ...base, [limit]: "5/h" }, "INVALID_CONFIG"]);
    CASES.push([`${limit}: missing windowSeconds`, { ...base, [limit]: { count: 5 } }, "INVALID_CONFIG"]);
    CASES.push([`${limit}: __proto__ key`, { ...base, [limit]: JSON.parse('{"count":5,"windowSeconds":60,"__proto__":{"count":1}}') }, "INVALID_CONFIG"]);
    CASES.push([`${limit}: count 0`, { ...base, [limit]: { count: 0, windowSeconds: 60 } }, "INVALID_CONFIG"]);
    CASES.push([`${limit}: count 1000001`, { ...base, [limit]: { count: 1_000_001, windowSeconds: 60 } }, "INVALID_CONFIG"]);
    CASES.push([`${limit}: windowSeconds 0`, { ...base, [limit]: { count: 5, windowSeconds: 0 } }, "INVALID_CONFIG"]);
  }
  CASES.push(
    ["options: null", null, "INVALID_CONFIG"],
    ["options: undefined", undefined, "INVALID_CONFIG"],
    ["options: a string", SECRET, "INVALID_CONFIG"],
    ["options: an array", [SECRET], "INVALID_CONFIG"],
    ["options: JSON with __proto__ holding the secret", JSON.parse(`{"__proto__":{"secret":"x"},"secret":"${SECRET}"}`), "INVALID_CONFIG"],
    ["options: JSON with __proto__ turning the failure limit off", JSON.parse(`{"secret":"${SECRET}","__proto__":{"failureLimit":null}}`), "INVALID_CONFIG"],
    ["options: JSON __proto__ only", JSON.parse('{"__proto__":{"secret":"0123456789abcdef0123"}}'), "INVALID_CONFIG"],
    ["options: own constructor key", { ...base, constructor: Object }, "INVALID_CONFIG"],
    ["options: typo maxAttempt", { ...base, maxAttempt: 3 }, "INVALID_CONFIG"],
    ["secret: missing", {}, "INVALID_CONFIG"],
    ["secret: null", { secret: null }, "INVALID_CONFIG"],
    ["secret: number", { secret: 1234567890123456789 }, "INVALID_CONFIG"],
    ["secret: empty", { secret: "" }, "INVALID_CONFIG"],
    ["secret: 15 bytes", { secret: "x".repeat(15) }, "INVALID_CONFIG"],
    ["secret: 1 MiB", { secret: "x".repeat(MiB) }, "INVALID_CONFIG"],
    ["secret: 15-byte Uint8Array", { secret: new Uint8Array(15) }, "INVALID_CONFIG"],
    ["secret: array of bytes", { secret: Array(32).fill(7) }, "INVALID_CONFIG"],
    ["secret: ArrayBuffer", { secret: new ArrayBuffer(32) }, "INVALID_CONFIG"],
    ["secret: 8 emoji (32 bytes)", { secret: "😀".repeat(8) }, "ok"],
    ["alphabet: empty", { ...base, alphabet: "" }, "INVALID_CONFIG"],
    ["alphabet: one character", { ...base, alphabet: "0" }, "INVALID_CONFIG"],
    ["alphabet: repeated character", { ...base, alphabet: "00" }, "INVALID_CONFIG"],
    ["alphabet: with space", { ...base, alphabet: "01 " }, "INVALID_CONFIG"],
    ["alphabet: with hyphen", { ...base, alphabet: "01-" }, "INVALID_CONFIG"],
    ["alphabet: with NUL", { ...base, alphabet: "0\u00001" }, "INVALID_CONFIG"],
    ["alphabet: emoji", { ...base, alphabet: "😀🙂" }, "INVALID_CONFIG"],
    ["alphabet: non-ASCII letters", { ...base, alphabet: "äö" }, "INVALID_CONFIG"],
    ["alphabet: 1 MiB", { ...base, alphabet: "0".repeat(MiB) }, "INVALID_CONFIG"],
    ["alphabet: array", { ...base, alphabet: ["0", "1"] }, "INVALID_CONFIG"],
    ["scope: empty", { ...base, scope: "" }, "INVALID_CONFIG"],
    ["scope: with colon", { ...base, scope: "a:b" }, "INVALID_CONFIG"],
    ["scope: emoji", { ...base, scope: "😀" }, "INVALID_CONFIG"],
    ["scope: 33 characters", { ...base, scope: "s".repeat(33) }, "INVALID_CONFIG"],
    ["scope: null", { ...base, scope: null }, "INVALID_CONFIG"],
    ["scope: lone surrogate", { ...base, scope: "\uD800" }, "INVALID_CONFIG"],
    ["keyPrefix: 1 MiB", { ...base, keyPrefix: "k".repeat(MiB) }, "INVALID_CONFIG"],
    ["keyPrefix: number", { ...base, keyPrefix: 42 }, "INVALID_CONFIG"],
    ["keyPrefix: lone surrogate", { ...base, keyPrefix: "\uD800" }, "INVALID_CONFIG"],
    ["keyPrefix: empty (allowed)", { ...base, keyPrefix: "" }, "ok"],
    ["now: a number", { ...base, now: 42 }, "INVALID_CONFIG"],
    ["now: a string", { ...base, now: "Date.now" }, "INVALID_CONFIG"],
    ["maxAttempts: 1001", { ...base, maxAttempts: 1001 }, "INVALID_CONFIG"],
    ["maxAttempts: 0", { ...base, maxAttempts: 0 }, "INVALID_CONFIG"],
    ["length: 11", { ...base, length: 11 }, "INVALID_CONFIG"],
    ["length: 0", { ...base, length: 0 }, "INVALID_CONFIG"],
    ["ttlSeconds: 30 days + 1 s", { ...base, ttlSeconds: 2_592_001 }, "INVALID_CONFIG"],
    ["retentionSeconds: 59", { ...base, retentionSeconds: 59 }, "INVALID_CONFIG"],
    ["retentionSeconds: below the longest window", { ...base, retentionSeconds: 3599 }, "INVALID_CONFIG"],
    ["timeoutMs: 0", { ...base, timeoutMs: 0 }, "INVALID_CONFIG"],
    ["timeoutMs: a string", { ...base, timeoutMs: "10" }, "INVALID_CONFIG"],
    ["timeoutMs: null (no limit)", { ...base, timeoutMs: null }, "ok"],
    // setTimeout fires at once above 2^31 - 1 ms, and a waiting operation's timer runs timeoutMs + 1.
    ["timeoutMs: 2^31 - 1", { ...base, timeoutMs: 2 ** 31 - 1 }, "INVALID_CONFIG"],
    ["timeoutMs: 2^31 - 2 (the longest)", { ...base, timeoutMs: 2 ** 31 - 2 }, "ok"],
    ["onEvent: a number", { ...base, onEvent: 1 }, "INVALID_CONFIG"],
    ["onEventError: a string", { ...base, onEventError: "console.error" }, "INVALID_CONFIG"],
    ["normalizeUser: an unknown name", { ...base, normalizeUser: "phone" }, "INVALID_CONFIG"],
    ["normalizeUser: a number", { ...base, normalizeUser: 42 }, "INVALID_CONFIG"],
    ["normalizeUser: 1 MiB name", { ...base, normalizeUser: "e".repeat(MiB) }, "INVALID_CONFIG"],
    ["normalizeUser: email", { ...base, normalizeUser: "email" }, "ok"],
  );
  for (const [name, options, want] of CASES) {
    hostile(`option ${name} → ${want}`, async () => {
      if (want === "ok") {
        const m = make(options)();
        await healthy(m);
      } else {
        assert.throws(make(options), (e) => e instanceof OtpError && e.code === want, name);
      }
    });
  }
  // A number that is not a whole number in range (NaN, 1.5, -1, Infinity) gets the
  // field's own rule, the same reason as a whole number out of range: one message a
  // user can act on, not "0 or more" for a field whose minimum is 1.
  const RULES = [
    ["ttlSeconds", 0, (v) => ({ ttlSeconds: v })],
    ["maxAttempts", 0, (v) => ({ maxAttempts: v })],
    ["length", 11, (v) => ({ length: v })],
    ["resendCooldownSeconds", 2_592_001, (v) => ({ resendCooldownSeconds: v })],
    ["retentionSeconds", 1, (v) => ({ retentionSeconds: v })],
    ["issueLimit", 0, (v) => ({ issueLimit: { count: v, windowSeconds: 60 } })],
    ["failureLimit", 0, (v) => ({ failureLimit: { count: 5, windowSeconds: v } })],
    ["timeoutMs", 0, (v) => ({ timeoutMs: v })],
  ];
  for (const [field, outOfRange, option] of RULES) {
    test(`option ${field}: NaN, 1.5, -1 and Infinity answer the same rule as ${outOfRange}`, () => {
      const reason = (v) => {
        try {
          new OtpManager(memoryStorage(), { ...base, ...option(v) });
        } catch (e) {
          assert.ok(e instanceof OtpError && e.code === "INVALID_CONFIG" && e.field === field, `${field}: ${v}`);
          return e.reason;
        }
        assert.fail(`${field}: ${v} was accepted`);
      };
      const rule = reason(outOfRange);
      assert.match(rule, /whole number/);
      for (const v of [NaN, 1.5, -1, Infinity, 1e300]) assert.equal(reason(v), rule, `${field}: ${v}`);
    });
  }
  // A string option with a lone surrogate is refused for that, not for a length it has not.
  for (const [field, value] of [["keyPrefix", "\uD800:"], ["alphabet", "0123456789\uDC00"], ["secret", `${"s".repeat(20)}\uD800`]]) {
    test(`option ${field}: a short string with a lone surrogate answers "well-formed", not its length rule`, () => {
      assert.throws(() => new OtpManager(memoryStorage(), { ...base, [field]: value }), (e) =>
        e instanceof OtpError && e.code === "INVALID_CONFIG" && e.field === field &&
        e.reason === "must be well-formed unicode (no lone surrogates)");
    });
  }
  const BAD_STORES = [
    ["null", null],
    ["a string", "kv"],
    ["no methods", {}],
    ["get only", { get() {} }],
    ["put not a function", { get() {}, put: 1 }],
    ["compareAndSwap not a function", { get() {}, put() {}, compareAndSwap: true }],
  ];
  for (const [name, s] of BAD_STORES) {
    hostile(`storage: ${name} → INVALID_CONFIG`, async () => {
      assert.throws(() => new OtpManager(s, { secret: SECRET }), (e) => e instanceof OtpError && e.code === "INVALID_CONFIG");
    });
  }
  hostile("options: a throwing getter propagates its own error", async () => {
    const boom = new Error("getter");
    const options = { secret: SECRET, get ttlSeconds() { throw boom; } };
    assert.throws(() => new OtpManager(memoryStorage(), options), (e) => e === boom);
  });
  hostile("options: a polluted Object.prototype does not change the policy", async () => {
    // Defence in depth: prototype pollution elsewhere in the app must not switch the
    // failure limit off or raise maxAttempts. Options are read with plain property
    // access, so inherited values are picked up.
    let m;
    Object.prototype.failureLimit = null;
    Object.prototype.maxAttempts = 1000;
    try {
      m = new OtpManager(memoryStorage(), { secret: SECRET, now: () => T0 });
    } finally {
      delete Object.prototype.failureLimit;
      delete Object.prototype.maxAttempts;
    }
    const { maxAttempts } = await m.create("ada");
    assert.equal(maxAttempts, 3, "inherited maxAttempts was used");
  });
  hostile("initSync: a polluted Object.prototype.module does not replace the module passed", async () => {
    // `initSync(bytes)` and `initSync({ module })` are told apart by an own `module` key:
    // an inherited one made the loader hand the glue Object.prototype.module instead.
    const { loader } = await import("../../pkg/engines.js");
    const bytes = new Uint8Array([0, 97, 115, 109]);
    const given = [];
    const load = (input) => given.push(input.module);
    Object.prototype.module = "polluted";
    try {
      loader(() => ({})).initSync(load, bytes);
    } finally {
      delete Object.prototype.module;
    }
    loader(() => ({})).initSync(load, { module: bytes });
    assert.deepEqual(given, [bytes, bytes]);
  });
  // A Proxy whose traps throw (a revoked one throws on every trap) as per-call options: the
  // trap's error reaches the caller, and the engine, shared by every manager with these
  // options, keeps working (a JS exception unwinding through a wasm method that holds the
  // engine would leave it borrowed for good: "recursive use of an object").
  // Per-call options are read once, before the first storage call: the operation (and a
  // compare-and-swap retry of it) reads the engine's copy. A getter runs once, and one
  // whose value changes cannot make the check and the operation see different options.
  hostile("per-call options are read once: a getter runs once per call, even when compareAndSwap retries", async () => {
    const backing = memoryStorage();
    let conflicts = 0;
    const racy = {
      get: (k) => backing.get(k),
      put: (k, v) => backing.put(k, v),
      // The first swap of each call loses (another instance wrote first): the driver re-reads and decides again.
      compareAndSwap: (k, e, v) => (conflicts++ % 2 === 0 ? false : backing.compareAndSwap(k, e, v)),
    };
    const m = new OtpManager(racy, { secret: SECRET, now: () => T0, resendCooldownSeconds: 0 });
    let reads = 0;
    const counted = (key, values) =>
      Object.defineProperty({}, key, { enumerable: true, get: () => values[Math.min(reads++, values.length - 1)] });
    const user = fresh("read-once");
    for (const [label, run, key, values, check] of [
      ["create", (o) => m.create(user, o), "ttlSeconds", [60, 1.5],
        (v) => assert.equal(v.expiresAt, T0 + 60_000, "create: the first value")],
      ["generate", (o) => m.generate(fresh("read-once"), o), "ttlSeconds", [120, -1],
        (v) => assert.equal(v.expiresAt, T0 + 120_000, "generate: the first value")],
      ["check", (o) => m.check(user, "0000", o), "consume", [true, 1],
        (v) => assert.equal(v.ok, false, "check: a wrong guess")],
      ["verify", (o) => m.verify(user, "0000", o), "consume", [false, "no"],
        (v) => assert.equal(v, false, "verify: a wrong guess")],
    ]) {
      const o = counted(key, values);
      reads = 0;
      conflicts = 0;
      const v = await run(o);
      assert.equal(conflicts, 2, `${label}: one conflict, one retry`);
      check(v);
      assert.equal(reads, 1, `${label}: the getter ran once`);
    }
    // A Proxy's traps too: one ownKeys, one get per key.
    const traps = [];
    const proxy = new Proxy({ ttlSeconds: 60, link: true }, {
      ownKeys: (t) => (traps.push("ownKeys"), Reflect.ownKeys(t)),
      get: (t, k) => (traps.push(`get ${String(k)}`), Reflect.get(t, k)),
    });
    conflicts = 0;
    const issued = await m.create(fresh("read-once"), proxy);
    assert.equal(typeof issued.token, "string");
    assert.deepEqual(traps, ["ownKeys", "get ttlSeconds", "get link"]);
    m.dispose();
  });
  hostile("per-call options that are a throwing or revoked Proxy: the trap's error, and the engine keeps working", async () => {
    const boom = new Error("ownKeys trap");
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    const twin = new OtpManager(store, { secret: SECRET, now: () => (clock.fn ? clock.fn() : clock.t) });
    for (const [label, options] of [
      ["ownKeys throws", new Proxy({}, { ownKeys() { throw boom; } })],
      ["revoked", revocable.proxy],
    ]) {
      for (const [op, run] of [
        ["create", (u) => otp.create(u, options)],
        ["check", (u) => otp.check(u, "1234", options)],
      ]) {
        const u = fresh("proxy");
        const o = await outcome(() => run(u));
        assert.ok(o.error !== undefined && !(o.error instanceof OtpError && o.error.code === "INTERNAL"), `${label} ${op}: ${show(o)}`);
        assert.ok(!/recursive use/.test(String(o.error?.message)), `${label} ${op}: ${o.error?.message}`);
        const { code } = await twin.create(u);
        assert.equal(await otp.verify(u, code), true, `${label} ${op}: the shared engine still works`);
      }
    }
  });
  // A secret that only looks like a Uint8Array. A Proxy of one passes `instanceof`, and
  // reading it ran its traps inside wasm: a trap's throw unwound through the engine's
  // set-up and leaked its stack, so after about 900 such managers every manager of the
  // instance failed ("memory access out of bounds"). A subclass's throwing `length`
  // getter did the same. Only a real typed array is read now, from its own bytes.
  hostile("a secret that is a Proxy of a Uint8Array, a detached one, a disguised DataView, or a subclass with a throwing getter: refused or read from its bytes, the instance unharmed", async () => {
    const boom = new Error("length getter");
    const bytes = new TextEncoder().encode(SECRET);
    const proxy = new Proxy(new Uint8Array(bytes), {
      get(t, k) {
        if (k === "length") throw boom;
        return Reflect.get(t, k);
      },
    });
    const huge = new Proxy(new Uint8Array(bytes), { get: (t, k) => (k === "length" ? 1e9 : Reflect.get(t, k)) });
    // A real view that cannot be copied: its buffer detached (transferred away).
    const detached = new Uint8Array(bytes);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    // A DataView dressed as a Uint8Array: copying it iterates it, through a getter that throws.
    const disguised = Object.setPrototypeOf(new DataView(new ArrayBuffer(32)), Uint8Array.prototype);
    Object.defineProperty(disguised, Symbol.iterator, { get() { throw boom; } });
    class Evil extends Uint8Array {
      get length() {
        throw boom;
      }
    }
    const totp = await import("../../pkg/totp-node.js");
    const shared = memoryStorage();
    const makers = [
      ["OtpManager", (secret) => new OtpManager(shared, { secret })],
      ["TotpManager", (secret) => new totp.TotpManager(shared, { secret, issuer: "Acme" })],
    ];
    for (const [name, make] of makers) {
      // Far more rounds than the instance survived when each failure leaked.
      for (let i = 0; i < 1500; i++) {
        for (const [label, secret] of [["a Proxy", proxy], ["a Proxy, length 1e9", huge], ["detached", detached], ["a disguised DataView", disguised]]) {
          assert.throws(() => make(secret), (e) => e.code === "INVALID_CONFIG" && e.field === "secret", `${name}: ${label}`);
        }
      }
      // A real Uint8Array, whatever its class says: its bytes are the secret (a code
      // issued under it verifies under a plain copy of them).
      const m = make(new Evil(bytes));
      const plain = make(new Uint8Array(bytes));
      const user = fresh("evil-secret");
      if (name === "OtpManager") {
        const { code } = await m.create(user);
        assert.equal(await plain.verify(user, code), true, `${name}: the same secret`);
        await healthy(m);
      } else {
        await m.enroll(user);
        // The seed is sealed under the manager's secret: under another one it does not
        // open (CORRUPT_RECORD), under the same one a guess is checked.
        const v = await plain.check(user, "000000");
        assert.ok(["invalid", "verified"].includes(v.reason), `${name}: the same secret (${JSON.stringify(v)})`);
      }
      m.dispose();
      plain.dispose();
    }
  });
  // Managers with equal policy and scope share one engine, whatever their onEvent and
  // clock. A call that fails before the core decides (here on its clock's answer, inside
  // the operation) must not hand on what an earlier call of another manager left in the
  // engine: no write, no event (with this manager's user on it).
  hostile("a call failing on its clock emits no event left by another manager's call", async () => {
    const shared = { secret: SECRET, scope: "stale" };
    const seen = [];
    let time = T0;
    const quiet = new OtpManager(store, { ...shared, now: () => T0 });
    const loud = new OtpManager(store, { ...shared, now: () => time, onEvent: (e) => seen.push(e) });
    for (const [label, run] of [
      ["create", () => loud.create(fresh("stale"), { ttlSeconds: 60 })],
      ["verify", () => loud.verify(fresh("stale"), "0000", { consume: true })],
      ["resetAttempts", () => loud.resetAttempts(fresh("stale"))],
    ]) {
      time = T0;
      await quiet.create(fresh("quiet"));
      const writes = stats.writes;
      time = NaN;
      await expectCode(run, "INVALID_ARGUMENT", label);
      assert.equal(stats.writes, writes, `${label}: nothing written`);
      assert.deepEqual(seen, [], `${label}: no event`);
    }
    time = T0;
    quiet.dispose();
    loud.dispose();
  });
});

// ---------------------------------------------------------------------------------------
describe("clock (now option)", () => {
  const own = new Error("clock broke");
  const NOWS = [
    ["NaN", () => NaN, "INVALID_ARGUMENT"],
    ["Infinity", () => Infinity, "INVALID_ARGUMENT"],
    ["-Infinity", () => -Infinity, "INVALID_ARGUMENT"],
    ["-1", () => -1, "INVALID_ARGUMENT"],
    ["1e20", () => 1e20, "INVALID_ARGUMENT"],
    ["year 10000 (MAX_TIME + 1)", () => MAX_TIME + 1, "INVALID_ARGUMENT"],
    ['the string "123"', () => "123", "INVALID_ARGUMENT"],
    ["null", () => null, "INVALID_ARGUMENT"],
    ["an object", () => ({ valueOf: () => T0 }), "INVALID_ARGUMENT"],
    ["a Date", () => new Date(T0), "INVALID_ARGUMENT"],
    ["BigInt", () => BigInt(T0), "INVALID_ARGUMENT"],
    ["true", () => true, "INVALID_ARGUMENT"],
    ["a throwing clock", () => { throw own; }, "own"],
    ["0 (the epoch)", () => 0, "ok"],
    ["1.5 (fractions are truncated)", () => 1.5, "ok"],
    ["T0 + 0.999", () => T0 + 0.999, "ok"],
  ];
  for (const [name, fn, want] of NOWS) {
    hostile(`now() returning ${name} → ${want}`, async () => {
      const user = fresh("clock");
      clock.fn = fn;
      const writes = stats.writes;
      try {
        if (want === "ok") {
          const { code, createdAt } = await otp.create(user);
          assert.equal(createdAt, Math.trunc(fn()));
          assert.equal(await otp.verify(user, code), true);
          return;
        }
        for (const [op, run] of [
          ["create", () => otp.create(user)],
          ["generate", () => otp.generate(user)],
          ["check", () => otp.check(user, "1234")],
          ["getLatestOtp", () => otp.getLatestOtp(user)],
          ["invalidate", () => otp.invalidate(user)],
        ]) {
          if (want === "own") await assert.rejects(run(), (e) => e === own, op);
          else await expectCode(run, want, op);
        }
        assert.equal(stats.writes, writes, "no write with a bad clock");
      } finally {
        clock.fn = null;
      }
    });
  }
  hostile("now() returning undefined → INVALID_ARGUMENT", async () => {
    const user = fresh("clock");
    clock.fn = () => undefined;
    try {
      await expectCode(() => otp.create(user), "INVALID_ARGUMENT", "create");
    } finally {
      clock.fn = null;
    }
  });
  hostile("clock going backwards a day: safe verdicts", async () => {
    const user = fresh("clock");
    const { code } = await otp.create(user);
    clock.fn = () => T0 - 24 * HOUR;
    try {
      const o = await outcome(() => otp.create(user));
      assert.equal(o.code, "RATE_LIMITED", show(o));
      assert.ok(o.error.retryAfterMs > 24 * HOUR && o.error.retryAfterMs <= 24 * HOUR + 30_000);
      assert.equal((await otp.getLatestOtp(user)).status, "active");
      assert.equal(await otp.verify(user, code), true);
    } finally {
      clock.fn = null;
    }
  });
  hostile("now() = MAX_TIME (the end of year 9999, not accepted) → INVALID_ARGUMENT", async () => {
    const user = fresh("eot");
    clock.fn = () => MAX_TIME;
    try {
      const o = await outcome(() => otp.create(user));
      assert.equal(o.code, "INVALID_ARGUMENT", show(o));
      assert.match(o.error.message, /before 253402300799999 \(the end of year 9999\)$/, "the message says the bound exactly");
    } finally {
      clock.fn = null;
    }
  });
  for (const [label, t] of [["1 ms before MAX_TIME", MAX_TIME - 1], ["1 s before MAX_TIME", MAX_TIME - 1000], ["59 min before MAX_TIME", MAX_TIME - 59 * 60_000]]) {
    hostile(`now() = ${label} (expiry clamped to MAX_TIME): create, then verify`, async () => {
      const user = fresh("eot");
      clock.fn = () => t;
      try {
        const { code } = await otp.create(user);
        const o = await outcome(() => otp.check(user, code));
        assert.equal(o.value && o.value.reason, "verified", show(o));
      } finally {
        clock.fn = null;
      }
    });
  }
});

// ---------------------------------------------------------------------------------------
describe("stored records", () => {
  const now = () => clock.t;
  const rec = (fields) => makeRecord(fields, now());
  const good = () => rec({});
  // [name, stored value (function of now), expectation]
  const CORRUPT = [
    ["number", () => 42],
    ["zero", () => 0],
    ["false", () => false],
    ["true", () => true],
    ["plain object", () => ({})],
    ["JS array (not a string)", () => JSON.parse(good())],
    ["String object", () => new String(good())],
    ["Uint8Array", () => new TextEncoder().encode(good())],
    ["function", () => () => good()],
    ["symbol", () => Symbol("record")],
    ["BigInt", () => 1n],
    ["1 MiB string", () => "[".repeat(MiB)],
    ["1025 characters of whitespace-padded valid record", () => good() + " ".repeat(1025 - good().length)],
    ["empty string", () => ""],
    ['"null"', () => "null"],
    ['"{}"', () => "{}"],
    ['"[]"', () => "[]"],
    ["JSON object form", () => JSON.stringify(Object.fromEntries(JSON.parse(good()).map((v, i) => [`f${i}`, v])))],
    ["extra field", () => good().replace(/]$/, ",0]")],
    ["missing field", () => good().replace(/,\d+]$/, "]")],
    ["future version 2", () => rec({ version: 2 })],
    ["version 0", () => rec({ version: 0 })],
    ['version "1"', () => good().replace(/^\[1,/, '["1",')],
    ["attempts above maxAttempts", () => rec({ attempts: 4, maxAttempts: 3 })],
    ["maxAttempts 0", () => rec({ maxAttempts: 0 })],
    ["maxAttempts 1001", () => rec({ maxAttempts: 1001, attempts: 0 })],
    ["createdAt beyond year 9999", () => rec({ createdAt: MAX_TIME + 1, expiresAt: MAX_TIME + 2 })],
    ["expiresAt beyond year 9999", () => rec({ expiresAt: MAX_TIME + 1 })],
    ["failuresSince beyond year 9999", () => rec({ failuresSince: MAX_TIME + 1 })],
    ["expiresAt == createdAt", () => rec({ expiresAt: now() })],
    ["expiresAt before createdAt", () => rec({ expiresAt: now() - 1 })],
    ["state 3", () => rec({ state: 3 })],
    ["index 2^60", () => rec({ index: 2 ** 60 })],
    ["index 2^53 (beyond exact JS integers)", () => rec({ index: "9007199254740992" })],
    ["negative attempts", () => rec({ attempts: -1 })],
    ["fractional attempts", () => rec({ attempts: 1.5 })],
    ["exponent notation", () => rec({ createdAt: "1.8e12" })],
    ["huge number (20 digits)", () => rec({ issues: "99999999999999999999" })],
    ["failures 2^32 (u32 overflow)", () => rec({ failures: 2 ** 32 })],
    ["leading zero", () => rec({ attempts: "01" })],
    ["nested array in a field", () => rec({ attempts: "[[1]]" })],
    ["nested array record", () => `[${good()}]`],
    ["string in a number field", () => rec({ attempts: '"0"' })],
    ["null in a number field", () => rec({ attempts: "null" })],
    ["salt 31 hex digits", () => rec({ salt: "0".repeat(31) })],
    ["salt 33 hex digits", () => rec({ salt: "0".repeat(33) })],
    ["salt in upper case", () => rec({ salt: "00112233445566778899AABBCCDDEEFF" })],
    ["salt not hex", () => rec({ salt: "zz".repeat(16) })],
    ["salt with escapes", () => rec({ salt: "\\u0030".repeat(32) }).replace(/\\\\/g, "\\")],
    ["salt as a number", () => rec({ salt: 1234 })],
    ["trailing garbage", () => `${good()}x`],
    ["two records", () => good() + good()],
    ["leading BOM", () => `\uFEFF${good()}`],
    ["NUL inside", () => good().replace(",", ",\u0000")],
    ["lone surrogate inside", () => good().replace(",", ",\uD800")],
    ["truncated", () => good().slice(0, -1)],
  ];
  for (const [name, make] of CORRUPT) {
    hostile(`stored: ${name} → CORRUPT_RECORD, untouched`, async () => {
      const user = fresh("rec");
      const key = otp.keyFor(user);
      const value = make();
      inner.put(key, value);
      for (const [op, run] of [
        ["create", () => otp.create(user)],
        ["generate", () => otp.generate(user)],
        ["getLatestOtp", () => otp.getLatestOtp(user)],
        ["check", () => otp.check(user, "1234")],
        ["resetAttempts", () => otp.resetAttempts(user)],
        ["invalidate", () => otp.invalidate(user)],
      ]) {
        await expectCode(run, "CORRUPT_RECORD", op);
        assert.ok(Object.is(inner.get(key), value), `${op}: a corrupt record must not be overwritten`);
      }
    });
  }
  // Valid but extreme records: safe verdicts.
  const EXTREME = [
    ["whitespace around every token", () => ` ${good().replace(/,/g, " ,\n\t").replace("[", "[ \r\n")} `, async (u) => {
      assert.equal((await otp.getLatestOtp(u)).status, "active");
      assert.equal((await otp.check(u, "----")).reason, "invalid");
    }],
    ["attempts == maxAttempts", () => rec({ attempts: 3 }), async (u) => {
      assert.equal((await otp.getLatestOtp(u)).status, "exhausted");
      assert.deepEqual(await otp.check(u, "1234"), { ok: false, reason: "exhausted", attemptsLeft: 0 });
    }],
    ["maxAttempts 1000, attempts 999", () => rec({ attempts: 999, maxAttempts: 1000 }), async (u) => {
      const code = (await otp.getLatestOtp(u)).code;
      assert.deepEqual(await otp.check(u, wrongCode(code)), { ok: false, reason: "invalid", attemptsLeft: 0 });
      assert.equal((await otp.check(u, code)).reason, "exhausted");
    }],
    ["index outside the 4-digit space (issued under a longer policy)", () => rec({ index: 5_000_000 }), async (u) => {
      const latest = await otp.getLatestOtp(u);
      assert.equal(latest.status, "superseded");
      assert.equal((await otp.check(u, latest.code)).reason, "none");
      clock.t += HOUR;
      const { code } = await otp.create(u);
      assert.equal(await otp.verify(u, code), true);
    }],
    ["failures 4294967295 now", () => rec({ failures: 2 ** 32 - 1 }), async (u) => {
      const v = await otp.check(u, "1234");
      assert.equal(v.reason, "locked");
      assert.ok(v.retryAfterMs > 0 && v.retryAfterMs <= HOUR);
      await expectCode(() => otp.create(u), "RATE_LIMITED", "create");
    }],
    ["failures 4294967295 two hours ago", () => rec({ failures: 2 ** 32 - 1, failuresSince: now() - 2 * HOUR }), async (u) => {
      assert.equal((await otp.check(u, "----")).reason, "invalid");
    }],
    ["issues 4294967295 now", () => rec({ issues: 2 ** 32 - 1, createdAt: now() - HOUR / 2, expiresAt: now() + HOUR / 2 }), async (u) => {
      const o = await expectCode(() => otp.create(u), "RATE_LIMITED", "create");
      assert.ok(o.error.retryAfterMs > 0 && o.error.retryAfterMs <= HOUR);
    }],
    ["createdAt a day in the future", () => rec({ createdAt: now() + 24 * HOUR, expiresAt: now() + 25 * HOUR }), async (u) => {
      const o = await expectCode(() => otp.create(u), "RATE_LIMITED", "create");
      assert.ok(o.error.retryAfterMs > 24 * HOUR);
      assert.equal((await otp.check(u, "----")).reason, "invalid");
    }],
    ["issued at the epoch", () => makeRecord({}, 0), async (u) => {
      assert.equal((await otp.getLatestOtp(u)).status, "expired");
      assert.equal((await otp.check(u, "1234")).reason, "expired");
      const { code } = await otp.create(u);
      assert.equal(await otp.verify(u, code), true);
    }],
    ["expiresAt at MAX_TIME", () => rec({ expiresAt: MAX_TIME }), async (u) => {
      assert.equal((await otp.getLatestOtp(u)).status, "active");
    }],
    ["state used", () => rec({ state: 1 }), async (u) => {
      const latest = await otp.getLatestOtp(u);
      assert.equal(latest.status, "used");
      assert.equal((await otp.check(u, latest.code)).reason, "used");
    }],
    ["state revoked", () => rec({ state: 2 }), async (u) => {
      const latest = await otp.getLatestOtp(u);
      assert.equal(latest.status, "superseded");
      assert.equal((await otp.check(u, latest.code)).reason, "none");
      assert.equal(await otp.resetAttempts(u), false);
    }],
    ["maxAttempts above the policy's (5 vs 3)", () => rec({ maxAttempts: 5, attempts: 4 }), async (u) => {
      assert.equal((await otp.check(u, "----")).reason, "invalid");
      assert.equal((await otp.getLatestOtp(u)).attempts, 5);
    }],
  ];
  for (const [name, make, check] of EXTREME) {
    hostile(`stored (valid, extreme): ${name} → safe verdict`, async () => {
      const user = fresh("ext");
      inner.put(otp.keyFor(user), make());
      await check(user);
    });
  }
});

// ---------------------------------------------------------------------------------------
// What the engine calls in JS while it works: the system clock (web-time reads Date.now()
// when the app gives no `now`) and String.prototype.isWellFormed (the user check). Neither
// may make a wasm method throw or trap: that would leave the engine borrowed ("recursive
// use of an object") for every manager sharing it, and each such throw leaks shadow stack
// and externref-table slots until the instance fails as a whole ("table index is out of
// bounds"). (App code that replaces built-ins with throwing ones, or puts throwing
// setters on Object.prototype, is not defended against: see SECURITY.md.)
describe("JS built-ins the engine calls", () => {
  const sysStore = memoryStorage();
  // No `now` option: the engine reads the system clock (web-time, Date.now()).
  const sysOptions = { secret: SECRET, scope: "sysclock" };
  const sys = new OtpManager(sysStore, sysOptions);
  const realNow = Date.now;
  const CLOCKS = [
    ["-1 (fake timers before 1970)", () => -1, "INVALID_ARGUMENT"],
    ["-1e300", () => -1e300, "INVALID_ARGUMENT"],
    ["NaN", () => NaN, "INVALID_ARGUMENT"],
  ];
  for (const [name, fake, want] of CLOCKS) {
    hostile(`system clock: Date.now() ${name} → ${want}, engine unharmed`, async () => {
      const user = fresh("sys");
      await sys.create(user);
      const record = sysStore.get(sys.keyFor(user));
      Date.now = fake;
      try {
        // Far more rounds than the instance survived when each failure leaked.
        for (let i = 0; i < 400; i++) {
          for (const run of [() => sys.create(user), () => sys.check(user, "1234"), () => sys.getLatestOtp(user)]) {
            await expectCode(run, want, name);
          }
        }
      } finally {
        Date.now = realNow;
      }
      assert.equal(sysStore.get(sys.keyFor(user)), record, "nothing written with a bad system clock");
      await healthy(sys);
      await healthy(new OtpManager(memoryStorage(), sysOptions)); // the pooled engine
    });
  }

  // The engine finds out on its first string check whether the runtime has isWellFormed,
  // so this runs on a wasm instance of its own, loaded after the method is removed.
  hostile("a runtime without String.prototype.isWellFormed: users and option strings are still checked", async () => {
    const saved = Object.getOwnPropertyDescriptor(String.prototype, "isWellFormed");
    delete String.prototype.isWellFormed;
    try {
      const glue = await import("../../pkg/wasm/edge_otp.js?without-isWellFormed");
      glue.initSync({ module: readFileSync(new URL("../../pkg/wasm/edge_otp_bg.wasm", import.meta.url)) });
      for (let i = 0; i < 2; i++) { // the first check finds the method missing, the next ones know
        glue.checkUser("ada@example.com");
        glue.checkUser("emoji \u{1F600} user"); // a surrogate pair is well-formed
        for (const bad of ["lone \uD800 surrogate", "x\uDC00"]) {
          assert.throws(() => glue.checkUser(bad), (e) => e.code === "INVALID_ARGUMENT" && e.argument === "user", bad);
        }
      }
      for (const [field, options] of [["secret", { secret: `${SECRET}\uD800` }], ["alphabet", { secret: SECRET, alphabet: "ab\uDFFF" }]]) {
        assert.throws(() => glue.configure(options), (e) => e.code === "INVALID_CONFIG" && e.field === field, field);
      }
      glue.configure({ secret: `${SECRET}\u{1F600}`, alphabet: "0123456789" }).engine.free();
    } finally {
      Object.defineProperty(String.prototype, "isWellFormed", saved);
    }
  });
});

// ---------------------------------------------------------------------------------------
describe("WebAssembly memory", () => {
  const memory = () => wasmExports().memory.buffer.byteLength;
  test("a submitted code or link token is wiped from wasm memory once checked", async () => {
    // Each a guess no code or token of this test can be (a right one would be the code).
    const user = fresh("wipe");
    await otp.create(user, { link: true });
    const inMemory = (s) => Buffer.from(wasmExports().memory.buffer).includes(Buffer.from(s));
    const code = "9".repeat(7) + "-" + "8".repeat(7); // 16 units: longer than any code here, so only the guess
    const token = "wipe-me_" + "Q".repeat(14); // the length of a token
    assert.equal((await otp.check(user, code)).reason, "invalid");
    assert.equal((await otp.checkToken(user, token)).reason, "invalid");
    assert.equal(inMemory(code), false, "the code's copy");
    assert.equal(inMemory(token), false, "the token's copy");
  });
  test("1 MiB user ids, codes, stored values, secrets, alphabets and key prefixes never reach wasm", async () => {
    await healthy();
    const before = memory();
    const big = "a".repeat(MiB);
    const user = fresh("mem");
    await otp.create(user);
    for (let i = 0; i < 8; i++) {
      await expectCode(() => otp.create(big), "INVALID_ARGUMENT", "user");
      await expectCode(() => otp.check(big, "1234"), "INVALID_ARGUMENT", "user");
      const v = await otp.check(user, big);
      assert.equal(v.reason, "invalid", "a 1 MiB guess is a wrong guess");
      await otp.resetAttempts(user);
      const key = otp.keyFor(fresh("mem"));
      inner.put(key, big);
      await expectCode(() => otp.getLatestOtp(key.slice("otp:default:".length)), "CORRUPT_RECORD", "stored");
      for (const options of [{ secret: big }, { secret: SECRET, alphabet: big }, { secret: SECRET, keyPrefix: big }]) {
        assert.throws(() => new OtpManager(memoryStorage(), options), (e) => e.code === "INVALID_CONFIG");
      }
    }
    await healthy();
    console.log(`wasm memory: ${before} bytes before, ${memory()} after 8 rounds of 1 MiB inputs`);
    assert.equal(memory(), before, "wasm memory grew: a 1 MiB input crossed into wasm");
  });
  // Runs after the test above on purpose: memory never shrinks.
  test("a 1 MiB scope is rejected before crossing into wasm", {
  }, () => {
    const before = memory();
    assert.throws(() => new OtpManager(memoryStorage(), { secret: SECRET, scope: "s".repeat(MiB) }), (e) => e.code === "INVALID_CONFIG");
    console.log(`wasm memory after one 1 MiB scope: ${before} → ${memory()} bytes`);
    assert.equal(memory(), before);
  });
  test("repeated 1 MiB scopes: wasm memory growth is bounded (allocations are freed)", async () => {
    for (let i = 0; i < 2; i++) assert.throws(() => new OtpManager(memoryStorage(), { secret: SECRET, scope: "s".repeat(MiB) }));
    const before = memory();
    for (let i = 0; i < 20; i++) {
      assert.throws(() => new OtpManager(memoryStorage(), { secret: SECRET, scope: "s".repeat(MiB) }), (e) => e.code === "INVALID_CONFIG");
    }
    await healthy();
    console.log(`wasm memory across 20 more 1 MiB scopes: ${before} → ${memory()} bytes`);
    assert.equal(memory(), before);
  });
});

test("hostile case count", () => {
  console.log(`hostile cases run: ${caseCount}`);
  assert.ok(caseCount >= 60);
});
