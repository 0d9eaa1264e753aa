// edge-otp/sql — OtpStorage adapters for SQL databases: PostgreSQL (node-postgres),
// SQLite (better-sqlite3) and Cloudflare D1.
// No dependencies: the caller passes an already-created pool, client, database or binding.

import { invalidConfig as configError, expirationTtl, invalidArgument, optionsProblem, own, requireString, shown } from "./adapter-errors.js";

/** Table (and index) names accepted: a plain SQL identifier of at most 63 characters. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const DEFAULT_TABLE = "edge_otp";
const DEFAULT_PURGE_LIMIT = 1000;

const invalidConfig = (message) => configError("edge-otp/sql", message);

/**
 * A key PostgreSQL cannot hold: `INVALID_ARGUMENT` for `key`, thrown before any query (the
 * engine accepts U+0000 in user ids and key prefixes; PostgreSQL `text` cannot store it).
 * The message does not repeat the key.
 */
function nulKey() {
  return invalidArgument(
    "key",
    "edge-otp/sql: postgresStorage: a key containing U+0000 (NUL) cannot be stored in PostgreSQL text; " +
      "refuse or strip it in normalizeUser, and keep it out of keyPrefix",
  );
}

function tableName(name, options) {
  const table = own(options, "table") ?? DEFAULT_TABLE;
  if (typeof table !== "string" || !IDENTIFIER.test(table)) {
    throw invalidConfig(`${name}: table must match ${IDENTIFIER}`);
  }
  return table;
}

const OPTION_KEYS = ["table", "now"];

function readOptions(name, options) {
  const problem = optionsProblem(options, OPTION_KEYS);
  if (problem !== undefined) throw invalidConfig(`${name}: ${problem}`);
  options ??= {};
  const table = tableName(name, options);
  const clock = own(options, "now") ?? Date.now;
  if (typeof clock !== "function") throw invalidConfig(`${name}: now must be a function answering milliseconds`);
  // Whole milliseconds, as the engine's own `now` takes them: `expires_at` is a BIGINT,
  // and a clock such as `performance.timeOrigin + performance.now()` answers fractions.
  // Anything but a number from 0 to 2^53 - 1 is refused before any statement runs: SQLite
  // would store NaN or a string as NULL (a row that never expires), PostgreSQL refuse it
  // with its own uncoded error. (The store's own bound, what a BIGINT and a JS number hold
  // exactly; the manager refuses times from year 10000 on, before it calls the store.)
  const now = () => {
    const t = clock();
    if (typeof t !== "number" || !(t >= 0 && t <= Number.MAX_SAFE_INTEGER)) {
      throw invalidArgument(
        "now",
        `edge-otp/sql: ${name}: now must answer milliseconds since the epoch, a number from 0 to 2^53 - 1, got ${shown(t)}`,
      );
    }
    return Math.floor(t);
  };
  return { table, now };
}

/**
 * The name of `table`'s index: `<table>_expires_at`, within PostgreSQL's 63 characters. A
 * table name longer than 52 characters is cut to 43 and followed by 8 hex digits of a hash
 * (32-bit FNV-1a) of the whole name, so that two long names sharing their first characters
 * get an index each (`CREATE INDEX IF NOT EXISTS` would skip the second without a word:
 * index names are unique per schema).
 */
function indexName(table) {
  if (table.length <= 52) return `${table}_expires_at`;
  let h = 0x811c9dc5;
  for (let i = 0; i < table.length; i++) h = Math.imul(h ^ table.charCodeAt(i), 0x01000193);
  return `${table.slice(0, 43)}_${(h >>> 0).toString(16).padStart(8, "0")}_expires_at`;
}

/**
 * The statements creating the table and its index: the same text for PostgreSQL, SQLite
 * and D1. `expires_at` is in milliseconds since the Unix epoch; NULL never expires.
 * The index name: see `indexName`.
 */
export function createTableStatements(table = DEFAULT_TABLE) {
  table = tableName("createTableStatements", { table });
  return [
    `CREATE TABLE IF NOT EXISTS "${table}" (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL, expires_at BIGINT)`,
    `CREATE INDEX IF NOT EXISTS "${indexName(table)}" ON "${table}" (expires_at) WHERE expires_at IS NOT NULL`,
  ];
}

/**
 * `expires_at` for a write at `now` (ms), or null without `expirationTtl` (seconds);
 * `entry` and `method` name the adapter and method in a refusal.
 */
