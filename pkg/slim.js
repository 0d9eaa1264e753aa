// edge-otp, runtime-neutral core of the package: OtpManager, OtpError, memoryStorage.
//
// What only JS can do. Every rule, limit, default, message and error code lives in Rust
// (src/engine.rs, src/wasm/); options are validated there. Here we load the module, share
// engines between managers with equal options, and hand each operation (one synchronous
// wasm call) to the storage driver (driver.js: turns per key, compare-and-swap, timeouts).
// Entry files per runtime (node, workerd, browser, ...) initialise the wasm and re-export
// this API; `edge-otp/slim` leaves initialisation to the caller.

import wasmInit, {
  initSync as wasmInitSync, configure, limits, fault, Fault, corruptRecord,
} from "./wasm/edge_otp.js";
import { OtpError } from "./error.js";
import { StoreDriver } from "./driver.js";

export { OtpError };

let ready = false;

/** Compare-and-swap conflicts tolerated per operation before CONFLICT (from Rust, once loaded). */
export let MAX_TRIES;
// What the driver needs of the wasm module; `limits` (from Rust) once it is loaded.
const wasm = { fault, Fault, corruptRecord, limits: undefined };
let maxCodeUnits;

function loaded() {
  ready = true;
  wasm.limits = limits();
  MAX_TRIES = wasm.limits.maxTries;
  maxCodeUnits = wasm.limits.maxCodeUnits;
}

// What crosses for a submitted code: the string, or undefined when it is too long to be
// copied (the core then counts it as the wrong guess it must be).
const guess = (code) => (code.length > maxCodeUnits ? undefined : code);

/**
 * Loads the wasm module asynchronously. `input` is anything wasm-bindgen's loader takes:
 * a `WebAssembly.Module`, bytes, a `Response`, a URL; omitted, the `.wasm` next to the
 * glue is fetched.
 */
export async function init(input) {
  if (ready) return;
  await wasmInit(input === undefined ? undefined : { module_or_path: input });
  loaded();
}

/** Loads the wasm module synchronously from a `WebAssembly.Module` or bytes (or `{ module }`). */
export function initSync(input) {
  if (ready) return;
  const withOptions = input !== null && typeof input === "object" && "module" in input;
  wasmInitSync({ module: withOptions ? input.module : input });
  loaded();
}

// Engines are shared by managers with equal options (same secret, policy and scope):
// wasm linear memory never shrinks, so a manager per request must not cost an engine per
// request. An engine is freed when its last manager is disposed or collected.
const pool = new Map(); // poolKey → { key, engine, refs, locks }
function release(shared) {
  if (--shared.refs === 0) {
    pool.delete(shared.key);
    shared.engine.free();
  }
}
const collected = typeof FinalizationRegistry === "function" ? new FinalizationRegistry(release) : null;
const disposeSymbol = typeof Symbol.dispose === "symbol" ? Symbol.dispose : undefined;

// `#run`'s code argument for the operations that take none.
const NO_CODE = Symbol("no code");

/**
 * Issues and checks one-time codes for one scope, over any key-value store with
 * `get` / `put` (sync or Promise-returning) and an optional `compareAndSwap`.
 */
export class OtpManager {
  #shared;
  #driver;
  #prefix;
  #clock;
  #policy;
  #token = {};

  constructor(storage, options) {
    if (!ready) {
      throw new OtpError(
        "NOT_INITIALIZED",
        "the wasm module is not initialised: call init() or initSync() from edge-otp/slim first",
      );
    }
    const c = configure(options);
    let driver;
    try {
      driver = new StoreDriver(storage, c, wasm);
    } catch (e) {
      c.engine.free();
      throw e;
    }
    let shared = pool.get(c.poolKey);
    if (shared === undefined) {
      shared = { key: c.poolKey, engine: c.engine, refs: 0, locks: new Map() };
      pool.set(c.poolKey, shared);
    } else {
      c.engine.free();
    }
    shared.refs++;
    collected?.register(this, shared, this.#token);
    this.#shared = shared;
    this.#driver = driver;
    this.#prefix = c.keyPrefix;
    this.#clock = c.now;
    for (const k of ["issueLimit", "failureLimit"]) if (c.policy[k]) Object.freeze(c.policy[k]);
    this.#policy = Object.freeze(c.policy);
  }

  /** The effective settings, defaults filled in. */
  get policy() {
    return this.#policy;
  }

  /** The storage key of `user`: keyPrefix + scope + ":" + user. */
  keyFor(user) {
    this.#engine().checkUser(user);
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
    collected?.unregister(this.#token);
    release(shared);
  }

  // Runs `call(engine, stored)` (one synchronous wasm call) for `user`: after the
  // operations already running or waiting on the same key in this engine, so that
  // attempts are counted exactly on any store inside one instance.
  #run(user, call, code) {
    let key, locks;
    try {
      const engine = this.#engine();
      engine.checkUser(user);
      if (code !== NO_CODE) engine.checkCode(code);
      key = this.#prefix + user;
      locks = this.#shared.locks;
    } catch (e) {
      return Promise.reject(e);
    }
    const engine = this.#shared.engine;
    const clock = this.#clock;
    return this.#driver.run(key, locks, (stored) => {
      if (this.#shared === null) throw fault(Fault.Disposed, 0);
      return call(engine, stored, clock);
    }, () => engine.takeWrite());
  }

  /** Issues a new code; the previous one can never verify again. */
  create(user) {
    return this.#run(user, (e, stored, now) => e.create(user, stored, now), NO_CODE);
  }

  /** Issues a new code only when there is no active one; else throws ACTIVE_OTP_EXISTS. */
  generate(user) {
    return this.#run(user, (e, stored, now) => e.generate(user, stored, now), NO_CODE);
  }

  /** The latest code with its status, or null. Never writes. */
  getLatestOtp(user) {
    return this.#run(user, (e, stored, now) => e.latest(user, stored, now), NO_CODE);
  }

  /** The full verdict for a submitted code. */
  check(user, code) {
    return this.#run(user, (e, stored, now) => e.check(user, guess(code), stored, now), code);
  }

  /** Whether the submitted code verifies (it is then used up). */
  verify(user, code) {
    return this.#run(user, (e, stored, now) => e.verify(user, guess(code), stored, now), code);
  }

  /** Resets the current code's attempts and the failure budget; true if there was a current code. */
  resetAttempts(user) {
    return this.#run(user, (e, stored, now) => e.resetAttempts(user, stored, now), NO_CODE);
  }

  /** Revokes the active code without issuing another; true if there was one. */
  invalidate(user) {
    return this.#run(user, (e, stored, now) => e.invalidate(user, stored, now), NO_CODE);
  }
}

if (disposeSymbol !== undefined) {
  OtpManager.prototype[disposeSymbol] = OtpManager.prototype.dispose;
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
