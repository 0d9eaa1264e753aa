// edge-otp/sql over a real PostgreSQL (postgresStorage, node-postgres), on the package as
// users get it (packed, installed into an empty project, imported by name):
//  1. the shared conformance suite (conformance.mjs) over a pg.Pool;
//  2. the SQL store checks (sql-checks.mjs) and the schema createTable() makes;
//  3. storms: the three of reliability-lib.mjs over one Pool (exact); 1000 wrong / 100
//     right guesses spread over 8 Clients, i.e. 8 connections (exact); the same from two
//     Node processes with a Pool each (tests/js/sql-pg-hammer-worker.mjs) (exact);
//  4. driver errors reach the caller as the driver's own error object.
// The server is private (tests/js/postgres-server.mjs): a fresh data directory, 127.0.0.1
// only, stopped after the tests (also when they fail).
//
//   node --test tests/js/sql-postgres.test.mjs
// Needs Debian's postgresql package; EDGE_OTP_ALLOW_NO_POSTGRES=1 skips when it is missing.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import pg from "pg";
import { startPostgres, postgresSkip } from "./postgres-server.mjs";
import { runConformance } from "./conformance.mjs";
import { sqlChecks, spreadStorms, assertExactStorms } from "./sql-checks.mjs";
import { loadInstances } from "./instances.mjs";
import { concurrencySuite } from "./reliability-lib.mjs";
import { installedPackage } from "./tarball.mjs";

const installed = await installedPackage();
const load = () => installed.load("edge-otp");
const { OtpManager, OtpError } = await load();
const { postgresStorage, createTableStatements } = await installed.load("edge-otp/sql");
// Eight instances of the installed package: their managers interleave at the database
// (within one instance, operations on one key take turns).
const OtpManagers = await loadInstances(8, installed.dir);

const skip = postgresSkip();
const report = (figures) => console.log(JSON.stringify(figures));
const WORKER = fileURLToPath(new URL("./sql-pg-hammer-worker.mjs", import.meta.url));
const SECRET = "sql postgres hammer secret 0123456789";
/** Timeouts so that no query waits for ever on a dead server. */
const POOL_OPTIONS = { max: 8, connectionTimeoutMillis: 5000, query_timeout: 15_000, statement_timeout: 10_000 };

let server;
let pool;
const t0 = performance.now();
before(async () => {
  if (skip) return;
  server = await startPostgres();
  report({ postgres: "started", bin: server.bin, user: server.user, ms: Math.round(performance.now() - t0) });
  pool = new pg.Pool({ ...server.config, ...POOL_OPTIONS });
  pool.on("error", () => {});
  await postgresStorage(pool).createTable();
});
after(async () => {
  await pool?.end();
  await server?.stop();
  report({ postgres: "stopped", totalMs: Math.round(performance.now() - t0) });
});

const tableExists = async (name) => (await pool.query("SELECT 1 FROM pg_tables WHERE tablename = $1", [name])).rowCount === 1;

describe("conformance on PostgreSQL (pg.Pool)", { skip }, () => {
  runConformance(test, async () => postgresStorage(pool), { load });
});

