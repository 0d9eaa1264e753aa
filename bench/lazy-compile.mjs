#!/usr/bin/env node
// How much wasm V8 compiles lazily, function by function, on each step of a cold start:
// the first `new OtpManager`, the first create, the first verify. Node compiles a wasm
// function (whole, with Liftoff) on its first call, so these bytes are main-thread time in
// the cold start (bench/coldstart.mjs; about 11 KB per ms on the project's VM).
//
//   bash .ci/build && node bench/lazy-compile.mjs
//   LAZY_TOP=40 node bench/lazy-compile.mjs   # the 40 largest functions of each step, not 3
//
// The shipped .wasm has no function names, so this script works on a named copy of the
// package (bench/named-copy.mjs), then runs wasm-opt on it with the flags of .ci/build's
// first wasm-opt line (read from it) but `-g` for `--strip-debug`, so that the functions
// are the shipped ones, with their names.

import { spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { namedCopy } from "./named-copy.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "node_modules/.bin");
const STEPS = ["configure", "create", "verify"];

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, ...options });
  if (r.status !== 0) {
    console.error(`${cmd} failed: ${r.stderr || r.error || `status ${r.status}`}`);
    process.exit(2);
  }
  return r;
}

// .ci/build's wasm-opt flags for the one-time-code module (its first wasm-opt command,
// continued over `\` lines), with names kept.
const build = readFileSync(join(ROOT, ".ci/build"), "utf8");
const command = build.match(/^node_modules\/\.bin\/wasm-opt ((?:.*\\\n)*.*)$/m)?.[1];
if (command === undefined) throw new Error(".ci/build: no wasm-opt command found");
const flags = command.replace(/\\\n/g, " ").split(/\s+/).filter((f) => f.startsWith("-") && f !== "-o")
  .map((f) => (f === "--strip-debug" ? "-g" : f));

const dir = namedCopy("edge-otp-lazy-");
try {
  const wasm = join(dir, "wasm/edge_otp_bg.wasm");
  run(join(BIN, "wasm-opt"), [...flags, wasm, "-o", wasm]);

  // Function index → name: imported functions come first in the index space.
  const text = run(join(BIN, "wasm-dis"), [wasm]).stdout;
  const imports = text.match(/^ \(import "[^"]*" "[^"]*" \(func /gm)?.length ?? 0;
  const names = [...text.matchAll(/^ \(func \$("[^"]*"|\S+)/gm)].map((m) => m[1].replace(/^"|"$/g, ""));

  writeFileSync(join(dir, "child.mjs"), `
    import { OtpManager, memoryStorage } from "./node.js";
    globalThis.crypto.getRandomValues(new Uint8Array(4)); // Node's WebCrypto loaded first
    console.error("step: configure");
    const otp = new OtpManager(memoryStorage(), { secret: "lazy-compile-secret-0123456789" });
    console.error("step: create");
    const { code } = await otp.create("alice@example.com");
    console.error("step: verify");
    if (!(await otp.verify("alice@example.com", code))) throw new Error("not verified");
    console.error("step: done");
  `);
  // V8's trace goes to stdout, the step marks to stderr: both into one file, in order.
  const log = join(dir, "trace.txt");
  const fd = openSync(log, "w");
  run(process.execPath, ["--trace-wasm-compilation-times", join(dir, "child.mjs")], { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const trace = readFileSync(log, "utf8");

  console.log(`## Wasm compiled lazily per cold-start step (${names.length} functions, ${readFileSync(wasm).length} B with names)`);
  console.log("");
  console.log("| step | bytes of function bodies | functions | largest |");
  console.log("|---|--:|--:|---|");
  for (const step of STEPS) {
    const part = trace.split(`step: ${step}\n`)[1]?.split("step: ")[0] ?? "";
    const compiled = [...part.matchAll(/^Compiled function \S+#(\d+) .*bodysize (\d+)/gm)]
      .map((m) => ({ name: (names[Number(m[1]) - imports] ?? `#${m[1]}`).replace(/::h[0-9a-f]{16}$/, ""), size: Number(m[2]) }))
      .sort((a, b) => b.size - a.size);
    const total = compiled.reduce((s, f) => s + f.size, 0);
    const largest = compiled.slice(0, Number(process.env.LAZY_TOP ?? 3)).map((f) => `\`${f.name.slice(0, 60)}\` ${f.size.toLocaleString("en-US")}`).join(", ");
    console.log(`| first ${step} | ${total.toLocaleString("en-US")} | ${compiled.length} | ${largest} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
