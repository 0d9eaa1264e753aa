#!/usr/bin/env node
// Where the time of one edge-otp operation goes: a CPU profile of a loop of one operation
// through the package (memoryStorage, 2000 users, limits off, as in bench/run.mjs), with
// self time grouped by what the code does.
//
//   bash .ci/build && node bench/profile.mjs            # verify wrong (every call writes)
//   PROFILE_OP=latest node bench/profile.mjs            # or: verify-right, create, latest
//
// The shipped .wasm has no function names, so this script first makes a named copy of the
// package (bench/named-copy.mjs: wasm-bindgen on the cargo output and the panic snipping, without wasm-opt,
// whose inlining would also merge the functions this report separates). The sampling profiler slows everything a little; read
// the shares, not the absolute figures.

import { rmSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { namedCopy } from "./named-copy.mjs";

const OP = process.env.PROFILE_OP ?? "verify-wrong";
const OPS = ["verify-wrong", "verify-right", "create", "latest"];
if (!OPS.includes(OP)) {
  console.error(`PROFILE_OP must be one of ${OPS.join(", ")}`);
  process.exit(2);
}
// A named copy of the package.
// A named copy of the package.
const dir = namedCopy("edge-otp-profile-");

const { OtpManager, memoryStorage } = await import(join(dir, "node.js"));
const USERS = 2000;
const ROUNDS = 150;
const m = new OtpManager(memoryStorage(), {
  secret: "bench-secret-0123456789abcdef",
  maxAttempts: 1000, // so that every wrong guess writes (the path bench/run.mjs times)
  resendCooldownSeconds: 0,
  issueLimit: null,
  failureLimit: null,
});
const users = Array.from({ length: USERS }, (_, i) => `u${i}.p@bench.test`);
const codes = [];
for (const u of users) codes.push((await m.create(u)).code);
const wrong = codes.map((c) => (c === "0000" ? "0001" : "0000"));

const body = {
  "verify-wrong": async () => { for (let i = 0; i < USERS; i++) await m.verify(users[i], wrong[i]); },
  "verify-right": async () => {
    for (let i = 0; i < USERS; i++) codes[i] = (await m.create(users[i])).code; // untimed share, see below
    for (let i = 0; i < USERS; i++) await m.verify(users[i], codes[i]);
  },
  create: async () => { for (let i = 0; i < USERS; i++) await m.create(users[i]); },
  latest: async () => { for (let i = 0; i < USERS; i++) await m.getLatestOtp(users[i]); },
}[OP];

for (let r = 0; r < 20; r++) await body(); // warm up: tier up the wasm and the JS

const session = new Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.setSamplingInterval", { interval: 20 });
await session.post("Profiler.start");
const t0 = process.hrtime.bigint();
for (let r = 0; r < ROUNDS; r++) await body();
const ns = Number(process.hrtime.bigint() - t0) / (ROUNDS * USERS);
const { profile } = await session.post("Profiler.stop");
session.disconnect();
rmSync(dir, { recursive: true, force: true });

// Self samples per function, then per group.
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
for (const id of profile.samples) {
  const f = byId.get(id).callFrame;
  const name = f.functionName || "(anonymous)";
  const file = f.url.split("/").pop();
  const key = `${name}\u0000${file}`;
  self.set(key, (self.get(key) ?? 0) + 1);
}
const total = profile.samples.length;
const GROUPS = [
  ["wasm: code derivation (SipHash key derivation, Feistel permutation)", (n) => /edge_otp::code::|siphasher/.test(n)],
  ["wasm: record decode", (n) => /record::Record::decode|record::Parser|str::converts::from_utf8/.test(n)],
  ["wasm: record encode", (n) => /record::Record::encode|record::decimal/.test(n)],
  ["wasm: OTP rules and the binding (engine, wasm::)", (n, file) => /\.wasm|wasm-function/.test(file) || /edge_otp::|engine_/.test(n)],
  ["JS: storage (memoryStorage get / compareAndSwap, Map hashing of the key)", (n, file) => file === "memory.js"],
  ["JS: strings in and out of wasm (TextEncoder.encodeInto, TextDecoder)", (n, file) =>
    /encodeInto|decode|decodeUTF8/.test(n) && !/wasm/.test(file)],
  ["JS: wasm-bindgen's glue (string copies, the calls' JS side)", (n, file) => file === "edge_otp.js"],
  ["JS: the manager and the driver (checks, key, turns, promises)", (n, file) => /^(slim|driver|engines)\.js$/.test(file)],
  ["benchmark loop, GC, other", () => true],
];
const groups = GROUPS.map(([label]) => ({ label, samples: 0, top: [] }));
for (const [key, samples] of self) {
  const [name, file] = key.split("\u0000");
  const g = GROUPS.findIndex(([, test]) => test(name, file));
  groups[g].samples += samples;
  groups[g].top.push([name.replace(/::h[0-9a-f]{16}$/, ""), samples]);
}

const pct = (s) => `${((100 * s) / total).toFixed(1)} %`;
console.log(`## Profile: ${OP}, ${USERS} users × ${ROUNDS} rounds, memoryStorage, Node ${process.version}`);
console.log("");
console.log(`${Math.round(ns).toLocaleString("en-US")} ns per ${OP === "verify-right" ? "create + verify right" : OP} under the profiler ` +
  `(20 µs sampling, ${total.toLocaleString("en-US")} samples); load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}.`);
console.log("");
console.log("| share of samples | where | biggest items |");
console.log("|--:|---|---|");
for (const g of groups) {
  if (g.samples === 0) continue;
  const top = g.top.sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_TOP ?? 3)).map(([n, s]) => `${n} ${pct(s)}`).join("; ");
  console.log(`| ${pct(g.samples)} | ${g.label} | ${top} |`);
}
