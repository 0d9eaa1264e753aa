// What the managers (OtpManager, TotpManager) share besides the storage driver: loading
// their wasm module once, sharing engines between managers with equal options (wasm
// linear memory never shrinks, so a manager per request must not cost an engine per
// request; an engine is freed when its last manager is disposed or garbage-collected),
// and reading an engine method's answer.
import { StoreDriver } from "./driver.js";
import { OtpError } from "./error.js";

/**
 * Once-only loading of a wasm-bindgen module. `readLimits()` runs once, after the module is
 * instantiated, and answers the module's limits (`{ maxTries, maxRecordUnits,
 * maxCodeUnits }`, from Rust). The entries call `init`/`initSync` with the glue's own
 * loaders, so that a bundle that never calls `init` drops the glue's asynchronous loader
 * (tree-shaking). `module` and `entry` name the module and the entry whose `init` loads it,
 * for NOT_INITIALIZED.
 */
export function loader(readLimits, module, entry) {
  let limits;
  return {
    /**
     * Throws `OtpError` NOT_INITIALIZED until the module is loaded: the one error made in
     * JS, since without the module there is no Rust to make it.
     */
    assertLoaded() {
      if (limits === undefined) {
        throw new OtpError("NOT_INITIALIZED", `the ${module} is not initialised: call init() or initSync() from ${entry} first`);
      }
    },
    /** The module's limits, once loaded. */
    get limits() {
      return limits;
    },
    /**
     * What crosses for a submitted code or token: the string, or undefined when it is
     * longer than wasm copies (the core counts that as the wrong guess it must be).
     */
    guess(value) {
      return value.length > limits.maxCodeUnits ? undefined : value;
    },
    async init(wasmInit, input) {
      if (limits !== undefined) return;
      await wasmInit(input === undefined ? undefined : { module_or_path: input });
      limits = readLimits();
    },
    initSync(wasmInitSync, input) {
      if (limits !== undefined) return;
      // An own key only: an inherited (polluted) `module` must not replace the bytes given.
      const withOptions = input !== null && typeof input === "object" && Object.hasOwn(input, "module");
      wasmInitSync({ module: withOptions ? input.module : input });
      limits = readLimits();
    },
  };
}

/**
 * A pool of engines keyed by the `poolKey` of their module's configure answer, and the
 * per-key turns of every storage driver it opens (driver.js).
 */
export function enginePool() {
  const pool = new Map(); // poolKey → { key, engine, refs }
  const turns = new Map(); // storage key → turn
  const release = (shared) => {
    if (--shared.refs === 0) {
      pool.delete(shared.key);
      // dispose() called from inside an engine method (by an options getter): the engine
      // must outlive the call, so it is freed once the running JS code is done. The
      // disposed manager's operations check for DISPOSED before using it.
      const { engine } = shared;
      if (engine.inUse) queueMicrotask(() => engine.free());
      else engine.free();
    }
  };
  const collected = typeof FinalizationRegistry === "function" ? new FinalizationRegistry(release) : null;
  return {
    /**
     * For `owner` (a manager, with its unregister `token`): the storage driver over
     * `storage` and the shared engine of configure answer `c` (its fresh engine is freed
     * when an equal one is pooled, or when the storage is refused).
     */
    open(owner, token, c, storage, wasm) {
      let driver;
      try {
        driver = new StoreDriver(storage, c, wasm, turns);
      } catch (e) {
        c.engine.free();
        throw e;
      }
      let shared = pool.get(c.poolKey);
      if (shared === undefined) {
        shared = { key: c.poolKey, engine: c.engine, refs: 0 };
        pool.set(c.poolKey, shared);
      } else {
        c.engine.free();
      }
      shared.refs++;
      collected?.register(owner, shared, token);
      return { shared, driver };
    },
    /** `owner`'s share goes back (on dispose). */
    close(shared, token) {
      collected?.unregister(token);
      release(shared);
    },
  };
}

/**
 * An engine method's answer (both modules' engines): `undefined` means the call failed,
 * and the engine hands over the error it kept, which is thrown here (src/wasm/mod.rs,
 * `answer`).
 */
export function answered(engine, answer) {
  if (answer === undefined) throw engine.takeError();
  return answer;
}

/**
 * What an engine call takes as the time: `undefined` for "no clock, use the system's"
 * (web-time in wasm), else what the app's `now` clock answers, read here in JS before the
 * engine call (not from inside wasm, so a clock may use its own manager). A clock
 * answering nothing is passed as null, which the engine refuses as it refuses every
 * non-number.
 */
export function timeFrom(clock) {
  return clock === undefined ? undefined : (clock() ?? null);
}

/** `Symbol.dispose`, where the runtime has it. */
export const disposeSymbol = typeof Symbol.dispose === "symbol" ? Symbol.dispose : undefined;
