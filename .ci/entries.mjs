// Builds the bundled per-runtime entries of pkg/ (run by .ci/build after wasm-bindgen and
// the inlined bytes, pkg/dist/wasm-inline.js):
//   dist/browser.mjs     browser / edge-light / default / module: inlined wasm,
//                        new WebAssembly.Module + initSync, no top-level await, no import.meta
//   www/vendor/edge-otp.js  the demo's copy of it (one file, error.js inside)
//   dist/totp-browser.mjs, www/vendor/edge-otp-totp.js
//                        the same two for edge-otp/totp (its own wasm and glue)
// Each bundles slim.js (totp-slim.js), driver.js and the wasm-bindgen glue, with the glue's default input
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

// The glues without their default input. Exactly one occurrence each, or the build fails
// (a new wasm-bindgen may change the text: then this step must be looked at again).
const glues = [
  { file: GLUE, wasm: "edge_otp_bg.wasm" },
  { file: path.join(PKG, "wasm-totp/edge_otp_totp.js"), wasm: "edge_otp_totp_bg.wasm" },
].map(({ file, wasm }) => {
  const escaped = wasm.replace(/\./g, "\\.");
  const defaultInput = new RegExp(`\\n\\s*if \\(module_or_path === undefined\\) \\{\\n\\s*module_or_path = new URL\\('${escaped}', import\\.meta\\.url\\);\\n\\s*\\}`, "g");
  const glue = readFileSync(file, "utf8");
  const found = glue.match(defaultInput)?.length ?? 0;
  if (found !== 1) throw new Error(`.ci/entries.mjs: expected the glue's default wasm URL once in ${file}, found it ${found} times`);
  const contents = glue.replace(defaultInput, "");
  if (/import\.meta/.test(contents)) throw new Error(`.ci/entries.mjs: ${file} still refers to import.meta`);
  return { file, contents };
});

const plugin = (externalError) => ({
  name: "edge-otp-entries",
  setup(build) {
    if (externalError) {
      build.onResolve({ filter: /(^|\/)error\.js$/ }, () => ({ path: "../error.js", external: true }));
      // The inlined bytes stay shared modules too (dist/wasm-inline.js and
      // dist/wasm-totp-inline.js, beside the bundles).
      build.onResolve({ filter: /(^|\/)wasm(-totp)?-inline\.js$/ }, (args) => ({ path: `./${path.basename(args.path)}`, external: true }));
    }
    build.onLoad({ filter: /[\\/]edge_otp(_totp)?\.js$/ }, (args) => {
      const glue = glues.find((g) => g.file === args.path);
      return glue && { contents: glue.contents, loader: "js", resolveDir: path.dirname(glue.file) };
    });
  },
});

const common = { bundle: true, format: "esm", logLevel: "error", legalComments: "none", target: "es2022" };
const builds = [
  { entryPoints: [path.join(PKG, "src/browser-esm.js")], outfile: path.join(PKG, "dist/browser.mjs"), platform: "browser", plugins: [plugin(true)] },
  { entryPoints: [path.join(PKG, "src/browser-esm.js")], outfile: path.join(ROOT, "www/vendor/edge-otp.js"), platform: "browser", plugins: [plugin(false)] },
  { entryPoints: [path.join(PKG, "src/totp-browser-esm.js")], outfile: path.join(PKG, "dist/totp-browser.mjs"), platform: "browser", plugins: [plugin(true)] },
  { entryPoints: [path.join(PKG, "src/totp-browser-esm.js")], outfile: path.join(ROOT, "www/vendor/edge-otp-totp.js"), platform: "browser", plugins: [plugin(false)] },
];
for (const b of builds) await esbuild.build({ ...common, ...b });

for (const b of builds) {
  const out = readFileSync(b.outfile, "utf8");
  const rel = path.relative(ROOT, b.outfile);
  if (/import\.meta|edge_otp(_totp)?_bg\.wasm/.test(out)) throw new Error(`${rel} refers to import.meta or a .wasm file`);
  const errorImports = out.match(/from "\.\.\/error\.js"/g)?.length ?? 0;
  if (b.plugins[0] && rel.startsWith("pkg/") && errorImports < 1) throw new Error(`${rel} does not import ../error.js`);
  if (/from "\.\/error\.js"/.test(out)) throw new Error(`${rel} imports ./error.js`);
  const inlined = /const b64 = |var b64 = /.test(out);
  if (rel.startsWith("pkg/") === inlined) throw new Error(`${rel}: the base64 .wasm should be ${inlined ? "imported" : "inlined"}`);
}
// No top-level await in any of them (classic scripts, CommonJS in bundlers, lazy chunks):
// esbuild refuses to turn a module with one into CommonJS, wherever the await stands.
for (const b of builds) {
  try {
    await esbuild.transform(readFileSync(b.outfile, "utf8"), { format: "cjs", logLevel: "silent" });
  } catch (e) {
    throw new Error(`${path.relative(ROOT, b.outfile)}: ${e.errors?.[0]?.text ?? e.message}`);
  }
}
