#!/usr/bin/env node
// What the string crossings that the boundary issue requires cost per verify, beside the
// no-crypto floor, in one process:
//
//   bash bench/crossing/build.sh && bash .ci/build && node bench/crossing.mjs
//
// Four loops take turns, ROUNDS rounds (the first WARM discarded), each over USERS users:
//   floor      bench/contenders.mjs's `js floor (no crypto)`: verify wrong, awaited
//   edge-otp   the package's OtpManager on memoryStorage(): verify wrong, awaited
//   strings    the wasm calls of one verify through pkg/slim.js, doing no work, passed as
//              the package passes them: checkArguments(user as a JS value), check(user,
//              code, record as wasm-bindgen strings), takeWrite() → the record string
//              (bench/crossing: the same glue, the crate's opt-level and allocator)
//   numbers    the same three calls with numbers where the strings were
// and the report gives the medians, and strings − numbers as a share of the floor's time:
// the part of the issue's "within 1.3× of the floor" bar that the crossings alone take.
import { fileURLToPath, pathToFileURL } from "node:url";
import { readFileSync } from "node:fs";
import { jsFloor, loadEdgeOtp, LENGTH, MAX_ATTEMPTS, TTL_SECONDS, SECRET } from "./contenders.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ROUNDS = Number(process.env.CROSSING_ROUNDS ?? 9);
const WARM = 2;
const USERS = 2000;
const PASSES = 10;

const probe = await import(pathToFileURL(`${ROOT}bench/crossing/pkg/edge_otp_crossing.js`).href);
probe.initSync({ module: readFileSync(`${ROOT}bench/crossing/pkg/edge_otp_crossing_bg.wasm`) });

const users = Array.from({ length: USERS }, (_, i) => `u${i}@bench.test`);
const wrong = (code) => String((Number(code) + 1) % 10 ** LENGTH).padStart(LENGTH, "0");

const { OtpManager } = await loadEdgeOtp();
const map = new Map();
const store = { get: (k) => map.get(k) ?? null, put: (k, v) => void map.set(k, v) };
const options = {
  secret: SECRET, length: LENGTH, maxAttempts: MAX_ATTEMPTS, ttlSeconds: TTL_SECONDS,
  resendCooldownSeconds: 0, issueLimit: null, failureLimit: null,
};
const otp = new OtpManager(store, options);
const floor = await jsFloor();
// A record as the package stores it, for the crossing loops.
await otp.create(users[0]);
const record = map.get(otp.keyFor(users[0]));

// Each loop: ns per call over PASSES passes of fresh codes (create untimed, verify wrong timed).
async function timeVerify(c) {
  let ns = 0n;
  for (let p = 0; p < PASSES; p++) {
    const codes = [];
    for (const u of users) codes.push(await c.create(u));
    const t = process.hrtime.bigint();
    for (let i = 0; i < USERS; i++) await c.verify(users[i], wrong(codes[i]));
    ns += process.hrtime.bigint() - t;
  }
  return Number(ns) / (PASSES * USERS);
}
const edge = {
  create: async (u) => (await otp.create(u)).code,
  verify: (u, code) => otp.verify(u, code),
};
function timeCalls(f) {
  const t = process.hrtime.bigint();
  let sink = 0;
  for (let p = 0; p < PASSES; p++) {
    for (let i = 0; i < USERS; i++) sink += f(users[i]);
  }
  const ns = Number(process.hrtime.bigint() - t) / (PASSES * USERS);
  if (sink === -1) console.log(sink);
  return ns;
}
const code = "1234";
const strings = (u) => probe.argsStrings(u) + probe.checkStrings(u, code, record) + probe.takeStrings().length;
const numbers = (u) => probe.argsNumbers(u.length) + probe.checkNumbers(u.length, 4, record.length) + probe.takeNumbers();

const loops = {
  floor: () => timeVerify(floor),
  "edge-otp": () => timeVerify(edge),
  strings: async () => timeCalls(strings),
  numbers: async () => timeCalls(numbers),
};
const names = Object.keys(loops);
const samples = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < ROUNDS; r++) {
  const order = names.map((_, i) => names[(i + r) % names.length]);
  for (const n of order) {
    const ns = await loops[n]();
    if (r >= WARM) samples[n].push(ns);
  }
  process.stderr.write(`round ${r + 1}/${ROUNDS}\n`);
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const m = Object.fromEntries(names.map((n) => [n, median(samples[n])]));
const fmt = (ns) => Math.round(ns).toLocaleString("en-US");
const range = (n) => `${fmt(Math.min(...samples[n]))}–${fmt(Math.max(...samples[n]))}`;
console.log(`record: ${record.length} characters; user: ${users[0].length}–${users[USERS - 1].length}; ` +
  `${ROUNDS - WARM} rounds × ${PASSES * USERS} calls; Node ${process.version}`);
console.log("| loop | ns per verify, median (min–max) |");
console.log("|---|--:|");
for (const n of names) console.log(`| ${n} | ${fmt(m[n])} (${range(n)}) |`);
const crossing = m.strings - m.numbers;
console.log(`\nedge-otp ÷ floor: ${(m["edge-otp"] / m.floor).toFixed(2)}×`);
console.log(`crossings (strings − numbers): ${fmt(crossing)} ns = ${(crossing / m.floor).toFixed(2)}× the floor's time`);
