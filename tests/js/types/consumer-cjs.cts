// A CommonJS consumer (module: node16): require("edge-otp") is typed by index.d.cts.
import edgeOtp = require("edge-otp");

export async function roundTrip(secret: string): Promise<boolean> {
  const otp = new edgeOtp.OtpManager(edgeOtp.memoryStorage(), { secret });
  const { code } = await otp.create("ada");
  try {
    await otp.create("ada");
  } catch (e) {
    if (e instanceof edgeOtp.OtpError && e.code === "RATE_LIMITED") return otp.verify("ada", code);
  }
  return false;
}
