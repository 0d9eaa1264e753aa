import type { OtpStorage } from "./index.js";

/** Options of a write; `expirationTtl` is in seconds (more than 0, at most 100 years, else a RangeError with `code` "INVALID_ARGUMENT"; stored in ms). */
export interface SqlWriteOptions {
  expirationTtl?: number;
}

/** Options of `purgeExpired`: at most `limit` rows (default 1000) per DELETE statement. */
export interface PurgeOptions {
  limit?: number;
}

/**
 * Options of the three factories. For every store they make: a key, value or
 * compare-and-swap `expected` that is not a string is a `RangeError` with `code`
 * `INVALID_ARGUMENT` and `argument` `"key"`, `"value"` or `"expected"`, before any
 * statement (SQLite throws it, PostgreSQL and D1 reject with it).
 */
export interface SqlStorageOptions {
  /** The table, matching /^[A-Za-z_][A-Za-z0-9_]{0,62}$/ (default "edge_otp"). */
  table?: string;
  /**
   * The clock `expires_at` is computed and compared with, in ms (default `Date.now`;
   * fractions are dropped). An answer that is not a number from 0 to 2^53 - 1 is a
   * `RangeError` with `code` `INVALID_ARGUMENT` and `argument` `"now"`, before any statement.
   */
  now?: () => number;
}

/** The storage returned by {@link postgresStorage} and {@link d1Storage}: every method returns a Promise. */
export interface AsyncSqlStorage extends OtpStorage {
  /** The table name in use. */
  readonly table: string;
  /** The value, or `null` when there is no row or it has expired. */
  get(key: string): Promise<string | null>;
  /** Upsert; without `expirationTtl` the row never expires. */
  put(key: string, value: string, options?: SqlWriteOptions): Promise<void>;
  /**
   * One conditional statement: writes `value` only if the row is absent or expired
   * (`expected === null`) or holds exactly `expected` and has not expired; resolves to
   * whether it wrote.
   */
  compareAndSwap(key: string, expected: string | null, value: string, options?: SqlWriteOptions): Promise<boolean>;
  /** Deletes the row; resolves to whether a row that had not expired existed. */
  delete(key: string): Promise<boolean>;
  /** Deletes expired rows in statements of at most `limit` rows; resolves to how many. */
  purgeExpired(options?: PurgeOptions): Promise<number>;
  /** Creates the table and its index if they do not exist (idempotent). */
  createTable(): Promise<void>;
}

/** The storage returned by {@link sqliteStorage}: synchronous, every method returns a plain value. */
export interface SyncSqlStorage extends OtpStorage {
  readonly table: string;
  get(key: string): string | null;
  put(key: string, value: string, options?: SqlWriteOptions): void;
  compareAndSwap(key: string, expected: string | null, value: string, options?: SqlWriteOptions): boolean;
  delete(key: string): boolean;
  purgeExpired(options?: PurgeOptions): number;
  createTable(): void;
}

/** What a node-postgres query answers that the adapter reads. */
export interface PgQueryResultLike {
  rows: Array<Record<string, unknown>>;
  rowCount: number | null;
}

/** The part of a node-postgres `Pool` or `Client` the adapter uses. */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<PgQueryResultLike>;
}

/** The part of a better-sqlite3 `Statement` (node:sqlite `StatementSync`, bun:sqlite `Statement`) the adapter uses. */
export interface SqliteStatementLike {
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): { changes: number | bigint };
}

/** The part of a better-sqlite3 `Database` (node:sqlite `DatabaseSync`, bun:sqlite `Database`) the adapter uses. */
export interface SqliteDatabaseLike {
  prepare(sql: string): SqliteStatementLike;
}

/** The part of a D1 prepared statement (after `bind`) the adapter uses. */
export interface D1BoundStatementLike {
  first(): Promise<unknown>;
  run(): Promise<{ meta: { changes: number } }>;
}

/** The part of a D1 prepared statement the adapter uses. */
export interface D1PreparedStatementLike extends D1BoundStatementLike {
  bind(...values: unknown[]): D1BoundStatementLike;
}

/** The part of a D1 database binding (`env.DB`) the adapter uses. */
export interface D1DatabaseLike {
  prepare(sql: string): D1PreparedStatementLike;
}

/**
 * An {@link OtpStorage} in a PostgreSQL table over node-postgres (`Pool` or `Client`).
 * `compareAndSwap` is one conditional statement (row locks make it exact across
 * connections and processes). Driver errors reject unchanged.
 *
 * ```js
 * import pg from "pg";
 * import { postgresStorage } from "edge-otp/sql";
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const storage = postgresStorage(pool, { table: "edge_otp" });
 * await storage.createTable();
 * ```
 *
 * @throws TypeError (`code` "INVALID_CONFIG") for a bad handle, table name or option.
 * Its methods reject with a RangeError (`code` "INVALID_ARGUMENT", `argument` "key"),
 * before any query, for a key containing U+0000: PostgreSQL `text` cannot hold it.
 */
export function postgresStorage(db: PgQueryable, options?: SqlStorageOptions): AsyncSqlStorage;

/**
 * A synchronous {@link OtpStorage} in a SQLite table over better-sqlite3.
 * @throws TypeError (`code` "INVALID_CONFIG") for a bad handle, table name or option.
 */
export function sqliteStorage(db: SqliteDatabaseLike, options?: SqlStorageOptions): SyncSqlStorage;

/**
 * An {@link OtpStorage} in a Cloudflare D1 table (the binding, `env.DB`).
 * @throws TypeError (`code` "INVALID_CONFIG") for a bad handle, table name or option.
 */
export function d1Storage(db: D1DatabaseLike, options?: SqlStorageOptions): AsyncSqlStorage;

/** The CREATE TABLE and CREATE INDEX statements `createTable()` runs (the same for all three). */
export function createTableStatements(table?: string): string[];