describe("SQL store checks on PostgreSQL", { skip }, () => {
  const ctx = {
    factory: postgresStorage,
    get db() {
      return pool;
    },
    OtpManager,
    assert,
    prefix: "pg",
    refusesNul: true,
    tableExists,
  };
  for (const c of sqlChecks) test(c.name, () => c.run(ctx));

  test("the schema createTable() makes: columns, primary key, partial index", async () => {
    const s = postgresStorage(pool, { table: "schema_check" });
    await s.createTable();
    const cols = await pool.query(
      "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
      ["schema_check"],
    );
    assert.deepEqual(cols.rows.map((r) => [r.column_name, r.data_type, r.is_nullable]), [
      ["key", "text", "NO"], ["value", "text", "NO"], ["expires_at", "bigint", "YES"],
    ]);
    const idx = await pool.query("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname", ["schema_check"]);
    assert.deepEqual(idx.rows.map((r) => r.indexname), ["schema_check_expires_at", "schema_check_pkey"]);
    assert.match(idx.rows[0].indexdef, /WHERE \(expires_at IS NOT NULL\)/);
    assert.equal(createTableStatements("schema_check").length, 2);

    // pkg/README.md's SQL, for another table name, makes the same table and index.
    const md = readFileSync(`${installed.dir}/README.md`, "utf8");
    const readme = md.match(/```sql\n([\s\S]*?)```/)[1];
    await pool.query(readme.replaceAll('"edge_otp', '"readme_check'));
    const cols2 = await pool.query(
      "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
      ["readme_check"],
    );
    assert.deepEqual(cols2.rows, cols.rows);
    const idx2 = await pool.query("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname", ["readme_check"]);
    assert.deepEqual(idx2.rows.map((r) => r.indexdef.replaceAll("readme_check", "T")), idx.rows.map((r) => r.indexdef.replaceAll("schema_check", "T")));
  });

  test("8 createTable() at once on a new table (8 connections): all succeed", async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => postgresStorage(pool, { table: "racing_create" }).createTable()));
    assert.deepEqual(results.map((r) => r.status), Array(8).fill("fulfilled"), String(results.find((r) => r.reason)?.reason));
    assert.ok(await tableExists("racing_create"));
  });

  test("createTable() by a role with no right to create in the schema: fine once the table exists (PostgreSQL 15 grants none in public)", async () => {
    await postgresStorage(pool, { table: "least_privilege" }).createTable();
    await pool.query("CREATE ROLE edge_otp_app LOGIN PASSWORD 'app password'");
    await pool.query('GRANT SELECT, INSERT, UPDATE, DELETE ON "least_privilege" TO edge_otp_app');
    const app = new pg.Pool({ ...server.config, ...POOL_OPTIONS, user: "edge_otp_app", password: "app password" });
    app.on("error", () => {});
    try {
      const s = postgresStorage(app, { table: "least_privilege" });
      await s.createTable(); // at every start, as the README's quickstart does
      const otp = new OtpManager(s, { secret: SECRET });
      const { code } = await otp.create("app@example.com");
      assert.equal(await otp.verify("app@example.com", code), true);
      // A table that is missing still needs the right to create it: the driver's error.
      const e = await postgresStorage(app, { table: "never_created" }).createTable().then(() => null, (e) => e);
      assert.equal(e?.code, "42501", String(e));
    } finally {
      await app.end();
    }
  });

  test("a pg.Client works as well as a Pool", async () => {
    const client = new pg.Client(server.config);
    client.on("error", () => {});
    await client.connect();
    try {
      const s = postgresStorage(client, { table: "client_check" });
      await s.createTable();
      assert.equal(await s.compareAndSwap("k", null, "v"), true);
      assert.equal(await s.get("k"), "v");
      assert.equal(await s.delete("k"), true);
    } finally {
      await client.end();
    }
  });
});

describe("PostgreSQL: driver errors", { skip }, () => {
  test("a driver error reaches the OtpManager's caller as the same object; the manager works after", async () => {
    const seen = [];
    const recording = {
      query: (text, values) => pool.query(text, values).catch((e) => {
        seen.push(e);
        throw e;
      }),
    };
    const s = postgresStorage(recording, { table: "not_created_yet" });
    const otp = new OtpManager(s, { secret: "pg driver error secret 0123456789" });
    const err = await otp.create("e@example.com").then(() => null, (e) => e);
    assert.ok(err instanceof pg.DatabaseError, String(err));
    assert.ok(!(err instanceof OtpError));
    assert.equal(err.code, "42P01", "undefined_table");
    assert.strictEqual(err, seen.at(-1), "the very object node-postgres rejected with");
    await s.createTable();
    const { code } = await otp.create("e@example.com");
    assert.equal(await otp.verify("e@example.com", code), true);

    // A statement timeout (the row is locked by another transaction): rejected, not hung.
    const locker = await pool.connect();
    try {
      await locker.query("BEGIN");
      await locker.query(`SELECT * FROM "not_created_yet" WHERE key = $1 FOR UPDATE`, [otp.keyFor("e@example.com")]);
      const slow = new pg.Pool({ ...server.config, max: 1, statement_timeout: 300 });
      slow.on("error", () => {});
      const seen2 = [];
      const s2 = postgresStorage({ query: (t, v) => slow.query(t, v).catch((e) => (seen2.push(e), Promise.reject(e))) }, { table: "not_created_yet" });
      const otp2 = new OtpManager(s2, { secret: "pg driver error secret 0123456789" });
      const started = performance.now();
      const timeout = await otp2.create("e@example.com").then(() => null, (e) => e);
      assert.ok(timeout instanceof pg.DatabaseError && timeout.code === "57014", `query_canceled, got ${timeout}`);
      assert.strictEqual(timeout, seen2.at(-1));
      assert.ok(performance.now() - started < 5000);
      await slow.end();
    } finally {
      await locker.query("ROLLBACK");
      locker.release();
    }
  });
});

