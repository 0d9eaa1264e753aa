// edge-otp, runtime-neutral core of the package: OtpManager, OtpError, memoryStorage.
//
// This file is the storage driver only. Every OTP rule lives in Rust (src/engine.rs);
// here we read the record, make one synchronous call into wasm, and write what the core
// asked to write (compare-and-swap when the store offers it, retried on conflict).
// Entry files per runtime (node.js, workerd.js, browser.js) initialise the wasm and
// re-export this API; `edge-otp/slim` leaves initialisation to the caller.

import wasmInit, { initSync as wasmInitSync, Engine } from "./wasm/edge_otp.js";

let ready = false;
/** The wasm exports (for `memory`), once initialised. */
let exports;

/**
 * Loads the wasm module asynchronously. `input` is anything wasm-bindgen's loader takes:
 * a `WebAssembly.Module`, bytes, a `Response`, a URL; omitted, the `.wasm` next to the
 * glue is fetched.
 */
export async function init(input) {
  if (ready) return;
  exports = await wasmInit(input === undefined ? undefined : { module_or_path: input });
  ready = true;
}

/** Loads the wasm module synchronously from a `WebAssembly.Module` or bytes. */
export function initSync(input) {
  if (ready) return;
  const withOptions = input !== null && typeof input === "object" && "module" in input;
  const module = withOptions ? input.module : input;
  if (withOptions && input.getRandomValues !== undefined) {
    if (typeof input.getRandomValues !== "function") {
      throw new TypeError("edge-otp: getRandomValues must be a function filling a Uint8Array");
    }
    fillRandom = input.getRandomValues;
  }
  exports = wasmInitSync({ module });
  ready = true;
}

// Fills a Uint8Array with CSPRNG bytes; the Node entries pass a cheaper one to initSync.
let fillRandom = (bytes) => globalThis.crypto.getRandomValues(bytes);

/** The error type of edge-otp. `code` is stable; branch on it, not on the message. */
export class OtpError extends Error {
  constructor(code, message, fields) {
    super(`edge-otp: ${message}`);
    this.name = "OtpError";
    this.code = code;
    if (fields) Object.assign(this, fields);
  }
}

// Operation and answer numbers: keep in step with src/wasm/mod.rs.
const OP_CREATE = 0;
const OP_GENERATE = 1;
const OP_LATEST = 2;
const OP_VERIFY = 3;
const OP_RESET = 4;
const OP_INVALIDATE = 5;
const A_ISSUED = 0;
const A_RATE_LIMITED = 1;
const A_ACTIVE_EXISTS = 2;
const A_LATEST_NONE = 3;
const A_LATEST = 4;
const A_VERDICT = 10;
const A_FALSE = 20;
const A_TRUE = 21;
const E_CORRUPT_RECORD = -2;
const E_NEED_SALT = -3;

// The engine's I/O buffer (see src/wasm/mod.rs): inputs, then outputs.
const IO_USER = 0;
const IO_CODE = 256;
const IO_STORED = 512;
const IO_SALT = 1536;
const IO_WRITE_LEN = 1552;
const IO_CODE_LEN = 1554;
const IO_MSG_LEN = 1555;
const IO_NUMS = 1560;
const IO_WRITE = 1600;
const IO_CODE_OUT = 1856;
const IO_MSG = 1920;
const IO_LEN = 2048;
const CFG_SECRET = 0;
const CFG_SCOPE = 1024;
const CFG_ALPHABET = 1056;
const CFG_END = 1120;
const SALT_LEN = 16;

const STATUS = ["active", "expired", "exhausted", "used", "superseded"];
const REASONS = ["verified", "invalid", "expired", "exhausted", "used", "none", "locked"];

/** Compare-and-swap conflicts tolerated per operation before CONFLICT. */
export const MAX_TRIES = 16;
/** Longest stored value accepted (a record is at most 160 bytes). */
const MAX_RECORD_CHARS = 1024;
/** Longest user id in UTF-16 units; the exact limit, 256 UTF-8 bytes, is checked in checkUser and again in Rust. */
const MAX_USER_UNITS = 256;
const MAX_USER_BYTES = 256;
/** Longest submitted code accepted; a longer string cannot be a code. */
const MAX_CODE_UNITS = 256;

