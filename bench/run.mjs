#!/usr/bin/env node
// edge-otp performance benchmark (JS side).
//
//   node bench/run.mjs            # markdown report on stdout
//   node bench/run.mjs --json     # also writes bench/results.json
//
// Environment:
//   BENCH_RUNS        runs (median is reported)                    default 7
//   BENCH_USERS       distinct users per run                       default 2000
//   BENCH_BA_USERS    users for "better-auth memory" (see README)  default 100
//   BENCH_BA_KV_USERS users for "better-auth kv" (its cost does not depend
//                     on the pool; a smaller pool keeps the run short) default 500
//   BENCH_MIN_MS      min. measured time per op and run; a run repeats the
//                     cycle over the pool until every op reached it   default 200
//   BENCH_MAX_PASSES  cap on those repetitions                     default 8
//   BENCH_ONLY        comma-separated contender ids to run (see --list)
//
// One Node process. Each run gives every contender a fresh instance and a
// fresh set of users; then the contenders take turns pass by pass (round-robin,
// the order rotated every run, so none is always first) until each has enough
// time, so that a slow stretch of the machine falls on all of them. One "pass"
// is, over every user of the pool, in this order:
//   create        timed    issues a code (re-issue: the user already has a record)
//   getLatestOtp  timed    on the active code
//   verify wrong  timed    one wrong code per user, on a fresh code (0 attempts used)
//   create        untimed  fresh codes
//   verify right  timed    the correct code
// Each op's time is the sum of its timed loops (process.hrtime.bigint around
// the whole loop of awaited calls) divided by the number of calls.

import { writeFileSync } from "node:fs";
import os from "node:os";
import v8 from "node:v8";
import vm from "node:vm";
import { CONTENDERS, loadEdgeOtp } from "./contenders.mjs";

