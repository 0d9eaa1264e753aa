// The fields an OtpError carries (built in Rust: src/wasm/errors.rs's Fields) are the ones
// pkg/index.d.ts declares: one error of each kind the package throws, through the public
// API, and each own property besides `name` and `code` must be in `OtpErrorFields`; each field that
// type names must be carried by one of them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { OtpManager, OtpError, memoryStorage } from "../../pkg/node.js";

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
  ];
  assert.deepEqual(errors.map((e) => e.code),
    ["INVALID_CONFIG", "INVALID_ARGUMENT", "RATE_LIMITED", "ACTIVE_OTP_EXISTS", "TIMEOUT", "CORRUPT_RECORD", "CONFLICT", "DISPOSED"]);
  const carried = new Set();
  for (const e of errors) {
    for (const key of Object.keys(e).filter((k) => k !== "code" && k !== "name")) {
      assert.ok(declared.has(key), `${e.code} carries ${key}, which OtpErrorFields does not declare`);
      carried.add(key);
    }
  }
  assert.deepEqual([...carried].sort(), [...declared].sort());
});
