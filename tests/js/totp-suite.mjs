// The TOTP conformance suite (edge-otp/totp): the same cases over every store (memory,
// CAS and plain stores, Redis, Durable Object storage and KV inside workerd).
// Runtime-neutral: codes are computed here with WebCrypto (crypto.subtle), no Node
// built-ins. Each case: `run({ makeStorage, api, assert })`, `api` = { TotpManager, OtpError }.
// Assertion messages never contain a seed or a code.

export const T0 = Date.UTC(2030, 0, 1, 0, 0, 10);
export const SECRET = "totp suite secret 0123456789abcdef";

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function base32Decode(text) {
  const clean = text.toUpperCase().replace(/[\s=]/g, "");
  const out = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const i = B32.indexOf(ch);
    if (i < 0) throw new Error("not base32");
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

export function base32Encode(bytes) {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

const HASH = { SHA1: "SHA-1", SHA256: "SHA-256", SHA512: "SHA-512" };

/** HOTP (RFC 4226) of `counter` for `seed` bytes. */
export async function hotp(seed, counter, { algorithm = "SHA1", digits = 6 } = {}) {
  const key = await crypto.subtle.importKey("raw", seed, { name: "HMAC", hash: HASH[algorithm] }, false, ["sign"]);
  const msg = new Uint8Array(8);
  let c = BigInt(counter);
  for (let i = 7; i >= 0; i--) {
    msg[i] = Number(c & 255n);
    c >>= 8n;
  }
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, msg));
  const off = mac[mac.length - 1] & 15;
  const bin = ((mac[off] & 127) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(bin % 10 ** digits).padStart(digits, "0");
}

/** The TOTP code at `ms` for a base32 seed. */
export function totpAt(secret, ms, { algorithm = "SHA1", digits = 6, period = 30 } = {}) {
  return hotp(base32Decode(secret), Math.floor(ms / 1000 / period), { algorithm, digits });
}

/** The secret and parameters of an otpauth:// URI. */
export function parseUri(uri) {
  const u = new URL(uri);
  const p = u.searchParams;
  return {
    protocol: u.protocol,
    host: u.host,
    label: decodeURIComponent(u.pathname.slice(1)),
    secret: p.get("secret"),
    issuer: p.get("issuer"),
    algorithm: p.get("algorithm"),
    digits: Number(p.get("digits")),
    period: Number(p.get("period")),
  };
}

/** RFC 6238 Appendix B: the seeds and the codes (8 digits) at the listed times (seconds). */
export const RFC6238 = {
  seeds: {
    SHA1: "12345678901234567890",
    SHA256: "12345678901234567890123456789012",
    SHA512: "1234567890123456789012345678901234567890123456789012345678901234",
  },
  vectors: [
    [59, { SHA1: "94287082", SHA256: "46119246", SHA512: "90693936" }],
    [1111111109, { SHA1: "07081804", SHA256: "68084774", SHA512: "25091201" }],
    [1111111111, { SHA1: "14050471", SHA256: "67062674", SHA512: "99943326" }],
    [1234567890, { SHA1: "89005924", SHA256: "91819424", SHA512: "93441116" }],
    [2000000000, { SHA1: "69279037", SHA256: "90698825", SHA512: "38618901" }],
    [20000000000, { SHA1: "65353130", SHA256: "77737706", SHA512: "47863826" }],
  ],
};

/** Forwards to `store`, counting writes (put, compareAndSwap, delete). */
export function countingWrites(store) {
  const c = { writes: 0 };
  const out = {
    get: (k) => store.get(k),
    put: (k, v, o) => {
      c.writes++;
      return o === undefined ? store.put(k, v) : store.put(k, v, o);
    },
    delete: (k) => {
      c.writes++;
      return store.delete(k);
    },
  };
  if (typeof store.compareAndSwap === "function") {
    out.compareAndSwap = (k, e, v, o) => {
      c.writes++;
      return store.compareAndSwap(k, e, v, o);
    };
  }
  return { store: out, c };
}

async function rejects(assert, promise, code, what) {
  let error = null;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error !== null, `${what}: expected an OtpError ${code}`);
  assert.equal(error?.code, code, `${what}: error code`);
  return error;
}

let seq = 0;
const newUser = (tag) => `${tag}-${++seq}-${Math.random().toString(36).slice(2, 8)}@example.com`;

function setup({ api, storage, options = {} }) {
  const clock = { t: T0 };
  const totp = new api.TotpManager(storage, { secret: SECRET, issuer: "Acme", now: () => clock.t, ...options });
  return { clock, totp };
}

