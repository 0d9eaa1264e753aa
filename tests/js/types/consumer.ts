// Type-level consumer of "edge-otp" and "edge-otp/slim": imports every export and uses
// every method and type, under `strict` (checked by tests/js/packaging.test.mjs with
// `tsc -p tests/js/types`, and again against the installed tarball). Never run.
import {
  OtpManager,
  OtpError,
  memoryStorage,
  type OtpStorage,
  type Limit,
  type OtpOptions,
  type IssuedOtp,
  type OtpStatus,
  type LatestOtp,
  type VerdictReason,
  type Verdict,
  type OtpErrorCode,
  type MemoryStorage,
} from "edge-otp";
import * as slim from "edge-otp/slim";
import { init, initSync, MAX_TRIES, type WasmInput } from "edge-otp/slim";

// ---- storage shapes that must be accepted
const mem: MemoryStorage = memoryStorage();
const removed: boolean = mem.delete("k");
const size: number = mem.size;
const syncGet: string | null = mem.get("k");
const swapped: boolean = mem.compareAndSwap("k", null, "v");

const map = new Map<string, string>();
const syncStore: OtpStorage = {
  get: (key) => map.get(key),
  put: (key, value) => {
    map.set(key, value);
  },
};
const asyncStore: OtpStorage = {
  async get(key: string): Promise<string | null> {
    return map.get(key) ?? null;
  },
  async put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void> {
    void options;
    map.set(key, value);
  },
  async compareAndSwap(key, expected, value, options) {
    void options;
    if ((map.get(key) ?? null) !== expected) return false;
    map.set(key, value);
    return true;
  },
};
// A Workers-KV-like namespace with more methods and a richer put().
interface KvLike {
  get(key: string): Promise<string | null>;
  put(key: string, value: string | ArrayBuffer, options?: { expirationTtl?: number; metadata?: unknown }): Promise<void>;
  delete(key: string): Promise<void>;
  list(): Promise<unknown>;
}
declare const kv: KvLike;
const kvStore: OtpStorage = kv;

// ---- options
const limit: Limit = { count: 5, windowSeconds: 3600 };
const options: OtpOptions = {
  secret: "a secret of at least 16 bytes",
  ttlSeconds: 600,
  maxAttempts: 5,
  length: 6,
  alphabet: "0123456789",
  scope: "login",
  keyPrefix: "otp:",
  resendCooldownSeconds: 30,
  issueLimit: limit,
  failureLimit: null,
  retentionSeconds: 3600,
  now: () => Date.now(),
};
const bytesSecret: OtpOptions = { secret: new Uint8Array(32) };

export async function useEverything(): Promise<void> {
  const otp = new OtpManager(mem, options);
  new OtpManager(syncStore, bytesSecret);
  new OtpManager(asyncStore, { secret: "x".repeat(16), issueLimit: null });
  new OtpManager(kvStore, { secret: "x".repeat(16), retentionSeconds: null });

  const key: string = otp.keyFor("alice");
  const issued: IssuedOtp = await otp.create("alice");
  const again: IssuedOtp = await otp.generate("alice");
  const { code, createdAt, expiresAt, attempts, maxAttempts } = issued;
  const n: number = createdAt + expiresAt + attempts + maxAttempts;
  const s: string = code + key + again.code;

  const latest: LatestOtp | null = await otp.getLatestOtp("alice");
  if (latest !== null) {
    const status: OtpStatus = latest.status;
    switch (status) {
      case "active":
      case "expired":
      case "exhausted":
      case "used":
      case "superseded":
        break;
      default: {
        const never: never = status;
        void never;
      }
    }
    const fromLatest: IssuedOtp = latest;
    void fromLatest;
  }

  const ok: boolean = await otp.verify("alice", code);
  const verdict: Verdict = await otp.check("alice", code);
  const reason: VerdictReason = verdict.reason;
  const left: number = verdict.attemptsLeft;
  const retry: number | undefined = verdict.retryAfterMs;
  const verdictOk: boolean = verdict.ok;
  // One shape per outcome: ok and reason narrow each other, retryAfterMs comes with "locked".
  if (verdict.ok) {
    const verified: "verified" = verdict.reason;
    void verified;
  } else if (verdict.reason === "locked") {
    const wait: number = verdict.retryAfterMs;
    const refused: false = verdict.ok;
    void [wait, refused];
  } else {
    // @ts-expect-error a refused verdict is never "verified"
    const never: "verified" = verdict.reason;
    void never;
  }
  switch (reason) {
    case "verified":
    case "invalid":
    case "expired":
    case "exhausted":
    case "used":
    case "none":
    case "locked":
      break;
    default: {
      const never: never = reason;
      void never;
    }
  }
  const reset: boolean = await otp.resetAttempts("alice");
  const revoked: boolean = await otp.invalidate("alice");

  try {
    await otp.create("alice");
  } catch (e) {
    if (e instanceof OtpError) {
      const c: OtpErrorCode = e.code;
      const err: Error = e;
      const name: "OtpError" = e.name;
      const wait: number | undefined = e.retryAfterMs;
      const until: number | undefined = e.expiresAt;
      if (e.code === "RATE_LIMITED" || e.code === "ACTIVE_OTP_EXISTS" || e.code === "CONFLICT" ||
          e.code === "CORRUPT_RECORD" || e.code === "INVALID_ARGUMENT" || e.code === "INVALID_CONFIG" ||
          e.code === "NOT_INITIALIZED") {
        void [c, err, name, wait, until];
      }
    }
  }

  // ---- slim: caller-initialised
  const bytes = new Uint8Array(8);
  const wasmModule = new WebAssembly.Module(bytes);
  await init();
  await init(bytes);
  await init(bytes.buffer);
  await init(wasmModule);
  await init(new URL("https://example.com/edge_otp_bg.wasm"));
  await init("/edge_otp_bg.wasm");
  await init(fetch("/edge_otp_bg.wasm"));
  await init(new Response(bytes));
  initSync({ module: wasmModule });
  initSync({ module: bytes });
  initSync(wasmModule);
  initSync(bytes);
  const input: WasmInput = bytes;
  await slim.init(input);
  const tries: number = MAX_TRIES;
  const slimOtp: slim.OtpManager = new slim.OtpManager(slim.memoryStorage(), { secret: "x".repeat(16) });
  const slimIssued: slim.IssuedOtp = await slimOtp.create("bob");
  const sameClass: typeof OtpManager = slim.OtpManager;
  const sameError: typeof OtpError = slim.OtpError;

  void [removed, size, syncGet, swapped, n, s, ok, left, retry, verdictOk, reset, revoked, tries, slimIssued, sameClass, sameError];
}

