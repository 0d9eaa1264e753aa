// edge-otp/sql on a real PostgreSQL under faults: while a storm of wrong guesses and
// right verifications runs over 4 OtpManagers (a pg.Pool each), the server's client
// backends are killed with pg_terminate_backend, the server is crashed and restarted
// (SIGQUIT: immediate shutdown, crash recovery on start), and backends are killed again.
// Then:
//   - every operation settled (a guard fails the test if one hangs for 20 s; the pools
//     have connection and query timeouts), answering or rejecting with an error that
//     node-postgres itself rejected with (the same object, recorded by a thin wrapper);
//   - per user, `invalid` answers and the attempts the record holds never exceed
//     maxAttempts, and no code verifies twice (answers true at most once, and not again
//     afterwards);
//   - once the server is back, the same managers (same pools) issue and verify codes.
//
//   node --test tests/js/sql-postgres-faults.test.mjs
// Needs Debian's postgresql package; EDGE_OTP_ALLOW_NO_POSTGRES=1 skips when it is missing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { startPostgres, postgresSkip } from "./postgres-server.mjs";
import { OtpManager, OtpError } from "../../pkg/node.js";
import { postgresStorage } from "../../pkg/sql.js";

const skip = postgresSkip();
const report = (figures) => console.log(JSON.stringify(figures));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const SECRET = "sql postgres faults secret 0123456789";
const MAX_ATTEMPTS = 5;
// The storm moves through the users: in each SLOT_MS it targets PER_SLOT of them, which
// then run out of attempts or are verified, so that writes go on during every fault.
const SLOT_MS = 50;
const PER_SLOT = 3;
const USERS = 240;
const MANAGERS = 4;
const LANES_PER_MANAGER = 6;
const STORM_MS = 4000;
const HANG_MS = 20_000;
const POOL_OPTIONS = { max: 4, connectionTimeoutMillis: 2000, query_timeout: 5000, statement_timeout: 4000, idleTimeoutMillis: 1000 };
const OPTIONS = { secret: SECRET, maxAttempts: MAX_ATTEMPTS, failureLimit: null, issueLimit: null, resendCooldownSeconds: 0 };

let server;
const pools = [];
const t0 = performance.now();
before(async () => {
  if (skip) return;
  server = await startPostgres();
});
after(async () => {
  await Promise.all(pools.map((p) => p.end().catch(() => {})));
  await server?.stop();
  report({ postgres: "stopped", totalMs: Math.round(performance.now() - t0) });
});

/** A query on a short-lived admin connection (reconnects after every restart). */
async function admin(text) {
  const c = new pg.Client({ ...server.config, connectionTimeoutMillis: 3000 });
  c.on("error", () => {});
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end().catch(() => {});
  }
}

const terminateAll = async () =>
  (await admin("SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")).rows[0].n;

const wrongOf = (code) => String((Number(code[0]) + 1) % 10) + code.slice(1);