function expiresAt(options, now, entry, method) {
  const ttl = expirationTtl(options, entry, method);
  return ttl === null ? null : now + Math.ceil(ttl * 1000);
}

/** purgeExpired's `limit` option; `entry` names the adapter in a refusal. */
function purgeLimit(options, entry) {
  const where = `${entry}: purgeExpired`;
  // A mistyped key is refused, not ignored (the default limit would be used).
  const problem = optionsProblem(options, ["limit"]);
  if (problem !== undefined) throw invalidArgument("options", `${where}: ${problem}`);
  const limit = (options && own(options, "limit")) ?? DEFAULT_PURGE_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw invalidArgument("limit", `${where}: limit must be a positive safe integer, got ${shown(limit)}`);
  }
  return limit;
}

/**
 * The statement of `sql[name]`, prepared on first use and kept: `db.prepare` must answer
 * an object with the `methods` named (else `INVALID_CONFIG` with `problem`: a handle of
 * the other driver has `prepare()` too).
 */
function preparedStatements(db, sql, methods, problem) {
  const cache = new Map();
  return (name) => {
    let s = cache.get(name);
    if (s === undefined) {
      s = db.prepare(sql[name]);
      if (s === null || typeof s !== "object" || !methods.every((m) => typeof s[m] === "function")) {
        throw invalidConfig(problem);
      }
      cache.set(name, s);
    }
    return s;
  };
}

const live = (expires, now) => expires === null || expires === undefined || Number(expires) > now;

/**
 * The SQL text of every statement, with placeholders from `p(n)` (`$n` for PostgreSQL,
 * `?` for SQLite and D1: each parameter appears once, in order).
 */
function statements(table, p, { skipLocked }) {
  const t = `"${table}"`;
  const upsert = `INSERT INTO ${t} (key, value, expires_at) VALUES (${p(1)}, ${p(2)}, ${p(3)}) ` +
    `ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`;
  return {
    // [key, now]
    get: `SELECT value FROM ${t} WHERE key = ${p(1)} AND (expires_at IS NULL OR expires_at > ${p(2)})`,
    // [key, value, expiresAt]
    put: upsert,
    // [value, expiresAt, key, expected, now]: only over the live row holding `expected`.
    casUpdate: `UPDATE ${t} SET value = ${p(1)}, expires_at = ${p(2)} ` +
      `WHERE key = ${p(3)} AND value = ${p(4)} AND (expires_at IS NULL OR expires_at > ${p(5)})`,
    // [key, value, expiresAt, now]: inserts, or replaces a row that has expired.
    casInsert: `${upsert} WHERE ${t}.expires_at IS NOT NULL AND ${t}.expires_at <= ${p(4)}`,
    // [key]
    delete: `DELETE FROM ${t} WHERE key = ${p(1)} RETURNING expires_at`,
    // [now, limit, now]
    purge: `DELETE FROM ${t} WHERE key IN (SELECT key FROM ${t} WHERE expires_at <= ${p(1)} LIMIT ${p(2)}` +
      `${skipLocked ? " FOR UPDATE SKIP LOCKED" : ""}) AND expires_at <= ${p(3)}`,
  };
}

// What a statement answers, as the methods below ask for it.
const ROW = "row"; // its first row, or null
const CHANGES = "changes"; // how many rows it changed
const NOTHING = "nothing"; // nothing (the driver's result is not read)

/**
 * The storage methods, each written once for the three databases: a generator that yields
 * the statements it runs (`[name, params, want]`: `name` a key of `statements`, `want`
 * ROW, CHANGES or NOTHING) and returns the method's answer. `exec(name, params, want)`
 * runs one and answers a value (SQLite: `run` is `runSync`, every method answers at once)
 * or a Promise of one (PostgreSQL, D1: `run` is `runAsync`, every method answers a
 * Promise; a throw becomes a rejection). `checkKey(key)` throws for a key the database
 * cannot hold; `name` ("sqliteStorage", ...) is what a refused argument's message names.
 */
