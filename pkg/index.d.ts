/// <reference lib="esnext.disposable" />
// Types of the edge-otp package (every entry: node, workerd, browser, default).
// The option, answer and error-code types are declared once, in Rust
// (src/wasm/types.d.ts: wasm-bindgen emits it into wasm/edge_otp.d.ts, and .ci/build
// copies it to dist/types.d.ts, which has no dependency on DOM or WebAssembly types).
import type {
  Limit,
  OtpOptions,
  IssuedOtp,
  OtpStatus,
  LatestOtp,
  VerdictReason,
  Verdict,
  VerdictCounts,
  OtpErrorCode,
  RateLimitReason,
  IssueOptions,
  CheckOptions,
  OtpEvent,
  OtpEventType,
} from "./dist/types.js";

export type {
  Limit,
  OtpOptions,
  IssuedOtp,
  OtpStatus,
  LatestOtp,
  VerdictReason,
  Verdict,
  VerdictCounts,
  OtpErrorCode,
  RateLimitReason,
  IssueOptions,
  CheckOptions,
  OtpEvent,
  OtpEventType,
};

/**
 * A key-value store. Every method may return a value or a Promise of it. Methods are
 * taken from the store object or its class, never from `Object.prototype`.
 * Workers KV (`KVNamespace`) and a Durable Object's `ctx.storage` fit as they are.
 */
export interface OtpStorage {
  /** The value at `key`: a record string, or `null`/`undefined` when absent (anything else is CORRUPT_RECORD). */
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  /** Stores `value`; `options` is `{ expirationTtl }` (seconds) when `retentionSeconds` is set. */
  put(key: string, value: string, options?: { expirationTtl?: number } | object): unknown;
  /**
   * Stores `value` only if the current value is `expected` (`null`: absent) and answers
   * whether it stored. When present, every write goes through it and attempt counting
   * is exact under concurrency across processes.
   */
  compareAndSwap?(
    key: string,
    expected: string | null,
    value: string,
    options?: { expirationTtl?: number },
  ): boolean | Promise<boolean>;
  /** Deletes the record; needed by `forget`. */
  delete?(key: string): unknown;
}

export class OtpError extends Error {
  /** Built by the package (its errors come from Rust); for tests that fake one: `new OtpError("RATE_LIMITED", "slow down", { retryAfterMs: 5000, reason: "cooldown" })`. The message is prefixed with "edge-otp: ". */
  constructor(code: OtpErrorCode, message: string, fields?: OtpErrorFields);
  readonly name: "OtpError";
  readonly code: OtpErrorCode;
  /** With RATE_LIMITED: milliseconds until issuing is allowed. */
  readonly retryAfterMs?: number;
  /** With ACTIVE_OTP_EXISTS: when the active code expires. */
  readonly expiresAt?: number;
  /** With INVALID_CONFIG: the option at fault. */
  readonly field?: string;
  /** With INVALID_ARGUMENT: the argument at fault. */
  readonly argument?: string;
  /** With RATE_LIMITED: the rule that refused; with INVALID_CONFIG, INVALID_ARGUMENT, CORRUPT_RECORD: the problem. */
  readonly reason?: RateLimitReason | string;
  /** With TIMEOUT: the limit that was reached. */
  readonly timeoutMs?: number;
}

/** The fields an `OtpError` may carry besides its code and message. */
export type OtpErrorFields = Partial<Pick<OtpError, "retryAfterMs" | "expiresAt" | "field" | "argument" | "reason" | "timeoutMs">>;

export class OtpManager {
  constructor(storage: OtpStorage, options: OtpOptions);
  /** How long a record matters, in seconds: the longest of the code lifetime, the cooldown and the limit windows. */
  readonly longestWindowSeconds: number;
  /** The storage key of `user`. */
  keyFor(user: string): string;
  /** Issues a new code; the previous one can never verify again. With `{ link: true }`, also its link token. */
  create(user: string, options: IssueOptions & { link: true }): Promise<IssuedOtp & { token: string }>;
  create(user: string, options?: IssueOptions): Promise<IssuedOtp>;
  /** Issues a new code only when there is no active one; else rejects with ACTIVE_OTP_EXISTS (during a lockout with RATE_LIMITED "locked", as create: the active code cannot verify until it ends). */
  generate(user: string, options: IssueOptions & { link: true }): Promise<IssuedOtp & { token: string }>;
  generate(user: string, options?: IssueOptions): Promise<IssuedOtp>;
  /** The latest code with its status, or null. */
  getLatestOtp(user: string): Promise<LatestOtp | null>;
  /** Whether the code verifies (it is then used, unless `{ consume: false }`). Any string is a guess. */
  verify(user: string, code: string, options?: CheckOptions): Promise<boolean>;
  /** The full verdict. */
  check(user: string, code: string, options?: CheckOptions): Promise<Verdict>;
  /** The verdict for a link token; using it uses the code too. */
  checkToken(user: string, token: string): Promise<Verdict>;
  /** Whether the link token verifies. */
  verifyToken(user: string, token: string): Promise<boolean>;
  /** Deletes the user's record in this scope (and their limits) through storage.delete; true if there was one. */
  forget(user: string): Promise<boolean>;
  /** Resets the current code's attempts and the failure budget; true if there was a current code. */
  resetAttempts(user: string): Promise<boolean>;
  /** Revokes the active code; true if there was one. */
  invalidate(user: string): Promise<boolean>;
  /** Releases this manager's share of its engine (managers with equal options share one); later calls reject with DISPOSED. */
  dispose(): void;
  [Symbol.dispose](): void;
}

/** An in-process Map store with compareAndSwap (ignores expirationTtl). */
export interface MemoryStorage extends OtpStorage {
  get(key: string): string | null;
  put(key: string, value: string): void;
  compareAndSwap(key: string, expected: string | null, value: string): boolean;
  delete(key: string): boolean;
  readonly size: number;
}

export function memoryStorage(): MemoryStorage;
