// The shortest user journey through the built package: issue, reject a wrong guess, verify.
import { test } from "node:test";
import assert from "node:assert/strict";
import { OtpManager, memoryStorage } from "../../pkg/node.js";

test("a code verifies once and a wrong guess spends an attempt", async () => {
  const otp = new OtpManager(memoryStorage(), { secret: "smoke-test-secret-0123456789" });
  const { code } = await otp.create("ada@example.com");
  assert.match(code, /^\d{4}$/);
  const wrong = code === "0000" ? "0001" : "0000";
  assert.deepEqual(await otp.check("ada@example.com", wrong), { ok: false, reason: "invalid", attemptsLeft: 2 });
  assert.equal(await otp.verify("ada@example.com", code), true);
  assert.equal(await otp.verify("ada@example.com", code), false);
});
