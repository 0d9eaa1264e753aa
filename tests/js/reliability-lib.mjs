// Shared helpers for the reliability tests (concurrency, storage faults, hostile input).
//
// Runtime-neutral on purpose: no node: imports, only setTimeout and Promise, and the
// package's OtpManager is passed in rather than imported, so that the same checks can run
// against other stores (Durable Objects, Redis) and inside other runtimes later:
//
//   import { OtpManager } from "edge-otp";
//   import { concurrencySuite } from "./reliability-lib.mjs";
//   const figures = await concurrencySuite(() => redisStorage(client), { OtpManager });
//
// Every check throws an Error (not node:assert) when a guarantee is broken, and every
// storm returns its measured figures so the caller can print or record them.

/** A fixed test secret (>= 16 bytes). */
export const SECRET = "reliability-test-secret-0123456789";
/** A fixed instant (2030-01-01T00:00:00Z) the injected clocks start from. */
export const T0 = Date.UTC(2030, 0, 1);

/** Throws when `cond` is false. */
export function ensure(cond, message) {
  if (!cond) throw new Error(`reliability check failed: ${message}`);
}

/** mulberry32: a small seeded PRNG giving floats in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Waits one macrotask (a timer turn): every other ready callback runs first. */
export const macrotask = () => new Promise((resolve) => setTimeout(resolve, 0));
/** Waits `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An in-memory store that yields to the event loop inside every call, with random small
 * delays, so that concurrent operations really interleave between their read and their
 * write (as they do on a networked store). With `cas: true` it offers an atomic
 * compareAndSwap (the compare and the set happen in one synchronous step, after the
 * delay); with `cas: false` it is a plain get/put store (last writer wins).
 *
 * `stats` counts calls and failed compare-and-swaps; `map` is the backing Map.
 */
export function yieldingStorage({ cas = true, seed = 1, maxDelayMs = 2, map = new Map() } = {}) {
  const random = rng(seed);
  const stats = { gets: 0, puts: 0, cas: 0, casConflicts: 0 };
  const jitter = async () => {
    await macrotask();
    const ms = Math.floor(random() * (maxDelayMs + 1));
    if (ms > 0) await sleep(ms);
  };
  const store = {
    map,
    stats,
    async get(key) {
      stats.gets++;
      await jitter();
      const value = map.has(key) ? map.get(key) : null;
      await jitter();
      return value;
    },
    async put(key, value) {
      stats.puts++;
      await jitter();
      map.set(key, value);
      await jitter();
    },
  };
  if (cas) {
    store.compareAndSwap = async (key, expected, value) => {
      stats.cas++;
      await jitter();
      const current = map.has(key) ? map.get(key) : null;
      const ok = current === expected;
      if (ok) map.set(key, value);
      else stats.casConflicts++;
      await jitter();
      return ok;
    };
  }
  return store;
}

/** Awaits every promise; each result is `{ ok: true, value }` or `{ ok: false, error }`. */
/**
 * A manager class over several independent instances of the package (separate module
 * instances: separate engine pools and per-key queues, like separate processes or
 * isolates sharing one store): each call goes to the next instance in turn.
 */
