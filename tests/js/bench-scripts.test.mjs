// The benchmark scripts that BENCHMARKS.md quotes still run on the built package and still
// print the boundary issue's bars (tiny settings: this checks that they work, not speed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const node = (script, env) =>
  run(process.execPath, [script], { cwd: root, env: { ...process.env, ...env }, timeout: 120_000 });

test("bench/run.mjs prints every bar with its per-run verdicts", async () => {
  const { stdout } = await node("bench/run.mjs", {
    BENCH_ONLY: "edge-otp-memory,js-node-crypto,js-webcrypto,js-floor",
    BENCH_RUNS: "2",
    BENCH_USERS: "50",
    BENCH_MIN_MS: "0",
    BENCH_MAX_PASSES: "1",
  });
  const bars = stdout.slice(stdout.indexOf("### The boundary issue's bars"));
  assert.ok(bars.length < stdout.length, "no bars section");
  for (const row of ["faster than node:crypto", "faster than WebCrypto", "the no-crypto floor's time"]) {
    const line = bars.split("\n").find((l) => l.includes(row));
    assert.ok(line, `no row for ${row}`);
    assert.match(line, /: (met|missed); runs [\d.]+×–[\d.]+×, met in [0-2] of 2\)/);
  }
  assert.match(bars, /for scale: the no-crypto floor, times faster than WebCrypto \| [\d.]+×/);
});

test("bench/coldstart.mjs times edge-otp and its peers in fresh processes", async () => {
  const { stdout } = await node("bench/coldstart.mjs", { COLDSTART_RUNS: "1" });
  assert.match(stdout, /first line → create done .*\| ≤ 12 \(goal 8\): (within goal|within budget|over budget) \|/);
  // ... and as a user's app imports it: "edge-otp" from node_modules, beside a trivial package
  assert.match(stdout, /`import "edge-otp"` from an app's node_modules .*first line → create done \| [\d.]+ \| [\d.]+–[\d.]+ \| ≤ 12/);
  assert.match(stdout, /importing an installed package of one empty module, in the same project\) \| [\d.]+ \|/);
  for (const peer of ["js node:crypto reference", "js WebCrypto reference"]) {
    const line = stdout.split("\n").find((l) => l.startsWith(`| ${peer}`));
    assert.ok(line, `no row for ${peer}`);
    assert.match(line, /\| -?[\d.]+ \| [\d.]+× \|$/);
  }
});

test("bench/coldstart-workerd.mjs runs its four Workers in workerd (Miniflare)", async () => {
  const { stdout } = await node("bench/coldstart-workerd.mjs", { COLDSTART_RUNS: "1" });
  // Every column timed: the unbundled Workers load every module they import (a fixed module
  // list once went stale and workerd refused to start).
  const line = stdout.split("\n").find((l) => l.startsWith("| first dispatchFetch"));
  assert.ok(line, "no first-fetch row");
  assert.match(line, /^\| first dispatchFetch [^|]*(\| [\d.]+ \([\d.]+–[\d.]+\) ){4}\| /);
});

test("bench/coldstart.mjs runs its children with its own Node flags", async () => {
  const { stdout } = await run(process.execPath, ["--no-wasm-lazy-compilation", "bench/coldstart.mjs"], {
    cwd: root, env: { ...process.env, COLDSTART_RUNS: "1" }, timeout: 120_000,
  });
  assert.match(stdout, /^## Cold start in Node v[\d.]+ \(Node flags: --no-wasm-lazy-compilation\) — /m);
});

test("bench/lazy-compile.mjs names what each cold-start step compiles", async () => {
  const { stdout } = await node("bench/lazy-compile.mjs");
  for (const step of ["configure", "create", "verify"]) {
    const line = stdout.split("\n").find((l) => l.startsWith(`| first ${step} |`));
    assert.ok(line, `no row for ${step}`);
    const [, bytes, count] = line.match(/^\| first \w+ \| ([\d,]+) \| (\d+) \| `/) ?? [];
    assert.ok(Number(bytes.replace(/,/g, "")) > 1000 && Number(count) > 0, line);
  }
  assert.match(stdout, /`edge_otp::wasm::options::read` [\d,]+/, "functions are named");
});

test("bench/probes.mjs prints each probe's figures", async () => {
  const { stdout } = await node("bench/probes.mjs", { PROBE_RUNS: "1" });
  for (const line of [
    /^dataview: glue slot read [\d.]+ \([\d.]+–[\d.]+\) ns, held DataView read [\d.]+/m,
    /^mapkey: Map\.get\(prefix \+ user\) [\d.]+ .* ns, Map\.get\(user\) [\d.]+/m,
    /^configure: compile [\d.]+ .* ms, instantiate [\d.]+ .* ms, limits\(\) [\d.]+/m,
    /^configure: configure\(\) 1st [\d.]+ .*, 2nd [\d.]+ .*, 3rd [\d.]+/m,
    /^configure: then a create's wasm calls \(WebCrypto loaded\) 1st [\d.]+ .*, 2nd [\d.]+/m,
    /^import: dist\/node\.mjs \+ error\.js \([\d.]+ KiB of JS\) up to the \.wasm line [\d.]+ .* ms, that line .* [\d.]+ .* ms, whole import [\d.]+/m,
    /^file-import: pkg\/error\.js [\d.]+ .* ms, then a data: module [\d.]+/m,
    /^crypto: first globalThis\.crypto [\d.]+ .* ms, first getRandomValues [\d.]+ .* ms, second [\d.]+/m,
    /^compile: sync [\d.]+ .* ms, compile → first create [\d.]+/m,
    /^compile: async [\d.]+ .* ms, compile → first create [\d.]+/m,
    /^compile: async-while-webcrypto-loads [\d.]+ .* ms, compile → first create [\d.]+/m,
  ]) assert.match(stdout, line);
});
