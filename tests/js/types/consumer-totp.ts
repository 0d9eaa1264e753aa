// Type-level consumer of "edge-otp/totp" and "edge-otp/totp-slim" under `strict` (checked
// with `tsc -p tests/js/types` and against the installed tarball by
// tests/js/totp-package.test.mjs). Never run.
import {
  TotpManager,
  OtpError,
  memoryStorage,
  type TotpOptions,
  type TotpPolicy,
  type TotpEnrollment,
  type TotpStatus,
  type TotpPendingReplacement,
  type TotpVerdict,
  type TotpReason,
  type RecoveryVerdict,
  type RecoveryReason,
  type EnrollOptions,
  type TotpAlgorithm,
  type TotpStorage,
  type OtpErrorCode,
} from "edge-otp/totp";
import { init, initSync } from "edge-otp/totp-slim";
import { OtpError as RootOtpError } from "edge-otp";

const algorithm: TotpAlgorithm = "SHA256";
const options: TotpOptions = {
  secret: "app secret 0123456789abcdef",
  issuer: "Acme",
  scope: "totp",
  algorithm,
  digits: 6,
  periodSeconds: 30,
  window: 1,
  failureLimit: { count: 5, windowSeconds: 900 },
  recoveryCodes: { count: 10, length: 10 },
  keyPrefix: "otp:",
  retentionSeconds: null,
  now: () => Date.now(),
  timeoutMs: null,
};
const map = new Map<string, string>();
const store: TotpStorage = {
  get: (k) => map.get(k) ?? null,
  put: (k, v) => void map.set(k, v),
  delete: (k) => map.delete(k),
};
const totp = new TotpManager(store, options);
const other = new TotpManager(memoryStorage(), { secret: new Uint8Array(32), issuer: "Acme" });
const policy: TotpPolicy = totp.policy;
const digits: number = policy.digits;

async function use(): Promise<void> {
  const enroll: EnrollOptions = { label: "ada", secret: "JBSWY3DPEHPK3PXP", replace: true };
  const e: TotpEnrollment = await totp.enroll("ada", enroll);
  const pending: "pending" = e.status;
  const uri: string = e.uri;
  const ok: boolean = await totp.verify("ada", "123456");
  const v: TotpVerdict = await totp.check("ada", "123456");
  const reason: TotpReason = v.reason;
  const wait: number | undefined = v.retryAfterMs;
  // One shape per outcome: ok and reason narrow each other.
  if (v.ok) {
    const verified: "verified" = v.reason;
    const replaced: true | undefined = v.replaced;
    void [verified, replaced];
  } else if (v.reason === "locked") {
    const locked: number = v.retryAfterMs;
    void locked;
  } else {
    // @ts-expect-error only a verified code replaces a seed
    const replaced: true = v.replaced;
    void replaced;
  }
  const s: TotpStatus = await totp.status("ada");
  const waiting: TotpPendingReplacement | null = await totp.pendingReplacement("ada");
  const expiresAt: number | undefined = waiting?.expiresAt;
  const cancelled: boolean = await totp.cancelReplacement("ada");
  const guarded: boolean = waiting !== null && await totp.cancelReplacement("ada", { enrolledAt: waiting.enrolledAt });
  // @ts-expect-error enrolledAt is a number of milliseconds
  void totp.cancelReplacement("ada", { enrolledAt: "1" });
  void [expiresAt, cancelled, guarded];
  const disabled: boolean = await totp.disable("ada");
  const codes: string[] = await totp.newRecoveryCodes("ada");
  const used: boolean = await totp.useRecoveryCode("ada", codes[0] ?? "");
  const rv: RecoveryVerdict = await totp.checkRecoveryCode("ada", codes[1] ?? "");
  const rr: RecoveryReason = rv.reason;
  const rwait: number | undefined = rv.retryAfterMs;
  if (rv.ok) {
    const accepted: "accepted" = rv.reason;
    void accepted;
  } else if (rv.reason === "locked") {
    const rlocked: number = rv.retryAfterMs;
    void rlocked;
  }
  void [rr, rwait];
  try {
    await totp.enroll("ada");
  } catch (err) {
    if (err instanceof OtpError && err instanceof RootOtpError) {
      const code: OtpErrorCode = err.code;
      if (code === "ALREADY_ENROLLED" || code === "NOT_ENROLLED") void code;
    }
  }
  void [pending, uri, ok, reason, wait, s, disabled, used, digits];
  totp.dispose();
  other[Symbol.dispose]();
  await init(new Uint8Array(0));
  initSync({ module: new Uint8Array(0) });
}
void use;
