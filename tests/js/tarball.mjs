// The packed package, installed as a consumer installs it: `npm pack` pkg/ and
// `npm install` the tarball (offline, no scripts) into a fresh temporary project with
// only a package.json. Used by the runtime suites (Deno, Bun, Edge Runtime, browsers, Vite).
//
//   const t = await installTarball({ files: { "main.mjs": "..." } }); ...; t.cleanup();
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const PKG = path.join(ROOT, "pkg");
export const BIN = path.join(ROOT, "node_modules/.bin");

/** Runs a command; resolves { stdout, stderr, code }; rejects with both outputs on failure (or a timeout). */
export function run(cmd, args, { cwd, timeout = 60_000, env, allowFail = false } = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout, killSignal: "SIGKILL", env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && !allowFail) {
        err.message += `\n--- stdout\n${stdout.slice(-4000)}\n--- stderr\n${stderr.slice(-4000)}`;
        return reject(err);
      }
      resolve({ stdout, stderr, code: err ? (err.code ?? err.signal) : 0 });
    });
  });
}

/** The last line of `stdout` that parses as JSON. */
export function lastJson(stdout) {
  const lines = stdout.trim().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      return JSON.parse(lines[i]);
    } catch {}
  }
  throw new Error(`no JSON line in output:\n${stdout.slice(-2000)}`);
}

const npmEnv = {
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
  npm_config_loglevel: "error",
};

/** A binary from the root devDependencies; throws (the test fails, never skips) when missing. */
export function tool(name) {
  const p = path.join(BIN, name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`bash .ci/setup\` (npm devDependencies)`);
  return p;
}

/**
 * Packs pkg/ and installs the tarball into a new project. `files` maps project-relative
 * paths to contents (strings) or to { copy: absolutePath }. Answers { dir, project, cleanup }.
 */
export async function installTarball({ files = {}, prefix = "edge-otp-rt-" } = {}) {
  if (!existsSync(path.join(PKG, "wasm/edge_otp_bg.wasm")) || !existsSync(path.join(PKG, "dist/browser.mjs"))) {
    throw new Error("package not built: run `bash .ci/build` first");
  }
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const project = path.join(dir, "project");
    mkdirSync(project);
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: PKG, env: npmEnv });
    const [info] = JSON.parse(stdout.slice(stdout.indexOf("[")));
    writeFileSync(
      path.join(project, "package.json"),
      JSON.stringify({ name: "edge-otp-consumer", version: "0.0.0", private: true, type: "module" }, null, 2),
    );
    await run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock", path.join(dir, info.filename)], {
      cwd: project,
      env: npmEnv,
    });
    for (const [rel, content] of Object.entries(files)) {
      const to = path.join(project, rel);
      mkdirSync(path.dirname(to), { recursive: true });
      if (typeof content === "string") writeFileSync(to, content);
      else copyFileSync(content.copy, to);
    }
    return { dir, project, info, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}

let packed = null;
/**
 * The packed package installed once per test process (removed at exit), imported by bare
 * specifier from the consumer project so that the exports map and Node's conditions pick
 * the file, as for a user: `await (await installedPackage()).load("edge-otp/sql")`.
 * Answers { project, dir (node_modules/edge-otp), url(specifier), load(specifier) }; `url`
 * is a file: URL that re-exports the specifier (for child processes to import).
 */
export function installedPackage() {
  packed ??= (async () => {
    const specifiers = ["edge-otp", "edge-otp/sql", "edge-otp/redis", "edge-otp/totp"];
    const files = Object.fromEntries(specifiers.map((s, i) => [`entry-${i}.mjs`, `export * from ${JSON.stringify(s)};\n`]));
    const t = await installTarball({ files });
    process.once("exit", t.cleanup);
    const dir = path.join(t.project, "node_modules/edge-otp");
    const url = (specifier) => {
      const i = specifiers.indexOf(specifier);
      if (i < 0) throw new Error(`installedPackage: unknown specifier ${specifier}`);
      return pathToFileURL(path.join(t.project, `entry-${i}.mjs`)).href;
    };
    return { project: t.project, dir, url, load: (specifier) => import(url(specifier)) };
  })();
  return packed;
}