function storageMethods({ name, now, exec, run, checkKey = () => {} }) {
  // The arguments every method but purgeExpired takes: strings (else INVALID_ARGUMENT,
  // before any statement), and a key the database can hold.
  const entry = `edge-otp/sql: ${name}`;
  const text = (v, argument, method) => requireString(v, argument, entry, method);
  const key = (k, method) => {
    checkKey(text(k, "key", method));
    return k;
  };
  const methods = {
    *get(k) {
      const row = yield ["get", [key(k, "get"), now()], ROW];
      return row === null || row === undefined ? null : row.value;
    },
    *put(k, value, options) {
      key(k, "put");
      text(value, "value", "put");
      // The TTL is checked before the statement runs (or is prepared: a missing table is
      // then not what a bad TTL reports).
      const exp = expiresAt(options, now(), entry, "put");
      yield ["put", [k, value, exp], NOTHING];
    },
    *compareAndSwap(k, expected, value, options) {
      key(k, "compareAndSwap");
      const inserting = expected === null || expected === undefined;
      if (!inserting) text(expected, "expected", "compareAndSwap");
      text(value, "value", "compareAndSwap");
      const t = now();
      const exp = expiresAt(options, t, entry, "compareAndSwap");
      const changed = inserting
        ? yield ["casInsert", [k, value, exp, t], CHANGES]
        : yield ["casUpdate", [value, exp, k, expected, t], CHANGES];
      return changed === 1;
    },
    *delete(k) {
      key(k, "delete");
      const t = now();
      const row = yield ["delete", [k], ROW];
      return row !== null && row !== undefined && live(row.expires_at, t);
    },
    *purgeExpired(options) {
      const limit = purgeLimit(options, entry);
      let total = 0;
      for (;;) {
        const t = now();
        const changed = yield ["purge", [t, limit, t], CHANGES];
        total += changed;
        if (changed < limit) return total;
      }
    },
  };
  const out = {};
  for (const [name, method] of Object.entries(methods)) {
    out[name] = (...args) => run(method(...args), exec);
  }
  return out;
}

/** Runs a method of `storageMethods` with a synchronous `exec`. */
function runSync(steps, exec) {
  let step = steps.next();
  while (!step.done) step = steps.next(exec(...step.value));
  return step.value;
}

/** Runs a method of `storageMethods` with an `exec` answering Promises. */
async function runAsync(steps, exec) {
  let step = steps.next();
  while (!step.done) step = steps.next(await exec(...step.value));
  return step.value;
}

// ------------------------------------------------------------------------- PostgreSQL

/**
 * An `OtpStorage` in a PostgreSQL table, over node-postgres (`pg`): a `Pool` or a `Client`
 * (anything with `query(text, values)` answering `{ rows, rowCount }`).
 *
 * Every method is one statement (values are bound parameters, never spliced into SQL):
 * - `get(key)` → the value, or `null` when there is no row or it has expired.
 * - `put(key, value, { expirationTtl? })` → an upsert.
 * - `compareAndSwap(key, expected, value, { expirationTtl? })` → `true` when written:
 *   `UPDATE … WHERE key = $k AND value = $expected` over a live row, or, for
 *   `expected === null`, `INSERT … ON CONFLICT (key) DO UPDATE … WHERE` the existing row
 *   has expired. Row locks make it atomic across connections and processes.
 * - `delete(key)` → whether a live row existed (an expired row is removed too).
 * - `purgeExpired({ limit = 1000 })` → how many expired rows it deleted, in statements of
 *   at most `limit` rows (`FOR UPDATE SKIP LOCKED`: it never waits for a row in use).
 * - `createTable()` → creates the table and its index if missing (idempotent; when both
 *   exist it only looks them up, so a role without CREATE on the schema may call it).
 *
 * `expirationTtl` is in seconds, stored as `expires_at` in milliseconds since the epoch
 * from `options.now` (default `Date.now`, the application's clock). Driver errors
 * (connection lost, timeouts, missing table) reject as the driver's own error object; a
 * key containing U+0000, which PostgreSQL text cannot hold, rejects before any query
 * (`nulKey`).
 *
 * @param {{ query(text: string, values?: unknown[]): Promise<{ rows: any[], rowCount: number | null }> }} db
 * @param {{ table?: string, now?: () => number }} [options]
 */
