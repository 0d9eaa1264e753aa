// edge-otp/totp on a real redis-server (pkg/redis.js, node-redis v5 and ioredis): the TOTP
// suite, and the storms over 4 package instances sharing the server (compare-and-swap in
// Lua): 100 parallel right verifies → exactly one true; 1000 parallel wrong → exactly the
// failure budget counted.
//
//   node --test tests/js/totp-redis.test.mjs
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { Redis } from "ioredis";
import { startRedis } from "./redis-server.mjs";
import { cases } from "./totp-suite.mjs";
import { loadTotpInstances, rightStorm, wrongStorm } from "./totp-concurrency.mjs";
import * as api from "../../pkg/totp-node.js";
import { redisStorage } from "../../pkg/redis.js";

let redis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

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
  describe(`TOTP on redis-server: ${kind.name}`, () => {
    let client;
    before(async () => {
      client = await kind.connect(redis.url);
    });
    after(async () => {
      if (client) await kind.close(client);
    });
    for (const c of cases) {
      test(c.name, () => c.run({
        makeStorage: async () => {
          await kind.flush(client);
          return redisStorage(client);
        },
        api,
        assert,
      }));
    }
    test("storms over 4 package instances: one true of 100 right, 5 counted of 1000 wrong", async () => {
      const classes = await loadTotpInstances(4);
      await kind.flush(client);
      const right = await rightStorm(classes, redisStorage(client), 100);
      assert.deepEqual(right.answers, { true: 1, false: 99 });
      const wrong = await wrongStorm(classes, redisStorage(client), 1000);
      assert.deepEqual(wrong.answers, { invalid: 5, locked: 995 });
      assert.equal(wrong.after, "locked");
    });
  });
}
