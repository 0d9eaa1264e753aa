// Where salts come from: getrandom inside wasm (feature wasm_js), which calls
// globalThis.crypto.getRandomValues. This file watches and breaks that source.
import { test } from "node:test";
import assert from "node:assert/strict";
import { OtpManager, OtpError, memoryStorage } from "../../pkg/node.js";

const SECRET = "random-test-secret-0123456789";
const saltOf = (record) => JSON.parse(record)[1];

const real = globalThis.crypto.getRandomValues.bind(globalThis.crypto);
const calls = [];
let mode = "ok";
globalThis.crypto.getRandomValues = (bytes) => {
  calls.push(bytes.length);
  if (mode === "throw") throw new Error("no entropy today");
  return real(bytes);
};

test("getrandom draws every salt from crypto.getRandomValues, and only when a new cycle starts", async () => {
  const store = memoryStorage();
  const otp = new OtpManager(store, { secret: SECRET, resendCooldownSeconds: 0 });
  calls.length = 0;
  await otp.create("ada");
  assert.deepEqual(calls, [16], "a new user's first code draws one 16-byte salt");
  await otp.create("ada");
  await otp.getLatestOtp("ada");
  assert.deepEqual(calls, [16], "later codes of the same cycle draw nothing");
  await otp.create("bob");
  assert.deepEqual(calls, [16, 16]);
  assert.notEqual(saltOf(store.get(otp.keyFor("ada"))), saltOf(store.get(otp.keyFor("bob"))));
});

test("salts are fresh: 2000 users get 2000 different salts", async () => {
  const store = memoryStorage();
  const otp = new OtpManager(store, { secret: SECRET });
  const salts = new Set();
  for (let i = 0; i < 2000; i++) {
    await otp.create(`u${i}`);
    salts.add(saltOf(store.get(otp.keyFor(`u${i}`))));
  }
  assert.equal(salts.size, 2000);
});

test("a source that throws gives ENTROPY and writes nothing; the manager works again after", async () => {
  const store = memoryStorage();
  const otp = new OtpManager(store, { secret: SECRET });
  mode = "throw";
  try {
    await assert.rejects(otp.create("cy"), (e) => e instanceof OtpError && e.code === "ENTROPY" && !/no entropy today/.test(e.message));
    assert.equal(store.size, 0);
  } finally {
    mode = "ok";
  }
  const { code } = await otp.create("cy");
  assert.equal(await otp.verify("cy", code), true);
});
