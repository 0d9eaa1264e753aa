// Salts for the Node entries: the kernel CSPRNG read through fs (already loaded), because
// the first use of globalThis.crypto (or node:crypto) loads Node's crypto modules, about
// 3 ms of start-up, more than the rest of a cold start (BENCHMARKS.md). Where
// /dev/urandom cannot be read (Windows, sandboxes), crypto.getRandomValues it is.
export function urandom(fs) {
  let fd = -1;
  return function getRandomValues(bytes) {
    if (fd === -1) {
      try {
        fd = fs.openSync("/dev/urandom", "r");
      } catch {
        fd = -2;
      }
    }
    if (fd >= 0) {
      try {
        for (let at = 0; at < bytes.length;) {
          const n = fs.readSync(fd, bytes, at, bytes.length - at, null);
          if (n <= 0) throw new Error("short read");
          at += n;
        }
        return bytes;
      } catch {
        fd = -2; // closed under us, or a short read: stop using it
      }
    }
    return globalThis.crypto.getRandomValues(bytes);
  };
}
