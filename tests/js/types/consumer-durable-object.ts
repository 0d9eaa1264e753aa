// Strict TypeScript consumer of edge-otp/durable-object (tests/js/durable-object.test.mjs
// compiles it against the installed tarball).
import { OtpDurableObject, durableOtp, optionsFromEnv, OtpError } from "edge-otp/durable-object";
import type { DurableOtp, OtpNamespace } from "edge-otp/durable-object";
import type { IssuedOtp, Verdict, LatestOtp, OtpOptions } from "edge-otp";

export { OtpDurableObject };

interface Env {
  OTP_SECRET: string;
}

export class PerScope extends OtpDurableObject<Env> {
  override options(env: Env, scope: string | undefined): OtpOptions {
    return { secret: env.OTP_SECRET, ttlSeconds: scope === "reset" ? 900 : 300 };
  }
}

interface SecretsEnv {
  OTP_SECRET_STORE: { get(): Promise<string> };
}

/** The policy read asynchronously (a Secrets Store binding). */
export class FromSecretsStore extends OtpDurableObject<SecretsEnv> {
  override async options(env: SecretsEnv): Promise<OtpOptions> {
    return { secret: await env.OTP_SECRET_STORE.get() };
  }
}

export async function flow(ns: OtpNamespace, submitted: string): Promise<[IssuedOtp, Verdict, LatestOtp | null, boolean]> {
  const otp: DurableOtp = durableOtp(ns, { scope: "login" });
  const issued = await otp.create("ada@example.com");
  const verdict = await otp.check("ada@example.com", submitted);
  const latest = await otp.getLatestOtp("ada@example.com");
  let retry = 0;
  try {
    await otp.generate("ada@example.com");
  } catch (e) {
    if (e instanceof OtpError && e.code === "RATE_LIMITED") retry = e.retryAfterMs ?? 0;
  }
  const name: string = otp.nameFor("ada@example.com");
  // Every OtpManager operation, with its per-call options, and the client's normalizeUser.
  const email: DurableOtp = durableOtp(ns, { scope: "magic", normalizeUser: "email" });
  const link = await email.create(" Ada@Example.com ", { link: true, ttlSeconds: 60 });
  const viaLink: boolean = await email.verifyToken("ada@example.com", link.token);
  const tokenVerdict: Verdict = await email.checkToken("ada@example.com", "x");
  const kept: boolean = await email.verify("ada@example.com", submitted, { consume: false });
  const gone: boolean = await email.forget("ada@example.com");
  void [viaLink, tokenVerdict, kept, gone];
  const options = optionsFromEnv({ OTP_SECRET: "x" });
  // A Worker's Env interface (as `wrangler types` writes it: no index signature).
  interface WorkerEnv { OTP: OtpNamespace; OTP_SECRET: string; OTP_TTL_SECONDS: "600" }
  const workerEnv: WorkerEnv = { OTP: ns, OTP_SECRET: "x".repeat(16), OTP_TTL_SECONDS: "600" };
  const fromEnv: OtpOptions = { ...optionsFromEnv(workerEnv), secret: workerEnv.OTP_SECRET };
  void fromEnv;
  return [issued, verdict, latest, retry > 0 && name.length > 0 && options.secret !== undefined];
}