export function acrossInstances(classes) {
  return class AcrossInstances {
    #managers;
    #next = 0;
    constructor(storage, options) {
      this.#managers = classes.map((C) => new C(storage, options));
    }
    #pick() {
      return this.#managers[this.#next++ % this.#managers.length];
    }
    keyFor(user) { return this.#managers[0].keyFor(user); }
    create(...a) { return this.#pick().create(...a); }
    generate(...a) { return this.#pick().generate(...a); }
    getLatestOtp(...a) { return this.#pick().getLatestOtp(...a); }
    check(...a) { return this.#pick().check(...a); }
    verify(...a) { return this.#pick().verify(...a); }
    resetAttempts(...a) { return this.#pick().resetAttempts(...a); }
    invalidate(...a) { return this.#pick().invalidate(...a); }
    checkToken(...a) { return this.#pick().checkToken(...a); }
    verifyToken(...a) { return this.#pick().verifyToken(...a); }
    forget(...a) { return this.#pick().forget(...a); }
  };
}

export async function settle(promises) {
  const out = await Promise.allSettled(promises);
  return out.map((r) => (r.status === "fulfilled" ? { ok: true, value: r.value } : { ok: false, error: r.reason }));
}

/** Counts results by the key `classify` gives each. */
export function tally(results, classify) {
  const counts = {};
  for (const r of results) {
    const k = classify(r);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

const errorKey = (e) => `error:${e && typeof e === "object" && "code" in e ? e.code : String(e)}`;

/** A code of the same length and digits alphabet that is not `code` (the i-th such). */
export function wrongCode(code, i = 0) {
  const space = 10 ** code.length;
  const n = (Number(code) + 1 + (i % (space - 1))) % space;
  return String(n).padStart(code.length, "0");
}

let stormSeq = 0;
const stormUser = (tag) => `${tag}-${Date.now().toString(36)}-${++stormSeq}@example.com`;

function manager(OtpManager, storage, clock, options) {
  return new OtpManager(storage, { secret: SECRET, now: () => clock.t, ...options });
}

/**
 * `n` concurrent wrong guesses on one code with `maxAttempts` (failure budget off, so the
 * lockout does not interfere). Returns the answers and the attempts the final record holds.
 */
export async function wrongGuessStorm({ OtpManager, storage, n = 1000, maxAttempts = 3, user = stormUser("wrong") }) {
  const clock = { t: T0 };
  const otp = manager(OtpManager, storage, clock, { maxAttempts, failureLimit: null });
  const { code } = await otp.create(user);
  const results = await settle(Array.from({ length: n }, (_, i) => otp.check(user, wrongCode(code, i))));
  const answers = tally(results, (r) => (r.ok ? r.value.reason : errorKey(r.error)));
  const latest = await otp.getLatestOtp(user);
  return { n, maxAttempts, answers, invalid: answers.invalid ?? 0, attempts: latest.attempts, status: latest.status };
}

/** `n` concurrent verifications of the right code. Returns how many answered true. */
export async function rightGuessStorm({ OtpManager, storage, n = 100, user = stormUser("right") }) {
  const clock = { t: T0 };
  const otp = manager(OtpManager, storage, clock, { failureLimit: null });
  const { code } = await otp.create(user);
  const results = await settle(Array.from({ length: n }, () => otp.check(user, code)));
  const answers = tally(results, (r) => (r.ok ? r.value.reason : errorKey(r.error)));
  const latest = await otp.getLatestOtp(user);
  return { n, answers, verified: answers.verified ?? 0, status: latest.status };
}

/**
 * `n` concurrent creates under an issue limit of `limit` per hour and no cooldown. Returns
 * how many were issued, refused or conflicted; with `verifyAfter`, also checks that only
 * the last issued code verifies (the stale ones are tried first; maxAttempts is raised so
 * that they do not exhaust the code).
 */
export async function createStorm({ OtpManager, storage, n = 100, limit = 5, verifyAfter = true, user = stormUser("create") }) {
  const clock = { t: T0 };
  const otp = manager(OtpManager, storage, clock, {
    issueLimit: { count: limit, windowSeconds: 3600 },
    resendCooldownSeconds: 0,
    failureLimit: null,
    maxAttempts: 1000,
  });
  const results = await settle(Array.from({ length: n }, () => otp.create(user)));
  const outcomes = tally(results, (r) => (r.ok ? "issued" : errorKey(r.error)));
  const issued = results.filter((r) => r.ok).map((r) => r.value.code);
  const latest = await otp.getLatestOtp(user);
  const out = {
    n,
    limit,
    outcomes,
    issued: issued.length,
    rateLimited: outcomes["error:RATE_LIMITED"] ?? 0,
    conflicts: outcomes["error:CONFLICT"] ?? 0,
    latestIsIssued: issued.includes(latest.code),
  };
  if (verifyAfter) {
    const stale = [...new Set(issued.filter((c) => c !== latest.code))];
    const staleVerdicts = [];
    for (const c of stale) staleVerdicts.push((await otp.check(user, c)).reason);
    out.staleVerified = staleVerdicts.filter((r) => r === "verified").length;
    out.staleVerdicts = tally(staleVerdicts.map((v) => ({ v })), (x) => x.v);
    out.latestVerified = await otp.verify(user, latest.code);
  }
  return out;
}

/**
 * Runs the three storms, each on a fresh store from `makeStorage()` (sync or async).
 * With `exact: true` (a store with atomic compare-and-swap, or a serialised one) it
 * enforces the exact guarantees; with `exact: false` only what holds on any store
 * (the record's attempts never exceed maxAttempts). Returns the measured figures.
 */
export async function concurrencySuite(makeStorage, { OtpManager, exact = true, wrongN = 1000, rightN = 100, createN = 100, maxAttempts = 3, limit = 5 } = {}) {
  ensure(typeof OtpManager === "function", "pass { OtpManager }");
  const wrong = await wrongGuessStorm({ OtpManager, storage: await makeStorage(), n: wrongN, maxAttempts });
  const right = await rightGuessStorm({ OtpManager, storage: await makeStorage(), n: rightN });
  const create = await createStorm({ OtpManager, storage: await makeStorage(), n: createN, limit, verifyAfter: exact });
  ensure(wrong.attempts <= maxAttempts, `attempts ${wrong.attempts} > maxAttempts ${maxAttempts}`);
  if (exact) {
    const j = (o) => JSON.stringify(o);
    ensure(wrong.attempts === maxAttempts, `wrong storm: ${wrong.attempts} attempts counted, want ${maxAttempts}`);
    ensure(wrong.invalid === maxAttempts, `wrong storm: ${wrong.invalid} answered invalid, want ${maxAttempts}: ${j(wrong.answers)}`);
    ensure((wrong.answers.exhausted ?? 0) === wrongN - maxAttempts, `wrong storm: answers ${j(wrong.answers)}`);
    ensure(right.verified === 1, `right storm: ${right.verified} verified, want 1: ${j(right.answers)}`);
    ensure((right.answers.used ?? 0) === rightN - 1, `right storm: answers ${j(right.answers)}`);
    ensure(create.issued === limit, `create storm: ${create.issued} issued, want ${limit}: ${j(create.outcomes)}`);
    ensure(create.rateLimited + create.conflicts === createN - limit, `create storm: outcomes ${j(create.outcomes)}`);
    ensure(create.latestIsIssued, "create storm: the stored code is not one of the issued ones");
    ensure(create.staleVerified === 0, `create storm: ${create.staleVerified} stale codes verified`);
    ensure(create.latestVerified === true, "create storm: the last issued code does not verify");
  }
  return { wrong, right, create };
}

// ---------------------------------------------------------------------------------------
// Fault injection

/** An error object a faulty store throws; identity is checked by the tests. */
export class StoreFault extends Error {
  constructor(label) {
    super(`injected store fault: ${label}`);
    this.name = "StoreFault";
  }
}

/** Fault kinds that apply to a read (`get`), and what they return. */
export const READ_FAULTS = ["throw", "reject", "number", "object", "array", "boolean", "corrupt", "oversize"];
/** Fault kinds that apply to a write (`put` or `compareAndSwap`). */
export const WRITE_FAULTS = ["throw", "reject", "casFalse", "writeThenThrow", "writeThenReject"];

/** What a read fault makes `get` return (for the value-returning kinds). */
export function readFaultValue(kind, honest) {
  switch (kind) {
    case "number": return 42;
    case "object": return { value: honest };
    case "array": return honest === null ? [1] : JSON.parse(honest);
    case "boolean": return false;
    case "corrupt": return honest === null ? "[1,\"zz\"]" : honest.slice(0, -2) + "]";
    case "oversize": return (honest ?? "[1]") + " ".repeat(1100);
  }
  throw new Error(`not a value fault: ${kind}`);
}

/**
 * A store over a Map that injects one fault at the `k`-th storage call (1-based) after
 * `arm(k, kind)`. `async: true` makes the healthy calls return Promises; `cas` chooses
 * whether compareAndSwap exists. `alwaysConflict` makes every compareAndSwap fail.
 * `fired` tells whether (and on which call) the armed fault fired; `calls` lists the
 * calls since the last `arm` or `reset` (as "get" / "put" / "cas").
 */
export function faultyStorage({ cas = true, async = false, map = new Map() } = {}) {
  let plan = null;
  let calls = [];
  let error = null;
  const state = { fired: null, alwaysConflict: false };
  const wrap = (v) => (async ? Promise.resolve(v) : v);
  const due = (type) => {
    calls.push(type);
    if (plan && calls.length === plan.k) {
      const kind = plan.kind;
      const applies = type === "get" ? READ_FAULTS.includes(kind) : WRITE_FAULTS.includes(kind) && (kind !== "casFalse" || type === "cas");
      if (applies) {
        state.fired = { call: calls.length, type, kind };
        plan = null;
        return kind;
      }
      state.fired = { call: calls.length, type, kind, skipped: true };
      plan = null;
    }
    return null;
  };
  const fail = (kind) => {
    error = new StoreFault(kind);
    if (kind === "throw" || kind === "writeThenThrow") throw error;
    return Promise.reject(error);
  };
  const store = {
    map,
    state,
    get calls() { return calls; },
    get lastError() { return error; },
    arm(k, kind) { plan = { k, kind }; calls = []; state.fired = null; error = null; },
    reset() { plan = null; calls = []; state.fired = null; error = null; state.alwaysConflict = false; },
    get(key) {
      const kind = due("get");
      const honest = map.has(key) ? map.get(key) : null;
      if (kind === "throw" || kind === "reject") return fail(kind);
      if (kind) return wrap(readFaultValue(kind, honest));
      return wrap(honest);
    },
    put(key, value) {
      const kind = due("put");
      if (kind === "throw" || kind === "reject") return fail(kind);
      map.set(key, value);
      if (kind) return fail(kind);
      return wrap(undefined);
    },
  };
  if (cas) {
    store.compareAndSwap = (key, expected, value) => {
      const kind = due("cas");
      if (kind === "throw" || kind === "reject") return fail(kind);
      if (kind === "casFalse" || state.alwaysConflict) return wrap(false);
      const current = map.has(key) ? map.get(key) : null;
      if (current !== expected) return wrap(false);
      map.set(key, value);
      if (kind) return fail(kind);
      return wrap(true);
    };
  }
  return store;
}

// ---------------------------------------------------------------------------------------
// Records

/** The fields of a stored record (version 1 wire form), for assertions. */
export function parseRecord(s) {
  const a = JSON.parse(s);
  const [version, salt, index, createdAt, expiresAt, attempts, maxAttempts, state, failuresSince, failures, issuesSince, issues] = a;
  return { version, salt, index, createdAt, expiresAt, attempts, maxAttempts, state, failuresSince, failures, issuesSince, issues };
}

/** A version 1 record string from fields (defaults: an active code issued at `t`). */
export function makeRecord(fields = {}, t = T0) {
  const r = {
    version: 1, salt: "00112233445566778899aabbccddeeff", index: 0, createdAt: t, expiresAt: t + 3600_000,
    attempts: 0, maxAttempts: 3, state: 0, failuresSince: t, failures: 0, issuesSince: t, issues: 1, ...fields,
  };
  const salt = typeof r.salt === "string" ? JSON.stringify(r.salt) : String(r.salt);
  const nums = [r.index, r.createdAt, r.expiresAt, r.attempts, r.maxAttempts, r.state, r.failuresSince, r.failures, r.issuesSince, r.issues];
  return `[${r.version},${salt},${nums.join(",")}]`;
}

/** Classifies how a promise settled: `{ value }`, `{ code }` (an OtpError) or `{ error }`. */
export async function outcome(run) {
  try {
    return { value: await run() };
  } catch (e) {
    if (e && typeof e === "object" && e.name === "OtpError") return { code: e.code, error: e };
    return { error: e };
  }
}
