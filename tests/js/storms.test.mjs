// The three concurrency storms of tests/js/reliability-lib.mjs (1000 concurrent wrong
// guesses with maxAttempts 3; 100 concurrent right guesses; 100 concurrent creates under
// issueLimit 5/h) on the real stores:
//
//  1. Durable Objects in workerd (Miniflare), `ctx.storage` as is (no compareAndSwap):
//     a. from the outside: one HTTP request per operation, from Node to a fixture Worker
//        (tests/js/fixtures/storms-worker.js) that forwards it to the user's object
//        (idFromName(user)) -- how concurrent requests really arrive. Asserted exact.
//     b. the example Worker's own HTTP API in durable-object mode (1000 wrong / 100 right).
//        Asserted exact.
//     c. from the inside: the storms as concurrent promises within ONE request of one
//        object, on `ctx.storage` (measured) and on the synchronous `ctx.storage.kv`
//        (asserted exact: no await between read and write).
//  2. Redis (real redis-server), redisStorage over node-redis and over ioredis, the three
//     storms in one process, spread over four package instances. Asserted exact.
//  3. Workers KV (Miniflare, no compareAndSwap) through the example Worker's HTTP API in KV
//     mode: what parallel wrong guesses, right guesses and creates achieve; and the same
//     storms as concurrent promises inside one Worker request on the KV binding (the worst
//     interleaving). Measured only: Miniflare's KV is strongly consistent, the real one
//     is eventually consistent (up to 60 s), so these are lower bounds of the damage.
//
//   node --test tests/js/storms.test.mjs
//
// Every storm prints one JSON line: {"storm": ..., "store": ..., ...figures}.
// Needs the built package (pkg/), redis-server and the root dev dependencies.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { existsSync } from "node:fs";
import { createClient } from "redis";
import { Redis } from "ioredis";
import { OtpManager } from "../../pkg/node.js";
import { redisStorage } from "../../pkg/redis.js";
import { startRedis } from "./redis-server.mjs";
import { startWorker, buildWorker, serveBuild, packageBuilt, ROOT } from "./miniflare.mjs";
import { concurrencySuite, tally, wrongCode } from "./reliability-lib.mjs";
import { spreadManager } from "./instances.mjs";

// Redis storms: calls spread over four instances of the package, so that they interleave
// at the server (inside one instance, operations on one key take turns).
const Spread = await spreadManager(4);

const built = packageBuilt();
const skipWorkers = built ? false : "package not built (run `bash .ci/build` first)";
const REDIS_BIN = process.env.REDIS_SERVER_BIN || "/usr/bin/redis-server";
const skipRedis = !built ? skipWorkers : existsSync(REDIS_BIN) ? false : `${REDIS_BIN} not found`;

/** One JSON line per storm, so the figures show in the test output. */
const report = (figures) => console.log(JSON.stringify(figures));

let userSeq = 0;
const freshUser = (tag) => `${tag}-${process.pid}-${++userSeq}@example.com`;

/** Prints the three figures of a concurrencySuite run, one line each. */
function reportSuite(store, figures, extra = {}) {
  const { wrong, right, create } = figures;
  report({ storm: "wrong", store, n: wrong.n, maxAttempts: wrong.maxAttempts, answers: wrong.answers, attemptsRecorded: wrong.attempts, status: wrong.status, ...extra.wrong });
  report({ storm: "right", store, n: right.n, answers: right.answers, verified: right.verified, status: right.status, ...extra.right });
  report({
    storm: "create", store, n: create.n, limit: create.limit, outcomes: create.outcomes, issued: create.issued,
    staleVerdicts: create.staleVerdicts, latestVerified: create.latestVerified, ...extra.create,
  });
}

// ------------------------------------------------------------------------------------
// 1. Durable Objects

