// edge-otp/totp from the PACKED TARBALL (npm pack pkg/, installed offline into an empty
// project), interoperating with otplib and otpauth:
//  - a seed enrolled by edge-otp, read from the `uri`, generates codes with otplib and
//    otpauth that edge-otp accepts (SHA1/6, SHA256/8, SHA512/7, periods 30 and 60);
//  - a seed made by otplib and imported gives the same codes in edge-otp as in otplib
//    across the window (and otplib's codes one step outside it are refused);
//  - ESM import and CommonJS require of edge-otp/totp, one OtpError class with edge-otp.
// The child scripts print only booleans and reasons, never a seed or a code.
//
//   node --test tests/js/totp-package.test.mjs
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, existsSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PKG = path.join(ROOT, "pkg");
if (!existsSync(path.join(PKG, "wasm-totp/edge_otp_totp_bg.wasm"))) throw new Error("package not built: run `bash .ci/build` first");
const npmEnv = { npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false", npm_config_loglevel: "error" };

function run(cmd, args, { cwd, env } = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: 120_000, env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        err.message += `\n--- stderr\n${stderr}`;
        return reject(err);
      }
      resolve({ stdout, stderr });
    });
  });
}

const work = {};
async function node(source, args = [], ext = "mjs") {
  const file = path.join(work.project, `t${Math.random().toString(36).slice(2)}.${ext}`);
  writeFileSync(file, source);
  const { stdout } = await run(process.execPath, [file, ...args], { cwd: work.project });
  return JSON.parse(stdout.trim().split("\n").at(-1));
}

const OTPLIB = import.meta.resolve("otplib");
const OTPAUTH = import.meta.resolve("otpauth");

