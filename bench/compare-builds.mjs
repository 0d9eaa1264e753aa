// CPU per operation of edge-otp create and verify in two builds of the package, on an
// in-process Promise-returning Map store with compareAndSwap, 64 lanes, 9 interleaved
// rounds of 400 ms (the first 2 discarded), both builds in one process. Resolves effects
// of a few µs that store-level ratios (bench/stores.mjs) cannot.
//
//   git worktree add /tmp/old <commit> && ln -s "$PWD/node_modules" /tmp/old/ && (cd /tmp/old && bash .ci/build)
//   OLD_PKG=/tmp/old/pkg node bench/compare-builds.mjs
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

if (!process.env.OLD_PKG) throw new Error("set OLD_PKG to the pkg/ directory of the other build");
const here = fileURLToPath(new URL("../pkg/node.js", import.meta.url));
const builds = {
  old: await import(pathToFileURL(path.join(process.env.OLD_PKG, "node.js")).href),
  new: await import(pathToFileURL(here).href),
};
const OPTIONS = { secret: "bench stores secret 0123456789abcdef", issueLimit: null, failureLimit: null, resendCooldownSeconds: 0 };
const mkStore = () => { const m = new Map(); return { get: (k) => Promise.resolve(m.get(k) ?? null), put: (k, v) => Promise.resolve(void m.set(k, v)),
  compareAndSwap: (k, e, v) => Promise.resolve((m.get(k) ?? null) === e ? (m.set(k, v), true) : false) }; };
async function lanes(ms, op, limit = Infinity) { let ops = 0, started = 0; const end = performance.now() + ms; const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: 64 }, async () => { while (performance.now() < end && started < limit) { started++; await op(); ops++; } }));
  const c = process.cpuUsage(c0); return { cpu: (c.user + c.system) / ops, ops }; }
const res = {}; let tag = 0;
for (let r = 0; r < 9; r++) for (const [name, b] of (r % 2 ? Object.entries(builds).reverse() : Object.entries(builds))) {
  const otp = new b.OtpManager(mkStore(), OPTIONS); const t = tag++; let i = 0; const codes = [];
  const c = await lanes(400, async () => { const k = i++; codes[k] = (await otp.create(`u${t}-${k}`)).code; });
  let j = 0; const v = await lanes(400, async () => { const k = j++; if (!(await otp.verify(`u${t}-${k}`, codes[k]))) throw new Error("verify"); }, i);
  if (r < 2) continue; (res[name] ??= { create: [], verify: [] }); res[name].create.push(c.cpu); res[name].verify.push(v.cpu);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const [n, x] of Object.entries(res)) console.log(`${n}: create ${med(x.create).toFixed(2)} µs/op (${Math.min(...x.create).toFixed(2)}–${Math.max(...x.create).toFixed(2)}), verify ${med(x.verify).toFixed(2)} µs/op (${Math.min(...x.verify).toFixed(2)}–${Math.max(...x.verify).toFixed(2)})`);
