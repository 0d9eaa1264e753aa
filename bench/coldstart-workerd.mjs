#!/usr/bin/env node
// edge-otp cold start inside workerd (Miniflare 4), timed from the Node side (workerd
// freezes Date.now()/performance.now() during a request as a Spectre mitigation).
//
//   node bench/coldstart-workerd.mjs          # Markdown table on stdout
//   node bench/coldstart-workerd.mjs --json   # also writes the "workerd" section of bench/coldstart.json
//   COLDSTART_RUNS=9 node bench/coldstart-workerd.mjs
//
// The Worker is bench/fixtures/coldstart-worker.mjs: it imports pkg/workerd.js and its
// fetch handler does one create on memoryStorage(). Miniflare gets the modules
// explicitly, unbundled, with modulesRoot = the repository root: every module the fixture
// reaches through relative imports (modulesOf below), as
//   ESModule     bench/fixtures/coldstart-worker.mjs, pkg/workerd.js, pkg/slim.js, pkg/error.js, …
//   CompiledWasm pkg/wasm/edge_otp_bg.wasm   (the Worker receives a WebAssembly.Module, as on Cloudflare)
// The same Worker bundled as a Worker build does it (esbuild --bundle --format=esm --minify
// --conditions=workerd --loader:.wasm=copy: one ESModule + one CompiledWasm) runs as "edge-otp bundled".
// A baseline Worker of the same shape without edge-otp (bench/fixtures/coldstart-worker-baseline.mjs)
// and a Worker that imports edge-otp without using it (bench/fixtures/coldstart-worker-import.mjs)
// run in turn, so workerd/Miniflare start-up, module loading and the first create can be told apart.
// Per fresh Miniflare instance: new Miniflare(...) → await mf.ready; first dispatchFetch
// (first create: includes the isolate's first request, and any lazy wasm compilation);
// second dispatchFetch (warm). Median of COLDSTART_RUNS (5) instances; each is disposed.

import { readFileSync, writeFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { loadavg, cpus, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RUNS = Number(process.env.COLDSTART_RUNS ?? 5);
const JSON_OUT = process.argv.includes("--json");
const { Miniflare } = await import(join(ROOT, "node_modules/miniflare/dist/src/index.js"));

// the bundled variant
const BUNDLE_DIR = mkdtempSync(join(tmpdir(), "edge-otp-coldstart-"));
process.once("exit", () => rmSync(BUNDLE_DIR, { recursive: true, force: true }));
{
  const r = spawnSync(join(ROOT, "node_modules/.bin/esbuild"), [
    join(ROOT, "bench/fixtures/coldstart-worker.mjs"), "--bundle", "--format=esm", "--minify",
    "--conditions=workerd", "--loader:.wasm=copy", `--outdir=${BUNDLE_DIR}`, "--log-level=warning",
  ], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`esbuild failed: ${r.stderr || r.error}`);
}
const bundled = readdirSync(BUNDLE_DIR);

// The modules `entry` (relative to ROOT) reaches through relative `import`s, itself first:
// [type, path relative to ROOT]. (A fixed list went stale when pkg/slim.js gained modules.)
function modulesOf(entry) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    if (file.endsWith(".wasm")) return;
    const source = readFileSync(join(ROOT, file), "utf8");
    for (const [, spec] of source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;"']*?["'](\.{1,2}\/[^"']+)["']/g)) {
      visit(relative(ROOT, join(ROOT, dirname(file), spec)));
    }
  };
  visit(entry);
  return [...seen].map((file) => [file.endsWith(".wasm") ? "CompiledWasm" : "ESModule", file]);
}

