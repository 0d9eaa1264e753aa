import type { OtpStorage } from "./index.js";

/** Options of a write; `expirationTtl` is in seconds (rounded up; more than 0, at most 100 years, else a RangeError with `code` "INVALID_ARGUMENT"). */
export interface RedisWriteOptions {
  expirationTtl?: number;
}

/**
 * The storage returned by {@link redisStorage}: every method returns a Promise. A key,
 * value or compare-and-swap `expected` that is not a string rejects with a `RangeError`
 * (`code` `INVALID_ARGUMENT`, `argument` `"key"`, `"value"` or `"expected"`) before any
 * command.
 */
export interface RedisStorage extends OtpStorage {
  /** `GET key`: the value, or `null` when the key is absent. */
  get(key: string): Promise<string | null>;
  /** `SET key value [EX expirationTtl]`. */
  put(key: string, value: string, options?: RedisWriteOptions): Promise<void>;
  /**
   * Atomic (one Lua script) compare-and-swap: writes `value` only if the key is absent
   * (`expected === null`) or holds exactly `expected`; resolves to whether it wrote.
   */
  compareAndSwap(
    key: string,
    expected: string | null,
    value: string,
    options?: RedisWriteOptions,
  ): Promise<boolean>;
  /**
   * `DEL key` (used by `forget` and edge-otp/totp's `disable`); resolves to whether a key
   * was removed. Absent when the client has no `del`: those operations are then refused
   * with `INVALID_CONFIG`.
   */
  delete?(key: string): Promise<boolean>;
}

/**
 * The part of a node-redis (v4 or later) client (`createClient`, `createCluster`,
 * `createClientPool`) that the adapter uses. Recognised by its `evalSha` method.
 */
export interface NodeRedisClientLike {
  get(key: string): Promise<unknown>;
  /** Used only by `delete` (edge-otp/totp's `disable`). */
  del?(key: string): Promise<unknown>;
  set(key: string, value: string, options?: any): Promise<unknown>;
  eval(script: string, options?: { keys?: string[]; arguments?: string[] }): Promise<unknown>;
  evalSha(sha1: string, options?: { keys?: string[]; arguments?: string[] }): Promise<unknown>;
}

/**
 * The part of an ioredis client (`Redis`, `Redis.Cluster`) that the adapter uses.
 * Recognised by its `evalsha` method (and the absence of `evalSha`).
 */
export interface IORedisClientLike {
  get(key: string): Promise<string | null>;
  /** Used only by `delete` (edge-otp/totp's `disable`). */
  del?(key: string): Promise<number>;
  set(key: string, value: string, ...args: any[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  evalsha(sha1: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
}

/** Reserved for future use: none is read yet, and any key is refused (`INVALID_CONFIG`); `null` and `{}` are no options. */
export type RedisStorageOptions = Record<string, never>;

/**
 * Create an {@link OtpStorage} backed by Redis.
 *
 * `client` is a connected node-redis (v4 or later) client (detected by its `evalSha` method) or an
 * ioredis client (detected by `evalsha`), created with `{ autoResendUnfulfilledCommands:
 * false }` (a Cluster with `{ retryDelayOnFailover: 0, redisOptions: {
 * autoResendUnfulfilledCommands: false } }`): ioredis otherwise sends a compare-and-swap
 * whose reply a dropped connection lost once more, and the operation would be applied
 * twice; such a client is refused. `compareAndSwap` is atomic (one Lua script, `EVALSHA`
 * with an `EVAL` fallback on `NOSCRIPT`). Client errors propagate unchanged.
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
 * @throws TypeError (`code` "INVALID_CONFIG") when `client` is neither kind, an ioredis client
 * resends unanswered commands, or for any option.
 */
export function redisStorage(
  client: NodeRedisClientLike | IORedisClientLike,
  options?: RedisStorageOptions,
): RedisStorage;
