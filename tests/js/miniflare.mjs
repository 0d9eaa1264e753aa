// Local runner for the Worker example (examples/worker/) on Miniflare 4 / workerd.
//
// Approach (mirrors what `wrangler deploy` does):
//  1. esbuild bundles examples/worker/src/index.js into one ES module. The bare
//     import "edge-otp" is resolved through a temporary node_modules directory
//     holding a symlink edge-otp -> <repo>/pkg, so the package's own `exports`
//     map is used with conditions ["workerd", "worker", "browser"] (-> pkg/workerd.js).
//     `cloudflare:*` stays external. Any `*.wasm` import (pkg/workerd.js does
//     `import wasm from "./wasm/edge_otp_bg.wasm"`) is left external, rewritten to
//     "./<basename>.wasm", and the file is copied next to the bundle.
//  2. Miniflare gets the modules listed explicitly with a modulesRoot:
//     [{type: "ESModule", path: "index.js"}, {type: "CompiledWasm", path: "edge_otp_bg.wasm"}],
//     so the Worker receives a WebAssembly.Module exactly as on Cloudflare.
//  3. Static files come from www/ through Miniflare's Workers Static Assets
//     support (`assets.directory`), the same thing `[assets]` does in wrangler.toml;
//     requests that match no file fall through to the Worker.
//
// Bindings: KV namespace OTP_KV, Durable Object namespace OTP (class
// OtpDurableObject, SQLite-backed), vars OTP_SECRET / OTP_MODE / OTP_DEMO.
//
// startConformanceWorker() builds tests/js/fixtures/conformance-worker.js the same way
// and runs the shared conformance suite inside workerd against real DO storage and KV.

import { mkdtemp, mkdir, rm, symlink, copyFile, stat } from "node:fs/promises";
import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const PKG_DIR = path.join(ROOT, "pkg");
export const WWW_DIR = path.join(ROOT, "www");
export const WORKER_ENTRY = path.join(ROOT, "examples/worker/src/index.js");
export const COMPATIBILITY_DATE = "2025-06-01";
/** Test-only secret. Never use outside local tests. */
export const TEST_SECRET = "test-only-secret-do-not-use-0123456789";

async function loadMiniflare() {
  return import(path.join(ROOT, "node_modules/miniflare/dist/src/index.js"));
}

async function loadEsbuild() {
  const { createRequire } = await import("node:module");
  const require = createRequire(path.join(ROOT, "package.json"));
  return require("esbuild");
}

/**
 * Bundles a Worker entry for workerd.
 * @returns {Promise<{dir: string, modulesRoot: string, modules: {type: string, path: string}[], cleanup(): Promise<void>}>}
 */
export async function buildWorker({ entry = WORKER_ENTRY, outdir, pkgDir = PKG_DIR, plugins = [] } = {}) {
  const tmp = await mkdtemp(path.join(tmpdir(), "edge-otp-worker-"));
  // Miniflare exits the process itself on SIGINT/SIGTERM; remove the build dir then too.
  const removeSync = () => rmSync(tmp, { recursive: true, force: true });
  process.once("exit", removeSync);
  const cleanup = async () => {
    process.removeListener("exit", removeSync);
    await rm(tmp, { recursive: true, force: true });
  };
  try {
    return await bundle({ entry, outdir, pkgDir, plugins, tmp, cleanup });
  } catch (e) {
    await cleanup();
    throw e;
  }
}

