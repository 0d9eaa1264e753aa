// Marks a rustc-built .wasm as built without the multivalue feature, in place, so that
// wasm-bindgen returns strings and Results through its stack slot instead of as multiple
// results. V8 builds a JS-to-wasm wrapper per exported signature, and those with
// multiple results are the costly ones: about 2.5 ms of the module's compile in Node on
// the bench machine (BENCHMARKS.md, session 8). rustc's own code has no multi-value
// functions (std is built with the feature listed, which is why the section says
// "+multivalue"). .ci/build checks afterwards that no function returns several values.
//
//   node .ci/no-multivalue.mjs target/wasm32-unknown-unknown/release/edge_otp.wasm
import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2];
const bytes = readFileSync(file);
const sections = WebAssembly.Module.customSections(new WebAssembly.Module(bytes), "target_features");
if (sections.length !== 1) throw new Error(`${file}: expected one target_features section`);
// Where the section's payload lies in the file: it must occur there exactly once.
const payload = Buffer.from(sections[0]);
const start = bytes.indexOf(payload);
if (start < 0 || bytes.indexOf(payload, start + 1) !== -1) throw new Error(`${file}: target_features payload not found once`);
// The payload: a count, then entries of a prefix byte ('+' used, '-' disallowed) and a
// length-prefixed name. Walk them rather than search, so only the feature entry matches.
let p = 0;
const leb = () => {
  let v = 0;
  for (let shift = 0; ; shift += 7) {
    const b = payload[p++];
    v |= (b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
};
let found = false;
for (let n = leb(); n > 0; n--) {
  const prefix = p++;
  const len = leb();
  const name = payload.subarray(p, p + len).toString("latin1");
  p += len;
  if (name !== "multivalue") continue;
  if (payload[prefix] !== 0x2b && payload[prefix] !== 0x2d) throw new Error(`${file}: unexpected prefix before multivalue`);
  bytes[start + prefix] = 0x2d; // '-' (already '-' on a second run: unchanged)
  found = true;
}
if (!found) throw new Error(`${file}: multivalue not listed in target_features`);
writeFileSync(file, bytes);
