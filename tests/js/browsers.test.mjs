// The browser build and the demo's browser-only mode in three engines, from the packed
// tarball: Chromium (Debian chromium, playwright-core), Firefox ESR (Debian firefox-esr,
// puppeteer-core over WebDriver BiDi) and WebKit (Debian webkit2gtk-driver's
// WebKitWebDriver under xvfb-run, plain WebDriver HTTP). .ci/setup installs all three;
// a missing one fails its tests, never skips.
//
//   node --test tests/js/browsers.test.mjs
//
// Pages are served on 127.0.0.1 by a static server:
//   /edge-otp/   the installed tarball (node_modules/edge-otp)
//   /suite/      the conformance suite (tests/js/conformance.mjs) in a page whose import
//                map points "edge-otp" at the package's `browser` entry
//   /www/        the demo (www/), its ./vendor/edge-otp.js answered with a re-export of
//                the tarball's browser entry, opened in browser-only mode (?mode=local)
// Every engine runs: the whole conformance suite on four stores, and the demo's flow
// (send, a wrong code, the right code, a used code; localStorage holds no code; no call
// to /api/). Screenshots in tests/artifacts/browser/<engine>/ (git-ignored).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { installTarball, ROOT } from "./tarball.mjs";
import { serveStatic } from "./static-server.mjs";

const require = createRequire(path.join(ROOT, "package.json"));
const ARTIFACTS = path.join(ROOT, "tests/artifacts/browser");
const WAIT_MS = 15_000;
const CHROMIUM = "/usr/bin/chromium";
const FIREFOX = "/usr/bin/firefox-esr";
const WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver";
const XVFB_RUN = "/usr/bin/xvfb-run";

const requireBinary = (...files) => {
  for (const f of files) assert.ok(existsSync(f), `${f} is missing (bash .ci/setup installs it)`);
};

// ------------------------------------------------------------------ the served pages