async function bundle({ entry, outdir, pkgDir, plugins, tmp, cleanup }) {
  const esbuild = await loadEsbuild();
  const dir = outdir ?? path.join(tmp, "out");
  await mkdir(dir, { recursive: true });
  // node_modules/edge-otp -> pkg/ so the package resolves by name, exports map and all.
  const nodeModules = path.join(tmp, "node_modules");
  await mkdir(nodeModules);
  await symlink(pkgDir, path.join(nodeModules, "edge-otp"), "dir");

  const wasmFiles = new Map(); // basename -> absolute source path
  const wasmExternal = {
    name: "wasm-external",
    setup(build) {
      build.onResolve({ filter: /\.wasm$/ }, (args) => {
        const abs = path.resolve(args.resolveDir, args.path);
        const base = path.basename(abs);
        const prev = wasmFiles.get(base);
        if (prev && prev !== abs) return { errors: [{ text: `two different wasm files named ${base}` }] };
        wasmFiles.set(base, abs);
        return { path: `./${base}`, external: true };
      });
    },
  };

  await esbuild.build({
    entryPoints: [entry],
    outfile: path.join(dir, "index.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    nodePaths: [nodeModules],
    external: ["cloudflare:*", "node:*"],
    plugins: [...plugins, wasmExternal],
    logLevel: "warning",
    sourcemap: false,
    minify: false,
  });

  const modules = [{ type: "ESModule", path: path.join(dir, "index.js") }];
  for (const [base, src] of wasmFiles) {
    await copyFile(src, path.join(dir, base));
    modules.push({ type: "CompiledWasm", path: path.join(dir, base) });
  }
  return {
    dir,
    modulesRoot: dir,
    modules,
    cleanup,
  };
}

function persistPaths(persist) {
  if (!persist) return {};
  const root = typeof persist === "string" ? path.resolve(ROOT, persist) : path.join(ROOT, ".mf");
  return {
    kvPersist: path.join(root, "kv"),
    durableObjectsPersist: path.join(root, "do"),
  };
}

/**
 * Starts a built Worker (see buildWorker) on Miniflare on 127.0.0.1 with the project's
 * compatibility date and no network access for Request.cf; `options` adds the bindings.
 * Returns { mf, url, dispose() }; on a failed start it cleans up and rethrows.
 */
export async function serveBuild(build, options) {
  const { Miniflare } = await loadMiniflare();
  let mf;
  try {
    mf = new Miniflare({
      modulesRoot: build.modulesRoot,
      modules: build.modules,
      compatibilityDate: COMPATIBILITY_DATE,
      host: "127.0.0.1",
      port: 0,
      cf: false, // placeholder Request.cf; never fetch it from the network
      ...options,
    });
    const url = String(await mf.ready).replace(/\/$/, "");
    return {
      mf,
      url,
      async dispose() {
        try {
          await mf.dispose();
        } finally {
          await build.cleanup();
        }
      },
    };
  } catch (e) {
    await mf?.dispose().catch(() => {});
    await build.cleanup();
    throw e;
  }
}

/**
 * Builds and starts the example Worker.
 * @param {object} o
 * @param {"kv"|"durable-object"} [o.mode]
 * @param {boolean} [o.demo] OTP_DEMO=1 (code in POST /api/otp responses)
 * @param {number} [o.port] 0 = random free port
 * @param {boolean|string} [o.persist] false = in memory; true = <repo>/.mf; string = directory
 * @param {string|null} [o.secret] OTP_SECRET; defaults to TEST_SECRET; null leaves it unset
 * @param {Record<string,string|undefined>} [o.env] extra/overriding vars (undefined removes)
 * @param {string|false} [o.assets] static directory (default www/ if it exists); false = none
 * @param {string} [o.pkgDir] package directory "edge-otp" resolves to (default <repo>/pkg)
 * @returns {Promise<{url: string, mf: any, dispose(): Promise<void>, kv(): Promise<any>, doNamespace(): Promise<any>}>}
 */
export async function startWorker({
  mode = "kv",
  demo = true,
  port = 0,
  persist = false,
  secret,
  env,
  assets,
  pkgDir = PKG_DIR,
  verbose = false,
} = {}) {
  const { Log, LogLevel } = await loadMiniflare();
  const build = await buildWorker({ pkgDir });
  const bindings = {
    OTP_SECRET: secret === undefined ? TEST_SECRET : secret,
    OTP_MODE: mode,
    OTP_DEMO: demo ? "1" : "0",
    ...env,
  };
  for (const k of Object.keys(bindings)) {
    if (bindings[k] === undefined || bindings[k] === null) delete bindings[k];
  }
  const assetsDir = assets === false ? null : (assets ?? (existsSync(WWW_DIR) ? WWW_DIR : null));

  const server = await serveBuild(build, {
    name: "edge-otp-example",
    bindings,
    kvNamespaces: ["OTP_KV"],
    durableObjects: { OTP: { className: "OtpDurableObject", useSQLite: true } },
    ...(assetsDir
      ? { assets: { directory: assetsDir, routerConfig: { has_user_worker: true } } }
      : {}),
    ...persistPaths(persist),
    port,
    log: verbose ? new Log(LogLevel.INFO) : undefined,
  });
  const { mf } = server;
  return {
    ...server,
    kv: () => mf.getKVNamespace("OTP_KV"),
    doNamespace: () => mf.getDurableObjectNamespace("OTP"),
  };
}

/**
 * An esbuild plugin for Worker fixtures that import tests/js/conformance.mjs: its default
 * loader imports pkg/node.js (node:fs ...), which is never called inside workerd (the
 * fixtures pass their own `load`), so the import is replaced with a stub that throws.
 */
export const stubNodeEntry = {
  name: "stub-node-entry",
  setup(build) {
    build.onResolve({ filter: /(^|\/)pkg\/node\.js$/ }, () => ({ path: "node-entry", namespace: "stub" }));
    build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
      contents: 'throw new Error("pkg/node.js is not available inside workerd");',
      loader: "js",
    }));
  },
};

/**
 * The shared conformance suite (tests/js/conformance.mjs) running INSIDE workerd, through
 * the package's workerd entry, against real Durable Object storage (`ctx.storage` as is,
 * one fresh object per case) and a real KV namespace (the binding as is).
 * See tests/js/fixtures/conformance-worker.js.
 * @returns {Promise<{run(store: "do"|"kv", name: string): Promise<{status: string, reason?: string, message?: string, stack?: string}>, mf: any, dispose(): Promise<void>}>}
 */
export async function startConformanceWorker({ pkgDir = PKG_DIR } = {}) {
  const build = await buildWorker({
    entry: path.join(ROOT, "tests/js/fixtures/conformance-worker.js"),
    pkgDir,
    plugins: [stubNodeEntry],
  });
  const server = await serveBuild(build, {
    name: "edge-otp-conformance",
    kvNamespaces: ["KV"],
    durableObjects: { CONFORMANCE_DO: { className: "ConformanceDO", useSQLite: true } },
  });
  const { mf } = server;
  return {
    ...server,
    async run(store, name) {
      const res = await mf.dispatchFetch("http://conformance/run", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ store, name }),
      });
      if (!res.ok) throw new Error(`conformance worker answered ${res.status}: ${await res.text()}`);
      return res.json();
    },
    async cases() {
      return (await mf.dispatchFetch("http://conformance/cases")).json();
    },
  };
}

/** True once the lead's build has produced the wasm package. */
export function packageBuilt() {
  return existsSync(path.join(PKG_DIR, "wasm/edge_otp_bg.wasm")) && existsSync(path.join(PKG_DIR, "workerd.js"));
}

export async function fileExists(p) {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}
