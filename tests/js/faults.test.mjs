// Storage faults: for every operation and every storage call k of it (1 .. calls + 1),
// inject one fault at call k and check that
//   - the error reaches the caller (the store's own error object for throw / reject,
//     CORRUPT_RECORD for a non-string or corrupt value read, success after a retry for a
//     lost compare-and-swap),
//   - the stored record afterwards is byte-equal to the one before or the one after the
//     operation (what a healthy run writes),
//   - attempts and failures never go down (except where the operation resets them),
//   - no two codes verify, and
//   - the same manager, on the healed store, still issues and verifies a code.
// Run over four store shapes: sync / async, with compareAndSwap / put only.
//
//   node --test tests/js/faults.test.mjs
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { OtpManager, OtpError, memoryStorage } from "../../pkg/node.js";
import {
  faultyStorage, parseRecord, READ_FAULTS, WRITE_FAULTS, SECRET, T0, wrongCode, StoreFault,
} from "./reliability-lib.mjs";

const USER = "fault@example.com";
const KEY = `otp:default:${USER}`;
const MINUTE = 60_000;
const OPTIONS = { secret: SECRET, maxAttempts: 5 };

// Seeds: each leaves the store in a state, returns the codes issued so far, and where
// the clock stands; the operation runs a minute later (past the 30 s cooldown).
const seeds = {
  empty: async () => ({ codes: [] }),
  active: async (otp) => {
    const { code } = await otp.create(USER);
    assert.equal((await otp.check(USER, wrongCode(code))).reason, "invalid");
    return { codes: [code] };
  },
  used: async (otp) => {
    const { code } = await otp.create(USER);
    assert.equal(await otp.verify(USER, code), true);
    return { codes: [code] };
  },
};

// The operations under test. `seed` picks the state; `run` returns the operation's
// promise; `resets` marks ops that may lower attempts / failures by design.
const OPS = [
  { name: "create", seed: "active", run: (otp) => otp.create(USER), issues: true },
  { name: "create (empty store)", seed: "empty", run: (otp) => otp.create(USER), issues: true, freshSalt: true },
  { name: "generate (active code: ACTIVE_OTP_EXISTS)", seed: "active", run: (otp) => otp.generate(USER), issues: true },
  { name: "generate (after use: issues)", seed: "used", run: (otp) => otp.generate(USER), issues: true },
  { name: "getLatestOtp", seed: "active", run: (otp) => otp.getLatestOtp(USER) },
  { name: "verify right", seed: "active", run: (otp, codes) => otp.check(USER, codes[0]) },
  { name: "verify wrong", seed: "active", run: (otp, codes) => otp.check(USER, wrongCode(codes[0])) },
  { name: "verify (no record)", seed: "empty", run: (otp) => otp.check(USER, "1234") },
  { name: "resetAttempts", seed: "active", run: (otp) => otp.resetAttempts(USER), resets: true },
  { name: "invalidate", seed: "active", run: (otp) => otp.invalidate(USER) },
];

const STORES = [
  { name: "sync store with CAS", cas: true, async: false },
  { name: "async store with CAS", cas: true, async: true },
  { name: "sync store, put only", cas: false, async: false },
  { name: "async store, put only", cas: false, async: true },
];

