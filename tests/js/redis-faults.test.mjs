// edge-otp/redis (the installed tarball) on a real redis-server under faults: while the
// storm of tests/js/fault-storm.mjs (wrong guesses and right verifications) runs over 4
// OtpManagers (two on node-redis v5 clients, two on ioredis clients), every client
// connection is killed (CLIENT KILL TYPE normal), then redis-server is killed with SIGKILL
// and started again on the same port and directory, twice. The server keeps an fsynced
// AOF (appendfsync always), as a deployment that keeps OTP state in Redis does, so an
// acknowledged write survives the kill. fault-storm.mjs says what is then checked: every
// operation settles with an answer or the client library's own error, no over-count, no
// double verify, the same managers (same clients, reconnected by the libraries) work
// after.
//
//   node --test tests/js/redis-faults.test.mjs
// Needs /usr/bin/redis-server and the root dev dependencies `redis` and `ioredis`.
import { test, before, after } from "node:test";
import { createClient } from "redis";
import { Redis } from "ioredis";
import { startRedis } from "./redis-server.mjs";
import { faultStorm, STORM_OPTIONS } from "./fault-storm.mjs";
import { installedPackage } from "./tarball.mjs";
import { sleep } from "./reliability-lib.mjs";

const installed = await installedPackage();
const { OtpManager } = await installed.load("edge-otp");
const { redisStorage } = await installed.load("edge-otp/redis");
const report = (figures) => console.log(JSON.stringify(figures));

let redis;
const clients = [];
before(async () => {
  redis = await startRedis({ persist: true });
});
after(async () => {
  for (const c of clients) {
    try {
      if (c instanceof Redis) c.disconnect();
      else c.destroy();
    } catch {
      // already closed
    }
  }
  await redis?.stop();
});

/**
 * A client whose command methods record every rejection in `errors` (the same object
 * travels on), so that an operation's rejection can be matched to the driver by identity.
 */
function recording(client, errors) {
  return new Proxy(client, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== "function") return v;
      return (...args) => {
        const r = v.apply(target, args);
        return r && typeof r.then === "function" ? r.catch((e) => (errors.add(e), Promise.reject(e))) : r;
      };
    },
  });
}

// Both libraries reconnect on their own; commands sent while the server is down wait in
// their offline queues (bounded by the timeouts below) or are rejected by the library.
const connect = {
  "node-redis": async (url) => {
    const c = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: () => 100 }, commandOptions: { timeout: 5000 } });
    c.on("error", () => {}); // reported per command; the client reconnects
    return c.connect();
  },
  ioredis: async (url) => {
    const c = new Redis(url, { lazyConnect: true, connectTimeout: 2000, commandTimeout: 5000, maxRetriesPerRequest: 2, retryStrategy: () => 100, autoResendUnfulfilledCommands: false });
    c.on("error", () => {});
    await c.connect();
    return c;
  },
};

test("storm under CLIENT KILL and two redis-server SIGKILLs + restarts: every operation settles with an answer or the client's error; no over-count, no double verify; the same managers work after", { timeout: 120_000 }, async () => {
  const driverErrors = new Set();
  const managers = [];
  for (const lib of ["node-redis", "ioredis", "node-redis", "ioredis"]) {
    const client = await connect[lib](redis.url);
    clients.push(client);
    managers.push(new OtpManager(redisStorage(recording(client, driverErrors)), { secret: "redis faults secret 0123456789", ...STORM_OPTIONS }));
  }
  const admin = clients[1];
  const figures = await faultStorm({
    managers,
    driverErrors,
    expectFaults: 3,
    faults: async (log, outage) => {
      await sleep(500);
      // Kills every normal connection, the admin's own included (SKIPME no).
      const killed = await admin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no").catch((e) => e.message);
      log({ fault: "CLIENT KILL TYPE normal", killed });
      await sleep(600);
      await outage("SIGKILL + restart", () => redis.restart({ downMs: 400 }));
      await sleep(900);
      await outage("SIGKILL + restart", () => redis.restart({ downMs: 200 }));
    },
  });
  report({ storm: "faults", store: "redis-server (appendfsync always), 2 node-redis + 2 ioredis clients", ...figures });
});