const work = {};
before(async () => {
  work.t = await installTarball({
    prefix: "edge-otp-browsers-",
    files: {
      "suite/conformance.mjs": { copy: path.join(ROOT, "tests/js/conformance.mjs") },
      "suite/stores.mjs": { copy: path.join(ROOT, "tests/js/stores.mjs") },
      "suite/browser-suite.mjs": { copy: path.join(ROOT, "tests/js/fixtures/browser-suite.mjs") },
    },
  });
  const installed = path.join(work.t.project, "node_modules/edge-otp");
  const pkg = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8"));
  // What a browser bundler resolves "edge-otp" to: the `browser` condition of ".".
  work.browserEntry = pkg.exports["."].browser.replace(/^\.\//, "/edge-otp/");
  const html = readFileSync(path.join(ROOT, "tests/js/fixtures/browser-suite.html"), "utf8")
    .replace("__IMPORT_MAP__", JSON.stringify({ imports: { "edge-otp": work.browserEntry } }));
  writeFileSync(path.join(work.t.project, "suite/index.html"), html);
  work.server = await serveStatic({
    routes: { "/edge-otp/": installed, "/suite/": path.join(work.t.project, "suite"), "/www/": path.join(ROOT, "www") },
    virtual: {
      "/www/vendor/edge-otp.js": {
        type: "text/javascript; charset=utf-8",
        body: `export { OtpManager, OtpError, memoryStorage } from "${work.browserEntry}";\n`,
      },
    },
  });
});
after(async () => {
  await work.server?.close();
  work.t?.cleanup();
});

// ------------------------------------------------------------------ in-page steps
// Each is an async function's source, run in the page by every driver's `evaluate`.

const inPage = {
  // Waits for `predicate` (source of a function) to hold, polling every 25 ms.
  waitFor: `async (predicateSource, timeoutMs, what) => {
    const predicate = (0, eval)("(" + predicateSource + ")");
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = predicate();
      if (v) return v;
      if (Date.now() > until) throw new Error("timed out waiting for " + what);
      await new Promise((r) => setTimeout(r, 25));
    }
  }`,
  frames: `async () => { for (let i = 0; i < 2; i++) await new Promise((r) => requestAnimationFrame(() => r())); return true; }`,
  errors: `async () => { window.__errors = []; addEventListener("error", (e) => window.__errors.push(String(e.message))); addEventListener("unhandledrejection", (e) => window.__errors.push(String(e.reason))); return true; }`,
  // Demo actions.
  setUser: `async (user) => {
    const u = document.getElementById("user");
    u.value = user;
    u.dispatchEvent(new Event("input", { bubbles: true }));
    u.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }`,
  click: `async (id) => {
    window.__seq = (window.__seq ?? 0);
    if (!window.__observer) {
      window.__observer = new MutationObserver(() => window.__seq++);
      window.__observer.observe(document.getElementById("message"), { attributes: true, childList: true, characterData: true, subtree: true });
    }
    const before = window.__seq;
    document.getElementById(id).click();
    return before;
  }`,
  fill: `async (id, value) => { const e = document.getElementById(id); e.value = value; e.dispatchEvent(new Event("input", { bubbles: true })); return true; }`,
  read: `async () => {
    const t = (id) => document.getElementById(id).textContent.trim();
    const m = document.getElementById("message");
    return {
      reason: m.dataset.reason, text: m.textContent.trim(), mode: document.documentElement.dataset.mode,
      code: t("inbox-code"), attemptsLeft: t("attempts-left"), status: document.getElementById("otp-status").dataset.status,
      sendDisabled: document.getElementById("send").disabled, errors: window.__errors ?? [],
    };
  }`,
  storage: `async () => {
    const all = {};
    for (let i = 0; i < localStorage.length; i++) { const k = localStorage.key(i); all[k] = localStorage.getItem(k); }
    return all;
  }`,
};

// ------------------------------------------------------------------ drivers
// { name, goto(url), evaluate(fnSource, ...args), screenshot(file), close() }

async function chromiumDriver() {
  requireBinary(CHROMIUM);
  const { chromium } = require("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  return {
    version: browser.version(),
    goto: (url) => page.goto(url),
    evaluate: (fn, ...args) => page.evaluate(`(${fn})(...${JSON.stringify(args)})`),
    screenshot: (file) => page.screenshot({ path: file, fullPage: true }),
    close: () => browser.close(),
  };
}

async function firefoxDriver() {
  requireBinary(FIREFOX);
  const puppeteer = require("puppeteer-core");
  const home = mkdtempSync(path.join(tmpdir(), "edge-otp-firefox-home-"));
  let browser;
  try {
    browser = await puppeteer.launch({
      browser: "firefox",
      executablePath: FIREFOX,
      headless: true,
      protocol: "webDriverBiDi",
      env: { ...process.env, HOME: home },
      timeout: 30_000,
    });
  } catch (e) {
    rmSync(home, { recursive: true, force: true });
    throw e;
  }
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 900 });
  return {
    version: await browser.version(),
    goto: (url) => page.goto(url),
    evaluate: (fn, ...args) => page.evaluate(`(${fn})(...${JSON.stringify(args)})`),
    screenshot: (file) => page.screenshot({ path: file, fullPage: true }),
    async close() {
      try {
        await browser.close();
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    },
  };
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function webkitDriver() {
  requireBinary(WEBKIT_DRIVER, XVFB_RUN);
  const port = await freePort();
  // Own process group: xvfb-run, Xvfb, WebKitWebDriver (and MiniBrowser) end together.
  const child = spawn(XVFB_RUN, ["-a", "-s", "-screen 0 1280x1024x24", WEBKIT_DRIVER, `--port=${port}`, "--host=127.0.0.1"], {
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  // If this process dies first, take the driver's process group with it.
  const killOnExit = () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  };
  process.once("exit", killOnExit);
  const kill = async () => {
    process.removeListener("exit", killOnExit);
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    const t = setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, 3000);
    await exited;
    clearTimeout(t);
  };
  const base = `http://127.0.0.1:${port}`;
  // Every request has a timeout: without a display, POST /session hangs instead of failing.
  const wd = async (method, p, body, timeoutMs = WAIT_MS) => {
    const res = await fetch(base + p, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`WebDriver ${method} ${p}: ${res.status} ${JSON.stringify(json.value).slice(0, 2000)}`);
    return json.value;
  };
  let session;
  try {
    const until = Date.now() + 15_000;
    for (;;) {
      try {
        if ((await wd("GET", "/status", undefined, 1000)).ready) break;
      } catch {}
      if (Date.now() > until) throw new Error(`WebKitWebDriver did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const created = await wd("POST", "/session", { capabilities: { alwaysMatch: {} } }, 30_000);
    session = created.sessionId;
    await wd("POST", `/session/${session}/timeouts`, { script: 60_000, pageLoad: 30_000 });
    const version = created.capabilities?.browserVersion ?? "?";
    return {
      version,
      goto: (url) => wd("POST", `/session/${session}/url`, { url }, 30_000),
      async evaluate(fn, ...args) {
        const r = await wd("POST", `/session/${session}/execute/async`, {
          script: `const done = arguments[arguments.length - 1];
            Promise.resolve().then(() => (${fn})(...arguments[0])).then(
              (v) => done({ ok: true, v: v === undefined ? null : v }),
              (e) => done({ ok: false, e: String((e && e.stack) || e) }));`,
          args: [args],
        }, 70_000);
        if (!r.ok) throw new Error(r.e);
        return r.v;
      },
      async screenshot(file) {
        writeFileSync(file, Buffer.from(await wd("GET", `/session/${session}/screenshot`), "base64"));
      },
      async close() {
        try {
          await wd("DELETE", `/session/${session}`, undefined, 10_000);
        } finally {
          await kill();
        }
      },
    };
  } catch (e) {
    if (session) await wd("DELETE", `/session/${session}`, undefined, 10_000).catch(() => {});
    await kill();
    throw e;
  }
}

// ------------------------------------------------------------------ the tests

let userSeq = 0;
const USER_AGENT = { chromium: /Chrome\//, firefox: /Firefox\//, webkit: /^(?!.*(Chrome|Firefox)\/).*AppleWebKit\// };
const wrongCode = (code) => (code === "0000" ? "1111" : "0000");

for (const [engine, launch] of [
  ["chromium", chromiumDriver],
  ["firefox", firefoxDriver],
  ["webkit", webkitDriver],
]) {
  describe(`${engine}: the browser build and the demo's browser-only mode`, () => {
    let d;
    const dir = path.join(ARTIFACTS, engine);
    const shot = async (name) => {
      await d.evaluate(inPage.frames);
      await d.screenshot(path.join(dir, `${name}.png`));
    };
    before(async () => {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      d = await launch();
    });
    after(async () => {
      await d?.close();
    });

    test("conformance suite with the package's browser entry (four stores)", async () => {
      await d.goto(`${work.server.url}/suite/`);
      const report = await d.evaluate(inPage.waitFor, "() => window.__conformance || (window.__loadErrors.length && { error: window.__loadErrors.join('; ') })", 60_000, "the conformance suite");
      await shot("conformance");
      assert.equal(report.error, undefined, report.error);
      const failed = report.results.filter((r) => r.status === "failed");
      assert.deepEqual(failed.map((r) => `[${r.store}] ${r.name}: ${r.message}\n${r.stack}`), [], `${engine} ${d.version}`);
      assert.match(report.userAgent, USER_AGENT[engine], "the engine under test");
      assert.ok(report.cases >= 30);
      assert.equal(report.results.length, report.cases * 4);
      const skipped = report.results.filter((r) => r.status === "skipped");
      assert.ok(skipped.every((r) => r.store === "syncMap"), JSON.stringify(skipped));
    });

    test("demo, browser-only mode: send, wrong, right, used; no code stored; no API call", async () => {
      const apiBefore = work.server.requests.filter((r) => r.startsWith("/api/")).length;
      await d.goto(`${work.server.url}/www/?mode=local`);
      await d.evaluate(inPage.errors);
      await d.evaluate(
        inPage.waitFor,
        `() => (document.documentElement.dataset.mode === "local" && /^Browser-only mode/.test(document.getElementById("message").textContent) && !document.getElementById("send").disabled) || document.getElementById("message").dataset.reason === "LOAD_FAILED"`,
        WAIT_MS,
        "the engine to load",
      );
      const loaded = await d.evaluate(inPage.read);
      assert.notEqual(loaded.reason, "LOAD_FAILED", loaded.text);
      const user = `${engine}-${process.pid}-${++userSeq}@example.com`;
      await d.evaluate(inPage.setUser, user);
      await d.evaluate(inPage.waitFor, `() => document.getElementById("inbox-to").textContent === ${JSON.stringify(user)}`, WAIT_MS, "the user");
      await shot("local-01-start");

      const act = async (id, what) => {
        const before = await d.evaluate(inPage.click, id);
        await d.evaluate(
          inPage.waitFor,
          `() => window.__seq > ${before} && !["sending", "loading"].includes(document.getElementById("message").dataset.reason)`,
          WAIT_MS,
          what,
        );
        return d.evaluate(inPage.read);
      };

      let s = await act("send", "the code to be sent");
      assert.equal(s.reason, "sent", s.text);
      assert.match(s.code, /^[0-9]{4}$/);
      assert.equal(s.attemptsLeft, "3");
      assert.equal(s.status, "active");
      assert.equal(s.sendDisabled, true, "local resend cooldown");
      const code = s.code;
      await shot("local-02-sent");

      await d.evaluate(inPage.fill, "code", wrongCode(code));
      s = await act("verify", "the wrong code's verdict");
      assert.equal(s.reason, "invalid", s.text);
      assert.match(s.text, /2 attempts left/);
      assert.equal(s.attemptsLeft, "2");
      await shot("local-03-invalid");

      await d.evaluate(inPage.fill, "code", code);
      s = await act("verify", "the right code's verdict");
      assert.equal(s.reason, "verified", s.text);
      assert.equal(s.status, "used");
      await shot("local-04-verified");

      await d.evaluate(inPage.fill, "code", code);
      s = await act("verify", "the used code's verdict");
      assert.equal(s.reason, "used", s.text);
      assert.deepEqual(s.errors, [], "uncaught page errors");

      const storage = await d.evaluate(inPage.storage);
      const records = Object.entries(storage).filter(([k]) => k.startsWith("edge-otp-demo:otp:"));
      assert.equal(records.length, 1, JSON.stringify(storage));
      for (const [k, v] of Object.entries(storage)) {
        assert.ok(!k.includes(code) && v !== code && !v.includes(`"${code}"`), `${k} holds the code: ${v}`);
      }
      assert.equal(work.server.requests.filter((r) => r.startsWith("/api/")).length, apiBefore, "no call to the Worker API");
    });
  });
}