const argv = process.argv.slice(2);
const JSON_OUT = argv.includes("--json");
const int = (name, dflt, min = 1) => {
  const raw = process.env[name];
  if (raw == null || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    console.error(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
    process.exit(2);
  }
  return n;
};
const RUNS = int("BENCH_RUNS", 7);
const USERS = int("BENCH_USERS", 2000);
const BA_USERS = int("BENCH_BA_USERS", 100);
const BA_KV_USERS = int("BENCH_BA_KV_USERS", 500);
const MIN_NS = BigInt(int("BENCH_MIN_MS", 200, 0)) * 1_000_000n;
const MAX_PASSES = int("BENCH_MAX_PASSES", 8);
const WARMUP_USERS = 300;

if (argv.includes("--list")) {
  for (const [id] of CONTENDERS) console.log(id);
  process.exit(0);
}

const OPS = ["create", "verifyRight", "verifyWrong", "latest"];
const OP_LABEL = {
  create: "create",
  verifyRight: "verify right",
  verifyWrong: "verify wrong",
  latest: "getLatestOtp",
};
const BASELINE = "edge-otp-memory";
const FALLBACK_BASELINE = "js-node-crypto";

// A gc() between timed blocks keeps one contender's garbage out of the next
// one's numbers (same effect as --expose-gc, without needing the flag).
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");

// ---------------------------------------------------------------------------

const notes = [];
let selected = CONTENDERS;
if (process.env.BENCH_ONLY) {
  const want = new Set(process.env.BENCH_ONLY.split(",").map((s) => s.trim()).filter(Boolean));
  for (const id of want) {
    if (!CONTENDERS.some(([cid]) => cid === id)) {
      console.error(`unknown contender ${id}; known: ${CONTENDERS.map(([c]) => c).join(", ")}`);
      process.exit(2);
    }
  }
  selected = CONTENDERS.filter(([id]) => want.has(id));
}
if (selected.some(([id]) => id.startsWith("edge-otp"))) {
  try {
    await loadEdgeOtp();
  } catch (err) {
    const msg = String(err?.message ?? err).split("\n")[0];
    notes.push(
      `edge-otp could not be loaded from pkg/node.js (${msg}); ` +
        `it is left out (build it with \`bash .ci/build\`). Ratios use ${FALLBACK_BASELINE}.`,
    );
    selected = selected.filter(([id]) => !id.startsWith("edge-otp"));
  }
}
if (selected.length === 0) {
  console.error("no contenders to run");
  process.exit(1);
}
const baselineId = selected.some(([id]) => id === BASELINE)
  ? BASELINE
  : selected.some(([id]) => id === FALLBACK_BASELINE)
    ? FALLBACK_BASELINE
    : selected[0][0];

const POOL = {
  "better-auth-memory": Math.min(BA_USERS, USERS),
  "better-auth-kv": Math.min(BA_KV_USERS, USERS),
};
const poolSize = (id) => POOL[id] ?? USERS;
const usersFor = (tag, n) => {
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = `u${i}.${tag}@bench.test`;
  return out;
};
const wrongOf = (code) =>
  code.slice(0, -1) + String((Number(code[code.length - 1]) + 1) % 10);
const CODE_RE = /^[0-9]{4}$/;

class Totals {
  constructor() {
    for (const op of OPS) this[op] = 0n;
    this.calls = 0;
    this.passes = 0;
  }
  done() {
    return this.passes >= MAX_PASSES || (this.passes > 0 && OPS.every((op) => this[op] >= MIN_NS));
  }
}

// One pass over the pool (see header). Returns nothing; adds into `t`.
async function pass(c, users, t, name) {
  const n = users.length;
  const codes = new Array(n);
  let bad = 0;
  let t0, t1;

  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) codes[i] = await c.create(users[i]);
  t1 = process.hrtime.bigint();
  t.create += t1 - t0;
  for (let i = 0; i < n; i++) if (typeof codes[i] !== "string" || !CODE_RE.test(codes[i])) bad++;
  if (bad) throw new Error(`${name}: ${bad} malformed codes, e.g. ${JSON.stringify(codes.find((x) => !CODE_RE.test(x)))}`);

  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if ((await c.latest(users[i])) == null) bad++;
  t1 = process.hrtime.bigint();
  t.latest += t1 - t0;
  if (bad) throw new Error(`${name}: latest() returned null for ${bad} users with an active code`);

  const wrong = codes.map(wrongOf);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if ((await c.verify(users[i], wrong[i])) !== false) bad++;
  t1 = process.hrtime.bigint();
  t.verifyWrong += t1 - t0;
  if (bad) throw new Error(`${name}: a wrong code was accepted for ${bad} users`);

  for (let i = 0; i < n; i++) codes[i] = await c.create(users[i]);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if ((await c.verify(users[i], codes[i])) !== true) bad++;
  t1 = process.hrtime.bigint();
  t.verifyRight += t1 - t0;
  if (bad) throw new Error(`${name}: the right code was rejected for ${bad} users`);

  t.calls += n;
  t.passes += 1;
}

// Fresh instance + users, untimed set-up; `step()` then runs one pass, until `done`.
async function prepare(id, factory, tag) {
  const c = await factory();
  const users = usersFor(tag, poolSize(id));
  if (c.prepare) await c.prepare(users);
  for (const u of users) await c.create(u); // every timed create is a re-issue
  const t = new Totals();
  return {
    get done() {
      return t.done();
    },
    async step() {
      gc();
      await pass(c, users, t, c.name);
    },
    result() {
      const res = { name: c.name, users: users.length, passes: t.passes };
      for (const op of OPS) res[op] = Number(t[op]) / t.calls;
      return res;
    },
  };
}

