// The storage driver shared by the package's managers (OtpManager; TotpManager uses the
// same): what only JS can do. Finds the store's methods, runs one read-decide-write per
// operation with compare-and-swap retries, lets operations on one key take turns, and
// puts a time limit on every storage call. It holds no rule: `decide` is one synchronous
// call into wasm, and every error comes from the wasm module's `fault` / `corruptRecord`
// (passed in as `wasm`, so that each module's errors are its own).

/** The write that deletes the record (a `takeWrite` answer). */
export const DELETE = Symbol("delete");

export const isThenable = (v) =>
  v !== null && (typeof v === "object" || typeof v === "function") && typeof v.then === "function";

// A store's method, from the store itself or its class: never one inherited from
// Object.prototype (a polluted Object.prototype.compareAndSwap must not turn a plain
// { get, put } store into a "compare-and-swap" one that swaps nothing).
function method(store, name) {
  const f = store[name];
  return f !== undefined && f === Object.prototype[name] && !Object.hasOwn(store, name) ? undefined : f;
}

// Per-key turns. `turns` maps a storage key to its turn: `{ holder, progress, waiters,
// ms }`, the token of the operation whose turn it is, a count of what it has done (taken
// the turn, started a storage call), the queue of waiting operations (null while none)
// and the holder's `timeoutMs`. An operation that never waits (a synchronous store)
// cannot interleave with another, so it takes its turn without an entry; one that waits
// adds the entry before its first await. One whose `decide` runs app code (the app's
// `now` clock) adds the entry before it reads, so that an operation this code starts on
// the same key waits its turn instead of running between the read and the write. (The
// managers read per-call options before `run`: their getters run outside the turn.)
//
// One map for the whole instance of the package (engines.js makes it, with the engine
// pool), keyed by the storage key alone: managers
// with different options, a manager per request (on a stateless Worker, the concurrent
// requests of one isolate) and store adapters built per request all reach one record
// under one key, and all of them take turns on it. Two different stores that use equal
// keys in one instance take turns needlessly, never wrongly.
//
// workerd cancels a request that waits on nothing of its own ("would never generate a
// response") and drops the continuations of a request that is cancelled or disconnected.
// So a waiting operation keeps a timer of its own (a pending event of its request) and
// does not rely on the holder alone: a live holder's every storage call settles or times
// out within the holder's `timeoutMs`, so a turn that shows no progress for longer than
// that has lost its holder, and a waiter takes it over (it looks every own timeoutMs + 1,
// so between one and two such periods after the last progress when both are equal). A
// holder with `timeoutMs: null` is never taken over. A waiter's own `timeoutMs` bounds
// its wait too: when the turn shows no progress for longer than that and may not be
// taken over yet (the holder's limit is longer, or null), the waiter leaves the queue and
// rejects with TIMEOUT, having read and written nothing; a waiter with `timeoutMs: null`
// keeps no timer and waits as long as the holder takes.

// `timedOut()`: the TIMEOUT error for a waiter that gives up.
function wait(turn, ms, timedOut) {
  return new Promise((resolve, reject) => {
    const waiter = { token: {}, wake: undefined, ms };
    // Set once this waiter has its turn (woken or by takeover). In workerd a clearTimeout
    // from another request (the holder's, which wakes this one) does not cancel the
    // timer, so `check` may still run afterwards and must then do nothing.
    let settled = false;
    let timer;
    waiter.wake = () => {
      settled = true;
      clearTimeout(timer);
      resolve(waiter.token);
    };
    (turn.waiters ??= []).push(waiter);
    if (ms === null) return;
    let holder = turn.holder;
    let progress = turn.progress;
    let quiet = 0; // ms without progress seen so far (timers fire late, never early)
    const check = () => {
      if (settled) return;
      if (turn.holder !== holder || turn.progress !== progress) {
        holder = turn.holder;
        progress = turn.progress;
        quiet = 0;
      } else {
        quiet += ms + 1;
      }
      if (quiet <= ms) {
        timer = setTimeout(check, ms + 1);
        return;
      }
      const i = turn.waiters.indexOf(waiter);
      if (i < 0) return;
      turn.waiters.splice(i, 1);
      settled = true;
      if (turn.ms === null || quiet <= turn.ms) {
        // The holder may still be working (its limit is longer than ours): give up.
        reject(timedOut());
        return;
      }
      // Nothing happened for longer than any of the holder's storage calls may take: the
      // holder is gone.
      turn.holder = waiter.token;
      turn.progress++;
      turn.ms = ms;
      resolve(waiter.token);
    };
    timer = setTimeout(check, ms + 1);
  });
}
function handOn(turns, key, turn, token) {
  if (turns.get(key) !== turn || turn.holder !== token) return; // taken over meanwhile
  const next = turn.waiters?.shift();
  if (next === undefined) {
    turns.delete(key);
    return;
  }
  turn.holder = next.token;
  turn.progress++;
  turn.ms = next.ms;
  next.wake();
}

export class StoreDriver {
  #storage;
  #get;
  #put;
  #cas;
  #delete;
  #putOptions;
  #timeoutMs;
  #wasm;
  #turns;
  #maxTries;
  #maxRecordUnits;

