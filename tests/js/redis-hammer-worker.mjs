// Child process for tests/js/redis.test.mjs: hammers one user in a shared redis-server
// through OtpManager + redisStorage, so that two processes (two connections, two wasm
// instances) race on the same record.
//
//   fork("redis-hammer-worker.mjs", [redisUrl, secret, "node-redis" | "ioredis", coreModule, redisModule])
//
// Protocol (IPC messages):
//   child  → {type: "ready"}                              connected to Redis
//   parent → {type: "arm", op, user, code?, count, concurrency, options}
//   child  → {type: "armed"}                              manager built, waiting
//   parent → {type: "go"}                                 (sent to every child at once)
//   child  → {type: "result", reasons, oks, issued, errors, ms}
//   parent → {type: "exit"}                               close the client and exit
// op "check" calls otp.check(user, code) `count` times; op "create" calls otp.create(user).
// At most `concurrency` calls are in flight at a time.

import { createClient } from "redis";
import { Redis } from "ioredis";

// coreModule and redisModule: URLs of modules re-exporting "edge-otp" and "edge-otp/redis"
// of the installed tarball (tarball.mjs installedPackage().url).
const [url, secret, kind, coreModule, redisModule] = process.argv.slice(2);
if (!url || !secret || !kind || !coreModule || !redisModule || typeof process.send !== "function") {
  console.error("usage: fork(redis-hammer-worker.mjs, [redisUrl, secret, node-redis|ioredis, coreModule, redisModule])");
  process.exit(2);
}
const { OtpManager } = await import(coreModule);
const { redisStorage } = await import(redisModule);

let client;
if (kind === "ioredis") {
  client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false });
  await client.connect();
} else {
  client = createClient({ url });
  client.on("error", (e) => console.error("hammer worker: redis:", e.message));
  await client.connect();
}
const storage = redisStorage(client);

/** Runs `count` calls of `fn` with at most `concurrency` in flight; returns settled results. */
async function pool(count, concurrency, fn) {
  const results = new Array(count);
  let next = 0;
  async function lane() {
    while (next < count) {
      const i = next++;
      try {
        results[i] = { ok: true, value: await fn(i) };
      } catch (e) {
        results[i] = { ok: false, error: e };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return results;
}

let job = null;

async function run() {
  const { op, user, code, count, concurrency } = job;
  const t0 = performance.now();
  const settled = await pool(count, concurrency, () =>
    op === "check" ? job.otp.check(user, code) : job.otp.create(user),
  );
  const ms = performance.now() - t0;
  const reasons = {};
  const errors = {};
  const issued = [];
  let oks = 0;
  for (const r of settled) {
    if (!r.ok) {
      const c = r.error?.code ?? String(r.error?.message ?? r.error);
      errors[c] = (errors[c] ?? 0) + 1;
    } else if (op === "check") {
      reasons[r.value.reason] = (reasons[r.value.reason] ?? 0) + 1;
      if (r.value.ok) oks++;
    } else {
      issued.push({ code: r.value.code, createdAt: r.value.createdAt });
    }
  }
  process.send({ type: "result", reasons, oks, issued, errors, ms });
}

process.on("message", async (msg) => {
  try {
    if (msg.type === "arm") {
      job = { ...msg, otp: new OtpManager(storage, { secret, ...msg.options }) };
      process.send({ type: "armed" });
    } else if (msg.type === "go") {
      await run();
    } else if (msg.type === "exit") {
      await (kind === "ioredis" ? client.quit() : client.close());
      process.exit(0);
    }
  } catch (e) {
    process.send({ type: "error", message: String(e?.stack ?? e) });
  }
});

process.on("disconnect", () => process.exit(0)); // the parent went away
process.send({ type: "ready" });
