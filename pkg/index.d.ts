// Types of the edge-otp package (every entry: node, workerd, browser, default).

/** A key-value store. Every method may return a value or a Promise of it. */
export interface OtpStorage {
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  put(key: string, value: string, options?: { expirationTtl?: number }): unknown;
  /**
   * Stores `value` only if the current value is `expected` (`null`: absent) and answers
   * whether it stored. When present, every write goes through it and attempt counting
   * is exact under concurrency.
   */
  compareAndSwap?(
    key: string,
    expected: string | null,
    value: string,
    options?: { expirationTtl?: number },
  ): boolean | Promise<boolean>;
}

/** "At most `count` per `windowSeconds`". */
export interface Limit {
  count: number;
  windowSeconds: number;
}

export interface OtpOptions {
  /** The app's secret, at least 16 bytes. Required. */
  secret: string | Uint8Array;
  /** Code lifetime in seconds, 1..2592000. Default 3600. */
  ttlSeconds?: number;
  /** Wrong guesses allowed per code, 1..1000. Default 3. */
  maxAttempts?: number;
  /** Code length, 1..10. Default 4. */
  length?: number;
  /** 2..64 distinct printable ASCII characters, no space or hyphen. Default "0123456789". */
  alphabet?: string;
  /** Purpose namespace, [A-Za-z0-9_-]{1,32}. Default "default". */
  scope?: string;
  /** Storage key = keyPrefix + scope + ":" + user. Default "otp:". */
  keyPrefix?: string;
  /** Seconds before an unused code may be replaced, 0 = off. Default 30. */
  resendCooldownSeconds?: number;
  /** Codes per user per window; null = unlimited. Default { count: 5, windowSeconds: 3600 }. */
  issueLimit?: Limit | null;
  /** Failed verifications per user per window across all codes; null = off. Default { count: 10, windowSeconds: 3600 }. */
  failureLimit?: Limit | null;
  /** When set (>= 60 and >= the longest window), records are written with { expirationTtl }. Default null. */
  retentionSeconds?: number | null;
  /** Clock injection: milliseconds since the Unix epoch. Default: the system clock. */
  now?: () => number;
}

/** A freshly issued code. */
export interface IssuedOtp {
  code: string;
  createdAt: number;
  expiresAt: number;
  attempts: number;
  maxAttempts: number;
}

export type OtpStatus = "active" | "expired" | "exhausted" | "used" | "superseded";

/** The latest code and where it stands. */
export interface LatestOtp extends IssuedOtp {
  status: OtpStatus;
}

export type VerdictReason = "verified" | "invalid" | "expired" | "exhausted" | "used" | "none" | "locked";

/** The structured answer of `check`. */
export interface Verdict {
  ok: boolean;
  reason: VerdictReason;
  /** Wrong guesses still allowed on the current code (0 unless reason is "invalid"). */
  attemptsLeft: number;
  /** With reason "locked": milliseconds until verification is allowed again. */
  retryAfterMs?: number;
}

export type OtpErrorCode =
  | "INVALID_ARGUMENT"
  | "INVALID_CONFIG"
  | "RATE_LIMITED"
  | "ACTIVE_OTP_EXISTS"
  | "CONFLICT"
  | "CORRUPT_RECORD"
  | "NOT_INITIALIZED"
  | "ENTROPY"
  | "INTERNAL";

export class OtpError extends Error {
  readonly name: "OtpError";
  readonly code: OtpErrorCode;
  /** With RATE_LIMITED: milliseconds until issuing is allowed. */
  readonly retryAfterMs?: number;
  /** With ACTIVE_OTP_EXISTS: when the active code expires. */
  readonly expiresAt?: number;
}

export class OtpManager {
  constructor(storage: OtpStorage, options: OtpOptions);
  /** The storage key of `user`. */
  keyFor(user: string): string;
  /** Issues a new code; the previous one can never verify again. */
  create(user: string): Promise<IssuedOtp>;
  /** Issues a new code only when there is no active one; else rejects with ACTIVE_OTP_EXISTS. */
  generate(user: string): Promise<IssuedOtp>;
  /** The latest code with its status, or null. */
  getLatestOtp(user: string): Promise<LatestOtp | null>;
  /** Whether the code verifies (it is then used). */
  verify(user: string, code: string): Promise<boolean>;
  /** The full verdict. */
  check(user: string, code: string): Promise<Verdict>;
  /** Resets the current code's attempts and the failure budget; true if there was a current code. */
  resetAttempts(user: string): Promise<boolean>;
  /** Revokes the active code; true if there was one. */
  invalidate(user: string): Promise<boolean>;
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
