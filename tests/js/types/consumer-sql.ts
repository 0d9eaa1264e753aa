// Type-level consumer of "edge-otp/sql" (see consumer.ts). Never run.
import { OtpManager, type OtpStorage } from "edge-otp";
import {
  postgresStorage,
  sqliteStorage,
  d1Storage,
  createTableStatements,
  type AsyncSqlStorage,
  type SyncSqlStorage,
  type SqlStorageOptions,
  type SqlWriteOptions,
  type PurgeOptions,
  type PgQueryable,
  type SqliteDatabaseLike,
  type D1DatabaseLike,
} from "edge-otp/sql";

// Structural stand-ins for the real drivers' shapes (node-postgres Pool, better-sqlite3
// Database, a D1 binding), as their own type packages declare them.
declare const pgPoolLike: {
  query(text: string, values?: any[]): Promise<{ rows: any[]; rowCount: number | null; command: string }>;
  end(): Promise<void>;
};
declare const betterSqliteLike: {
  prepare(sql: string): {
    get(...params: unknown[]): unknown;
    run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
    all(...params: unknown[]): unknown[];
  };
  close(): void;
};
// node:sqlite's DatabaseSync (Node 22.5+, Deno) as @types/node declares it: changes may be a BigInt.
declare const nodeSqliteLike: {
  prepare(sql: string): {
    get(...params: unknown[]): Record<string, unknown> | undefined;
    run(...params: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  };
  close(): void;
};
interface D1Result { results: unknown[]; success: true; meta: { changes: number; duration: number } & Record<string, unknown> }
interface D1Stmt {
  bind(...values: unknown[]): D1Stmt;
  first<T = unknown>(colName?: string): Promise<T | null>;
  run(): Promise<D1Result>;
  all(): Promise<D1Result>;
}
declare const d1Like: { prepare(query: string): D1Stmt; batch(statements: D1Stmt[]): Promise<D1Result[]> };

export async function useSql(): Promise<void> {
  const opts: SqlStorageOptions = { table: "edge_otp", now: () => Date.now() };
  const pgq: PgQueryable = pgPoolLike;
  const lite: SqliteDatabaseLike = betterSqliteLike;
  const d1: D1DatabaseLike = d1Like;

  const p: AsyncSqlStorage = postgresStorage(pgq, opts);
  const s: SyncSqlStorage = sqliteStorage(lite);
  const d: AsyncSqlStorage = d1Storage(d1, { table: "otp" });
  const stores: OtpStorage[] = [p, s, d, postgresStorage(pgPoolLike), sqliteStorage(betterSqliteLike), sqliteStorage(nodeSqliteLike), d1Storage(d1Like)];
  void stores;

  await p.createTable();
  s.createTable();
  await d.createTable();
  const w: SqlWriteOptions = { expirationTtl: 60 };
  const got: string | null = await p.get("k");
  const swapped: boolean = await p.compareAndSwap("k", got, "v", w);
  const syncGot: string | null = s.get("k");
  const syncSwapped: boolean = s.compareAndSwap("k", null, "v");
  const existed: boolean = s.delete("k") || (await d.delete("k"));
  const purge: PurgeOptions = { limit: 100 };
  const purged: number = s.purgeExpired(purge) + (await p.purgeExpired()) + (await d.purgeExpired(purge));
  const name: string = p.table;
  const ddl: string[] = createTableStatements("edge_otp");
  void [swapped, syncGot, syncSwapped, existed, purged, name, ddl];

  const otp = new OtpManager(s, { secret: "0123456789abcdef0123" });
  await otp.create("ada@example.com");

  // @ts-expect-error the handle must have query()
  postgresStorage({});
  // @ts-expect-error sqlite answers plain values, not Promises
  const notAPromise: Promise<string | null> = s.get("k");
  void notAPromise;
  // @ts-expect-error table is a string
  sqliteStorage(lite, { table: 1 });
}