describe("edge-otp/totp from the packed tarball, with otplib and otpauth", () => {
  before(async () => {
    work.dir = mkdtempSync(path.join(tmpdir(), "edge-otp-totp-pack-"));
    work.project = path.join(work.dir, "project");
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work.dir], { cwd: PKG, env: npmEnv });
    const [info] = JSON.parse(stdout.slice(stdout.indexOf("[")));
    work.files = info.files.map((f) => f.path);
    await run("mkdir", ["-p", work.project]);
    writeFileSync(path.join(work.project, "package.json"), JSON.stringify({ name: "c", version: "0.0.0", private: true, type: "module" }));
    await run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock", path.join(work.dir, info.filename)], { cwd: work.project, env: npmEnv });
  });
  after(() => {
    if (work.dir) rmSync(work.dir, { recursive: true, force: true });
  });

  test("the tarball carries the TOTP module and its entries", () => {
    for (const f of ["totp-slim.js", "totp-node.js", "totp-workerd.js", "totp-deno.js", "dist/totp-browser.mjs", "totp.d.ts", "totp-slim.d.ts",
      "memory.js", "dist/types-totp.d.ts", "dist/wasm-totp-inline.js", "wasm-totp/edge_otp_totp.js", "wasm-totp/edge_otp_totp_bg.wasm"]) {
      assert.ok(work.files.includes(f), `${f} missing from the tarball`);
    }
  });

  test("a seed enrolled by edge-otp, read from the uri, gives otplib and otpauth codes that edge-otp accepts", async () => {
    const out = await node(`
      import { TotpManager, memoryStorage } from "edge-otp/totp";
      const otplib = await import(process.argv[2]);
      const OTPAuth = await import(process.argv[3]);
      const results = [];
      let t = Date.UTC(2031, 5, 1, 12, 0, 0);
      for (const [algorithm, digits, periodSeconds] of [["SHA1", 6, 30], ["SHA256", 8, 30], ["SHA512", 7, 60], ["SHA1", 6, 60]]) {
        const totp = new TotpManager(memoryStorage(), { secret: "interop secret 0123456789abcdef", issuer: "Acme Inc", algorithm, digits, periodSeconds, now: () => t });
        const e = await totp.enroll("ada@example.com", { label: "ada@example.com" });
        const parsed = OTPAuth.URI.parse(e.uri);
        const fromOtpauth = parsed.generate({ timestamp: t });
        const r = { algorithm, digits, periodSeconds, otpauthIssuer: parsed.issuer, otpauthLabel: parsed.label,
          otpauthParams: [parsed.algorithm, parsed.digits, parsed.period] };
        r.otpauth = await totp.check("ada@example.com", fromOtpauth);
        t += periodSeconds * 1000;
        const secret = new URL(e.uri).searchParams.get("secret");
        const fromOtplib = await otplib.generate({ secret, epoch: Math.floor(t / 1000), algorithm: algorithm.toLowerCase(), digits, period: periodSeconds });
        r.otplib = await totp.check("ada@example.com", fromOtplib);
        r.otplibReplay = await totp.check("ada@example.com", fromOtplib);
        r.otplibVerifiesUriSecret = (await otplib.verify({ secret, token: parsed.generate({ timestamp: t }), epoch: Math.floor(t / 1000), algorithm: algorithm.toLowerCase(), digits, period: periodSeconds })).valid;
        r.status = await totp.status("ada@example.com");
        results.push(r);
      }
      console.log(JSON.stringify(results));
    `, [OTPLIB, OTPAUTH]);
    assert.equal(out.length, 4);
    for (const r of out) {
      const what = `${r.algorithm}/${r.digits}/${r.periodSeconds}`;
      assert.equal(r.otpauthIssuer, "Acme Inc", what);
      assert.equal(r.otpauthLabel, "ada@example.com", what);
      assert.deepEqual(r.otpauthParams, [r.algorithm, r.digits, r.periodSeconds], what);
      assert.deepEqual(r.otpauth, { ok: true, reason: "verified" }, `${what}: otpauth's code`);
      assert.deepEqual(r.otplib, { ok: true, reason: "verified" }, `${what}: otplib's code`);
      assert.deepEqual(r.otplibReplay, { ok: false, reason: "replayed" }, `${what}: otplib's code again`);
      assert.equal(r.otplibVerifiesUriSecret, true, what);
      assert.equal(r.status, "active", what);
    }
  });

  test("a seed made by otplib and imported gives otplib's codes across the window, not one step beyond", async () => {
    const out = await node(`
      import { TotpManager, memoryStorage } from "edge-otp/totp";
      const otplib = await import(process.argv[2]);
      const results = [];
      const t = Date.UTC(2031, 5, 1, 12, 0, 15);
      for (const algorithm of ["SHA1", "SHA256", "SHA512"]) {
        const secret = otplib.generateSecret();
        const code = (offset) => otplib.generate({ secret, epoch: Math.floor(t / 1000) + offset * 30, algorithm: algorithm.toLowerCase() });
        const totp = new TotpManager(memoryStorage(), { secret: "interop secret 0123456789abcdef", issuer: "Acme", algorithm, now: () => t });
        const e = await totp.enroll("bob", { secret });
        const r = { algorithm, sameSecret: e.secret === secret.toUpperCase().replace(/=+$/, "") };
        r.beyond = [await totp.verify("bob", await code(-2)), await totp.verify("bob", await code(2))];
        r.window = [];
        for (const offset of [-1, 0, 1]) r.window.push(await totp.verify("bob", await code(offset)));
        results.push(r);
      }
      console.log(JSON.stringify(results));
    `, [OTPLIB]);
    for (const r of out) {
      assert.equal(r.sameSecret, true, r.algorithm);
      assert.deepEqual(r.beyond, [false, false], `${r.algorithm}: one step beyond the window`);
      assert.deepEqual(r.window, [true, true, true], `${r.algorithm}: across the window`);
    }
  });

  test("TypeScript consumer (strict) of edge-otp/totp against the installed tarball (nodenext)", async () => {
    copyFileSync(path.join(ROOT, "tests/js/types/consumer-totp.ts"), path.join(work.project, "consumer-totp.ts"));
    writeFileSync(path.join(work.project, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        strict: true, exactOptionalPropertyTypes: true, noUnusedLocals: true, noEmit: true, skipLibCheck: false,
        skipDefaultLibCheck: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext",
        lib: ["es2022", "esnext.disposable", "dom"], types: [],
      },
      files: ["consumer-totp.ts"],
    }));
    await run(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: work.project });
  });

  test("require of edge-otp/totp works and shares OtpError with edge-otp", async () => {
    const out = await node(`
      const totpEntry = require("edge-otp/totp");
      const root = require("edge-otp");
      const totp = new totpEntry.TotpManager(totpEntry.memoryStorage(), { secret: "require secret 0123456789", issuer: "Acme" });
      let same = false;
      totp.enroll("").catch((e) => {
        same = e instanceof root.OtpError && totpEntry.OtpError === root.OtpError;
        console.log(JSON.stringify({ same, code: e.code }));
      });
    `, [], "cjs");
    assert.deepEqual(out, { same: true, code: "INVALID_ARGUMENT" });
  });
});
