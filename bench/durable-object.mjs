#!/usr/bin/env node
// edge-otp on Cloudflare Workers, three exact-or-not modes in one workerd (Miniflare 4),
// one run: per-operation latency, workerd CPU and round trips for
//   kv       new OtpManager(env.KV, ...)                       Workers KV (not exact)
//   stub     new OtpManager(<one RPC per storage call>, ...)   Worker-side Durable Object
//            storage: get and compareAndSwap are RPCs to the key's object (exact)
//   durable  durableOtp(env.OTP, ...)                          the engine inside the object
// The Worker is bench/fixtures/durable-object-bench-worker.js, bundled from pkg/ as a
// Worker build does (tests/js/miniflare.mjs buildWorker). Each request runs N sequential
// operations of one kind for N users (a warm-up round first, so objects exist); latency is
// the request's wall time from Node / N, CPU the workerd process's CPU time
// (/proc/<pid>/task/*/schedstat) over the request / N. Median of ROUNDS rounds.
//
//   node bench/durable-object.mjs                 # Markdown table on stdout
//   BENCH_N=200 BENCH_ROUNDS=5 node bench/durable-object.mjs
import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { buildWorker, serveBuild, packageBuilt, ROOT, TEST_SECRET } from "../tests/js/miniflare.mjs";

if (!packageBuilt()) throw new Error("package not built: run `bash .ci/build` first");
const N = Number(process.env.BENCH_N ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MODES = ["kv", "stub", "durable"];
const PHASES = ["create", "getLatestOtp", "check", "verify"];

function workerdPids() {
  const pids = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && comm.includes("workerd")) pids.push(p);
    } catch {}
  }
  return pids;
}
function cpuNs(pids) {
  let total = 0;
  for (const p of pids) {
    for (const t of readdirSync(`/proc/${p}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${p}/task/${t}/schedstat`, "utf8").split(" ")[0]);
      } catch {}
    }
  }
  return total;
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const build = await buildWorker({ entry: path.join(ROOT, "bench/fixtures/durable-object-bench-worker.js") });
const server = await serveBuild(build, {
  name: "edge-otp-bench-do",
  bindings: { OTP_SECRET: TEST_SECRET, OTP_RESEND_COOLDOWN_SECONDS: "0", OTP_ISSUE_LIMIT: "off", OTP_FAILURE_LIMIT: "off" },
  kvNamespaces: ["KV"],
  durableObjects: {
    OTP: { className: "OtpDO", useSQLite: true },
    STORAGE: { className: "StorageDO", useSQLite: true },
  },
});
const pids = workerdPids();
if (pids.length === 0) throw new Error("workerd process not found");

async function phase(mode, name, run) {
  const c0 = cpuNs(pids);
  const t0 = performance.now();
  const res = await server.mf.dispatchFetch("http://bench/phase", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ mode, phase: name, run, n: N }),
  });
  if (!res.ok) throw new Error(`${mode} ${name}: ${res.status} ${await res.text()}`);
  const body = await res.json();
  const ms = performance.now() - t0;
  return { us: (ms * 1000) / N, cpuUs: (cpuNs(pids) - c0) / 1000 / N, ...body };
}

const samples = {}; // mode → phase → [{us, cpuUs, roundTrips, answers}]
try {
  for (let r = 0; r <= ROUNDS; r++) {
    for (const mode of MODES) {
      for (const name of PHASES) {
        const s = await phase(mode, name, "warm");
        if (r === 0) continue; // warm-up: objects created, isolate warm
        ((samples[mode] ??= {})[name] ??= []).push(s);
      }
    }
  }
} finally {
  await server.dispose();
}

const label = { kv: "KV (`new OtpManager(env.KV)`)", stub: "Worker-side DO storage (RPC per get / compareAndSwap)", durable: "`durableOtp` (engine in the object)" };
const rows = [];
const out = {};
for (const mode of MODES) {
  for (const name of PHASES) {
    const s = samples[mode][name];
    const row = {
      us: median(s.map((x) => x.us)),
      cpuUs: median(s.map((x) => x.cpuUs)),
      roundTrips: median(s.map((x) => x.roundTrips)),
      answers: s[0].answers,
    };
    (out[mode] ??= {})[name] = row;
    rows.push(`| ${label[mode]} | ${name} | ${row.us.toFixed(0)} | ${row.cpuUs.toFixed(0)} | ${row.roundTrips} |`);
  }
}
console.log(`workerd (Miniflare ${JSON.parse(readFileSync(path.join(ROOT, "node_modules/miniflare/package.json"), "utf8")).version}), N=${N} sequential operations per request, median of ${ROUNDS} rounds; ${cpus().length} cores, load ${loadavg()[0].toFixed(2)}\n`);
console.log("| mode | operation | latency µs/op | workerd CPU µs/op | round trips/op |");
console.log("|---|---|---:|---:|---:|");
for (const r of rows) console.log(r);
console.log("\n" + JSON.stringify(out));
