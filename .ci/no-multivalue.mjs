// Marks a rustc-built .wasm as built without the multivalue feature, in place, so that
// wasm-bindgen returns strings and Results through its stack slot instead of as multiple
// results. V8 builds a JS-to-wasm wrapper per exported signature, and those with
// multiple results are the costly ones: about 2.7 ms of the module's compile in Node on
// the bench machine (BENCHMARKS.md). rustc's own code has no multi-value functions (std
// is built with the feature listed, which is why the section says "+multivalue").
//
//   node .ci/no-multivalue.mjs target/wasm32-unknown-unknown/release/edge_otp.wasm
import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2];
const bytes = readFileSync(file);
const sections = WebAssembly.Module.customSections(new WebAssembly.Module(bytes), "target_features");
if (sections.length !== 1) throw new Error(`${file}: expected one target_features section`);
// The section's entries are a prefix byte ('+' used, '-' disallowed) and a name.
const name = Buffer.from("\x0amultivalue", "latin1");
const at = bytes.indexOf(name);
if (at < 1 || bytes.indexOf(name, at + 1) !== -1) throw new Error(`${file}: multivalue not listed once`);
if (bytes[at - 1] === 0x2d) process.exit(0); // already '-'
if (bytes[at - 1] !== 0x2b) throw new Error(`${file}: unexpected prefix before multivalue`);
bytes[at - 1] = 0x2d;
writeFileSync(file, bytes);
