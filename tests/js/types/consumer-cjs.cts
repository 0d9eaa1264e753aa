// A CommonJS consumer (module: node16): require("edge-otp") is typed by dist/index.d.cts,
// values and types alike.
import edgeOtp = require("edge-otp");
import type { OtpOptions, OtpStorage, Verdict, OtpErrorCode } from "edge-otp";

const options: OtpOptions = { secret: "a-cjs-consumer-secret-0123" };
const store: OtpStorage = edgeOtp.memoryStorage();

export async function roundTrip(): Promise<boolean> {
  const otp: edgeOtp.OtpManager = new edgeOtp.OtpManager(store, options);
  const { code } = await otp.create("ada");
  const verdict: Verdict = await otp.check("ada", code, { consume: false });
  try {
    await otp.create("ada");
  } catch (e) {
    const err: edgeOtp.OtpError | undefined = e instanceof edgeOtp.OtpError ? e : undefined;
    const rateLimited: OtpErrorCode = "RATE_LIMITED";
    if (verdict.ok && err?.code === rateLimited) return otp.verify("ada", code);
  }
  return false;
}

// require("edge-otp/totp") (Node >= 20.19 requires the ES module): typed by dist/totp.d.cts.
import totp = require("edge-otp/totp");
import type { TotpOptions, TotpEnrollment } from "edge-otp/totp";

export async function enrollOne(): Promise<string> {
  const topts: TotpOptions = { secret: "a-cjs-consumer-secret-0123", issuer: "Example" };
  const manager: totp.TotpManager = new totp.TotpManager(totp.memoryStorage(), topts);
  const enrolled: TotpEnrollment = await manager.enroll("ada");
  // One OtpError class for both entries.
  const same: typeof edgeOtp.OtpError = totp.OtpError;
  return same === edgeOtp.OtpError ? enrolled.uri : "";
}

// require("edge-otp/slim"), "/totp-slim", "/redis" and "/sql": typed by their .d.cts files.
import slim = require("edge-otp/slim");
import totpSlim = require("edge-otp/totp-slim");
import redis = require("edge-otp/redis");
import sql = require("edge-otp/sql");
import type { WasmInput } from "edge-otp/slim";

export async function adapters(bytes: Uint8Array, input: WasmInput): Promise<edgeOtp.OtpManager> {
  slim.initSync(bytes);
  await totpSlim.init(input);
  const fromSlim: typeof edgeOtp.OtpError = slim.OtpError;
  void fromSlim;
  const tables: string[] = sql.createTableStatements("otp");
  void tables;
  void redis.redisStorage;
  return new slim.OtpManager(slim.memoryStorage(), options);
}