export function postgresStorage(db, options) {
  if (db === null || typeof db !== "object" || typeof db.query !== "function") {
    throw invalidConfig("postgresStorage: expected a node-postgres Pool or Client (with query())");
  }
  const { table, now } = readOptions("postgresStorage", options);
  const sql = statements(table, (n) => `$${n}`, { skipLocked: true });
  // PostgreSQL text cannot hold U+0000: refused before any query (not as a driver error).
  const checkKey = (key) => {
    if (key.includes("\0")) throw nulKey();
  };
  const exec = async (name, params, want) => {
    const r = await db.query(sql[name], params);
    if (want === NOTHING) return undefined;
    return want === ROW ? (r.rows[0] ?? null) : (r.rowCount ?? 0);
  };
  return {
    table,
    ...storageMethods({ name: "postgresStorage", now, exec, run: runAsync, checkKey }),
    async createTable() {
      // Nothing to do when the table and its index are there: then a role with no right to
      // create in the schema (PostgreSQL 15 grants none in public) may run this at every
      // start too (CREATE … IF NOT EXISTS checks that right before it looks).
      const found = await db.query("SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS found",
        [`"${table}"`, `"${indexName(table)}"`]);
      if (found.rows[0]?.found === true) return;
      // One simple-protocol query, so one implicit transaction; the advisory lock stops
      // two processes creating the same table at once (CREATE … IF NOT EXISTS can race).
      const lock = `SELECT pg_advisory_xact_lock(hashtext('edge-otp/sql:${table}'))`;
      await db.query([lock, ...createTableStatements(table)].join(";\n"));
    },
  };
}

// ------------------------------------------------------------------------- SQLite

/**
 * An `OtpStorage` in a SQLite table over better-sqlite3 (a `Database`; node:sqlite's
 * `DatabaseSync` and bun:sqlite's `Database` have the same shape). Synchronous:
 * every method returns a plain value, not a Promise. Same statements and semantics as
 * {@link postgresStorage} (each one statement, atomic: SQLite serialises writers, also
 * across processes sharing the file). Statements are prepared on first use.
 *
 * @param {{ prepare(sql: string): { get(...params: unknown[]): any, run(...params: unknown[]): { changes: number | bigint } } }} db
 * @param {{ table?: string, now?: () => number }} [options]
 */
export function sqliteStorage(db, options) {
  if (db === null || typeof db !== "object" || typeof db.prepare !== "function") {
    throw invalidConfig("sqliteStorage: expected a SQLite Database (better-sqlite3, node:sqlite, bun:sqlite: with prepare())");
  }
  const { table, now } = readOptions("sqliteStorage", options);
  const sql = statements(table, () => "?", { skipLocked: false });
  // A D1 binding also has prepare(), but its statements have no get().
  const stmt = preparedStatements(db, sql, ["get", "run"],
    "sqliteStorage: expected a SQLite Database (its prepare() answers statements with get() and run()); for D1 use d1Storage");
  // No row: better-sqlite3 and node:sqlite answer undefined, bun:sqlite null. Rows
  // changed: a number, or a BigInt from node:sqlite with readBigInts.
  const exec = (name, params, want) => {
    if (want === ROW) return stmt(name).get(...params) ?? null;
    const r = stmt(name).run(...params);
    return want === CHANGES ? Number(r.changes) : undefined;
  };
  return {
    table,
    ...storageMethods({ name: "sqliteStorage", now, exec, run: runSync }),
    createTable() {
      for (const s of createTableStatements(table)) db.prepare(s).run();
    },
  };
}

// ------------------------------------------------------------------------- D1

/**
 * An `OtpStorage` in a Cloudflare D1 table (a D1 binding, `env.DB`). Same statements and
 * semantics as {@link sqliteStorage}, every method returning a Promise. Each statement
 * is atomic in D1 (one SQLite database behind one writer).
 *
 * @param {{ prepare(sql: string): { bind(...values: unknown[]): { first(): Promise<any>, run(): Promise<{ meta: { changes: number } }> } } }} db
 * @param {{ table?: string, now?: () => number }} [options]
 */
export function d1Storage(db, options) {
  if (db === null || typeof db !== "object" || typeof db.prepare !== "function") {
    throw invalidConfig("d1Storage: expected a D1 database binding (with prepare())");
  }
  const { table, now } = readOptions("d1Storage", options);
  const sql = statements(table, () => "?", { skipLocked: false });
  // A SQLite Database also has prepare(), but its statements have no first().
  const prepared = preparedStatements(db, sql, ["bind", "first"],
    "d1Storage: expected a D1 database binding (its prepare() answers statements with bind() and first()); for SQLite use sqliteStorage");
  const exec = async (name, params, want) => {
    const s = prepared(name).bind(...params);
    if (want === ROW) return (await s.first()) ?? null;
    const r = await s.run();
    return want === CHANGES ? Number(r?.meta?.changes ?? 0) : undefined;
  };
  return {
    table,
    ...storageMethods({ name: "d1Storage", now, exec, run: runAsync }),
    async createTable() {
      for (const s of createTableStatements(table)) await db.prepare(s).run();
    },
  };
}
