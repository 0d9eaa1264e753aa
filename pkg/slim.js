// edge-otp, runtime-neutral core of the package: OtpManager, OtpError, memoryStorage.
//
// This file is the storage driver only: what only JS can do. Every rule, limit, default,
// message and error code lives in Rust (src/engine.rs, src/wasm/); options are validated
// there. Here we load the module, find the store's methods, run operations on one key one
// after another, read the record, make one synchronous call into wasm, and write what the
// core asked to write (compare-and-swap when the store offers it, retried on conflict),
// with a time limit on every storage call.
// Entry files per runtime (node, workerd, browser, ...) initialise the wasm and re-export
// this API; `edge-otp/slim` leaves initialisation to the caller.

import wasmInit, {
  initSync as wasmInitSync, configure, limits, fault, Fault, corruptRecord,
} from "./wasm/edge_otp.js";
import { OtpError } from "./error.js";

export { OtpError };

let ready = false;

/** Compare-and-swap conflicts tolerated per operation before CONFLICT (from Rust, once loaded). */
export let MAX_TRIES;
// The longest stored value and submitted code copied into wasm (from Rust, once loaded).
let maxRecordUnits;
let maxCodeUnits;

function loaded() {
  ready = true;
  ({ maxTries: MAX_TRIES, maxRecordUnits, maxCodeUnits } = limits());
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

const isThenable = (v) =>
  v !== null && (typeof v === "object" || typeof v === "function") && typeof v.then === "function";

// A store's method, from the store itself or its class: never one inherited from
// Object.prototype (a polluted Object.prototype.compareAndSwap must not turn a plain
// { get, put } store into a "compare-and-swap" one that swaps nothing).
function method(store, name) {
  const f = store[name];
  return f !== undefined && f === Object.prototype[name] && !Object.hasOwn(store, name) ? undefined : f;
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

// Per-key turns: `locks` maps a storage key to null (an operation is waiting on the store
// for it, nobody else waits) or to the queue of waiting operations' wake-up functions. An
// operation that never waits (a synchronous store) cannot interleave with another, so it
// takes its turn without an entry; one that waits adds the entry before its first await.
function wait(locks, key) {
  const queue = locks.get(key);
  return new Promise((resolve) => {
    if (queue === null) locks.set(key, [resolve]);
    else queue.push(resolve);
  });
}
function handOn(locks, key) {
  const queue = locks.get(key);
  if (queue === null || queue === undefined) {
    locks.delete(key);
    return;
  }
  const next = queue.shift();
  if (queue.length === 0) locks.set(key, null);
  next();
}

// `#run`'s code argument for the operations that take none.
const NO_CODE = Symbol("no code");

/**
 * Issues and checks one-time codes for one scope, over any key-value store with
 * `get` / `put` (sync or Promise-returning) and an optional `compareAndSwap`.
 */
export class OtpManager {
  #shared;
  #storage;
  #get;
  #put;
  #cas;
  #prefix;
  #putOptions;
  #timeoutMs;
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
    if (storage === null || (typeof storage !== "object" && typeof storage !== "function")) {
      throw fault(Fault.Storage, 0);
    }
    const get = method(storage, "get");
    const put = method(storage, "put");
    const cas = method(storage, "compareAndSwap");
    if (typeof get !== "function" || typeof put !== "function") throw fault(Fault.Storage, 0);
    if (cas !== undefined && typeof cas !== "function") throw fault(Fault.StorageCompareAndSwap, 0);
    const c = configure(options);
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
    this.#storage = storage;
    this.#get = get;
    this.#put = put;
    this.#cas = cas;
    this.#prefix = c.keyPrefix;
    this.#putOptions = c.putOptions ?? undefined;
    this.#timeoutMs = c.timeoutMs;
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
    if (locks.has(key)) return wait(locks, key).then(() => this.#cycle(key, call, locks, true));
    return this.#cycle(key, call, locks, false);
  }

  // Read, decide, write; retried when compare-and-swap finds the record changed. `held`:
  // this operation owns the key's turn (it waited for it, or it waits on the store).
  async #cycle(key, call, locks, held) {
    try {
      const storage = this.#storage;
      const cas = this.#cas;
      for (let tries = 0; tries < MAX_TRIES; tries++) {
        let stored = this.#get.call(storage, key);
        if (isThenable(stored)) {
          if (!held) {
            locks.set(key, null);
            held = true;
          }
          stored = await this.#settle(stored);
        }
        if (stored !== null && stored !== undefined &&
            (typeof stored !== "string" || stored.length > maxRecordUnits)) {
          throw corruptRecord();
        }
        const engine = this.#engine();
        const answer = call(engine, stored, this.#clock);
        const write = engine.takeWrite();
        if (write === undefined) return answer;
        const expected = stored === undefined ? null : stored;
        if (cas !== undefined) {
          let swapped = this.#putOptions === undefined
            ? cas.call(storage, key, expected, write)
            : cas.call(storage, key, expected, write, this.#putOptions);
          if (isThenable(swapped)) {
            if (!held) {
              locks.set(key, null);
              held = true;
            }
            swapped = await this.#settle(swapped);
          }
          if (swapped) return answer;
        } else {
          const put = this.#putOptions === undefined
            ? this.#put.call(storage, key, write)
            : this.#put.call(storage, key, write, this.#putOptions);
          if (isThenable(put)) {
            if (!held) {
              locks.set(key, null);
              held = true;
            }
            await this.#settle(put);
          }
          return answer;
        }
      }
      throw fault(Fault.Conflict, 0);
    } finally {
      if (held) handOn(locks, key);
    }
  }

  // A storage Promise, rejected with TIMEOUT when it does not settle within timeoutMs.
  #settle(pending) {
    const ms = this.#timeoutMs;
    if (ms === null) return pending;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(fault(Fault.Timeout, ms)), ms);
      pending.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
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