async function warmup(id, factory) {
  const c = await factory();
  const users = usersFor(`w-${id}`, Math.min(WARMUP_USERS, poolSize(id)));
  if (c.prepare) await c.prepare(users);
  const t = new Totals();
  for (let i = 0; i < 2; i++) await pass(c, users, t, c.name);
  return c.name;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---------------------------------------------------------------------------

const started = Date.now();
const names = new Map();
process.stderr.write(`warmup:`);
for (const [id, factory] of selected) {
  names.set(id, await warmup(id, factory));
  process.stderr.write(` ${id}`);
}
process.stderr.write("\n");

const samples = new Map(selected.map(([id]) => [id, []]));
for (let r = 0; r < RUNS; r++) {
  const k = r % selected.length;
  const order = [...selected.slice(k), ...selected.slice(0, k)];
  process.stderr.write(`run ${r + 1}/${RUNS}:`);
  // Every contender's instance is set up first; then they take turns pass by pass, so
  // that a slower or faster stretch of the machine falls on all of them alike.
  const running = [];
  for (const [id, factory] of order) running.push([id, await prepare(id, factory, `r${r}`)]);
  while (running.some(([, m]) => !m.done)) {
    for (const [, m] of running) if (!m.done) await m.step();
  }
  for (const [id, m] of running) {
    const res = m.result();
    samples.get(id).push(res);
    process.stderr.write(` ${id}(${res.passes}x${res.users})`);
  }
  process.stderr.write("\n");
}
gc();

const results = {};
for (const [id] of selected) {
  const runs = samples.get(id);
  const entry = { name: names.get(id), users: runs[0].users, passes: runs.map((x) => x.passes) };
  for (const op of OPS) {
    const xs = runs.map((x) => x[op]);
    entry[op] = {
      median: median(xs),
      min: Math.min(...xs),
      max: Math.max(...xs),
      samples: xs,
    };
  }
  results[id] = entry;
}
const ratios = {};
for (const [id] of selected) {
  ratios[id] = {};
  for (const op of OPS) ratios[id][op] = results[id][op].median / results[baselineId][op].median;
}

// ---------------------------------------------------------------------------

const cpus = os.cpus();
const machine = {
  cpu: cpus[0]?.model?.trim() ?? "unknown",
  logicalCpus: cpus.length,
  platform: `${os.type()} ${os.release()} ${os.arch()}`,
  node: process.version,
  v8: process.versions.v8,
};
const config = {
  runs: RUNS,
  users: USERS,
  betterAuthMemoryUsers: POOL["better-auth-memory"],
  betterAuthKvUsers: POOL["better-auth-kv"],
  minMsPerOp: Number(MIN_NS / 1_000_000n),
  maxPasses: MAX_PASSES,
  baseline: baselineId,
};

const fmtNs = (x) => Math.round(x).toLocaleString("en-US");
const fmtRatio = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) + "×";
const fmtSpread = (e) => `${(((e.max - e.min) / e.median) * 100).toFixed(0)}%`;
const table = (cell) => {
  const lines = [
    `| contender | ${OPS.map((op) => OP_LABEL[op]).join(" | ")} |`,
    `|---|${OPS.map(() => "---:").join("|")}|`,
  ];
  for (const [id] of selected) lines.push(`| ${results[id].name} | ${OPS.map((op) => cell(id, op)).join(" | ")} |`);
  return lines.join("\n");
};

