// Storage factories and wrappers for the edge-otp JS tests.
//
// Runtime-neutral: no Node built-ins are imported here (only `memory()` loads the
// package, lazily), so the conformance suite can use `counting` and `yielding` anywhere.
//
//   syncMap()          get/put on a plain Map, synchronous, no compareAndSwap
//   promiseMap()       the same, every method returning a Promise
//   promiseCasMap()    Promise-returning get/put/compareAndSwap
//   memory(api?)       the package's memoryStorage() (sync, with compareAndSwap)
//   counting(store)    forwards to `store`, recording every call
//   yielding(store)    forwards to `store`, waiting a macrotask before each call so that
//                      concurrent operations interleave between their read and write

const missing = (v) => (v === undefined ? null : v);

/** A plain Map with synchronous get/put only (no compareAndSwap). `get` of an absent key
 * answers `undefined`, as Map does: the package must treat it like `null`. */
export function syncMap() {
  const map = new Map();
  return {
    map,
    get(key) {
      return map.get(key);
    },
    put(key, value) {
      map.set(key, value);
    },
  };
}

/** Like syncMap, but every method returns a Promise. */
export function promiseMap() {
  const map = new Map();
  return {
    map,
    async get(key) {
      return missing(map.get(key));
    },
    async put(key, value) {
      map.set(key, value);
    },
  };
}

/** Promise-returning get/put/compareAndSwap over a Map. */
export function promiseCasMap() {
  const map = new Map();
  return {
    map,
    async get(key) {
      return missing(map.get(key));
    },
    async put(key, value) {
      map.set(key, value);
    },
    async compareAndSwap(key, expected, value) {
      if (missing(map.get(key)) !== expected) return false;
      map.set(key, value);
      return true;
    },
  };
}

/** Adds `delete(key)` (Promise-returning) to a store that keeps its values in `store.map`. */
export function withDelete(store) {
  store.delete = async (key) => store.map.delete(key);
  return store;
}

/** The package's memoryStorage(), from `api` (a loaded entry) or from pkg/node.js. */
export async function memory(api) {
  const mod = api ?? (await import("../../pkg/node.js"));
  return mod.memoryStorage();
}

const STORAGE_METHODS = ["get", "put", "compareAndSwap", "delete"];

/**
 * Wraps `store`, forwarding get/put/compareAndSwap (only those it has: a store without
 * compareAndSwap stays without it) and recording each call as
 * `{ op, key, value?, expected?, options?, argc }` in `wrapper.calls`.
 * `wrapper.count(op?)` counts calls (of one op, or all); `wrapper.writes()` lists the
 * put/compareAndSwap calls; `wrapper.reset()` forgets them. `wrapper.inner` is `store`.
 */
export function counting(store) {
  const calls = [];
  const w = {
    inner: store,
    calls,
    count(op) {
      return op === undefined ? calls.length : calls.filter((c) => c.op === op).length;
    },
    writes() {
      return calls.filter((c) => c.op === "put" || c.op === "compareAndSwap");
    },
    reads() {
      return calls.filter((c) => c.op === "get");
    },
    reset() {
      calls.length = 0;
    },
  };
  for (const op of STORAGE_METHODS) {
    if (typeof store[op] !== "function") continue;
    w[op] = function (...args) {
      const call = { op, key: args[0], argc: args.length };
      if (op === "put") {
        call.value = args[1];
        call.options = args[2];
      } else if (op === "compareAndSwap") {
        call.expected = args[1];
        call.value = args[2];
        call.options = args[3];
      }
      calls.push(call);
      return store[op](...args);
    };
  }
  return w;
}

/** One macrotask: setImmediate where it exists, else setTimeout(0). */
export const macrotask = () =>
  new Promise((resolve) =>
    typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0),
  );

/**
 * Wraps `store` so that every call first waits a macrotask and then forwards (keeping
 * compareAndSwap only if `store` has it). Concurrent operations on the same key then
 * all read before any of them writes, which is what compare-and-swap must survive.
 */
export function yielding(store) {
  const w = { inner: store };
  for (const op of STORAGE_METHODS) {
    if (typeof store[op] !== "function") continue;
    w[op] = async (...args) => {
      await macrotask();
      return store[op](...args);
    };
  }
  return w;
}
