// TOTP storms (edge-otp/totp), shared by the memory, CAS-store and Redis tests: calls spread
// over several package instances (separate engine pools and per-key turns, as separate
// processes or isolates sharing one store would have), so that they interleave at the store.
import { readFileSync } from "node:fs";
import { SECRET, T0, totpAt } from "./totp-suite.mjs";

const wasmBytes = readFileSync(new URL("../../pkg/wasm-totp/edge_otp_totp_bg.wasm", import.meta.url));

/** `n` TotpManager classes, one per instance of pkg/totp-slim.js. */
export async function loadTotpInstances(n = 4) {
  return Promise.all(Array.from({ length: n }, async (_, k) => {
    const m = await import(`../../pkg/totp-slim.js?instance=${k + 1}`);
    m.initSync({ module: wasmBytes });
    return m.TotpManager;
  }));
}

function spread(classes, storage, options) {
  const managers = classes.map((C) => new C(storage, options));
  let next = 0;
  return { pick: () => managers[next++ % managers.length], managers };
}

let seq = 0;
const stormUser = (tag) => `totp-${tag}-${Date.now().toString(36)}-${++seq}@example.com`;

function tally(results) {
  const counts = {};
  for (const r of results) {
    const k = r.status === "fulfilled" ? String(typeof r.value === "object" ? r.value.reason : r.value) : `error:${r.reason?.code ?? r.reason}`;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

/** `n` parallel verifies of one right code: answers by value (exactly one `true` expected). */
export async function rightStorm(classes, storage, n = 100) {
  const clock = { t: T0 };
  const { pick } = spread(classes, storage, { secret: SECRET, issuer: "Acme", now: () => clock.t });
  const user = stormUser("right");
  const { secret } = await pick().enroll(user);
  const code = await totpAt(secret, clock.t);
  const results = await Promise.allSettled(Array.from({ length: n }, () => pick().verify(user, code)));
  return { answers: tally(results), status: await pick().status(user) };
}

/**
 * `n` parallel checks of wrong codes under the default budget (5 per 900 s): answers by
 * reason (exactly 5 "invalid", the rest "locked" expected).
 */
export async function wrongStorm(classes, storage, n = 1000) {
  const clock = { t: T0 };
  const { pick } = spread(classes, storage, { secret: SECRET, issuer: "Acme", now: () => clock.t });
  const user = stormUser("wrong");
  const { secret } = await pick().enroll(user);
  const right = new Set(await Promise.all([-1, 0, 1].map((o) => totpAt(secret, clock.t + o * 30_000))));
  const wrong = [];
  for (let i = 0; wrong.length < n; i++) {
    const c = String(i % 1e6).padStart(6, "0");
    if (!right.has(c)) wrong.push(c);
  }
  const results = await Promise.allSettled(wrong.map((c) => pick().check(user, c)));
  // The right code is refused too once the budget is spent.
  const after = await pick().check(user, await totpAt(secret, clock.t));
  return { answers: tally(results), after: after.reason };
}
