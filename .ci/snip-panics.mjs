// Makes a Rust panic in the .wasm trap at once, without formatting its message first: the
// bodies of std's panic entry points become `unreachable`, then wasm-opt drops what only
// they reached (the panic hook, its payloads, most of the message formatting). This is
// what wasm-snip's --snip-rust-panicking-code does, and what nightly's
// `panic_immediate_abort` builds in.
//
// The module is built with panic = "abort", and on wasm32-unknown-unknown std has no
// stderr: a panic already ended in the same trap (RuntimeError: unreachable), after
// formatting a message nobody could read. A panic is a bug here either way (bad input
// from JS is an OtpError, never a panic).
//
//   node .ci/snip-panics.mjs module.wasm   (in place, on wasm-bindgen's output, which
//                                            still has its function names; .ci/build)
//
// Each entry point must be found exactly once, or the build fails: a new Rust may name
// or route them otherwise, and then this step must be looked at again.
import binaryen from "binaryen";
import { readFileSync, writeFileSync } from "node:fs";

// v0-mangled names as the name section holds them (`core[1a2b…]::panicking::panic_fmt`).
const crate = (name) => `${name}(\\[[0-9a-f]+\\])?`;
// Each found exactly once.
const ENTRY_POINTS = [
  // Every panic of core (bounds checks, unwrap, expect, RefCell, explicit panic!).
  `${crate("core")}::panicking::panic_fmt`,
  // std's #[panic_handler], which panic_fmt calls ...
  `${crate("__rustc")}::rust_begin_unwind`,
  // ... and the hook it and std's own `begin_panic` run.
  `${crate("std")}::panicking::panic_with_hook`,
  // Allocation failure (its default hook prints the size, then aborts).
  `${crate("std")}::alloc::rust_oom`,
].map((p) => new RegExp(`^${p}$`));
// The rest of std's panic runtime, reached only from those: the handler's closures, the
// payload types and their trait impls (Display, PanicPayload), which sit in the function
// table, so wasm-opt keeps them, and through them the message formatting, unless snipped.
const STD_PANICKING = new RegExp(`^<?${crate("std")}::panicking::`);
const RUNTIME = new RegExp(`^<?${crate("std")}::panicking::(panic_handler::|begin_panic::|panic_count::increase$|default_hook)`);
// Any other function of std::panicking fails the build: catch_unwind, set_hook or
// take_hook (a dependency's panic hook) run on paths that are not panics.

const file = process.argv[2];
binaryen.setDebugInfo(true); // keep the name section: wasm-opt strips it later
// (The module's features come from its target_features section.)
const module = binaryen.readBinary(readFileSync(file));

const found = ENTRY_POINTS.map(() => []);
const runtime = [];
for (let i = 0; i < module.getNumFunctions(); i++) {
  const f = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
  if (f.module !== "") continue; // an import
  const j = ENTRY_POINTS.findIndex((p) => p.test(f.name));
  if (j >= 0) found[j].push(f);
  else if (RUNTIME.test(f.name)) runtime.push(f);
  else if (STD_PANICKING.test(f.name)) throw new Error(`${file}: ${f.name} is in std::panicking but not known to run only in a panic`);
}
found.forEach((fs, j) => {
  if (fs.length !== 1) throw new Error(`${file}: ${ENTRY_POINTS[j]} matched ${fs.length} functions, expected 1`);
});
const snipped = [...found.flat(), ...runtime];
for (const f of snipped) {
  module.removeFunction(f.name);
  module.addFunction(f.name, f.params, f.results, [], module.unreachable());
}
if (!module.validate()) throw new Error(`${file}: invalid after snipping`);
writeFileSync(file, module.emitBinary());
console.log(`snip-panics: ${found.length} panic entry points and ${runtime.length} functions of std's panic runtime trap in ${file}`);
