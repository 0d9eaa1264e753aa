// Checks of the edge-otp/sql stores that hold for PostgreSQL, SQLite and D1 alike:
// compare-and-swap edge cases, expirationTtl (expires_at), purgeExpired, delete,
// createTable idempotence, table-name validation (injection attempts refused) and
// values as bound parameters.
//
// Runtime-neutral (no node: imports), so tests/js/fixtures/sql-d1-worker.js runs the same
// checks inside workerd. `sqlChecks` is a list of `{ name, run(ctx) }`; ctx:
//   ctx.factory      (db, options) => storage: postgresStorage / sqliteStorage / d1Storage
//   ctx.db           the driver handle
//   ctx.OtpManager   from the entry under test
//   ctx.assert       ok / equal / deepEqual (node:assert/strict or conformance's miniAssert)
//   ctx.tableExists  async (name) => boolean
//   ctx.prefix       a table-name prefix unique to this run
//   ctx.refusesNul   true for PostgreSQL (its text type cannot hold U+0000)
// With node:test:  for (const c of sqlChecks) test(c.name, () => c.run(ctx));

const T0 = Date.UTC(2030, 0, 1);
let seq = 0;

/** A fresh table with an injected clock; answers { storage, clock, table }. */
async function fresh(ctx, tag) {
  const clock = { t: T0 };
  const table = `${ctx.prefix}_${tag}_${++seq}`;
  const storage = ctx.factory(ctx.db, { table, now: () => clock.t });
  await storage.createTable();
  return { storage, clock, table };
}

async function throwsLike(fn, check, label) {
  let err = null;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  if (err === null) throw new Error(`${label}: expected an error`);
  check(err);
  return err;
}

/**
 * That `call` fails as the store delivers errors: a synchronous throw from SQLite, a
 * rejected Promise (never a throw) from PostgreSQL and D1.
 */
function assertDelivery(ctx, call, label) {
  let delivered;
  try {
    const r = call();
    delivered = r instanceof Promise ? "rejection" : "value";
    if (r instanceof Promise) r.catch(() => {});
  } catch {
    delivered = "throw";
  }
  ctx.assert.equal(delivered, ctx.factory.name === "sqliteStorage" ? "throw" : "rejection", `${label}: how the error is delivered`);
}

const BAD_TABLES = [
  "edge_otp; DROP TABLE edge_otp; --",
  'edge_otp" (key text); --',
  "edge_otp WHERE 1=1",
  "1abc",
  "",
  "a".repeat(64),
  "tab le",
  "tablé",
  "edge-otp",
  "edge_otp\u0000",
  42,
  {},
];