const OPTION_KEYS = new Set([
  "secret", "ttlSeconds", "maxAttempts", "length", "alphabet", "scope", "keyPrefix",
  "resendCooldownSeconds", "issueLimit", "failureLimit", "retentionSeconds", "now",
]);

const invalidConfig = (message) => new OtpError("INVALID_CONFIG", message);
const invalidArgument = (message) => new OtpError("INVALID_ARGUMENT", message);

const isThenable = (v) =>
  v !== null && (typeof v === "object" || typeof v === "function") && typeof v.then === "function";

const wellFormed =
  typeof String.prototype.isWellFormed === "function"
    ? (s) => s.isWellFormed()
    : (s) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

// Options are read as own properties only: a polluted Object.prototype must not change policy.
const own = (options, key) => (Object.hasOwn(options, key) ? options[key] : undefined);
const ownOr = (options, key, fallback) => {
  const v = own(options, key);
  return v === undefined ? fallback : v;
};

function number(options, key, fallback) {
  const v = own(options, key);
  if (v === undefined) return fallback;
  if (typeof v !== "number") throw invalidConfig(`${key} must be a number`);
  return v;
}

function limitOption(options, key, fallback) {
  const v = own(options, key);
  if (v === undefined) return fallback;
  if (v === null) return [-1, 0];
  if (typeof v !== "object" || Array.isArray(v)) {
    throw invalidConfig(`${key} must be { count, windowSeconds } or null`);
  }
  for (const k of Object.keys(v)) {
    if (k !== "count" && k !== "windowSeconds") throw invalidConfig(`${key} has an unknown field`);
  }
  const count = own(v, "count");
  const windowSeconds = own(v, "windowSeconds");
  if (typeof count !== "number" || typeof windowSeconds !== "number") {
    throw invalidConfig(`${key}.count and ${key}.windowSeconds must be numbers`);
  }
  if (!(count >= 1)) throw invalidConfig(`${key}.count must be at least 1`);
  return [count, windowSeconds];
}

function secretBytes(secret) {
  if (typeof secret === "string") return new TextEncoder().encode(secret);
  if (secret instanceof Uint8Array) return secret;
  throw invalidConfig("secret must be a string or a Uint8Array of at least 16 bytes");
}

// UTF-8 length of a well-formed string (a surrogate pair is 4 bytes, 2 units).
function utf8Length(s) {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x800 && (c < 0xd800 || c > 0xdfff)) n += 2; // 3 bytes
    else if (c >= 0x80) n += 1; // 2 bytes, or half of a 4-byte pair
  }
  return n;
}

function checkUser(user) {
  if (typeof user !== "string") throw invalidArgument("user must be a string");
  if (user.length === 0) throw invalidArgument("user must not be empty");
  // Up to 85 units cannot exceed 256 bytes; longer ids are measured exactly, before any
  // storage call and before anything crosses into wasm.
  if (user.length > MAX_USER_UNITS || (user.length > 85 && utf8Length(user) > MAX_USER_BYTES)) {
    throw invalidArgument("user must be at most 256 bytes of utf-8");
  }
  if (!wellFormed(user)) throw invalidArgument("user must be well-formed unicode (no lone surrogates)");
}

const encoder = new TextEncoder();

// Writes `s` at `at` as UTF-8 within `cap` bytes; returns the byte count, or -1 when it
// does not fit. Short ASCII strings (user ids, codes) are copied by hand, which is cheaper
// than encodeInto's call; longer ones (records) go through encodeInto, which is cheaper
// than the loop.
function putUtf8(u8, at, s, cap) {
  const n = s.length;
  if (n <= 32 && n <= cap) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      u8[at + i] = c;
    }
    if (i === n) return n;
  }
  const { read, written } = encoder.encodeInto(s, u8.subarray(at, at + cap));
  return read === n ? written : -1;
}

// Writes a record or a code: records and codes are ASCII, so any non-ASCII input is
// corrupt or wrong already; when its UTF-8 does not fit, one 0 byte (never part of a
// record or a code) stands for it.
function putText(u8, at, s, cap) {
  const n = putUtf8(u8, at, s, cap);
  if (n >= 0) return n;
  u8[at] = 0;
  return 1;
}

