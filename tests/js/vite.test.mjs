// Vite (a root devDependency) building an app that imports "edge-otp" from the packed
// tarball: the browser entry inlines the .wasm, and its bundled glue has no
// `new URL("edge_otp_bg.wasm", import.meta.url)`, so Vite must not emit a second, unused
// copy of the .wasm as an asset. The built app then runs create/verify in Node and in
// headless Chromium (served on 127.0.0.1).
// Control: an app on edge-otp/slim calling init() with no argument (which fetches the
// .wasm next to the glue) does get the .wasm as an asset: the check below sees emissions.
//
//   node --test tests/js/vite.test.mjs
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { installTarball, ROOT } from "./tarball.mjs";
import { serveStatic } from "./static-server.mjs";

const CHROMIUM = "/usr/bin/chromium";
const require = createRequire(path.join(ROOT, "package.json"));

const page = (script) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>vite app</title><script type="module" src="./${script}"></script></head><body></body></html>\n`;
const appMain = (importLine, initLine = "") => `${importLine}
${initLine}
const otp = new OtpManager(memoryStorage(), { secret: "vite test secret 0123456789abcdef" });
const issued = await otp.create("alice@example.com");
const wrong = await otp.check("alice@example.com", issued.code === "0000" ? "1111" : "0000");
const right = await otp.verify("alice@example.com", issued.code);
let error;
try { await otp.create(""); } catch (e) { error = { code: e.code, isOtpError: e instanceof OtpError }; }
const result = { code: issued.code, wrong, right, error };
globalThis.__edgeOtpResult = result;
if (typeof document !== "undefined") document.title = "done:" + JSON.stringify(result);
`;

function assertRoundTrip(out) {
  assert.match(out.code, /^[0-9]{4}$/);
  assert.deepEqual(out.wrong, { ok: false, reason: "invalid", attemptsLeft: 2 });
  assert.equal(out.right, true);
  assert.deepEqual(out.error, { code: "INVALID_ARGUMENT", isOtpError: true });
}

const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name],
  );

describe("Vite build of an app importing edge-otp (from the tarball)", () => {
  const work = {};
  before(async () => {
    work.t = await installTarball({
      prefix: "edge-otp-vite-",
      files: {
        "app/index.html": page("main.js"),
        "app/main.js": appMain('import { OtpManager, OtpError, memoryStorage } from "edge-otp";'),
        "slim-app/index.html": page("main.js"),
        "slim-app/main.js": appMain('import { OtpManager, OtpError, memoryStorage, init } from "edge-otp/slim";', "await init();"),
        "totp-app/index.html": page("main.js"),
        "totp-app/main.js": `import { TotpManager, memoryStorage } from "edge-otp/totp";
const totp = new TotpManager(memoryStorage(), { secret: "vite totp secret 0123456789abcdef", issuer: "Acme" });
const e = await totp.enroll("ada@example.com");
globalThis.__edgeOtpTotp = { status: e.status, uri: e.uri.startsWith("otpauth://totp/Acme:"), check: await totp.check("ada@example.com", "abcdef") };
`,
      },
    });
    const vite = await import(pathToFileURL(require.resolve("vite")).href);
    work.viteVersion = vite.version;
    for (const app of ["app", "slim-app", "totp-app"]) {
      await vite.build({
        root: path.join(work.t.project, app),
        configFile: false,
        logLevel: "silent",
        build: { outDir: path.join(work.t.project, `${app}-dist`), emptyOutDir: true, target: "es2022", minify: true, modulePreload: { polyfill: false } },
      });
    }
  });
  after(() => work.t?.cleanup());

  for (const [app, what] of [["app", "edge-otp"], ["totp-app", "edge-otp/totp"]]) {
    test(`${what}: no .wasm file (nor a reference to one) in the app's output`, () => {
      const out = path.join(work.t.project, `${app}-dist`);
      const files = walk(out);
      assert.ok(files.some((f) => /^assets\/.*\.js$/.test(f)), files.join(", "));
      assert.deepEqual(files.filter((f) => f.endsWith(".wasm")), [], "no .wasm asset");
      for (const f of files.filter((f) => f.endsWith(".js"))) {
        assert.doesNotMatch(readFileSync(path.join(out, f), "utf8"), /\.wasm\b/, `${f} refers to a .wasm file`);
      }
      const total = files.reduce((n, f) => n + statSync(path.join(out, f)).size, 0);
      assert.ok(total < 300_000, `output is ${total} bytes (one inlined copy of the wasm expected)`);
    });
  }

  test("edge-otp/totp: the built app enrolls and checks in Node", async () => {
    const out = path.join(work.t.project, "totp-app-dist");
    const entry = walk(out).find((f) => /^assets\/.*\.js$/.test(f));
    delete globalThis.__edgeOtpTotp;
    await import(pathToFileURL(path.join(out, entry)).href);
    assert.deepEqual(globalThis.__edgeOtpTotp, { status: "pending", uri: true, check: { ok: false, reason: "invalid" } });
  });

  test("control: edge-otp/slim with init() and no argument gets the .wasm it fetches as an asset", () => {
    const files = walk(path.join(work.t.project, "slim-app-dist"));
    assert.equal(files.filter((f) => f.endsWith(".wasm")).length, 1, files.join(", "));
  });

  test("the built app runs create/verify in Node", async () => {
    const out = path.join(work.t.project, "app-dist");
    const entry = walk(out).find((f) => /^assets\/.*\.js$/.test(f));
    delete globalThis.__edgeOtpResult;
    await import(pathToFileURL(path.join(out, entry)).href);
    assertRoundTrip(globalThis.__edgeOtpResult);
  });

  test("the built app runs create/verify in headless Chromium", async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (.ci/setup installs chromium)`);
    const server = await serveStatic({ routes: { "/": path.join(work.t.project, "app-dist") } });
    const { chromium } = require("playwright-core");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const p = await browser.newPage();
      const errors = [];
      p.on("pageerror", (e) => errors.push(String(e)));
      await p.goto(`${server.url}/`);
      await p.waitForFunction(() => document.title.startsWith("done:"), null, { timeout: 10_000 });
      assertRoundTrip(JSON.parse((await p.title()).slice(5)));
      assert.deepEqual(errors, []);
      assert.ok(!server.requests.some((r) => r.endsWith(".wasm")), server.requests.join(", "));
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
