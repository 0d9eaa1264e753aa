// edge-otp on a real redis-server (edge-otp/redis), from the installed tarball:
//  1. the shared conformance suite (conformance.mjs) with node-redis v5 and ioredis clients,
//     the database flushed before every case;
//  2. two Node processes (redis-hammer-worker.mjs, one node-redis, one ioredis) racing on
//     one user: wrong guesses are counted exactly maxAttempts times, the right code
//     verifies exactly once, and racing creates respect the issue limit exactly.
//
//   node --test tests/js/redis.test.mjs
//
// Needs /usr/bin/redis-server and the root dev dependencies `redis` and `ioredis`.

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { installedPackage } from "./tarball.mjs";
import { createClient } from "redis";
import { Redis } from "ioredis";
import { startRedis } from "./redis-server.mjs";
import { runConformance, cases } from "./conformance.mjs";

const WORKER = fileURLToPath(new URL("./redis-hammer-worker.mjs", import.meta.url));
const SECRET = "redis hammer test secret 0123456789";
// Everything runs on the package as users get it: packed, installed into an empty
// project, imported by name ("edge-otp", "edge-otp/redis") as Node resolves it.
const installed = await installedPackage();
const load = () => installed.load("edge-otp");
const { OtpManager, OtpError } = await load();
const { redisStorage } = await installed.load("edge-otp/redis");

let redis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

// ---------------------------------------------------------------- conformance

const CLIENTS = [
  {
    name: "node-redis v5",
    connect: (url) => createClient({ url }).connect(),
    flush: (c) => c.flushDb(),
    close: (c) => c.close(),
  },
  {
    name: "ioredis",
    connect: async (url) => {
      const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false });
      await c.connect();
      return c;
    },
    flush: (c) => c.flushdb(),
    close: (c) => c.quit(),
  },
];

for (const kind of CLIENTS) {
  describe(`conformance on redis-server: ${kind.name}`, () => {
    let client;
    before(async () => {
      client = await kind.connect(redis.url);
    });
    after(async () => {
      if (client) await kind.close(client);
    });
    // Cases run one after another: each starts on an empty database.
    runConformance(
      test,
      async () => {
        await kind.flush(client);
        return redisStorage(client);
      },
      { load },
    );
  });
}

test("conformance: the suite has its cases", () => {
  assert.ok(cases.length >= 30, `only ${cases.length} cases`);
});

// ---------------------------------------------------------------- two processes

