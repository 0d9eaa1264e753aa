// The random source of dist/node.mjs (edge-otp for Node.js): getrandom (feature `wasm_js`)
// still draws every salt inside wasm, through the one host function its backend imports,
// `globalThis.crypto.getRandomValues(view)`; in the Node bundle .ci/build points that
// call here (esbuild `--inject` + `--define`), and this fills the view from the operating
// system's /dev/urandom, which is what getrandom itself reads on Linux and macOS when it
// is not compiled to wasm.
//
// Why: the first `globalThis.crypto` in a Node process loads Node's WebCrypto, and
// `node:crypto` loads nearly as much: about 2.7 ms of a cold start whose budget is 12 ms
// (bench/coldstart.mjs), spent to read 256 bytes. Reading /dev/urandom costs 0.25 ms the
// first time and one read(2) per sixteen new codes after that.
//
// Elsewhere (Windows, Deno and Bun, which use this bundle only when it is named by path,
// a permission model that refuses the file, any failed read) the call goes to WebCrypto,
// as in every other entry; once a read fails the file is not tried again.
const fs = process.getBuiltinModule("node:fs");

// The file descriptor once open; -1 after a failure (or where it is never tried).
let urandom = process.platform === "win32" || process.versions.deno || process.versions.bun ? -1 : undefined;

/** Fills `view` (a Uint8Array over wasm memory) with random bytes from the OS. */
export function nodeGetRandomValues(view) {
  if (urandom !== -1) {
    try {
      urandom ??= fs.openSync("/dev/urandom", "r");
      for (let filled = 0; filled < view.length; ) {
        const n = fs.readSync(urandom, view, filled, view.length - filled, null);
        if (n <= 0) throw new Error("/dev/urandom: short read");
        filled += n;
      }
      return view;
    } catch {
      if (urandom !== undefined) {
        try { fs.closeSync(urandom); } catch {}
      }
      urandom = -1;
    }
  }
  const webcrypto = globalThis.crypto;
  return webcrypto.getRandomValues(view);
}