describe("PostgreSQL storms", { skip }, () => {
  test("the three reliability storms over one pg.Pool (max 8): exactly 3 / 1 / 5", async () => {
    const t = performance.now();
    const figures = await concurrencySuite(() => postgresStorage(pool), { OtpManager, exact: true });
    report({ storm: "suite", store: "postgres, one pg.Pool max 8", wrong: figures.wrong.answers, attempts: figures.wrong.attempts, right: figures.right.answers, create: figures.create.outcomes, ms: Math.round(performance.now() - t) });
    assert.deepEqual(figures.wrong.answers, { invalid: 3, exhausted: 997 });
    assert.deepEqual(figures.right.answers, { verified: 1, used: 99 });
    assert.deepEqual(figures.create.outcomes, { issued: 5, "error:RATE_LIMITED": 95 });
  });

  test("1000 wrong / 100 right guesses spread over 8 connections (8 pg.Clients): exactly 3 counted, 1 verified", async () => {
    const clients = Array.from({ length: 8 }, () => new pg.Client({ ...server.config, query_timeout: 15_000 }));
    for (const c of clients) c.on("error", () => {});
    await Promise.all(clients.map((c) => c.connect()));
    try {
      let casCalls = 0;
      const storages = clients.map((c) => {
        const s = postgresStorage(c);
        const cas = s.compareAndSwap;
        s.compareAndSwap = (...a) => (casCalls++, cas(...a));
        return s;
      });
      const figures = await spreadStorms({ OtpManagers, storages, user: "spread@example.com" });
      report({ storm: "spread", store: "postgres, 8 pg.Clients", ...figures, casCalls });
      assertExactStorms(assert, figures);
      assert.ok(casCalls > 8, `the operations interleaved (${casCalls} CAS calls)`);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  describe("two Node processes, a pg.Pool each, hammering one user", () => {
    let workers = [];
    before(async () => {
      workers = await Promise.all([spawnWorker(), spawnWorker()]);
    });
    after(async () => {
      await Promise.all(workers.map((w) => w.stop()));
    });
    const OPTIONS = { maxAttempts: 3, failureLimit: null, issueLimit: null, resendCooldownSeconds: 0 };

    test("2 × 500 wrong guesses at once: exactly 3 invalid; then 2 × 50 right verifies: exactly one true", async () => {
      const user = "two-processes@example.com";
      const otp = new OtpManager(postgresStorage(pool), { secret: SECRET, ...OPTIONS });
      const { code } = await otp.create(user);
      const wrong = String((Number(code[0]) + 1) % 10) + code.slice(1);
      const results = await race(workers, { op: "check", user, code: wrong, count: 500, options: OPTIONS });
      report({ storm: "two-processes-wrong", store: "postgres, 2 processes × pg.Pool max 4", results: results.map(({ reasons, errors, ms }) => ({ reasons, errors, ms: Math.round(ms) })) });
      for (const r of results) assert.deepEqual(r.errors, {});
      assert.equal(sum(results, (r) => r.reasons.invalid), 3);
      assert.equal(sum(results, (r) => r.reasons.exhausted), 997);
      const latest = await otp.getLatestOtp(user);
      assert.equal(latest.attempts, 3);
      assert.equal(latest.status, "exhausted");

      const fresh = await otp.create(user);
      const right = await race(workers, { op: "verify", user, code: fresh.code, count: 50, options: OPTIONS });
      report({ storm: "two-processes-right", store: "postgres, 2 processes × pg.Pool max 4", results: right.map(({ oks, errors, ms }) => ({ oks, errors, ms: Math.round(ms) })) });
      for (const r of right) assert.deepEqual(r.errors, {});
      assert.equal(sum(right, (r) => r.oks), 1, "exactly one verify is true");
      assert.equal((await otp.getLatestOtp(user)).status, "used");
    });
  });
});

const sum = (results, pick) => results.reduce((n, r) => n + (pick(r) ?? 0), 0);

async function spawnWorker() {
  const child = fork(WORKER, [JSON.stringify(server.config), SECRET, "edge_otp", installed.url("edge-otp"), installed.url("edge-otp/sql")], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const inbox = [];
  const waiters = [];
  child.on("message", (m) => (waiters.length ? waiters.shift()(m) : inbox.push(m)));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const next = (type) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker: no ${type} within 60 s`)), 60_000);
      const done = (m) => {
        clearTimeout(timer);
        if (m.type === "error") reject(new Error(`worker: ${m.message}`));
        else if (m.type === type) resolve(m);
        else reject(new Error(`expected ${type}, got ${m.type}`));
      };
      if (inbox.length) done(inbox.shift());
      else waiters.push(done);
    });
  await next("ready");
  return {
    child,
    next,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        if (child.connected) child.send({ type: "exit" });
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

async function race(workers, job) {
  for (const w of workers) w.child.send({ type: "arm", ...job });
  await Promise.all(workers.map((w) => w.next("armed")));
  const results = workers.map((w) => w.next("result"));
  for (const w of workers) w.child.send({ type: "go" });
  return Promise.all(results);
}