const normalizeSalt = (s) => (s === null ? null : s.replace(/^\[1,"[0-9a-f]{32}"/, '[1,"<salt>"'));

async function settleOp(promise) {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

// Seeded states, computed once per (store shape, seed) and copied into every case, so
// that every case of an operation starts from the same bytes (salts are random).
const snapshots = new Map();

/** Builds a store + manager holding the seeded state, with the clock a minute later. */
async function setup(shape, op) {
  const id = `${shape.cas}/${shape.async}/${op.seed}`;
  if (!snapshots.has(id)) {
    const store = faultyStorage({ cas: shape.cas, async: shape.async });
    const clock = { t: T0 };
    const otp = new OtpManager(store, { ...OPTIONS, now: () => clock.t });
    const { codes } = await seeds[op.seed](otp);
    snapshots.set(id, { entries: [...store.map], codes, t: clock.t + MINUTE });
  }
  const snap = snapshots.get(id);
  const store = faultyStorage({ cas: shape.cas, async: shape.async, map: new Map(snap.entries) });
  const clock = { t: snap.t };
  const otp = new OtpManager(store, { ...OPTIONS, now: () => clock.t });
  return { store, clock, otp, codes: snap.codes };
}

/** What a healthy run of `op` does from the same seed: its result, write and call count. */
async function healthyRun(shape, op) {
  const { store, otp, codes } = await setup(shape, op);
  const before = store.map.get(KEY) ?? null;
  store.arm(Infinity, "throw");
  const result = await settleOp(op.run(otp, codes));
  const calls = store.calls.length;
  return { before, after: store.map.get(KEY) ?? null, result, calls };
}

let casesRun = 0;
let casesSkipped = 0;

async function faultCase(shape, op, k, kind, healthy) {
  const label = `${shape.name} / ${op.name} / call ${k} / ${kind}`;
  const { store, clock, otp, codes } = await setup(shape, op);
  const before = store.map.get(KEY) ?? null;
  assert.equal(before, healthy.before, `${label}: seeds differ`);
  store.arm(k, kind);
  const got = await settleOp(op.run(otp, codes));
  const fired = store.state.fired;
  const final = store.map.get(KEY) ?? null;
  if (fired && fired.skipped) {
    casesSkipped++;
    return;
  }
  casesRun++;
  const same = (a, b) => (op.freshSalt ? normalizeSalt(a) === normalizeSalt(b) : a === b);

  if (!fired) {
    // k = calls + 1: nothing fired; the operation ran as the healthy one did.
    assert.equal(k, healthy.calls + 1, `${label}: fault did not fire`);
    assert.ok(same(final, healthy.after), `${label}: record differs from the healthy run`);
    assert.deepEqual(normalizeResult(got), normalizeResult(healthy.result), `${label}: result differs`);
  } else if (fired.type === "get" && (kind === "throw" || kind === "reject")) {
    assert.strictEqual(got.error, store.lastError, `${label}: the store's error must reach the caller`);
    assert.ok(got.error instanceof StoreFault);
    assert.equal(final, before, `${label}: nothing may be written after a failed read`);
  } else if (fired.type === "get") {
    assert.ok(got.error instanceof OtpError, `${label}: want OtpError, got ${got.error ?? JSON.stringify(got.value)}`);
    assert.equal(got.error.code, "CORRUPT_RECORD", label);
    assert.equal(final, before, `${label}: a corrupt read must not write`);
  } else if (kind === "throw" || kind === "reject") {
    assert.strictEqual(got.error, store.lastError, `${label}: the store's error must reach the caller`);
    assert.equal(final, before, `${label}: the failed write must leave the record as before`);
  } else if (kind === "writeThenThrow" || kind === "writeThenReject") {
    // The store committed, then failed (a timeout after the write, say).
    assert.strictEqual(got.error, store.lastError, `${label}: the store's error must reach the caller`);
    assert.ok(same(final, healthy.after), `${label}: record must be the one after`);
  } else if (kind === "casFalse") {
    // A lost compare-and-swap: the operation re-reads and retries, and succeeds.
    assert.equal(got.error, undefined, `${label}: a single lost CAS must be retried (${got.error})`);
    assert.deepEqual(normalizeResult(got), normalizeResult(healthy.result), `${label}: result differs after retry`);
    assert.equal(store.calls.length, healthy.calls + 2, `${label}: one extra read and write`);
    assert.ok(same(final, healthy.after), `${label}: record must be the one after`);
  } else {
    assert.fail(`${label}: unhandled combination`);
  }
  // Byte-equal to one of before / after.
  assert.ok(final === before || same(final, healthy.after), `${label}: record is neither before nor after:\n${final}`);

  // Attempts and failures never go down for the same code (except by design).
  store.reset();
  if (before !== null && final !== null) {
    const b = parseRecord(before);
    const f = parseRecord(final);
    const sameCode = b.salt === f.salt && b.index === f.index;
    const verifiedNow = f.state === 1 && b.state === 0;
    if (sameCode && !op.resets) assert.ok(f.attempts >= b.attempts, `${label}: attempts went down`);
    if (!op.resets && !verifiedNow) assert.ok(f.failures >= b.failures, `${label}: failures went down`);
  }

  // No two codes verify: the op's own success (if any) plus every known code tried now.
  let verified = got.value && got.value.ok === true ? 1 : 0;
  const latest = await otp.getLatestOtp(USER);
  const candidates = new Set(codes);
  if (got.value && typeof got.value.code === "string") candidates.add(got.value.code);
  if (latest) candidates.add(latest.code);
  for (const c of candidates) if (await otp.verify(USER, c)) verified++;
  assert.ok(verified <= 1, `${label}: ${verified} codes verified`);

  // The same manager still works on the healed store.
  clock.t += MINUTE;
  const fresh = await otp.create(USER);
  assert.equal(await otp.verify(USER, fresh.code), true, `${label}: create + verify after the fault`);
  assert.equal(await otp.verify(USER, fresh.code), false, `${label}: second verify`);
}

function normalizeResult(r) {
  if (r.error) return { error: r.error.code ?? String(r.error) };
  const v = r.value;
  if (v && typeof v === "object" && "code" in v && "createdAt" in v) return { ...v, code: "<code>" };
  return { value: v };
}

for (const shape of STORES) {
  describe(shape.name, () => {
    for (const op of OPS) {
      test(op.name, async () => {
        const healthy = await healthyRun(shape, op);
        assert.ok(healthy.calls >= 1 && healthy.calls <= 2, `${op.name}: ${healthy.calls} calls`);
        for (let k = 1; k <= healthy.calls; k++) {
          for (const kind of new Set([...READ_FAULTS, ...WRITE_FAULTS])) {
            await faultCase(shape, op, k, kind, healthy);
          }
        }
        // k = calls + 1: the armed fault never fires (control run).
        await faultCase(shape, op, healthy.calls + 1, "throw", healthy);
      });
    }
  });
}

describe("compare-and-swap that always loses", () => {
  for (const op of OPS.filter((o) => ["create", "verify right", "verify wrong", "resetAttempts", "invalidate", "generate (after use: issues)"].includes(o.name))) {
    test(`${op.name} → CONFLICT after MAX_TRIES = 16, record untouched`, async () => {
      for (const async of [false, true]) {
        const { store, clock, otp, codes } = await setup({ cas: true, async }, op);
        const before = store.map.get(KEY);
        store.reset();
        store.state.alwaysConflict = true;
        await assert.rejects(op.run(otp, codes), (e) => e instanceof OtpError && e.code === "CONFLICT");
        assert.equal(store.calls.filter((c) => c === "get").length, 16);
        assert.equal(store.calls.filter((c) => c === "cas").length, 16);
        assert.equal(store.map.get(KEY), before);
        store.reset();
        clock.t += MINUTE;
        const fresh = await otp.create(USER);
        assert.equal(await otp.verify(USER, fresh.code), true);
      }
    });
  }

  test("15 lost swaps then success: the operation succeeds once", async () => {
    const store = faultyStorage({ cas: true });
    const otp = new OtpManager(store, { ...OPTIONS, now: () => T0 });
    const { code } = await otp.create(USER);
    let lost = 0;
    const cas = store.compareAndSwap;
    store.compareAndSwap = (...a) => (lost++ < 15 ? false : cas(...a));
    assert.equal((await otp.check(USER, wrongCode(code))).attemptsLeft, 4);
    assert.equal((await otp.getLatestOtp(USER)).attempts, 1);
  });
});

describe("compareAndSwap answers: true, false, or INVALID_CONFIG", () => {
  // true is a write, false a conflict (re-read and retried). Anything else is refused
  // rather than guessed: a result object (what a database driver's run() gives) would
  // pass for a success even when nothing was written, and counting would silently stop
  // being exact.
  const store = (answer) => {
    const inner = memoryStorage();
    return {
      inner,
      get: (k) => inner.get(k),
      put: () => assert.fail("put must not be used when compareAndSwap exists"),
      compareAndSwap: (k, e, v) => (inner.compareAndSwap(k, e, v), answer),
    };
  };
  test("true: issued", async () => {
    const otp = new OtpManager(store(true), { ...OPTIONS, now: () => T0 });
    assert.match((await otp.create(USER)).code, /^\d{4}$/);
  });
  test("a Promise of true: issued", async () => {
    const otp = new OtpManager(store(Promise.resolve(true)), { ...OPTIONS, now: () => T0 });
    assert.match((await otp.create(USER)).code, /^\d{4}$/);
  });
  for (const answer of [1, 0, "OK", "", null, undefined, NaN, { success: true, meta: { changes: 0 } }]) {
    const shown = typeof answer === "object" && answer !== null ? JSON.stringify(answer) : typeof answer === "string" ? JSON.stringify(answer) : String(answer);
    test(`${shown}: INVALID_CONFIG naming the storage, no answer taken for a success`, async () => {
      const otp = new OtpManager(store(answer), { ...OPTIONS, now: () => T0 });
      await assert.rejects(otp.create(USER), (e) => {
        assert.ok(e instanceof OtpError, String(e));
        assert.equal(e.code, "INVALID_CONFIG");
        assert.equal(e.field, "storage");
        assert.match(e.message, /compareAndSwap must answer true .* or false/);
        return true;
      });
    });
  }
});

describe("storage calls that never settle: TIMEOUT, the record as before or as after", () => {
  const never = () => new Promise(() => {});
  for (const [label, hang] of [["get", "get"], ["put (no compareAndSwap)", "put"], ["compareAndSwap", "compareAndSwap"]]) {
    test(`a ${label} that never settles rejects with TIMEOUT after timeoutMs`, { timeout: 5000 }, async () => {
      const map = new Map();
      const store = {
        get: async (k) => map.get(k) ?? null,
        put: async (k, v) => { map.set(k, v); },
        ...(hang !== "put" ? { compareAndSwap: async (k, e, v) => ((map.get(k) ?? null) === e ? (map.set(k, v), true) : false) } : {}),
      };
      const otp = new OtpManager(store, { ...OPTIONS, timeoutMs: 50, now: () => T0 });
      const { code } = await otp.create(USER);
      const before = map.get(KEY);
      store[hang] = never;
      const hung = new OtpManager(store, { ...OPTIONS, timeoutMs: 50, now: () => T0 });
      const t = performance.now();
      await assert.rejects(hung.check(USER, wrongCode(code)), (e) => e instanceof OtpError && e.code === "TIMEOUT" && e.timeoutMs === 50);
      const ms = performance.now() - t;
      assert.ok(ms >= 45 && ms < 1000, `rejected after ${ms} ms`);
      assert.equal(map.get(KEY), before, "nothing half-written");
      // The key's turn was released: a healthy manager on the healed store goes on.
      store[hang] = hang === "get" ? async (k) => map.get(k) ?? null : store[hang];
      const healed = new OtpManager({ get: async (k) => map.get(k) ?? null, put: async (k, v) => { map.set(k, v); } }, { ...OPTIONS, now: () => T0 });
      assert.equal(await healed.verify(USER, code), true);
    });
  }
  test("a compareAndSwap that lands after its TIMEOUT writes nothing over the operations after it", { timeout: 5000 }, async () => {
    const map = new Map();
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    let slowNext = false;
    const store = {
      get: async (k) => map.get(k) ?? null,
      put: (k, v) => void map.set(k, v),
      // The compare happens when the call lands, as in a database.
      compareAndSwap: (k, expected, v) => {
        const ms = slowNext ? 200 : 1;
        slowNext = false;
        return sleep(ms).then(() => ((map.get(k) ?? null) === expected ? (map.set(k, v), true) : false));
      },
    };
    const otp = new OtpManager(store, { ...OPTIONS, maxAttempts: 10, failureLimit: null, timeoutMs: 50, now: () => T0 });
    const { code } = await otp.create(USER);
    slowNext = true;
    const answers = await Promise.allSettled(Array.from({ length: 6 }, () => otp.check(USER, wrongCode(code))));
    assert.equal(answers[0].reason?.code, "TIMEOUT", "the first check's write is slow");
    assert.deepEqual(answers.slice(1).map((a) => a.value?.attemptsLeft), [9, 8, 7, 6, 5], "the others are counted after it");
    await sleep(300); // the late compare-and-swap lands, finds a newer record and writes nothing
    assert.equal((await otp.getLatestOtp(USER)).attempts, 5, "no attempt given back");
  });
  test("a thenable whose then() throws rejects with that error at once and leaves no timer behind", async () => {
    const boom = new Error("then exploded");
    const store = { get: () => ({ then() { throw boom; } }), put() {} };
    const otp = new OtpManager(store, { ...OPTIONS, timeoutMs: 600_000, now: () => T0 });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    await assert.rejects(otp.create(USER), (e) => e === boom);
    assert.equal(timers(), before, "the operation's TIMEOUT timer was cleared");
  });

  test("timeoutMs: null waits as long as the store takes", async () => {
    const map = new Map();
    const slow = (v) => new Promise((r) => setTimeout(() => r(v), 80));
    const otp = new OtpManager({ get: (k) => slow(map.get(k) ?? null), put: (k, v) => slow(map.set(k, v)) }, { ...OPTIONS, timeoutMs: null });
    assert.match((await otp.create(USER)).code, /^\d{4}$/);
    const short = new OtpManager({ get: (k) => slow(map.get(k) ?? null), put: (k, v) => slow(map.set(k, v)) }, { ...OPTIONS, timeoutMs: 20 });
    await assert.rejects(short.getLatestOtp(USER), (e) => e.code === "TIMEOUT");
  });
  test("timeoutMs is validated in Rust like every option", () => {
    for (const bad of [0, -1, 1.5, "10", 2 ** 31]) {
      assert.throws(() => new OtpManager(memoryStorage(), { ...OPTIONS, timeoutMs: bad }), (e) => e.code === "INVALID_CONFIG" && e.field === "timeoutMs");
    }
  });
});

describe("storage methods come from the store or its class, never from Object.prototype", () => {
  test("a polluted Object.prototype.compareAndSwap does not make a { get, put } store a CAS store", async () => {
    Object.prototype.compareAndSwap = () => true;
    try {
      const map = new Map();
      let puts = 0;
      const otp = new OtpManager({ get: (k) => map.get(k) ?? null, put: (k, v) => { puts++; map.set(k, v); } }, { ...OPTIONS, now: () => T0 });
      const { code } = await otp.create(USER);
      for (let i = 0; i < 3; i++) await otp.check(USER, wrongCode(code, i));
      assert.equal(puts, 4, "every write went through put");
      assert.equal((await otp.getLatestOtp(USER)).attempts, 3, "attempts counted");
    } finally {
      delete Object.prototype.compareAndSwap;
    }
  });
  test("methods of the store's class are used", async () => {
    class Store {
      #m = new Map();
      get(k) { return this.#m.get(k) ?? null; }
      put(k, v) { this.#m.set(k, v); }
      compareAndSwap(k, e, v) { if ((this.#m.get(k) ?? null) !== e) return false; this.#m.set(k, v); return true; }
    }
    const otp = new OtpManager(new Store(), { ...OPTIONS, now: () => T0 });
    const { code } = await otp.create(USER);
    assert.equal(await otp.verify(USER, code), true);
  });
});

test("fault case count", () => {
  console.log(`fault cases run: ${casesRun}, not applicable (fault kind does not fit the call): ${casesSkipped}`);
  assert.ok(casesRun > 300);
});
