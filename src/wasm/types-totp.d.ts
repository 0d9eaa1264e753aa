/** Options of `new TotpManager(storage, options)`. Unknown keys are refused; only own properties are read. */
export interface TotpOptions {
  /** The app's secret, 16 to 1024 bytes (a well-formed string, or a Uint8Array: its own bytes; a Proxy of one or a detached one is refused): seeds are encrypted and recovery codes hashed under keys derived from it. Required. */
  secret: string | Uint8Array;
  /** The name authenticator apps show, 1 to 64 characters, no ":". Required. */
  issuer: string;
  /** Purpose namespace, [A-Za-z0-9_-]{1,32}. Default "totp". */
  scope?: string;
  /** HMAC hash of new enrollments. Default "SHA1" (what authenticator apps assume). */
  algorithm?: TotpAlgorithm;
  /** Code length of new enrollments, 6..8. Default 6. */
  digits?: number;
  /** Time step of new enrollments in seconds, 1..300. Default 30. */
  periodSeconds?: number;
  /** Steps accepted either side of now, 0..10. Default 1 (3 codes accepted per check). */
  window?: number;
  /** Wrong codes (TOTP and recovery together) per user per window; null = off. Default { count: 5, windowSeconds: 900 }. */
  failureLimit?: Limit | null;
  /** The recovery code sets: count 1..20, length 8..16. Default { count: 10, length: 10 }. */
  recoveryCodes?: { count?: number; length?: number };
  /** Storage key = keyPrefix + scope + ":" + user. At most 64 characters. Default "otp:". */
  keyPrefix?: string;
  /** Only null: TOTP enrollments never expire (they are kept until disable()). Default null. */
  retentionSeconds?: null;
  /** Clock injection: milliseconds since the Unix epoch, read when the operation decides (after the record is read, again on a compare-and-swap retry; outside wasm, so it may call its own manager). Default: the system clock. */
  now?: () => number;
  /** How long one storage call may take before the operation rejects with TIMEOUT (and how long a waiting operation waits for its turn on a key while the holder shows no progress, then takes the turn over or, if the holder's own limit is longer, rejects with TIMEOUT); 1 to 2147483646, null = no limit. Default 10000. */
  timeoutMs?: number | null;
}

export type TotpAlgorithm = "SHA1" | "SHA256" | "SHA512";

/** A TOTP manager's effective settings, defaults filled in (`totp.policy`). */
export interface TotpPolicy {
  scope: string;
  keyPrefix: string;
  issuer: string;
  algorithm: TotpAlgorithm;
  digits: number;
  periodSeconds: number;
  window: number;
  failureLimit: Limit | null;
  recoveryCodes: { count: number; length: number };
  retentionSeconds: null;
  timeoutMs: number | null;
}

/** Options of `enroll(user, options)`. */
export interface EnrollOptions {
  /** The account name authenticator apps show, 1 to 256 bytes. Default the user id. */
  label?: string;
  /** An existing seed to import, base32 (RFC 4648; case, spaces and "=" ignored), 10 to 64 bytes. Default a new 160-bit seed. */
  secret?: string;
  /** Enroll over an active enrollment (else ALREADY_ENROLLED); the active seed stops working at once, unless keepCurrent. Default false. */
  replace?: boolean;
  /** With replace, over an active enrollment: keep its seed working (status stays "active") until a code of the new seed verifies, which then takes its place (check answers replaced: true); the new seed waits one hour at most, and another enroll with replace drops it. With replace over a pending enrollment or none it changes nothing; without replace it is INVALID_ARGUMENT. Default false. */
  keepCurrent?: boolean;
}

/** A new enrollment, to show once: `uri` as a QR code, `secret` for typing in. */
export interface TotpEnrollment {
  /** otpauth://totp/ISSUER:LABEL?secret=…&issuer=…&algorithm=…&digits=…&period=… */
  uri: string;
  /** The seed in base32, upper case, no padding. */
  secret: string;
  /** The new seed's: pending until its first code verifies (with keepCurrent the user's status stays "active" meanwhile). */
  status: "pending";
}

export type TotpStatus = "none" | "pending" | "active";

/** `pendingReplacement(user)`: a seed enrolled with `{ replace: true, keepCurrent: true }`, waiting for its first code (ms since the Unix epoch). */
export interface TotpPendingReplacement {
  enrolledAt: number;
  /** When it becomes void if no code of it has verified (one hour after its enroll). */
  expiresAt: number;
}

/** `cancelReplacement(user, options)`: which waiting seed to drop. */
export interface TotpCancelOptions {
  /** The `enrolledAt` that `pendingReplacement` answered: a seed enrolled at another time (since, in another tab) is left waiting. */
  enrolledAt?: number;
}

export type TotpReason = "verified" | "invalid" | "replayed" | "none" | "locked";

/**
 * The structured answer of `TotpManager.check`, one shape per outcome: `ok` is true
 * exactly when `reason` is "verified", `retryAfterMs` comes with "locked" only, and
 * `replaced` with a verified code only.
 */
export type TotpVerdict =
  | {
      ok: true;
      reason: "verified";
      retryAfterMs?: undefined;
      /** The code was the first of a seed enrolled with `keepCurrent`, which now replaces the old seed (absent when the code was the current seed's). */
      replaced?: true;
    }
  | {
      ok: false;
      reason: "locked";
      /** Milliseconds until checking is allowed again. */
      retryAfterMs: number;
      replaced?: undefined;
    }
  | { ok: false; reason: Exclude<TotpReason, "verified" | "locked">; retryAfterMs?: undefined; replaced?: undefined };

export type RecoveryReason = "accepted" | "invalid" | "used" | "none" | "locked";

/**
 * The structured answer of `checkRecoveryCode`, one shape per outcome: `ok` is true
 * exactly when `reason` is "accepted" (the code is now spent); "used": right but already
 * spent (not a failure); "locked": the failure budget is spent and nothing was compared,
 * with `retryAfterMs`.
 */
export type RecoveryVerdict =
  | { ok: true; reason: "accepted"; retryAfterMs?: undefined }
  | {
      ok: false;
      reason: "locked";
      /** Milliseconds until trying is allowed again. */
      retryAfterMs: number;
    }
  | { ok: false; reason: Exclude<RecoveryReason, "accepted" | "locked">; retryAfterMs?: undefined };

/** `OtpError.code` values of edge-otp/totp besides the shared ones. */
export type TotpErrorCode = "ALREADY_ENROLLED" | "NOT_ENROLLED";
