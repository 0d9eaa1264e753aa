// edge-otp on real local stores against the bare-store floor: operations per second and
// p50/p99 latency of create and verify on PostgreSQL (node-postgres Pool), SQLite
// (better-sqlite3, a file database) and Redis (node-redis), at 1 and 64 concurrent
// clients (async lanes in one process sharing one pool / connection).
//
// The floor is the same store adapter doing just what an operation needs from the store,
// one read and one conditional write (get + compareAndSwap), with no OTP work; edge-otp's
// create and verify make exactly those two calls (bench/budgets.mjs checks that).
//
//   node bench/stores.mjs            (after `bash .ci/build`; starts its own servers on 127.0.0.1)
//   BENCH_MS=1500 node bench/stores.mjs
// Each store first runs the whole sequence once at 64 clients, discarded (pool
// connections, JIT). Prints a Markdown table; paste it into BENCHMARKS.md with the commit.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import Database from "better-sqlite3";
import { createClient } from "redis";
import { OtpManager } from "../pkg/node.js";
import { postgresStorage, sqliteStorage } from "../pkg/sql.js";
import { redisStorage } from "../pkg/redis.js";
import { startPostgres } from "../tests/js/postgres-server.mjs";
import { startRedis } from "../tests/js/redis-server.mjs";

const MS = Number(process.env.BENCH_MS ?? 1500);
const OPTIONS = { secret: "bench stores secret 0123456789abcdef", issueLimit: null, failureLimit: null, resendCooldownSeconds: 0 };

/** Runs `op(i)` on `clients` lanes for MS milliseconds (or `limit` ops); answers ops/s and p50/p99 in ms. */
async function measure(clients, op, limit = Infinity) {
  const lat = [];
  let next = 0;
  const end = performance.now() + MS;
  const lane = async () => {
    while (performance.now() < end && next < limit) {
      const i = next++;
      const t = performance.now();
      await op(i);
      lat.push(performance.now() - t);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, lane));
  const wall = performance.now() - t0;
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return { ops: lat.length, perSec: (lat.length / wall) * 1000, p50: q(0.5), p99: q(0.99) };
}

/** create then verify with edge-otp, and the floor's two shapes, on one storage. */
async function suite(name, storage, clients, tag) {
  const otp = new OtpManager(storage, OPTIONS);
  const codes = [];
  const rows = [];
  rows.push(["edge-otp create", await measure(clients, async (i) => (codes[i] = (await otp.create(`${tag}-u${i}`)).code))]);
  const created = codes.length;
  rows.push(["edge-otp verify", await measure(clients, async (i) => {
    if (!(await otp.verify(`${tag}-u${i}`, codes[i]))) throw new Error("verify failed");
  }, created)]);
  const value = JSON.stringify({ v: 1, h: "x".repeat(96) }); // a record's size
  let floorKeys = 0;
  rows.push(["floor create (get + CAS absent)", await measure(clients, async (i) => {
    floorKeys = Math.max(floorKeys, i + 1);
    const k = `floor:${tag}:${i}`;
    if ((await storage.get(k)) !== null) throw new Error("present");
    await storage.compareAndSwap(k, null, value, { expirationTtl: 600 });
  })]);
  rows.push(["floor verify (get + CAS)", await measure(clients, async (i) => {
    const k = `floor:${tag}:${i}`;
    const cur = await storage.get(k);
    await storage.compareAndSwap(k, cur, value + "1", { expirationTtl: 600 });
  }, floorKeys)]);
  return rows.map(([what, m]) => ({ store: name, clients, what, ...m }));
}

const results = [];
const pgServer = await startPostgres();
const redis = await startRedis();
const dir = mkdtempSync(path.join(os.tmpdir(), "edge-otp-bench-sqlite-"));
try {
  const pool = new pg.Pool({ ...pgServer.config, max: 16 });
  const pgStore = postgresStorage(pool);
  await pgStore.createTable();
  const db = new Database(path.join(dir, "bench.db"));
  db.pragma("journal_mode = WAL");
  const sqStore = sqliteStorage(db);
  await sqStore.createTable();
  const client = await createClient({ url: redis.url }).connect();
  const rdStore = redisStorage(client);
  // Warm-up (discarded): opens the pool's connections, lets V8 and the stores settle.
  for (const [name, store] of [["pg", pgStore], ["sq", sqStore], ["rd", rdStore]]) await suite(name, store, 64, `warm-${name}`);
  for (const clients of [1, 64]) {
    results.push(...(await suite("PostgreSQL (pg.Pool max 16)", pgStore, clients, `pg${clients}`)));
    results.push(...(await suite("SQLite (better-sqlite3, WAL file)", sqStore, clients, `sq${clients}`)));
    results.push(...(await suite("Redis (node-redis, one connection)", rdStore, clients, `rd${clients}`)));
  }
  await pool.end();
  db.close();
  await client.close();
} finally {
  await pgServer.stop();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}

const f = (x, d = 0) => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
console.log("| store | clients | operation | ops/s | p50 ms | p99 ms | edge-otp / floor (ops/s) |");
console.log("|---|---|---|---|---|---|---|");
for (const r of results) {
  const floor = r.what.startsWith("edge-otp")
    ? results.find((x) => x.store === r.store && x.clients === r.clients && x.what.startsWith(`floor ${r.what.split(" ")[1]}`))
    : null;
  const ratio = floor ? `${(r.perSec / floor.perSec).toFixed(2)}×` : "";
  console.log(`| ${r.store} | ${r.clients} | ${r.what} | ${f(r.perSec)} | ${f(r.p50, 3)} | ${f(r.p99, 3)} | ${ratio} |`);
}
