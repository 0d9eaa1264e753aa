// edge-otp/sql over SQLite (better-sqlite3, sqliteStorage), on the package as users get
// it (packed, installed into an empty project, imported by name):
//  1. the shared conformance suite (conformance.mjs) on an in-memory database;
//  2. the SQL store checks (sql-checks.mjs): compare-and-swap cases, expirationTtl,
//     purgeExpired, delete, table-name validation, bound values;
//  3. storms: the three of reliability-lib.mjs on the synchronous store (exact), and
//     1000 wrong / 100 right guesses spread over 8 Database handles on one file, each
//     call delayed a macrotask so that operations interleave across handles (exact);
//  4. synchronous answers, driver errors reaching the caller as the same object.
//
//   node --test tests/js/sql-sqlite.test.mjs
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { runConformance } from "./conformance.mjs";
import { sqlChecks, spreadStorms, assertExactStorms } from "./sql-checks.mjs";
import { loadInstances } from "./instances.mjs";
import { yielding } from "./stores.mjs";
import { concurrencySuite } from "./reliability-lib.mjs";
import { installedPackage } from "./tarball.mjs";

const installed = await installedPackage();
const load = () => installed.load("edge-otp");
const { OtpManager, OtpError } = await load();
const { sqliteStorage, d1Storage, postgresStorage, createTableStatements } = await installed.load("edge-otp/sql");
// Eight instances of the installed package: their managers interleave at the database
// (within one instance, operations on one key take turns).
const OtpManagers = await loadInstances(8, installed.dir);

/** The ```sql block of the published README.md's "SQL stores" section, as statements. */
function readmeSchema() {
  const md = readFileSync(`${installed.dir}/README.md`, "utf8");
  const block = md.match(/```sql\n([\s\S]*?)```/);
  assert.ok(block, "pkg/README.md has a ```sql block");
  return block[1].split(";").map((x) => x.trim()).filter(Boolean);
}

const report = (figures) => console.log(JSON.stringify(figures));

describe("conformance on SQLite (better-sqlite3, in memory, synchronous)", () => {
  const db = new Database(":memory:");
  const storage = sqliteStorage(db);
  storage.createTable();
  after(() => db.close());
  runConformance(test, async () => storage, { load });
});

