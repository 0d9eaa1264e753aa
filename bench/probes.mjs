#!/usr/bin/env node
// Small measurements behind the analysis in BENCHMARKS.md (where a cold start or an
// operation's time goes), each one a probe of one thing:
//
//   node bench/probes.mjs dataview       the glue's Result-slot read on Node's WebAssembly.Memory
//   node bench/probes.mjs mapkey         Map.get with a freshly concatenated key vs the caller's string
//   node bench/probes.mjs configure      compile, instantiate, limits(), then configure() three times
//   node bench/probes.mjs import         import "edge-otp" (dist/node.mjs) up to and through its .wasm line
//   node bench/probes.mjs file-import    importing a file module against a data: module
//   node bench/probes.mjs compile        sync against async compile (alone, or while Node loads WebCrypto)
//   node bench/probes.mjs crypto         Node's first globalThis.crypto.getRandomValues (getrandom's source)
//   node bench/probes.mjs                all of them
//
// Each probe but dataview and mapkey runs in PROBE_RUNS (default 5) fresh processes, which
// get this process's Node flags: `node --no-wasm-lazy-compilation bench/probes.mjs configure`.
// Figures are medians with min–max. The configure child marks its steps on stderr, so
// that V8's traces can be split by step:
//   node --trace-wasm-compilation-times bench/probes.mjs --child configure 2>&1 |
//     sed -n '/^probe: configure 1/,/^probe: configure 2/p' | grep -c '^Compiled function'
// Run `bash .ci/build` first (the probes read pkg/).

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
    const bytes = readFileSync(WASM);
    const t0 = performance.now();
    const module = new WebAssembly.Module(bytes);
    const t1 = performance.now();
    glue.initSync({ module });
    const t2 = performance.now();
    console.error("probe: limits"); // (the first write to stderr costs a millisecond: not timed)
    const t3 = performance.now();
    glue.limits();
    const out = { compile: t1 - t0, instantiate: t2 - t1, limits: performance.now() - t3, configure: [] };
    for (let i = 0; i < 3; i++) {
      console.error(`probe: configure ${i + 1}`);
      const t = performance.now();
      glue.configure({ secret: SECRET + i }).engine.free();
      out.configure.push(performance.now() - t);
    }
    // The first and second create's wasm calls, with Node's WebCrypto already loaded (the
    // first salt's cost is the crypto probe's).
    const { engine } = glue.configure({ secret: SECRET });
    globalThis.crypto.getRandomValues(new Uint8Array(16));
    out.issue = [];
    for (let i = 0; i < 2; i++) {
      console.error(`probe: issue ${i + 1}`);
      const t = performance.now();
      const user = `ada${i}@example.com`;
      engine.checkArguments(user, glue.Arguments.Issue, undefined, undefined);
      if (engine.issue(user, undefined, undefined, undefined, false) === undefined) throw engine.takeError();
      engine.takeWrite();
      out.issue.push(performance.now() - t);
    }
    console.error("probe: done");
    engine.free();
    return out;
  },
  async import(dir) {
    const t0 = performance.now();
    await import(pathToFileURL(join(dir, "dist/node.mjs")).href);
    const t1 = performance.now();
    return { before: globalThis.__probeWasm0 - t0, wasm: globalThis.__probeWasm1 - globalThis.__probeWasm0, total: t1 - t0 };
  },
  async crypto() {
    const t0 = performance.now();
    const c = globalThis.crypto;
    const t1 = performance.now();
    c.getRandomValues(new Uint8Array(64));
    const t2 = performance.now();
    c.getRandomValues(new Uint8Array(64));
    return { global: t1 - t0, first: t2 - t1, second: performance.now() - t2 };
  },
  async "file-import"() {
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
    let module;
    if (mode === "sync") module = new WebAssembly.Module(bytes);
    else if (mode === "async") module = await WebAssembly.compile(bytes);
    else {
      // Compile in the background while the main thread loads Node's WebCrypto module,
      // which the first create needs anyway.
      const compiling = WebAssembly.compile(bytes);
      globalThis.crypto.getRandomValues(new Uint8Array(16));
      module = await compiling;
    }
    const t1 = performance.now();
    initSync({ module });
    await new OtpManager(memoryStorage(), { secret: SECRET }).create("ada@example.com");
    return { compile: t1 - t0, total: performance.now() - t0 };
  },
};

// (node:child_process is loaded by the parent only: it brings Node's stream modules,
// which would make the children's first uses of WebCrypto look cheaper.)
const { spawnSync } = process.argv[2] === "--child" ? {} : await import("node:child_process");

function spawnRuns(name, arg) {
  const out = [];
  for (let i = 0; i < RUNS; i++) {
    const args = [...process.execArgv, fileURLToPath(import.meta.url), "--child", name];
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
    const of = (k) => range(runs.map((r) => r[k]));
    const nth = (i) => range(runs.map((r) => r.configure[i]));
    console.log(`configure: compile ${of("compile")} ms, instantiate ${of("instantiate")} ms, limits() ${of("limits")} ms` +
      `${process.execArgv.length ? ` (${process.execArgv.join(" ")})` : ""}`);
    console.log(`configure: configure() 1st ${nth(0)}, 2nd ${nth(1)}, 3rd ${nth(2)} ms (${RUNS} processes)`);
    console.log(`configure: then a create's wasm calls (WebCrypto loaded) 1st ${range(runs.map((r) => r.issue[0]))}, ` +
      `2nd ${range(runs.map((r) => r.issue[1]))} ms`);
  },
  import() {
    // A copy of the package whose dist/node.mjs marks the time around its one line that
    // reads, compiles and instantiates the .wasm.
    const dir = mkdtempSync(join(tmpdir(), "edge-otp-probe-"));
    try {
      cpSync(`${ROOT}pkg`, dir, { recursive: true });
      const entry = join(dir, "dist/node.mjs");
      const src = readFileSync(entry, "utf8");
      const line = src.split("\n").find((l) => l.includes("edge_otp_bg.wasm") && l.includes("readFileSync"));
      if (line === undefined) throw new Error("dist/node.mjs has no line that reads the .wasm");
      writeFileSync(entry, src.replace(line,
        `globalThis.__probeWasm0 = performance.now(); ${line} globalThis.__probeWasm1 = performance.now();`));
      const kb = ((src.length + readFileSync(`${ROOT}pkg/error.js`).length) / 1024).toFixed(1);
      const runs = spawnRuns("import", dir);
      const of = (k) => range(runs.map((r) => r[k]));
      console.log(`import: dist/node.mjs + error.js (${kb} KiB of JS) up to the .wasm line ${of("before")} ms, ` +
        `that line (read, compile, instantiate, limits) ${of("wasm")} ms, whole import ${of("total")} ms (${RUNS} processes)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  "file-import"() {
    const runs = spawnRuns("file-import");
    console.log(`file-import: pkg/error.js ${range(runs.map((r) => r.file))} ms, then a data: module ${range(runs.map((r) => r.data))} ms (${RUNS} processes)`);
  },
  crypto() {
    const runs = spawnRuns("crypto");
    const of = (k) => range(runs.map((r) => r[k]));
    console.log(`crypto: first globalThis.crypto ${of("global")} ms, first getRandomValues ${of("first")} ms, second ${of("second")} ms (${RUNS} processes)`);
  },
  compile() {
    for (const mode of ["sync", "async", "async-while-webcrypto-loads"]) {
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
