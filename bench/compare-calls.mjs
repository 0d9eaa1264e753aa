// ns per wasm call of two (or more) builds of the package, both in one process: the
// engine's methods called through the glue directly (no storage driver), on 2000 users,
// 9 interleaved rounds (the first 2 discarded), median. Resolves what a build option
// (opt-level, a glue rewrite) does to the wasm side alone.
//
//   git worktree add /tmp/old <commit> && ln -s "$PWD/node_modules" /tmp/old/ && (cd /tmp/old && bash .ci/build)
//   node bench/compare-calls.mjs /tmp/old/pkg pkg
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
const dirs = process.argv.slice(2).map((d) => resolve(d));
if (dirs.length < 2) {
  console.error("usage: node bench/compare-calls.mjs <pkg dir> <pkg dir> ...");
  process.exit(2);
}
// The policy bench/run.mjs uses, with limits off so that every call does the same work.
const OPTIONS = {
  secret: "bench-secret-0123456789abcdef",
  maxAttempts: 1000,
  resendCooldownSeconds: 0,
  issueLimit: null,
  failureLimit: null,
  length: 4,
  ttlSeconds: 3600,
};
const USERS = 2000;
const ROUNDS = 9;
const WARM_ROUNDS = 2;
const PASSES = 15; // passes over the users per round and call
const users = Array.from({ length: USERS }, (_, i) => `u${i}@bench.test`);

// Per build: its engine and each measured call on user i (a record issued beforehand).
const builds = [];
for (const dir of dirs) {
  const glue = await import(pathToFileURL(dir + "/wasm/edge_otp.js").href);
  glue.initSync({ module: readFileSync(dir + "/wasm/edge_otp_bg.wasm") });
  const e = glue.configure(OPTIONS).engine;
  const records = users.map((u) => {
    e.issue(u, undefined, undefined, undefined, false);
    return e.takeWrite();
  });
  // The calls report failure by answering (undefined, or a thrown error in older builds):
  // time only a build whose calls answer what they should.
  const verdict = e.check(users[0], "0000", records[0], undefined, undefined, false);
  const latest = e.latest(users[0], records[0], undefined);
  if (typeof records[0] !== "string" || typeof verdict?.ok !== "boolean" || typeof latest?.code !== "string") {
    throw new Error(`${dir}: the calls do not answer a record, a verdict and the latest code`);
  }
  builds.push({
    check: (i) => {
      e.check(users[i], "0000", records[i], undefined, undefined, true);
      e.takeWrite();
    },
    verdict: (i) => {
      e.check(users[i], "0000", records[i], undefined, undefined, false);
      e.takeWrite();
    },
    latest: (i) => e.latest(users[i], records[i], undefined),
    issue: (i) => {
      e.issue(users[i], records[i], undefined, undefined, false);
      e.takeWrite();
    },
  });
}

const CALLS = ["check", "verdict", "latest", "issue"];
const times = builds.map(() => Object.fromEntries(CALLS.map((c) => [c, []])));
for (let round = 0; round < ROUNDS; round++) {
  for (const call of CALLS) {
    // Who goes first rotates every round.
    for (let k = 0; k < builds.length; k++) {
      const b = (round + k) % builds.length;
      const f = builds[b][call];
      const t = process.hrtime.bigint();
      for (let pass = 0; pass < PASSES; pass++) for (let i = 0; i < USERS; i++) f(i);
      if (round >= WARM_ROUNDS) times[b][call].push(Number(process.hrtime.bigint() - t) / (PASSES * USERS));
    }
  }
}
const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
console.log(`ns per call (median of ${ROUNDS - WARM_ROUNDS} rounds); ratio: each build over the first`);
for (const call of CALLS) {
  const first = median(times[0][call]);
  const cells = dirs.map((d, b) => {
    const m = median(times[b][call]);
    return `${d}: ${m.toFixed(0)}${b === 0 ? "" : ` (${(m / first).toFixed(3)}×)`}`;
  });
  console.log(`${call.padEnd(7)} ${cells.join("  ")}`);
}
