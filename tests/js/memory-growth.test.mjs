// Managers keep views of their engine's buffer in wasm memory. When memory grows (here:
// thousands of other managers allocate their engines), those views are detached; every
// manager must notice and work on, with its records and codes intact.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { initSync as glueInitSync } from "../../pkg/wasm/edge_otp.js";
import { initSync, OtpManager, memoryStorage } from "../../pkg/slim.js";

const bytes = fs.readFileSync(new URL("../../pkg/wasm/edge_otp_bg.wasm", import.meta.url));
const wasm = glueInitSync({ module: bytes });
initSync({ module: bytes });
const SECRET = "growth-test-secret-0123456789";

test("operations keep working across wasm memory growth, with state intact", async () => {
  const store = memoryStorage();
  const a = new OtpManager(store, { secret: SECRET, resendCooldownSeconds: 0 });
  const first = await a.create("ada");
  assert.equal((await a.check("ada", first.code === "0000" ? "0001" : "0000")).attemptsLeft, 2);

  const before = wasm.memory.buffer.byteLength;
  const others = [];
  while (wasm.memory.buffer.byteLength < before + (4 << 20)) {
    others.push(new OtpManager(memoryStorage(), { secret: SECRET, scope: `s${others.length % 50}` }));
  }
  assert.ok(wasm.memory.buffer.byteLength > before, "memory grew");

  // The old manager: latest, a wrong guess, the right code, a new user (asks for a salt).
  const latest = await a.getLatestOtp("ada");
  assert.equal(latest.code, first.code);
  assert.equal(latest.attempts, 1);
  assert.equal((await a.check("ada", first.code === "0000" ? "0001" : "0000")).attemptsLeft, 1);
  assert.equal(await a.verify("ada", first.code), true);
  const bob = await a.create("bob");
  assert.equal(await a.verify("bob", bob.code), true);
  // And one of the new managers, created last.
  const last = others.at(-1);
  const cy = await last.create("cy");
  assert.equal(await last.verify("cy", cy.code), true);
});
