// Where salts come from: the getRandomValues hook of initSync (edge-otp/slim), and the
// Node entries' /dev/urandom source with its fallback to crypto.getRandomValues.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { initSync, OtpManager, OtpError, memoryStorage } from "../../pkg/slim.js";
import { urandom } from "../../pkg/node-random.js";

const WASM = new URL("../../pkg/wasm/edge_otp_bg.wasm", import.meta.url);
const SECRET = "random-test-secret-0123456789";
const saltOf = (record) => JSON.parse(record)[1];

// This file's process initialises slim itself, with a source the tests can watch and break.
const calls = [];
let mode = "ok";
assert.throws(() => initSync({ module: fs.readFileSync(WASM), getRandomValues: 42 }), TypeError);
initSync({
  module: fs.readFileSync(WASM),
  getRandomValues(bytes) {
    calls.push(bytes.length);
    if (mode === "throw") throw new Error("no entropy today");
    return globalThis.crypto.getRandomValues(bytes);
  },
});

test("initSync's getRandomValues supplies every salt, and only when a new cycle starts", async () => {
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

test("urandom reads the kernel CSPRNG through fs: full, fresh bytes every call", () => {
  const fill = urandom(fs);
  const a = fill(new Uint8Array(16));
  const b = fill(new Uint8Array(16));
  assert.equal(a.length, 16);
  assert.notDeepEqual(a, b);
  // 8192 bytes: every byte value shows up (a stuck or short source would not; a good one
  // misses one with probability about 3e-12).
  const big = fill(new Uint8Array(8192));
  assert.equal(new Set(big).size, 256);
});

test("urandom falls back to crypto.getRandomValues when /dev/urandom cannot be opened or read", () => {
  const opens = [];
  const noDevice = urandom({
    openSync: (path) => {
      opens.push(path);
      throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
    },
    readSync: () => assert.fail("never read after a failed open"),
  });
  const a = noDevice(new Uint8Array(16));
  const b = noDevice(new Uint8Array(16));
  assert.notDeepEqual(a, b);
  assert.deepEqual(opens, ["/dev/urandom"], "a failed open is not retried on every call");

  let reads = 0;
  const shortReads = urandom({ openSync: () => 99, readSync: () => { reads++; return 0; } });
  const c = shortReads(new Uint8Array(16));
  shortReads(new Uint8Array(16));
  assert.equal(reads, 1, "after a short read the device is dropped");
  assert.ok(c.some((x) => x !== 0));

  const closed = urandom({ openSync: () => 99, readSync: () => { throw Object.assign(new Error("EBADF"), { code: "EBADF" }); } });
  assert.ok(closed(new Uint8Array(16)).some((x) => x !== 0));
});