// ---- what must be rejected
export async function misuse(otp: OtpManager): Promise<void> {
  // @ts-expect-error secret is required
  new OtpManager(mem, {});
  // @ts-expect-error unknown option
  new OtpManager(mem, { secret: "x".repeat(16), ttl: 60 });
  // @ts-expect-error secret of the wrong type
  new OtpManager(mem, { secret: 42 });
  // @ts-expect-error a limit needs windowSeconds
  new OtpManager(mem, { secret: "x".repeat(16), issueLimit: { count: 5 } });
  // @ts-expect-error now returns a number, not a Date
  new OtpManager(mem, { secret: "x".repeat(16), now: () => new Date() });
  // @ts-expect-error storage needs put
  new OtpManager({ get: () => null }, { secret: "x".repeat(16) });
  // @ts-expect-error stored values are strings
  new OtpManager({ get: () => 5, put: () => {} }, { secret: "x".repeat(16) });
  // @ts-expect-error the user id is a string
  await otp.create(42);
  // @ts-expect-error the code is a string
  await otp.verify("alice", 1234);
  // With { link: true } the token is there (strict mode, no `!`), as the README's magic-link example uses it.
  const linked = await otp.create("alice", { ttlSeconds: 60, link: true });
  const t: string = linked.token;
  const g: string = (await otp.generate("alice", { link: true })).token;
  // @ts-expect-error without link: true the token may be absent
  const absent: string = (await otp.create("alice")).token;
  const maybe: string | undefined = (await otp.create("alice", { link: Math.random() > 0.5 })).token;
  const peek: boolean = await otp.verify("alice", "1234", { consume: false });
  const tv: Verdict = await otp.checkToken("alice", t);
  void [g, absent, maybe];
  const gone: boolean = await otp.forget("alice");
  new OtpManager(mem, { secret: "x".repeat(16), normalizeUser: "email", onEvent: (e) => void [e.type, e.reason === "issue_limit"], onEventError: (err, e) => void [err, e.at] });
  void [peek, tv, gone];
  // @ts-expect-error unknown per-call option
  await otp.create("alice", { ttl: 60 });
  // @ts-expect-error not a normaliser name
  new OtpManager(mem, { secret: "x".repeat(16), normalizeUser: "phone" });
  // @ts-expect-error not a reason
  const reason: VerdictReason = "ok";
  // @ts-expect-error not a status
  const status: OtpStatus = "revoked";
  // @ts-expect-error not an error code
  const code: OtpErrorCode = "NOPE";
  // A test's fake error: code, message, fields (as the runtime class takes them).
  const fake = new OtpError("RATE_LIMITED", "slow down", { retryAfterMs: 5000, reason: "cooldown" });
  const fakeCode: OtpErrorCode = fake.code;
  void fakeCode;
  // @ts-expect-error the code comes first, then the message
  new OtpError("some message");
  // @ts-expect-error not a field of OtpError
  new OtpError("TIMEOUT", "slow store", { timeout: 5 });
  // @ts-expect-error verify answers a boolean, not a verdict
  const verdict: Verdict = await otp.verify("alice", "1234");
  // @ts-expect-error getLatestOtp may answer null
  const latest: LatestOtp = await otp.getLatestOtp("alice");
  void [reason, status, code, verdict, latest];
}
