// Where salts come from: getrandom inside wasm (feature wasm_js), which calls
// globalThis.crypto.getRandomValues. This file watches and breaks that source; the last
// tests run dist/node.mjs (what `import "edge-otp"` is in Node), where that one call reads
// /dev/urandom instead of loading Node's WebCrypto (pkg/src/node-random.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
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

test("getrandom draws salts from crypto.getRandomValues in batches, only when new cycles start", async () => {
  const store = memoryStorage();
  const otp = new OtpManager(store, { secret: SECRET, resendCooldownSeconds: 0 });
  calls.length = 0;
  await otp.create("ada");
  assert.equal(calls.length, 1, "a new user's first code draws once");
  const batch = calls[0];
  assert.ok(batch >= 16 && batch % 16 === 0, `a whole number of 16-byte salts (${batch} bytes)`);
  await otp.create("ada");
  await otp.getLatestOtp("ada");
  assert.equal(calls.length, 1, "later codes of the same cycle draw nothing");
  // The rest of the batch serves the next new users; the one after them draws again.
  const users = Array.from({ length: batch / 16 }, (_, i) => `user-${i}`);
  for (const u of users.slice(0, -1)) await otp.create(u);
  assert.equal(calls.length, 1, `${batch / 16} new cycles per draw`);
  await otp.create(users.at(-1));
  assert.deepEqual(calls, [batch, batch]);
  const salts = new Set(["ada", ...users].map((u) => saltOf(store.get(otp.keyFor(u)))));
  assert.equal(salts.size, users.length + 1, "every cycle has its own salt");
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
  // Options of its own: a new engine, whose pool of salts is empty.
  const otp = new OtpManager(store, { secret: SECRET, scope: "entropy" });
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

// A fresh Node process importing dist/node.mjs: 40 new users (three draws of salts), one
// verify; prints which crypto modules Node loaded and the salts.
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NODE_ENTRY = pathToFileURL(`${ROOT}/pkg/dist/node.mjs`).href;
function run(flags, script) {
  const r = spawnSync(process.execPath, [...flags, "--no-warnings", "--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}
function nodeEntry(flags = [], prelude = "") {
  return run(flags, `
    ${prelude}
    const { OtpManager, memoryStorage } = await import(${JSON.stringify(NODE_ENTRY)});
    // Open file descriptors (Linux; unreadable under the permission model: NaN).
    const fds = () => { try { return process.getBuiltinModule("node:fs").readdirSync("/proc/self/fd").length; } catch { return NaN; } };
    const fdsBefore = fds();
    const store = memoryStorage();
    const otp = new OtpManager(store, { secret: ${JSON.stringify(SECRET)} });
    const salts = [];
    let code;
    for (let i = 0; i < 40; i++) {
      ({ code } = await otp.create("u" + i));
      salts.push((${saltOf})(store.get(otp.keyFor("u" + i))));
    }
    const verified = await otp.verify("u39", code);
    const crypto = process.moduleLoadList.filter((m) => /crypto/.test(m));
    console.log(JSON.stringify({ salts, verified, crypto, fdsLeft: fds() - fdsBefore }));`);
}
// Node's permission model with reads allowed only under the repository: /dev/urandom is refused.
const PERMISSION = process.allowedNodeEnvironmentFlags.has("--permission") ? "--permission" : "--experimental-permission";
const NO_URANDOM = [PERMISSION, `--allow-fs-read=${ROOT}`];

test("dist/node.mjs: salts come from the OS without loading Node's crypto modules", () => {
  const { salts, verified, crypto, fdsLeft } = nodeEntry();
  assert.equal(verified, true);
  // Opened, read and closed per draw: a descriptor kept open could be closed elsewhere and
  // its number reused by another file, which would then be read as randomness.
  assert.equal(fdsLeft, 0, "no file descriptor left open");
  assert.equal(new Set(salts).size, 40, "every cycle has its own salt");
  assert.deepEqual(crypto, [], "neither WebCrypto nor node:crypto was loaded");
});

test("dist/node.mjs: where /dev/urandom cannot be read, salts come from WebCrypto", () => {
  const { salts, verified, crypto } = nodeEntry(NO_URANDOM);
  assert.equal(verified, true);
  assert.equal(new Set(salts).size, 40, "every cycle has its own salt");
  assert.ok(crypto.some((m) => m.includes("internal/crypto/webcrypto")), `WebCrypto loaded: ${crypto.join(", ")}`);
});

test("dist/node.mjs: a regular file at /dev/urandom is not read as randomness (WebCrypto serves)", () => {
  // Every open of /dev/urandom opens a file of random bytes instead: read from its start on
  // each draw, it would hand out the same sixteen salts again and again.
  const { salts, verified, crypto } = nodeEntry([], `
    const fs = process.getBuiltinModule("node:fs");
    const file = fs.mkdtempSync(process.getBuiltinModule("node:os").tmpdir() + "/not-urandom-") + "/bytes";
    fs.writeFileSync(file, process.getBuiltinModule("node:crypto").randomBytes(4096));
    const open = fs.openSync;
    fs.openSync = (path, ...rest) => open(path === "/dev/urandom" ? file : path, ...rest);
    process.on("exit", () => fs.rmSync(file.slice(0, file.lastIndexOf("/")), { recursive: true, force: true }));`);
  assert.equal(verified, true);
  assert.equal(new Set(salts).size, 40, "every cycle has its own salt");
  assert.ok(crypto.some((m) => m.includes("internal/crypto/webcrypto")), `WebCrypto loaded: ${crypto.join(", ")}`);
});

test("dist/node.mjs: with neither /dev/urandom nor WebCrypto, create is ENTROPY and writes nothing", () => {
  const r = run(NO_URANDOM, `
    Object.defineProperty(globalThis, "crypto", { value: { getRandomValues() { throw new Error("no entropy today"); } } });
    const { OtpManager, OtpError, memoryStorage } = await import(${JSON.stringify(NODE_ENTRY)});
    const store = memoryStorage();
    const otp = new OtpManager(store, { secret: ${JSON.stringify(SECRET)} });
    const e = await otp.create("cy").then(() => null, (e) => e);
    console.log(JSON.stringify({ otpError: e instanceof OtpError, code: e?.code, message: e?.message, written: store.size }));`);
  assert.deepEqual({ ...r, message: undefined }, { otpError: true, code: "ENTROPY", message: undefined, written: 0 });
  assert.doesNotMatch(r.message, /no entropy today/);
});
