// Benchmark contenders for edge-otp.
//
// Every factory is async (some need dynamic imports) and resolves to an object
// with the same async interface:
//
//   {
//     name: string,
//     create(user)        -> Promise<string>          // the issued code
//     verify(user, code)  -> Promise<boolean>
//     latest(user)        -> Promise<object | null>   // latest record for the user
//     prepare?(users)     -> Promise<void>            // optional, untimed set-up
//   }
//
// Users are plain strings; the harness uses e-mail shaped ids
// ("u123@bench.test") because Better Auth requires e-mail addresses.
//
// All contenders use the same policy: 4-digit numeric code, 3 attempts,
// 1 hour lifetime, no rate limiting.

import {
  createHmac,
  randomInt,
  timingSafeEqual,
} from "node:crypto";

export const SECRET = "bench-secret-0123456789abcdef";
export const LENGTH = 4;
export const MAX_ATTEMPTS = 3;
export const TTL_SECONDS = 3600;

const TTL_MS = TTL_SECONDS * 1000;
const CODE_RE = /^[0-9]{4}$/;

function statusOf(rec, now) {
  if (rec.used) return "used";
  if (now >= rec.expiresAt) return "expired";
  if (rec.attempts >= rec.maxAttempts) return "exhausted";
  return "active";
}

function publicView(rec, now) {
  return {
    createdAt: rec.createdAt,
    expiresAt: rec.expiresAt,
    attempts: rec.attempts,
    maxAttempts: rec.maxAttempts,
    status: statusOf(rec, now),
  };
}

// ---------------------------------------------------------------------------
// 1. Hand-rolled reference with node:crypto.
//    Store: Map<user, JSON string>. The record keeps HMAC-SHA256(secret,
//    user ":" code) in hex, never the code itself.
// ---------------------------------------------------------------------------
export async function jsNodeCrypto() {
  const store = new Map();
  const mac = (user, code) =>
    createHmac("sha256", SECRET).update(user + ":" + code).digest("hex");

  return {
    name: "js node:crypto",
    async create(user) {
      const code = String(randomInt(0, 10 ** LENGTH)).padStart(LENGTH, "0");
      const now = Date.now();
      store.set(
        user,
        JSON.stringify({
          mac: mac(user, code),
          createdAt: now,
          expiresAt: now + TTL_MS,
          attempts: 0,
          maxAttempts: MAX_ATTEMPTS,
          used: false,
        }),
      );
      return code;
    },
    async verify(user, code) {
      if (typeof code !== "string" || !CODE_RE.test(code)) return false;
      const raw = store.get(user);
      if (raw == null) return false;
      const rec = JSON.parse(raw);
      if (rec.used || Date.now() >= rec.expiresAt || rec.attempts >= rec.maxAttempts) {
        return false;
      }
      const ok = timingSafeEqual(
        Buffer.from(mac(user, code), "hex"),
        Buffer.from(rec.mac, "hex"),
      );
      if (ok) rec.used = true;
      else rec.attempts += 1;
      store.set(user, JSON.stringify(rec));
      return ok;
    },
    async latest(user) {
      const raw = store.get(user);
      if (raw == null) return null;
      return publicView(JSON.parse(raw), Date.now());
    },
  };
}