  /**
   * `settings`: `{ putOptions, timeoutMs }` from the wasm module's configure; `wasm`:
   * `{ fault, Fault, corruptRecord, limits }` of that module; `turns`: the package
   * instance's map of per-key turns (storage key → turn).
   */
  constructor(storage, settings, wasm, turns) {
    const { fault, Fault } = wasm;
    if (storage === null || (typeof storage !== "object" && typeof storage !== "function")) {
      throw fault(Fault.Storage, 0);
    }
    const get = method(storage, "get");
    const put = method(storage, "put");
    const cas = method(storage, "compareAndSwap");
    const del = method(storage, "delete");
    if (typeof get !== "function" || typeof put !== "function") throw fault(Fault.Storage, 0);
    if (cas !== undefined && typeof cas !== "function") throw fault(Fault.StorageCompareAndSwap, 0);
    this.#storage = storage;
    this.#get = get;
    this.#put = put;
    this.#cas = cas;
    this.#delete = typeof del === "function" ? del : undefined;
    this.#putOptions = settings.putOptions ?? undefined;
    this.#timeoutMs = settings.timeoutMs;
    this.#wasm = wasm;
    this.#turns = turns;
    ({ maxTries: this.#maxTries, maxRecordUnits: this.#maxRecordUnits } = wasm.limits);
  }

  /**
   * Runs one operation on `key`: reads the record, `decide(stored)` (one synchronous wasm
   * call) gives the answer, `takeWrite()` what to write (a record string, DELETE, or
   * undefined for nothing), which is written (compare-and-swap when the store has it,
   * re-read and retried on conflict) before the answer is returned. Operations on the
   * same key run one after another (see `turns`). `anyValue`: hand `decide` whatever the
   * store holds, not only record strings (erasure must work on a corrupt value too).
   * `callsOut`: `decide` runs app code (a clock), which may start operations.
   */
  run(key, decide, takeWrite, anyValue = false, callsOut = false) {
    // Erasure (the only `anyValue` operation) needs delete: refused before any storage
    // call, whether or not there is a record, so that a store without it fails at once.
    if (anyValue && this.#delete === undefined) {
      return Promise.reject(this.#wasm.fault(this.#wasm.Fault.StorageDelete, 0));
    }
    // No lookup while no key has a turn (the common case: a synchronous store never adds
    // one): the lookup would hash the freshly concatenated key, about 70 ns.
    const turns = this.#turns;
    const turn = turns.size === 0 ? undefined : turns.get(key);
    if (turn !== undefined) {
      const ms = this.#timeoutMs;
      return wait(turn, ms, () => this.#wasm.fault(this.#wasm.Fault.TurnTimeout, ms)).then((token) => this.#cycle(key, decide, takeWrite, anyValue, callsOut, turn, token));
    }
    return this.#cycle(key, decide, takeWrite, anyValue, callsOut, undefined, undefined);
  }

  // `turn`, `token`: the key's turn and this operation's token in it, once it has one (it
  // waited for it, or it waits on the store); each storage call it starts is progress.
  async #cycle(key, decide, takeWrite, anyValue, callsOut, turn, token) {
    try {
      if (callsOut) {
        [turn, token] = this.#hold(key, turn, token);
      }
      const storage = this.#storage;
      const cas = this.#cas;
      for (let tries = 0; tries < this.#maxTries; tries++) {
        let stored = this.#get.call(storage, key);
        if (isThenable(stored)) {
          [turn, token] = this.#hold(key, turn, token);
          stored = await this.#settle(stored);
        }
        if (!anyValue && stored !== null && stored !== undefined &&
            (typeof stored !== "string" || stored.length > this.#maxRecordUnits)) {
          throw this.#wasm.corruptRecord();
        }
        const answer = decide(stored);
        const write = takeWrite();
        if (write === undefined) return answer;
        let done;
        if (write === DELETE) {
          done = this.#delete.call(storage, key);
        } else if (cas !== undefined) {
          const expected = stored === undefined ? null : stored;
          done = this.#putOptions === undefined
            ? cas.call(storage, key, expected, write)
            : cas.call(storage, key, expected, write, this.#putOptions);
        } else {
          done = this.#putOptions === undefined
            ? this.#put.call(storage, key, write)
            : this.#put.call(storage, key, write, this.#putOptions);
        }
        if (isThenable(done)) {
          [turn, token] = this.#hold(key, turn, token);
          done = await this.#settle(done);
        }
        // Only a compare-and-swap answers whether it wrote: true or false, nothing else (a
        // result object from a database driver would pass for a success every time).
        if (write === DELETE || cas === undefined || done === true) return answer;
        if (done !== false) throw this.#wasm.fault(this.#wasm.Fault.StorageCompareAndSwapAnswer, 0);
      }
      throw this.#wasm.fault(this.#wasm.Fault.Conflict, 0);
    } finally {
      if (token !== undefined) handOn(this.#turns, key, turn, token);
    }
  }

  // `[turn, token]`: the key's turn and the operation's token in it, once the operation is
  // about to wait on the store or to run app code: a new turn, held by a new token, when
  // the operation has none yet; else the same, one step of progress further while the
  // operation still holds it.
  #hold(key, turn, token) {
    if (turn === undefined) {
      token = {};
      turn = { holder: token, progress: 0, waiters: null, ms: this.#timeoutMs };
      this.#turns.set(key, turn);
    } else if (turn.holder === token) {
      turn.progress++;
    }
    return [turn, token];
  }

  // A storage Promise, rejected with TIMEOUT when it does not settle within timeoutMs.
  #settle(pending) {
    const ms = this.#timeoutMs;
    if (ms === null) return pending;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(this.#wasm.fault(this.#wasm.Fault.Timeout, ms)), ms);
      // A thenable's then() may throw: that is the store's answer, and the timer goes.
      const fail = (e) => {
        clearTimeout(timer);
        reject(e);
      };
      try {
        pending.then(
          (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          fail,
        );
      } catch (e) {
        fail(e);
      }
    });
  }
}
