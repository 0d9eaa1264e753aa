// The published shape of the package: `npm pack` pkg/, install the tarball into an
// empty project (offline), and use it the ways consumers do, each in a fresh child
// process: ESM import, CommonJS require, edge-otp/slim + init, edge-otp/redis, an
// esbuild browser bundle run under Node, the workerd condition (resolution only), and
// a strict TypeScript consumer (against pkg/ via paths, and against the installed copy).
//
//   node --test tests/js/packaging.test.mjs
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PKG = path.join(ROOT, "pkg");
const TYPES = path.join(ROOT, "tests/js/types");
const BIN = path.join(ROOT, "node_modules/.bin");
const built = existsSync(path.join(PKG, "wasm/edge_otp_bg.wasm")) && existsSync(path.join(PKG, "dist/node.mjs"));
// Not a skip: a test command that silently skips packaging would pass without checking it.
if (!built) throw new Error("package not built: run `bash .ci/build` first");
const skip = false;
const hasRedis = existsSync(path.join(PKG, "redis.js")) && existsSync(path.join(PKG, "redis.d.ts"));
const noRedis = hasRedis ? false : "pkg/redis.js / pkg/redis.d.ts not written yet";
const pkgJson = JSON.parse(readFileSync(path.join(PKG, "package.json"), "utf8"));

/** Runs a command; resolves { stdout, stderr }, rejects with both on failure. */
function run(cmd, args, { cwd, timeout = 60_000, env } = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout, env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        err.message += `\n--- stdout\n${stdout}\n--- stderr\n${stderr}`;
        return reject(err);
      }
      resolve({ stdout, stderr });
    });
  });
}

/** Runs a script file in the consumer project with Node; answers its last stdout line as JSON. */
async function node(file, args = []) {
  const { stdout } = await run(process.execPath, [file, ...args], { cwd: work.project });
  return JSON.parse(stdout.trim().split("\n").at(-1));
}

const npmEnv = {
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
  npm_config_loglevel: "error",
};

const work = {};

// The create-and-verify round trip every entry must pass, as source text.
const roundTrip = `
  const otp = new OtpManager(memoryStorage(), { secret: "packaging test secret 0123456789" });
  const issued = await otp.create("alice@example.com");
  const wrong = await otp.check("alice@example.com", issued.code === "0000" ? "1111" : "0000");
  const right = await otp.verify("alice@example.com", issued.code);
  const again = await otp.verify("alice@example.com", issued.code);
  let error;
  try { await otp.create(""); } catch (e) { error = { code: e.code, isOtpError: e instanceof OtpError }; }
  const result = { code: issued.code, wrong, right, again, error };
`;

function assertRoundTrip(out) {
  assert.match(out.code, /^[0-9]{4}$/);
  assert.deepEqual(out.wrong, { ok: false, reason: "invalid", attemptsLeft: 2 });
  assert.equal(out.right, true);
  assert.equal(out.again, false);
  assert.deepEqual(out.error, { code: "INVALID_ARGUMENT", isOtpError: true });
}

