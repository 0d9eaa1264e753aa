/// <reference lib="esnext.disposable" />
// Types of edge-otp/totp (every entry: node, workerd, browser, default).
// The option, answer and error-code types are declared once, in Rust
// (src/wasm/types-totp.d.ts, the TOTP binding's typescript_custom_section; .ci/build
// copies it to dist/types-totp.d.ts). OtpError is the very class of edge-otp.
import type { Limit, OtpErrorCode } from "./dist/types.js";
import type {
  TotpOptions,
  TotpAlgorithm,
  TotpPolicy,
  EnrollOptions,
  TotpEnrollment,
  TotpStatus,
  TotpPendingReplacement,
  TotpCancelOptions,
  TotpReason,
  TotpVerdict,
  RecoveryReason,
  RecoveryVerdict,
  TotpErrorCode,
} from "./dist/types-totp.js";
import type { OtpStorage, MemoryStorage } from "./index.js";
export { OtpError } from "./index.js";

export type {
  Limit,
  OtpErrorCode,
  OtpStorage,
  MemoryStorage,
  TotpOptions,
  TotpAlgorithm,
  TotpPolicy,
  EnrollOptions,
  TotpEnrollment,
  TotpStatus,
  TotpPendingReplacement,
  TotpCancelOptions,
  TotpReason,
  TotpVerdict,
  RecoveryReason,
  RecoveryVerdict,
  TotpErrorCode,
};

/**
 * A store for TOTP records: as for OtpManager, plus `delete` (used by `disable`).
 * Records never expire: keep them until `disable`.
 */
export interface TotpStorage extends OtpStorage {
  delete(key: string): unknown;
}

/**
 * Authenticator-app codes (TOTP, RFC 6238) and recovery codes for one scope, with replay
 * protection (a code is accepted only for a later step than the last accepted one) and a
 * failure budget, exact under concurrency with compare-and-swap or within one instance.
 */
export class TotpManager {
  constructor(storage: OtpStorage | TotpStorage, options: TotpOptions);
  /** The effective settings, defaults filled in. */
  readonly policy: TotpPolicy;
  /** The storage key of `user`. */
  keyFor(user: string): string;
  /**
   * Enrolls `user` with a new 160-bit seed, or imports `options.secret`; pending until the
   * first right code. Rejects with ALREADY_ENROLLED on an active enrollment unless
   * `{ replace: true }`.
   */
  enroll(user: string, options?: EnrollOptions): Promise<TotpEnrollment>;
  /** Whether `code` is right for a later step than the last accepted one (then accepted). */
  verify(user: string, code: string): Promise<boolean>;
  /** The full verdict: verified, invalid, replayed (right but not fresh), none (not enrolled), locked. */
  check(user: string, code: string): Promise<TotpVerdict>;
  /** Where the enrollment stands. Never writes. */
  status(user: string): Promise<TotpStatus>;
  /**
   * The seed enrolled with `{ replace: true, keepCurrent: true }` that waits for its first
   * code (`status` stays "active" meanwhile), or null: none, or void an hour after its
   * enroll. Never writes. Like `status`, it reads the record without opening the seeds
   * (it answers after a change of the app secret too).
   */
  pendingReplacement(user: string): Promise<TotpPendingReplacement | null>;
  /**
   * Drops the seed enrolled with `keepCurrent` that waits for its first code (a user who
   * abandons moving to a new device); the current seed, its recovery codes and failure
   * budget stay. True if one was waiting; false if none was (a lapsed one is still
   * removed from the record, which then reads in builds from before keepCurrent).
   * CORRUPT_RECORD when the current seed does not open (another user's record, another
   * app secret). Without options it drops whichever seed waits when it runs; with
   * `{ enrolledAt }` (from `pendingReplacement`) only that seed: one enrolled since (in
   * another tab) stays, answering false and writing nothing.
   */
  cancelReplacement(user: string, options?: TotpCancelOptions): Promise<boolean>;
  /** Deletes the enrollment, or any corrupt value under its key; true if there was one. Needs `storage.delete`. */
  disable(user: string): Promise<boolean>;
  /** A new set of recovery codes, to show once; the previous set is void. NOT_ENROLLED without an enrollment. */
  newRecoveryCodes(user: string): Promise<string[]>;
  /** Spends a recovery code: true once per code; wrong ones spend the failure budget. */
  useRecoveryCode(user: string, code: string): Promise<boolean>;
  /** The same as useRecoveryCode, answering why: accepted, invalid, used (already spent), none (not enrolled), locked (with retryAfterMs). */
  checkRecoveryCode(user: string, code: string): Promise<RecoveryVerdict>;
  /** Releases this manager's share of its engine; later calls reject with DISPOSED. */
  dispose(): void;
  [Symbol.dispose](): void;
}

export function memoryStorage(): MemoryStorage;
