#!/usr/bin/env node
// edge-otp performance budgets. Exits 1 when any budget is exceeded.
//
//   node bench/budgets.mjs          # one "budget ..." line per budget, then Markdown tables
//   node bench/budgets.mjs --json   # also writes bench/budgets.json
//   BUDGET_OPS=100000 node bench/budgets.mjs   # shorter wasm-memory run (default 1,000,000)
//
// Budgets:
//   shipped-size    esbuild bundle of pkg/workerd.js as a Worker build does it (minified ESM,
//                   conditions=workerd, .wasm copied), gzip -9 of the JS + gzip -9 of the .wasm
//                   <= 40 KiB (goal 32 KiB), the boundary issue's budget. Only edge-otp:
//                   pkg/workerd.js imports no TOTP.
//   totp-shipped-size  the same for edge-otp/totp's own bundle (pkg/totp-workerd.js and the
//                   TOTP .wasm) <= 64 KiB.
//   storage-calls   reads/writes per operation and outcome, on a counting wrapper around
//                   memoryStorage() (compare-and-swap), the same store without compareAndSwap,
//                   and a Promise-returning store without compareAndSwap (KV-like).
//   record-size     longest stored value written in a realistic run with long (year-9999)
//                   timestamps, and in a run at the policy ceilings: <= 160 bytes.
//   wasm-memory     1,000,000 mixed operations (with hostile inputs) leave wasm linear memory
//                   where it was after the first 1,000; oversized users/codes/records never
//                   cross into wasm.
//   budgets-time    the whole script stays under 60 s.
//
// Needs the built package (bash .ci/build): pkg/wasm/edge_otp_bg.wasm, pkg/slim.js.

