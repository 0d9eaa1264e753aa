
/** "At most `count` per `windowSeconds`". */
export interface Limit {
  count: number;
  windowSeconds: number;
}

/** Options of `new OtpManager(storage, options)`. Unknown keys are refused; only own properties are read. */
export interface OtpOptions {
  /** The app's secret, 16 to 1024 bytes: a well-formed string, or a Uint8Array (its own bytes: a Proxy of one or a detached one is refused). Required. */
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
  /** Storage key = keyPrefix + scope + ":" + user. At most 64 characters. Default "otp:". */
  keyPrefix?: string;
  /** Seconds before an unused code may be replaced, 0 = off. Default 30. */
  resendCooldownSeconds?: number;
  /** Codes per user per window; null = unlimited. Default { count: 5, windowSeconds: 3600 }. */
  issueLimit?: Limit | null;
  /** Failed verifications per user per window across all codes; null = off. Default { count: 10, windowSeconds: 3600 }. */
  failureLimit?: Limit | null;
  /** When set (>= 60 and >= the longest window), records are written with { expirationTtl }. Default null. */
  retentionSeconds?: number | null;
  /** Clock injection: milliseconds since the Unix epoch, read when the operation decides (after the record is read, again on a compare-and-swap retry; outside wasm, so it may call its own manager). Default: the system clock. */
  now?: () => number;
  /** How long one storage call may take before the operation rejects with TIMEOUT (and how long a waiting operation waits for its turn on a key while the holder shows no progress, then takes the turn over or, if the holder's own limit is longer, rejects with TIMEOUT); 1 to 2147483646, null = no limit. Default 10000. A synchronous store (plain values, such as SQLite) answers before any timer can run, so it is not bounded: give its driver a busy timeout. */
  timeoutMs?: number | null;
  /** Called once per operation (not getLatestOtp) after its write succeeded. Never given a code or token. */
  onEvent?: (event: OtpEvent) => unknown;
  /** Gets what onEvent threw or rejected with. Default: console.error. */
  onEventError?: (error: unknown, event: OtpEvent) => unknown;
  /** Applied to every user id before anything else: a function, or "email" (Unicode NFKC, trim, lower case). */
  normalizeUser?: "email" | ((user: string) => string);
}

/** Per-call choices of `create` and `generate`. Unknown keys are INVALID_ARGUMENT. */
export interface IssueOptions {
  /** This code's lifetime, 1 .. the policy's ttlSeconds. */
  ttlSeconds?: number;
  /** Also return `token`, the issuance's link token (for a magic link). */
  link?: boolean;
}

/** Per-call choices of `check` and `verify`. */
export interface CheckOptions {
  /** false: a right code stays active (a wrong one still spends an attempt). Default true. */
  consume?: boolean;
}

export type OtpEventType =
  | "issued" | "verified" | "invalid" | "expired" | "exhausted" | "used" | "none" | "locked"
  | "rate_limited" | "active_exists" | "reset" | "invalidated" | "forgotten";

/** What `onEvent` receives. */
export interface OtpEvent {
  type: OtpEventType;
  scope: string;
  user: string;
  /** The operation's time (ms since the epoch). */
  at: number;
  attemptsLeft?: number;
  retryAfterMs?: number;
  expiresAt?: number;
  /** With type "rate_limited": the rule that refused, as the error's `reason`. */
  reason?: RateLimitReason;
}

/** A freshly issued code. */
export interface IssuedOtp {
  code: string;
  createdAt: number;
  expiresAt: number;
  attempts: number;
  maxAttempts: number;
  /** Wrong guesses a check could still spend on this code: `maxAttempts - attempts`, or fewer when the failure budget (`failureLimit`, which a new code does not reset) has fewer left, as a verdict's `attemptsLeft` counts; 0 when the code is not active or the budget is spent. */
  attemptsLeft: number;
  /** The earliest time another code can be issued (cooldown, issue limit, lockout); no cooldown once the code is used. */
  resendAvailableAt: number;
  /** With `{ link: true }`: the link token (22 URL-safe base64 characters, 128 bits), never stored. */
  token?: string;
}

/** Where a code stands; `superseded`: a newer code was issued, or `invalidate` revoked it. */
export type OtpStatus = "active" | "expired" | "exhausted" | "used" | "superseded";

/** The latest code and where it stands. */
export interface LatestOtp extends IssuedOtp {
  status: OtpStatus;
  /** While the failure budget is spent: when it recovers (ms since the epoch). Until then every check answers "locked" and `create` is refused, whatever `status` says of the code itself. */
  lockedUntil?: number;
}

export type VerdictReason = "verified" | "invalid" | "expired" | "exhausted" | "used" | "none" | "locked";

/**
 * The structured answer of `check`, one shape per outcome: `ok` is true exactly when
 * `reason` is "verified", and `retryAfterMs` comes with "locked" only, so testing `ok` or
 * `reason` narrows the rest.
 */
export type Verdict =
  | (VerdictCounts & { ok: true; reason: "verified"; retryAfterMs?: undefined })
  | (VerdictCounts & {
      ok: false;
      reason: "locked";
      /** Milliseconds until verification is allowed again. */
      retryAfterMs: number;
    })
  | (VerdictCounts & { ok: false; reason: Exclude<VerdictReason, "verified" | "locked">; retryAfterMs?: undefined });

/** What every {@link Verdict} holds. */
export interface VerdictCounts {
  /** Wrong guesses still allowed before checks are refused: the smaller of what the current code allows and what the failure budget allows (0 unless reason is "invalid"; with 0 the next check answers "exhausted" or "locked", unless the failure window or the code's lifetime ends first). */
  attemptsLeft: number;
}

export type OtpErrorCode =
  | "INVALID_ARGUMENT"
  | "INVALID_CONFIG"
  | "RATE_LIMITED"
  | "ACTIVE_OTP_EXISTS"
  | "CONFLICT"
  | "CORRUPT_RECORD"
  | "TIMEOUT"
  | "DISPOSED"
  | "NOT_INITIALIZED"
  | "ENTROPY"
  | "INTERNAL"
  // edge-otp/totp: enroll on an active enrollment; newRecoveryCodes without one.
  | "ALREADY_ENROLLED"
  | "NOT_ENROLLED";

/** Which rule refused to issue (`OtpError.reason` with RATE_LIMITED). */
export type RateLimitReason = "cooldown" | "issue_limit" | "locked";
