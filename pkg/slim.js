// edge-otp, runtime-neutral core of the package: OtpManager, OtpError, memoryStorage.
//
// What only JS can do. Every rule, limit, default, message and error code lives in Rust
// (src/engine.rs, src/wasm/); options are validated there. Here we load the module, share
// engines between managers with equal options, and hand each operation (one synchronous
// wasm call) to the storage driver (driver.js: turns per key, compare-and-swap, timeouts).
// Entry files per runtime (node, workerd, browser, ...) initialise the wasm and re-export
// this API; `edge-otp/slim` leaves initialisation to the caller.

import wasmInit, {
  initSync as wasmInitSync, configure, limits, fault, Fault, corruptRecord, Arguments,
} from "./wasm/edge_otp.js";
import { OtpError } from "./error.js";
import { DELETE, isThenable } from "./driver.js";
import { loader, enginePool, answered, disposeSymbol, timeFrom } from "./engines.js";
import { userNormalizer } from "./normalize.js";

export { OtpError };


/** Compare-and-swap conflicts tolerated per operation before CONFLICT (from Rust, once loaded). */
export let MAX_TRIES;
const glue = loader(() => {
  const l = limits();
  MAX_TRIES = l.maxTries;
  return l;
}, "wasm module", "edge-otp/slim");
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
// `onError(reason)` when `r` (what an app callback returned) is a thenable that rejects.
const whenRejected = (r, onError) => {
  if (isThenable(r)) r.then(undefined, onError);
};

/** Loads the wasm module asynchronously: anything wasm-bindgen's loader takes (a `WebAssembly.Module`, bytes, a `Response`, a URL; omitted, the `.wasm` next to the glue is fetched). */
export function init(input) {
  return glue.init(wasmInit, input);
}

/** Loads the wasm module synchronously from a `WebAssembly.Module` or bytes (or `{ module }`). */
export function initSync(input) {
  glue.initSync(wasmInitSync, input);
}

const engines = enginePool();

// Each operation's one engine call: `(engine, user, stored, time, read, submitted)`, with
// the per-call options as the engine read them and the submitted code or token.
const CREATE = (e, u, stored, now, o) => e.issue(u, stored, now, o, false);
const GENERATE = (e, u, stored, now, o) => e.issue(u, stored, now, o, true);
const LATEST = (e, u, stored, now) => e.latest(u, stored, now);
const CHECK = (e, u, stored, now, o, code) => e.check(u, guess(code), stored, now, o, false);
const VERIFY = (e, u, stored, now, o, code) => e.check(u, guess(code), stored, now, o, true);
const CHECK_TOKEN = (e, u, stored, now, o, token) => e.checkToken(u, guess(token), stored, now, false);
const VERIFY_TOKEN = (e, u, stored, now, o, token) => e.checkToken(u, guess(token), stored, now, true);
const RESET_ATTEMPTS = (e, u, stored, now) => e.flag(u, stored, now, false);
const INVALIDATE = (e, u, stored, now) => e.flag(u, stored, now, true);

/**
 * Issues and checks one-time codes for one scope, over any key-value store with
 * `get` / `put` (sync or Promise-returning) and an optional `compareAndSwap`.
 */
export class OtpManager {
  #shared;
  #driver;
  #prefix;
  #clock;
  #onEvent;
  #onEventError;
  #normalize;
  #longest;
  #token = {};

