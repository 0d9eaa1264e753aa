// Builds the bundled per-runtime entries of pkg/ (run by .ci/build after wasm-bindgen and
// the inlined bytes, pkg/dist/wasm-inline.js):
//   dist/browser.mjs     browser / default / module: inlined wasm, compiled asynchronously
//   dist/edge-light.mjs  Vercel Edge Runtime: inlined wasm, new WebAssembly.Module + initSync,
//                        no top-level await, no import.meta
//   www/vendor/edge-otp.js  the demo's copy of the browser entry (one file, error.js inside)
// Each bundles slim.js, driver.js and the wasm-bindgen glue, with the glue's default input
// (`new URL('edge_otp_bg.wasm', import.meta.url)`, used only by `init()` without an
// argument) removed: these entries always pass the inlined bytes, and bundlers (Vite,
// webpack) turn that expression into an emitted copy of the .wasm beside the inlined one.
// error.js stays a module of its own in the package bundles (`../error.js` from dist/), so
// that every entry shares one OtpError class, and so does the base64 .wasm
// (dist/wasm-inline.js), so that the package carries it once.
//
//   node .ci/entries.mjs   (from the repository root; .ci/build runs it)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PKG = path.join(ROOT, "pkg");
const GLUE = path.join(PKG, "wasm/edge_otp.js");
const esbuild = createRequire(path.join(ROOT, "package.json"))("esbuild");

// The glue without its default input. Exactly one occurrence, or the build fails (a new
// wasm-bindgen may change the text: then this step must be looked at again).
const DEFAULT_INPUT = /\n\s*if \(module_or_path === undefined\) \{\n\s*module_or_path = new URL\('edge_otp_bg\.wasm', import\.meta\.url\);\n\s*\}/g;
const glue = readFileSync(GLUE, "utf8");
const found = glue.match(DEFAULT_INPUT)?.length ?? 0;
if (found !== 1) throw new Error(`.ci/entries.mjs: expected the glue's default wasm URL once in ${GLUE}, found it ${found} times`);
const glueWithoutUrl = glue.replace(DEFAULT_INPUT, "");
if (/import\.meta/.test(glueWithoutUrl)) throw new Error(".ci/entries.mjs: the glue still refers to import.meta");

const plugin = (externalError) => ({
  name: "edge-otp-entries",
  setup(build) {
    if (externalError) {
      build.onResolve({ filter: /(^|\/)error\.js$/ }, () => ({ path: "../error.js", external: true }));
      // The inlined bytes stay one shared module too (dist/wasm-inline.js, beside the bundles).
      build.onResolve({ filter: /(^|\/)wasm-inline\.js$/ }, () => ({ path: "./wasm-inline.js", external: true }));
    }
    build.onLoad({ filter: /[\\/]pkg[\\/]wasm[\\/]edge_otp\.js$/ }, () => ({
      contents: glueWithoutUrl,
      loader: "js",
      resolveDir: path.dirname(GLUE),
    }));
  },
});

const common = { bundle: true, format: "esm", logLevel: "error", legalComments: "none", target: "es2022" };
const builds = [
  { entryPoints: [path.join(PKG, "src/browser-esm.js")], outfile: path.join(PKG, "dist/browser.mjs"), platform: "browser", plugins: [plugin(true)] },
  { entryPoints: [path.join(PKG, "src/edge-light.js")], outfile: path.join(PKG, "dist/edge-light.mjs"), platform: "neutral", plugins: [plugin(true)] },
  { entryPoints: [path.join(PKG, "src/browser-esm.js")], outfile: path.join(ROOT, "www/vendor/edge-otp.js"), platform: "browser", plugins: [plugin(false)] },
];
for (const b of builds) await esbuild.build({ ...common, ...b });

for (const b of builds) {
  const out = readFileSync(b.outfile, "utf8");
  const rel = path.relative(ROOT, b.outfile);
  if (/import\.meta|edge_otp_bg\.wasm/.test(out)) throw new Error(`${rel} refers to import.meta or the .wasm file`);
  const errorImports = out.match(/from "\.\.\/error\.js"/g)?.length ?? 0;
  if (b.plugins[0] && rel.startsWith("pkg/") && errorImports < 1) throw new Error(`${rel} does not import ../error.js`);
  if (/from "\.\/error\.js"/.test(out)) throw new Error(`${rel} imports ./error.js`);
  const inlined = /const b64 = |var b64 = /.test(out);
  if (rel.startsWith("pkg/") === inlined) throw new Error(`${rel}: the base64 .wasm should be ${inlined ? "imported" : "inlined"}`);
}
if (/^await /m.test(readFileSync(path.join(PKG, "dist/edge-light.mjs"), "utf8"))) {
  throw new Error("pkg/dist/edge-light.mjs has a top-level await");
}
