// Tests of pkg/redis.js (edge-otp/redis) against a real redis-server, with node-redis v5
// (RESP2 and RESP3) and ioredis, plus fake clients for the exact calling conventions.
//
//   node --test tests/js/redis-adapter.test.mjs
//
// Needs /usr/bin/redis-server (Debian package `redis-server`) and the root dev
// dependencies `redis` and `ioredis`.

import { describe, test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createClient, RESP_TYPES } from "redis";
import { Redis, Cluster } from "ioredis";
import { startRedis } from "./redis-server.mjs";
import { redisStorage } from "../../pkg/redis.js";

const SOURCE = readFileSync(new URL("../../pkg/redis.js", import.meta.url), "utf8");
const CAS_SCRIPT = SOURCE.match(/const CAS_SCRIPT = `([^`]*)`/)[1];
const CAS_SHA1 = SOURCE.match(/const CAS_SHA1 = "([0-9a-f]{40})"/)[1];

/** Wrap `obj[name]` to record calls and every error it throws/rejects with. */
function spy(obj, name) {
  const own = Object.prototype.hasOwnProperty.call(obj, name);
  const orig = obj[name];
  const rec = {
    calls: [],
    errors: [],
    restore() {
      if (own) obj[name] = orig;
      else delete obj[name];
    },
  };
  obj[name] = function (...args) {
    rec.calls.push(args);
    let r;
    try {
      r = orig.apply(this, args);
    } catch (e) {
      rec.errors.push(e);
      throw e;
    }
    return Promise.resolve(r).catch((e) => {
      rec.errors.push(e);
      throw e;
    });
  };
  return rec;
}

const KINDS = [
  {
    name: "node-redis v5 (RESP2)",
    connect: (url) => createClient({ url }).connect(),
    close: (c) => c.close(),
    evalShaName: "evalSha",
    lpush: (c, k, v) => c.lPush(k, v),
    scriptFlush: (c) => c.scriptFlush(),
    scriptExists: async (c, sha) => Number((await c.scriptExists(sha))[0]) === 1,
  },
  {
    name: "node-redis v5 (RESP3)",
    connect: (url) => createClient({ url, RESP: 3 }).connect(),
    close: (c) => c.close(),
    evalShaName: "evalSha",
    lpush: (c, k, v) => c.lPush(k, v),
    scriptFlush: (c) => c.scriptFlush(),
    scriptExists: async (c, sha) => Number((await c.scriptExists(sha))[0]) === 1,
  },
  {
    name: "ioredis",
    connect: async (url, extra = {}) => {
      const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false, ...extra });
      await c.connect();
      return c;
    },
    close: (c) => c.quit(),
    evalShaName: "evalsha",
    lpush: (c, k, v) => c.lpush(k, v),
    scriptFlush: (c) => c.script("FLUSH"),
    scriptExists: async (c, sha) => Number((await c.script("EXISTS", sha))[0]) === 1,
  },
];

let server;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server?.stop();
});

test("CAS_SHA1 is the SHA-1 of CAS_SCRIPT", () => {
  assert.equal(createHash("sha1").update(CAS_SCRIPT).digest("hex"), CAS_SHA1);
});

for (const kind of KINDS) {
  describe(kind.name, () => {
    let client;
    let storage;
    let n = 0;
    let k; // a fresh key per test
    before(async () => {
      client = await kind.connect(server.url);
      storage = redisStorage(client);
    });
    after(async () => {
      await kind.close(client);
    });
    beforeEach(() => {
      k = `t:${kind.name}:${++n}`;
    });

    test("get of an absent key is null", async () => {
      assert.equal(await storage.get(k), null);
    });

    test("put / get round trip", async () => {
      const v = '[1,"ünï\\"cødé",{"a":null}] \u{1F600}';
      assert.equal(await storage.put(k, v), undefined);
      assert.equal(await storage.get(k), v);
      await storage.put(k, "");
      assert.equal(await storage.get(k), "");
      assert.equal(await client.get(k), "");
    });

    test("put without expirationTtl: no TTL (and clears an existing one)", async () => {
      await storage.put(k, "a");
      assert.equal(await client.ttl(k), -1);
      await storage.put(k, "b", { expirationTtl: 100 });
      assert.ok((await client.ttl(k)) > 0);
      await storage.put(k, "c");
      assert.equal(await client.ttl(k), -1);
      await storage.put(k, "d", {});
      assert.equal(await client.ttl(k), -1);
    });

    test("put with expirationTtl sets EX", async () => {
      await storage.put(k, "v", { expirationTtl: 120 });
      const ttl = await client.ttl(k);
      assert.ok(ttl > 110 && ttl <= 120, `ttl ${ttl}`);
      await storage.put(k, "v", { expirationTtl: 1.2 }); // rounded up to 2
      assert.equal(await client.ttl(k), 2);
    });

    test("invalid expirationTtl rejects with RangeError and writes nothing", async () => {
      // Only a number: a numeric string, a BigInt, a Symbol or an object whose valueOf throws
      // is refused the same way, without being converted.
      const hostile = { valueOf() { throw new Error("converted"); } };
      // Nor one past Redis's expire times (1e300 s used to reach Redis: "value is not an integer").
      for (const bad of [0, -5, NaN, Infinity, 1e300, 3_153_600_001, "x", "60", 60n, Symbol("ttl"), hostile]) {
        const refused = (e) => e instanceof RangeError && e.code === "INVALID_ARGUMENT" && e.argument === "expirationTtl" &&
          /^edge-otp\/redis: redisStorage: (put|compareAndSwap): expirationTtl must be /.test(e.message);
        await assert.rejects(storage.put(k, "v", { expirationTtl: bad }), refused);
        await assert.rejects(storage.compareAndSwap(k, null, "v", { expirationTtl: bad }), refused);
      }
      assert.equal(await client.exists(k), 0);
    });

    test("a key, value or expected that is not a string rejects with INVALID_ARGUMENT naming it, before any command", async () => {
      // Both libraries would convert them: 42 and "42" would be one key, {} "[object Object]".
      const hostile = { toString() { throw new Error("converted"); } };
      await storage.put(k, "v");
      const sent = spy(client, "sendCommand");
      try {
        for (const bad of [4915112345678, 1n, null, undefined, {}, [k], Symbol("k"), hostile]) {
          // By its type only: a number (a phone number, a user id) is not repeated.
          const refused = (argument) => (e) =>
            e instanceof RangeError && e.code === "INVALID_ARGUMENT" && e.argument === argument &&
            e.message.includes("must be a string, got a value of type") && !e.message.includes("4915112345678");
          if (bad !== null && bad !== undefined) {
            await assert.rejects(storage.compareAndSwap(k, bad, "w"), refused("expected"), `expected ${String(typeof bad)}`);
          }
          await assert.rejects(storage.get(bad), refused("key"));
          await assert.rejects(storage.put(bad, "v"), refused("key"));
          await assert.rejects(storage.put(k, bad), refused("value"));
          await assert.rejects(storage.compareAndSwap(bad, null, "v"), refused("key"));
          await assert.rejects(storage.compareAndSwap(k, "v", bad), refused("value"));
          await assert.rejects(storage.delete(bad), refused("key"));
        }
        // ioredis sends every command through sendCommand; node-redis has its own path.
        if (kind.name.startsWith("ioredis")) assert.equal(sent.calls.length, 0, "no command was sent");
      } finally {
        sent.restore();
      }
      assert.equal(await storage.get(k), "v", "nothing was written");
      for (const converted of ["4915112345678", "1", "null", "undefined", "[object Object]"]) {
        assert.equal(await client.exists(converted), 0, converted);
      }
    });

    test("expirationTtl really expires the key", async () => {
      await storage.put(k, "v", { expirationTtl: 1 });
      // Shorten to 30 ms through the client so the test is quick, then wait.
      if (typeof client.pExpire === "function") await client.pExpire(k, 30);
      else await client.pexpire(k, 30);
      await new Promise((r) => setTimeout(r, 80));
      assert.equal(await storage.get(k), null);
    });

    test("CAS with expected = null: writes only when absent", async () => {
      assert.equal(await storage.compareAndSwap(k, null, "first"), true);
      assert.equal(await storage.get(k), "first");
      assert.equal(await storage.compareAndSwap(k, null, "second"), false);
      assert.equal(await storage.get(k), "first");
      // An empty value is present, not absent.
      await storage.put(k, "");
      assert.equal(await storage.compareAndSwap(k, null, "x"), false);
      assert.equal(await storage.get(k), "");
    });

    test("CAS with expected string: writes only when equal", async () => {
      await storage.put(k, "v1");
      assert.equal(await storage.compareAndSwap(k, "v0", "v2"), false);
      assert.equal(await storage.get(k), "v1");
      assert.equal(await storage.compareAndSwap(k, "v1", "v2"), true);
      assert.equal(await storage.get(k), "v2");
      assert.equal(await storage.compareAndSwap(k, "v1", "v3"), false);
      assert.equal(await storage.get(k), "v2");
      // Prefix / case / whitespace differences are not equal.
      assert.equal(await storage.compareAndSwap(k, "v", "x"), false);
      assert.equal(await storage.compareAndSwap(k, "V2", "x"), false);
      assert.equal(await storage.compareAndSwap(k, "v2 ", "x"), false);
      assert.equal(await storage.get(k), "v2");
    });

    test("CAS with expected string on an absent key fails (also for '')", async () => {
      assert.equal(await storage.compareAndSwap(k, "v", "x"), false);
      assert.equal(await storage.compareAndSwap(k, "", "x"), false);
      assert.equal(await client.exists(k), 0);
      await storage.put(k, "");
      assert.equal(await storage.compareAndSwap(k, "", "x"), true);
      assert.equal(await storage.get(k), "x");
    });

    test("CAS with expirationTtl sets EX; without clears it; a failed CAS keeps it", async () => {
      assert.equal(await storage.compareAndSwap(k, null, "a", { expirationTtl: 300 }), true);
      let ttl = await client.ttl(k);
      assert.ok(ttl > 290 && ttl <= 300, `ttl ${ttl}`);
      assert.equal(await storage.compareAndSwap(k, "zzz", "b"), false);
      ttl = await client.ttl(k);
      assert.ok(ttl > 290 && ttl <= 300, `ttl after failed CAS ${ttl}`);
      assert.equal(await storage.compareAndSwap(k, "a", "b", { expirationTtl: 60.5 }), true);
      assert.equal(await client.ttl(k), 61);
      assert.equal(await storage.compareAndSwap(k, "b", "c"), true);
      assert.equal(await client.ttl(k), -1);
      assert.equal(await storage.get(k), "c");
    });

    test("EVALSHA is used, with EVAL fallback after SCRIPT FLUSH", async () => {
      await kind.scriptFlush(client);
      assert.equal(await kind.scriptExists(client, CAS_SHA1), false);
      const es = spy(client, kind.evalShaName);
      const ev = spy(client, "eval");
      try {
        assert.equal(await storage.compareAndSwap(k, null, "1"), true);
        assert.equal(es.calls.length, 1);
        assert.match(es.errors[0].message, /^NOSCRIPT/);
        assert.equal(ev.calls.length, 1);
        assert.equal(await kind.scriptExists(client, CAS_SHA1), true);
        assert.equal(await storage.compareAndSwap(k, "1", "2"), true);
        assert.equal(await storage.compareAndSwap(k, "1", "3"), false);
        assert.equal(es.calls.length, 3);
        assert.equal(es.errors.length, 1);
        assert.equal(ev.calls.length, 1);
        assert.equal(await storage.get(k), "2");
      } finally {
        es.restore();
        ev.restore();
      }
    });

    describe("concurrency", () => {
      let clients;
      let storages;
      before(async () => {
        clients = [client];
        for (let i = 0; i < 3; i++) clients.push(await kind.connect(server.url));
        storages = clients.map((c) => redisStorage(c));
      });
      after(async () => {
        for (const c of clients.slice(1)) await kind.close(c);
      });

      test("200 concurrent CAS from the same expected value: exactly one wins", async () => {
        await storage.put(k, "v0");
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            storages[i % storages.length].compareAndSwap(k, "v0", `v${i + 1}`),
          ),
        );
        const winners = results.flatMap((ok, i) => (ok ? [i] : []));
        assert.equal(winners.length, 1, `winners: ${winners}`);
        assert.equal(await storage.get(k), `v${winners[0] + 1}`);
      });

      test("200 concurrent CAS from null on an absent key: exactly one wins", async () => {
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            storages[i % storages.length].compareAndSwap(k, null, `w${i}`, { expirationTtl: 60 }),
          ),
        );
        const winners = results.flatMap((ok, i) => (ok ? [i] : []));
        assert.equal(winners.length, 1, `winners: ${winners}`);
        assert.equal(await storage.get(k), `w${winners[0]}`);
      });

      test("control: a naive GET-then-SET 'CAS' loses updates in the same setup", async () => {
        // Shows that the two tests above can detect a non-atomic implementation.
        const naive = (s) => async (key, expected, value) => {
          if ((await s.get(key)) !== expected) return false;
          await s.put(key, value);
          return true;
        };
        await storage.put(k, "v0");
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) => naive(storages[i % storages.length])(k, "v0", `v${i}`)),
        );
        assert.ok(results.filter(Boolean).length > 1);
      });

      test("CAS-retry counter: 8 workers x 25 increments = 200", async () => {
        await storage.put(k, "0");
        let retries = 0;
        const worker = async (s) => {
          for (let i = 0; i < 25; i++) {
            for (;;) {
              const cur = await s.get(k);
              if (await s.compareAndSwap(k, cur, String(Number(cur) + 1))) break;
              retries++;
            }
          }
        };
        await Promise.all(Array.from({ length: 8 }, (_, i) => worker(storages[i % storages.length])));
        assert.equal(await storage.get(k), "200");
        assert.ok(retries > 0, "expected some contention");
      });
    });

    describe("errors propagate as the same object", () => {
      test("WRONGTYPE from get", async () => {
        await kind.lpush(client, k, "x");
        const s = spy(client, "get");
        try {
          const err = await storage.get(k).then(
            () => assert.fail("should reject"),
            (e) => e,
          );
          assert.equal(s.errors.length, 1);
          assert.equal(err, s.errors[0]);
          assert.match(err.message, /WRONGTYPE/);
        } finally {
          s.restore();
        }
      });

      test("WRONGTYPE from the CAS script (not retried with EVAL)", async () => {
        await kind.lpush(client, k, "x");
        await storage.compareAndSwap(`${k}:warm`, null, "1"); // script is cached
        const es = spy(client, kind.evalShaName);
        const ev = spy(client, "eval");
        try {
          for (const expected of [null, "x"]) {
            const err = await storage.compareAndSwap(k, expected, "v").then(
              () => assert.fail("should reject"),
              (e) => e,
            );
            assert.equal(err, es.errors.at(-1));
            assert.match(err.message, /WRONGTYPE/);
          }
          assert.equal(ev.calls.length, 0);
        } finally {
          es.restore();
          ev.restore();
        }
        assert.equal(await client.type(k), "list");
      });

      test("calls after the client is closed", async () => {
        const c = await kind.connect(server.url);
        const st = redisStorage(c);
        assert.equal(await st.compareAndSwap(k, null, "1"), true);
        await kind.close(c);
        const g = spy(c, "get");
        const setSpy = spy(c, "set");
        const es = spy(c, kind.evalShaName);
        const ev = spy(c, "eval");
        try {
          const e1 = await st.get(k).then(() => assert.fail("get should reject"), (e) => e);
          assert.equal(e1, g.errors[0]);
          const e2 = await st.put(k, "2").then(() => assert.fail("put should reject"), (e) => e);
          assert.equal(e2, setSpy.errors[0]);
          const e3 = await st.compareAndSwap(k, "1", "2").then(
            () => assert.fail("CAS should reject"),
            (e) => e,
          );
          assert.equal(e3, es.errors[0]);
          assert.equal(ev.calls.length, 0);
          assert.ok(e1 instanceof Error && e2 instanceof Error && e3 instanceof Error);
        } finally {
          for (const s of [g, setSpy, es, ev]) s.restore();
        }
        assert.equal(await storage.get(k), "1");
      });
    });
  });
}

describe("node-redis specifics", () => {
  test("Buffer type mapping: get still returns a string", async () => {
    const c = await createClient({ url: server.url }).connect();
    try {
      const bc = c.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
      const st = redisStorage(bc);
      await st.put("tm:1", "héllo");
      assert.ok(Buffer.isBuffer(await bc.get("tm:1")));
      assert.equal(await st.get("tm:1"), "héllo");
      assert.equal(await st.compareAndSwap("tm:1", "héllo", "b"), true);
      assert.equal(await st.get("tm:1"), "b");
    } finally {
      await c.close();
    }
  });
});

describe("ioredis specifics", () => {
  test("a client that resends unanswered commands (ioredis's default) is refused, for Redis and Cluster", async () => {
    const refused = (e) => e instanceof TypeError && e.code === "INVALID_CONFIG" && e.message.includes("autoResendUnfulfilledCommands: false");
    const byDefault = new Redis(server.url, { lazyConnect: true });
    const explicit = new Redis(server.url, { lazyConnect: true, autoResendUnfulfilledCommands: true });
    const off = new Redis(server.url, { lazyConnect: true, autoResendUnfulfilledCommands: false });
    // Real Cluster objects (lazyConnect: nothing is connected), with their defaulted options.
    const node = [{ host: "127.0.0.1", port: Number(new URL(server.url).port) }];
    const clusters = {
      byDefault: new Cluster(node, { lazyConnect: true }),
      nodesOnly: new Cluster(node, { lazyConnect: true, redisOptions: { autoResendUnfulfilledCommands: false } }),
      failoverOnly: new Cluster(node, { lazyConnect: true, retryDelayOnFailover: 0 }),
      both: new Cluster(node, { lazyConnect: true, retryDelayOnFailover: 0, redisOptions: { autoResendUnfulfilledCommands: false } }),
    };
    try {
      assert.throws(() => redisStorage(byDefault), refused, "ioredis's default");
      assert.throws(() => redisStorage(explicit), refused, "asked for");
      assert.equal(typeof redisStorage(off).compareAndSwap, "function", "turned off");
      // A Cluster retries a command its node's connection dropped after retryDelayOnFailover.
      for (const name of ["byDefault", "nodesOnly", "failoverOnly"]) {
        assert.throws(() => redisStorage(clusters[name]), (e) => refused(e) && e.message.includes("retryDelayOnFailover: 0"), name);
      }
      assert.equal(typeof redisStorage(clusters.both).compareAndSwap, "function", "neither retry");
    } finally {
      for (const c of [byDefault, explicit, off, ...Object.values(clusters)]) c.disconnect();
    }
  });

  test("keyPrefix applies to get, put and the CAS script's KEYS", async () => {
    const c = new Redis(server.url, { keyPrefix: "pfx:", autoResendUnfulfilledCommands: false });
    const raw = new Redis(server.url);
    try {
      const st = redisStorage(c);
      await st.put("a", "1");
      assert.equal(await raw.get("pfx:a"), "1");
      assert.equal(await st.compareAndSwap("a", "1", "2"), true);
      assert.equal(await st.compareAndSwap("b", null, "3"), true);
      assert.equal(await raw.get("pfx:a"), "2");
      assert.equal(await raw.get("pfx:b"), "3");
      assert.equal(await raw.exists("a", "b"), 0);
    } finally {
      c.disconnect();
      raw.disconnect();
    }
  });
});

describe("client detection and calling conventions (fake clients)", () => {
  function fake(kind) {
    const calls = [];
    const rec = (name, result) => (...args) => {
      calls.push([name, ...args]);
      return Promise.resolve(typeof result === "function" ? result(...args) : result);
    };
    const c =
      kind === "node-redis"
        ? {
            get: rec("get", "v"),
            set: rec("set", "OK"),
            eval: rec("eval", 1),
            evalSha: rec("evalSha", 0),
          }
        : {
            get: rec("get", null),
            set: rec("set", "OK"),
            eval: rec("eval", 1),
            evalsha: rec("evalsha", 1),
          };
    return { c, calls };
  }

  test("node-redis convention", async () => {
    const { c, calls } = fake("node-redis");
    const st = redisStorage(c);
    assert.equal(await st.get("k"), "v");
    await st.put("k", "a");
    await st.put("k", "b", { expirationTtl: 60 });
    assert.equal(await st.compareAndSwap("k", null, "c"), false);
    assert.equal(await st.compareAndSwap("k", "c", "d", { expirationTtl: 5 }), false);
    assert.deepEqual(calls, [
      ["get", "k"],
      ["set", "k", "a"],
      ["set", "k", "b", { expiration: { type: "EX", value: 60 }, EX: 60 }],
      ["evalSha", CAS_SHA1, { keys: ["k"], arguments: ["0", "", "c", ""] }],
      ["evalSha", CAS_SHA1, { keys: ["k"], arguments: ["1", "c", "d", "5"] }],
    ]);
  });

  test("ioredis convention", async () => {
    const { c, calls } = fake("ioredis");
    const st = redisStorage(c);
    assert.equal(await st.get("k"), null);
    await st.put("k", "a");
    await st.put("k", "b", { expirationTtl: 60 });
    assert.equal(await st.compareAndSwap("k", null, "c"), true);
    assert.equal(await st.compareAndSwap("k", "c", "d", { expirationTtl: 5 }), true);
    assert.deepEqual(calls, [
      ["get", "k"],
      ["set", "k", "a"],
      ["set", "k", "b", "EX", 60],
      ["evalsha", CAS_SHA1, 1, "k", "0", "", "c", ""],
      ["evalsha", CAS_SHA1, 1, "k", "1", "c", "d", "5"],
    ]);
  });

  test("a client without del: the store has no delete, so forget is INVALID_CONFIG storage, and the rest works", async () => {
    const { OtpManager } = await import("../../pkg/node.js");
    for (const kind of ["node-redis", "ioredis"]) {
      const { c } = fake(kind);
      assert.equal(typeof redisStorage(c).delete, "undefined", kind);
      const st = redisStorage({ ...c, del: async () => 1 });
      assert.equal(await st.delete("k"), true, `${kind} with del`);
      // An in-memory Redis of the calls the adapter makes (its script's semantics).
      const values = new Map();
      const cas = (k, [has, expected, value]) => {
        const cur = values.get(k) ?? null;
        if (has === "1" ? cur !== expected : cur !== null) return 0;
        values.set(k, value);
        return 1;
      };
      const store = redisStorage({
        get: async (k) => values.get(k) ?? null,
        set: async (k, v) => void values.set(k, v),
        ...(kind === "node-redis"
          ? { evalSha: async (_sha, o) => cas(o.keys[0], o.arguments), eval: async (_s, o) => cas(o.keys[0], o.arguments) }
          : { evalsha: async (_sha, _n, k, ...a) => cas(k, a), eval: async (_s, _n, k, ...a) => cas(k, a) }),
      });
      const otp = new OtpManager(store, { secret: "redis without del secret 0123" });
      await otp.create("ada");
      await assert.rejects(otp.forget("ada"), (e) => e.code === "INVALID_CONFIG" && e.field === "storage", kind);
      assert.equal(values.size, 1, `${kind}: nothing was deleted`);
    }
  });

  test("NOSCRIPT falls back to EVAL with the script; other errors do not", async () => {
    const noscript = new Error("NOSCRIPT No matching script. Please use EVAL.");
    const other = new Error("READONLY You can't write against a read only replica.");
    let next = noscript;
    const calls = [];
    const c = {
      get: async () => null,
      set: async () => "OK",
      evalSha: async (...a) => {
        calls.push(["evalSha", ...a]);
        throw next;
      },
      eval: async (...a) => {
        calls.push(["eval", ...a]);
        return 1;
      },
    };
    const st = redisStorage(c);
    assert.equal(await st.compareAndSwap("k", null, "v"), true);
    assert.deepEqual(calls.map((x) => x[0]), ["evalSha", "eval"]);
    assert.equal(calls[1][1], CAS_SCRIPT);
    next = other;
    await assert.rejects(st.compareAndSwap("k", null, "v"), (e) => e === other);
    assert.deepEqual(calls.map((x) => x[0]), ["evalSha", "eval", "evalSha"]);
  });

  test("synchronous throws from the client become rejections with the same object", async () => {
    const boom = new Error("boom");
    const c = {
      get() { throw boom; },
      set() { throw boom; },
      eval() { throw boom; },
      evalsha() { throw boom; },
    };
    const st = redisStorage(c);
    await assert.rejects(st.get("k"), (e) => e === boom);
    await assert.rejects(st.put("k", "v"), (e) => e === boom);
    await assert.rejects(st.compareAndSwap("k", null, "v"), (e) => e === boom);
  });

  test("unsupported clients and any option key are rejected with TypeError, code INVALID_CONFIG", () => {
    const refused = (e) => e instanceof TypeError && e.code === "INVALID_CONFIG" && e.message.startsWith("edge-otp/redis: ");
    for (const bad of [null, undefined, 42, "redis://x", {}, { get() {}, set() {} }, { eval() {} }]) {
      assert.throws(() => redisStorage(bad), refused);
    }
    const client = { eval() {}, evalSha() {}, get() {}, set() {}, del() {} };
    for (const bad of [{ prefix: "x" }, { ttl: 60 }, 5, []]) {
      assert.throws(() => redisStorage(client, bad), refused, JSON.stringify(bad));
    }
    // An array is not options (as for the SQL stores), not even an empty one.
    assert.throws(() => redisStorage(client, []), (e) => refused(e) && e.message.includes("got an array"));
    // The message names the key (a long one is not copied).
    assert.throws(() => redisStorage(client, { keyPrefix: "x" }), (e) => refused(e) && e.message.includes("unknown option keyPrefix "));
    const longKey = `k${"y".repeat(10_000)}`;
    assert.throws(() => redisStorage(client, { [longKey]: 1 }), (e) => refused(e) && e.message.length < 200 && e.message.includes("(a long key)"));
    assert.equal(typeof redisStorage(client, {}).get, "function", "{} is no options");
    assert.equal(typeof redisStorage(client, null).get, "function", "null is no options (as for the SQL stores)");
    assert.equal(typeof redisStorage(client).get, "function");
  });
});