  constructor(storage, options) {
    glue.assertLoaded();
    const c = configure(options);
    const { shared, driver } = engines.open(this, this.#token, c, storage, wasm);
    this.#shared = shared;
    this.#driver = driver;
    this.#prefix = c.keyPrefix;
    this.#clock = c.now;
    this.#onEvent = c.onEvent;
    this.#onEventError = c.onEventError;
    this.#normalize = userNormalizer(c.normalizeUser);
    this.#longest = c.longestWindowSeconds;
  }

  /**
   * How long a record matters, in seconds: the longest of the code lifetime, the resend
   * cooldown and the limit windows (a store that drops records earlier forgets limits).
   */
  get longestWindowSeconds() {
    return this.#longest;
  }

  /** The storage key of `user`: keyPrefix + scope + ":" + user. */
  keyFor(user) {
    const u = this.#user(user);
    const engine = this.#engine();
    answered(engine, engine.checkArguments(u, Arguments.User));
    return this.#prefix + u;
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

  // The user id as the app's normalizeUser option makes it (before anything else), or
  // DISPOSED before that app code runs. It may dispose of this manager (and free its
  // engine): the callers look the engine up after it.
  #user(user) {
    const normalize = this.#normalize;
    if (normalize === undefined) return user;
    this.#engine();
    return normalize(user);
  }

  // Runs `call(engine, user, stored, time, read, submitted)` (one synchronous wasm call)
  // for `user`: after the operations already running or waiting on the same storage key
  // (driver.js), so that attempts are counted exactly on any store inside one instance.
  // The arguments (of `kind`: `submitted` is the code or token) are checked before any
  // storage call, and the per-call options read once then: `read` is the engine's copy of
  // them (their getters do not run again, on a compare-and-swap retry either). `forget`:
  // the erasure flow.
  #run(rawUser, call, kind = Arguments.User, submitted, options, forget = false) {
    let key, engine, user, read;
    try {
      user = this.#user(rawUser);
      engine = this.#engine();
      read = answered(engine, engine.checkArguments(user, kind, submitted, options));
      key = this.#prefix + user;
    } catch (e) {
      return Promise.reject(e);
    }
    const clock = this.#clock;
    const onEvent = this.#onEvent;
    let event;
    let refused = false;
    let present = false;
    const decide = (stored) => {
      if (this.#shared === null) throw fault(Fault.Disposed, 0);
      if (forget) present = stored !== null && stored !== undefined;
      // Read before the try: a clock that throws takes no event (another operation's may
      // still be waiting in a shared engine). It is app code, which may dispose of this
      // manager (and free its engine).
      const time = timeFrom(clock);
      if (this.#shared === null) throw fault(Fault.Disposed, 0);
      try {
        return answered(engine, forget ? engine.forget(user, present, time) : call(engine, user, stored, time, read, submitted));
      } catch (e) {
        refused = e instanceof OtpError;
        throw e;
      } finally {
        if (onEvent !== undefined) event = engine.takeEvent(user);
      }
    };
    const takeWrite = forget ? () => (present ? DELETE : undefined) : () => engine.takeWrite();
    // The clock is app code run inside `decide` (the per-call options were read above).
    const done = this.#driver.run(key, decide, takeWrite, forget, clock !== undefined);
    if (onEvent === undefined) return done;
    return done.then(
      (answer) => {
        this.#emit(event);
        return answer;
      },
      (e) => {
        // Answers thrown by the engine (RATE_LIMITED, ...) are events; storage failures are not.
        if (refused && event !== undefined) this.#emit(event);
        throw e;
      },
    );
  }

  // Calls onEvent; its exception or rejection never changes the operation's answer and is
  // not swallowed: onEventError, else console.error. onEventError's own exception or
  // rejection goes to console.error too. Never an unhandled rejection (which ends a Node
  // process), nor reportError (an error event nobody handles ends a Deno process).
  #emit(event) {
    if (event === undefined) return;
    const report = (error) => {
      try {
        if (this.#onEventError !== undefined) whenRejected(this.#onEventError(error, event), console.error);
        else console.error(error);
      } catch (e) {
        console.error(e);
      }
    };
    try {
      whenRejected(this.#onEvent(event), report);
    } catch (e) {
      report(e);
    }
  }

  /** Issues a new code; the previous one can never verify again. `{ ttlSeconds, link }`. */
  create(user, options) {
    return this.#run(user, CREATE, Arguments.Issue, undefined, options);
  }

  /** Issues a new code only when there is no active one; else throws ACTIVE_OTP_EXISTS. */
  generate(user, options) {
    return this.#run(user, GENERATE, Arguments.Issue, undefined, options);
  }

  /** The latest code with its status, or null. Never writes. */
  getLatestOtp(user) {
    return this.#run(user, LATEST);
  }

  /** The full verdict for a submitted code. `{ consume: false }` leaves a right code active. */
  check(user, code, options) {
    return this.#run(user, CHECK, Arguments.Code, code, options);
  }

  /** Whether the submitted code verifies (it is then used up, unless `{ consume: false }`). */
  verify(user, code, options) {
    return this.#run(user, VERIFY, Arguments.Code, code, options);
  }

  /** The full verdict for a link token (from `create(user, { link: true })`). */
  checkToken(user, token) {
    return this.#run(user, CHECK_TOKEN, Arguments.Token, token);
  }

  /** Whether the link token verifies (its issuance is then used: the code too). */
  verifyToken(user, token) {
    return this.#run(user, VERIFY_TOKEN, Arguments.Token, token);
  }

  /** Resets the current code's attempts and the failure budget; true if there was a current code. */
  resetAttempts(user) {
    return this.#run(user, RESET_ATTEMPTS);
  }

  /** Revokes the active code without issuing another; true if there was one. */
  invalidate(user) {
    return this.#run(user, INVALIDATE);
  }

  /**
   * Deletes the user's record in this scope (and with it their limits and failure budget)
   * through the store's `delete`; true if there was one.
   */
  forget(user) {
    return this.#run(user, undefined, Arguments.User, undefined, undefined, true);
  }
}

if (disposeSymbol !== undefined) {
  OtpManager.prototype[disposeSymbol] = OtpManager.prototype.dispose;
}

export { memoryStorage } from "./memory.js";