describe("packaging: the npm tarball", { skip }, () => {
  before(async () => {
    work.dir = mkdtempSync(path.join(tmpdir(), "edge-otp-pack-"));
    work.project = path.join(work.dir, "project");
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work.dir], { cwd: PKG, env: npmEnv });
    const [info] = JSON.parse(stdout.slice(stdout.indexOf("[")));
    work.info = info;
    work.tarball = path.join(work.dir, info.filename);
    await run("mkdir", ["-p", work.project]);
    writeFileSync(
      path.join(work.project, "package.json"),
      JSON.stringify({ name: "edge-otp-consumer", version: "0.0.0", private: true, type: "module" }, null, 2),
    );
    await run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock", work.tarball], {
      cwd: work.project,
      env: npmEnv,
    });
  });
  after(() => {
    if (work.dir) rmSync(work.dir, { recursive: true, force: true });
  });

  test("contents: the .wasm, glue, entries and types; no Rust sources or build leftovers", () => {
    const files = work.info.files.map((f) => f.path).sort();
    for (const f of ["package.json", "wasm/edge_otp_bg.wasm", "wasm/edge_otp.js", "slim.js", "node.js", "workerd.js",
      "deno.js", "dist/browser.mjs", "node.cjs", "error.js", "dist/node.mjs", "dist/wasm-inline.js", "dist/types.d.ts", "index.d.ts", "dist/index.d.cts", "dist/types.d.cts", "slim.d.ts"]) {
      assert.ok(files.includes(f), `${f} missing from the tarball`);
    }
    for (const f of files) {
      assert.doesNotMatch(f, /\.rs$|^Cargo\.|^src\/|^target\/|^tests?\/|\.tgz$|^node_modules\/|\.map$/, `${f} should not be published`);
    }
    const wasm = work.info.files.find((f) => f.path === "wasm/edge_otp_bg.wasm");
    assert.equal(wasm.size, statSync(path.join(PKG, "wasm/edge_otp_bg.wasm")).size);
    assert.ok(work.info.unpackedSize < 1_000_000, `unpacked size ${work.info.unpackedSize}`);
  });

  test("every target named in package.json exports, main, module and types is in the tarball", () => {
    const files = new Set(work.info.files.map((f) => f.path));
    const targets = [];
    const walk = (v) => {
      if (typeof v === "string") targets.push(v);
      else if (v && typeof v === "object") Object.values(v).forEach(walk);
    };
    walk(pkgJson.exports);
    walk([pkgJson.main, pkgJson.module, pkgJson.types]);
    const missing = targets.map((t) => t.replace(/^\.\//, "")).filter((t) => !files.has(t));
    if (!hasRedis) {
      assert.deepEqual(missing.filter((t) => !t.startsWith("redis.")), [], "missing export targets");
    } else {
      assert.deepEqual(missing, [], "missing export targets");
    }
  });

  test("README.md is published", { todo: existsSync(path.join(PKG, "README.md")) ? false : "pkg/README.md is listed in files but does not exist yet" }, () => {
    assert.ok(work.info.files.some((f) => f.path === "README.md"));
  });

  test("ESM: import from \"edge-otp\" resolves to dist/node.mjs and does create + verify", async () => {
    writeFileSync(
      path.join(work.project, "esm.mjs"),
      `import { OtpManager, OtpError, memoryStorage } from "edge-otp";
       import * as all from "edge-otp";
       ${roundTrip}
       result.exports = Object.keys(all).sort();
       result.resolved = import.meta.resolve("edge-otp");
       result.wasm = import.meta.resolve("edge-otp/edge_otp_bg.wasm");
       result.pkgVersion = (await import("edge-otp/package.json", { with: { type: "json" } })).default.version;
       console.log(JSON.stringify(result));`,
    );
    const out = await node("esm.mjs");
    assertRoundTrip(out);
    assert.deepEqual(out.exports, ["OtpError", "OtpManager", "memoryStorage"]);
    assert.match(out.resolved, /\/node_modules\/edge-otp\/dist\/node\.mjs$/);
    assert.match(out.wasm, /\/node_modules\/edge-otp\/wasm\/edge_otp_bg\.wasm$/);
    const bytes = readFileSync(fileURLToPath(out.wasm));
    assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], "\\0asm magic");
    assert.equal(out.pkgVersion, pkgJson.version);
  });

  test("CommonJS: require(\"edge-otp\") resolves to node.cjs and does create + verify", async () => {
    writeFileSync(
      path.join(work.project, "cjs.cjs"),
      `const { OtpManager, OtpError, memoryStorage } = require("edge-otp");
       (async () => {
         ${roundTrip}
         result.exports = Object.keys(require("edge-otp")).sort();
         result.resolved = require.resolve("edge-otp");
         result.wasm = require.resolve("edge-otp/edge_otp_bg.wasm");
         result.version = require("edge-otp/package.json").version;
         console.log(JSON.stringify(result));
       })().catch((e) => { console.error(e); process.exit(1); });`,
    );
    const out = await node("cjs.cjs");
    assertRoundTrip(out);
    assert.deepEqual(out.exports, ["OtpError", "OtpManager", "memoryStorage"]);
    assert.match(out.resolved, /\/node_modules\/edge-otp\/node\.cjs$/);
    assert.match(out.wasm, /\/node_modules\/edge-otp\/wasm\/edge_otp_bg\.wasm$/);
    assert.equal(out.version, pkgJson.version);
  });

  test("edge-otp/slim: NOT_INITIALIZED until initSync/init with the packaged .wasm", async () => {
    writeFileSync(
      path.join(work.project, "slim.mjs"),
      `import { readFileSync } from "node:fs";
       import { fileURLToPath } from "node:url";
       import { OtpManager, OtpError, memoryStorage, init, initSync, MAX_TRIES } from "edge-otp/slim";
       const mode = process.argv[2];
       let before;
       try { new OtpManager(memoryStorage(), { secret: "x".repeat(16) }); before = "ok"; } catch (e) { before = e.code; }
       const bytes = readFileSync(fileURLToPath(import.meta.resolve("edge-otp/edge_otp_bg.wasm")));
       // Wrong bytes (the TOTP module, a truncated copy, a valid module without imports,
       // which instantiates): the platform's WebAssembly error or the glue's TypeError,
       // and the module stays unloaded, so the right bytes still load it.
       const emptyModule = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
       const refused = [];
       for (const bad of [readFileSync(fileURLToPath(import.meta.resolve("edge-otp/edge_otp_totp_bg.wasm"))), bytes.subarray(0, 100), emptyModule]) {
         try { if (mode === "sync") initSync({ module: bad }); else await init(bad); refused.push("loaded"); }
         catch (e) { refused.push(e.constructor.name); }
       }
       let between;
       try { new OtpManager(memoryStorage(), { secret: "x".repeat(16) }); between = "ok"; } catch (e) { between = e.code; }
       if (mode === "sync") initSync({ module: bytes }); else await init(bytes);
       ${roundTrip}
       result.refused = refused;
       result.between = between;
       result.before = before;
       result.maxTries = MAX_TRIES;
       result.resolved = import.meta.resolve("edge-otp/slim");
       console.log(JSON.stringify(result));`,
    );
    for (const mode of ["sync", "async"]) {
      const o = await node("slim.mjs", [mode]);
      assertRoundTrip(o);
      assert.equal(o.before, "NOT_INITIALIZED");
      assert.equal(o.refused.length, 3);
      assert.ok(o.refused.every((name) => name === "TypeError" || name === "CompileError" || name === "LinkError"), `${o.refused}`);
      assert.equal(o.between, "NOT_INITIALIZED", "a failed init leaves the module unloaded");
      assert.equal(o.maxTries, 16);
      assert.match(o.resolved, /\/node_modules\/edge-otp\/slim\.js$/);
    }
  });

  test("edge-otp/redis: redisStorage is exported and rejects non-clients", { skip: noRedis }, async () => {
    writeFileSync(
      path.join(work.project, "redis.mjs"),
      `import { redisStorage } from "edge-otp/redis";
       import { OtpManager } from "edge-otp";
       const out = { type: typeof redisStorage };
       try { redisStorage({}); out.rejects = false; } catch (e) { out.rejects = e instanceof TypeError; }
       const values = new Map();
       const fake = {
         get: async (k) => values.get(k) ?? null,
         set: async (k, v) => { values.set(k, v); return "OK"; },
         eval: async () => 0,
         evalsha: async () => 0,
       };
       const storage = redisStorage(fake);
       out.methods = ["get", "put", "compareAndSwap"].map((m) => typeof storage[m]);
       out.absent = await storage.get("nothing");
       new OtpManager(storage, { secret: "x".repeat(16) });
       console.log(JSON.stringify(out));`,
    );
    const out = await node("redis.mjs");
    assert.deepEqual(out, { type: "function", rejects: true, methods: ["function", "function", "function"], absent: null });
  });

  test("edge-otp/sql: the three factories are exported (ESM and require) and refuse bad tables", { skip: existsSync(path.join(PKG, "sql.js")) ? false : "pkg/sql.js not written yet" }, async () => {
    writeFileSync(
      path.join(work.project, "sql.mjs"),
      `import { postgresStorage, sqliteStorage, d1Storage, createTableStatements } from "edge-otp/sql";
       import { createRequire } from "node:module";
       const required = createRequire(import.meta.url)("edge-otp/sql");
       const out = { types: [postgresStorage, sqliteStorage, d1Storage, createTableStatements].map((f) => typeof f), required: typeof required.sqliteStorage };
       try { sqliteStorage({ prepare() {} }, { table: "x; DROP TABLE y" }); out.refused = false; } catch (e) { out.refused = e instanceof TypeError && e.code; }
       out.methods = ["get", "put", "compareAndSwap", "delete", "purgeExpired", "createTable"].map((m) => typeof postgresStorage({ query: async () => ({ rows: [], rowCount: 0 }) })[m]);
       out.absent = await postgresStorage({ query: async () => ({ rows: [], rowCount: 0 }) }).get("k");
       console.log(JSON.stringify(out));`,
    );
    const out = await node("sql.mjs");
    assert.deepEqual(out, {
      types: ["function", "function", "function", "function"], required: "function", refused: "INVALID_CONFIG",
      methods: Array(6).fill("function"), absent: null,
    });
  });

  test("browser bundle (esbuild, platform browser) runs under Node as ESM and does create + verify", async () => {
    writeFileSync(
      path.join(work.project, "browser-entry.mjs"),
      `import { OtpManager, OtpError, memoryStorage } from "edge-otp";
       ${roundTrip}
       console.log(JSON.stringify(result));`,
    );
    await run(path.join(BIN, "esbuild"), ["browser-entry.mjs", "--bundle", "--format=esm", "--platform=browser",
      "--conditions=browser", "--log-level=error", "--metafile=browser-meta.json", "--outfile=browser-bundle.mjs"], { cwd: work.project });
    const meta = JSON.parse(readFileSync(path.join(work.project, "browser-meta.json"), "utf8"));
    const inputs = Object.keys(meta.inputs);
    assert.ok(inputs.includes("node_modules/edge-otp/dist/browser.mjs"), inputs.join(", "));
    assert.ok(inputs.includes("node_modules/edge-otp/error.js"), inputs.join(", "));
    assert.ok(!inputs.some((i) => /edge-otp\/(node\.js|workerd\.js|deno\.js|slim\.js|dist\/node\.mjs|wasm\/)/.test(i)), inputs.join(", "));
    const bundle = readFileSync(path.join(work.project, "browser-bundle.mjs"), "utf8");
    assert.doesNotMatch(bundle, /from\s*["']node:|require\(["'](node:)?fs["']\)/, "the browser bundle uses no Node built-ins");
    const out = await node("browser-bundle.mjs");
    assertRoundTrip(out);
  });

  // dist/browser.mjs has no top-level await: esbuild's browser default (a classic script)
  // takes it as it is, with no condition chosen.
  test("browser bundle as a classic script (esbuild iife, platform browser, no condition) does create + verify", async () => {
    writeFileSync(
      path.join(work.project, "iife-entry.mjs"),
      `import { OtpManager, OtpError, memoryStorage } from "edge-otp";
       (async () => { ${roundTrip}
       console.log(JSON.stringify(result)); })();`,
    );
    await run(path.join(BIN, "esbuild"), ["iife-entry.mjs", "--bundle", "--format=iife", "--platform=browser",
      "--log-level=error", "--metafile=iife-meta.json", "--outfile=iife-bundle.cjs"], { cwd: work.project });
    const inputs = Object.keys(JSON.parse(readFileSync(path.join(work.project, "iife-meta.json"), "utf8")).inputs);
    assert.ok(inputs.includes("node_modules/edge-otp/dist/browser.mjs"), inputs.join(", "));
    assertRoundTrip(await node("iife-bundle.cjs"));
  });

  // A Node bundle cannot take dist/node.mjs (it reads the .wasm beside itself at run
  // time); pkg/README says to pick the inlined build with the edge-light condition.
  for (const format of ["esm", "cjs"]) {
    test(`node bundle (esbuild, platform node, --conditions=edge-light, ${format}) runs with no .wasm beside it`, async () => {
      writeFileSync(
        path.join(work.project, `node-entry-${format}.mjs`),
        `import { OtpManager, OtpError, memoryStorage } from "edge-otp";
         (async () => { ${roundTrip}
         console.log(JSON.stringify(result)); })();`,
      );
      const outfile = `node-bundle-out/bundle.${format === "esm" ? "mjs" : "cjs"}`;
      await run(path.join(BIN, "esbuild"), [`node-entry-${format}.mjs`, "--bundle", `--format=${format}`, "--platform=node",
        "--conditions=edge-light", "--log-level=error", `--metafile=node-meta-${format}.json`, `--outfile=${outfile}`], { cwd: work.project });
      const inputs = Object.keys(JSON.parse(readFileSync(path.join(work.project, `node-meta-${format}.json`), "utf8")).inputs);
      assert.ok(inputs.includes("node_modules/edge-otp/dist/browser.mjs"), inputs.join(", "));
      assertRoundTrip(await node(outfile));
    });
  }

  test("workerd condition: \"edge-otp\" resolves to workerd.js with the .wasm as a module", async () => {
    writeFileSync(
      path.join(work.project, "worker-entry.mjs"),
      `import { OtpManager, memoryStorage } from "edge-otp";
       export default { fetch: () => new Response(String(typeof OtpManager) + typeof memoryStorage) };`,
    );
    await run(path.join(BIN, "esbuild"), ["worker-entry.mjs", "--bundle", "--format=esm", "--platform=neutral",
      "--conditions=workerd,worker,browser", "--loader:.wasm=file", "--log-level=error",
      "--metafile=worker-meta.json", "--outdir=worker-out"], { cwd: work.project });
    const meta = JSON.parse(readFileSync(path.join(work.project, "worker-meta.json"), "utf8"));
    const inputs = Object.keys(meta.inputs);
    assert.ok(inputs.includes("node_modules/edge-otp/workerd.js"), inputs.join(", "));
    assert.ok(inputs.includes("node_modules/edge-otp/wasm/edge_otp_bg.wasm"), inputs.join(", "));
    assert.ok(!inputs.some((i) => /edge-otp\/(node\.js|deno\.js|dist\/)/.test(i)), inputs.join(", "));
  });

  // Copies `files` from tests/js/types into the project and runs tsc there on them with
  // these compiler options (strict, declarations checked, nothing emitted).
  const tscInProject = async (config, files, options) => {
    for (const f of files) copyFileSync(path.join(TYPES, f), path.join(work.project, f));
    writeFileSync(
      path.join(work.project, config),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, skipDefaultLibCheck: true, target: "es2022", ...options },
        files,
      }),
    );
    await run(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", config], { cwd: work.project });
  };

  test("TypeScript consumer (strict) against the installed tarball (nodenext resolution)", async () => {
    const files = ["consumer.ts"];
    if (hasRedis) files.push("consumer-redis.ts");
    if (existsSync(path.join(PKG, "sql.d.ts"))) files.push("consumer-sql.ts");
    await tscInProject("tsconfig.json", files, {
      exactOptionalPropertyTypes: true,
      noUnusedLocals: true,
      module: "nodenext",
      moduleResolution: "nodenext",
      lib: ["es2022", "esnext.disposable", "dom"],
      types: [],
    });
  });

  test("TypeScript consumer without the DOM library (lib es2022 only, no types) against the installed tarball", async () => {
    await tscInProject("tsconfig.nodom.json", ["consumer-nodom.ts"], {
      module: "nodenext", moduleResolution: "nodenext", lib: ["es2022"], types: [],
    });
  });

  test("TypeScript CommonJS consumer (module: node16) against the installed tarball", async () => {
    await tscInProject("tsconfig.cjs.json", ["consumer-cjs.cts"], {
      module: "node16", moduleResolution: "node16", lib: ["es2022", "esnext.disposable", "dom"], types: [],
    });
  });

  test("require and import in one process give the same module and the same OtpError class", async () => {
    const script = path.join(work.project, "same-class.mjs");
    writeFileSync(script, `
      import { createRequire } from "node:module";
      import * as esm from "edge-otp";
      import * as slim from "edge-otp/slim";
      const cjs = createRequire(import.meta.url)("edge-otp");
      let thrown;
      try { await new esm.OtpManager(cjs.memoryStorage(), { secret: "x".repeat(16) }).create(""); } catch (e) { thrown = e; }
      console.log(JSON.stringify({
        sameClass: cjs.OtpError === esm.OtpError,
        sameManager: cjs.OtpManager === esm.OtpManager,
        slimSameClass: slim.OtpError === esm.OtpError,
        thrownIsCjsClass: thrown instanceof cjs.OtpError,
      }));
    `);
    const { stdout } = await run(process.execPath, [script], { cwd: work.project });
    assert.deepEqual(JSON.parse(stdout.trim().split("\n").at(-1)), {
      sameClass: true, sameManager: true, slimSameClass: true, thrownIsCjsClass: true,
    });
  });
});