/** Forks a hammer worker; resolves once it is connected. */
async function spawnWorker(kind) {
  const child = fork(WORKER, [redis.url, SECRET, kind, installed.url("edge-otp"), installed.url("edge-otp/redis")], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const inbox = [];
  const waiters = [];
  child.on("message", (m) => {
    if (waiters.length) waiters.shift()(m);
    else inbox.push(m);
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const next = (type) =>
    new Promise((resolve, reject) => {
      const deliver = (m) => (m.type === "error" ? reject(new Error(`worker ${kind}: ${m.message}`)) : m.type === type ? resolve(m) : reject(new Error(`expected ${type}, got ${JSON.stringify(m)}`)));
      const timer = setTimeout(() => reject(new Error(`worker ${kind}: no ${type} within 60 s`)), 60_000);
      const done = (m) => {
        clearTimeout(timer);
        deliver(m);
      };
      if (inbox.length) done(inbox.shift());
      else waiters.push(done);
    });
  await next("ready");
  return {
    kind,
    child,
    next,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        if (child.connected) child.send({ type: "exit" });
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** Arms every worker with its job, then releases them together; returns their results. */
async function race(workers, job) {
  for (const w of workers) w.child.send({ type: "arm", ...job });
  await Promise.all(workers.map((w) => w.next("armed")));
  const results = workers.map((w) => w.next("result"));
  for (const w of workers) w.child.send({ type: "go" });
  return Promise.all(results);
}

const sum = (results, pick) => results.reduce((n, r) => n + (pick(r) ?? 0), 0);

/** Calls of EVALSHA + EVAL so far (the CAS script, successful or not), from INFO commandstats. */
async function casCalls(client) {
  const info = await client.info("commandstats");
  let n = 0;
  for (const m of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)) n += Number(m[2]);
  return n;
}

describe("two Node processes hammering one user on one redis-server", () => {
  let workers = [];
  let client;
  before(async () => {
    client = await createClient({ url: redis.url }).connect();
    await client.flushDb();
    workers = await Promise.all([spawnWorker("node-redis"), spawnWorker("ioredis")]);
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await client?.close();
  });

  const OPTIONS = { maxAttempts: 3, failureLimit: null, issueLimit: null, resendCooldownSeconds: 0 };

  test("2 × 500 wrong guesses at once: exactly 3 are invalid, the record has attempts 3; then 2 × 50 right codes: exactly one verifies", async (t) => {
    const user = "hammer@example.com";
    const otp = new OtpManager(redisStorage(client), { secret: SECRET, ...OPTIONS });
    const { code } = await otp.create(user);
    const wrong = String((Number(code[0]) + 1) % 10) + code.slice(1);

    const cas0 = await casCalls(client);
    const results = await race(workers, {
      op: "check", user, code: wrong, count: 500, concurrency: 500, options: OPTIONS,
    });
    t.diagnostic(`wrong guesses: ${results.map((r) => `${JSON.stringify(r.reasons)} in ${r.ms.toFixed(0)} ms`).join(" | ")}`);
    t.diagnostic(`compare-and-swap calls for 3 successful writes: ${(await casCalls(client)) - cas0}`);
    for (const r of results) assert.deepEqual(r.errors, {}, "no errors (no CONFLICT)");
    assert.equal(sum(results, (r) => r.reasons.invalid), 3, "invalid answers across both processes");
    assert.equal(sum(results, (r) => r.reasons.exhausted), 1000 - 3);
    assert.equal(sum(results, (r) => r.oks), 0);
    const latest = await otp.getLatestOtp(user);
    assert.equal(latest.attempts, 3);
    assert.equal(latest.status, "exhausted");
    const raw = JSON.parse(await client.get(otp.keyFor(user)));
    assert.equal(raw[5], 3, "attempts field of the stored record");
    assert.equal((await otp.check(user, code)).reason, "exhausted", "even the right code");

    const fresh = await otp.create(user);
    const right = await race(workers, {
      op: "check", user, code: fresh.code, count: 50, concurrency: 50, options: OPTIONS,
    });
    t.diagnostic(`right codes: ${right.map((r) => `${JSON.stringify(r.reasons)} in ${r.ms.toFixed(0)} ms`).join(" | ")}`);
    for (const r of right) assert.deepEqual(r.errors, {});
    assert.equal(sum(right, (r) => r.oks), 1, "exactly one verify is true");
    assert.equal(sum(right, (r) => r.reasons.verified), 1);
    assert.equal(sum(right, (r) => r.reasons.used), 99);
    assert.equal((await otp.getLatestOtp(user)).status, "used");
  });

  test("2 × 50 creates at once with issueLimit 5: exactly 5 issued, 95 RATE_LIMITED; only the last code verifies", async (t) => {
    const user = "creates@example.com";
    const options = { ...OPTIONS, issueLimit: { count: 5, windowSeconds: 3600 } };
    const cas0 = await casCalls(client);
    const results = await race(workers, { op: "create", user, count: 50, concurrency: 50, options });
    t.diagnostic(`creates: ${results.map((r) => `${r.issued.length} issued, ${JSON.stringify(r.errors)} in ${r.ms.toFixed(0)} ms`).join(" | ")}`);
    t.diagnostic(`compare-and-swap calls for 5 successful writes: ${(await casCalls(client)) - cas0}`);
    const issued = results.flatMap((r) => r.issued);
    assert.equal(issued.length, 5, "issued across both processes");
    assert.equal(sum(results, (r) => r.errors.RATE_LIMITED), 95);
    for (const r of results) assert.deepEqual(Object.keys(r.errors).filter((c) => c !== "RATE_LIMITED"), []);

    const otp = new OtpManager(redisStorage(client), { secret: SECRET, ...options });
    const latest = await otp.getLatestOtp(user);
    assert.equal(latest.status, "active");
    assert.ok(issued.some((i) => i.code === latest.code), "the stored code is one of the issued ones");
    const err = await otp.create(user).catch((e) => e);
    assert.ok(err instanceof OtpError && err.code === "RATE_LIMITED", "the window is full");
    for (const i of issued) {
      if (i.code === latest.code) continue;
      assert.equal((await otp.check(user, i.code)).reason, "invalid", "superseded codes never verify");
      assert.equal(await otp.resetAttempts(user), true); // 4 wrong guesses > maxAttempts
    }
    assert.equal(await otp.verify(user, latest.code), true);
  });
});
