// edge-otp/totp, runtime-neutral core of the entry: TotpManager (authenticator-app codes,
// RFC 6238, with recovery codes), OtpError, memoryStorage.
//
// The same conventions as slim.js (OtpManager): every rule, limit, default, message and
// error code lives in Rust (src/totp/, src/wasm/totp.rs); options are validated there.
// Here we load the TOTP wasm module (its own module, pkg/wasm-totp/, so that the
// one-time-code bundle does not carry it), share engines between managers with equal
// options, and hand each operation (one synchronous wasm call) to the storage driver
// (driver.js: turns per key, compare-and-swap, timeouts, delete). Entry files per runtime
// (totp-node.js, totp-workerd.js, totp-deno.js, src/totp-*.js) initialise the wasm.

import wasmInit, {
  initSync as wasmInitSync, configureTotp, totpLimits, fault, Fault, corruptRecord,
} from "./wasm-totp/edge_otp_totp.js";
import { OtpError } from "./error.js";
import { DELETE } from "./driver.js";
import { loader, enginePool, answered, disposeSymbol, timeFrom } from "./engines.js";

export { OtpError };
export { memoryStorage } from "./memory.js";

const glue = loader(totpLimits, "TOTP wasm module", "edge-otp/totp-slim");
// What the driver needs of the wasm module; `limits` (from Rust) once it is loaded.
const wasm = {
  fault,
  Fault,
  corruptRecord,
  get limits() {
    return glue.limits;
  },
};
const guess = (value) => glue.guess(value);

/** Loads the wasm module asynchronously: anything wasm-bindgen's loader takes (a `WebAssembly.Module`, bytes, a `Response`, a URL; omitted, the `.wasm` next to the glue is fetched). */
export function init(input) {
  return glue.init(wasmInit, input);
}

/** Loads the wasm module synchronously from a `WebAssembly.Module` or bytes (or `{ module }`). */
export function initSync(input) {
  glue.initSync(wasmInitSync, input);
}

const engines = enginePool();

const NO_CODE = Symbol("no code");

/**
 * Authenticator-app codes (TOTP) and recovery codes for one scope, with replay protection
 * and a failure budget, over any key-value store with `get` / `put` / `delete` (sync or
 * Promise-returning) and an optional `compareAndSwap`.
 */
export class TotpManager {
  #shared;
  #driver;
  #prefix;
  #clock;
  #policy;
  #token = {};

  constructor(storage, options) {
    glue.assertLoaded();
    const c = configureTotp(options);
    const { shared, driver } = engines.open(this, this.#token, c, storage, wasm);
    this.#shared = shared;
    this.#driver = driver;
    this.#prefix = c.keyPrefix;
    this.#clock = c.now;
    // Every object in it frozen too (failureLimit, recoveryCodes: whichever Rust answers).
    for (const v of Object.values(c.policy)) if (v !== null && typeof v === "object") Object.freeze(v);
    this.#policy = Object.freeze(c.policy);
  }

  /** The effective settings, defaults filled in. */
  get policy() {
    return this.#policy;
  }

  /** The storage key of `user`: keyPrefix + scope + ":" + user. */
  keyFor(user) {
    const engine = this.#engine();
    answered(engine, engine.checkUser(user));
    return this.#prefix + user;
  }

  #engine() {
    if (this.#shared === null) throw fault(Fault.Disposed, 0);
    return this.#shared.engine;
  }

  /** Frees this manager's share of its engine; later calls throw DISPOSED. */
  dispose() {
    const shared = this.#shared;
    if (shared === null) return;
    this.#shared = null;
    engines.close(shared, this.#token);
  }

  // Runs `call(engine, stored, now)` (one synchronous wasm call; `now()` reads the clock)
  // for `user`, after the operations already running or waiting on the same storage key.
  // Arguments are checked before any storage call, so bad input writes nothing.
  // `check(engine)`: what else to check first; its answer is `call`'s `read` (enroll: the
  // engine's copy of the per-call options, read once, before the operation's turn).
  #run(user, call, check, anyValue = false) {
    let key, engine, read;
    try {
      engine = this.#engine();
      answered(engine, engine.checkUser(user));
      if (check !== undefined) read = answered(engine, check(engine));
      key = this.#prefix + user;
    } catch (e) {
      return Promise.reject(e);
    }
    const clock = this.#clock;
    // Read only by the operations that use the time (status, disable and
    // newRecoveryCodes do not). The clock is app code, which may dispose of this manager
    // (and free its engine).
    const now = () => {
      const time = timeFrom(clock);
      if (this.#shared === null) throw fault(Fault.Disposed, 0);
      return time;
    };
    return this.#driver.run(key, (stored) => {
      if (this.#shared === null) throw fault(Fault.Disposed, 0);
      return answered(engine, call(engine, stored, now, read));
    }, () => {
      // undefined: nothing; a string: put; null: delete.
      const write = engine.takeWrite();
      return write === null ? DELETE : write;
    }, anyValue, clock !== undefined);
  }

  /** Enrolls `user` (pending until the first right code): `{ uri, secret, status: "pending" }`. */
  enroll(user, options) {
    return this.#run(user, (e, stored, now, o) => e.enroll(user, o, stored, now()),
      (e) => e.checkEnrollOptions(options));
  }