export const cases = [
  {
    name: "RFC 6238 Appendix B through JS: imported seeds, SHA1/SHA256/SHA512, 8 digits, every listed time",
    async run({ makeStorage, api, assert }) {
      const storage = await makeStorage();
      for (const algorithm of ["SHA1", "SHA256", "SHA512"]) {
        const { clock, totp } = setup({ api, storage, options: { algorithm, digits: 8 } });
        const user = newUser(`rfc-${algorithm}`);
        const secret = base32Encode(new TextEncoder().encode(RFC6238.seeds[algorithm]));
        clock.t = 59_000;
        const e = await totp.enroll(user, { secret });
        assert.equal(parseUri(e.uri).algorithm, algorithm, "uri algorithm");
        assert.equal(parseUri(e.uri).digits, 8, "uri digits");
        for (const [seconds, codes] of RFC6238.vectors) {
          clock.t = seconds * 1000;
          assert.equal((await totp.check(user, codes[algorithm])).reason, "verified", `${algorithm} at ${seconds}`);
          assert.equal(await totp.verify(user, codes[algorithm]), false, `${algorithm} at ${seconds} again`);
        }
        totp.dispose();
      }
    },
  },
  {
    name: "enroll: uri, base32 secret, pending until the first right code, then active",
    async run({ makeStorage, api, assert }) {
      const { clock, totp } = setup({ api, storage: await makeStorage() });
      const user = newUser("enroll");
      assert.equal(await totp.status(user), "none", "status before");
      const e = await totp.enroll(user, { label: "Ada Lovelace" });
      assert.deepEqual(Object.keys(e).sort(), ["secret", "status", "uri"], "answer keys");
      assert.equal(e.status, "pending", "status in answer");
      assert.ok(/^[A-Z2-7]{32}$/.test(e.secret), "160-bit base32 secret");
      const u = parseUri(e.uri);
      assert.equal(u.protocol, "otpauth:", "scheme");
      assert.equal(u.host, "totp", "type");
      assert.equal(u.label, "Acme:Ada Lovelace", "label");
      assert.ok(u.secret === e.secret, "uri secret is the secret");
      assert.deepEqual([u.issuer, u.algorithm, u.digits, u.period], ["Acme", "SHA1", 6, 30], "uri parameters");
      assert.equal(await totp.status(user), "pending", "status pending");
      assert.equal(await totp.verify(user, await totpAt(e.secret, clock.t)), true, "first right code");
      assert.equal(await totp.status(user), "active", "status active");
      // An active enrollment is not replaced unless asked.
      const err = await rejects(assert, totp.enroll(user), "ALREADY_ENROLLED", "enroll on active");
      assert.ok(err instanceof api.OtpError, "OtpError class");
      clock.t += 30_000;
      assert.equal(await totp.verify(user, await totpAt(e.secret, clock.t)), true, "old seed still active");
      const again = await totp.enroll(user, { replace: true });
      assert.equal(await totp.status(user), "pending", "replaced is pending");
      assert.ok(again.secret !== e.secret, "a new seed");
      // A pending enrollment may be enrolled over without replace.
      const third = await totp.enroll(user);
      clock.t += 30_000;
      assert.equal(await totp.verify(user, await totpAt(again.secret, clock.t)), false, "the replaced seed is void");
      assert.equal(await totp.verify(user, await totpAt(third.secret, clock.t)), true, "the latest seed verifies");
    },
  },
  {
    name: "enroll({ replace: true, keepCurrent: true }): the current seed works until a code of the new one verifies",
    async run({ makeStorage, api, assert }) {
      const { clock, totp } = setup({ api, storage: await makeStorage() });
      const user = newUser("keep-current");
      const first = await totp.enroll(user);
      assert.equal(await totp.verify(user, await totpAt(first.secret, clock.t)), true, "activated");
      await rejects(assert, totp.enroll(user, { keepCurrent: true }), "INVALID_ARGUMENT", "keepCurrent without replace");
      const next = await totp.enroll(user, { replace: true, keepCurrent: true });
      assert.equal(next.status, "pending", "the new seed waits for its first code");
      assert.ok(next.secret !== first.secret, "a new seed");
      assert.equal(await totp.status(user), "active", "the user is still enrolled");
      clock.t += 30_000;
      // check tells the two seeds apart: a set-up page can ask for a code of the new one.
      assert.deepEqual(await totp.check(user, await totpAt(first.secret, clock.t)), { ok: true, reason: "verified" }, "the current seed still works");
      // The new device's code in the step the old one has just used: replayed, not a failure.
      const budget = totp.policy.failureLimit.count;
      for (let i = 0; i <= budget; i++) {
        assert.deepEqual(await totp.check(user, await totpAt(next.secret, clock.t)), { ok: false, reason: "replayed" }, "the new seed in a used step");
      }
      clock.t += 30_000;
      assert.deepEqual(await totp.check(user, await totpAt(next.secret, clock.t)), { ok: true, reason: "verified", replaced: true }, "the new seed's first code");
      assert.equal(await totp.status(user), "active", "active with the new seed");
      clock.t += 30_000;
      assert.equal(await totp.verify(user, await totpAt(first.secret, clock.t)), false, "the old seed is gone");
      assert.equal(await totp.verify(user, await totpAt(next.secret, clock.t)), true, "the new seed goes on");
    },
  },
  {
    name: "pendingReplacement / cancelReplacement: a seed kept waiting is shown, and cancelled leaves the current seed alone",
    async run({ makeStorage, api, assert }) {
      const { c, store } = countingWrites(await makeStorage());
      const { clock, totp } = setup({ api, storage: store });
      const user = newUser("cancel-replacement");
      assert.equal(await totp.pendingReplacement(user), null, "not enrolled: none waiting");
      assert.equal(await totp.cancelReplacement(user), false, "not enrolled: nothing to cancel");
      const first = await totp.enroll(user);
      assert.equal(await totp.verify(user, await totpAt(first.secret, clock.t)), true, "activated");
      assert.equal(await totp.pendingReplacement(user), null, "active, none waiting");
      let writes = c.writes;
      assert.equal(await totp.cancelReplacement(user), false, "nothing waiting");
      assert.equal(c.writes, writes, "nothing waiting: nothing written");
      const enrolledAt = clock.t;
      const next = await totp.enroll(user, { replace: true, keepCurrent: true });
      clock.t += 1000;
      assert.deepEqual(await totp.pendingReplacement(user), { enrolledAt, expiresAt: enrolledAt + 3_600_000 }, "waiting");
      writes = c.writes;
      assert.equal(await totp.cancelReplacement(user), true, "cancelled");
      assert.equal(c.writes, writes + 1, "one write");
      assert.equal(await totp.pendingReplacement(user), null, "none waiting after cancel");
      assert.equal(await totp.status(user), "active", "still enrolled");
      clock.t += 30_000;
      assert.deepEqual(await totp.check(user, await totpAt(next.secret, clock.t)), { ok: false, reason: "invalid" }, "the cancelled seed is void");
      assert.equal(await totp.verify(user, await totpAt(first.secret, clock.t)), true, "the current seed works");
      assert.equal(await totp.cancelReplacement(user), false, "cancelled once");
      // One left to lapse: shown until the hour is up, then not.
      const later = await totp.enroll(user, { replace: true, keepCurrent: true });
      assert.ok(later.secret !== next.secret, "a new seed");
      const at = clock.t;
      clock.t = at + 3_600_000 - 1;
      assert.equal((await totp.pendingReplacement(user))?.expiresAt, at + 3_600_000, "just before the hour");
      clock.t = at + 3_600_000;
      assert.equal(await totp.pendingReplacement(user), null, "void after the hour");
      assert.equal(await totp.cancelReplacement(user), false, "a void seed was not waiting");
      await rejects(assert, totp.cancelReplacement(42), "INVALID_ARGUMENT", "a non-string user");
    },
  },
  {
    name: "cancelReplacement({ enrolledAt }) drops only the seed enrolled then: one enrolled since (another tab) stays",
    async run({ makeStorage, api, assert }) {
      const { c, store } = countingWrites(await makeStorage());
      const { clock, totp } = setup({ api, storage: store });
      const user = newUser("cancel-guard");
      const first = await totp.enroll(user);
      assert.equal(await totp.verify(user, await totpAt(first.secret, clock.t)), true, "activated");
      await totp.enroll(user, { replace: true, keepCurrent: true });
      const shown = await totp.pendingReplacement(user);
      clock.t += 5000;
      // Another tab starts over: its seed replaces the one the settings page showed.
      const newer = await totp.enroll(user, { replace: true, keepCurrent: true });
      const now = await totp.pendingReplacement(user);
      assert.equal(now.enrolledAt, shown.enrolledAt + 5000, "the newer seed waits");
      const writes = c.writes;
      assert.equal(await totp.cancelReplacement(user, { enrolledAt: shown.enrolledAt }), false, "not the one shown");
      assert.equal(c.writes, writes, "nothing written");
      assert.deepEqual(await totp.pendingReplacement(user), now, "the newer seed still waits");
      for (const [bad, why] of [[{ enrolledAt: "1" }, "a string"], [{ enrolledAt: 1.5 }, "a fraction"],
        [{ enrolledAt: -1 }, "negative"], [{ enrolledAt: null }, "null"], [{ at: now.enrolledAt }, "an unknown key"],
        [7, "not an object"]]) {
        await rejects(assert, totp.cancelReplacement(user, bad), "INVALID_ARGUMENT", why);
      }
      assert.equal(c.writes, writes, "bad options write nothing");
      // Read once, before the storage read: a getter whose value changes is read as its first value.
      let reads = 0;
      const flipping = { get enrolledAt() { return reads++ === 0 ? now.enrolledAt : "later"; } };
      assert.equal(await totp.cancelReplacement(user, flipping), true, "the one shown now");
      assert.equal(reads, 1, "the enrolledAt getter ran once");
      assert.equal(await totp.pendingReplacement(user), null, "none waiting");
      clock.t += 30_000;
      assert.deepEqual(await totp.check(user, await totpAt(newer.secret, clock.t)), { ok: false, reason: "invalid" }, "the dropped seed is void");
      assert.equal(await totp.verify(user, await totpAt(first.secret, clock.t)), true, "the current seed works");
    },
  },
  {
    name: "replay: a right code for the last accepted step (or earlier) is replayed, not a failure",
    async run({ makeStorage, api, assert }) {
      const { clock, totp } = setup({ api, storage: await makeStorage(), options: { failureLimit: { count: 1, windowSeconds: 900 } } });
      const user = newUser("replay");
      const { secret } = await totp.enroll(user);
      const code = await totpAt(secret, clock.t);
      assert.deepEqual(await totp.check(user, code), { ok: true, reason: "verified" }, "first use");
      for (let i = 0; i < 5; i++) {
        assert.deepEqual(await totp.check(user, code), { ok: false, reason: "replayed" }, "replay");
      }
      assert.equal(await totp.verify(user, code), false, "verify of a replay");
      clock.t += 30_000;
      assert.deepEqual(await totp.check(user, code), { ok: false, reason: "replayed" }, "previous step");
      // Replays spent no budget (count 1): the next step's code verifies.
      assert.equal(await totp.verify(user, await totpAt(secret, clock.t)), true, "next step");
    },
  },
  {
    name: "window edges: exactly window steps either side accepted, one more rejected; spaces accepted",
    async run({ makeStorage, api, assert }) {
      for (const window of [1, 2]) {
        const { clock, totp } = setup({ api, storage: await makeStorage(), options: { window } });
        const user = newUser(`window-${window}`);
        const { secret } = await totp.enroll(user);
        const step = 30_000;
        assert.equal(await totp.verify(user, await totpAt(secret, clock.t - (window + 1) * step)), false, "one step too early");
        assert.equal(await totp.verify(user, await totpAt(secret, clock.t + (window + 1) * step)), false, "one step too late");
        assert.equal(await totp.verify(user, await totpAt(secret, clock.t - window * step)), true, "earliest accepted");
        const late = await totpAt(secret, clock.t + window * step);
        assert.equal(await totp.verify(user, `${late.slice(0, 3)} ${late.slice(3)}`), true, "latest accepted, with a space");
        assert.equal((await totp.check(user, await totpAt(secret, clock.t))).reason, "replayed", "now is before the last accepted");
      }
    },
  },
  {
    name: "clock injection: the now option decides the step; wrong length or non-digits are invalid",
    async run({ makeStorage, api, assert }) {
      const { clock, totp } = setup({ api, storage: await makeStorage(), options: { periodSeconds: 60, digits: 7 } });
      const user = newUser("clock");
      const { secret, uri } = await totp.enroll(user);
      assert.equal(parseUri(uri).period, 60, "period in uri");
      const later = clock.t + 10 * 60_000;
      const code = await totpAt(secret, later, { period: 60, digits: 7 });
      assert.equal(await totp.verify(user, code), false, "a code of ten minutes later, now");
      clock.t = later;
      assert.equal(await totp.verify(user, code.slice(1)), false, "six digits of seven");
      assert.equal(await totp.verify(user, `${code}0`), false, "eight digits");
      assert.equal(await totp.verify(user, "abcdefg"), false, "letters");
      assert.equal(await totp.verify(user, code), true, "the same code when the clock gets there");
    },
  },
  {
    name: "a now clock may use its own manager (it runs outside wasm)",
    async run({ makeStorage, api, assert }) {
      const clock = { t: T0, reads: 0 };
      const storage = await makeStorage();
      const totp = new api.TotpManager(storage, {
        secret: SECRET,
        issuer: "Acme",
        now: () => {
          clock.reads++;
          totp.keyFor("clock-user");
          return clock.t;
        },
      });
      const user = newUser("clock-reentry");
      const { secret } = await totp.enroll(user);
      assert.ok(clock.reads > 0, "enroll read the clock");
      assert.equal(await totp.verify(user, await totpAt(secret, clock.t)), true);
      assert.equal((await totp.newRecoveryCodes(user)).length > 0, true);
      // status, newRecoveryCodes and disable do not use the time: a broken clock does not
      // stop them (nor is it read).
      const broken = new api.TotpManager(storage, { secret: SECRET, issuer: "Acme", now: () => { throw new Error("clock broke"); } });
      assert.equal(await broken.status(user), "active");
      assert.equal((await broken.newRecoveryCodes(user)).length > 0, true);
      assert.equal(await broken.disable(user), true);
      assert.equal(await broken.status(user), "none");
    },
  },
  {
    name: "an enroll options getter may use its own manager; dispose() from it answers DISPOSED",
    async run({ makeStorage, api, assert }) {
      // The getter runs inside the engine call that reads the options (app code there
      // used to meet wasm-bindgen's "recursive use of an object" Error, and a dispose()
      // freed the engine under the running call).
      const storage = await makeStorage();
      const { clock, totp } = setup({ api, storage });
      const [user, other] = [newUser("getter"), newUser("getter-other")];
      const nested = [];
      const options = { get label() { nested.push(totp.status(other)); return "Ada"; } };
      const { secret } = await totp.enroll(user, options);
      assert.equal(nested.length, 1, "the getter ran once (the options are read once, before the storage read)");
      assert.deepEqual(await Promise.all(nested), ["none"], "the nested status answered");
      assert.equal(await totp.verify(user, await totpAt(secret, clock.t)), true, "the enrollment works");
      // A getter whose value changes: the enrollment is made with its first value.
      let reads = 0;
      const flipping = { get label() { return reads++ === 0 ? "First" : "\u0000"; } };
      const flipped = await totp.enroll(newUser("getter-flip"), flipping);
      assert.ok(flipped.uri.includes("First"), "the first label");
      assert.equal(reads, 1, "the flipping getter ran once");
      const doomed = setup({ api, storage, options: { scope: "getter-dispose" } }).totp;
      const disposing = { get label() { doomed.dispose(); return "Ada"; } };
      await rejects(assert, doomed.enroll(newUser("getter-dispose"), disposing), "DISPOSED", "enroll disposed by its getter");
      const again = setup({ api, storage, options: { scope: "getter-dispose" } }).totp;
      assert.equal((await again.enroll(newUser("getter-dispose"))).status, "pending", "a new manager with those options works");
    },
  },
  {
    name: "lockout: failures spend the budget, then locked with retryAfterMs and nothing compared; recovers after the window",
    async run({ makeStorage, api, assert }) {
      const { clock, totp } = setup({ api, storage: await makeStorage() });
      const user = newUser("lockout");
      const { secret } = await totp.enroll(user);
      const right = await totpAt(secret, clock.t);
      const wrong = String((Number(right) + 1) % 1e6).padStart(6, "0");
      for (let i = 0; i < 5; i++) {
        assert.deepEqual(await totp.check(user, wrong), { ok: false, reason: "invalid" }, `failure ${i + 1}`);
      }
      const locked = await totp.check(user, right);
      assert.equal(locked.reason, "locked", "right code while locked");
      assert.equal(locked.ok, false, "not ok");
      assert.ok(locked.retryAfterMs > 0 && locked.retryAfterMs <= 900_000, "retryAfterMs within the window");
      assert.equal(await totp.useRecoveryCode(user, "0000000000"), false, "recovery while locked");
      clock.t += locked.retryAfterMs;
      assert.equal(await totp.verify(user, await totpAt(secret, clock.t)), true, "after the window");
    },
  },
  {
    name: "recovery codes: single use, replaced as a set, wrong ones spend the shared budget",
    async run({ makeStorage, api, assert }) {
      const { clock, totp } = setup({ api, storage: await makeStorage(), options: { recoveryCodes: { count: 4, length: 12 } } });
      const user = newUser("recovery");
      await rejects(assert, totp.newRecoveryCodes(user), "NOT_ENROLLED", "before enrolling");
      const { secret } = await totp.enroll(user);
      const first = await totp.newRecoveryCodes(user);
      assert.equal(first.length, 4, "count");
      assert.ok(first.every((c) => /^[0-9a-hjkmnp-tv-z]{12}$/.test(c)), "length and alphabet");
      assert.equal(new Set(first).size, 4, "distinct");
      assert.equal(await totp.useRecoveryCode(user, first[0]), true, "first use");
      assert.equal(await totp.useRecoveryCode(user, first[0]), false, "second use");
      assert.equal(await totp.useRecoveryCode(user, first[1].toUpperCase().replace(/(....)/g, "$1-").slice(0, -1)), true, "case and hyphens ignored");
      const second = await totp.newRecoveryCodes(user);
      assert.equal(await totp.useRecoveryCode(user, first[2]), false, "old set void");
      assert.equal(await totp.useRecoveryCode(user, second[2]), true, "new set");
      // Wrong recovery codes and wrong TOTP codes share the budget (5).
      for (let i = 0; i < 4; i++) assert.equal(await totp.useRecoveryCode(user, "zzzzzzzzzzzz"), false, "wrong recovery");
      assert.equal((await totp.check(user, "abcdef")).reason, "invalid", "fifth failure, not digits");
      assert.equal((await totp.check(user, await totpAt(secret, clock.t))).reason, "locked", "budget spent across both");
      assert.equal(await totp.useRecoveryCode(user, second[3]), false, "locked for recovery too");
      clock.t += 900_000;
      assert.equal(await totp.useRecoveryCode(user, second[3]), true, "after the window");
    },
  },
  {
    name: "checkRecoveryCode: the verdict says why (accepted, used, invalid, locked with retryAfterMs, none), and spends as useRecoveryCode does",
    async run({ makeStorage, api, assert }) {
      const { clock, totp } = setup({ api, storage: await makeStorage(), options: { recoveryCodes: { count: 3, length: 10 } } });
      const user = newUser("recovery-verdict");
      const none = await totp.checkRecoveryCode(user, "0000000000");
      assert.deepEqual([none.ok, none.reason], [false, "none"], "not enrolled");
      await totp.enroll(user);
      const codes = await totp.newRecoveryCodes(user);
      const accepted = await totp.checkRecoveryCode(user, codes[0]);
      assert.deepEqual([accepted.ok, accepted.reason, accepted.retryAfterMs], [true, "accepted", undefined], "a fresh code");
      const used = await totp.checkRecoveryCode(user, codes[0]);
      assert.deepEqual([used.ok, used.reason], [false, "used"], "spent by checkRecoveryCode");
      assert.equal(await totp.useRecoveryCode(user, codes[0]), false, "and for useRecoveryCode too");
      for (let i = 0; i < 5; i++) {
        const wrong = await totp.checkRecoveryCode(user, "zzzzzzzzzz");
        assert.deepEqual([wrong.ok, wrong.reason], [false, "invalid"], `wrong ${i}`);
      }
      // The budget (5) is spent: a right code is not compared, and the verdict says so.
      const locked = await totp.checkRecoveryCode(user, codes[1]);
      assert.deepEqual([locked.ok, locked.reason], [false, "locked"], "locked");
      assert.ok(locked.retryAfterMs > 0 && locked.retryAfterMs <= 900_000, String(locked.retryAfterMs));
      clock.t += locked.retryAfterMs;
      assert.equal((await totp.checkRecoveryCode(user, codes[1])).reason, "accepted", "once the window has passed");
    },
  },
  {
    name: "recovery codes belong to the user: kept across enroll({ replace: true }), usable while pending, gone with disable",
    async run({ makeStorage, api, assert }) {
      const { clock, totp } = setup({ api, storage: await makeStorage(), options: { recoveryCodes: { count: 3, length: 10 } } });
      const user = newUser("recovery-replace");
      const { secret } = await totp.enroll(user);
      assert.equal(await totp.verify(user, await totpAt(secret, clock.t)), true, "activated");
      const codes = await totp.newRecoveryCodes(user);
      await totp.enroll(user, { replace: true }); // a new phone
      assert.equal(await totp.status(user), "pending", "re-enrolling");
      assert.equal(await totp.useRecoveryCode(user, codes[0]), true, "the printed codes still work while pending");
      assert.equal(await totp.useRecoveryCode(user, codes[0]), false, "and each only once");
      assert.equal(await totp.disable(user), true);
      assert.equal(await totp.useRecoveryCode(user, codes[1]), false, "disable removes them");
    },
  },
  {
    name: "disable: deletes the enrollment; none afterwards",
    async run({ makeStorage, api, assert }) {
      const storage = await makeStorage();
      const { clock, totp } = setup({ api, storage });
      const user = newUser("disable");
      assert.equal(await totp.disable(user), false, "nothing to disable");
      const { secret } = await totp.enroll(user);
      await totp.newRecoveryCodes(user);
      assert.equal(await totp.disable(user), true, "disabled");
      assert.equal(await totp.status(user), "none", "status none");
      assert.deepEqual(await totp.check(user, await totpAt(secret, clock.t)), { ok: false, reason: "none" }, "check after");
      assert.equal(await totp.useRecoveryCode(user, "0000000000"), false, "recovery after");
      assert.ok((await storage.get(totp.keyFor(user))) == null, "record gone");
      assert.equal(await totp.disable(user), false, "twice");
    },
  },
  {
    name: "bad input: typed errors, nothing written",
    async run({ makeStorage, api, assert }) {
      const { store, c } = countingWrites(await makeStorage());
      const { totp } = setup({ api, storage: store });
      const user = newUser("bad");
      await rejects(assert, totp.enroll(user, { secret: "not base32!" }), "INVALID_ARGUMENT", "bad base32");
      await rejects(assert, totp.enroll(user, { secret: "AAAA" }), "INVALID_ARGUMENT", "seed too short");
      await rejects(assert, totp.enroll(user, { secret: 42 }), "INVALID_ARGUMENT", "secret not a string");
      await rejects(assert, totp.enroll(user, { label: 42 }), "INVALID_ARGUMENT", "label not a string");
      await rejects(assert, totp.enroll(user, { label: "a\nb" }), "INVALID_ARGUMENT", "label with a control character");
      // The user id is the default label: the refusal says so, and names the way out.
      const ctl = await rejects(assert, totp.enroll("tenant\t42"), "INVALID_ARGUMENT", "a user id with a control character as the label");
      assert.ok(ctl.argument === "label" && ctl.message.includes("user id") && ctl.message.includes("options.label"), ctl.message);
      await rejects(assert, totp.enroll(user, { replace: "yes" }), "INVALID_ARGUMENT", "replace not a boolean");
      const typo = await rejects(assert, totp.enroll(user, { sekret: "x" }), "INVALID_ARGUMENT", "unknown enroll key");
      assert.ok(typo.message.endsWith(": sekret") && typo.argument === "options", typo.message);
      await rejects(assert, totp.enroll(user, "options"), "INVALID_ARGUMENT", "options not an object");
      // A revoked Proxy as options: its TypeError, and the engine keeps working.
      const revocable = Proxy.revocable({}, {});
      revocable.revoke();
      let trapped = null;
      await totp.enroll(user, revocable.proxy).catch((e) => (trapped = e));
      assert.ok(trapped !== null && !/recursive use/.test(String(trapped.message)), String(trapped?.message));
      await rejects(assert, totp.enroll("", {}), "INVALID_ARGUMENT", "empty user");
      await rejects(assert, totp.enroll(42), "INVALID_ARGUMENT", "user not a string");
      assert.equal(c.writes, 0, "no write for a refused enroll");
      assert.equal((await totp.enroll("tenant\t42", { label: "tenant 42" })).status, "pending", "a user id with a tab, with a label");
      await totp.enroll(user);
      const before = c.writes;
      for (const code of [123456, null, undefined, {}, ["123456"]]) {
        await rejects(assert, totp.verify(user, code), "INVALID_ARGUMENT", `code ${typeof code}`);
        await rejects(assert, totp.check(user, code), "INVALID_ARGUMENT", `check code ${typeof code}`);
        await rejects(assert, totp.useRecoveryCode(user, code), "INVALID_ARGUMENT", `recovery code ${typeof code}`);
      }
      assert.equal(c.writes, before, "no write for refused codes");
      const bad = [
        [{}, "INVALID_CONFIG"],
        [{ secret: SECRET }, "INVALID_CONFIG"],
        [{ secret: "short", issuer: "Acme" }, "INVALID_CONFIG"],
        [{ secret: SECRET, issuer: "Ac:me" }, "INVALID_CONFIG"],
        [{ secret: SECRET, issuer: "Acme", digits: 9 }, "INVALID_CONFIG"],
        [{ secret: SECRET, issuer: "Acme", digits: 5 }, "INVALID_CONFIG"],
        [{ secret: SECRET, issuer: "Acme", digits: null }, "INVALID_CONFIG"],
        [{ secret: SECRET, issuer: "Acme", algorithm: "MD5" }, "INVALID_CONFIG"],
        [{ secret: SECRET, issuer: "Acme", periodSeconds: 0 }, "INVALID_CONFIG"],
        [{ secret: SECRET, issuer: "Acme", window: 11 }, "INVALID_CONFIG"],
        [{ secret: SECRET, issuer: "Acme", recoveryCodes: { count: 0 } }, "INVALID_CONFIG"],
        [{ secret: SECRET, issuer: "Acme", recoveryCodes: { length: 7 } }, "INVALID_CONFIG"],
        [{ secret: SECRET, issuer: "Acme", failureLimit: { count: 5 } }, "INVALID_CONFIG"],
        [{ secret: SECRET, issuer: "Acme", retentionSeconds: 3600 }, "INVALID_CONFIG"],
        [{ secret: SECRET, issuer: "Acme", ttlSeconds: 60 }, "INVALID_CONFIG"],
      ];
      for (const [options, code] of bad) {
        let error = null;
        try {
          new api.TotpManager(store, options);
        } catch (e) {
          error = e;
        }
        assert.ok(error instanceof api.OtpError, `options ${Object.keys(options).join(",")}: OtpError`);
        assert.equal(error.code, code, `options ${Object.keys(options).join(",")}: code`);
      }
      assert.equal(c.writes, before, "no write for refused options");
    },
  },
  {
    name: "at rest: the record reveals no seed and no recovery code; copied to another user it does not open",
    async run({ makeStorage, api, assert }) {
      const storage = await makeStorage();
      const { clock, totp } = setup({ api, storage });
      const ada = newUser("ada");
      const bob = newUser("bob");
      const { secret } = await totp.enroll(ada);
      const codes = await totp.newRecoveryCodes(ada);
      const record = await storage.get(totp.keyFor(ada));
      assert.ok(typeof record === "string" && record.length > 0, "a record string");
      const seedHex = Array.from(base32Decode(secret), (b) => b.toString(16).padStart(2, "0")).join("");
      assert.ok(!record.includes(secret) && !record.toLowerCase().includes(seedHex), "no seed in the record");
      assert.ok(codes.every((c) => !record.includes(c)), "no recovery code in the record");
      await storage.put(totp.keyFor(bob), record);
      await rejects(assert, totp.check(bob, await totpAt(secret, clock.t)), "CORRUPT_RECORD", "copied record");
      await rejects(assert, totp.useRecoveryCode(bob, codes[0]), "CORRUPT_RECORD", "copied record, recovery");
      assert.equal(await totp.verify(ada, await totpAt(secret, clock.t)), true, "still opens for its user");
    },
  },
  {
    name: "an imported seed gives the generator's codes across the window",
    async run({ makeStorage, api, assert }) {
      const storage = await makeStorage();
      const seed = crypto.getRandomValues(new Uint8Array(20));
      const secret = base32Encode(seed);
      for (const algorithm of ["SHA1", "SHA256", "SHA512"]) {
        const { clock, totp } = setup({ api, storage, options: { algorithm } });
        const user = newUser(`import-${algorithm}`);
        const e = await totp.enroll(user, { secret: secret.toLowerCase().replace(/(....)/g, "$1 ") });
        assert.ok(e.secret === secret, "normalised seed");
        for (const offset of [-1, 0, 1]) {
          const code = await totpAt(secret, clock.t + offset * 30_000, { algorithm });
          assert.equal(await totp.verify(user, code), true, `${algorithm} offset ${offset}`);
        }
        totp.dispose();
      }
    },
  },
  {
    name: "managers with equal options share an engine; dispose",
    async run({ makeStorage, api, assert }) {
      const storage = await makeStorage();
      const a = setup({ api, storage });
      const b = setup({ api, storage });
      const user = newUser("share");
      const { secret } = await a.totp.enroll(user);
      a.totp.dispose();
      await rejects(assert, a.totp.status(user), "DISPOSED", "disposed manager");
      assert.equal(await b.totp.verify(user, await totpAt(secret, b.clock.t)), true, "the other manager still works");
      assert.equal(a.totp.policy.issuer, "Acme", "policy stays readable");
    },
  },
  {
    name: "managers differing in one setting each follow their own (no engine shared across settings)",
    async run({ makeStorage, api, assert }) {
      const storage = await makeStorage();
      const base = setup({ api, storage }); // its engine stays in the pool meanwhile
      const uriOf = async (options) => {
        const { totp } = setup({ api, storage, options });
        const uri = parseUri((await totp.enroll(newUser("variant"))).uri);
        totp.dispose();
        return uri;
      };
      assert.equal((await uriOf({ issuer: "Other" })).issuer, "Other", "issuer");
      assert.equal((await uriOf({ algorithm: "SHA256" })).algorithm, "SHA256", "algorithm");
      assert.equal((await uriOf({ digits: 8 })).digits, 8, "digits");
      assert.equal((await uriOf({ periodSeconds: 60 })).period, 60, "period");
      // window 0: the previous step's code is refused (the base policy's window 1 takes it).
      const narrow = setup({ api, storage, options: { window: 0 } });
      const user = newUser("variant-window");
      const { secret } = await narrow.totp.enroll(user);
      assert.equal(await narrow.totp.verify(user, await totpAt(secret, narrow.clock.t)), true, "window 0: now");
      // Two steps on, the previous step's code (never used, so not a replay) is refused.
      narrow.clock.t += 60_000;
      const previous = await totpAt(secret, narrow.clock.t - 30_000);
      assert.deepEqual(await narrow.totp.check(user, previous), { ok: false, reason: "invalid" }, "window 0: one step back");
      // failureLimit of 1: one wrong code locks (the base policy allows 5).
      const strict = setup({ api, storage, options: { failureLimit: { count: 1, windowSeconds: 900 } } });
      const other = newUser("variant-limit");
      const enrolled = await strict.totp.enroll(other);
      assert.equal(await strict.totp.verify(other, await totpAt(enrolled.secret, strict.clock.t)), true, "limit 1: enrolled");
      strict.clock.t += 30_000;
      const right = await totpAt(enrolled.secret, strict.clock.t);
      const wrong = String((Number(right) + 1) % 1e6).padStart(6, "0");
      assert.equal((await strict.totp.check(other, wrong)).reason, "invalid", "limit 1: first wrong code");
      assert.equal((await strict.totp.check(other, wrong)).reason, "locked", "limit 1: then locked");
      base.totp.dispose();
      narrow.totp.dispose();
      strict.totp.dispose();
    },
  },
];

/** Runs every case with `node:test` (Node only). */
export async function runTotpSuite(test, { makeStorage, api, assert, skip = [] }) {
  for (const c of cases) {
    test(c.name, { skip: skip.includes(c.name) }, () => c.run({ makeStorage, api, assert }));
  }
}