export const sqlChecks = [
  {
    name: "compareAndSwap: from null inserts once; from a value only over that exact value",
    async run(ctx) {
      const { assert } = ctx;
      const { storage: s } = await fresh(ctx, "cas");
      assert.equal(await s.get("k"), null);
      assert.equal(await s.compareAndSwap("k", null, "a"), true);
      assert.equal(await s.compareAndSwap("k", null, "b"), false, "absent-only CAS over a live row");
      assert.equal(await s.get("k"), "a");
      assert.equal(await s.compareAndSwap("k", "x", "b"), false, "wrong expected");
      assert.equal(await s.compareAndSwap("other", "a", "b"), false, "expected value on an absent row");
      assert.equal(await s.get("other"), null);
      assert.equal(await s.compareAndSwap("k", "a", "b"), true);
      assert.equal(await s.compareAndSwap("k", "a", "c"), false, "stale expected");
      assert.equal(await s.get("k"), "b");
      await s.put("k", "p");
      assert.equal(await s.get("k"), "p");
      assert.equal(await s.compareAndSwap("k", "p", ""), true, "empty string is a value");
      assert.equal(await s.get("k"), "");
      assert.equal(await s.compareAndSwap("k", null, "z"), false, "an empty value is not absent");
    },
  },
  {
    name: "delete answers whether a live row existed",
    async run(ctx) {
      const { assert } = ctx;
      const { storage: s, clock } = await fresh(ctx, "del");
      assert.equal(await s.delete("k"), false);
      await s.put("k", "v");
      assert.equal(await s.delete("k"), true);
      assert.equal(await s.get("k"), null);
      assert.equal(await s.delete("k"), false);
      await s.put("e", "v", { expirationTtl: 10 });
      clock.t += 10_000;
      assert.equal(await s.delete("e"), false, "an expired row did not exist");
      assert.equal(await s.purgeExpired(), 0, "delete removed the expired row too");
    },
  },
  {
    name: "expirationTtl: a row reads absent from expires_at on; put and CAS-from-null replace it",
    async run(ctx) {
      const { assert } = ctx;
      const { storage: s, clock } = await fresh(ctx, "ttl");
      await s.put("k", "v1", { expirationTtl: 60 });
      clock.t = T0 + 59_999;
      assert.equal(await s.get("k"), "v1", "1 ms before expiry");
      clock.t = T0 + 60_000;
      assert.equal(await s.get("k"), null, "at expires_at");
      assert.equal(await s.compareAndSwap("k", "v1", "v2"), false, "an expired row cannot be swapped from its value");
      assert.equal(await s.compareAndSwap("k", null, "v2", { expirationTtl: 30 }), true, "CAS from null over an expired row");
      assert.equal(await s.get("k"), "v2");
      assert.equal(await s.compareAndSwap("k", null, "v3"), false, "the fresh row is live");
      clock.t += 30_000;
      assert.equal(await s.get("k"), null);
      await s.put("k", "v4");
      clock.t += 10 * 365 * 86_400_000;
      assert.equal(await s.get("k"), "v4", "without expirationTtl a put never expires");
      assert.equal(await s.compareAndSwap("k", "v4", "v5", { expirationTtl: 0.0004 }), true, "fractions of a second round up to whole ms");
      assert.equal(await s.get("k"), "v5");
      clock.t += 1;
      assert.equal(await s.get("k"), null);
      // Not a number is refused without converting it: a Symbol or an object whose valueOf
      // throws is INVALID_ARGUMENT too, not a TypeError from the conversion.
      const hostile = { valueOf() { throw new Error("converted"); } };
      // Nor one past what the database holds (1e300 s used to fail in PostgreSQL as 22P02).
      for (const bad of [0, -1, Number.NaN, Infinity, 1e300, 3_153_600_001, "60", 60n, Symbol("ttl"), hostile]) {
        const ttlRefused = (e) => {
          assert.ok(e instanceof RangeError, String(e?.message));
          assert.equal(e.code, "INVALID_ARGUMENT");
          assert.equal(e.argument, "expirationTtl");
          // named as every adapter refusal is: the adapter, the store, the method
          assert.ok(/^edge-otp\/sql: \w+Storage: (put|compareAndSwap): expirationTtl must be /.test(e.message), e.message);
        };
        await throwsLike(() => s.put("k", "x", { expirationTtl: bad }), ttlRefused, `ttl ${typeof bad}`);
        await throwsLike(() => s.compareAndSwap("k", null, "x", { expirationTtl: bad }), ttlRefused, `cas ttl ${typeof bad}`);
      }
      assert.equal(await s.get("k"), null, "nothing written by a refused ttl");
    },
  },
  {
    name: "purgeExpired deletes expired rows in batches of at most `limit` and answers how many",
    async run(ctx) {
      const { assert } = ctx;
      const { storage: s, clock } = await fresh(ctx, "purge");
      for (let i = 0; i < 25; i++) await s.put(`old-${i}`, "v", { expirationTtl: 60 });
      for (let i = 0; i < 5; i++) await s.put(`forever-${i}`, "v");
      for (let i = 0; i < 5; i++) await s.put(`later-${i}`, "v", { expirationTtl: 3600 });
      assert.equal(await s.purgeExpired({ limit: 10 }), 0, "nothing expired yet");
      clock.t += 60_000;
      assert.equal(await s.purgeExpired({ limit: 10 }), 25);
      assert.equal(await s.purgeExpired({ limit: 10 }), 0);
      for (let i = 0; i < 5; i++) {
        assert.equal(await s.get(`forever-${i}`), "v");
        assert.equal(await s.get(`later-${i}`), "v");
      }
      clock.t += 3600_000;
      assert.equal(await s.purgeExpired(), 5, "default limit");
      assert.equal(await s.get("forever-0"), "v");
      for (const bad of [0, -1, 1.5, "10", 2 ** 63]) { // 2 ** 63 used to fail in PostgreSQL (22003)
        await throwsLike(() => s.purgeExpired({ limit: bad }), (e) => {
          assert.ok(e instanceof RangeError, String(e));
          assert.equal(e.code, "INVALID_ARGUMENT");
          assert.equal(e.argument, "limit");
          assert.ok(/^edge-otp\/sql: \w+Storage: purgeExpired: limit must be /.test(e.message), e.message);
        }, `limit ${bad}`);
      }
      // A mistyped option is refused (not the default limit), and named; not an object too.
      for (const [bad, named] of [[{ lim: 1 }, "unknown option lim "], [5, "options must be an object"], [[], "options must be an object"]]) {
        await throwsLike(() => s.purgeExpired(bad), (e) => {
          assert.ok(e instanceof RangeError, String(e));
          assert.equal(e.code, "INVALID_ARGUMENT");
          assert.equal(e.argument, "options");
          assert.ok(e.message.includes(named), e.message);
        }, JSON.stringify(bad));
      }
      assert.equal(await s.purgeExpired(null), 0, "null is no options");
    },
  },
  {
    name: "OtpManager with retentionSeconds: the record expires with the row",
    async run(ctx) {
      const { assert } = ctx;
      const { storage: s, clock } = await fresh(ctx, "mgr");
      const otp = new ctx.OtpManager(s, { secret: "sql checks secret 0123456789", retentionSeconds: 86_400, now: () => clock.t });
      const user = "ttl@example.com";
      const { code } = await otp.create(user);
      assert.equal((await otp.getLatestOtp(user)).status, "active");
      clock.t += 86_400_000;
      assert.equal(await otp.getLatestOtp(user), null, "expired row reads absent");
      assert.equal(await otp.verify(user, code), false);
      const again = await otp.create(user);
      assert.equal(await otp.verify(user, again.code), true, "a new record replaces the expired row");
    },
  },
  {
    name: "createTable is idempotent; keys and values are bound parameters",
    async run(ctx) {
      const { assert } = ctx;
      const { storage: s } = await fresh(ctx, "bind");
      await s.createTable();
      await s.createTable();
      const nasty = [`'; DROP TABLE ${s.table}; --`, '" OR 1=1 --', "\\", "ünïcødé ✓ 😀", "a'b\"c", "x".repeat(5000)];
      for (const v of nasty) {
        await s.put(v, v);
        assert.equal(await s.get(v), v);
        assert.equal(await s.compareAndSwap(v, v, `${v}!`), true);
        assert.equal(await s.get(v), `${v}!`);
      }
      assert.ok(await ctx.tableExists(s.table), "the table survived");
      assert.equal(await s.get("' OR '1'='1"), null);
    },
  },
  {
    name: "a clock answering fractional milliseconds: every method works, expires_at in whole milliseconds",
    async run(ctx) {
      const { assert } = ctx;
      const clock = { t: T0 + 0.75 };
      const table = `${ctx.prefix}_frac_${++seq}`;
      const s = ctx.factory(ctx.db, { table, now: () => clock.t });
      await s.createTable();
      await s.put("k", "v", { expirationTtl: 60 });
      assert.equal(await s.get("k"), "v");
      assert.equal(await s.compareAndSwap("k", "v", "w", { expirationTtl: 60 }), true);
      clock.t = T0 + 59_999.5; // expires_at = T0 + 60000: still live
      assert.equal(await s.get("k"), "w");
      clock.t = T0 + 60_000.25; // expires_at <= the whole millisecond: expired
      assert.equal(await s.get("k"), null);
      assert.equal(await s.compareAndSwap("k", null, "x", { expirationTtl: 1 }), true);
      assert.equal(await s.delete("k"), true);
      assert.equal(await s.purgeExpired(), 0);
      const otp = new ctx.OtpManager(s, { secret: "sql fractional clock secret 0123", now: () => clock.t });
      const { code } = await otp.create("frac");
      assert.equal(await otp.verify("frac", code), true);
    },
  },
  {
    name: "a clock answering anything but milliseconds: every method refuses with INVALID_ARGUMENT now, before any statement",
    async run(ctx) {
      const { assert } = ctx;
      const table = `${ctx.prefix}_badclock_${++seq}`;
      const good = ctx.factory(ctx.db, { table, now: () => T0 });
      await good.createTable();
      await good.put("k", "v", { expirationTtl: 60 });
      for (const answer of [NaN, Infinity, -1, 2 ** 53, "1700000000000", undefined, null, 10n]) {
        const s = ctx.factory(ctx.db, { table, now: () => answer });
        for (const [method, call] of [
          ["get", () => s.get("k")],
          ["put", () => s.put("k", "w", { expirationTtl: 60 })],
          ["compareAndSwap", () => s.compareAndSwap("k", "v", "w", { expirationTtl: 60 })],
          ["compareAndSwap null", () => s.compareAndSwap("new", null, "w", { expirationTtl: 60 })],
          ["delete", () => s.delete("k")],
          ["purgeExpired", () => s.purgeExpired()],
        ]) {
          assertDelivery(ctx, call, method);
          await throwsLike(call, (e) => {
            assert.ok(e instanceof RangeError, `${method} with now() = ${String(answer)}: ${e}`);
            assert.equal(e.code, "INVALID_ARGUMENT");
            assert.equal(e.argument, "now");
          }, `${method}, now() = ${String(answer)}`);
        }
      }
      assert.equal(await good.get("k"), "v", "nothing was written");
      assert.equal(await good.get("new"), null, "nothing was inserted");
    },
  },
  {
    name: "a key, value or expected that is not a string: INVALID_ARGUMENT naming it, before any statement, as the store delivers errors",
    async run(ctx) {
      const { assert } = ctx;
      const { storage: s } = await fresh(ctx, "types");
      await s.put("k", "v");
      // The drivers would bind them as they are: SQLite stores 42 as an integer (a later
      // get answers a number), PostgreSQL converts it to "42".
      const hostile = { toString() { throw new Error("converted"); } };
      for (const bad of [4915112345678, 1.5, 1n, true, null, undefined, {}, ["k"], Symbol("k"), hostile]) {
        const calls = [
          ["key", "get", () => s.get(bad)],
          ["key", "put", () => s.put(bad, "v")],
          ["value", "put", () => s.put("k", bad)],
          ["key", "compareAndSwap", () => s.compareAndSwap(bad, null, "v")],
          ["value", "compareAndSwap", () => s.compareAndSwap("k", "v", bad)],
          ["key", "delete", () => s.delete(bad)],
        ];
        if (bad !== null && bad !== undefined) calls.push(["expected", "compareAndSwap", () => s.compareAndSwap("k", bad, "w")]);
        for (const [argument, method, call] of calls) {
          const label = `${method}: ${argument} ${typeof bad} ${Array.isArray(bad) ? "array" : ""}`;
          assertDelivery(ctx, call, label);
          await throwsLike(call, (e) => {
            assert.ok(e instanceof RangeError, `${label}: ${e}`);
            assert.equal(e.code, "INVALID_ARGUMENT", label);
            assert.equal(e.argument, argument, label);
            assert.ok(e.message.includes(`${method}: ${argument} must be a string`), e.message);
            if (typeof bad === "number") assert.ok(!e.message.includes(String(bad)), "the message does not repeat the value");
          }, label);
        }
      }
      assert.equal(await s.get("k"), "v", "nothing was written over k");
      for (const converted of ["4915112345678", "1.5", "1", "true", "[object Object]"]) {
        assert.equal(await s.get(converted), null, `no row ${converted}`);
      }
    },
  },
  {
    name: "a key containing U+0000: kept apart from the key without it, or (PostgreSQL) refused with INVALID_ARGUMENT before any query",
    async run(ctx) {
      const { assert } = ctx;
      const { storage: s } = await fresh(ctx, "nul");
      const otp = new ctx.OtpManager(s, { secret: "sql nul key secret 0123456789ab", now: () => T0 });
      const plain = await otp.create("ab");
      if (ctx.refusesNul) {
        for (const call of [() => s.get("a\0b"), () => s.put("a\0b", "v"), () => s.compareAndSwap("a\0b", null, "v"), () => s.delete("a\0b")]) {
          await throwsLike(call, (e) => {
            assert.ok(e instanceof RangeError, String(e));
            assert.equal(e.code, "INVALID_ARGUMENT");
            assert.equal(e.argument, "key");
            assert.ok(!e.message.includes("a\0b"), "the message does not repeat the key");
          }, "NUL key");
        }
        await throwsLike(() => otp.create("a\0b"), (e) => assert.equal(e.code, "INVALID_ARGUMENT"), "create");
        await throwsLike(() => otp.verify("a\0b", plain.code), (e) => assert.equal(e.code, "INVALID_ARGUMENT"), "verify");
      } else {
        const nul = await otp.create("a\0b");
        assert.equal(await otp.verify("a\0b", nul.code), true);
        assert.equal(await s.get(otp.keyFor("a\0b")) === null, false, "the NUL key's row exists");
      }
      assert.equal(await otp.verify("ab", plain.code), true, "the key without NUL is untouched");
    },
  },
  {
    name: "table names are validated: injection attempts and bad names refused (INVALID_CONFIG), good ones work",
    async run(ctx) {
      const { assert } = ctx;
      for (const table of BAD_TABLES) {
        await throwsLike(
          () => ctx.factory(ctx.db, { table }),
          (e) => {
            assert.ok(e instanceof TypeError, `table ${JSON.stringify(table)}: ${e}`);
            assert.equal(e.code, "INVALID_CONFIG");
            // It names the factory that refused it, as its other refusals do.
            assert.ok(e.message.startsWith(`edge-otp/sql: ${ctx.factory.name}: table must match`), e.message);
          },
          `table ${JSON.stringify(table)}`,
        );
      }
      await throwsLike(() => ctx.factory(ctx.db, { now: 5 }), (e) => assert.equal(e.code, "INVALID_CONFIG"), "now");
      await throwsLike(() => ctx.factory(ctx.db, []), (e) => assert.equal(e.code, "INVALID_CONFIG"), "an array");
      // A mistyped option is refused, not ignored (the store would use the default table).
      // The message names the mistyped key (a long one is not copied).
      const longKey = `k${"y".repeat(10_000)}`;
      for (const [bad, named] of [
        [{ tabel: `${ctx.prefix}_typo` }, "tabel"],
        [{ table: `${ctx.prefix}_ok`, ttl: 60 }, "ttl"],
        [{ [longKey]: 1 }, "(a long key)"],
        [{ "table\nFORGED log line": 1 }, "(a key with other characters)"],
      ]) {
        await throwsLike(() => ctx.factory(ctx.db, bad), (e) => {
          assert.ok(e instanceof TypeError, String(e));
          assert.equal(e.code, "INVALID_CONFIG");
          assert.ok(e.message.includes(`unknown option ${named} `) && e.message.length < 200, e.message.slice(0, 200));
        }, named);
      }
      // Options are the object's own: a polluted Object.prototype changes neither the table
      // nor the clock.
      Object.prototype.table = "polluted; DROP TABLE edge_otp";
      Object.prototype.now = 5;
      let polluted;
      try {
        polluted = ctx.factory(ctx.db, {});
      } finally {
        delete Object.prototype.table;
        delete Object.prototype.now;
      }
      assert.equal(polluted.table, "edge_otp", "a table inherited from Object.prototype is not used");
      await throwsLike(() => ctx.factory(null), (e) => assert.equal(e.code, "INVALID_CONFIG"), "null handle");
      await throwsLike(() => ctx.factory({}), (e) => assert.equal(e.code, "INVALID_CONFIG"), "not a handle");
      // The longest name allowed, mixed case (quoted, so kept as is), and a reserved word.
      for (const table of [`${ctx.prefix}_${"L".repeat(62 - ctx.prefix.length)}`, `${ctx.prefix}_MixedCase`, "order"]) {
        const s = ctx.factory(ctx.db, { table });
        await s.createTable();
        await s.createTable();
        assert.equal(s.table, table);
        await s.put("k", "v");
        assert.equal(await s.get("k"), "v");
        assert.equal(await s.delete("k"), true);
        assert.ok(await ctx.tableExists(table), table);
      }
      assert.equal(ctx.factory(ctx.db).table, "edge_otp", "default table");
    },
  },
];

