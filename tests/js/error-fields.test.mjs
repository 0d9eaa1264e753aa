// The fields an OtpError carries (built in Rust: src/wasm/errors.rs's Fields) are the ones
// pkg/index.d.ts declares: an error of each code a test can provoke through the public
// API (all but INTERNAL, which is a bug), and each own property besides `name` and `code`
// must be in `OtpErrorFields`; each field that type names must be carried by one of them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { OtpManager, OtpError, memoryStorage } from "../../pkg/node.js";
import { TotpManager } from "../../pkg/totp-node.js";
import { totpAt } from "./totp-suite.mjs";

const SECRET = "error-fields-test-secret-0123456789";
const declared = new Set(
  [...readFileSync(new URL("../../pkg/index.d.ts", import.meta.url), "utf8")
    .match(/export type OtpErrorFields = Partial<Pick<OtpError, ([^>]*)>>;/)[1]
    .matchAll(/"(\w+)"/g)].map((m) => m[1]),
);

async function thrown(f) {
  try {
    await f();
  } catch (e) {
    assert.ok(e instanceof OtpError, String(e));
    return e;
  }
  assert.fail("did not throw");
}

test("every OtpError field is declared in OtpErrorFields, and each declared one is carried", async () => {
  const otp = new OtpManager(memoryStorage(), { secret: SECRET });
  const errors = [
    await thrown(() => new OtpManager(memoryStorage(), { secret: SECRET, ttlSeconds: 0 })),
    await thrown(() => otp.create("")),
    await thrown(async () => { await otp.create("ada"); await otp.create("ada"); }),
    await thrown(async () => { await otp.generate("bob"); await otp.generate("bob"); }),
    await thrown(() => new OtpManager({ get: () => new Promise(() => {}), put() {} }, { secret: SECRET, timeoutMs: 5 }).create("x")),
    await thrown(() => new OtpManager({ get: () => "[not a record", put() {} }, { secret: SECRET }).create("x")),
    await thrown(() => new OtpManager({ get: () => null, put() {}, compareAndSwap: () => false }, { secret: SECRET }).create("x")),
    await thrown(() => { const m = new OtpManager(memoryStorage(), { secret: SECRET }); m.dispose(); return m.create("x"); }),
    await thrown(() => new OtpManager(memoryStorage(), { secret: SECRET, bogus: 1 })),
    // a second instance of edge-otp/slim, never initialised
    await thrown(async () => {
      const { OtpManager: Uninitialised } = await import("../../pkg/slim.js?uninitialised");
      return new Uninitialised(memoryStorage(), { secret: SECRET });
    }),
    // no randomness for the salt of a fresh engine's first code
    await thrown(async () => {
      const m = new OtpManager(memoryStorage(), { secret: SECRET + "-entropy" });
      const drawn = globalThis.crypto.getRandomValues;
      globalThis.crypto.getRandomValues = () => { throw new Error("no entropy here"); };
      try {
        return await m.create("x");
      } finally {
        globalThis.crypto.getRandomValues = drawn;
      }
    }),
    // enroll over an active enrollment (one code accepted)
    await thrown(async () => {
      const totp = new TotpManager(memoryStorage(), { secret: SECRET, issuer: "Acme" });
      const { secret } = await totp.enroll("ada");
      assert.equal(await totp.verify("ada", await totpAt(secret, Date.now())), true);
      return totp.enroll("ada");
    }),
    await thrown(() => new TotpManager(memoryStorage(), { secret: SECRET, issuer: "Acme" }).newRecoveryCodes("bob")),
  ];
  assert.deepEqual(errors.map((e) => e.code),
    ["INVALID_CONFIG", "INVALID_ARGUMENT", "RATE_LIMITED", "ACTIVE_OTP_EXISTS", "TIMEOUT", "CORRUPT_RECORD", "CONFLICT", "DISPOSED",
      "INVALID_CONFIG", "NOT_INITIALIZED", "ENTROPY", "ALREADY_ENROLLED", "NOT_ENROLLED"]);
  const carried = new Set();
  for (const e of errors) {
    for (const key of Object.keys(e).filter((k) => k !== "code" && k !== "name")) {
      assert.ok(declared.has(key), `${e.code} carries ${key}, which OtpErrorFields does not declare`);
      carried.add(key);
    }
  }
  assert.deepEqual([...carried].sort(), [...declared].sort());
});
