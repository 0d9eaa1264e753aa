// The edge-otp conformance suite: every behaviour of the package, through the public JS
// API, against whatever storage it is given (in-memory maps here; Workers KV, Durable
// Objects and Redis elsewhere).
//
// Independent of node:test: `cases` is a list of `{ name, run, needsCompareAndSwap? }`
// whose `run(ctx)` takes
//   ctx.makeStorage  async () => storage  (a fresh or shared store; users are unique per
//                    case, so a shared store is fine)
//   ctx.load         async () => ({ OtpManager, OtpError }) from the entry under test
//                    (default: pkg/node.js)
//   ctx.assert       node:assert/strict or anything with ok/equal/notEqual/deepEqual
//                    (default: a small built-in one)
//   ctx.secret       optional app secret (default: a fixed test secret)
//   ctx.skip         optional (reason) => void, called before a case returns early
// Every case wraps the given storage in a recording proxy (stores.mjs `counting`) that
// forwards to it, so call counts, keys, stored values and write options are checked on
// every store. Cases marked `needsCompareAndSwap` check exact counting under concurrency
// and return early (calling ctx.skip) on stores without compareAndSwap.
//
// With node:test:
//   import { test } from "node:test";
//   runConformance(test, async () => myStore(), { load: () => import("edge-otp") });
// Options: load, secret, assert, compareAndSwap (false: skip the CAS-only cases up front),
// skip (array of case names), todo ({ [case name]: reason }), timeout (ms per case).

import { counting, yielding } from "./stores.mjs";

const DEFAULT_SECRET = "edge-otp conformance secret 0123456789";
/** 2030-01-01T00:00:00Z: fixed start of the injected clock. */
export const T0 = 1_893_456_000_000;
const DIGITS = "0123456789";
const HOUR = 3_600_000;

const RUN = Math.random().toString(36).slice(2, 8);
let seq = 0;
/** A user id unique to this process and case, so that shared stores work. */
const uid = (tag = "u") => `${tag}-${RUN}-${++seq}@example.com`;

const defaultLoad = () => import("../../pkg/node.js");

// ---------------------------------------------------------------- helpers

function isDeepEqual(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && isDeepEqual(a[k], b[k]));
}

/** A minimal strict assert for runtimes without node:assert. */
export const miniAssert = {
  ok(v, message) {
    if (!v) throw new Error(message ?? `expected a truthy value, got ${String(v)}`);
  },
  equal(a, b, message) {
    if (!Object.is(a, b)) throw new Error(message ?? `expected ${show(b)}, got ${show(a)}`);
  },
  notEqual(a, b, message) {
    if (Object.is(a, b)) throw new Error(message ?? `expected anything but ${show(b)}`);
  },
  deepEqual(a, b, message) {
    if (!isDeepEqual(a, b)) throw new Error(message ?? `expected ${show(b)}, got ${show(a)}`);
  },
};

