// Wasm linear memory never shrinks. Two things are checked here: managers keep working
// when memory grows under them (thousands of other engines allocated), and a manager per
// request does not grow memory at all (managers with equal options share one engine;
// dispose() and garbage collection free an engine nobody uses).
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
    others.push(new OtpManager(memoryStorage(), { secret: SECRET, scope: `s${others.length}` }));
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

test("100,000 managers with the same options leave wasm memory where it was after 1,000", async () => {
  const store = memoryStorage();
  const options = { secret: SECRET, scope: "per-request" };
  for (let i = 0; i < 1000; i++) await new OtpManager(store, options).getLatestOtp("ada");
  const after1k = wasm.memory.buffer.byteLength;
  for (let i = 0; i < 100_000; i++) {
    const otp = new OtpManager(store, options);
    if (i % 100 === 0) await otp.create(`user-${i}`);
  }
  const after100k = wasm.memory.buffer.byteLength;
  console.log(`wasm memory: ${after1k} bytes after 1,000 managers, ${after100k} after 100,000 more`);
  assert.equal(after100k, after1k);
});

test("dispose() frees an engine: 20,000 managers with distinct secrets, each disposed, leave memory flat", () => {
  const make = (i) => new OtpManager(memoryStorage(), { secret: `${SECRET}-${i}` });
  for (let i = 0; i < 1000; i++) make(i).dispose();
  const before = wasm.memory.buffer.byteLength;
  for (let i = 0; i < 20_000; i++) {
    const otp = make(i);
    otp[Symbol.dispose]();
  }
  console.log(`wasm memory across 20,000 disposed engines: ${before} → ${wasm.memory.buffer.byteLength} bytes`);
  assert.equal(wasm.memory.buffer.byteLength, before);
});

test("a disposed manager rejects with DISPOSED; others sharing its engine keep working", async () => {
  const store = memoryStorage();
  const a = new OtpManager(store, { secret: SECRET });
  const b = new OtpManager(store, { secret: SECRET });
  const { code } = await a.create("dee");
  a.dispose();
  a.dispose(); // twice is fine
  await assert.rejects(a.check("dee", code), (e) => e.code === "DISPOSED");
  assert.throws(() => a.keyFor("dee"), (e) => e.code === "DISPOSED");
  assert.equal(await b.verify("dee", code), true);
});
