// Gives a .wasm's imports from its wasm-bindgen glue short names, in the .wasm and in the
// glue, so that neither carries the long hashed ones (`__wbg_get_unchecked_e6325ad374eff861`,
// 35 of them in edge-otp: about 1 KB of the gzip Worker bundle, mostly incompressible hex).
// Exports keep their names (`memory`, `configure`, ...), so the glue's `wasm.x` calls and
// anything reading the instance's exports are unchanged.
//
//   node .ci/short-imports.mjs pkg/wasm/edge_otp_bg.wasm pkg/wasm/edge_otp.js
//
// Fails (and writes nothing) unless every import of the glue's module is a function defined
// exactly once in the glue, as a `name: function` entry of its import object.
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

const [wasmPath, gluePath] = process.argv.slice(2);
if (!wasmPath || !gluePath) {
  console.error("usage: node .ci/short-imports.mjs <module_bg.wasm> <module.js>");
  process.exit(2);
}
const wasm = readFileSync(wasmPath);
let glue = readFileSync(gluePath, "utf8");
const fail = (why) => {
  console.error(`short-imports: ${why}`);
  process.exit(1);
};

// LEB128 and names, as the binary format writes them.
let p;
const u32 = () => {
  let r = 0;
  let shift = 0;
  for (;;) {
    const b = wasm[p++];
    r += (b & 127) * 2 ** shift;
    shift += 7;
    if (b < 128) return r;
  }
};
const leb = (n) => {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 128;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
};
const name = () => {
  const len = u32();
  const s = wasm.subarray(p, p + len).toString("utf8");
  p += len;
  return s;
};
const nameBytes = (s) => Buffer.concat([leb(Buffer.byteLength(s)), Buffer.from(s, "utf8")]);

// Find the import section (id 2).
p = 8;
let section;
while (p < wasm.length) {
  const start = p;
  const id = wasm[p++];
  const size = u32();
  if (id === 2) {
    section = { start, body: p, end: p + size };
    break;
  }
  p += size;
}
if (section === undefined) fail(`${wasmPath} has no import section`);

// The glue module's name, as the glue spells it (wasm-bindgen's `--target web`).
const glueModule = `./${basename(wasmPath, ".wasm")}.js`;
// Short names: a..z, A..Z, then two letters; never one the glue's object literal uses.
const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const shortName = (i) => (i < 52 ? LETTERS[i] : LETTERS[Math.floor(i / 52) - 1] + LETTERS[i % 52]);

p = section.body;
const count = u32();
const entries = [];
let renamed = 0;
for (let i = 0; i < count; i++) {
  const module = name();
  const field = name();
  const descStart = p;
  const kind = wasm[p++];
  if (kind === 0) u32(); // function: type index
  else if (kind === 1) { p++; const flags = u32(); u32(); if (flags & 1) u32(); } // table
  else if (kind === 2) { const flags = u32(); u32(); if (flags & 1) u32(); } // memory
  else if (kind === 3) p += 2; // global: value type, mutability
  else fail(`import ${field}: unknown kind ${kind}`);
  const desc = wasm.subarray(descStart, p);
  let next = field;
  if (module === glueModule) {
    if (kind !== 0) fail(`import ${field} of ${module} is not a function`);
    next = shortName(renamed++);
    // The definition in the glue's import object: `    <name>: function(`.
    const definition = new RegExp(`(^|[^\\w$])${field.replace(/\$/g, "\\$")}(?=: function\\()`, "g");
    const uses = glue.split(new RegExp(`(?<![\\w$])${field.replace(/\$/g, "\\$")}(?![\\w$])`)).length - 1;
    const defs = (glue.match(definition) ?? []).length;
    if (defs !== 1 || uses !== 1) fail(`${field}: ${defs} definitions and ${uses} uses in ${gluePath} (want 1 and 1)`);
    glue = glue.replace(definition, `$1${next}`);
  }
  entries.push(Buffer.concat([nameBytes(module), nameBytes(next), desc]));
}
if (p !== section.end) fail("import section not read to its end");
if (renamed === 0) fail(`no imports from ${glueModule}`);

const body = Buffer.concat([leb(count), ...entries]);
const out = Buffer.concat([
  wasm.subarray(0, section.start),
  Buffer.from([2]),
  leb(body.length),
  body,
  wasm.subarray(section.end),
]);
// The result must still be a valid module whose imports the glue defines.
const imports = WebAssembly.Module.imports(new WebAssembly.Module(out));
for (const imp of imports) {
  if (imp.module === glueModule && !new RegExp(`(^|[^\\w$])${imp.name}: function\\(`).test(glue)) {
    fail(`${imp.name} is not defined in the rewritten glue`);
  }
}
writeFileSync(wasmPath, out);
writeFileSync(gluePath, glue);
console.log(`short-imports: ${renamed} imports renamed in ${basename(wasmPath)} (${wasm.length} -> ${out.length} bytes)`);