// Reads `n` bytes at `at` (ASCII: the core writes nothing else). TextDecoder is 3x faster
// than String.fromCharCode.apply beyond a few dozen bytes; below, the call costs more.
const decoder = new TextDecoder();
const getAscii = (u8, at, n) =>
  n > 24 ? decoder.decode(u8.subarray(at, at + n)) : String.fromCharCode.apply(null, u8.subarray(at, at + n));

function randomSalt(u8) {
  try {
    fillRandom(u8.subarray(IO_SALT, IO_SALT + SALT_LEN));
  } catch {
    throw new OtpError("ENTROPY", "no randomness available (in Workers, call inside a request handler)");
  }
}

/**
 * Issues and checks one-time codes for one scope, over any key-value store with
 * `get` / `put` (sync or Promise-returning) and an optional `compareAndSwap`.
 */
export class OtpManager {
  #engine;
  #io;
  #view;
  #dv;
  #storage;
  #prefix;
  #clock;
  #putOptions;
  #cas;

  constructor(storage, options) {
    if (!ready) {
      throw new OtpError(
        "NOT_INITIALIZED",
        "the wasm module is not initialised: call init() or initSync() from edge-otp/slim first",
      );
    }
    if (storage === null || typeof storage !== "object" && typeof storage !== "function" ||
        typeof storage.get !== "function" || typeof storage.put !== "function") {
      throw invalidConfig("storage must have get(key) and put(key, value) functions");
    }
    if (storage.compareAndSwap !== undefined && typeof storage.compareAndSwap !== "function") {
      throw invalidConfig("storage.compareAndSwap must be a function when present");
    }
    if (options === null || typeof options !== "object" || Array.isArray(options)) {
      throw invalidConfig("options must be an object with at least a secret");
    }
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.has(key)) throw invalidConfig(`unknown option ${JSON.stringify(key.slice(0, 40))}`);
    }
    const scope = ownOr(options, "scope", "default");
    if (typeof scope !== "string" || scope.length > 32) {
      throw invalidConfig("scope must be 1 to 32 characters of A-Z a-z 0-9 _ -");
    }
    const keyPrefix = ownOr(options, "keyPrefix", "otp:");
    if (typeof keyPrefix !== "string" || keyPrefix.length > 64 || !wellFormed(keyPrefix)) {
      throw invalidConfig("keyPrefix must be a string of at most 64 characters");
    }
    const alphabet = ownOr(options, "alphabet", "0123456789");
    if (typeof alphabet !== "string" || alphabet.length > 64) {
      throw invalidConfig("alphabet must be a string of 2 to 64 characters");
    }
    const clock = own(options, "now");
    if (clock !== undefined && typeof clock !== "function") {
      throw invalidConfig("now must be a function returning milliseconds since the epoch");
    }
    const [issueCount, issueWindow] = limitOption(options, "issueLimit", [5, 3600]);
    const [failureCount, failureWindow] = limitOption(options, "failureLimit", [10, 3600]);
    const secret = secretBytes(own(options, "secret"));
    if (secret.length > 1024) throw invalidConfig("secret must be at most 1024 bytes");
    const numbers = [
      number(options, "ttlSeconds", 3600),
      number(options, "maxAttempts", 3),
      number(options, "length", 4),
      number(options, "resendCooldownSeconds", 30),
      issueCount,
      issueWindow,
      failureCount,
      failureWindow,
    ];
    const engine = new Engine();
    this.#engine = engine;
    this.#io = engine.ioPtr();
    // Secret, scope and alphabet go through the I/O buffer; wasm zeroes them there.
    const u8 = this.#bytes();
    u8.set(secret, CFG_SECRET);
    const scopeLen = putText(u8, CFG_SCOPE, scope, CFG_ALPHABET - CFG_SCOPE);
    const alphabetLen = putText(u8, CFG_ALPHABET, alphabet, CFG_END - CFG_ALPHABET);
    if (engine.configure(secret.length, scopeLen, alphabetLen, ...numbers) !== 0) {
      const message = this.#message();
      engine.free();
      throw invalidConfig(message);
    }
    const retention = own(options, "retentionSeconds");
    if (retention !== undefined && retention !== null) {
      const longest = engine.longestWindowSeconds();
      if (typeof retention !== "number" || !Number.isInteger(retention) || retention < 60 ||
          retention < longest || retention > 315_360_000) {
        engine.free();
        throw invalidConfig(
          `retentionSeconds must be a whole number of seconds, at least 60 and at least ${longest} ` +
          "(the longest of ttl, cooldown and limit windows), or null",
        );
      }
      this.#putOptions = { expirationTtl: retention };
    }
    this.#storage = storage;
    this.#prefix = `${keyPrefix}${scope}:`;
    this.#clock = clock;
    this.#cas = typeof storage.compareAndSwap === "function";
  }

  /** The storage key of `user`: keyPrefix + scope + ":" + user. */
  keyFor(user) {
    checkUser(user);
    return this.#prefix + user;
  }

  // The I/O buffer as bytes and as a DataView, refreshed when memory grew (growing
  // detaches the old ArrayBuffer).
  #bytes() {
    let v = this.#view;
    if (v === undefined || v.byteLength === 0) {
      v = this.#view = new Uint8Array(exports.memory.buffer, this.#io, IO_LEN);
      this.#dv = new DataView(exports.memory.buffer, this.#io, IO_LEN);
    }
    return v;
  }

  // Reads the record, runs one core operation, writes what it asks to write. `mode` 1
  // answers verify's boolean instead of the verdict object.
  async #run(op, user, code, mode) {
    checkUser(user);
    const key = this.#prefix + user;
    const storage = this.#storage;
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      let stored = storage.get(key);
      if (isThenable(stored)) stored = await stored;
      if (stored === undefined) stored = null;
      if (stored !== null && (typeof stored !== "string" || stored.length > MAX_RECORD_CHARS)) {
        throw new OtpError("CORRUPT_RECORD", "stored value is not a record string");
      }
      const result = this.#call(op, user, code, stored, mode);
      const write = this.#write;
      if (write === null) return result;
      this.#write = null;
      if (this.#cas) {
        let swapped = this.#putOptions === undefined
          ? storage.compareAndSwap(key, stored, write)
          : storage.compareAndSwap(key, stored, write, this.#putOptions);
        if (isThenable(swapped)) swapped = await swapped;
        if (swapped) return result;
      } else {
        const put = this.#putOptions === undefined
          ? storage.put(key, write)
          : storage.put(key, write, this.#putOptions);
        if (isThenable(put)) await put;
        return result;
      }
    }
    throw new OtpError("CONFLICT", `the record changed under ${MAX_TRIES} attempts in a row; try again`);
  }

  #write = null;

  // One synchronous pass through wasm: inputs into the buffer, run, outputs out of it.
  // Everything is read before the caller's next await (another call may run next).
  #call(op, user, code, stored, mode) {
    let now;
    if (this.#clock !== undefined) {
      now = this.#clock();
      if (typeof now !== "number") throw invalidArgument("the now() option must return a number");
    } else {
      now = Date.now();
    }
    const engine = this.#engine;
    let u8 = this.#bytes();
    const userLen = putUtf8(u8, IO_USER, user, IO_CODE - IO_USER);
    if (userLen < 0) throw invalidArgument("user must be at most 256 bytes of utf-8");
    const codeLen = putText(u8, IO_CODE, code, IO_STORED - IO_CODE);
    const storedLen = stored === null ? -1 : putText(u8, IO_STORED, stored, IO_SALT - IO_STORED);
    let answer = engine.run(op, userLen, codeLen, storedLen, now, false);
    if (answer === E_NEED_SALT) {
      // The run may have grown memory, detaching `u8`: take the view again.
      randomSalt(this.#bytes());
      answer = engine.run(op, userLen, codeLen, storedLen, now, true);
    }
    if (answer < 0 || answer === A_RATE_LIMITED) this.#fail(answer);
    u8 = this.#bytes();
    const dv = this.#dv;
    const writeLen = u8[IO_WRITE_LEN] | (u8[IO_WRITE_LEN + 1] << 8);
    this.#write = writeLen === 0 ? null : getAscii(u8, IO_WRITE, writeLen);
    if (answer >= A_VERDICT && answer < A_VERDICT + REASONS.length) {
      if (mode === 1) return answer === A_VERDICT;
      const reason = REASONS[answer - A_VERDICT];
      const out = { ok: answer === A_VERDICT, reason, attemptsLeft: 0 };
      if (reason === "invalid") out.attemptsLeft = num(dv, 0);
      else if (reason === "locked") out.retryAfterMs = num(dv, 0);
      return out;
    }
    switch (answer) {
      case A_ISSUED: return view(u8, dv, false);
      case A_LATEST: return view(u8, dv, true);
      case A_LATEST_NONE: return null;
      case A_ACTIVE_EXISTS: return { activeExpiresAt: num(dv, 0) };
      case A_TRUE: return true;
      case A_FALSE: return false;
    }
    throw new OtpError("INTERNAL", `unexpected answer ${answer}`);
  }

  // The message of the last error or rate limit, from the I/O buffer.
  #message() {
    const u8 = this.#bytes();
    return getAscii(u8, IO_MSG, u8[IO_MSG_LEN]);
  }

  #fail(answer) {
    const message = this.#message();
    if (answer === A_RATE_LIMITED) {
      throw new OtpError("RATE_LIMITED", message, { retryAfterMs: num(this.#dv, 0) });
    }
    const code = answer === E_CORRUPT_RECORD ? "CORRUPT_RECORD" : answer === E_NEED_SALT ? "ENTROPY" : "INVALID_ARGUMENT";
    throw new OtpError(code, message);
  }

  async #issue(op, user) {
    const result = await this.#run(op, user, "", 0);
    if (result.activeExpiresAt !== undefined) {
      throw new OtpError("ACTIVE_OTP_EXISTS", "an active code exists; it has not expired, been used or run out of attempts", {
        expiresAt: result.activeExpiresAt,
      });
    }
    return result;
  }

  /** Issues a new code; the previous one can never verify again. */
  create(user) {
    return this.#issue(OP_CREATE, user);
  }

  /** Issues a new code only when there is no active one; else throws ACTIVE_OTP_EXISTS. */
  generate(user) {
    return this.#issue(OP_GENERATE, user);
  }

  /** The latest code with its status, or null. Never writes. */
  getLatestOtp(user) {
    return this.#run(OP_LATEST, user, "", 0);
  }

  /** The full verdict for a submitted code. */
  check(user, code) {
    if (typeof code !== "string") return Promise.reject(invalidArgument("code must be a string"));
    if (code.length > MAX_CODE_UNITS) return Promise.reject(invalidArgument("code must be at most 256 characters"));
    return this.#run(OP_VERIFY, user, code, 0);
  }

  /** Whether the submitted code verifies (it is then used up). */
  verify(user, code) {
    if (typeof code !== "string") return Promise.reject(invalidArgument("code must be a string"));
    if (code.length > MAX_CODE_UNITS) return Promise.reject(invalidArgument("code must be at most 256 characters"));
    return this.#run(OP_VERIFY, user, code, 1);
  }

  /** Resets the current code's attempts and the failure budget; true if there was a current code. */
  resetAttempts(user) {
    return this.#run(OP_RESET, user, "", 0);
  }

  /** Revokes the active code without issuing another; true if there was one. */
  invalidate(user) {
    return this.#run(OP_INVALIDATE, user, "", 0);
  }
}

const num = (dv, i) => dv.getFloat64(IO_NUMS + 8 * i, true);

function view(u8, dv, withStatus) {
  const out = {
    code: getAscii(u8, IO_CODE_OUT, u8[IO_CODE_LEN]),
    createdAt: num(dv, 0),
    expiresAt: num(dv, 1),
    attempts: num(dv, 2),
    maxAttempts: num(dv, 3),
  };
  if (withStatus) out.status = STATUS[num(dv, 4)];
  return out;
}

/**
 * An in-process store with compare-and-swap: the embedded default for tests, demos and
 * single-process servers. It ignores `expirationTtl` (records live as long as the process).
 */
export function memoryStorage() {
  const map = new Map();
  return {
    get(key) {
      const v = map.get(key);
      return v === undefined ? null : v;
    },
    put(key, value) {
      map.set(key, value);
    },
    compareAndSwap(key, expected, value) {
      const current = map.get(key);
      if ((current === undefined ? null : current) !== expected) return false;
      map.set(key, value);
      return true;
    },
    delete(key) {
      return map.delete(key);
    },
    get size() {
      return map.size;
    },
  };
}
