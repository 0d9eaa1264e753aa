// A storm of wrong guesses and right verifications over several OtpManagers on one real
// server, while `faults()` kills connections or the server and starts it again. Shared by
// the PostgreSQL and Redis fault tests. It asserts what a user relies on when a store
// fails under load:
//   - every operation settles (a guard fails the test if one hangs for HANG_MS; the
//     drivers have connection and command timeouts), answering or rejecting with an
//     error object the driver itself rejected with (recorded by the caller's thin
//     wrapper in `driverErrors`);
//   - per user, `invalid` answers and the attempts the record holds never exceed
//     maxAttempts, and no code verifies twice (true at most once, and not again after);
//   - once the server is back, the same managers issue and verify codes.
import assert from "node:assert/strict";
import { sleep } from "./reliability-lib.mjs";

export const MAX_ATTEMPTS = 5;
/** Manager options for the storm: no failure or issue budget, no cooldown. */
export const STORM_OPTIONS = { maxAttempts: MAX_ATTEMPTS, failureLimit: null, issueLimit: null, resendCooldownSeconds: 0 };
const HANG_MS = 20_000;
// The storm moves through the users: in each SLOT_MS it targets PER_SLOT of them, which
// then run out of attempts or are verified, so that writes go on during every fault.
const SLOT_MS = 50;
const PER_SLOT = 3;

const wrongOf = (code) => String((Number(code[0]) + 1) % 10) + code.slice(1);

/**
 * Runs the storm and its checks; answers the figures it measured (for the test's report).
 * @param {object} o
 * @param {Array<{ create, check, verify, getLatestOtp }>} o.managers built with STORM_OPTIONS
 * @param {Set<unknown>} o.driverErrors every rejection the driver produced
 * @param {(log: (fault: object) => void, outage: (fault: string, run: () => Promise<void>) => Promise<void>) => Promise<void>} o.faults
 *   injects the faults: `log` records one, `outage` runs a stop-and-restart and records it
 *   with how long the server was down
 * @param {number} o.expectFaults how many faults `faults` records
 */
export async function faultStorm({ managers, driverErrors, faults, expectFaults, users: nUsers = 240, lanesPerManager = 6, stormMs = 4000 }) {
  const users = [];
  for (let u = 0; u < nUsers; u++) {
    const user = `fault-${u}@example.com`;
    const { code } = await managers[u % managers.length].create(user);
    users.push({ user, code, invalid: 0, verified: 0, other: {} });
  }

  const outcomes = { answered: 0, rejected: 0, hung: 0, errors: {} };
  const foreign = [];
  let stop = false;
  let seq = 0;
  const start = performance.now();

  async function lane(m) {
    while (!stop) {
      const slot = Math.floor((performance.now() - start) / SLOT_MS);
      const n = seq++;
      const u = users[(slot * PER_SLOT + (n % PER_SLOT)) % users.length];
      const right = n % 7 === 0;
      const op = managers[m].check(u.user, right ? u.code : wrongOf(u.code));
      let timer;
      const guard = new Promise((resolve) => {
        timer = setTimeout(() => resolve("hung"), HANG_MS);
      });
      const r = await Promise.race([op.then((v) => ({ v }), (e) => ({ e })), guard]);
      clearTimeout(timer);
      if (r === "hung") {
        outcomes.hung++;
        continue;
      }
      if ("e" in r) {
        outcomes.rejected++;
        const key = r.e?.code ?? r.e?.name ?? String(r.e);
        outcomes.errors[key] = (outcomes.errors[key] ?? 0) + 1;
        if (!driverErrors.has(r.e)) foreign.push(r.e);
        await sleep(20); // the server may be down: do not spin
        continue;
      }
      outcomes.answered++;
      if (r.v.reason === "invalid") u.invalid++;
      else if (r.v.reason === "verified") u.verified++;
      else u.other[r.v.reason] = (u.other[r.v.reason] ?? 0) + 1;
    }
  }

  const log = [];
  const record = (f) => log.push({ at: Math.round(performance.now() - start), ...f });
  const outage = async (fault, run) => {
    const t = performance.now();
    await run();
    log.push({ at: Math.round(t - start), fault, downMs: Math.round(performance.now() - t) });
  };
  const faultRun = faults(record, outage);
  const lanes = [];
  for (let m = 0; m < managers.length; m++) for (let l = 0; l < lanesPerManager; l++) lanes.push(lane(m));
  await faultRun;
  await sleep(Math.max(0, stormMs - (performance.now() - start)));
  stop = true;
  await Promise.all(lanes);
  const stormTookMs = Math.round(performance.now() - start);

  // The server is back: read every record, try every code once more.
  let verifiedAfter = 0;
  const status = {};
  const attempts = [];
  for (const u of users) {
    const latest = await managers[0].getLatestOtp(u.user);
    attempts.push(latest.attempts);
    status[latest.status] = (status[latest.status] ?? 0) + 1;
    assert.ok(latest.attempts <= MAX_ATTEMPTS, `${u.user}: ${latest.attempts} attempts recorded > ${MAX_ATTEMPTS}`);
    assert.ok(u.invalid <= MAX_ATTEMPTS, `${u.user}: ${u.invalid} invalid answers > ${MAX_ATTEMPTS}`);
    assert.ok(latest.attempts >= u.invalid, `${u.user}: an answered wrong guess was not counted`);
    assert.ok(u.verified <= 1, `${u.user}: verified ${u.verified} times`);
    if (await managers[1 % managers.length].verify(u.user, u.code)) {
      verifiedAfter++;
      assert.equal(u.verified, 0, `${u.user}: its code verified twice`);
    }
  }

  assert.equal(outcomes.hung, 0, "no operation hung");
  assert.deepEqual(foreign.map((e) => `${e?.name}: ${e?.code ?? ""} ${e?.message}`), [], "every rejection is the driver's own error object");
  assert.ok(outcomes.rejected > 0, "the faults reached the operations");
  assert.ok(outcomes.answered > outcomes.rejected, "most operations answered");
  assert.equal(log.length, expectFaults);

  // The same managers, on the same connections or pools, work again.
  const n = managers.length;
  for (let i = 0; i < n; i++) {
    const user = `after-${i}@example.com`;
    const { code } = await managers[i].create(user);
    assert.equal((await managers[(i + 1) % n].check(user, wrongOf(code))).reason, "invalid");
    assert.equal(await managers[(i + 2) % n].verify(user, code), true);
    assert.equal(await managers[(i + 3) % n].verify(user, code), false);
  }

  return {
    stormMs: stormTookMs, faults: log, ...outcomes, finalStatus: status, foreignErrors: foreign.length,
    verifiedInStorm: users.reduce((k, u) => k + u.verified, 0), verifiedAfter,
    invalidAnswers: users.reduce((k, u) => k + u.invalid, 0), attemptsRecorded: attempts.reduce((a, b) => a + b, 0),
  };
}