// ------------------------------------------------------------------ storms over many handles

const STORM_SECRET = "sql storm secret 0123456789abcdef";
const tallyBy = (xs, key) => xs.reduce((o, x) => ((o[key(x)] = (o[key(x)] ?? 0) + 1), o), {});
const reasonOf = (r) => (r.status === "fulfilled" ? r.value.reason : `error:${r.reason?.code ?? r.reason?.message ?? r.reason}`);
const wrongOf = (code, i) => String((Number(code) + 1 + (i % (10 ** code.length - 1))) % 10 ** code.length).padStart(code.length, "0");

/**
 * `n` concurrent wrong guesses on one user, spread round-robin over one OtpManager per
 * storage in `storages` (one per connection / pool / database handle), then `rightN`
 * concurrent verifications of a fresh code the same way. Answers the tallies, the attempts
 * the record holds afterwards, and how many verifications answered true. No code is
 * returned or logged.
 */
// `OtpManagers`: one class per package instance (managers of one instance take turns per
// key, so only managers of different instances interleave at the store); default: one.
export async function spreadStorms({ OtpManager, OtpManagers = [OtpManager], storages, user, n = 1000, rightN = 100, maxAttempts = 3 }) {
  const options = { secret: STORM_SECRET, maxAttempts, failureLimit: null, issueLimit: null, resendCooldownSeconds: 0 };
  const managers = storages.map((s, i) => new OtpManagers[i % OtpManagers.length](s, options));
  const { code } = await managers[0].create(user);
  const t0 = Date.now();
  const wrong = await Promise.allSettled(Array.from({ length: n }, (_, i) => managers[i % managers.length].check(user, wrongOf(code, i))));
  const wrongMs = Date.now() - t0;
  const latest = await managers[managers.length - 1].getLatestOtp(user);
  const right = await managers[0].create(user);
  const t1 = Date.now();
  const rights = await Promise.allSettled(Array.from({ length: rightN }, (_, i) => managers[i % managers.length].verify(user, right.code)));
  const rightMs = Date.now() - t1;
  return {
    wrong: { n, maxAttempts, handles: storages.length, answers: tallyBy(wrong, reasonOf), attempts: latest.attempts, status: latest.status, ms: wrongMs },
    right: {
      n: rightN,
      handles: storages.length,
      verified: rights.filter((r) => r.status === "fulfilled" && r.value === true).length,
      answers: tallyBy(rights, (r) => (r.status === "fulfilled" ? String(r.value) : `error:${r.reason?.code ?? r.reason?.message}`)),
      status: (await managers[0].getLatestOtp(user)).status,
      ms: rightMs,
    },
  };
}

/** Asserts the exact outcome of spreadStorms. */
export function assertExactStorms(assert, figures) {
  const { wrong, right } = figures;
  assert.deepEqual(wrong.answers, { invalid: wrong.maxAttempts, exhausted: wrong.n - wrong.maxAttempts }, `wrong storm: ${JSON.stringify(wrong)}`);
  assert.equal(wrong.attempts, wrong.maxAttempts, "attempts recorded");
  assert.equal(wrong.status, "exhausted");
  assert.equal(right.verified, 1, `right storm: ${JSON.stringify(right)}`);
  assert.deepEqual(right.answers, { true: 1, false: right.n - 1 });
  assert.equal(right.status, "used");
}