  /** Whether `code` is right for a step later than the last accepted one (then accepted). */
  verify(user, code) {
    return this.#run(user, (e, stored, now) => e.verify(user, guess(code), stored, now()),
      (e) => e.checkCode(code));
  }

  /** The full verdict for `code`: `{ ok, reason, retryAfterMs? }`. */
  check(user, code) {
    return this.#run(user, (e, stored, now) => e.check(user, guess(code), stored, now()),
      (e) => e.checkCode(code));
  }

  /** "none" | "pending" | "active". Never writes. */
  status(user) {
    return this.#run(user, (e, stored) => e.status(user, stored));
  }

  /** The seed enrolled with `{ replace: true, keepCurrent: true }` that waits for its first code: `{ enrolledAt, expiresAt }`, or null. Never writes. */
  pendingReplacement(user) {
    return this.#run(user, (e, stored, now) => e.pendingReplacement(stored, now()));
  }

  /** Drops the seed enrolled with `keepCurrent` that waits for its first code (the current seed keeps working; with `{ enrolledAt }`, only the seed enrolled then); true if it was waiting. */
  cancelReplacement(user, options) {
    return this.#run(user, (e, stored, now, o) => e.cancelReplacement(user, o, stored, now()),
      (e) => e.checkCancelOptions(options));
  }

  /** Deletes the enrollment (seed, recovery codes, counters), or any corrupt value under its key; true if there was one. */
  disable(user) {
    // Any stored value, even a corrupt one (never copied into wasm), is deleted.
    return this.#run(user, (e, stored) => e.disable(stored !== null && stored !== undefined), undefined, true);
  }

  /** A new set of recovery codes (shown once), replacing the previous set. */
  newRecoveryCodes(user) {
    return this.#run(user, (e, stored) => e.newRecoveryCodes(user, stored));
  }

  /** Spends a recovery code: true once per code. */
  useRecoveryCode(user, code) {
    return this.#run(user, (e, stored, now) => e.useRecoveryCode(user, guess(code), stored, now(), true),
      (e) => e.checkCode(code));
  }

  /** Spends a recovery code as useRecoveryCode does, answering the full verdict: `{ ok, reason, retryAfterMs? }`. */
  checkRecoveryCode(user, code) {
    return this.#run(user, (e, stored, now) => e.useRecoveryCode(user, guess(code), stored, now(), false),
      (e) => e.checkCode(code));
  }
}

if (disposeSymbol !== undefined) {
  TotpManager.prototype[disposeSymbol] = TotpManager.prototype.dispose;
}
