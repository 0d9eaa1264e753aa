// edge-otp/redis — OtpStorage adapter for Redis (node-redis v4 or later, or ioredis).
// No dependencies: the caller passes an already-created client.

import { invalidConfig as configError, expirationTtl, optionsProblem, requireString } from "./adapter-errors.js";

/**
 * Why an ioredis client would send a command again after its connection dropped with the
 * reply unread, or undefined when it does not. The compare-and-swap script may then run
 * twice: the second run finds its own write, answers "not swapped", and the driver, taking
 * that for a conflict, applies the operation again (a wrong guess counted twice, a right
 * code answered "used", a code issued that the caller never receives). A `Redis` client
 * resends them after reconnecting (`autoResendUnfulfilledCommands`, true by default); a
 * `Cluster` retries a command that failed with "Connection is closed" after
 * `retryDelayOnFailover` (100 ms by default), and its nodes resend as `Redis` clients do
 * when they reconnect (`redisOptions`). A client whose options cannot be read (not an
 * ioredis instance) is taken as it is.
 */
function resendsUnanswered(client) {
  const options = client.options;
  if (options === null || typeof options !== "object") return undefined;
  if (client.isCluster === true) {
    return options.retryDelayOnFailover === 0 && options.redisOptions?.autoResendUnfulfilledCommands === false
      ? undefined
      : "create the ioredis Cluster with { retryDelayOnFailover: 0, redisOptions: { autoResendUnfulfilledCommands: false } }";
  }
  return options.autoResendUnfulfilledCommands === false
    ? undefined
    : "create the ioredis client with { autoResendUnfulfilledCommands: false }";
}

/**
 * Lua compare-and-swap, executed atomically by Redis.
 *
 * KEYS[1] = key
 * ARGV[1] = "1" when an expected value is given, "0" when the key must be absent
 * ARGV[2] = expected value ("" when ARGV[1] == "0")
 * ARGV[3] = new value
 * ARGV[4] = TTL in whole seconds, or "" for no expiry
 *
 * Returns 1 when the value was written, 0 otherwise. A GET on a key holding a
 * non-string type raises WRONGTYPE, which the client reports as an error.
 */
const CAS_SCRIPT = `local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return 0 end
elseif cur then
  return 0
end
if ARGV[4] == '' then
  redis.call('SET', KEYS[1], ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
end
return 1
`;

/** SHA-1 of CAS_SCRIPT (hex), for EVALSHA. Checked by tests/js/redis-adapter.test.mjs. */
const CAS_SHA1 = "e75d53d8cc8d0adca0631b2233a6c0fc678c015c";

const decoder = /* @__PURE__ */ new TextDecoder();

function toStringOrNull(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  // node-redis with a Buffer type mapping returns Buffers.
  if (v instanceof Uint8Array) return decoder.decode(v);
  return String(v);
}

const invalidConfig = (message) => configError("edge-otp/redis", message);

const ENTRY = "edge-otp/redis: redisStorage";

/** Whole seconds of `options.expirationTtl` (rounded up), or null; `method` for a refusal. */
function ttlSeconds(options, method) {
  const ttl = expirationTtl(options, ENTRY, method);
  return ttl === null ? null : Math.ceil(ttl);
}

function isNoScript(err) {
  return typeof err?.message === "string" && err.message.startsWith("NOSCRIPT");
}

/**
 * Runs the compare-and-swap script with `send(script, byHash)`: by its SHA-1 (`EVALSHA`,
 * `byHash` true), then whole (`EVAL`, which also caches it) when the server answers
 * NOSCRIPT (first use, `SCRIPT FLUSH`, restart, failover).
 */
async function runCas(send) {
  try {
    return await send(CAS_SHA1, true);
  } catch (err) {
    if (!isNoScript(err)) throw err;
    return await send(CAS_SCRIPT, false);
  }
}

