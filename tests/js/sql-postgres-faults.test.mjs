// edge-otp/sql (the installed tarball) on a real PostgreSQL under faults: while the storm
// of tests/js/fault-storm.mjs (wrong guesses and right verifications) runs over 4
// OtpManagers (a pg.Pool each), the server's client backends are killed with
// pg_terminate_backend, the server is crashed and restarted (SIGQUIT: immediate
// shutdown, crash recovery on start), backends are killed again, and the server is shut
// down fast and restarted. fault-storm.mjs says what is then checked: every operation
// settles with an answer or node-postgres' own error, no over-count, no double verify,
// the same managers (same pools) work after.
//
//   node --test tests/js/sql-postgres-faults.test.mjs
// Needs Debian's postgresql package; EDGE_OTP_ALLOW_NO_POSTGRES=1 skips when it is missing.
import { test, before, after } from "node:test";
import pg from "pg";
import { startPostgres, postgresSkip } from "./postgres-server.mjs";
import { faultStorm, STORM_OPTIONS } from "./fault-storm.mjs";
import { installedPackage } from "./tarball.mjs";
import { sleep } from "./reliability-lib.mjs";

const installed = await installedPackage();
const { OtpManager } = await installed.load("edge-otp");
const { postgresStorage } = await installed.load("edge-otp/sql");
const skip = postgresSkip();
const report = (figures) => console.log(JSON.stringify(figures));

const MANAGERS = 4;
const POOL_OPTIONS = { max: 4, connectionTimeoutMillis: 2000, query_timeout: 5000, statement_timeout: 4000, idleTimeoutMillis: 1000 };

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
    managers.push(new OtpManager(storage, { secret: "sql postgres faults secret 0123456789", ...STORM_OPTIONS }));
  }
  const figures = await faultStorm({
    managers,
    driverErrors,
    expectFaults: 4,
    faults: async (log, outage) => {
      await sleep(500);
      log({ fault: "pg_terminate_backend", backends: await terminateAll() });
      await sleep(600);
      await outage("crash (SIGQUIT) + restart", () => server.restart({ immediate: true, downMs: 400 }));
      await sleep(800);
      log({ fault: "pg_terminate_backend", backends: await terminateAll() });
      await sleep(500);
      await outage("fast shutdown (SIGINT) + restart", () => server.restart({ immediate: false, downMs: 200 }));
    },
  });
  report({ storm: "faults", store: `postgres, ${MANAGERS} pg.Pools max ${POOL_OPTIONS.max}`, ...figures });
});