test("pkg/README.md's table of conditions lists them in the order package.json matches them", () => {
  const readme = readFileSync(path.join(PKG, "README.md"), "utf8");
  const table = readme.split("Conditions of `edge-otp`, in the order they are matched:")[1];
  assert.ok(table, "the conditions table");
  const rows = table.split("\n\n")[1].split("\n").slice(2); // after the header and |---|
  const listed = rows.flatMap((row) => [...row.split("|")[1].matchAll(/`([a-z-]+)`/g)].map((m) => m[1]));
  // `import` / `require` are the node row's sub-conditions; `module` is not an exports condition
  const conditions = listed.filter((c) => !["import", "require", "module"].includes(c));
  assert.deepEqual(conditions, Object.keys(pkgJson.exports["."]));
});

describe("packaging: TypeScript consumer against pkg/ (tests/js/types)", () => {
  test(`tsc -p tests/js/types${hasRedis ? "" : " (without edge-otp/redis: " + noRedis + ")"}`, async () => {
    const project = hasRedis ? "tests/js/types/tsconfig.json" : "tests/js/types/tsconfig.core.json";
    await run(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", project], { cwd: ROOT });
  });
  // Projects without lib "dom": Node (@types/node), Workers (@cloudflare/workers-types),
  // and plain ES2022.
  for (const env of ["node", "workers", "bare"]) {
    test(`tsc -p tests/js/types/tsconfig.nodom-${env}.json`, async () => {
      await run(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", `tests/js/types/tsconfig.nodom-${env}.json`], { cwd: ROOT });
    });
  }
});
