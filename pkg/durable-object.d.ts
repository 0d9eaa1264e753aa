// Types of edge-otp/durable-object (Cloudflare Workers only). Self-contained: no
// dependency on @cloudflare/workers-types.
import type { OtpOptions, OtpManager } from "./index.js";
import { OtpError } from "./index.js";

export { OtpError };

/**
 * The OtpManager options read from a Worker's environment (OTP_SECRET and the OTP_*
 * overrides). When the object's policy refuses one of them (`INVALID_CONFIG`), the
 * message names the variable: "... (from OTP_TTL_SECONDS in the Durable Object's env)".
 * `env` is any object (a Worker's `Env` interface, as `wrangler types` writes it); only
 * its own `OTP_*` properties are read.
 */
export function optionsFromEnv(env: object | null | undefined): Partial<OtpOptions>;

/** An error as it crosses RPC (returned, not thrown). */
export interface OtpErrorValue {
  code: string;
  message: string;
  fields: Record<string, unknown>;
}

/**
 * The Durable Object with the engine inside: re-export it from the Worker, bind it (e.g.
 * as `OTP`) and declare it in a `new_sqlite_classes` migration.
 */
export class OtpDurableObject<Env = Record<string, unknown>> {
  constructor(ctx: unknown, env: Env);
  /**
   * The Workers types' Durable Object brand (their `Rpc.__DURABLE_OBJECT_BRAND` is this
   * string), which the class really has (it extends `DurableObject` from
   * "cloudflare:workers"): so `DurableObjectNamespace<OtpDurableObject>`, what `wrangler
   * types` writes for a re-exported class, type-checks without the Workers types here.
   */
  readonly __DURABLE_OBJECT_BRAND: never;
  protected readonly ctx: any;
  protected readonly env: Env;
  /**
   * The policy for `scope` (default: `optionsFromEnv(env)`), or a Promise of it (e.g. a
   * secret read from a Secrets Store binding), read once per scope and object; `scope` is
   * added when absent.
   */
  options(
    env: Env,
    scope: string | undefined,
  ): OtpOptions | Partial<OtpOptions> | Promise<OtpOptions | Partial<OtpOptions>>;
  /** The one RPC method `durableOtp` calls (`code`: the code or link token; `options`: the call's options). */
  otp(
    scope: string | undefined,
    operation: DurableOperation,
    user: string,
    code?: string,
    options?: object,
  ): Promise<{ value: unknown } | { error: OtpErrorValue }>;
  /** Deletes the object's storage once its record is past every window. */
  alarm(): Promise<void>;
  /** The synchronous store over `ctx.storage.kv` the engine uses. */
  static store(kv: unknown): {
    get(key: string): string | null;
    put(key: string, value: string): void;
    delete(key: string): boolean;
  };
}

/** What `durableOtp` needs of a Durable Object namespace binding. */
export interface OtpNamespace {
  getByName?(name: string): { otp: OtpDurableObject["otp"] };
  idFromName?(name: string): unknown;
  get?(id: any): { otp: OtpDurableObject["otp"] };
}

/** The OtpManager operations a Durable Object runs for `durableOtp`. */
export type DurableOperation =
  | "create"
  | "generate"
  | "getLatestOtp"
  | "check"
  | "verify"
  | "checkToken"
  | "verifyToken"
  | "resetAttempts"
  | "invalidate"
  | "forget";

/**
 * The OtpManager methods for one scope, with the same arguments and answers (per-call
 * options included); each call is one RPC.
 */
export interface DurableOtp extends Pick<OtpManager, DurableOperation> {
  /** The scope (`undefined`: the default scope, also when `{ scope: "default" }` was given). */
  readonly scope: string | undefined;
  /** The Durable Object name of `user`'s object: `scope:user` (an empty scope part for the default scope, left out or written "default"). */
  nameFor(user: string): string;
}

/** What `durableOtp` takes: the scope and the user normaliser (the policy is the object's). */
export interface DurableOtpOptions {
  scope?: OtpOptions["scope"];
  normalizeUser?: OtpOptions["normalizeUser"];
}

/**
 * The client of `OtpDurableObject` for one scope.
 * @throws OtpError `INVALID_CONFIG` (`field` "namespace" or "options") for something that is
 * not a namespace binding, or options other than own enumerable `scope` and `normalizeUser`.
 */
export function durableOtp(namespace: OtpNamespace | object, options?: DurableOtpOptions): DurableOtp;