const out = [];
out.push("## edge-otp benchmark");
out.push("");
out.push(`Machine: ${machine.cpu} (${machine.logicalCpus} logical CPUs), ${machine.platform}, Node ${machine.node} (V8 ${machine.v8})`);
out.push(
  `Config: ${RUNS} runs (median), ${USERS} users per run` +
    (selected.some(([id]) => id.startsWith("better-auth"))
      ? ` (better-auth kv: ${config.betterAuthKvUsers}, better-auth memory: ${config.betterAuthMemoryUsers})`
      : "") +
    `, sequential awaited calls, policy 4 digits / 3 attempts / 1 h TTL, no rate limits.`,
);
for (const n of notes) out.push(`\nNote: ${n}`);
out.push("");
out.push("### ns/op (median, lower is better)");
out.push("");
out.push(table((id, op) => fmtNs(results[id][op].median)));
out.push("");
out.push(`### Ratio: contender time / ${results[baselineId].name} time (>1 = slower than ${results[baselineId].name})`);
out.push("");
out.push(table((id, op) => fmtRatio(ratios[id][op])));
out.push("");
out.push("### Spread across runs: (max − min) / median");
out.push("");
out.push(table((id, op) => fmtSpread(results[id][op])));
if (selected.some(([id]) => id.startsWith("better-auth"))) {
  out.push("");
  out.push(
    "better-auth: verify = `checkVerificationOTP` (checks, does not consume on success), " +
      "latest = `getVerificationOTP`. \"memory\" = memoryAdapter only; its verify cost grows " +
      "linearly with the rows in the in-memory DB (each transaction structuredClones the DB), " +
      "hence the smaller pool. \"kv\" = memoryAdapter + Map secondaryStorage (verification rows in the Map, no user rows; " +
      "per-op cost independent of the pool).",
  );
}
// The boundary issue's bars, as measured in this run: how many times faster edge-otp is
// than each reference (at least the bar), and how many times the no-crypto floor's time
// edge-otp's verify takes (at most the bar). The figure is the ratio of the medians (the
// tables above); each run also gives a ratio of its own (the contenders take their turns
// within a run), and the cell says in how many runs that ratio met the bar.
const has = (id) => selected.some(([x]) => x === id) && results[id];
if (has("edge-otp-memory") && (has("js-node-crypto") || has("js-webcrypto") || has("js-floor"))) {
  const TARGET_OPS = ["create", "verifyRight", "verifyWrong"];
  const EDGE = "edge-otp-memory";
  // [label, times-faster-than reference | times-the-floor, reference id, bars per op]
  const ROWS = [
    ["edge-otp memory, times faster than node:crypto", "js-node-crypto", true, { create: 1, verifyRight: 1.5, verifyWrong: 1.5 }],
    ["edge-otp memory, times faster than WebCrypto", "js-webcrypto", true, { create: 5, verifyRight: 10, verifyWrong: 10 }],
    ["edge-otp memory, times the no-crypto floor's time", "js-floor", false, { verifyRight: 1.3, verifyWrong: 1.3 }],
  ];
  const ratio = (faster, a, b) => (faster ? a / b : b / a); // a: reference's time, b: edge-otp's
  const cell = (ref, faster, bar, op) => {
    const x = ratio(faster, results[ref][op].median, results[EDGE][op].median);
    if (bar === undefined) return fmtRatio(x);
    const meets = (r) => (faster ? r >= bar : r <= bar);
    const perRun = results[EDGE][op].samples.map((e, i) => ratio(faster, results[ref][op].samples[i], e));
    const met = perRun.filter(meets).length;
    return `${fmtRatio(x)} (${faster ? "≥" : "≤"} ${bar}×: ${meets(x) ? "met" : "missed"}; ` +
      `runs ${fmtRatio(Math.min(...perRun))}–${fmtRatio(Math.max(...perRun))}, met in ${met} of ${perRun.length})`;
  };
  out.push("");
  out.push("### The boundary issue's bars");
  out.push("");
  out.push("Ratio of the medians above, with the range of the per-run ratios and in how many runs each met the bar.");
  out.push("");
  out.push(`| | ${TARGET_OPS.map((op) => OP_LABEL[op]).join(" | ")} |`);
  out.push(`|---|${TARGET_OPS.map(() => "---:").join("|")}|`);
  for (const [label, ref, faster, bars] of ROWS) {
    if (has(ref)) out.push(`| ${label} | ${TARGET_OPS.map((op) => cell(ref, faster, bars[op], op)).join(" | ")} |`);
  }
  // What a times-faster bar can ask at most: the floor does the same bookkeeping with no
  // cryptography at all, so no implementation of the contract is expected to beat it.
  if (has("js-floor")) {
    for (const ref of ["js-node-crypto", "js-webcrypto"].filter(has)) {
      out.push(`| for scale: the no-crypto floor, times faster than ${results[ref].name.replace(/^js /, "")} | ` +
        `${TARGET_OPS.map((op) => fmtRatio(results[ref][op].median / results["js-floor"][op].median)).join(" | ")} |`);
    }
  }
}
out.push("");
out.push(`_${((Date.now() - started) / 1000).toFixed(1)} s total_`);
console.log(out.join("\n"));

if (JSON_OUT) {
  const file = new URL("./results.json", import.meta.url);
  writeFileSync(
    file,
    JSON.stringify({ date: new Date().toISOString(), machine, config, notes, results, ratios }, null, 2) + "\n",
  );
  console.error(`wrote ${file.pathname}`);
}
