#!/usr/bin/env node
// Where should the storage await loop live? A reproducible answer with the real core.
//
//   bash .ci/build                       # the package (pkg/wasm), if not built yet
//   bash bench/futures-driver/build.sh   # the futures driver (bench/futures-driver/pkg)
//   node bench/driver-choice.mjs
//
// Compares, in one Node process, the same Rust core (edge_otp::Engine::apply_with)
// driven two ways:
//   js driver       the shipped package, pkg/node.js: pkg/slim.js awaits get/put in JS and
//                   makes one synchronous wasm call per operation;
//   futures driver  bench/futures-driver: an `async fn` exported from Rust that calls
//                   storage.get/put/compareAndSwap through js_sys and awaits them through
//                   wasm-bindgen-futures (JsFuture), the whole loop in Rust.
// each over two stores, as in bench/contenders.mjs:
//   sync     the package's memoryStorage() (plain values, compareAndSwap);
//   promise  a Map whose get/put return Promises (KV-like, no compareAndSwap).
//
// Per run and variant (fresh store, fresh users; variants interleaved, the order rotated
// every run): every user gets a code (untimed), then, each a timed loop of sequential
// awaited calls over all users: getLatestOtp on the active code; verify with a wrong code
// (0 attempts used before); fresh codes (untimed); verify with the right code. Codes are
// always issued through the JS package; records are interchangeable (same key, same wire
// format), so the futures driver reads what the package wrote. Every answer is checked.
//
// Environment: BENCH_RUNS (default 5, median reported), BENCH_USERS (default 2000),
// BENCH_PASSES (default 1): passes per run and variant, each timed loop's ns/op averaged
// over them (longer timed blocks, for a noisy machine).

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import v8 from "node:v8";
import vm from "node:vm";
import zlib from "node:zlib";

const int = (name, dflt) => {
  const raw = process.env[name];
  if (raw == null || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${name} must be a positive integer (got ${JSON.stringify(raw)})`);
    process.exit(2);
  }
  return n;
};
const RUNS = int("BENCH_RUNS", 5);
const USERS = int("BENCH_USERS", 2000);
const PASSES = int("BENCH_PASSES", 1);
const WARMUP_USERS = 300;

const here = (p) => new URL(p, import.meta.url);
const SHIPPED_WASM = here("../pkg/wasm/edge_otp_bg.wasm");
const FD_DIR = here("./futures-driver/pkg/");
const FD_GLUE = new URL("edge_otp_futures_driver.js", FD_DIR);
const FD_WASM = new URL("edge_otp_futures_driver_bg.wasm", FD_DIR);

for (const [file, how] of [[SHIPPED_WASM, "bash .ci/build"], [FD_WASM, "bash bench/futures-driver/build.sh"]]) {
  if (!existsSync(file)) {
    console.error(`missing ${file.pathname}: run \`${how}\` first`);
    process.exit(2);
  }
}

const { OtpManager, memoryStorage } = await import(here("../pkg/node.js").href);
const fd = await import(FD_GLUE.href);
fd.initSync({ module: readFileSync(FD_WASM) });

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");

// The policy of bench/contenders.mjs (EDGE_OTP_OPTIONS): the engine, not the limiter.
const SECRET = "bench secret: 32 bytes, not used in prod!";
const OPTIONS = Object.freeze({
  secret: SECRET,
  length: 4,
  maxAttempts: 3,
  ttlSeconds: 3600,
  resendCooldownSeconds: 0,
  issueLimit: null,
  failureLimit: null,
});
// The package's defaults for the rest: scope "default", keyPrefix "otp:", digits.
const newAsyncEngine = () =>
  new fd.AsyncEngine(new TextEncoder().encode(SECRET), "default", "otp:", 3600, 3, 4,
    "0123456789", 0, -1, 0, -1, 0);

function makeStore(kind) {
  if (kind === "sync") return memoryStorage();
  const m = new Map();
  return {
    get: (key) => Promise.resolve(m.get(key) ?? null),
    put: (key, value) => {
      m.set(key, value);
      return Promise.resolve();
    },
  };
}

function makeVariant(driver, storeKind) {
  const storage = makeStore(storeKind);
  const pkg = new OtpManager(storage, { ...OPTIONS });
  const issue = async (user) => (await pkg.create(user)).code;
  if (driver === "js") {
    return {
      issue,
      verify: (user, code) => pkg.verify(user, code),
      latest: (user) => pkg.getLatestOtp(user),
      free() {},
    };
  }
  const engine = newAsyncEngine();
  return {
    issue,
    verify: (user, code) => engine.verify(user, code, storage),
    latest: (user) => engine.latest(user, storage),
    free: () => engine.free(),
  };
}