/**
 * Create an [`OtpStorage`] backed by Redis, for use with `new OtpManager(storage, ...)`.
 *
 * `client` is a connected client of one of:
 *
 * - **node-redis** v4 or later (`redis` / `@redis/client`): `createClient()`,
 *   `createCluster()` or (v5 and later) `createClientPool()`;
 * - **ioredis**: `new Redis()` or `new Redis.Cluster()`.
 *
 * # Client detection
 *
 * By feature, not by `instanceof` (so no import of either library is needed):
 * node-redis exposes camel-cased command methods, so a client with a function
 * `evalSha` is driven with the node-redis calling convention
 * (`eval(script, { keys, arguments })`, `set(key, value, { EX })`); otherwise a client
 * with a function `evalsha` (ioredis' lower-case naming) is driven with the ioredis
 * convention (`eval(script, numKeys, ...keys, ...args)`, `set(key, value, "EX", n)`).
 * Anything else is rejected with a `TypeError`. (The callback-based node-redis v3 is not
 * supported.)
 *
 * # Semantics
 *
 * - `get(key)` → the string value, or `null` when the key is absent.
 * - `put(key, value, { expirationTtl? })` → `SET key value [EX ttl]`. Without
 *   `expirationTtl` the key does not expire (an existing TTL is cleared, like `SET`).
 * - `compareAndSwap(key, expected, value, { expirationTtl? })` → `true` when written.
 *   Runs one Lua script, so it is atomic with respect to every other Redis command:
 *   with `expected === null` it writes only if the key does not exist; otherwise only
 *   if the current value equals `expected`. The script is sent with `EVALSHA` and, if
 *   the server answers `NOSCRIPT` (first use, `SCRIPT FLUSH`, restart, failover), with
 *   `EVAL`, which also caches it.
 * - `delete(key)` → `DEL key`, whether a key was removed; present only when the client
 *   has `del` (without it, `forget` and edge-otp/totp's `disable` are `INVALID_CONFIG`).
 * - `expirationTtl` is in seconds; fractional values are rounded up, and a value that is
 *   not a positive number of at most 100 years rejects with a `RangeError`.
 *
 * Errors thrown or rejected by the client (connection closed, `WRONGTYPE`, ...) are
 * propagated unchanged, as the same object. A key, value or `expected` that is not a
 * string rejects with a `RangeError` (`code` `INVALID_ARGUMENT`, `argument` naming it)
 * before any command. Keys are used as given (the `OtpManager`
 * already prefixes them; an ioredis `keyPrefix` option still applies).
 *
 * # Example
 *
 * ```js
 * import { createClient } from "redis";
 * import { OtpManager } from "edge-otp";
 * import { redisStorage } from "edge-otp/redis";
 *
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
 * const otp = new OtpManager(redisStorage(client), { secret: process.env.OTP_SECRET });
 * ```
 *
 * @param {object} client A node-redis (v4 or later) or ioredis client (connected, or with an
 *   offline queue).
 * @param {object} [options] Reserved for future use: none is read yet, and any key is
 *   refused (`INVALID_CONFIG`), so that a mistyped option is not silently ignored; `null`
 *   and `{}` are no options, an array is refused.
 * @returns {{
 *   get(key: string): Promise<string | null>,
 *   put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>,
 *   compareAndSwap(key: string, expected: string | null, value: string,
 *                  options?: { expirationTtl?: number }): Promise<boolean>,
 *   delete?(key: string): Promise<boolean>,
 * }}
 */
export function redisStorage(client, options) {
  if (client === null || (typeof client !== "object" && typeof client !== "function")) {
    throw invalidConfig("redisStorage: expected a node-redis or ioredis client");
  }
  // null and {} are no options, as for the SQL stores; an array is not options.
  const problem = optionsProblem(options, []);
  if (problem !== undefined) throw invalidConfig(`redisStorage: ${problem}`);

  let set;
  let evalCas;
  if (typeof client.evalSha === "function" && typeof client.eval === "function") {
    // node-redis v4 and later (client, cluster, pool).
    set = (key, value, ttl) =>
      ttl === null
        ? client.set(key, value)
        : // v5 reads `expiration` (EX is deprecated there), v4 ignores it and reads EX.
          client.set(key, value, { expiration: { type: "EX", value: ttl }, EX: ttl });
    evalCas = (key, args) => {
      const opts = { keys: [key], arguments: args };
      return runCas((script, byHash) => (byHash ? client.evalSha(script, opts) : client.eval(script, opts)));
    };
  } else if (typeof client.evalsha === "function" && typeof client.eval === "function") {
    // ioredis (Redis, Cluster).
    const resends = resendsUnanswered(client);
    if (resends !== undefined) {
      throw invalidConfig(
        `redisStorage: ${resends}: by default ioredis sends a command whose reply a dropped ` +
          "connection lost once more, and a compare-and-swap that ran once would then be applied twice",
      );
    }
    set = (key, value, ttl) =>
      ttl === null ? client.set(key, value) : client.set(key, value, "EX", ttl);
    evalCas = (key, args) =>
      runCas((script, byHash) => (byHash ? client.evalsha(script, 1, key, ...args) : client.eval(script, 1, key, ...args)));
  } else {
    throw invalidConfig(
      "redisStorage: unsupported client (expected node-redis v4 or later with evalSha(), or ioredis with evalsha())",
    );
  }

  // Keys and values are strings (else INVALID_ARGUMENT, before any command): both client
  // libraries would convert anything else, `42` and `"42"` naming one key.
  const text = (v, argument, method) => requireString(v, argument, ENTRY, method);
  const store = {
    async get(key) {
      return toStringOrNull(await client.get(text(key, "key", "get")));
    },

    async put(key, value, options) {
      text(key, "key", "put");
      text(value, "value", "put");
      await set(key, value, ttlSeconds(options, "put"));
    },

    async compareAndSwap(key, expected, value, options) {
      text(key, "key", "compareAndSwap");
      const hasExpected = expected !== null && expected !== undefined;
      if (hasExpected) text(expected, "expected", "compareAndSwap");
      text(value, "value", "compareAndSwap");
      const ttl = ttlSeconds(options, "compareAndSwap");
      const reply = await evalCas(key, [
        hasExpected ? "1" : "0",
        hasExpected ? expected : "",
        value,
        ttl === null ? "" : String(ttl),
      ]);
      return Number(reply) === 1;
    },
  };
  // Only over a client that can delete: without `delete`, what needs it (forget,
  // edge-otp/totp's disable) is refused by the manager with INVALID_CONFIG.
  if (typeof client.del === "function") {
    store.delete = async (key) => Number(await client.del(text(key, "key", "delete"))) > 0;
  }
  return store;
}