describe("SQL store checks on SQLite", () => {
  const db = new Database(":memory:");
  after(() => db.close());
  const ctx = {
    factory: sqliteStorage,
    db,
    OtpManager,
    assert,
    prefix: "lite",
    tableExists: async (name) => db.prepare("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined,
  };
  for (const c of sqlChecks) test(c.name, () => c.run(ctx));

  test("pkg/README.md documents exactly the statements createTable() runs, and they make a working table", () => {
    assert.deepEqual(readmeSchema(), createTableStatements("edge_otp"));
    const fresh = new Database(":memory:");
    for (const stmt of readmeSchema()) fresh.exec(stmt);
    const s = sqliteStorage(fresh);
    assert.equal(s.compareAndSwap("k", null, "v", { expirationTtl: 60 }), true);
    assert.equal(s.get("k"), "v");
    fresh.close();
  });

  test("the index exists and the schema is the documented one", () => {
    const s = sqliteStorage(db, { table: "schema_check" });
    s.createTable();
    const cols = db.prepare("PRAGMA table_info(schema_check)").all().map((c) => [c.name, c.type, c.notnull, c.pk]);
    assert.deepEqual(cols, [["key", "TEXT", 1, 1], ["value", "TEXT", 1, 0], ["expires_at", "BIGINT", 0, 0]]);
    const idx = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'schema_check' AND sql IS NOT NULL").all();
    assert.deepEqual(idx.map((i) => i.name), ["schema_check_expires_at"]);
  });

  test("two long table names sharing their first 52 characters get an index each, within 63 characters", () => {
    const stem = "t".repeat(52);
    const names = [];
    for (const table of [`${stem}_alpha`, `${stem}_beta`]) {
      sqliteStorage(db, { table }).createTable();
      const idx = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL").all(table);
      assert.equal(idx.length, 1, `${table}: one index`);
      assert.ok(idx[0].name.length <= 63 && idx[0].name.endsWith("_expires_at"), idx[0].name);
      const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT key FROM "${table}" WHERE expires_at IS NOT NULL AND expires_at <= 5`).all();
      assert.ok(plan.some((row) => row.detail.includes(idx[0].name)), JSON.stringify(plan));
      names.push(idx[0].name);
    }
    assert.notEqual(names[0], names[1]);
    // A name of at most 52 characters keeps the plain `<table>_expires_at`.
    assert.equal(createTableStatements(stem)[1].split('"')[1], `${stem}_expires_at`);
  });
});

describe("SQLite: synchronous answers and driver errors", () => {
  test("a D1 binding given to sqliteStorage, or a SQLite Database to d1Storage: INVALID_CONFIG at the first statement, not a bare \"is not a function\"", async () => {
    const d1Like = {
      prepare: () => ({ bind() { return this; }, first: async () => null, run: async () => ({ meta: { changes: 1 } }) }),
    };
    const wrongLite = sqliteStorage(d1Like);
    const otp = new OtpManager(wrongLite, { secret: "sqlite wrong handle secret 0123" });
    for (const run of [() => wrongLite.get("k"), () => otp.create("a@example.com")]) {
      const e = await (async () => run())().then(() => null, (e) => e);
      assert.ok(e instanceof TypeError && e.code === "INVALID_CONFIG", String(e));
      assert.match(e.message, /d1Storage/);
    }
    const db = new Database(":memory:");
    sqliteStorage(db).createTable();
    const wrongD1 = d1Storage(db);
    const e = await wrongD1.get("k").then(() => null, (e) => e);
    assert.ok(e instanceof TypeError && e.code === "INVALID_CONFIG", String(e));
    assert.match(e.message, /sqliteStorage/);
    db.close();
  });

  test("put reads nothing of the driver's answer to its upsert (a driver or wrapper that answers nothing works)", async () => {
    const sqliteLike = { prepare: () => ({ get: () => undefined, run: () => undefined }) };
    assert.equal(sqliteStorage(sqliteLike).put("k", "v"), undefined);
    const d1Like = { prepare: () => ({ bind() { return this; }, first: async () => null, run: async () => undefined }) };
    assert.equal(await d1Storage(d1Like).put("k", "v", { expirationTtl: 60 }), undefined);
    const pgLike = { query: async () => undefined };
    assert.equal(await postgresStorage(pgLike).put("k", "v"), undefined);
  });

  test("a bad expirationTtl is INVALID_ARGUMENT before any statement (not the driver's 'no such table')", () => {
    const s = sqliteStorage(new Database(":memory:")); // no createTable()
    for (const expirationTtl of [0, NaN, -1]) {
      assert.throws(() => s.put("k", "v", { expirationTtl }), (e) => e instanceof RangeError && e.code === "INVALID_ARGUMENT", String(expirationTtl));
    }
  });

  test("node:sqlite's BigInt changes (readBigInts) count as numbers: a compare-and-swap that wrote answers true", () => {
    // node:sqlite is not in Node 20; its shape over better-sqlite3, with changes as a BigInt.
    const db = new Database(":memory:");
    const bigints = { prepare: (sql) => { const st = db.prepare(sql); return { get: (...a) => st.get(...a), run: (...a) => ({ changes: BigInt(st.run(...a).changes) }) }; } };
    const s = sqliteStorage(bigints);
    s.createTable();
    assert.equal(s.compareAndSwap("k", null, "v"), true);
    assert.equal(s.compareAndSwap("k", "x", "w"), false);
    assert.equal(s.compareAndSwap("k", "v", "w"), true);
    s.put("old", "v", { expirationTtl: 1e-3 });
    const later = sqliteStorage(bigints, { now: () => Date.now() + 10 });
    assert.equal(later.purgeExpired(), 1);
    db.close();
  });

  test("every method answers a plain value, not a Promise", () => {
    const db = new Database(":memory:");
    const s = sqliteStorage(db);
    assert.equal(s.createTable(), undefined);
    assert.equal(s.put("k", "v"), undefined);
    assert.equal(s.get("k"), "v");
    assert.equal(s.compareAndSwap("k", "v", "w"), true);
    assert.equal(s.delete("k"), true);
    assert.equal(s.purgeExpired(), 0);
    db.close();
  });

  test("a driver error reaches the OtpManager's caller as the same object; the manager works after", async () => {
    const db = new Database(":memory:");
    const seen = [];
    const trap = (fn) => (...a) => {
      try {
        return fn(...a);
      } catch (e) {
        seen.push(e);
        throw e;
      }
    };
    // A wrapper recording what better-sqlite3 throws, so identity can be checked.
    const recording = {
      prepare: trap((sql) => {
        const st = db.prepare(sql);
        return { get: trap((...a) => st.get(...a)), run: trap((...a) => st.run(...a)) };
      }),
    };
    const s = sqliteStorage(recording);
    const otp = new OtpManager(s, { secret: "sqlite driver error secret 0123" });
    // No table yet: prepare fails with SQLITE_ERROR (no such table).
    const err = await otp.create("e@example.com").then(() => null, (e) => e);
    assert.ok(err instanceof Database.SqliteError, String(err));
    assert.ok(!(err instanceof OtpError));
    assert.equal(err.code, "SQLITE_ERROR");
    assert.strictEqual(err, seen.at(-1), "the very object better-sqlite3 threw");
    s.createTable();
    const { code } = await otp.create("e@example.com");
    assert.equal(await otp.verify("e@example.com", code), true);
    // A constraint the adapter does not know about: a read-only database rejects writes.
    db.exec("PRAGMA query_only = ON");
    const ro = await otp.create("ro@example.com").then(() => null, (e) => e);
    assert.ok(ro instanceof Database.SqliteError && ro === seen.at(-1), String(ro));
    db.exec("PRAGMA query_only = OFF");
    db.close();
  });
});

describe("SQLite storms", () => {
  let dir;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "edge-otp-sqlite-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("the three reliability storms on the synchronous store: exactly 3 / 1 / 5", async () => {
    const db = new Database(path.join(dir, "suite.db"));
    const storage = sqliteStorage(db);
    storage.createTable();
    const t0 = performance.now();
    const figures = await concurrencySuite(() => storage, { OtpManager, exact: true });
    report({ storm: "suite", store: "sqlite (better-sqlite3, sync, one handle)", wrong: figures.wrong.answers, right: figures.right.answers, create: figures.create.outcomes, ms: Math.round(performance.now() - t0) });
    assert.deepEqual(figures.wrong.answers, { invalid: 3, exhausted: 997 });
    assert.deepEqual(figures.right.answers, { verified: 1, used: 99 });
    assert.deepEqual(figures.create.outcomes, { issued: 5, "error:RATE_LIMITED": 95 });
    db.close();
  });

  test("1000 wrong / 100 right guesses over 8 handles on one file, interleaving: exactly 3 counted, 1 verified", async () => {
    const file = path.join(dir, "storm.db");
    const handles = Array.from({ length: 8 }, () => new Database(file, { timeout: 10_000 }));
    try {
      sqliteStorage(handles[0]).createTable();
      const casCalls = { n: 0 };
      const storages = handles.map((db) => {
        const s = sqliteStorage(db);
        const cas = s.compareAndSwap;
        s.compareAndSwap = (...a) => (casCalls.n++, cas(...a));
        return yielding(s);
      });
      const figures = await spreadStorms({ OtpManagers, storages, user: "storm@example.com" });
      report({ storm: "spread", store: "sqlite file, 8 better-sqlite3 handles (calls delayed a macrotask)", ...figures, casCalls: casCalls.n });
      assertExactStorms(assert, figures);
      assert.ok(casCalls.n > 8, `the operations interleaved (${casCalls.n} CAS calls)`);
    } finally {
      for (const h of handles) h.close();
    }
  });
});