import { readFileSync, writeFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import { tmpdir, loadavg, cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
// The glue is an ESM singleton shared with pkg/slim.js: initialising it here first gives us
// the wasm exports (and so `memory`); slim's initSync then finds it initialised.
import { initSync as glueInitSync } from "../pkg/wasm/edge_otp.js";
import { initSync, OtpManager, OtpError, memoryStorage } from "../pkg/slim.js";

const T_START = performance.now();
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WASM_PATH = join(ROOT, "pkg/wasm/edge_otp_bg.wasm");
const ESBUILD = join(ROOT, "node_modules/.bin/esbuild");
const JSON_OUT = process.argv.includes("--json");
const OPS = Number(process.env.BUDGET_OPS ?? 1_000_000);
const SECRET = "budgets-secret-0123456789abcdef";

const wasmBytes = readFileSync(WASM_PATH);
const wasm = glueInitSync({ module: wasmBytes });
initSync({ module: wasmBytes });
if (!(wasm && wasm.memory instanceof WebAssembly.Memory)) {
  console.error("could not reach the wasm exports through the glue's initSync");
  process.exit(2);
}
const memBytes = () => wasm.memory.buffer.byteLength;

const budgets = []; // { name, figure, unit, limit, goal?, ok, detail? }
const tables = [];   // markdown sections
function budget(name, figure, unit, limit, { goal, ok = figure <= limit, extra = "" } = {}) {
  const goalText = goal === undefined ? "" : `, goal ${goal}`;
  const status = !ok ? "FAIL" : goal !== undefined && figure > goal ? "ok (above goal)" : "ok";
  console.log(`budget ${name}: ${figure} ${unit} (limit ${limit}${goalText})${extra ? ` ${extra}` : ""} ${status}`);
  budgets.push({ name, figure, unit, limit, goal, ok, status, extra: extra || undefined });
}
const fmt = (n) => n.toLocaleString("en-US");

// ---------------------------------------------------------------------------
// 1. Shipped size: a Worker build of an entry (esbuild, minified ESM, conditions=workerd,
// .wasm copied), gzip -9 of the JS and of the .wasm.
const SIZE_LIMIT = 40960;
const SIZE_GOAL = 32768;
const gz = (b) => gzipSync(b, { level: 9 }).length;

function workerBundle(entry) {
  const out = mkdtempSync(join(tmpdir(), "edge-otp-size-"));
  try {
    const r = spawnSync(ESBUILD, [
      join(ROOT, entry), "--bundle", "--format=esm", "--minify", "--conditions=workerd",
      "--loader:.wasm=copy", `--outdir=${out}`, "--log-level=warning",
    ], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`esbuild failed: ${r.stderr || r.error}`);
    const files = readdirSync(out);
    const js = files.filter((f) => f.endsWith(".js"));
    const wasmOut = files.filter((f) => f.endsWith(".wasm"));
    if (js.length !== 1 || wasmOut.length !== 1) throw new Error(`unexpected esbuild output: ${files}`);
    const jsBytes = readFileSync(join(out, js[0]));
    const wBytes = readFileSync(join(out, wasmOut[0]));
    const parts = {
      js: { raw: jsBytes.length, gzip: gz(jsBytes) },
      wasm: { raw: wBytes.length, gzip: gz(wBytes) },
    };
    return { parts, total: parts.js.gzip + parts.wasm.gzip, jsText: jsBytes.toString("utf8") };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function sizeTable(title, { parts, total }, limitText) {
  return [
    title,
    "",
    "| part | raw B | gzip -9 B |",
    "|---|--:|--:|",
    `| minified JS bundle | ${fmt(parts.js.raw)} | ${fmt(parts.js.gzip)} |`,
    `| .wasm | ${fmt(parts.wasm.raw)} | ${fmt(parts.wasm.gzip)} |`,
    `| **total** | ${fmt(parts.js.raw + parts.wasm.raw)} | **${fmt(total)}** (${limitText}) |`,
  ].join("\n");
}

const sizeExtra = ({ parts }) =>
  `[js ${parts.js.gzip} B gzip (${parts.js.raw} B min), wasm ${parts.wasm.gzip} B gzip (${parts.wasm.raw} B)]`;

function shippedSize() {
  const b = workerBundle("pkg/workerd.js");
  budget("shipped-size", b.total, "B gzip", SIZE_LIMIT, { goal: SIZE_GOAL, extra: sizeExtra(b) });
  tables.push(sizeTable(
    "### Shipped size (esbuild `--bundle --format=esm --minify --conditions=workerd --loader:.wasm=copy` of pkg/workerd.js)",
    b, `limit ${fmt(SIZE_LIMIT)}, goal ${fmt(SIZE_GOAL)}`,
  ));
  return { ...b.parts, totalGzip: b.total, limit: SIZE_LIMIT, goal: SIZE_GOAL };
}

// 1b. Shipped size of edge-otp/totp: its own Worker bundle (pkg/totp-workerd.js and the TOTP
// .wasm, which holds no one-time-code engine), measured as shipped-size measures edge-otp.
// shipped-size above still bundles only pkg/workerd.js (edge-otp), which imports no TOTP.
const TOTP_SIZE_LIMIT = 65536;
function totpShippedSize() {
  const b = workerBundle("pkg/totp-workerd.js");
  // The TOTP bundle must not carry the one-time-code glue (OtpManager's configure).
  if (/\bOtpManager\b/.test(b.jsText)) throw new Error("the edge-otp/totp bundle contains OtpManager");
  budget("totp-shipped-size", b.total, "B gzip", TOTP_SIZE_LIMIT, { extra: sizeExtra(b) });
  tables.push(sizeTable(
    "### Shipped size of edge-otp/totp (the same esbuild command on pkg/totp-workerd.js)",
    b, `limit ${fmt(TOTP_SIZE_LIMIT)}`,
  ));
  return { ...b.parts, totalGzip: b.total, limit: TOTP_SIZE_LIMIT };
}

// ---------------------------------------------------------------------------
// 2. Storage calls per operation
function countingStore(kind) {
  const base = memoryStorage();
  const c = { reads: 0, writes: 0 };
  const store = {
    get(k) { c.reads++; return kind === "async" ? Promise.resolve(base.get(k)) : base.get(k); },
    put(k, v, o) { c.writes++; base.put(k, v, o); return kind === "async" ? Promise.resolve() : undefined; },
  };
  if (kind === "cas") {
    store.compareAndSwap = (k, e, v, o) => { c.writes++; return base.compareAndSwap(k, e, v, o); };
  }
  return { store, c };
}

async function storageCalls() {
  const KINDS = ["cas", "put", "async"];
  const KIND_LABEL = { cas: "memoryStorage (CAS)", put: "no compareAndSwap", async: "async, no CAS" };
  // [label, expected reads, max writes (null = informational), min writes]
  const rows = new Map();
  const failures = [];
  for (const kind of KINDS) {
    const { store, c } = countingStore(kind);
    let now = 1_700_000_000_000;
    const clock = () => now;
    const base = { secret: SECRET, now: clock, maxAttempts: 3, ttlSeconds: 600 };
    // limits that let each outcome be reached on purpose
    const m = new OtpManager(store, { ...base, resendCooldownSeconds: 0, issueLimit: null,
      failureLimit: { count: 4, windowSeconds: 3600 } });
    const limited = new OtpManager(store, { ...base, scope: "limited", resendCooldownSeconds: 30 });
    const wrong = (code) => (code[0] === "0" ? "1" : "0") + code.slice(1);

    async function measure(label, expect, fn, { reads = 1, maxWrites, minWrites = 0 }) {
      const r0 = c.reads, w0 = c.writes;
      let got;
      try { got = await fn(); } catch (e) { got = e instanceof OtpError ? `OtpError ${e.code}` : String(e); }
      const outcome = typeof got === "object" && got !== null && "reason" in got ? got.reason :
        typeof got === "object" && got !== null && "status" in got ? `status ${got.status}` :
        typeof got === "object" && got !== null && "code" in got ? "issued" : String(got);
      const dr = c.reads - r0, dw = c.writes - w0;
      const ok = (expect === undefined || outcome === expect) && dr === reads &&
        (maxWrites === undefined || (dw <= maxWrites && dw >= minWrites));
      if (!ok) failures.push(`${label} [${kind}]: outcome ${outcome} (want ${expect}), ${dr} reads, ${dw} writes`);
      if (!rows.has(label)) rows.set(label, { label, expect, reads, maxWrites, minWrites, by: {} });
      rows.get(label).by[kind] = { reads: dr, writes: dw, outcome, ok };
      return got;
    }

    const I = () => ({ reads: 1, maxWrites: 1, minWrites: 1 });
    const Z = { reads: 1, maxWrites: 0 };
    const INFO = { reads: 1 };

    let a = await measure("create (new user)", "issued", () => m.create("u-new"), I());
    await measure("create (re-issue over an active code)", "issued", () => m.create("u-new"), I());
    await measure("getLatestOtp (active)", "status active", () => m.getLatestOtp("u-new"), Z);
    await measure("getLatestOtp (no record)", "null", () => m.getLatestOtp("u-nobody"), Z);
    await measure("generate (active code exists)", "OtpError ACTIVE_OTP_EXISTS", () => m.generate("u-new"), Z);
    await measure("generate (no record)", "issued", () => m.generate("u-gen"), I());
    a = await m.create("u-v");
    await measure("verify → invalid", "invalid", () => m.check("u-v", wrong(a.code)), I());
    await measure("verify → verified", "verified", () => m.check("u-v", a.code), I());
    await measure("verify → used", "used", () => m.check("u-v", a.code), Z);
    await measure("generate (previous code used)", "issued", () => m.generate("u-v"), I());
    a = await m.create("u-exp");
    now += 600_000;
    await measure("verify → expired", "expired", () => m.check("u-exp", a.code), Z);
    await measure("getLatestOtp (expired)", "status expired", () => m.getLatestOtp("u-exp"), Z);
    a = await m.create("u-exh");
    for (let i = 0; i < 3; i++) await m.check("u-exh", wrong(a.code));
    await measure("verify → exhausted", "exhausted", () => m.check("u-exh", a.code), Z);
    await measure("verify → none (no record)", "none", () => m.check("u-nobody", "1234"), Z);
    a = await m.create("u-inv");
    await measure("invalidate (active)", "true", () => m.invalidate("u-inv"), I());
    await measure("verify → none (revoked)", "none", () => m.check("u-inv", a.code), Z);
    a = await m.create("u-lock");
    for (let i = 0; i < 3; i++) await m.check("u-lock", wrong(a.code));
    a = await m.create("u-lock");
    await m.check("u-lock", wrong(a.code));
    await measure("verify → locked", "locked", () => m.check("u-lock", a.code), Z);
    await measure("create (locked out)", "OtpError RATE_LIMITED", () => m.create("u-lock"), Z);
    await measure("resetAttempts (current code)", "true", () => m.resetAttempts("u-lock"), I());
    await measure("resetAttempts (nothing to reset)", "false", () => m.resetAttempts("u-nobody"), Z);
    await limited.create("u-cool");
    await measure("create (resend cooldown)", "OtpError RATE_LIMITED", () => limited.create("u-cool"), Z);
    await measure("verify (user of 1 MiB) — rejected", "OtpError INVALID_ARGUMENT",
      () => m.check("x".repeat(1 << 20), "1234"), { reads: 0, maxWrites: 0 });
  }
  const ok = failures.length === 0;
  const n = rows.size;
  budget("storage-calls", n - failures.length, `of ${n} op/outcome rows within budget on 3 stores`, n,
    { ok, extra: ok ? "" : `\n  ${failures.join("\n  ")}` });
  const cell = (r) => `${r.reads}R ${r.writes}W${r.ok ? "" : " ✗"}`;
  const want = (r) => r.maxWrites === undefined ? `${r.reads}R` :
    r.minWrites === r.maxWrites ? `${r.reads}R ${r.maxWrites}W` : `${r.reads}R ≤${r.maxWrites}W`;
  tables.push([
    "### Storage calls per operation (R = get, W = put or compareAndSwap)",
    "",
    `| operation → outcome | budget | ${KINDS.map((k) => KIND_LABEL[k]).join(" | ")} |`,
    `|---|---|${KINDS.map(() => "---").join("|")}|`,
    ...[...rows.values()].map((r) => `| ${r.label} | ${want(r)} | ${KINDS.map((k) => cell(r.by[k])).join(" | ")} |`),
    "",
    "`verify(user, code)` runs the same operation as `check(user, code)` and answers its `.ok`: the same calls; `check` is used here to see the reason.",
  ].join("\n"));
  return { ok, failures, rows: [...rows.values()] };
}

// ---------------------------------------------------------------------------
// 3. Stored record size
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

function recordingStore() {
  const base = memoryStorage();
  const stat = { max: 0, writes: 0, longest: "" };
  const see = (v) => {
    stat.writes++;
    const bytes = Buffer.byteLength(v, "utf8");
    if (bytes > stat.max) { stat.max = bytes; stat.longest = v; }
  };
  return {
    base, stat,
    store: {
      get: (k) => base.get(k),
      put: (k, v) => { see(v); base.put(k, v); },
      compareAndSwap: (k, e, v) => { const ok = base.compareAndSwap(k, e, v); if (ok) see(v); return ok; },
    },
  };
}

async function recordSize() {
  const results = [];
  // a) realistic: default policy, 1000 users, mixed operations, clock near year 9999
  {
    const { store, stat } = recordingStore();
    let now = 253_400_000_000_000; // 15-digit millisecond timestamps (year 9999 is 253402300799999)
    const m = new OtpManager(store, { secret: SECRET, now: () => now });
    const rand = rng(42);
    const codes = new Map();
    let ops = 0, refused = 0;
    for (let i = 0; i < 30_000; i++) {
      const user = `user-${Math.floor(rand() * 1000)}@example.com`;
      now += Math.floor(rand() * 20_000);
      const r = rand();
      ops++;
      try {
        if (r < 0.3) codes.set(user, (await m.create(user)).code);
        else if (r < 0.5) await m.verify(user, "0000");
        else if (r < 0.7) { const c = codes.get(user); if (c) await m.verify(user, c); }
        else if (r < 0.85) await m.getLatestOtp(user);
        else if (r < 0.9) await m.resetAttempts(user);
        else if (r < 0.93) await m.invalidate(user);
        else { try { codes.set(user, (await m.generate(user)).code); } catch (e) { if (e.code !== "ACTIVE_OTP_EXISTS") throw e; } }
      } catch (e) {
        if (!(e instanceof OtpError) || e.code !== "RATE_LIMITED") throw e;
        refused++;
      }
    }
    results.push({ run: "realistic: default policy, 1000 users, 30k mixed ops, 15-digit timestamps", ops, refused, ...stat });
  }
  // b) ceilings: every numeric field at its widest (a 16-digit index — the decoder takes
  //    integers up to 2^53 - 1 — maxAttempts 1000, limit counts reaching 1,000,000,
  //    year-9999 timestamps), under a 64-symbol alphabet × 10 policy.
  {
    const { store, stat, base } = recordingStore();
    const T = 253_402_000_000_000;
    const ALPHA = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+_";
    const day = 24 * 3600;
    const policy = { secret: SECRET, now: () => T, alphabet: ALPHA, length: 10, maxAttempts: 1000,
      ttlSeconds: 3 * day, resendCooldownSeconds: 0,
      issueLimit: { count: 1_000_000, windowSeconds: 30 * day },
      failureLimit: { count: 1_000_000, windowSeconds: 30 * day } };
    const m = new OtpManager(store, policy);
    const key = m.keyFor("ceiling");
    // A record at the edge of every field (written as the engine would), then the engine
    // bumps attempts/failures/issues from there.
    const seed = `[1,"${"f".repeat(32)}",9007199254740990,${T - 1000},${T + 3 * day * 1000 - 1000},998,1000,0,${T - 1000},999998,${T - 1000},999998]`;
    base.put(key, seed);
    let seeded = "ceilings: 64-symbol alphabet × 10, maxAttempts 1000, counts → 1,000,000, index 2^53-1, year 9999";
    try {
      await m.check("ceiling", "zzzzzzzzzz"); // wrong guess: attempts 999, failures 999999
      const c = await m.create("ceiling");    // issues 999999, fresh 19-digit-ish index
      await m.check("ceiling", c.code === "0000000000" ? "1111111111" : "0000000000");
    } catch (e) {
      seeded = `ceilings (the seeded record was refused: ${e.code ?? e}; only fresh users counted)`;
    }
    // and many users issuing under that policy with 15-digit timestamps
    for (let i = 0; i < 2000; i++) {
      const c = await m.create(`ceiling-user-${i}`);
      await m.check(`ceiling-user-${i}`, i % 2 ? c.code : "----------x");
    }
    results.push({ run: seeded, ops: 4003, refused: 0, ...stat });
  }
  const max = Math.max(...results.map((r) => r.max));
  const longest = results.find((r) => r.max === max).longest;
  budget("record-size", max, "B", 160, { extra: `[${results.map((r) => `${r.max} B`).join(", ")}]` });
  tables.push([
    "### Stored record size (bytes, longest value written)",
    "",
    "| run | writes | longest B |",
    "|---|--:|--:|",
    ...results.map((r) => `| ${r.run} | ${fmt(r.writes)} | ${r.max} |`),
    "",
    `Longest: \`${longest}\``,
  ].join("\n"));
  return { max, limit: 160, runs: results.map(({ longest, ...r }) => ({ ...r, longest })) };
}

// ---------------------------------------------------------------------------
// 4. wasm linear memory over 1,000,000 operations
async function wasmMemory() {
  // Oversized inputs (1 MiB users and records, 300-char codes) are mixed in: a copy of
  // one into wasm would grow linear memory by at least 16 pages, so a flat memory also
  // shows that they never cross (the binding reads a JS string's length before copying).
  {
    const USERS = 1000;
    const store = memoryStorage();
    const m = new OtpManager(store, { secret: SECRET, resendCooldownSeconds: 0, issueLimit: null, failureLimit: null });
    const users = Array.from({ length: USERS }, (_, i) => `user-${i}@example.com`);
    const codes = new Array(USERS).fill("0000");
    const rand = rng(7);
    const HUGE_USER = "u".repeat(1 << 20);          // 1 MiB, rejected in JS
    const HUGE_MB_USER = "é".repeat(200);             // 200 units, 400 UTF-8 bytes: rejected in JS
    const LONE = "user\uD800";                         // lone surrogate, rejected in JS
    const LONG_CODE = "7".repeat(300);                 // > 256 units: a wrong guess, not copied
    const MAX_CODE = "8".repeat(256);                  // the longest copied: a wrong guess in wasm
    // corrupt stored values: one too long to pass (rejected in JS), one that wasm parses and rejects
    store.put(m.keyFor("corrupt-huge"), "[".repeat(1 << 20));
    store.put(m.keyFor("corrupt-1k"), `[1,"${"z".repeat(32)}",${"9".repeat(900)}]`);
    const counts = { create: 0, verifyWrong: 0, verifyRight: 0, latest: 0, check: 0, hostile: 0, errors: {} };
    const expectErr = async (p, code) => {
      try { await p; } catch (e) {
        if (e instanceof OtpError && e.code === code) { counts.errors[code] = (counts.errors[code] ?? 0) + 1; return; }
        throw e;
      }
      throw new Error(`expected ${code}`);
    };
    const marks = [];
    const checkpoints = new Set([1000, 10_000, 100_000, 500_000, OPS]);
    const t0 = performance.now();
    marks.push({ ops: 0, bytes: memBytes(), ms: 0 });
    for (let i = 1; i <= OPS; i++) {
      const u = (rand() * USERS) | 0;
      const user = users[u];
      const r = rand();
      if (r < 0.2) { codes[u] = (await m.create(user)).code; counts.create++; }
      else if (r < 0.4) { await m.verify(user, codes[u] === "0000" ? "0001" : "0000"); counts.verifyWrong++; }
      else if (r < 0.6) { await m.verify(user, codes[u]); counts.verifyRight++; }
      else if (r < 0.78) { await m.getLatestOtp(user); counts.latest++; }
      else if (r < 0.96) { await m.check(user, rand() < 0.5 ? codes[u] : "12-34"); counts.check++; }
      else {
        counts.hostile++;
        switch (i % 8) {
          case 0: await expectErr(m.create(HUGE_USER), "INVALID_ARGUMENT"); break;
          case 1: await expectErr(m.check(HUGE_USER, "1234"), "INVALID_ARGUMENT"); break;
          case 2: await m.check(user, LONG_CODE); break;
          case 3: await m.check(user, MAX_CODE); break;
          case 4: await expectErr(m.create(HUGE_MB_USER), "INVALID_ARGUMENT"); break;
          case 5: await expectErr(m.getLatestOtp(LONE), "INVALID_ARGUMENT"); break;
          case 6: await expectErr(m.check("corrupt-huge", "1234"), "CORRUPT_RECORD"); break;
          case 7: await expectErr(m.create("corrupt-1k"), "CORRUPT_RECORD"); break;
        }
      }
      if (checkpoints.has(i)) marks.push({ ops: i, bytes: memBytes(), ms: performance.now() - t0 });
    }
    const elapsed = performance.now() - t0;
    const first = marks.find((x) => x.ops === 1000) ?? marks[0];
    const last = marks[marks.length - 1];
    budget("wasm-memory", last.bytes, `B after ${fmt(OPS)} ops`, first.bytes, {
      ok: last.bytes <= first.bytes,
      extra: `[after 1k: ${first.bytes} B; ${(OPS / elapsed * 1000 | 0)} ops/s]`,
    });
    tables.push([
      `### wasm linear memory over ${fmt(OPS)} operations (1 OtpManager, ${USERS} users, limits off, cooldown 0)`,
      "",
      "| after ops | memory B | elapsed ms |",
      "|--:|--:|--:|",
      ...marks.map((x) => `| ${fmt(x.ops)} | ${fmt(x.bytes)} | ${x.ms.toFixed(0)} |`),
      "",
      `Mix: create ${fmt(counts.create)}, verify wrong ${fmt(counts.verifyWrong)}, verify right ${fmt(counts.verifyRight)}, ` +
      `getLatestOtp ${fmt(counts.latest)}, check ${fmt(counts.check)}, hostile ${fmt(counts.hostile)} ` +
      `(1 MiB users, 300-char codes, 256-char codes, 400-byte users, lone surrogates, 1 MiB and 1 KB corrupt records; ` +
      `errors: ${Object.entries(counts.errors).map(([k, v]) => `${k} ${fmt(v)}`).join(", ")}).`,
      `Throughput ${fmt(Math.round(OPS / elapsed * 1000))} ops/s (${(elapsed / OPS * 1000).toFixed(2)} µs/op).`,
    ].join("\n"));
    return { ops: OPS, marks, elapsedMs: elapsed, counts, ok: last.bytes <= first.bytes };
  }
}

// ---------------------------------------------------------------------------
const load0 = loadavg();
const report = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, loadavgStart: load0 };
report.shippedSize = shippedSize();
report.totpShippedSize = totpShippedSize();
report.storageCalls = await storageCalls();
report.recordSize = await recordSize();
report.wasmMemory = await wasmMemory();
const totalS = (performance.now() - T_START) / 1000;
budget("budgets-time", Number(totalS.toFixed(1)), "s whole script", 60);
report.loadavgEnd = loadavg();
report.seconds = totalS;
report.budgets = budgets;

const la = (l) => l.map((x) => x.toFixed(2)).join(" ");
console.log(`\n## edge-otp budgets — ${report.date}, Node ${process.version}, ${cpus().length} CPUs, ` +
  `load average ${la(load0)} at start, ${la(report.loadavgEnd)} at end\n`);
console.log("| budget | measured | limit | goal | status |");
console.log("|---|--:|--:|--:|---|");
for (const b of budgets) console.log(`| ${b.name} | ${b.figure} ${b.unit.replace(/\|/g, "\\|")} | ${b.limit} | ${b.goal ?? ""} | ${b.status} |`);
console.log("");
console.log(tables.join("\n\n"));
if (JSON_OUT) {
  const path = fileURLToPath(new URL("./budgets.json", import.meta.url));
  writeFileSync(path, JSON.stringify(report, null, 2) + "\n");
  console.log(`\nwrote ${path}`);
}
const failed = budgets.filter((b) => !b.ok);
if (failed.length) {
  console.error(`\n${failed.length} budget(s) exceeded: ${failed.map((b) => b.name).join(", ")}`);
  process.exit(1);
}
