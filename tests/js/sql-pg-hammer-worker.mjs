// Child process for tests/js/sql-postgres.test.mjs: hammers one user in a shared
// PostgreSQL through OtpManager + postgresStorage (its own pg.Pool), so that two
// processes (two pools, two wasm instances) race on the same row.
//
//   fork("sql-pg-hammer-worker.mjs", [JSON.stringify(pgConfig), secret, table, coreUrl, sqlUrl])
// coreUrl and sqlUrl are modules re-exporting "edge-otp" and "edge-otp/sql" of the
// installed tarball (tarball.mjs installedPackage().url).
//
// Protocol (IPC messages), as tests/js/redis-hammer-worker.mjs:
//   child  → {type: "ready"}                               pool connected
//   parent → {type: "arm", op, user, code?, count, options}
//   child  → {type: "armed"}
//   parent → {type: "go"}                                  (sent to every child at once)
//   child  → {type: "result", reasons, oks, errors, ms}
//   parent → {type: "exit"}
// op "check" calls otp.check(user, code) `count` times at once; "verify" otp.verify.
import pg from "pg";

const [configJson, secret, table, coreUrl, sqlUrl] = process.argv.slice(2);
if (!configJson || !secret || !table || !coreUrl || !sqlUrl || typeof process.send !== "function") {
  console.error("usage: fork(sql-pg-hammer-worker.mjs, [pgConfigJson, secret, table, coreUrl, sqlUrl])");
  process.exit(2);
}
const { OtpManager } = await import(coreUrl);
const { postgresStorage } = await import(sqlUrl);
const pool = new pg.Pool({ ...JSON.parse(configJson), max: 4, connectionTimeoutMillis: 5000, query_timeout: 15_000 });
pool.on("error", () => {}); // idle connections closed by the server: the pool replaces them
await pool.query("SELECT 1");
const storage = postgresStorage(pool, { table });

let job = null;

async function run() {
  const { op, user, code, count } = job;
  const t0 = performance.now();
  const settled = await Promise.allSettled(Array.from({ length: count }, () => job.otp[op](user, code)));
  const ms = performance.now() - t0;
  const reasons = {};
  const errors = {};
  let oks = 0;
  for (const r of settled) {
    if (r.status === "rejected") {
      const c = r.reason?.code ?? String(r.reason?.message ?? r.reason);
      errors[c] = (errors[c] ?? 0) + 1;
    } else if (op === "check") {
      reasons[r.value.reason] = (reasons[r.value.reason] ?? 0) + 1;
      if (r.value.ok) oks++;
    } else if (r.value === true) oks++;
  }
  process.send({ type: "result", reasons, oks, errors, ms });
}

process.on("message", async (msg) => {
  try {
    if (msg.type === "arm") {
      job = { ...msg, otp: new OtpManager(storage, { secret, ...msg.options }) };
      process.send({ type: "armed" });
    } else if (msg.type === "go") {
      await run();
    } else if (msg.type === "exit") {
      await pool.end();
      process.exit(0);
    }
  } catch (e) {
    process.send({ type: "error", message: String(e?.stack ?? e) });
  }
});

process.on("disconnect", () => process.exit(0));
process.send({ type: "ready" });
