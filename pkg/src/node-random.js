// The random source of dist/node.mjs (edge-otp for Node.js, what both `import` and
// `require` of "edge-otp" load in Node and in Bun): getrandom (feature `wasm_js`) still
// draws every salt inside wasm, through the one host function its backend imports,
// `globalThis.crypto.getRandomValues(view)`; in this bundle .ci/build points that call
// here (esbuild `--inject` + `--define`), and this fills the view from /dev/urandom, the
// kernel's CSPRNG (the one getrandom(2) reads; Node itself calls getrandom(2) while it
// starts, so the pool is seeded before any JS runs).
//
// Why: the first `globalThis.crypto` in a Node process loads Node's WebCrypto, and
// `node:crypto` loads nearly as much: about 2.7 ms of a cold start whose budget is 12 ms
// (bench/coldstart.mjs), spent to read 256 bytes. Reading /dev/urandom costs about
// 0.25 ms the first time and 5 µs per draw after that (one draw per sixteen new codes).
// Each draw opens, reads and closes the file: a descriptor kept open could be closed by
// other code in the process and its number reused by another file, which would then be
// read as randomness. And what it opens must be a character device: a regular file at
// that path (an odd container or chroot) would hand out its first bytes on every draw.
//
// Elsewhere (Windows, Bun, Deno naming this bundle by path, a permission model that
// refuses the file, any failed open or read) the call goes to WebCrypto, as in every other
// entry; once /dev/urandom fails it is not tried again. WebCrypto fills the view or throws
// (and the engine answers ENTROPY, writing nothing).
const fs = process.getBuiltinModule("node:fs");

// Whether /dev/urandom is still worth trying.
let urandom = !(process.platform === "win32" || process.versions.deno || process.versions.bun);

/** Fills `view` (a Uint8Array over wasm memory) with random bytes from the OS. */
export function nodeGetRandomValues(view) {
  if (urandom) {
    let fd;
    try {
      fd = fs.openSync("/dev/urandom", "r");
      if (!fs.fstatSync(fd).isCharacterDevice()) throw new Error("/dev/urandom: not a device");
      for (let filled = 0; filled < view.length; ) {
        const n = fs.readSync(fd, view, filled, view.length - filled, null);
        if (n <= 0) throw new Error("/dev/urandom: short read");
        filled += n;
      }
      return view;
    } catch {
      urandom = false;
    } finally {
      if (fd !== undefined) {
        try { fs.closeSync(fd); } catch {}
      }
    }
  }
  const webcrypto = globalThis.crypto;
  return webcrypto.getRandomValues(view);
}