function show(v) {
  try {
    return typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function makeClock(start = T0) {
  const clock = {
    t: start,
    now: () => clock.t,
    advance(ms) {
      clock.t += ms;
      return clock.t;
    },
    set(t) {
      clock.t = t;
      return t;
    },
  };
  return clock;
}

/**
 * Loads the API, makes a store, wraps it in a recording proxy and builds a manager
 * with an injected clock. `env.manager(options)` builds more managers on the same
 * store and clock.
 */
async function setup(ctx, options = {}) {
  const assert = ctx.assert ?? miniAssert;
  const api = await (ctx.load ?? defaultLoad)();
  const inner = await ctx.makeStorage();
  const storage = counting(inner);
  const clock = makeClock();
  const secret = ctx.secret ?? DEFAULT_SECRET;
  const manager = (opts = {}) => new api.OtpManager(storage, { secret, now: clock.now, ...opts });
  const otp = manager(options);
  /** Runs `fn` and reports its result with the storage calls it made. */
  async function calls(fn) {
    const before = storage.calls.length;
    const result = await fn();
    const made = storage.calls.slice(before);
    return {
      result,
      gets: made.filter((c) => c.op === "get").length,
      writes: made.filter((c) => c.op !== "get").length,
      made,
    };
  }
  /** Asserts `fn` makes exactly `gets` reads and `writes` writes; returns its result. */
  async function expectCalls(label, gets, writes, fn) {
    const r = await calls(fn);
    assert.equal(r.gets, gets, `${label}: expected ${gets} get(s), got ${r.gets}`);
    assert.equal(r.writes, writes, `${label}: expected ${writes} write(s), got ${r.writes}`);
    return r.result;
  }
  /** Asserts `fn` rejects with an OtpError of `code`; returns the error. */
  async function rejects(fn, code, label = code) {
    let err;
    let value;
    try {
      value = await fn();
    } catch (e) {
      err = e;
    }
    assert.ok(err !== undefined, `${label}: expected OtpError ${code}, got ${show(value)}`);
    assert.ok(err instanceof api.OtpError, `${label}: expected an OtpError, got ${String(err)}`);
    assert.equal(err.code, code, `${label}: expected ${code}, got ${err.code} (${err.message})`);
    return err;
  }
  return { api, assert, inner, storage, clock, secret, otp, manager, calls, expectCalls, rejects, user: uid };
}

/** A code of the same shape as `code` that is certainly wrong. */
function wrongCode(code, alphabet = DIGITS) {
  const i = alphabet.indexOf(code[0]);
  return alphabet[(i + 1) % alphabet.length] + code.slice(1);
}

const verdict = (reason, attemptsLeft = 0, extra = {}) => ({
  ok: reason === "verified",
  reason,
  attemptsLeft,
  ...extra,
});

const settle = (promises) => Promise.allSettled(promises);

// ---------------------------------------------------------------- cases

export const cases = [
  {
    name: "create/generate { ttlSeconds }: that lifetime, up to the policy's; unknown per-call keys are refused",
    async run(ctx) {
      const { assert, otp, user, clock, rejects, expectCalls } = await setup(ctx, { resendCooldownSeconds: 0 });
      const u = user();
      const a = await otp.create(u, { ttlSeconds: 60 });
      assert.equal(a.expiresAt, a.createdAt + 60_000);
      clock.set(a.expiresAt - 1);
      assert.equal((await otp.getLatestOtp(u)).status, "active");
      clock.set(a.expiresAt);
      assert.deepEqual(await otp.check(u, a.code), verdict("expired"));
      const g = await otp.generate(u, { ttlSeconds: 1 });
      assert.equal(g.expiresAt, g.createdAt + 1000);
      for (const bad of [{ ttlSeconds: 0 }, { ttlSeconds: 3601 }, { ttlSeconds: 1.5 }, { ttlSeconds: "60" }, { ttl: 60 }, { link: 1 }, null, "60"]) {
        await expectCalls("bad per-call options", 0, 0, () => rejects(() => otp.create(user(), bad), "INVALID_ARGUMENT", JSON.stringify(bad)));
      }
      // An unknown per-call key is named (as the constructor names an unknown option).
      const typo = await rejects(() => otp.create(user(), { ttl: 60 }), "INVALID_ARGUMENT");
      assert.equal(typo.argument, "options");
      assert.ok(typo.message.endsWith(": ttl"), typo.message);
      const peek = await rejects(() => otp.check(user(), "1234", { consumed: false }), "INVALID_ARGUMENT");
      assert.ok(peek.message.endsWith(": consumed"), peek.message);
      const long = await rejects(() => otp.create(user(), { [`k${"y".repeat(10_000)}`]: 1 }), "INVALID_ARGUMENT");
      assert.ok(long.message.endsWith(": (a long key)") && long.message.length < 200, long.message.slice(0, 200));
      // A key that could carry a line break into a log is not shown.
      const odd = await rejects(() => otp.create(user(), { "ttl\nFORGED log line": 1 }), "INVALID_ARGUMENT");
      assert.ok(odd.message.endsWith(": (a key with other characters)") && !odd.message.includes("\n"), odd.message);
    },
  },
  {
    name: "check/verify { consume: false }: a right code stays active, a wrong one spends an attempt",
    async run(ctx) {
      const { assert, otp, user, expectCalls } = await setup(ctx);
      const u = user();
      const { code } = await otp.create(u);
      assert.deepEqual(await expectCalls("peek right", 1, 0, () => otp.check(u, code, { consume: false })), verdict("verified"));
      assert.equal(await otp.verify(u, code, { consume: false }), true);
      assert.deepEqual(await expectCalls("peek wrong", 1, 1, () => otp.check(u, wrongCode(code), { consume: false })), verdict("invalid", 2));
      assert.equal((await otp.getLatestOtp(u)).status, "active");
      assert.equal(await otp.verify(u, code), true, "a later consuming verify succeeds once");
      assert.equal(await otp.verify(u, code), false);
      assert.deepEqual(await otp.check(u, code, { consume: false }), verdict("used"));
    },
  },
  {
    name: "link tokens: one issuance with the code; either uses both; newer issuance supersedes; wrong token spends the budget only",
    async run(ctx) {
      const { assert, otp, user, clock, rejects, inner } = await setup(ctx, { resendCooldownSeconds: 0 });
      const u = user();
      const a = await otp.create(u, { link: true });
      assert.ok(/^[A-Za-z0-9_-]{22}$/.test(a.token), `token ${a.token}`);
      assert.equal((await otp.create(user())).token, undefined, "no token unless asked");
      assert.equal(await otp.verifyToken(u, a.token), true);
      assert.deepEqual(await otp.check(u, a.code), verdict("used"), "the code is used with it");
      assert.deepEqual(await otp.checkToken(u, a.token), verdict("used"));
      const b = await otp.create(u, { link: true });
      assert.notEqual(b.token, a.token);
      assert.equal(await otp.verify(u, b.code), true);
      assert.equal(await otp.verifyToken(u, b.token), false, "the token is used with the code");
      const c = await otp.generate(u, { link: true });
      const d = await otp.create(u, { link: true });
      assert.deepEqual(await otp.checkToken(u, c.token), verdict("invalid", 3), "superseded token: a wrong token");
      const wrong = await otp.checkToken(u, "A".repeat(22));
      assert.deepEqual(wrong, verdict("invalid", 3), "the code's attempts are untouched");
      assert.equal((await otp.getLatestOtp(u)).attempts, 0);
      assert.equal(await otp.verifyToken(u, d.token), true);
      await rejects(() => otp.checkToken(u, 42), "INVALID_ARGUMENT", "non-string token");
      assert.equal(await otp.verifyToken(u, "x".repeat(100_000)), false, "any string is a guess");
      // The 4-digit code can occur by chance inside the record's timestamps (T0 itself holds
      // "3456"), so it is looked for as a stored string, as browsers.test does; "codes are
      // never stored" checks substrings with 10-digit codes.
      for (const v of Object.values(Object.fromEntries([...(inner.map ?? new Map())]))) {
        assert.ok(typeof v !== "string" || (!v.includes(d.token) && v !== d.code && !v.includes(`"${d.code}"`)), "never stored");
      }
      clock.advance(1);
    },
  },
  {
    name: "link tokens: wrong tokens spend the failure budget until locked",
    async run(ctx) {
      const { assert, otp, user } = await setup(ctx, { failureLimit: { count: 3, windowSeconds: 600 } });
      const u = user();
      const a = await otp.create(u, { link: true });
      // The code's attempts stay at 3; attemptsLeft counts the budget down.
      for (const [i, left] of [2, 1, 0].entries()) {
        assert.deepEqual(await otp.checkToken(u, `${i}`.repeat(22)), verdict("invalid", left));
      }
      const locked = await otp.checkToken(u, a.token);
      assert.equal(locked.reason, "locked");
      assert.ok(locked.retryAfterMs > 0);
    },
  },
  {
    name: "onEvent: resetAttempts and invalidate that answer false but change the record still have their event",
    async run(ctx) {
      const { assert, manager, user, clock } = await setup(ctx);
      const events = [];
      const otp = manager({ scope: "audit2", onEvent: (e) => events.push(e), failureLimit: { count: 10, windowSeconds: 3600 } });
      const u = user();
      const a = await otp.create(u);
      for (let i = 0; i < 3; i++) await otp.check(u, wrongCode(a.code));
      assert.equal((await otp.getLatestOtp(u)).status, "exhausted");
      // Exhausted, so not active: false, yet it is revoked (an audit trail must show it).
      assert.equal(await otp.invalidate(u), false);
      assert.equal((await otp.getLatestOtp(u)).status, "superseded");
      // No current code: false, yet the failure budget (3 spent) is cleared.
      assert.equal(await otp.resetAttempts(u), false);
      // Now nothing is left to change: false and no event.
      assert.equal(await otp.resetAttempts(u), false);
      assert.equal(await otp.invalidate(u), false);
      await new Promise((r) => setTimeout(r, 0));
      assert.deepEqual(events.map((e) => e.type), ["issued", "invalid", "invalid", "invalid", "invalidated", "reset"]);
      assert.deepEqual(events.slice(-2), [
        { type: "invalidated", scope: "audit2", user: u, at: clock.t },
        { type: "reset", scope: "audit2", user: u, at: clock.t },
      ]);
    },
  },
  {
    name: "onEvent: once per operation after the write, never a code or token; onEventError gets its failures",
    async run(ctx) {
      const { assert, manager, user, clock } = await setup(ctx);
      const events = [];
      const failures = [];
      const otp = manager({
        scope: "audit",
        onEvent: (e) => {
          events.push(e);
          if (e.type === "reset") throw new Error("sink down");
          if (e.type === "verified") return Promise.reject(new Error("async sink down"));
          if (e.type === "invalidated") {
            // A thenable that is a function (not a Promise) rejects too.
            const sink = () => {};
            sink.then = (_resolve, reject) => reject(new Error("thenable sink down"));
            return sink;
          }
        },
        onEventError: (error, event) => failures.push([error.message, event.type]),
      });
      const u = user();
      const a = await otp.create(u, { link: true });
      await otp.check(u, wrongCode(a.code));
      await otp.getLatestOtp(u);
      await otp.create(u).catch(() => {});
      await otp.generate(u).catch(() => {});
      assert.equal(await otp.resetAttempts(u), true, "an onEvent exception does not change the answer");
      assert.equal(await otp.verify(u, a.code), true);
      // Admin calls that find nothing to do change nothing and have no event.
      assert.equal(await otp.invalidate(u), false);
      assert.equal(await otp.resetAttempts(user()), false);
      const v = user();
      await otp.create(v);
      assert.equal(await otp.invalidate(v), true);
      await new Promise((r) => setTimeout(r, 0));
      assert.deepEqual(events.map((e) => e.type), ["issued", "invalid", "rate_limited", "active_exists", "reset", "verified", "issued", "invalidated"]);
      assert.deepEqual(events.at(-1), { type: "invalidated", scope: "audit", user: v, at: clock.t });
      const [issued, invalid, limited] = events;
      assert.deepEqual(issued, { type: "issued", scope: "audit", user: u, at: clock.t, expiresAt: a.expiresAt });
      assert.deepEqual(invalid, { type: "invalid", scope: "audit", user: u, at: clock.t, attemptsLeft: 2 });
      assert.deepEqual(limited, { type: "rate_limited", scope: "audit", user: u, at: clock.t, retryAfterMs: 30_000, reason: "cooldown" });
      // Strings only in type, scope and user, numbers only in the time and count fields: no
      // field holds the code or the token. (Not a substring test on the JSON: a 4-digit
      // code can occur in a timestamp.)
      for (const e of events) {
        const text = JSON.stringify(e);
        for (const [key, value] of Object.entries(e)) {
          if (typeof value === "string") {
            assert.ok(["type", "scope", "user", "reason"].includes(key) && value !== a.code, `event leaks: ${text}`);
          } else {
            assert.ok(["at", "attemptsLeft", "retryAfterMs", "expiresAt"].includes(key), `event field ${key}: ${text}`);
            assert.equal(typeof value, "number", `event field ${key}: ${text}`);
          }
        }
        assert.ok(!text.includes(a.token), `event leaks the token: ${text}`);
      }
      assert.deepEqual(failures, [["sink down", "reset"], ["async sink down", "verified"], ["thenable sink down", "invalidated"]]);
    },
  },
  {
    name: "forget: deletes the record (and with it the limits) through delete; without delete, INVALID_CONFIG",
    async run(ctx) {
      const { assert, otp, user, inner, rejects, storage } = await setup(ctx);
      const u = user();
      const { code } = await otp.create(u);
      if (typeof inner.delete !== "function") {
        await rejects(() => otp.forget(user()), "INVALID_CONFIG", "forget without delete, no record: refused all the same");
        await rejects(() => otp.forget(u), "INVALID_CONFIG", "forget without delete");
        assert.equal(await otp.verify(u, code), true, "nothing changed");
        return;
      }
      await otp.create(u).catch(() => {}); // cooldown: limits are in the record
      assert.equal(await otp.forget(u), true);
      assert.equal(storage.calls.at(-1).op, "delete");
      assert.equal(await otp.getLatestOtp(u), null);
      assert.equal(await otp.forget(u), false);
      assert.ok((await otp.create(u)).code, "no cooldown left after erasure");
    },
  },
  {
    name: "forget: a \"forgotten\" event when a record was erased, none when there was none",
    async run(ctx) {
      const { assert, manager, user, inner, clock, rejects } = await setup(ctx);
      const events = [];
      const otp = manager({ scope: "erase", onEvent: (e) => events.push(e) });
      const u = user();
      await otp.create(u);
      if (typeof inner.delete !== "function") {
        await rejects(() => otp.forget(u), "INVALID_CONFIG", "forget without delete");
        assert.deepEqual(events.map((e) => e.type), ["issued"], "a refused forget has no event");
        return;
      }
      assert.equal(await otp.forget(u), true);
      assert.equal(await otp.forget(u), false);
      assert.equal(await otp.forget(user()), false);
      assert.deepEqual(events.map((e) => e.type), ["issued", "forgotten"]);
      assert.deepEqual(events[1], { type: "forgotten", scope: "erase", user: u, at: clock.t });
    },
  },
  {
    name: "normalizeUser \"email\": spellings of one address share one record and one budget",
    async run(ctx) {
      const { assert, manager, user, rejects } = await setup(ctx);
      const otp = manager({ normalizeUser: "email", failureLimit: { count: 10, windowSeconds: 3600 }, maxAttempts: 1000 });
      const base = user("ada").replace("ada", "ad\u00e9");
      const { code } = await otp.create(base);
      const variants = [
        base.toUpperCase(),
        ` ${base} `,
        base.normalize("NFD"),
        [...base].map((c) => (c >= "a" && c <= "z" ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join(""),
      ];
      assert.equal(otp.keyFor(variants[0]), otp.keyFor(base));
      // Idempotent: a client and its Durable Object may both apply it (NFKC makes a space
      // of U+00A8, so it trims after NFKC).
      for (const v of ["\u00a8a@x.com", " \u3000ada@example.com\u00a0", "\uff21da@\u2160.com"]) {
        const once = otp.keyFor(v);
        assert.equal(otp.keyFor(once.slice(once.lastIndexOf(":") + 1)), once, JSON.stringify(v));
      }
      let answered = 0;
      for (let round = 0; round < 5; round++) {
        for (const v of variants) {
          const r = await otp.check(v, wrongCode(code));
          if (r.reason === "invalid") answered++;
        }
      }
      assert.equal(answered, 10, "one budget for every spelling");
      const custom = manager({ scope: "custom", normalizeUser: (x) => String(x).split("+")[0] });
      const c = await custom.create("bob+1");
      assert.equal(await custom.verify("bob+2", c.code), true);
      // An async normaliser answers a Promise, not a user id: refused, and the message
      // says why (the caller passed a string).
      const asyncNormalizer = manager({ scope: "async", normalizeUser: async (x) => x });
      const e = await rejects(() => asyncNormalizer.create("bob"), "INVALID_ARGUMENT");
      assert.equal(e.argument, "user");
      assert.ok(/normalizeUser/.test(e.message), e.message);
    },
  },
  {
    name: "resendAvailableAt: create is refused exactly until then, and a used code has no cooldown",
    async run(ctx) {
      const { assert, otp, user, clock } = await setup(ctx, { resendCooldownSeconds: 45 });
      const u = user();
      const first = await otp.create(u);
      assert.equal(first.resendAvailableAt, first.createdAt + 45_000);
      clock.set(first.resendAvailableAt - 1);
      const early = await otp.create(u).then(() => null, (e) => e);
      assert.equal(early && early.code, "RATE_LIMITED");
      assert.equal(early.retryAfterMs, 1);
      assert.equal(early.reason, "cooldown");
      clock.set(first.resendAvailableAt);
      const second = await otp.create(u);
      assert.equal(await otp.verify(u, second.code), true);
      const latest = await otp.getLatestOtp(u);
      assert.equal(latest.status, "used");
      assert.equal(latest.resendAvailableAt, latest.createdAt, "no cooldown after use");
      assert.ok((await otp.create(u)).code);
    },
  },
  {
    name: "getLatestOtp: lockedUntil while the failure budget is spent, though the code has attempts left; attemptsLeft within the budget",
    async run(ctx) {
      const { assert, otp, user, clock } = await setup(ctx, { failureLimit: { count: 2, windowSeconds: 600 } });
      const u = user();
      const { code, createdAt, attemptsLeft } = await otp.create(u);
      const bad = wrongCode(code);
      assert.equal(attemptsLeft, 2, "3 attempts, but a budget of 2");
      assert.equal((await otp.getLatestOtp(u)).lockedUntil, undefined, "not locked");
      assert.equal((await otp.getLatestOtp(u)).attemptsLeft, 2);
      assert.equal(await otp.verify(u, bad), false);
      const firstFailure = clock.now();
      clock.set(firstFailure + 1_000);
      assert.deepEqual(await otp.check(u, bad), { ok: false, reason: "invalid", attemptsLeft: 0 });
      const locked = await otp.getLatestOtp(u);
      assert.equal(locked.lockedUntil, firstFailure + 600_000);
      assert.equal(locked.status, "active", "the code itself is not spent");
      assert.equal(locked.attempts, 2);
      assert.equal(locked.attemptsLeft, 0, "none while locked");
      assert.equal((await otp.check(u, code)).reason, "locked", "checks are refused until then");
      clock.set(locked.lockedUntil);
      const lifted = await otp.getLatestOtp(u);
      assert.equal(lifted.lockedUntil, undefined, "it lifts at lockedUntil");
      assert.equal(lifted.attemptsLeft, 1, "the code's own last attempt, the window closed");
      assert.ok(createdAt <= firstFailure);
    },
  },
  {
    name: "create: default code is 4 digits, attempts 0 of 3, expires 1 h after creation",
    async run(ctx) {
      const { assert, otp, user, clock } = await setup(ctx);
      const issued = await otp.create(user());
      assert.deepEqual(Object.keys(issued).sort(), ["attempts", "attemptsLeft", "code", "createdAt", "expiresAt", "maxAttempts", "resendAvailableAt"]);
      assert.equal(issued.resendAvailableAt, issued.createdAt + 30_000, "the default cooldown, reported by the core");
      assert.equal(typeof issued.code, "string");
      assert.ok(/^[0-9]{4}$/.test(issued.code), `code ${issued.code} is not 4 digits`);
      assert.equal(issued.createdAt, clock.t);
      assert.equal(issued.expiresAt, issued.createdAt + 3_600_000);
      assert.equal(issued.attempts, 0);
      assert.equal(issued.maxAttempts, 3);
    },
  },
  {
    name: "create: ttlSeconds and maxAttempts options shape the issued code",
    async run(ctx) {
      const { assert, otp, user, clock } = await setup(ctx, { ttlSeconds: 90, maxAttempts: 7 });
      clock.advance(123);
      const issued = await otp.create(user());
      assert.equal(issued.createdAt, T0 + 123);
      assert.equal(issued.expiresAt, T0 + 123 + 90_000);
      assert.equal(issued.maxAttempts, 7);
    },
  },
  {
    name: "check: verified for the right code, then used (ok false) and it never verifies again",
    async run(ctx) {
      const { assert, otp, user, expectCalls } = await setup(ctx);
      const u = user();
      const { code } = await otp.create(u);
      assert.deepEqual(await expectCalls("check right", 1, 1, () => otp.check(u, code)), verdict("verified"));
      assert.deepEqual(await expectCalls("check used", 1, 0, () => otp.check(u, code)), verdict("used"));
      assert.deepEqual(await expectCalls("wrong after used", 1, 0, () => otp.check(u, wrongCode(code))), verdict("used"));
      assert.equal(await otp.verify(u, code), false);
    },
  },
  {
    name: "check: invalid counts attemptsLeft down to 0, then exhausted even for the right code",
    async run(ctx) {
      const { assert, otp, user, expectCalls } = await setup(ctx);
      const u = user();
      const { code } = await otp.create(u);
      const bad = wrongCode(code);
      for (const left of [2, 1, 0]) {
        assert.deepEqual(await expectCalls(`wrong #${3 - left}`, 1, 1, () => otp.check(u, bad)), verdict("invalid", left));
      }
      assert.deepEqual(await expectCalls("wrong when exhausted", 1, 0, () => otp.check(u, bad)), verdict("exhausted"));
      assert.deepEqual(await expectCalls("right when exhausted", 1, 0, () => otp.check(u, code)), verdict("exhausted"));
      const latest = await otp.getLatestOtp(u);
      assert.equal(latest.attempts, 3);
      assert.equal(latest.status, "exhausted");
    },
  },
  {
    name: "check: maxAttempts 1 allows exactly one wrong guess",
    async run(ctx) {
      const { assert, otp, user } = await setup(ctx, { maxAttempts: 1 });
      const u = user();
      const { code } = await otp.create(u);
      assert.deepEqual(await otp.check(u, wrongCode(code)), verdict("invalid", 0));
      assert.deepEqual(await otp.check(u, code), verdict("exhausted"));
    },
  },
  {
    name: "check: expired exactly at expiresAt (injected clock), verifies 1 ms before",
    async run(ctx) {
      const { assert, otp, user, clock, expectCalls } = await setup(ctx, { ttlSeconds: 60 });
      const a = user("a");
      const b = user("b");
      const ia = await otp.create(a);
      const ib = await otp.create(b);
      assert.equal(ia.expiresAt, T0 + 60_000);
      clock.set(ia.expiresAt - 1);
      assert.deepEqual(await otp.check(a, ia.code), verdict("verified"));
      clock.set(ib.expiresAt);
      assert.deepEqual(await expectCalls("right at expiresAt", 1, 0, () => otp.check(b, ib.code)), verdict("expired"));
      assert.deepEqual(await expectCalls("wrong at expiresAt", 1, 0, () => otp.check(b, wrongCode(ib.code))), verdict("expired"));
      assert.equal(await otp.verify(b, ib.code), false);
      assert.equal((await otp.getLatestOtp(b)).attempts, 0, "an expired check spends no attempt");
    },
  },
  {
    name: "check: none for a user without a code, and nothing is written",
    async run(ctx) {
      const { assert, otp, user, expectCalls } = await setup(ctx);
      const u = user();
      assert.deepEqual(await expectCalls("check none", 1, 0, () => otp.check(u, "1234")), verdict("none"));
      assert.equal(await expectCalls("verify none", 1, 0, () => otp.verify(u, "1234")), false);
      assert.equal(await otp.getLatestOtp(u), null);
    },
  },
  {
    name: "check: locked with retryAfterMs once the failure budget is spent; allowed after exactly that wait",
    async run(ctx) {
      const { assert, otp, user, clock, expectCalls, rejects } = await setup(ctx, {
        maxAttempts: 5,
        failureLimit: { count: 3, windowSeconds: 600 },
      });
      const u = user();
      const { code } = await otp.create(u);
      const bad = wrongCode(code);
      // The code allows 5 guesses, the budget 3: attemptsLeft counts the budget down, so
      // the UI's "0 left" comes before "locked", not "2 left".
      for (const left of [2, 1, 0]) {
        clock.advance(1000);
        assert.deepEqual(await otp.check(u, bad), verdict("invalid", left));
      }
      // The window opened at the first failure (T0 + 1000) and lasts 600 s.
      clock.advance(1000);
      const expected = T0 + 1000 + 600_000 - clock.t;
      assert.deepEqual(
        await expectCalls("locked (right code)", 1, 0, () => otp.check(u, code)),
        verdict("locked", 0, { retryAfterMs: expected }),
      );
      assert.deepEqual(await expectCalls("locked (wrong code)", 1, 0, () => otp.check(u, bad)), verdict("locked", 0, { retryAfterMs: expected }));
      assert.equal(await otp.verify(u, code), false);
      const err = await rejects(() => otp.create(u), "RATE_LIMITED", "create while locked");
      assert.equal(err.retryAfterMs, expected);
      clock.advance(expected - 1);
      assert.deepEqual(await otp.check(u, code), verdict("locked", 0, { retryAfterMs: 1 }));
      clock.advance(1);
      assert.deepEqual(await otp.check(u, code), verdict("verified"));
    },
  },
  {
    name: "verify: true for the right code, false for wrong, used and unknown",
    async run(ctx) {
      const { assert, otp, user } = await setup(ctx);
      const u = user();
      const { code } = await otp.create(u);
      assert.equal(await otp.verify(u, wrongCode(code)), false);
      assert.equal(await otp.verify(u, code), true);
      assert.equal(await otp.verify(u, code), false);
      assert.equal(await otp.verify(user(), code), false);
    },
  },
  {
    name: "generate: issues when there is no code; ACTIVE_OTP_EXISTS with expiresAt while active, writing nothing",
    async run(ctx) {
      const { assert, otp, user, clock, expectCalls, rejects } = await setup(ctx);
      const u = user();
      const issued = await expectCalls("generate first", 1, 1, () => otp.generate(u));
      assert.ok(/^[0-9]{4}$/.test(issued.code));
      assert.equal(issued.createdAt, T0);
      assert.equal(issued.expiresAt, T0 + HOUR);
      assert.equal(issued.attempts, 0);
      assert.equal(issued.maxAttempts, 3);
      clock.advance(HOUR / 2);
      const before = await otp.getLatestOtp(u);
      const err = await expectCalls("generate while active", 1, 0, () => rejects(() => otp.generate(u), "ACTIVE_OTP_EXISTS"));
      assert.equal(err.expiresAt, issued.expiresAt);
      // One wrong guess leaves it active: still refused.
      await otp.check(u, wrongCode(issued.code));
      await rejects(() => otp.generate(u), "ACTIVE_OTP_EXISTS", "after a wrong guess");
      const after = await otp.getLatestOtp(u);
      assert.deepEqual([after.attempts, after.attemptsLeft], [1, 2]);
      assert.deepEqual({ ...after, attempts: 0, attemptsLeft: 3 }, before);
      assert.equal(await otp.verify(u, issued.code), true);
    },
  },
  {
    name: "generate during a lockout: RATE_LIMITED locked with retryAfterMs (the active code cannot verify), writing nothing; ACTIVE_OTP_EXISTS once it ends",
    async run(ctx) {
      const { assert, otp, user, clock, expectCalls, rejects } = await setup(ctx, {
        resendCooldownSeconds: 0,
        failureLimit: { count: 2, windowSeconds: 600 },
      });
      const u = user();
      const issued = await otp.generate(u);
      await otp.check(u, wrongCode(issued.code));
      clock.advance(1000);
      await otp.check(u, wrongCode(issued.code));
      clock.advance(1000);
      const err = await expectCalls("generate while locked", 1, 0, () => rejects(() => otp.generate(u), "RATE_LIMITED"));
      assert.equal(err.reason, "locked");
      assert.equal(err.retryAfterMs, 600_000 - 2000);
      assert.equal((await otp.getLatestOtp(u)).status, "active", "the code is still active");
      clock.advance(600_000 - 2000);
      const again = await rejects(() => otp.generate(u), "ACTIVE_OTP_EXISTS", "after the lockout");
      assert.equal(again.expiresAt, issued.expiresAt);
      assert.equal(await otp.verify(u, issued.code), true);
    },
  },
  {
    name: "generate: issues a new code once the current one is expired, used, exhausted or invalidated",
    async run(ctx) {
      const { assert, otp, user, clock } = await setup(ctx, { resendCooldownSeconds: 0, ttlSeconds: 60 });
      // expired
      const a = user("expired");
      const a1 = await otp.generate(a);
      clock.advance(60_000);
      const a2 = await otp.generate(a);
      assert.notEqual(a2.code, a1.code);
      assert.equal(a2.createdAt, clock.t);
      assert.equal(await otp.verify(a, a2.code), true);
      // used
      const b = user("used");
      const b1 = await otp.generate(b);
      assert.equal(await otp.verify(b, b1.code), true);
      const b2 = await otp.generate(b);
      assert.equal(await otp.verify(b, b2.code), true);
      // exhausted
      const c = user("exhausted");
      const c1 = await otp.generate(c);
      for (let i = 0; i < 3; i++) await otp.check(c, wrongCode(c1.code));
      const c2 = await otp.generate(c);
      assert.equal(c2.attempts, 0);
      assert.equal(await otp.verify(c, c2.code), true);
      // invalidated
      const d = user("invalidated");
      const d1 = await otp.generate(d);
      assert.equal(await otp.invalidate(d), true);
      const d2 = await otp.generate(d);
      assert.notEqual(d2.code, d1.code);
      assert.equal(await otp.verify(d, d1.code), false);
      assert.equal(await otp.verify(d, d2.code), true);
    },
  },
  {
    name: "create supersedes: the previous code never verifies again",
    async run(ctx) {
      const { assert, otp, user } = await setup(ctx, { resendCooldownSeconds: 0 });
      const u = user();
      const first = await otp.create(u);
      const second = await otp.create(u);
      assert.notEqual(second.code, first.code, "consecutive codes differ");
      assert.deepEqual(await otp.check(u, first.code), verdict("invalid", 2));
      assert.equal(await otp.verify(u, second.code), true);
      assert.deepEqual(await otp.check(u, first.code), verdict("used"));
      const third = await otp.create(u);
      assert.equal(await otp.verify(u, first.code), false);
      assert.equal(await otp.verify(u, second.code), false);
      assert.equal(await otp.verify(u, third.code), true);
    },
  },
  {
    name: "create: a new code has fresh attempts even when the previous one was exhausted",
    async run(ctx) {
      const { assert, otp, user } = await setup(ctx, { resendCooldownSeconds: 0 });
      const u = user();
      const first = await otp.create(u);
      for (let i = 0; i < 3; i++) await otp.check(u, wrongCode(first.code));
      const second = await otp.create(u);
      assert.equal(second.attempts, 0);
      assert.deepEqual(await otp.check(u, wrongCode(second.code)), verdict("invalid", 2));
      assert.equal(await otp.verify(u, second.code), true);
    },
  },
  {
    name: "getLatestOtp: null, then active / expired / exhausted / used / superseded, never writing",
    async run(ctx) {
      const { assert, otp, user, clock, expectCalls } = await setup(ctx, { ttlSeconds: 120 });
      const latest = (u) => expectCalls("getLatestOtp", 1, 0, () => otp.getLatestOtp(u));
      assert.equal(await latest(user()), null);

      const a = user("active");
      const ia = await otp.create(a);
      assert.deepEqual(await latest(a), { ...ia, status: "active" });
      await otp.check(a, wrongCode(ia.code));
      assert.deepEqual(await latest(a), { ...ia, attempts: 1, attemptsLeft: 2, status: "active" });
      clock.set(ia.expiresAt - 1);
      assert.equal((await latest(a)).status, "active");
      clock.set(ia.expiresAt);
      assert.deepEqual(await latest(a), { ...ia, attempts: 1, attemptsLeft: 0, status: "expired" }, "none once expired");

      clock.set(T0);
      const b = user("exhausted");
      const ib = await otp.create(b);
      for (let i = 0; i < 3; i++) await otp.check(b, wrongCode(ib.code));
      assert.deepEqual(await latest(b), { ...ib, attempts: 3, attemptsLeft: 0, status: "exhausted" });

      const c = user("used");
      const ic = await otp.create(c);
      assert.equal(await otp.verify(c, ic.code), true);
      assert.deepEqual(await latest(c), { ...ic, status: "used", attemptsLeft: 0, resendAvailableAt: ic.createdAt });
      clock.set(ic.expiresAt + 1);
      assert.equal((await latest(c)).status, "used", "used wins over expired");

      clock.set(T0);
      const d = user("superseded");
      const id = await otp.create(d);
      assert.equal(await otp.invalidate(d), true);
      assert.deepEqual(await latest(d), { ...id, status: "superseded", attemptsLeft: 0 });
    },
  },
  {
    name: "resetAttempts: false without a code; true and clears attempts on the current code",
    async run(ctx) {
      const { assert, otp, user, clock, expectCalls } = await setup(ctx, { resendCooldownSeconds: 0 });
      assert.equal(await expectCalls("reset none", 1, 0, () => otp.resetAttempts(user())), false);

      const u = user();
      const { code } = await otp.create(u);
      assert.equal(await expectCalls("reset unchanged", 1, 0, () => otp.resetAttempts(u)), true);
      await otp.check(u, wrongCode(code));
      await otp.check(u, wrongCode(code));
      assert.equal(await expectCalls("reset after 2 wrong", 1, 1, () => otp.resetAttempts(u)), true);
      assert.equal((await otp.getLatestOtp(u)).attempts, 0);
      assert.deepEqual(await otp.check(u, wrongCode(code)), verdict("invalid", 2));

      // An exhausted, unexpired code verifies again after a reset.
      await otp.check(u, wrongCode(code));
      await otp.check(u, wrongCode(code));
      assert.deepEqual(await otp.check(u, code), verdict("exhausted"));
      assert.equal(await otp.resetAttempts(u), true);
      assert.equal((await otp.getLatestOtp(u)).status, "active");
      assert.equal(await otp.verify(u, code), true);
      assert.equal(await expectCalls("reset after used", 1, 0, () => otp.resetAttempts(u)), false);

      // An expired code is still the current one: true, but it stays expired.
      const e = user("expired");
      const ie = await otp.create(e);
      await otp.check(e, wrongCode(ie.code));
      clock.set(ie.expiresAt);
      assert.equal(await otp.resetAttempts(e), true);
      assert.deepEqual(await otp.getLatestOtp(e), { ...ie, status: "expired", attemptsLeft: 0 });
      assert.deepEqual(await otp.check(e, ie.code), verdict("expired"));

      // After invalidate there is no current code.
      clock.set(T0);
      const r = user("revoked");
      await otp.create(r);
      await otp.invalidate(r);
      assert.equal(await otp.resetAttempts(r), false);
    },
  },
  {
    name: "resetAttempts: clears the failure budget (unlocks)",
    async run(ctx) {
      const { assert, otp, user, clock } = await setup(ctx, {
        resendCooldownSeconds: 0,
        maxAttempts: 2,
        failureLimit: { count: 3, windowSeconds: 3600 },
      });
      const u = user();
      const first = await otp.create(u);
      await otp.check(u, wrongCode(first.code));
      await otp.check(u, wrongCode(first.code));
      clock.advance(10);
      const second = await otp.create(u);
      // The fresh code allows 2 guesses; the budget had 1 left, now none.
      assert.deepEqual(await otp.check(u, wrongCode(second.code)), verdict("invalid", 0));
      const locked = await otp.check(u, second.code);
      assert.equal(locked.reason, "locked");
      assert.equal(await otp.resetAttempts(u), true);
      assert.deepEqual(await otp.check(u, second.code), verdict("verified"));
    },
  },
  {
    name: "invalidate: true only for an active code; the code then answers none and shows superseded",
    async run(ctx) {
      const { assert, otp, user, clock, expectCalls } = await setup(ctx, { ttlSeconds: 60 });
      assert.equal(await expectCalls("invalidate none", 1, 0, () => otp.invalidate(user())), false);

      const u = user();
      const { code } = await otp.create(u);
      assert.equal(await expectCalls("invalidate active", 1, 1, () => otp.invalidate(u)), true);
      assert.deepEqual(await expectCalls("check revoked", 1, 0, () => otp.check(u, code)), verdict("none"));
      assert.equal(await otp.verify(u, code), false);
      assert.equal((await otp.getLatestOtp(u)).status, "superseded");
      assert.equal(await expectCalls("invalidate again", 1, 0, () => otp.invalidate(u)), false);

      // Exhausted, unexpired: revoked too (answer false), so reset cannot revive it.
      const x = user("exhausted");
      const ix = await otp.create(x);
      for (let i = 0; i < 3; i++) await otp.check(x, wrongCode(ix.code));
      assert.equal(await expectCalls("invalidate exhausted", 1, 1, () => otp.invalidate(x)), false);
      assert.equal((await otp.getLatestOtp(x)).status, "superseded");
      assert.equal(await otp.resetAttempts(x), false);
      assert.equal(await otp.verify(x, ix.code), false);

      // Used and expired codes: false, nothing written.
      const used = user("used");
      const iu = await otp.create(used);
      await otp.verify(used, iu.code);
      assert.equal(await expectCalls("invalidate used", 1, 0, () => otp.invalidate(used)), false);
      assert.equal((await otp.getLatestOtp(used)).status, "used");
      const old = user("expired");
      const io = await otp.create(old);
      clock.set(io.expiresAt);
      assert.equal(await expectCalls("invalidate expired", 1, 0, () => otp.invalidate(old)), false);
      assert.equal((await otp.getLatestOtp(old)).status, "expired");
    },
  },
  {
    name: "resend cooldown: RATE_LIMITED with retryAfterMs, allowed after exactly that wait",
    async run(ctx) {
      const { assert, otp, user, clock, expectCalls, rejects, manager } = await setup(ctx);
      const u = user();
      const first = await otp.create(u);
      let err = await expectCalls("create in cooldown", 1, 0, () => rejects(() => otp.create(u), "RATE_LIMITED"));
      assert.equal(err.retryAfterMs, 30_000);
      clock.advance(12_345);
      err = await rejects(() => otp.create(u), "RATE_LIMITED");
      assert.equal(err.retryAfterMs, 30_000 - 12_345);
      clock.advance(err.retryAfterMs - 1);
      err = await rejects(() => otp.create(u), "RATE_LIMITED");
      assert.equal(err.retryAfterMs, 1);
      clock.advance(1);
      const second = await otp.create(u);
      assert.equal(second.createdAt, T0 + 30_000);
      assert.notEqual(second.code, first.code);
      assert.equal(await otp.verify(u, first.code), false);

      // A used code does not hold back the next one.
      assert.equal(await otp.verify(u, second.code), true);
      const third = await otp.create(u);
      assert.equal(third.createdAt, clock.t);

      // An exhausted (unused) code does.
      const x = user("exhausted");
      const ix = await otp.create(x);
      for (let i = 0; i < 3; i++) await otp.check(x, wrongCode(ix.code));
      await rejects(() => otp.create(x), "RATE_LIMITED", "exhausted code in cooldown");

      // Custom cooldown, and 0 = off.
      const five = manager({ resendCooldownSeconds: 5 });
      const v = user("five");
      await five.create(v);
      err = await rejects(() => five.create(v), "RATE_LIMITED");
      assert.equal(err.retryAfterMs, 5000);
      clock.advance(5000);
      await five.create(v);
      const off = manager({ resendCooldownSeconds: 0 });
      const w = user("off");
      await off.create(w);
      await off.create(w);
    },
  },
  {
    name: "issue limit: RATE_LIMITED once the window is full, allowed when it closes; null = unlimited",
    async run(ctx) {
      const { assert, otp, user, clock, rejects, expectCalls, manager } = await setup(ctx, {
        resendCooldownSeconds: 0,
        issueLimit: { count: 3, windowSeconds: 100 },
      });
      const u = user();
      for (let i = 0; i < 3; i++) {
        await otp.create(u);
        clock.advance(1000);
      }
      const err = await expectCalls("4th create", 1, 0, () => rejects(() => otp.create(u), "RATE_LIMITED"));
      assert.equal(err.retryAfterMs, T0 + 100_000 - clock.t);
      const latest = await otp.getLatestOtp(u);
      assert.equal(latest.status, "active", "a refused create leaves the current code alone");
      clock.advance(err.retryAfterMs - 1);
      await rejects(() => otp.create(u), "RATE_LIMITED", "1 ms early");
      clock.advance(1);
      const fresh = await otp.create(u);
      assert.equal(await otp.verify(u, latest.code), false);
      assert.equal(await otp.verify(u, fresh.code), true);
      // The new window opened at that create: two more fit, the third does not.
      await otp.create(u);
      await otp.create(u);
      await rejects(() => otp.create(u), "RATE_LIMITED", "new window full");

      // generate counts against the same limit.
      const g = user("generate");
      for (let i = 0; i < 3; i++) {
        const c = await otp.generate(g);
        await otp.verify(g, c.code);
      }
      await rejects(() => otp.generate(g), "RATE_LIMITED", "generate over the limit");

      const unlimited = manager({ resendCooldownSeconds: 0, issueLimit: null });
      const n = user("unlimited");
      for (let i = 0; i < 12; i++) await unlimited.create(n);
    },
  },
  {
    name: "failure budget: not reset by a new code, cleared by a success",
    async run(ctx) {
      const { assert, otp, user, clock, rejects } = await setup(ctx, {
        resendCooldownSeconds: 0,
        failureLimit: { count: 4, windowSeconds: 3600 },
      });
      const u = user();
      const first = await otp.create(u);
      for (const left of [2, 1, 0]) assert.deepEqual(await otp.check(u, wrongCode(first.code)), verdict("invalid", left));
      clock.advance(10);
      const second = await otp.create(u);
      // A fresh code's own 3 guesses do not lift the budget's last one.
      assert.deepEqual(await otp.check(u, wrongCode(second.code)), verdict("invalid", 0));
      const locked = await otp.check(u, second.code);
      assert.deepEqual(locked, verdict("locked", 0, { retryAfterMs: T0 + HOUR - clock.t }));
      const err = await rejects(() => otp.create(u), "RATE_LIMITED", "create while locked");
      assert.equal(err.retryAfterMs, locked.retryAfterMs);
      clock.set(T0 + HOUR);
      assert.deepEqual(await otp.check(u, second.code), verdict("verified"));

      // A success clears the budget: three more failures do not lock.
      const v = user("cleared");
      const a = await otp.create(v);
      for (let i = 0; i < 3; i++) await otp.check(v, wrongCode(a.code));
      const b = await otp.create(v);
      assert.equal(await otp.verify(v, b.code), true);
      const c = await otp.create(v);
      for (const left of [2, 1, 0]) assert.deepEqual(await otp.check(v, wrongCode(c.code)), verdict("invalid", left));
      const d = await otp.create(v);
      assert.deepEqual(await otp.check(v, d.code), verdict("verified"));
    },
  },
  {
    name: "failure budget: failureLimit null never locks",
    async run(ctx) {
      const { assert, otp, user } = await setup(ctx, { resendCooldownSeconds: 0, failureLimit: null, maxAttempts: 5 });
      const u = user();
      for (let round = 0; round < 4; round++) {
        const { code } = await otp.create(u);
        for (let i = 0; i < 5; i++) assert.equal((await otp.check(u, wrongCode(code))).reason, "invalid");
      }
      const { code } = await otp.create(u);
      assert.equal(await otp.verify(u, code), true);
    },
  },
  {
    name: "scopes are independent: two managers (login, reset) on the same store",
    async run(ctx) {
      const { assert, user, manager, storage } = await setup(ctx);
      const login = manager({ scope: "login" });
      const reset = manager({ scope: "reset" });
      const u = user();
      storage.reset();
      const l = await login.create(u);
      const r = await reset.create(u);
      assert.deepEqual(storage.writes().map((c) => c.key), [`otp:login:${u}`, `otp:reset:${u}`]);
      for (let i = 0; i < 3; i++) await login.check(u, wrongCode(l.code));
      assert.equal((await login.getLatestOtp(u)).status, "exhausted");
      assert.deepEqual(await reset.getLatestOtp(u), { ...r, status: "active" });
      // login's cooldown does not hold back reset once reset's code is used.
      assert.equal(await reset.verify(u, r.code), true);
      await reset.create(u);
      let refused;
      try {
        await login.create(u);
      } catch (e) {
        refused = e.code;
      }
      assert.equal(refused, "RATE_LIMITED");
      assert.equal(await reset.invalidate(u), true);
      assert.equal((await login.getLatestOtp(u)).status, "exhausted");
      assert.equal(await login.resetAttempts(u), true);
      assert.equal(await login.verify(u, l.code), true);
    },
  },
  {
    name: "key layout: keyPrefix + scope + ':' + user, for every read and write",
    async run(ctx) {
      const { assert, user, manager, storage } = await setup(ctx);
      const layouts = [
        [{}, (u) => `otp:default:${u}`],
        [{ scope: "login" }, (u) => `otp:login:${u}`],
        [{ scope: "Reset_2-fa", keyPrefix: "myapp/" }, (u) => `myapp/Reset_2-fa:${u}`],
        [{ scope: "x", keyPrefix: "" }, (u) => `x:${u}`],
      ];
      for (const [options, key] of layouts) {
        const m = manager({ ...options, resendCooldownSeconds: 0 });
        for (const u of [user(), `Zoë 🙂 ${user()}`, `a:b/c ${user()}`]) {
          storage.reset();
          const { code } = await m.create(u);
          await m.getLatestOtp(u);
          await m.check(u, wrongCode(code));
          await m.verify(u, code);
          await m.resetAttempts(u);
          await m.invalidate(u);
          await m.generate(u);
          assert.equal(m.keyFor(u), key(u));
          for (const call of storage.calls) assert.equal(call.key, key(u), `${call.op} used key ${call.key}`);
          assert.ok(storage.calls.length >= 7);
        }
      }
    },
  },
  {
    name: "user ids: unicode and 256-byte ids round-trip through the store; users are independent",
    async run(ctx) {
      const { assert, otp, user } = await setup(ctx);
      const bytes = (s) => new TextEncoder().encode(s).length;
      /** `head` padded with `unit` (then "x") to exactly 256 bytes of UTF-8. */
      const fill = (head, unit) => {
        let s = head;
        while (bytes(s) + bytes(unit) <= 256) s += unit;
        while (bytes(s) < 256) s += "x";
        return s;
      };
      const ids = [
        `Zoë 🙂 ${user()}`,
        fill(user(), "x"),
        fill(user(), "é"),
        fill(user(), "🙂"),
        `${user()}\u{1F600}\u00A0\t\n"'\\`,
      ];
      for (const id of ids.slice(1, 4)) assert.equal(bytes(id), 256);
      const issued = [];
      for (const u of ids) issued.push(await otp.create(u));
      for (let i = 0; i < ids.length; i++) {
        assert.deepEqual(await otp.getLatestOtp(ids[i]), { ...issued[i], status: "active" });
      }
      // Exhausting one user leaves the others alone.
      for (let i = 0; i < 3; i++) await otp.check(ids[0], wrongCode(issued[0].code));
      for (let i = 1; i < ids.length; i++) assert.equal(await otp.verify(ids[i], issued[i].code), true);
      assert.equal(await otp.verify(ids[0], issued[0].code), false);
    },
  },
  {
    name: "clock injection: now() is read per operation; without it the system clock is used",
    async run(ctx) {
      const { assert, otp, user, clock, manager } = await setup(ctx, { resendCooldownSeconds: 0, ttlSeconds: 10 });
      const u = user();
      const a = await otp.create(u);
      assert.equal(a.createdAt, T0);
      clock.advance(5000);
      const b = await otp.create(u);
      assert.equal(b.createdAt, T0 + 5000);
      assert.equal(b.expiresAt, T0 + 15_000);
      clock.set(T0 + 14_999);
      assert.equal((await otp.getLatestOtp(u)).status, "active");
      clock.set(T0 + 15_000);
      assert.equal((await otp.getLatestOtp(u)).status, "expired");
      // Going back in time is the clock's business: the code is active again.
      clock.set(T0 + 6000);
      assert.equal(await otp.verify(u, b.code), true);

      const system = manager({ now: undefined, ttlSeconds: 120 });
      const v = user("system");
      const before = Date.now();
      const s = await system.create(v);
      const after = Date.now();
      assert.ok(s.createdAt >= before && s.createdAt <= after, `createdAt ${s.createdAt} not in [${before}, ${after}]`);
      assert.equal(s.expiresAt, s.createdAt + 120_000);
      assert.equal(await system.verify(v, s.code), true);
    },
  },
  {
    name: "custom length and alphabet; case folding for single-case alphabets; white space, dashes and full-width forms as typed",
    async run(ctx) {
      const { assert, user, manager } = await setup(ctx);
      const swapCase = (s) => [...s].map((ch) => (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase())).join("");

      const upper = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
      const mu = manager({ length: 6, alphabet: upper });
      const u1 = user();
      const c1 = (await mu.create(u1)).code;
      assert.ok(new RegExp(`^[${upper}]{6}$`).test(c1), `code ${c1}`);
      assert.equal(await mu.verify(u1, c1.toLowerCase()), true, "lower-case input folds to the upper-case alphabet");
      const u2 = user();
      const c2 = (await mu.create(u2)).code;
      assert.equal(await mu.verify(u2, ` ${c2.slice(0, 2)}-${c2.slice(2, 4)} ${c2.slice(4)} `), true);

      const lower = "abcdefghjkmnpqrstuvwxyz";
      const ml = manager({ length: 5, alphabet: lower });
      const u3 = user();
      const c3 = (await ml.create(u3)).code;
      assert.ok(new RegExp(`^[${lower}]{5}$`).test(c3), `code ${c3}`);
      assert.equal(await ml.verify(u3, c3.toUpperCase()), true, "upper-case input folds to the lower-case alphabet");

      const mixed = "abcdefABCDEF";
      const mm = manager({ length: 8, alphabet: mixed });
      const u4 = user();
      const c4 = (await mm.create(u4)).code;
      assert.ok(/^[a-fA-F]{8}$/.test(c4), `code ${c4}`);
      assert.deepEqual(await mm.check(u4, swapCase(c4)), verdict("invalid", 2), "no folding with both cases");
      assert.equal(await mm.verify(u4, c4), true);

      const digits = manager({ length: 10 });
      const u5 = user();
      const c5 = (await digits.create(u5)).code;
      assert.ok(/^[0-9]{10}$/.test(c5));
      assert.equal(await digits.verify(u5, `${c5.slice(0, 3)}-${c5.slice(3, 6)}-${c5.slice(6)}`), true);

      const one = manager({ length: 1, alphabet: "01" });
      const u6 = user();
      const c6 = (await one.create(u6)).code;
      assert.ok(c6 === "0" || c6 === "1");
      assert.equal(await one.verify(u6, c6), true);

      // Wrong length, foreign characters and empty input are wrong guesses.
      const d = manager();
      const u7 = user();
      const c7 = (await d.create(u7)).code;
      assert.deepEqual(await d.check(u7, c7.slice(0, 3)), verdict("invalid", 2));
      assert.deepEqual(await d.check(u7, c7 + "0"), verdict("invalid", 1));
      assert.deepEqual(await d.check(u7, `${c7.slice(0, 3)}x`), verdict("invalid", 0));
      const u8 = user();
      const c8 = (await d.create(u8)).code;
      assert.deepEqual(await d.check(u8, ""), verdict("invalid", 2));
      assert.deepEqual(await d.check(u8, " - "), verdict("invalid", 1));
      assert.equal(await d.verify(u8, `- ${c8} -`), true);
      // As codes are pasted and typed: a trailing line break, a tab, a no-break space, an
      // en dash, full-width digits (an East Asian keyboard). An underscore is no separator.
      const fullWidth = (c) => [...c].map((ch) => String.fromCodePoint(ch.codePointAt(0) + 0xfee0)).join("");
      for (const paste of [(c) => `${c}\n`, (c) => `\t${c}\r\n`, (c) => `${c.slice(0, 2)}\u00a0${c.slice(2)}`, (c) => `${c.slice(0, 2)}\u2013${c.slice(2)}`, fullWidth]) {
        const u = user();
        const { code } = await d.create(u);
        assert.deepEqual(await d.check(u, paste(code)), verdict("verified"), JSON.stringify(paste("1234")));
      }
      const u9 = user();
      const c9 = (await d.create(u9)).code;
      assert.deepEqual(await d.check(u9, `${c9.slice(0, 2)}_${c9.slice(2)}`), verdict("invalid", 2));
    },
  },
  {
    name: "stored values never contain the code or the secret (100 users)",
    async run(ctx) {
      const { assert, user, manager, storage, inner, secret } = await setup(ctx);
      const m = manager({ length: 10 });
      const issued = new Map();
      for (let i = 0; i < 100; i++) {
        const u = user();
        const { code } = await m.create(u);
        issued.set(u, code);
        if (i % 10 === 0) await m.check(u, wrongCode(code)); // a second kind of write
      }
      const codes = [...issued.values()];
      const writes = storage.writes();
      assert.ok(writes.length >= 110);
      for (const w of writes) {
        assert.equal(typeof w.value, "string");
        assert.ok(!w.value.includes(secret), "a stored value contains the secret");
        for (const code of codes) assert.ok(!w.value.includes(code), `stored value ${w.value} contains a code`);
      }
      for (const [u, code] of issued) {
        const v = await inner.get(m.keyFor(u));
        assert.equal(typeof v, "string", "the store holds a string");
        assert.ok(!v.includes(code), `stored value ${v} contains the code ${code}`);
      }
      // A letters-only alphabet cannot collide with the record's digits and hex.
      const letters = manager({ length: 8, alphabet: "GHJKLMNPQRSTUVWXYZ" });
      for (let i = 0; i < 20; i++) {
        const u = user();
        storage.reset();
        const { code } = await letters.create(u);
        assert.ok(!storage.writes()[0].value.includes(code));
        assert.ok(!storage.writes()[0].value.toLowerCase().includes(code.toLowerCase()));
      }
      // The codes were real.
      let n = 0;
      for (const [u, code] of issued) if (n++ % 10 === 5) assert.equal(await m.verify(u, code), true);
    },
  },
  {
    name: "codes never repeat for one user over 300 creates",
    async run(ctx) {
      const { assert, otp, user } = await setup(ctx, { resendCooldownSeconds: 0, issueLimit: null, failureLimit: null });
      const u = user();
      const seen = new Set();
      for (let i = 0; i < 300; i++) {
        const { code } = await otp.create(u);
        assert.ok(!seen.has(code), `code repeated after ${i} creates`);
        seen.add(code);
      }
      assert.equal(seen.size, 300);
    },
  },
  {
    name: "codes never repeat within a cycle of a 2-digit space, and consecutive codes always differ (250 creates)",
    async run(ctx) {
      const { assert, otp, user } = await setup(ctx, {
        length: 2,
        resendCooldownSeconds: 0,
        issueLimit: null,
        failureLimit: null,
      });
      const u = user();
      const codes = [];
      for (let i = 0; i < 250; i++) codes.push((await otp.create(u)).code);
      assert.equal(new Set(codes.slice(0, 100)).size, 100, "the first cycle issues all 100 codes");
      // The second cycle starts at create 101 and holds at least 99 codes.
      assert.equal(new Set(codes.slice(100, 199)).size, 99, "the second cycle repeats no code");
      for (let i = 1; i < codes.length; i++) assert.notEqual(codes[i], codes[i - 1], `creates ${i} and ${i + 1} gave the same code`);
      const counts = new Map();
      for (const c of codes) counts.set(c, (counts.get(c) ?? 0) + 1);
      assert.ok(Math.max(...counts.values()) <= 3);
      assert.equal(await otp.verify(u, codes.at(-1)), true);
    },
  },
  {
    name: "retentionSeconds: every write carries { expirationTtl }; without it, no write options",
    async run(ctx) {
      const { assert, user, manager, storage, clock } = await setup(ctx);
      const exercise = async (m) => {
        const u = user();
        storage.reset();
        const { code } = await m.create(u);
        await m.check(u, wrongCode(code));
        await m.resetAttempts(u);
        await m.verify(u, code);
        clock.advance(31_000);
        await m.create(u);
        await m.invalidate(u);
        clock.advance(31_000);
        await m.generate(u);
        const writes = storage.writes();
        assert.equal(writes.length, 7);
        return writes;
      };
      for (const w of await exercise(manager({ retentionSeconds: 7200 }))) {
        assert.deepEqual(w.options, { expirationTtl: 7200 }, `${w.op} options`);
      }
      for (const w of await exercise(manager({ retentionSeconds: 3600 }))) {
        assert.deepEqual(w.options, { expirationTtl: 3600 }, `${w.op} options`);
      }
      for (const w of await exercise(manager({ retentionSeconds: null }))) {
        assert.equal(w.options, undefined, `${w.op} got options`);
        assert.equal(w.argc, w.op === "put" ? 2 : 3, `${w.op} argument count`);
      }
      for (const w of await exercise(manager())) assert.equal(w.options, undefined);
    },
  },
  {
    name: "storage calls per operation: 1 get each; writes only when something changes",
    async run(ctx) {
      const { assert, otp, user, clock, expectCalls, rejects } = await setup(ctx, { ttlSeconds: 60 });
      const u = user();
      const none = user("none");
      await expectCalls("getLatestOtp none", 1, 0, () => otp.getLatestOtp(none));
      await expectCalls("check none", 1, 0, () => otp.check(none, "0000"));
      await expectCalls("resetAttempts none", 1, 0, () => otp.resetAttempts(none));
      await expectCalls("invalidate none", 1, 0, () => otp.invalidate(none));
      const { code } = await expectCalls("create", 1, 1, () => otp.create(u));
      await expectCalls("create in cooldown", 1, 0, () => rejects(() => otp.create(u), "RATE_LIMITED"));
      await expectCalls("generate while active", 1, 0, () => rejects(() => otp.generate(u), "ACTIVE_OTP_EXISTS"));
      await expectCalls("getLatestOtp", 1, 0, () => otp.getLatestOtp(u));
      await expectCalls("check wrong", 1, 1, () => otp.check(u, wrongCode(code)));
      await expectCalls("resetAttempts", 1, 1, () => otp.resetAttempts(u));
      await expectCalls("resetAttempts unchanged", 1, 0, () => otp.resetAttempts(u));
      await expectCalls("verify right", 1, 1, () => otp.verify(u, code));
      await expectCalls("verify used", 1, 0, () => otp.verify(u, code));
      await expectCalls("invalidate used", 1, 0, () => otp.invalidate(u));
      await expectCalls("generate after used", 1, 1, () => otp.generate(u));
      await expectCalls("invalidate active", 1, 1, () => otp.invalidate(u));
      await expectCalls("check revoked", 1, 0, () => otp.check(u, code));

      const x = user("exhausted");
      const ix = await otp.create(x);
      for (let i = 0; i < 3; i++) await expectCalls("wrong", 1, 1, () => otp.check(x, wrongCode(ix.code)));
      await expectCalls("verify exhausted", 1, 0, () => otp.verify(x, ix.code));
      await expectCalls("getLatestOtp exhausted", 1, 0, () => otp.getLatestOtp(x));

      const e = user("expired");
      const ie = await otp.create(e);
      clock.set(ie.expiresAt);
      await expectCalls("verify expired", 1, 0, () => otp.verify(e, ie.code));
      await expectCalls("invalidate expired", 1, 0, () => otp.invalidate(e));
      await expectCalls("generate after expiry", 1, 1, () => otp.generate(e));

      clock.set(T0);
      const l = user("locked");
      await otp.create(l);
      // The default failure budget is 10 per hour: spend it over several codes.
      let spent = 0;
      while (spent < 10) {
        const cur = await otp.getLatestOtp(l);
        for (let i = 0; i < 3 && spent < 10; i++, spent++) await otp.check(l, wrongCode(cur.code));
        clock.advance(30_000);
        if (spent < 10) await otp.create(l);
      }
      const latest = await otp.getLatestOtp(l);
      const locked = await expectCalls("verify locked", 1, 0, () => otp.check(l, latest.code));
      assert.equal(locked.reason, "locked");
      await expectCalls("create locked", 1, 0, () => rejects(() => otp.create(l), "RATE_LIMITED"));
    },
  },
  {
    name: "a second manager with the same secret shares the records; another secret does not verify them",
    async run(ctx) {
      const { assert, otp, user, manager } = await setup(ctx, { length: 10 });
      const again = manager({ length: 10 });
      const other = manager({ length: 10, secret: "a completely different secret!!" });
      const u = user();
      const { code } = await otp.create(u);
      assert.equal((await again.getLatestOtp(u)).code, code);
      const seenByOther = await other.getLatestOtp(u);
      assert.notEqual(seenByOther.code, code, "the code depends on the secret");
      assert.deepEqual(await other.check(u, code), verdict("invalid", 2));
      assert.equal(await again.verify(u, code), true);
      assert.equal((await otp.getLatestOtp(u)).status, "used");
    },
  },
  {
    name: "concurrency (compareAndSwap): wrong guesses racing are each counted exactly once",
    needsCompareAndSwap: true,
    async run(ctx) {
      const base = await casSetup(ctx);
      if (!base) return;
      const { assert, otp, user } = base;
      const u = user();
      const { code } = await otp.create(u);
      const results = await settle(Array.from({ length: 6 }, () => otp.check(u, wrongCode(code))));
      assert.ok(results.every((r) => r.status === "fulfilled"), String(results.find((r) => r.reason)?.reason));
      const verdicts = results.map((r) => r.value);
      const invalid = verdicts.filter((v) => v.reason === "invalid").map((v) => v.attemptsLeft).sort();
      assert.deepEqual(invalid, [0, 1, 2]);
      assert.equal(verdicts.filter((v) => v.reason === "exhausted").length, 3);
      assert.equal((await otp.getLatestOtp(u)).attempts, 3);
      assert.equal(await otp.verify(u, code), false);
    },
  },
  {
    name: "concurrency (compareAndSwap): the right code racing verifies exactly once",
    needsCompareAndSwap: true,
    async run(ctx) {
      const base = await casSetup(ctx);
      if (!base) return;
      const { assert, otp, user } = base;
      const u = user();
      const { code } = await otp.create(u);
      const results = await settle(Array.from({ length: 5 }, () => otp.check(u, code)));
      assert.ok(results.every((r) => r.status === "fulfilled"), String(results.find((r) => r.reason)?.reason));
      const reasons = results.map((r) => r.value.reason).sort();
      assert.deepEqual(reasons, ["used", "used", "used", "used", "verified"]);
    },
  },
  {
    name: "concurrency (compareAndSwap): racing creates respect the issue limit; only the last code verifies",
    needsCompareAndSwap: true,
    async run(ctx) {
      const base = await casSetup(ctx, { resendCooldownSeconds: 0, issueLimit: { count: 3, windowSeconds: 3600 } });
      if (!base) return;
      const { assert, otp, user } = base;
      const u = user();
      const results = await settle(Array.from({ length: 5 }, () => otp.create(u)));
      const issued = results.filter((r) => r.status === "fulfilled").map((r) => r.value.code);
      const refused = results.filter((r) => r.status === "rejected").map((r) => r.reason.code);
      assert.equal(issued.length, 3);
      assert.deepEqual(refused, ["RATE_LIMITED", "RATE_LIMITED"]);
      assert.equal(new Set(issued).size, 3);
      const latest = await otp.getLatestOtp(u);
      assert.ok(issued.includes(latest.code));
      for (const code of issued) if (code !== latest.code) assert.equal((await otp.check(u, code)).reason, "invalid");
      assert.equal(await otp.verify(u, latest.code), true);
    },
  },
];

/** Setup for the concurrency cases: the store, made to yield between calls. */
async function casSetup(ctx, options = {}) {
  const probe = await ctx.makeStorage();
  if (typeof probe.compareAndSwap !== "function") {
    ctx.skip?.("storage has no compareAndSwap");
    return null;
  }
  return setup({ ...ctx, makeStorage: async () => yielding(probe) }, options);
}

// ---------------------------------------------------------------- without a test runner

/**
 * Runs one case `c` of this suite (or of one with the same shape: the TOTP suite, the SQL
 * checks) with `context` (`makeStorage`, `load`, whatever else its cases take; `assert`
 * defaults to `miniAssert`): for the runtimes without node:test, one case per request in a
 * Worker. Answers `{ status: "passed" }`, `{ status: "skipped", reason }`, or `{ status:
 * "failed", name, code, message, stack }` with the error's name, `.code` and message.
 */
export async function runCase(c, context) {
  let skipped = null;
  try {
    await c.run({
      assert: miniAssert,
      ...context,
      skip: (reason) => {
        skipped = reason ?? "skipped";
      },
    });
    return skipped ? { status: "skipped", reason: skipped } : { status: "passed" };
  } catch (e) {
    return { status: "failed", name: e?.name, code: e?.code, message: String(e?.message ?? e), stack: String(e?.stack ?? "") };
  }
}

/**
 * Runs every case on every store of `stores` (`{ [name]: () => storage }`, sync or async) with the
 * API `load()` answers and `miniAssert`, one after another ([`runCase`]): for runtimes
 * without node:test (Deno, Bun, a page). Answers one result per store and case: `{ store,
 * name, status: "passed" | "skipped" | "failed", reason?, ms }`, with `message` and `stack`
 * when it failed.
 */
export async function runCases(stores, load) {
  const results = [];
  for (const [store, makeStorage] of Object.entries(stores)) {
    for (const c of cases) {
      const started = Date.now();
      const r = await runCase(c, { makeStorage, load });
      results.push({ store, name: c.name, ...r, ms: Date.now() - started });
    }
  }
  return results;
}

// ---------------------------------------------------------------- node:test runner

/**
 * Registers every case with node:test (or anything with the same `test(name, options,
 * fn)` shape). `t` is `test`/`it`, or an object with a `test` or `it` method.
 */
export function runConformance(t, makeStorage, opts = {}) {
  const register = typeof t === "function" ? t : (t.test ?? t.it).bind(t);
  const load = opts.load ?? defaultLoad;
  for (const c of cases) {
    let skip = false;
    if (opts.skip?.includes(c.name)) skip = "skipped by the caller";
    else if (c.needsCompareAndSwap && opts.compareAndSwap === false) skip = "storage has no compareAndSwap";
    const options = { skip, timeout: opts.timeout ?? 60_000 };
    if (opts.todo?.[c.name]) options.todo = opts.todo[c.name];
    register(c.name, options, async (tc) => {
      let assert = opts.assert;
      if (!assert) {
        try {
          assert = (await import("node:assert/strict")).default;
        } catch {
          assert = miniAssert;
        }
      }
      await c.run({
        makeStorage,
        load,
        assert,
        secret: opts.secret,
        skip: (reason) => tc?.skip?.(reason),
      });
    });
  }
}