const WORKERS = {
  "edge-otp": {
    root: ROOT,
    modules: modulesOf("bench/fixtures/coldstart-worker.mjs"),
  },
  "edge-otp bundled": {
    root: BUNDLE_DIR,
    modules: [
      ["ESModule", bundled.find((f) => f.endsWith(".js"))],
      ["CompiledWasm", bundled.find((f) => f.endsWith(".wasm"))],
    ],
  },
  "import only": {
    root: ROOT,
    modules: modulesOf("bench/fixtures/coldstart-worker-import.mjs"),
  },
  baseline: {
    root: ROOT,
    modules: [["ESModule", "bench/fixtures/coldstart-worker-baseline.mjs"]],
  },
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const f = (x) => x.toFixed(1);
// (median is used by once() too)
const la = (l) => l.map((x) => x.toFixed(2)).join(" ");
const now = () => performance.now();

async function once(name) {
  const w = WORKERS[name];
  const t0 = now();
  const mf = new Miniflare({
    modulesRoot: w.root,
    modules: w.modules.map(([type, path]) => ({ type, path: join(w.root, path) })),
    compatibilityDate: "2025-06-01",
  });
  try {
    await mf.ready;
    const tReady = now();
    const r1 = await mf.dispatchFetch("http://localhost/");
    const b1 = await r1.json();
    const tFirst = now();
    const r2 = await mf.dispatchFetch("http://localhost/");
    const b2 = await r2.json();
    const tSecond = now();
    const later = [];
    for (let i = 0; i < 8; i++) {
      const t = now();
      await (await mf.dispatchFetch("http://localhost/")).arrayBuffer();
      later.push(now() - t);
    }
    if (name.startsWith("edge-otp") && !(b1.issued && b2.issued && b2.requests === 2)) {
      throw new Error(`unexpected answers ${JSON.stringify([b1, b2])}`);
    }
    return { readyMs: tReady - t0, firstFetchMs: tFirst - tReady, secondFetchMs: tSecond - tFirst,
      laterFetchMs: median(later) };
  } finally {
    await mf.dispose(); // not part of the figures
  }
}

const load0 = loadavg();
await once("edge-otp"); // warm-up: workerd binary in the page cache; not counted
const NAMES = Object.keys(WORKERS);
const samples = Object.fromEntries(NAMES.map((n) => [n, []]));
for (let i = 0; i < RUNS; i++) {
  // rotate the order run by run
  for (let j = 0; j < NAMES.length; j++) {
    const name = NAMES[(i + j) % NAMES.length];
    samples[name].push(await once(name));
  }
}
const load1 = loadavg();

const med = (name, k) => median(samples[name].map((s) => s[k]));
const range = (name, k) => {
  const xs = samples[name].map((s) => s[k]).sort((a, b) => a - b);
  return `${f(xs[0])}–${f(xs[xs.length - 1])}`;
};
const result = {
  runs: RUNS,
  miniflare: JSON.parse(readFileSync(join(ROOT, "node_modules/miniflare/package.json"), "utf8")).version,
  loadavgStart: load0,
  loadavgEnd: load1,
  median: Object.fromEntries(Object.keys(samples).map((n) => [n, {
    readyMs: med(n, "readyMs"), firstFetchMs: med(n, "firstFetchMs"), secondFetchMs: med(n, "secondFetchMs"),
    laterFetchMs: med(n, "laterFetchMs"),
  }])),
  samples,
};

console.log(`## Cold start in workerd (Miniflare ${result.miniflare}) — median of ${RUNS} fresh instances, ` +
  `${cpus().length} CPUs, load average ${la(load0)} at start, ${la(load1)} at end\n`);
console.log("| figure (timed from Node), median ms (min–max) | edge-otp, modules | edge-otp, bundled | import only (modules) | baseline | edge-otp − baseline (modules / bundled / import only) |");
console.log("|---|--:|--:|--:|--:|--:|");
for (const [k, label] of [
  ["readyMs", "new Miniflare(...) → await mf.ready (workerd start, modules loaded)"],
  ["firstFetchMs", "first dispatchFetch (first create: first request of the isolate)"],
  ["secondFetchMs", "second dispatchFetch (second create)"],
  ["laterFetchMs", "dispatchFetch 3–10, median (warm create)"],
]) {
  const b = med("baseline", k);
  const d = (x) => (x - b >= 0 ? "+" : "") + f(x - b);
  const cell = (n) => `${f(med(n, k))} (${range(n, k)})`;
  console.log(`| ${label} | ${cell("edge-otp")} | ${cell("edge-otp bundled")} | ${cell("import only")} | ${cell("baseline")} | ` +
    `${d(med("edge-otp", k))} / ${d(med("edge-otp bundled", k))} / ${d(med("import only", k))} |`);
}
console.log("\nThe .wasm goes in as a CompiledWasm module: workerd compiles it while loading the Worker (inside " +
  "`mf.ready`); the Worker's top level instantiates it (pkg/workerd.js calls initSync). " +
  "dispatchFetch includes Miniflare's Node→workerd HTTP hop, which the baseline column shows.");

if (JSON_OUT) {
  const path = fileURLToPath(new URL("./coldstart.json", import.meta.url));
  const prev = existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : {};
  prev.workerd = { date: new Date().toISOString(), ...result };
  writeFileSync(path, JSON.stringify(prev, null, 2) + "\n");
  console.log(`\nwrote ${path} (workerd section)`);
}