/** Builds tests/js/fixtures/storms-worker.js and starts it on Miniflare. */
async function startStormWorker() {
  const build = await buildWorker({ entry: path.join(ROOT, "tests/js/fixtures/storms-worker.js") });
  return serveBuild(build, {
    name: "edge-otp-storms",
    durableObjects: { STORM_DO: { className: "StormDO", useSQLite: true } },
    kvNamespaces: ["KV"],
  });
}

// One fixture workerd for the Durable Object storms and the in-Worker KV storms.
let stormWorkerPromise = null;
const stormWorker = () => (stormWorkerPromise ??= startStormWorker());
after(async () => {
  if (stormWorkerPromise) await (await stormWorkerPromise).dispose();
});

async function postJson(url, body) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

/**
 * An OtpManager look-alike whose every call is one HTTP request to the fixture Worker,
 * which runs it in the user's Durable Object. Passed to concurrencySuite as `OtpManager`,
 * so the storms and their exactness checks are literally the shared ones. The storage
 * argument is ignored (the object's ctx.storage is the store); `now()` is read per call
 * and sent along.
 */
function remoteManagerClass(baseUrl) {
  return class RemoteOtpManager {
    #options;
    #now;
    constructor(_storage, options) {
      const { now, ...rest } = options;
      this.#now = now;
      this.#options = rest;
    }
    async #call(op, user, code) {
      const body = await postJson(`${baseUrl}/op`, { op, user, code, options: this.#options, now: this.#now?.() });
      if (body.error) throw Object.assign(new Error(body.error.message), { name: "OtpError", ...body.error });
      return body.value;
    }
    create(user) { return this.#call("create", user); }
    check(user, code) { return this.#call("check", user, code); }
    verify(user, code) { return this.#call("verify", user, code); }
    getLatestOtp(user) { return this.#call("getLatestOtp", user); }
  };
}

describe("Durable Objects on Miniflare: storms from the outside (one request per operation)", { skip: skipWorkers }, () => {
  let w;
  before(async () => {
    w = await stormWorker();
  });

  test("1000 wrong / 100 right / 100 creates, concurrent HTTP requests to one object each: exactly 3 / 1 / 5", async () => {
    const t0 = performance.now();
    // exact: true makes concurrencySuite throw on any deviation from 3 / 1 / 5.
    const figures = await concurrencySuite(() => null, { OtpManager: remoteManagerClass(w.url), exact: true });
    reportSuite("durable-object ctx.storage, concurrent requests (fixture worker)", figures);
    report({ storm: "timing", store: "durable-object (outside)", ms: Math.round(performance.now() - t0) });
    assert.deepEqual(figures.wrong.answers, { invalid: 3, exhausted: 997 });
    assert.equal(figures.wrong.attempts, 3);
    assert.deepEqual(figures.right.answers, { verified: 1, used: 99 });
    assert.deepEqual(figures.create.outcomes, { issued: 5, "error:RATE_LIMITED": 95 });
    assert.equal(figures.create.staleVerified, 0);
    assert.equal(figures.create.latestVerified, true);
  });

  test("inside one object, within one request (Promise.all): measured", async () => {
    for (const storage of ["storage", "kv"]) {
      const t0 = performance.now();
      const r = await postJson(`${w.url}/inside`, { storage });
      const store = storage === "storage"
        ? "durable-object ctx.storage, concurrent promises in one request"
        : "durable-object ctx.storage.kv (synchronous), concurrent promises in one request";
      if (r.unavailable) {
        report({ storm: "inside", store, unavailable: r.unavailable });
        continue;
      }
      for (const k of ["wrong", "right", "create"]) assert.ok(!r[k].error, `${storage} ${k} storm failed: ${JSON.stringify(r[k])}`);
      reportSuite(store, r);
      report({ storm: "timing", store, ms: Math.round(performance.now() - t0) });
      // Exact on both: the synchronous API leaves no await between read and write, and on
      // the Promise API the package's per-key turns keep one request's concurrent calls
      // from interleaving (measured before they existed: 200 of 200 "invalid").
      {
        assert.deepEqual(r.wrong.answers, { invalid: 3, exhausted: 997 });
        assert.equal(r.wrong.attempts, 3);
        assert.deepEqual(r.right.answers, { verified: 1, used: 99 });
        assert.equal(r.create.issued, 5);
        assert.equal(r.create.staleVerified, 0);
        assert.equal(r.create.latestVerified, true);
      }
    }
  });
});

describe("the example Worker in durable-object mode, through its HTTP API", { skip: skipWorkers }, () => {
  let w;
  before(async () => {
    w = await startWorker({ mode: "durable-object", demo: true, assets: false });
  });
  after(() => w?.dispose());

  test("1000 concurrent wrong verifies: exactly 3 invalid; 100 concurrent right verifies: exactly 1 ok", async () => {
    const api = httpApi(w.url);
    let user = freshUser("do-wrong");
    let c = await api.create(user);
    assert.equal(c.status, 200, JSON.stringify(c.json));
    const wrong = await Promise.all(Array.from({ length: 1000 }, (_, i) => api.verify(user, wrongCode(c.json.code, i))));
    const answers = tally(wrong, answerKey);
    const status = (await api.status(user)).json;
    report({ storm: "wrong", store: "example worker, durable-object mode (HTTP API)", n: 1000, maxAttempts: 3, answers, attemptsRecorded: status.attempts, status: status.status });
    assert.deepEqual(answers, { invalid: 3, exhausted: 997 });
    assert.equal(status.attempts, 3);

    user = freshUser("do-right");
    c = await api.create(user);
    const right = await Promise.all(Array.from({ length: 100 }, () => api.verify(user, c.json.code)));
    const rightAnswers = tally(right, answerKey);
    report({ storm: "right", store: "example worker, durable-object mode (HTTP API)", n: 100, answers: rightAnswers, status: (await api.status(user)).json.status });
    assert.deepEqual(rightAnswers, { verified: 1, used: 99 });
  });
});

// ------------------------------------------------------------------------------------
// 2. Redis

/** Calls of EVALSHA + EVAL so far (the CAS script), from INFO commandstats. */
async function casCalls(client) {
  const info = await client.info("commandstats");
  let n = 0;
  for (const m of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)) n += Number(m[2]);
  return n;
}

describe("Redis (real redis-server): the three storms in one process", { skip: skipRedis }, () => {
  let redis;
  let admin;
  before(async () => {
    redis = await startRedis();
    admin = await createClient({ url: redis.url }).connect();
  });
  after(async () => {
    await admin?.close();
    await redis?.stop();
  });

  const CLIENTS = [
    { name: "node-redis v5", connect: (url) => createClient({ url }).connect(), close: (c) => c.close() },
    {
      name: "ioredis",
      connect: async (url) => {
        const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false });
        await c.connect();
        return c;
      },
      close: (c) => c.quit(),
    },
  ];

  for (const kind of CLIENTS) {
    test(`redisStorage over ${kind.name}: exactly 3 / 1 / 5`, async () => {
      const client = await kind.connect(redis.url);
      try {
        const t0 = performance.now();
        const marks = [];
        const figures = await concurrencySuite(async () => {
          marks.push(await casCalls(admin));
          return redisStorage(client);
        }, { OtpManager: Spread, exact: true });
        marks.push(await casCalls(admin));
        // CAS calls per storm include the verification calls after it (create storm: the
        // stale-code checks and the final verify write too).
        const cas = marks.slice(1).map((m, i) => m - marks[i]);
        const store = `redis-server, redisStorage over ${kind.name}, one process`;
        reportSuite(store, figures, {
          wrong: { casCalls: cas[0], successfulWrites: 3 + 1 /* create */ },
          right: { casCalls: cas[1], successfulWrites: 1 + 1 /* create */ },
          create: { casCalls: cas[2], conflicts: figures.create.conflicts },
        });
        report({ storm: "timing", store, ms: Math.round(performance.now() - t0) });
        assert.deepEqual(figures.wrong.answers, { invalid: 3, exhausted: 997 });
        assert.deepEqual(figures.right.answers, { verified: 1, used: 99 });
        assert.deepEqual(figures.create.outcomes, { issued: 5, "error:RATE_LIMITED": 95 });
        // The storms did interleave: far more swaps were attempted than succeeded.
        assert.ok(cas[0] > 4, `wrong storm: only ${cas[0]} CAS calls`);
      } finally {
        await kind.close(client);
      }
    });
  }
});

describe("Stateless Worker on Miniflare: concurrent requests of one isolate share per-key turns", { skip: skipWorkers }, () => {
  // A manager kept for the isolate (as the example Worker keeps one) lets concurrent requests
  // for one user take turns on the key. workerd cancels a request that waits on nothing of
  // its own, and drops the continuations of a request that has answered: before the turns
  // kept a timer in each waiting request, 19 of 20 such requests were cancelled ("would
  // never generate a response") and the key then stayed blocked for the isolate's life.
  const call = async (w, body) => {
    const res = await fetch(`${w.url}/isolate`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: res.status === 200 ? JSON.parse(text) : text };
  };

  test("20 concurrent wrong guesses in 20 requests, each read 50 ms: all answered, exactly maxAttempts counted", async () => {
    const w = await stormWorker();
    const user = freshUser("isolate-wrong");
    const base = { user, delayMs: 50, timeoutMs: 10_000 };
    const created = await call(w, { ...base, op: "create" });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const code = created.body.value.code;
    const wrong = wrongCode(code);
    const answers = await Promise.all(Array.from({ length: 20 }, () => call(w, { ...base, op: "check", code: wrong })));
    const tallied = tally(answers, (r) => (r.status === 200 && r.body.value ? r.body.value.reason : `${r.status} ${String(r.body.error?.code ?? r.body).slice(0, 60)}`));
    report({ storm: "isolate-wrong", store: "workers-kv, one manager per isolate, 20 requests", answers: tallied });
    assert.deepEqual(tallied, { invalid: 3, exhausted: 17 });
    const after = await call(w, { ...base, op: "check", code });
    assert.equal(after.body.value?.reason, "exhausted");
  });

  test("a request that answers while its operation holds the key's turn does not block the key", { timeout: 60_000 }, async () => {
    const w = await stormWorker();
    const user = freshUser("isolate-leave");
    const base = { user, delayMs: 200, timeoutMs: 1000 };
    assert.equal((await call(w, { ...base, op: "create" })).status, 200);
    assert.equal((await call(w, { ...base, op: "check", code: "000000", leave: true })).status, 202);
    const t0 = performance.now();
    const next = await call(w, { ...base, op: "getLatestOtp" });
    report({ storm: "isolate-leave", store: "workers-kv, one manager per isolate", ms: Math.round(performance.now() - t0), status: next.status });
    assert.equal(next.status, 200, String(next.body));
    assert.ok(next.body.value && typeof next.body.value.expiresAt === "number", JSON.stringify(next.body));
    // It got the turn by taking it over, not because the left operation finished.
    assert.ok(performance.now() - t0 >= base.timeoutMs, "answered only after timeoutMs without progress");
  });
});

// ------------------------------------------------------------------------------------
// 3. Workers KV (measured, not asserted)

function httpApi(base) {
  const post = async (p, body) => {
    const res = await fetch(base + p, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, json: await res.json() };
  };
  return {
    create: (user) => post("/api/otp", { user }),
    verify: (user, code) => post("/api/otp/verify", { user, code }),
    async status(user) {
      const res = await fetch(`${base}/api/otp?user=${encodeURIComponent(user)}`);
      return { status: res.status, json: await res.json() };
    },
  };
}

const answerKey = (r) => (r.status === 200 ? r.json.reason : `http ${r.status} ${r.json?.error?.code ?? ""}`.trim());

describe("Workers KV on Miniflare (no compareAndSwap), the example Worker's HTTP API: measured", { skip: skipWorkers }, () => {
  let w;
  before(async () => {
    w = await startWorker({ mode: "kv", demo: true, assets: false });
  });
  after(() => w?.dispose());

  /** The stored record of `user` (scope login), straight from the KV namespace. */
  async function rawRecord(user) {
    const kv = await w.kv();
    const s = await kv.get(`otp:login:${user}`);
    if (s === null) return null;
    const a = JSON.parse(s);
    return { attempts: a[5], state: a[7], failures: a[9], issues: a[11] };
  }

  const ROUNDS = 3;

  test(`1000 parallel wrong guesses, 100 parallel right guesses, 100 parallel creates (${ROUNDS} rounds)`, async () => {
    const api = httpApi(w.url);
    const store = "workers-kv on miniflare (example worker, HTTP API, library defaults)";
    for (let round = 1; round <= ROUNDS; round++) {
      // Wrong guesses: maxAttempts 3 and failureLimit 10/h (the defaults) would stop a
      // sequential attacker after 3 answered guesses.
      let user = freshUser("kv-wrong");
      let c = await api.create(user);
      assert.equal(c.status, 200, JSON.stringify(c.json));
      let t0 = performance.now();
      const wrong = await Promise.all(Array.from({ length: 1000 }, (_, i) => api.verify(user, wrongCode(c.json.code, i))));
      const wrongMs = Math.round(performance.now() - t0);
      const answers = tally(wrong, answerKey);
      const rec = await rawRecord(user);
      report({
        storm: "wrong", store, round, n: 1000, maxAttempts: 3, failureLimit: 10, answers,
        answeredInvalid: answers.invalid ?? 0, attemptsRecorded: rec.attempts, failuresRecorded: rec.failures,
        http429: wrong.filter((r) => r.status === 429).length, ms: wrongMs,
      });
      assert.ok(rec.attempts <= 3, "the record stays valid: attempts <= maxAttempts");

      // Right guesses: single use.
      user = freshUser("kv-right");
      c = await api.create(user);
      t0 = performance.now();
      const right = await Promise.all(Array.from({ length: 100 }, () => api.verify(user, c.json.code)));
      const rightAnswers = tally(right, answerKey);
      report({
        storm: "right", store, round, n: 100, answers: rightAnswers, verified: rightAnswers.verified ?? 0,
        recordState: ["active", "used", "revoked"][(await rawRecord(user)).state], ms: Math.round(performance.now() - t0),
      });
      assert.ok((rightAnswers.verified ?? 0) >= 1);

      // Creates: resend cooldown 30 s and issueLimit 5/h (the defaults) allow 1 at a time.
      user = freshUser("kv-create");
      t0 = performance.now();
      const creates = await Promise.all(Array.from({ length: 100 }, () => api.create(user)));
      const outcomes = tally(creates, (r) => (r.status === 200 ? "issued" : answerKey(r)));
      const codes = creates.filter((r) => r.status === 200).map((r) => r.json.code);
      const latest = await rawRecord(user);
      report({
        storm: "create", store, round, n: 100, cooldownSeconds: 30, issueLimit: 5, outcomes, issued: codes.length,
        distinctCodes: new Set(codes).size, issuesRecorded: latest.issues, ms: Math.round(performance.now() - t0),
      });
      assert.ok(latest.issues <= 5, "the record stays valid: issues <= issueLimit");
    }
  });

  test("the same storms as concurrent promises inside one Worker request, on the KV binding (worst case)", async () => {
    const sw = await stormWorker();
    const r = await postJson(`${sw.url}/inside`, { storage: "workers-kv" });
    for (const k of ["wrong", "right", "create"]) assert.ok(!r[k].error, `${k} storm failed: ${JSON.stringify(r[k])}`);
    reportSuite("workers-kv on miniflare, concurrent promises in one Worker request (maxAttempts 3, no failure limit, cooldown 0)", r);
    assert.ok(r.wrong.attempts <= 3);
  });
});
