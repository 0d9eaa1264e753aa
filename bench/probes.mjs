#!/usr/bin/env node
// Small measurements behind the analysis in BENCHMARKS.md (where a cold start or an
// operation's time goes), each one a probe of one thing:
//
//   node bench/probes.mjs dataview       the glue's Result-slot read on Node's WebAssembly.Memory
//   node bench/probes.mjs mapkey         Map.get with a freshly concatenated key vs the caller's string
//   node bench/probes.mjs configure      the first configure() against later ones, in fresh processes
//   node bench/probes.mjs first-import   Node's first file import against a data: module, in fresh processes
//   node bench/probes.mjs compile        sync against async compile of the .wasm, in fresh processes
//   node bench/probes.mjs                all of them
//
// PROBE_RUNS (default 5) fresh processes per spawning probe; figures are medians with
// min–max. Run `bash .ci/build` first (the probes read pkg/).

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WASM = `${ROOT}pkg/wasm/edge_otp_bg.wasm`;
const GLUE = pathToFileURL(`${ROOT}pkg/wasm/edge_otp.js`).href;
const SLIM = pathToFileURL(`${ROOT}pkg/slim.js`).href;
const ERROR = pathToFileURL(`${ROOT}pkg/error.js`).href;
const RUNS = Number(process.env.PROBE_RUNS ?? 5);
const SECRET = "probe-secret-0123456789abcdef";

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const range = (xs) => `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
const perOp = (n, f) => {
  const t0 = performance.now();
  f(n);
  return ((performance.now() - t0) * 1e6) / n;
};

// Child side of the spawning probes: one measurement, one JSON line.
const CHILD = {
  async configure() {
    const glue = await import(GLUE);
    glue.initSync({ module: new WebAssembly.Module(readFileSync(WASM)) });
    const t = performance.now();
    glue.limits();
    const out = { limits: performance.now() - t, configure: [] };
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      glue.configure({ secret: SECRET + i }).engine.free();
      out.configure.push(performance.now() - t0);
    }
    return out;
  },
  async "first-import"() {
    const t0 = performance.now();
    await import(ERROR);
    const t1 = performance.now();
    await import("data:text/javascript,export default 1");
    return { file: t1 - t0, data: performance.now() - t1 };
  },
  async compile(mode) {
    const { initSync, OtpManager, memoryStorage } = await import(SLIM);
    const bytes = readFileSync(WASM);
    const t0 = performance.now();
    const module = mode === "async" ? await WebAssembly.compile(bytes) : new WebAssembly.Module(bytes);
    const t1 = performance.now();
    initSync({ module });
    await new OtpManager(memoryStorage(), { secret: SECRET }).create("ada@example.com");
    return { compile: t1 - t0, total: performance.now() - t0 };
  },
};

function spawnRuns(name, arg) {
  const out = [];
  for (let i = 0; i < RUNS; i++) {
    const args = [fileURLToPath(import.meta.url), "--child", name];
    if (arg !== undefined) args.push(arg);
    const r = spawnSync(process.execPath, args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`probe ${name} failed: ${r.stderr}`);
    out.push(JSON.parse(r.stdout.trim().split("\n").pop()));
  }
  return out;
}

const PROBES = {
  dataview() {
    // wasm-bindgen 0.2.130's reader of a Result's slots, as the glue has it: on a runtime
    // without ArrayBuffer.prototype.detached (Node 20) every call asks the memory for its
    // buffer.
    const wasm = { memory: new WebAssembly.Memory({ initial: 17 }) };
    let cached = null;
    const getDataViewMemory0 = () => {
      if (cached === null || cached.buffer.detached === true ||
          (cached.buffer.detached === undefined && cached.buffer !== wasm.memory.buffer)) {
        cached = new DataView(wasm.memory.buffer);
      }
      return cached;
    };
    const held = new DataView(wasm.memory.buffer);
    let sink = 0;
    const N = 2e6;
    const glue = [], plain = [];
    for (let k = 0; k < 5; k++) {
      glue.push(perOp(N, (n) => { for (let i = 0; i < n; i++) sink += getDataViewMemory0().getInt32(1024 + (i & 7) * 4, true); }));
      plain.push(perOp(N, (n) => { for (let i = 0; i < n; i++) sink += held.getInt32(1024 + (i & 7) * 4, true); }));
    }
    console.log(`dataview: ArrayBuffer.prototype.detached ${"detached" in ArrayBuffer.prototype ? "exists" : "missing"} (Node ${process.version})`);
    console.log(`dataview: glue slot read ${range(glue)} ns, held DataView read ${range(plain)} ns (5 loops of ${N}; ${sink & 1})`);
  },
  mapkey() {
    const prefix = "otp:default:";
    const users = Array.from({ length: 2000 }, (_, i) => `u${i}@bench.test`);
    const byKey = new Map(users.map((u) => [prefix + u, "record"]));
    const byUser = new Map(users.map((u) => [u, "record"]));
    let sink = 0;
    const fresh = [], own = [];
    for (let k = 0; k < 5; k++) {
      fresh.push(perOp(600_000, (n) => { for (let i = 0; i < n; i++) sink += byKey.get(prefix + users[i % 2000]).length; }));
      own.push(perOp(600_000, (n) => { for (let i = 0; i < n; i++) sink += byUser.get(users[i % 2000]).length; }));
    }
    console.log(`mapkey: Map.get(prefix + user) ${range(fresh)} ns, Map.get(user) ${range(own)} ns (2,000 keys; ${sink & 1})`);
  },
  configure() {
    const runs = spawnRuns("configure");
    const nth = (i) => range(runs.map((r) => r.configure[i]));
    console.log(`configure: limits() ${range(runs.map((r) => r.limits))} ms; configure() 1st ${nth(0)}, 2nd ${nth(1)}, 3rd ${nth(2)} ms (${RUNS} processes)`);
  },
  "first-import"() {
    const runs = spawnRuns("first-import");
    console.log(`first-import: pkg/error.js ${range(runs.map((r) => r.file))} ms, then a data: module ${range(runs.map((r) => r.data))} ms (${RUNS} processes)`);
  },
  compile() {
    for (const mode of ["sync", "async"]) {
      const runs = spawnRuns("compile", mode);
      console.log(`compile: ${mode} ${range(runs.map((r) => r.compile))} ms, compile → first create ${range(runs.map((r) => r.total))} ms (${RUNS} processes)`);
    }
  },
};

const [flag, name, arg] = process.argv.slice(2);
if (flag === "--child") {
  process.stdout.write(JSON.stringify(await CHILD[name](arg)) + "\n");
} else {
  const chosen = flag === undefined ? Object.keys(PROBES) : [flag];
  for (const p of chosen) {
    if (!(p in PROBES)) {
      console.error(`unknown probe ${p}; one of ${Object.keys(PROBES).join(", ")}`);
      process.exit(2);
    }
    PROBES[p]();
  }
}