test("storm under pg_terminate_backend and a server crash + restart: every operation settles with an answer or the driver's error; no over-count, no double verify; the same managers work after", { skip, timeout: 120_000 }, async () => {
  // Drivers' rejections, recorded so that each rejected operation can be matched by identity.
  const driverErrors = new Set();
  const managers = [];
  for (let i = 0; i < MANAGERS; i++) {
    const pool = new pg.Pool({ ...server.config, ...POOL_OPTIONS });
    pool.on("error", () => {}); // idle clients killed by the server; the pool drops them
    pools.push(pool);
    const db = { query: (text, values) => pool.query(text, values).catch((e) => (driverErrors.add(e), Promise.reject(e))) };
    const storage = postgresStorage(db);
    if (i === 0) await storage.createTable();
    managers.push(new OtpManager(storage, OPTIONS));
  }

  const users = [];
  for (let u = 0; u < USERS; u++) {
    const user = `fault-${u}@example.com`;
    const { code } = await managers[u % MANAGERS].create(user);
    users.push({ user, code, invalid: 0, verified: 0, other: {} });
  }

  const outcomes = { answered: 0, rejected: 0, hung: 0, errors: {} };
  const foreign = [];
  let stop = false;
  let seq = 0;

  async function lane(m) {
    while (!stop) {
      const slot = Math.floor((performance.now() - start) / SLOT_MS);
      const n = seq++;
      const u = users[(slot * PER_SLOT + (n % PER_SLOT)) % USERS];
      const right = n % 7 === 0;
      const op = right ? managers[m].check(u.user, u.code) : managers[m].check(u.user, wrongOf(u.code));
      let timer;
      const guard = new Promise((resolve) => {
        timer = setTimeout(() => resolve("hung"), HANG_MS);
      });
      const r = await Promise.race([op.then((v) => ({ v }), (e) => ({ e })), guard]);
      clearTimeout(timer);
      if (r === "hung") {
        outcomes.hung++;
        continue;
      }
      if ("e" in r) {
        outcomes.rejected++;
        const key = r.e?.code ?? r.e?.message ?? String(r.e);
        outcomes.errors[key] = (outcomes.errors[key] ?? 0) + 1;
        if (!driverErrors.has(r.e)) foreign.push(r.e);
        await sleep(20); // the server may be down: do not spin
        continue;
      }
      outcomes.answered++;
      if (r.v.reason === "invalid") u.invalid++;
      else if (r.v.reason === "verified") u.verified++;
      else u.other[r.v.reason] = (u.other[r.v.reason] ?? 0) + 1;
    }
  }

  const faults = [];
  const faultRun = (async () => {
    await sleep(500);
    faults.push({ at: Math.round(performance.now() - start), fault: "pg_terminate_backend", backends: await terminateAll() });
    await sleep(600);
    const r0 = performance.now();
    await server.restart({ immediate: true, downMs: 400 });
    faults.push({ at: Math.round(r0 - start), fault: "crash (SIGQUIT) + restart", downMs: Math.round(performance.now() - r0) });
    await sleep(800);
    faults.push({ at: Math.round(performance.now() - start), fault: "pg_terminate_backend", backends: await terminateAll() });
    await sleep(500);
    const r1 = performance.now();
    await server.restart({ immediate: false, downMs: 200 });
    faults.push({ at: Math.round(r1 - start), fault: "fast shutdown (SIGINT) + restart", downMs: Math.round(performance.now() - r1) });
  })();

  const start = performance.now();
  const lanes = [];
  for (let m = 0; m < MANAGERS; m++) for (let l = 0; l < LANES_PER_MANAGER; l++) lanes.push(lane(m));
  await faultRun;
  await sleep(Math.max(0, STORM_MS - (performance.now() - start)));
  stop = true;
  await Promise.all(lanes);
  const stormMs = Math.round(performance.now() - start);

  // The server is back: read every record, try every code once more.
  let verifiedAfter = 0;
  const status = {};
  const attempts = [];
  for (const u of users) {
    const latest = await managers[0].getLatestOtp(u.user);
    attempts.push(latest.attempts);
    status[latest.status] = (status[latest.status] ?? 0) + 1;
    assert.ok(latest.attempts <= MAX_ATTEMPTS, `${u.user}: ${latest.attempts} attempts recorded > ${MAX_ATTEMPTS}`);
    assert.ok(u.invalid <= MAX_ATTEMPTS, `${u.user}: ${u.invalid} invalid answers > ${MAX_ATTEMPTS}`);
    assert.ok(latest.attempts >= u.invalid, `${u.user}: an answered wrong guess was not counted`);
    assert.ok(u.verified <= 1, `${u.user}: verified ${u.verified} times`);
    if (await managers[1].verify(u.user, u.code)) {
      verifiedAfter++;
      assert.equal(u.verified, 0, `${u.user}: its code verified twice`);
    }
  }

  report({
    storm: "faults", store: `postgres, ${MANAGERS} pg.Pools max ${POOL_OPTIONS.max}, ${MANAGERS * LANES_PER_MANAGER} lanes`,
    stormMs, faults, ...outcomes, finalStatus: status, foreignErrors: foreign.length,
    verifiedInStorm: users.reduce((n, u) => n + u.verified, 0), verifiedAfter,
    invalidAnswers: users.reduce((n, u) => n + u.invalid, 0), attemptsRecorded: attempts.reduce((a, b) => a + b, 0),
  });

  assert.equal(outcomes.hung, 0, "no operation hung");
  assert.deepEqual(foreign.map((e) => `${e?.name}: ${e?.code ?? ""} ${e?.message}`), [], "every rejection is the driver's own error object");
  assert.ok(!foreign.some((e) => e instanceof OtpError));
  assert.ok(outcomes.rejected > 0, "the faults reached the operations");
  assert.ok(outcomes.answered > outcomes.rejected, "most operations answered");
  assert.equal(faults.length, 4);

  // The same managers, on the same pools, work again.
  for (let i = 0; i < MANAGERS; i++) {
    const user = `after-${i}@example.com`;
    const { code } = await managers[i].create(user);
    assert.equal((await managers[(i + 1) % MANAGERS].check(user, wrongOf(code))).reason, "invalid");
    assert.equal(await managers[(i + 2) % MANAGERS].verify(user, code), true);
    assert.equal(await managers[(i + 3) % MANAGERS].verify(user, code), false);
  }
});