const DRIVERS = ["js", "futures"];
const STORES = ["sync", "promise"];
const OPS = ["verify wrong", "verify right", "getLatestOtp"];
const VARIANTS = STORES.flatMap((s) => DRIVERS.map((d) => `${d}/${s}`));

const wrongOf = (code) => String((Number(code) + 1) % 10_000).padStart(code.length, "0");

async function timed(users, body) {
  gc();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < users.length; i++) await body(users[i], i);
  return Number(process.hrtime.bigint() - t0) / users.length;
}

// `passes` passes for one variant; returns ns/op per op name. Throws on any wrong answer.
async function pass(variant, tag, n, passes = 1) {
  const [driver, storeKind] = variant.split("/");
  const v = makeVariant(driver, storeKind);
  const users = Array.from({ length: n }, (_, i) => `${tag}-${i}@example.com`);
  const codes = new Array(n);
  let bad = 0;
  let latest = 0;
  let wrong = 0;
  let right = 0;
  try {
    for (let p = 0; p < passes; p++) {
      for (let i = 0; i < n; i++) codes[i] = await v.issue(users[i]);
      latest += await timed(users, async (u, i) => {
        const r = await v.latest(u);
        if (r === null || r.code !== codes[i] || r.status !== "active" || r.attempts !== 0) bad++;
      });
      wrong += await timed(users, async (u, i) => {
        if ((await v.verify(u, wrongOf(codes[i]))) !== false) bad++;
      });
      for (let i = 0; i < n; i++) codes[i] = await v.issue(users[i]);
      right += await timed(users, async (u, i) => {
        if ((await v.verify(u, codes[i])) !== true) bad++;
      });
    }
    if (bad > 0) throw new Error(`${variant}: ${bad} wrong answers`);
    return { "verify wrong": wrong / passes, "verify right": right / passes, getLatestOtp: latest / passes };
  } finally {
    v.free();
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");

const loadBefore = load();
console.error(`warmup (${WARMUP_USERS} users x 2 per variant) ...`);
for (let w = 0; w < 2; w++) for (const variant of VARIANTS) await pass(variant, `w${w}-${variant}`, WARMUP_USERS);

const samples = Object.fromEntries(VARIANTS.map((v) => [v, Object.fromEntries(OPS.map((o) => [o, []]))]));
for (let run = 0; run < RUNS; run++) {
  const order = VARIANTS.map((_, i) => VARIANTS[(i + run) % VARIANTS.length]);
  for (const variant of order) {
    const r = await pass(variant, `r${run}-${variant}`, USERS, PASSES);
    for (const op of OPS) samples[variant][op].push(r[op]);
  }
  console.error(`run ${run + 1}/${RUNS} done (load ${load()})`);
}
const loadAfter = load();

const fmt = (ns) => Math.round(ns).toLocaleString("en-US");
const spread = (xs) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;

const cpu = os.cpus()[0]?.model ?? "?";
console.log(`# Storage await loop: JS driver vs Rust futures driver\n`);
console.log(`Node ${process.version}, ${os.cpus().length} x ${cpu}; ${RUNS} runs x ${USERS} users` +
  `${PASSES > 1 ? ` x ${PASSES} passes` : ""}, ` +
  `median ns/op (min–max over runs); ratio = futures / js.`);
console.log(`Load average (1/5/15 min): before ${loadBefore}, after ${loadAfter}.\n`);
console.log("| op | store | js driver (pkg/node.js) | futures driver | ratio |");
console.log("|---|---|---:|---:|---:|");
for (const store of STORES) {
  for (const op of OPS) {
    const js = samples[`js/${store}`][op];
    const fu = samples[`futures/${store}`][op];
    console.log(`| ${op} | ${store} | ${fmt(median(js))} (${spread(js)}) | ` +
      `${fmt(median(fu))} (${spread(fu)}) | ${(median(fu) / median(js)).toFixed(2)}x |`);
  }
}

function gzip9(url) {
  const bytes = readFileSync(url);
  try {
    return execFileSync("gzip", ["-9c"], { input: bytes, maxBuffer: 1 << 26 }).length;
  } catch {
    return zlib.gzipSync(bytes, { level: 9 }).length; // no gzip binary: zlib at level 9
  }
}
console.log("\n| .wasm | raw bytes | gzip -9 bytes |");
console.log("|---|---:|---:|");
const sizes = [
  ["pkg/wasm/edge_otp_bg.wasm (shipped: JS driver, no_std)", SHIPPED_WASM],
  ["futures-driver/pkg/edge_otp_futures_driver_bg.wasm (core + futures driver, std, wasm-bindgen-futures)", FD_WASM],
];
for (const [name, url] of sizes) {
  console.log(`| ${name} | ${fmt(readFileSync(url).length)} | ${fmt(gzip9(url))} |`);
}
