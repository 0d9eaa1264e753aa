// Type-level consumer for projects without the DOM library: Node with @types/node, a
// Worker with @cloudflare/workers-types, and plain ES2022 with no environment types at all
// (tsconfig.nodom-*.json, checked by tests/js/packaging.test.mjs). The package's .d.ts
// files must not need lib "dom" (the slim loader's input types are looked up through
// globalThis) nor "esnext.disposable" in the consumer's own lib (they reference it). Never run.
import { OtpManager, memoryStorage, type Verdict } from "edge-otp";
import { init, initSync, type WasmInput } from "edge-otp/slim";
import { TotpManager } from "edge-otp/totp";

export async function noDom(): Promise<boolean> {
  const bytes = new Uint8Array(8);
  initSync(bytes);
  initSync({ module: bytes });
  await init(bytes.buffer);
  const input: WasmInput = "/edge_otp_bg.wasm";
  await init(input);
  {
    using otp = new OtpManager(memoryStorage(), { secret: "x".repeat(32) });
    const issued = await otp.create("alice@example.com");
    const verdict: Verdict = await otp.check("alice@example.com", issued.code);
    if (!verdict.ok) return false;
  }
  const totp = new TotpManager(memoryStorage(), { secret: "x".repeat(32), issuer: "Example" });
  totp[Symbol.dispose]();
  return true;
}
