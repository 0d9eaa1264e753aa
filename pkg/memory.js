// memoryStorage(): the in-process store of every entry (edge-otp and edge-otp/totp).

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