// ---------------------------------------------------------------------------
// 2. The same logic with WebCrypto only (what an edge Worker without
//    node:crypto would write): HMAC key imported once, crypto.subtle.sign,
//    crypto.getRandomValues with rejection sampling, constant-time compare
//    written by hand over the bytes.
// ---------------------------------------------------------------------------
export async function jsWebCrypto() {
  const { subtle } = globalThis.crypto;
  const enc = new TextEncoder();
  const key = await subtle.importKey(
    "raw",
    enc.encode(SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const store = new Map();
  const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
  const toHex = (bytes) => {
    let s = "";
    for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
    return s;
  };
  const fromHex = (hex) => {
    const out = new Uint8Array(hex.length >>> 1);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
    return out;
  };
  const mac = async (user, code) =>
    new Uint8Array(await subtle.sign("HMAC", key, enc.encode(user + ":" + code)));
  const equalBytes = (a, b) => {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  };
  const MOD = 10 ** LENGTH;
  const LIMIT = 2 ** 32 - (2 ** 32 % MOD); // reject above this: unbiased
  const rnd = new Uint32Array(1);
  const randomCode = () => {
    let x;
    do {
      globalThis.crypto.getRandomValues(rnd);
      x = rnd[0];
    } while (x >= LIMIT);
    return String(x % MOD).padStart(LENGTH, "0");
  };

  return {
    name: "js WebCrypto",
    async create(user) {
      const code = randomCode();
      const now = Date.now();
      store.set(
        user,
        JSON.stringify({
          mac: toHex(await mac(user, code)),
          createdAt: now,
          expiresAt: now + TTL_MS,
          attempts: 0,
          maxAttempts: MAX_ATTEMPTS,
          used: false,
        }),
      );
      return code;
    },
    async verify(user, code) {
      if (typeof code !== "string" || !CODE_RE.test(code)) return false;
      const raw = store.get(user);
      if (raw == null) return false;
      const rec = JSON.parse(raw);
      if (rec.used || Date.now() >= rec.expiresAt || rec.attempts >= rec.maxAttempts) {
        return false;
      }
      const ok = equalBytes(await mac(user, code), fromHex(rec.mac));
      if (ok) rec.used = true;
      else rec.attempts += 1;
      store.set(user, JSON.stringify(rec));
      return ok;
    },
    async latest(user) {
      const raw = store.get(user);
      if (raw == null) return null;
      return publicView(JSON.parse(raw), Date.now());
    },
  };
}

// ---------------------------------------------------------------------------
// 3. Better Auth (v1.7.x) email-otp plugin, in-process.
//
// API used (all server-side `auth.api.*`, no HTTP, no request object):
//   create  -> auth.api.sendVerificationOTP({ body: { email, type: "sign-in" } })
//              the code is captured from the plugin's sendVerificationOTP hook.
//   verify  -> auth.api.checkVerificationOTP({ body: { email, type: "sign-in", otp } })
//              This is the only email-otp endpoint that checks an OTP without
//              signing in (signInEmailOTP creates a user + session;
//              verifyEmailOTP updates the user). Internally it atomically
//              consumes the verification row, compares, and on failure
//              re-creates it with attempts + 1; on success it re-creates the
//              row unchanged ("restore": the code is NOT consumed). After a
//              passed check it looks the user up and throws USER_NOT_FOUND if
//              there is none. Failures are thrown APIErrors (INVALID_OTP,
//              TOO_MANY_ATTEMPTS, OTP_EXPIRED), mapped to `false`.
//   latest  -> auth.api.getVerificationOTP({ query: { email, type: "sign-in" } })
//              (server-only endpoint; returns { otp } or { otp: null }; it
//              exposes no attempts/status).
//
// Plugin options: otpLength 4, expiresIn 3600, allowedAttempts 3, storeOTP
// default ("plain": the row holds the code itself, the cheapest mode).
// Auth options: logger disabled, rate limiting and telemetry off.
//
// Two storage set-ups (`storage` argument):
//   "memory": everything in Better Auth's memoryAdapter (the brief's set-up).
//             The users exist (created in `prepare`, untimed), so a correct
//             code returns { success: true }. Caveat: this is Better Auth's
//             development adapter. Lookups are linear scans of the table
//             arrays and every transaction (the verify path runs one)
//             structuredClone()s the whole in-memory database twice and
//             JSON-compares every row when merging back, so the cost per
//             verify grows linearly with the number of rows (users +
//             verification rows). Numbers therefore depend on the pool size;
//             run.mjs gives this contender a smaller pool (BENCH_BA_USERS).
//   "kv":     memoryAdapter for the database plus a Map-backed
//             `secondaryStorage` (the Redis-style set-up); verification rows
//             then live only in the Map (storeInDatabase defaults to false),
//             so the OTP path does no table scans and no transactions. No
//             user rows are created, so the user lookup after a passed check
//             is O(1) and throws USER_NOT_FOUND: that error is only reachable
//             after the OTP check passed, so it is counted as `true`. This
//             isolates the plugin's OTP logic + endpoint machinery from the
//             dev adapter, the closest like-for-like with edge-otp on a KV.
// ---------------------------------------------------------------------------
function mapSecondaryStorage() {
  const m = new Map();
  return {
    get: (key) => m.get(key) ?? null,
    set: (key, value) => {
      m.set(key, value);
    },
    delete: (key) => {
      m.delete(key);
    },
    getAndDelete: (key) => {
      const v = m.get(key) ?? null;
      m.delete(key);
      return v;
    },
    increment: (key) => {
      const v = (Number(m.get(key)) || 0) + 1;
      m.set(key, String(v));
      return v;
    },
  };
}

export async function betterAuth(storage = "memory") {
  if (storage !== "memory" && storage !== "kv") {
    throw new Error(`betterAuth: unknown storage ${storage}`);
  }
  const [{ betterAuth: createAuth }, { memoryAdapter }, { emailOTP }] = await Promise.all([
    import("better-auth"),
    import("better-auth/adapters/memory"),
    import("better-auth/plugins/email-otp"),
  ]);
  const db = { user: [], session: [], account: [], verification: [] };
  let captured = null;
  const auth = createAuth({
    baseURL: "http://127.0.0.1:3000",
    secret: SECRET + "-better-auth-needs-32-chars",
    database: memoryAdapter(db),
    ...(storage === "kv" ? { secondaryStorage: mapSecondaryStorage() } : {}),
    logger: { disabled: true },
    telemetry: { enabled: false },
    rateLimit: { enabled: false },
    plugins: [
      emailOTP({
        otpLength: LENGTH,
        expiresIn: TTL_SECONDS,
        allowedAttempts: MAX_ATTEMPTS,
        async sendVerificationOTP({ otp }) {
          captured = otp;
        },
      }),
    ],
  });
  const ctx = await auth.$context;
  const passedWithoutUser = storage === "kv";

  return {
    name: `better-auth ${storage}`,
    db,
    async prepare(users) {
      if (storage !== "memory") return;
      for (const email of users) {
        await ctx.internalAdapter.createUser({ email, name: email, emailVerified: true });
      }
    },
    async create(user) {
      captured = null;
      await auth.api.sendVerificationOTP({ body: { email: user, type: "sign-in" } });
      const code = captured;
      if (code == null) throw new Error("better-auth: sendVerificationOTP hook not called");
      return code;
    },
    async verify(user, code) {
      try {
        const res = await auth.api.checkVerificationOTP({
          body: { email: user, type: "sign-in", otp: code },
        });
        return res?.success === true;
      } catch (err) {
        if (err && typeof err === "object" && "statusCode" in err) {
          // APIError. USER_NOT_FOUND is thrown only after the OTP check passed.
          return passedWithoutUser && err.body?.code === "USER_NOT_FOUND";
        }
        throw err;
      }
    },
    async latest(user) {
      const res = await auth.api.getVerificationOTP({ query: { email: user, type: "sign-in" } });
      return res?.otp == null ? null : res;
    },
  };
}

// ---------------------------------------------------------------------------
// 4. edge-otp (the package in ../pkg, Node entry).
//    storeKind "memory":      the package's memoryStorage()
//    storeKind "promise-map": a Map whose get/put return Promises (KV-like)
// ---------------------------------------------------------------------------
export const EDGE_OTP_OPTIONS = Object.freeze({
  secret: SECRET,
  length: LENGTH,
  maxAttempts: MAX_ATTEMPTS,
  ttlSeconds: TTL_SECONDS,
  resendCooldownSeconds: 0,
  issueLimit: null,
  failureLimit: null,
});

let edgeOtpModule;
export async function loadEdgeOtp() {
  edgeOtpModule ??= import(new URL("../pkg/node.js", import.meta.url).href);
  return edgeOtpModule;
}

export async function edgeOtp(storeKind = "memory") {
  const { OtpManager, memoryStorage } = await loadEdgeOtp();
  let storage;
  if (storeKind === "memory") {
    storage = memoryStorage();
  } else if (storeKind === "promise-map") {
    const m = new Map();
    storage = {
      get: (key) => Promise.resolve(m.get(key) ?? null),
      put: (key, value) => {
        m.set(key, value);
        return Promise.resolve();
      },
    };
  } else {
    throw new Error(`edgeOtp: unknown storeKind ${storeKind}`);
  }
  const otp = new OtpManager(storage, { ...EDGE_OTP_OPTIONS });
  return {
    name: `edge-otp ${storeKind}`,
    async create(user) {
      return (await otp.create(user)).code;
    },
    verify(user, code) {
      return otp.verify(user, code);
    },
    latest(user) {
      return otp.getLatestOtp(user);
    },
  };
}

// ---------------------------------------------------------------------------
// Floor: the node:crypto reference with the cryptography taken out (the code kept
// in the clear, compared with ===, Math.random for the code). Not a contender anyone
// should ship: it measures what the bookkeeping alone (an async call, a Map read,
// JSON parse and stringify, a Map write) costs in this harness, i.e. the lower bound
// for any implementation of the same contract over a JS store.
// ---------------------------------------------------------------------------
export async function jsFloor() {
  const store = new Map();
  return {
    name: "js floor (no crypto)",
    async create(user) {
      const code = String(Math.floor(Math.random() * 10 ** LENGTH)).padStart(LENGTH, "0");
      const now = Date.now();
      store.set(user, JSON.stringify({
        code, createdAt: now, expiresAt: now + TTL_MS, attempts: 0, maxAttempts: MAX_ATTEMPTS, used: false,
      }));
      return code;
    },
    async verify(user, code) {
      if (typeof code !== "string" || !CODE_RE.test(code)) return false;
      const raw = store.get(user);
      if (raw == null) return false;
      const rec = JSON.parse(raw);
      if (rec.used || Date.now() >= rec.expiresAt || rec.attempts >= rec.maxAttempts) return false;
      const ok = code === rec.code;
      if (ok) rec.used = true;
      else rec.attempts += 1;
      store.set(user, JSON.stringify(rec));
      return ok;
    },
    async latest(user) {
      const raw = store.get(user);
      if (raw == null) return null;
      return publicView(JSON.parse(raw), Date.now());
    },
  };
}

// Registry used by run.mjs: [id, factory]. Order = baseline first.
export const CONTENDERS = [
  ["edge-otp-memory", () => edgeOtp("memory")],
  ["edge-otp-promise-map", () => edgeOtp("promise-map")],
  ["js-node-crypto", jsNodeCrypto],
  ["js-webcrypto", jsWebCrypto],
  ["js-floor", jsFloor],
  ["better-auth-kv", () => betterAuth("kv")],
  ["better-auth-memory", () => betterAuth("memory")],
];
