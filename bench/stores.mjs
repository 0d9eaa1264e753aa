// edge-otp on real local stores against the bare-store floor: operations per second and
// p50/p99 latency of create and verify on PostgreSQL (node-postgres Pool), SQLite
// (better-sqlite3, a file database) and Redis (node-redis), at 1 and 64 concurrent
// clients (async lanes in one process sharing one pool / connection).
//
// The floor is the same store adapter doing just what an operation needs from the store,
// one read and one conditional write (get + compareAndSwap), with no OTP work; edge-otp's
// create and verify make exactly those two calls (bench/budgets.mjs checks that). The floor
// writes what edge-otp writes: a value of the length of edge-otp's record (read back from
// the store), with the same put options (`expirationTtl` = the managers' retentionSeconds),
// under keys of the same shape.
//
//   node bench/stores.mjs            (after `bash .ci/build`; starts its own servers on 127.0.0.1)
//   BENCH_ROUNDS=5 BENCH_ROUND_MS=600 node bench/stores.mjs
// Each store first runs one discarded round at 64 clients (pool connections, JIT). Then,
// per store and concurrency, ROUNDS rounds; in each, edge-otp and the floor take turns
// (who goes first alternates) at create, then at verify over the keys that round created.
// A ratio is edge-otp / floor ops/s within one round; the table gives the median over the
// rounds and their spread. Prints a Markdown table; paste it into BENCHMARKS.md with the
// commit.
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

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 600);
// The README's store examples keep records for a day; 3600 s is the least these options
// allow (the longest window), and either way every write carries an expirationTtl.
const OPTIONS = {
  secret: "bench stores secret 0123456789abcdef",
  issueLimit: null,
  failureLimit: null,
  resendCooldownSeconds: 0,
  retentionSeconds: 3600,
};
const PUT_OPTIONS = { expirationTtl: OPTIONS.retentionSeconds };

/**
 * Runs `op(key)` for each of `keys` (or `op(i)` for i = 0, 1, ... when `keys` is null) on
 * `clients` lanes for at most `ms`; answers { perSec, latencies }.
 */
async function measure(clients, ms, op, keys = null) {
  const latencies = [];
  const limit = keys === null ? Infinity : keys.length;
  const end = performance.now() + ms;
  let next = 0;
  const lane = async () => {
    while (performance.now() < end && next < limit) {
      const i = next++;
      const t = performance.now();
      await op(keys === null ? i : keys[i]);
      latencies.push(performance.now() - t);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, lane));
  return { perSec: (latencies.length / (performance.now() - t0)) * 1000, latencies };
}

/** edge-otp and the floor on `storage`, each with create(i) → key and verify(key). */
async function contenders(storage, tag) {
  const otp = new OtpManager(storage, OPTIONS);
  // The floor's value: as long as the record edge-otp writes.
  const probe = `${tag}-probe`;
  await otp.create(probe);
  const recordLength = (await storage.get(otp.keyFor(probe))).length;
  const value = "x".repeat(recordLength);
  const codes = new Map();
  return [
    {
      name: "edge-otp",
      async create(i) {
        const user = `${tag}-u${i}`;
        codes.set(user, (await otp.create(user)).code);
        return user;
      },
      async verify(user) {
        if (!(await otp.verify(user, codes.get(user)))) throw new Error("verify failed");
      },
    },
    {
      name: "floor",
      async create(i) {
        const key = otp.keyFor(`${tag}-floor-${i}`);
        if ((await storage.get(key)) !== null) throw new Error(`${key} present`);
        if (!(await storage.compareAndSwap(key, null, value, PUT_OPTIONS))) throw new Error("swap refused");
        return key;
      },
      async verify(key) {
        const current = await storage.get(key);
        if (!(await storage.compareAndSwap(key, current, value.slice(1) + "y", PUT_OPTIONS))) throw new Error("swap refused");
      },
    },
  ];
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const quantile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

/** ROUNDS interleaved rounds of create then verify; one result row per contender and op. */
async function suite(store, storage, clients, tag, rounds = ROUNDS) {
  const cs = await contenders(storage, tag);
  const runs = { create: cs.map(() => []), verify: cs.map(() => []) }; // per contender: measure() results
  let seq = 0;
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? cs : [...cs].reverse();
    const made = new Map();
    for (const c of order) {
      const keys = [];
      const m = await measure(clients, ROUND_MS, async () => keys.push(await c.create(seq++)));
      runs.create[cs.indexOf(c)].push(m);
      made.set(c, keys);
    }
    for (const c of order) runs.verify[cs.indexOf(c)].push(await measure(clients, ROUND_MS, (k) => c.verify(k), made.get(c)));
  }
  const rows = [];
  for (const op of ["create", "verify"]) {
    const [edge, floor] = runs[op];
    const ratios = edge.map((m, r) => m.perSec / floor[r].perSec);
    cs.forEach((c, j) => {
      const lat = runs[op][j].flatMap((m) => m.latencies).sort((a, b) => a - b);
      rows.push({
        store, clients, op, contender: c.name,
        perSec: median(runs[op][j].map((m) => m.perSec)),
        p50: quantile(lat, 0.5), p99: quantile(lat, 0.99),
        ratio: c.name === "edge-otp" ? { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) } : null,
      });
    });
  }
  return rows;
}

const results = [];
const load0 = os.loadavg();
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
  const stores = [
    ["PostgreSQL (pg.Pool max 16)", pgStore, "pg"],
    ["SQLite (better-sqlite3, WAL file)", sqStore, "sq"],
    ["Redis (node-redis, one connection)", redisStorage(client), "rd"],
  ];
  // Warm-up (discarded): opens the pool's connections, lets V8 and the stores settle.
  for (const [name, store, tag] of stores) await suite(name, store, 64, `warm-${tag}`, 1);
  for (const clients of [1, 64]) {
    for (const [name, store, tag] of stores) results.push(...(await suite(name, store, clients, `${tag}${clients}`)));
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
const la = (l) => l.map((x) => x.toFixed(2)).join(" ");
console.log(`${ROUNDS} rounds of ${ROUND_MS} ms per contender and operation; Node ${process.version}, ${os.cpus().length} CPUs, ` +
  `load average ${la(load0)} before, ${la(os.loadavg())} after\n`);
console.log("| store | clients | operation | ops/s (median) | p50 ms | p99 ms | edge-otp / floor ops/s: median (min–max) |");
console.log("|---|---|---|---|---|---|---|");
for (const r of results) {
  const ratio = r.ratio ? `**${r.ratio.median.toFixed(2)}×** (${r.ratio.min.toFixed(2)}–${r.ratio.max.toFixed(2)})` : "";
  console.log(`| ${r.store} | ${r.clients} | ${r.contender} ${r.op} | ${f(r.perSec)} | ${f(r.p50, 3)} | ${f(r.p99, 3)} | ${ratio} |`);
}
