#!/usr/bin/env node
// TOTP verify: edge-otp/totp against otplib and otpauth, in one run.
//
//   node bench/totp.mjs            # N = 20000 verifies per row (BENCH_TOTP_N to change)
//
// edge-otp/totp `verify` reads the record from memoryStorage(), opens the seed
// (ChaCha20-Poly1305), compares the 3 codes of the window in constant time and, when the
// code is accepted, writes the record back with compare-and-swap (replay protection and
// the failure budget). otplib `verify` / `verifySync` and otpauth `TOTP.validate` do no
// storage at all: they take the seed in the clear and remember nothing, so they do not
// prevent replay or count failures. The rows are comparable only as "cost of a check".
import { createHmac } from "node:crypto";
import { TotpManager, memoryStorage } from "../pkg/totp-node.js";
import * as otplib from "otplib";
import * as OTPAuth from "otpauth";

const N = Number(process.env.BENCH_TOTP_N ?? 20000);
const T0 = Date.UTC(2031, 0, 1);
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const decode = (s) => {
  const out = [];
  let bits = 0, v = 0;
  for (const ch of s) {
    v = (v << 5) | B32.indexOf(ch);
    bits += 5;
    if (bits >= 8) { out.push((v >>> (bits - 8)) & 255); bits -= 8; }
  }
  return Buffer.from(out);
};
const codeAt = (seed, step) => {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", seed).update(msg).digest();
  const o = mac[19] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1e6).padStart(6, "0");
};

async function time(name, n, fn, note) {
  for (let i = 0; i < Math.min(2000, n); i++) await fn(i, true);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i, false);
  const ns = Number(process.hrtime.bigint() - t0);
  return { name, n, usPerOp: ns / n / 1000, opsPerSec: Math.round(n / (ns / 1e9)), note };
}

const rows = [];
{
  // edge-otp: a right code at a new step every time (verified, record written).
  let t = T0;
  const totp = new TotpManager(memoryStorage(), { secret: "bench totp secret 0123456789", issuer: "Bench", now: () => t, failureLimit: null });
  const { secret } = await totp.enroll("ada@bench.test");
  const seed = decode(secret);
  const codes = Array.from({ length: N + 2000 + 2 }, (_, i) => codeAt(seed, T0 / 30000 + i));
  let k = 0;
  rows.push(await time("edge-otp/totp verify, right code (read, open seed, 3 compares, CAS write)", N, async () => {
    t += 30_000;
    k++;
    if (!(await totp.verify("ada@bench.test", codes[k]))) throw new Error("edge-otp refused a right code");
  }, "memoryStorage"));
  const window = new Set([-1, 0, 1].map((o) => codeAt(seed, t / 30000 + o)));
  let wrong = 0;
  while (window.has(String(wrong).padStart(6, "0"))) wrong++;
  wrong = String(wrong).padStart(6, "0");
  rows.push(await time("edge-otp/totp check, wrong 6-digit code (read, open seed, 3 compares; budget off: no write)", N, async () => {
    if ((await totp.check("ada@bench.test", wrong)).ok) throw new Error("accepted");
  }, "memoryStorage, failureLimit null"));
  rows.push(await time("edge-otp/totp check, replayed code (read, open seed, 3 compares, no write)", N, async () => {
    await totp.check("ada@bench.test", codes[k]);
  }, "memoryStorage"));
}
{
  const secret = otplib.generateSecret();
  const epoch = Math.floor(T0 / 1000);
  const token = await otplib.generate({ secret, epoch });
  rows.push(await time("otplib 13.5.0 verify (async), right code, epochTolerance 30", N, async () => {
    if (!(await otplib.verify({ secret, token, epoch, epochTolerance: 30 })).valid) throw new Error("otplib");
  }, "no storage"));
  rows.push(await time("otplib 13.5.0 verifySync, right code, epochTolerance 30", N, () => {
    if (!otplib.verifySync({ secret, token, epoch, epochTolerance: 30 }).valid) throw new Error("otplib sync");
  }, "no storage"));
}
{
  const totp = new OTPAuth.TOTP({ secret: new OTPAuth.Secret({ size: 20 }) });
  const token = totp.generate({ timestamp: T0 });
  rows.push(await time("otpauth 9.5.2 TOTP.validate, right code, window 1", N, () => {
    if (totp.validate({ token, timestamp: T0, window: 1 }) === null) throw new Error("otpauth");
  }, "no storage"));
}

console.log(`node ${process.version}, N = ${N} per row`);
console.log("| operation | µs/op | ops/s | storage |");
console.log("|---|--:|--:|---|");
for (const r of rows) console.log(`| ${r.name} | ${r.usPerOp.toFixed(2)} | ${r.opsPerSec.toLocaleString("en-US")} | ${r.note} |`);
