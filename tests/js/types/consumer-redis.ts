// Type-level consumer of "edge-otp/redis" (see consumer.ts). Never run.
import { OtpManager, type OtpStorage } from "edge-otp";
import {
  redisStorage,
  type RedisStorage,
  type RedisWriteOptions,
  type NodeRedisClientLike,
  type IORedisClientLike,
  type RedisStorageOptions,
} from "edge-otp/redis";

declare const nodeRedis: NodeRedisClientLike;
declare const ioredis: IORedisClientLike;

// Structural stand-ins for real clients: node-redis v5 and ioredis shapes.
declare const nodeRedisLike: {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options?: { EX?: number; expiration?: { type: "EX"; value: number } }): Promise<string | null>;
  eval(script: string, options?: { keys?: string[]; arguments?: string[] }): Promise<unknown>;
  evalSha(sha1: string, options?: { keys?: string[]; arguments?: string[] }): Promise<unknown>;
  quit(): Promise<void>;
};
declare const ioredisLike: {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ...args: (string | number)[]): Promise<"OK">;
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  evalsha(sha1: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  disconnect(): void;
};

export async function useRedis(): Promise<void> {
  const opts: RedisStorageOptions = {};
  const a: RedisStorage = redisStorage(nodeRedis);
  const b: RedisStorage = redisStorage(ioredis, opts);
  const c: OtpStorage = redisStorage(nodeRedisLike);
  const d: OtpStorage = redisStorage(ioredisLike);
  const value: string | null = await a.get("k");
  const w: RedisWriteOptions = { expirationTtl: 60 };
  await a.put("k", "v", w);
  await b.put("k", "v");
  const swapped: boolean = await a.compareAndSwap("k", null, "v", w);
  const otp = new OtpManager(a, { secret: "x".repeat(16), retentionSeconds: 3600 });
  const ok: boolean = await otp.verify("alice", "1234");
  // @ts-expect-error not a redis client
  redisStorage({ get: async () => null });
  void [c, d, value, swapped, ok];
}
