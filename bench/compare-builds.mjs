// CPU per operation of edge-otp create and verify in two builds of the package, on an
// in-process Promise-returning Map store with compareAndSwap, 64 lanes, 9 interleaved
// rounds of 400 ms (the first 2 discarded), both builds in one process. Resolves effects
// of a few µs that store-level ratios (bench/stores.mjs) cannot.
//
//   git worktree add /tmp/old <commit> && ln -s "$PWD/node_modules" /tmp/old/ && (cd /tmp/old && bash .ci/build)
//   OLD_PKG=/tmp/old/pkg node bench/compare-builds.mjs
//   ENTRY=dist/node.mjs OLD_PKG=/tmp/old/pkg node bench/compare-builds.mjs   # another entry of
//                                        pkg/ in both builds (default node.js, unbundled)
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promiseCasMap } from "../tests/js/stores.mjs";

if (!process.env.OLD_PKG) throw new Error("set OLD_PKG to the pkg/ directory of the other build");
const ENTRY = process.env.ENTRY ?? "node.js";
const here = fileURLToPath(new URL(`../pkg/${ENTRY}`, import.meta.url));
const builds = {
  old: await import(pathToFileURL(path.join(process.env.OLD_PKG, ENTRY)).href),
  new: await import(pathToFileURL(here).href),
};
const OPTIONS = { secret: "bench stores secret 0123456789abcdef", issueLimit: null, failureLimit: null, resendCooldownSeconds: 0 };
const ROUNDS = 9;
const DISCARDED = 2;
const ROUND_MS = 400;
const LANES = 64;

/** Runs `op()` on LANES lanes for `ms` (at most `limit` calls); answers CPU µs per call. */
async function cpuPerOp(ms, op, limit = Infinity) {
  let started = 0;
  let done = 0;
  const end = performance.now() + ms;
  const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: LANES }, async () => {
    while (performance.now() < end && started < limit) {
      started++;
      await op();
      done++;
    }
  }));
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / done, done };
}

const results = Object.fromEntries(Object.keys(builds).map((name) => [name, { create: [], verify: [] }]));
let tag = 0;
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 ? Object.entries(builds).reverse() : Object.entries(builds);
  for (const [name, build] of order) {
    const otp = new build.OtpManager(promiseCasMap(), OPTIONS);
    const t = tag++;
    const codes = [];
    let created = 0;
    const create = await cpuPerOp(ROUND_MS, async () => {
      const k = created++;
      codes[k] = (await otp.create(`u${t}-${k}`)).code;
    });
    let next = 0;
    const verify = await cpuPerOp(ROUND_MS, async () => {
      const k = next++;
      if (!(await otp.verify(`u${t}-${k}`, codes[k]))) throw new Error("verify failed");
    }, create.done);
    if (r < DISCARDED) continue;
    results[name].create.push(create.cpu);
    results[name].verify.push(verify.cpu);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const figure = (xs) => `${median(xs).toFixed(2)} µs/op (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
for (const [name, r] of Object.entries(results)) console.log(`${name}: create ${figure(r.create)}, verify ${figure(r.verify)}`);
