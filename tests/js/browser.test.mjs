// End-to-end test of the browser demo (www/) in headless Chromium, served by the
// example Worker (examples/worker/) running locally on Miniflare/workerd (KV mode, demo on).
//
//   node --test tests/js/browser.test.mjs
//
// Drives Debian's /usr/bin/chromium through playwright-core (no browser download).
// Skipped only when /usr/bin/chromium is missing (.ci/setup installs it).
// Screenshots of every state end up in tests/artifacts/browser/*.png (git-ignored).
//
// Two Workers are started:
//  * "default": the stock configuration (resend cooldown 30 s, failure budget 10/hour);
//    send → wrong → right, and the resend cooldown (disabled button, countdown, 429).
//  * "no-cooldown": OTP_RESEND_COOLDOWN_SECONDS=0, so a fresh code can be requested right
//    after a code is exhausted; used to spend the failure budget (10 wrong codes across
//    4 codes, within the issue limit of 5/hour) and reach "locked"; also a regression test
//    for a late GET /api/otp answer overwriting a newer code (delayed with page.route).
// The Browser-only mode (wasm from www/vendor/edge-otp.js + localStorage) runs against the
// default Worker's static files.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { createRequire } from "node:module";
import { startWorker, packageBuilt, ROOT, WWW_DIR } from "./miniflare.mjs";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.join(ROOT, "tests/artifacts/browser");
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (install Debian's chromium; .ci/setup does)`;

const WAIT_MS = 10_000; // per UI wait; the whole file takes a few seconds when green

let userSeq = 0;
const freshUser = (tag) => `${tag}-${process.pid}-${++userSeq}@example.com`;
/** A code of the same shape as `code` that is certainly wrong. */
const wrongCode = (code, n = 0) => {
  const candidate = String(n).repeat(code.length).slice(0, code.length);
  return candidate === code ? String(n + 1).repeat(code.length).slice(0, code.length) : candidate;
};

describe("browser demo (Chromium + local Worker)", { skip }, () => {
  let browser;
  let workers = {}; // name -> startWorker() handle

  before(async () => {
    assert.ok(packageBuilt(), "package not built: run `bash .ci/build` first");
    assert.ok(
      existsSync(path.join(WWW_DIR, "vendor/edge-otp.js")),
      "www/vendor/edge-otp.js missing: run `bash .ci/build` first",
    );
    await mkdir(ARTIFACTS, { recursive: true });
    for (const f of await readdir(ARTIFACTS)) if (f.endsWith(".png")) await rm(path.join(ARTIFACTS, f), { force: true });
    const require = createRequire(path.join(ROOT, "package.json"));
    const { chromium } = require("playwright-core");
    // Start everything in parallel; keep whatever started so after() can dispose it.
    const started = await Promise.allSettled([
      chromium
        .launch({
          executablePath: CHROMIUM,
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
          ],
        })
        .then((b) => (browser = b)),
      startWorker({ mode: "kv", demo: true, port: 0 }).then((w) => (workers.default = w)),
      startWorker({ mode: "kv", demo: true, port: 0, env: { OTP_RESEND_COOLDOWN_SECONDS: "0" } }).then(
        (w) => (workers.noCooldown = w),
      ),
    ]);
    const failed = started.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  });

  after(async () => {
    await Promise.allSettled([
      browser?.close(),
      ...Object.values(workers).map((w) => w.dispose()),
    ]);
  });

  /**
   * Opens the demo in a fresh browser context (own localStorage/sessionStorage) and runs
   * `body(ui)`. Uncaught page errors fail the test; so do console errors other than the
   * expected failed-resource lines (e.g. the 429 of a rate-limited send) listed in `allowConsole`.
   */
  async function withPage(t, { worker = "default", query = "", allowConsole = [] } = {}, body) {
    const base = workers[worker].url;
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, colorScheme: "light" });
    const page = await context.newPage();
    const pageErrors = [];
    const consoleErrors = [];
    let inflight = 0;
    page.on("pageerror", (e) => pageErrors.push(e));
    page.on("console", (msg) => {
      if (msg.type() === "error") consoleErrors.push(msg.text());
    });
    page.on("request", () => inflight++);
    page.on("requestfinished", () => inflight--);
    page.on("requestfailed", () => inflight--);
    const ui = makeUi(page, () => inflight);
    try {
      // The page's first GET /api/otp (status of the default user) is awaited so that no
      // status refresh is still in flight when the test starts clicking.
      await page.goto(`${base}/${query}`);
      await page.waitForFunction(
        () => {
          const m = document.getElementById("message");
          return m.dataset.reason !== "loading" && !document.getElementById("send").disabled;
        },
        null,
        { timeout: WAIT_MS },
      );
      await ui.idle();
      await ui.installProbe();
      await body(ui, page, base);
    } catch (e) {
      await ui.shot(`failure-${t.name.replace(/\W+/g, "-").slice(0, 60)}`).catch(() => {});
      if (pageErrors.length) e.message += `\nuncaught page errors: ${pageErrors.map(String).join("; ")}`;
      if (consoleErrors.length) e.message += `\nconsole errors: ${consoleErrors.join("; ")}`;
      throw e;
    } finally {
      await context.close();
    }
    assert.deepEqual(pageErrors.map(String), [], "uncaught page errors");
    const unexpected = consoleErrors.filter((text) => !allowConsole.some((re) => re.test(text)));
    assert.deepEqual(unexpected, [], "console errors");
  }

  function makeUi(page, inflight) {
    const ui = {
      page,
      /** Counts mutations of #message, so an action's verdict can be told from the previous one. */
      installProbe: () =>
        page.evaluate(() => {
          window.__messageSeq = 0;
          new MutationObserver(() => window.__messageSeq++).observe(document.getElementById("message"), {
            attributes: true,
            childList: true,
            characterData: true,
            subtree: true,
          });
        }),
      /** Waits until no request of the page is in flight (status refreshes included). */
      async idle() {
        const until = Date.now() + WAIT_MS;
        while (inflight() > 0) {
          if (Date.now() > until) throw new Error("page requests still in flight");
          await new Promise((r) => setTimeout(r, 20));
        }
        // Let the app run its continuation (render) after the last response.
        await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
      },
      /** Clicks `selector`, waits for the resulting #message (not a progress state), returns it. */
      async act(selector) {
        const before = await page.evaluate(() => window.__messageSeq);
        await page.click(selector);
        await page.waitForFunction(
          (b) =>
            window.__messageSeq > b &&
            !["sending", "loading"].includes(document.getElementById("message").dataset.reason),
          before,
          { timeout: WAIT_MS },
        );
        await ui.idle();
        return ui.message();
      },
      message: () =>
        page.evaluate(() => {
          const m = document.getElementById("message");
          return { reason: m.dataset.reason, text: m.textContent.trim() };
        }),
      text: async (selector) => (await page.textContent(selector)).trim(),
      status: () => page.getAttribute("#otp-status", "data-status"),
      async send() {
        const msg = await ui.act("#send");
        assert.equal(msg.reason, "sent", `send: ${msg.text}`);
        const code = await ui.text("#inbox-code");
        assert.match(code, /^[0-9]{4}$/, "the demo inbox shows a 4-digit code");
        assert.equal(await ui.status(), "active");
        return code;
      },
      async verify(code) {
        await page.fill("#code", code);
        return ui.act("#verify");
      },
      async setUser(user) {
        await page.fill("#user", user);
        await page.dispatchEvent("#user", "change");
        await page.waitForFunction(
          (u) => document.getElementById("inbox-to").textContent === u,
          user,
          { timeout: WAIT_MS },
        );
        await ui.idle();
      },
      shot: (name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true }),
    };
    return ui;
  }

  test("worker mode: send, wrong code (attempts left), right code verifies", async (t) => {
    await withPage(t, {}, async (ui) => {
      assert.equal(await ui.page.getAttribute("html", "data-mode"), "worker");
      await ui.setUser(freshUser("flow"));
      await ui.shot("worker-01-start");

      const code = await ui.send();
      await ui.shot("worker-02-sent");
      assert.equal(await ui.text("#attempts-left"), "3");
      assert.match(await ui.text("#expires-in"), /^(59|60):\d\d$/);
      // Cooldown of the default Worker: Send is disabled and counts down.
      assert.equal(await ui.page.isDisabled("#send"), true);
      assert.match(await ui.text("#resend-in"), /^00:(2\d|30)$/);

      let msg = await ui.verify(wrongCode(code));
      assert.equal(msg.reason, "invalid", msg.text);
      assert.match(msg.text, /2 attempts left/);
      assert.equal(await ui.text("#attempts-left"), "2");
      assert.equal(await ui.status(), "active");
      await ui.shot("worker-03-invalid");

      msg = await ui.verify(code);
      assert.equal(msg.reason, "verified", msg.text);
      assert.match(msg.text, /verified/i);
      assert.equal(await ui.status(), "used");
      assert.equal(await ui.text("#attempts-left"), "—");
      // A used code has no cooldown: Send is available at once (the record's resendAvailableAt).
      await ui.page.waitForFunction(() => !document.getElementById("send").disabled, null, { timeout: WAIT_MS });
      assert.equal(await ui.text("#resend-in"), "now");
      await ui.shot("worker-04-verified");

      // A used code does not verify twice.
      msg = await ui.verify(code);
      assert.equal(msg.reason, "used", msg.text);
    });
  });

  test("worker mode: resend cooldown (disabled Send counting down, then 429 RATE_LIMITED)", async (t) => {
    const user = freshUser("cooldown");
    await withPage(t, {}, async (ui) => {
      await ui.setUser(user);
      await ui.send();
      const first = await ui.text("#resend-in");
      assert.match(first, /^00:(2\d|30)$/);
      assert.match(await ui.text("#send"), /^Send code \(00:\d\d\)$/);
      assert.equal(await ui.page.isDisabled("#send"), true);
      await ui.page.waitForFunction(
        (f) => {
          const now = document.getElementById("resend-in").textContent;
          return /^00:\d\d$/.test(now) && now < f;
        },
        first,
        { timeout: 3000 },
      );
      assert.equal(await ui.page.isDisabled("#send"), true, "still cooling down");
      await ui.shot("worker-05-cooldown");

      // A reload keeps the cooldown (remembered in sessionStorage).
      await ui.page.reload();
      await ui.setUser(user); // the form may or may not be restored by the browser
      await ui.page.waitForFunction(() => /^00:\d\d$/.test(document.getElementById("resend-in").textContent), null, {
        timeout: WAIT_MS,
      });
      assert.equal(await ui.page.isDisabled("#send"), true);
    });

    // A new browser session learns the cooldown from the server (GET /api/otp answers the
    // library's resendAvailableAt): Send is disabled there too.
    await withPage(t, {}, async (ui) => {
      await ui.setUser(user);
      await ui.page.waitForFunction(() => /^00:\d\d$/.test(document.getElementById("resend-in").textContent), null, {
        timeout: WAIT_MS,
      });
      assert.equal(await ui.page.isDisabled("#send"), true);
      assert.match(await ui.text("#resend-in"), /^00:(1\d|2\d|30)$/);
      await ui.shot("worker-06-cooldown-new-session");
    });
  });

  test("worker mode: 3 wrong codes exhaust a code; 10 failures lock the user", async (t) => {
    await withPage(t, { worker: "noCooldown", allowConsole: [/status of 429/] }, async (ui) => {
      await ui.setUser(freshUser("lock"));
      let code = await ui.send();
      let failures = 0;
      for (const left of [2, 1]) {
        const msg = await ui.verify(wrongCode(code, failures++));
        assert.equal(msg.reason, "invalid", msg.text);
        assert.equal(await ui.text("#attempts-left"), String(left));
      }
      let msg = await ui.verify(wrongCode(code, failures++));
      assert.equal(msg.reason, "invalid", msg.text);
      assert.match(msg.text, /last attempt/);
      assert.equal(await ui.status(), "exhausted");
      assert.equal(await ui.text("#attempts-left"), "0");
      // Even the right code is refused now.
      msg = await ui.verify(code);
      assert.equal(msg.reason, "exhausted", msg.text);
      assert.match(msg.text, /Too many wrong attempts/);
      assert.equal(await ui.status(), "exhausted");
      await ui.shot("worker-07-exhausted");

      // Spend the rest of the failure budget (10 per hour): 3 + 3 + 1 more wrong codes.
      for (const wrong of [3, 3, 1]) {
        assert.equal(await ui.page.isDisabled("#send"), false, "no cooldown on this Worker");
        code = await ui.send();
        // The fresh code allows 3 guesses; the page shows what the budget leaves (1 of 10).
        if (failures === 9) assert.equal(await ui.text("#attempts-left"), "1", "the failure budget's last guess");
        for (let i = 0; i < wrong; i++) {
          msg = await ui.verify(wrongCode(code, failures++ % 10));
          if (failures < 10) assert.equal(msg.reason, "invalid", `failure ${failures}: ${msg.text}`);
        }
      }
      assert.equal(failures, 10);
      // The 10th failure spent the budget, though the 4th code has attempts left: the page
      // says so (the status answer's lockedUntil), not "request a new code".
      assert.equal(msg.reason, "locked", msg.text);
      assert.match(msg.text, /too many failed attempts\. Try again in (1 hour|\d+ minutes)/);
      assert.equal(await ui.status(), "locked");
      assert.equal(await ui.text("#attempts-left"), "—");
      // ...and even the right code is refused.
      msg = await ui.verify(code);
      assert.equal(msg.reason, "locked", msg.text);
      assert.match(msg.text, /Too many failed attempts\. Try again in (1 hour|\d+ minutes)/);
      await ui.shot("worker-08-locked");

      // And no new code can be requested while locked: the status answer's
      // resendAvailableAt (the library's) is the lockout's end, so Send waits for it.
      await ui.page.waitForFunction(() => document.getElementById("send").disabled, null, { timeout: WAIT_MS });
      assert.match(await ui.text("#resend-in"), /^(59|60):\d\d$/);
      await ui.shot("worker-09-locked-send-refused");
    });
  });

  test("worker mode: a code another tab issued: 429 shows it, and once it is used Send is available", async (t) => {
    await withPage(t, { allowConsole: [/status of 429/] }, async (ui) => {
      const user = freshUser("tabs");
      await ui.setUser(user);
      assert.equal(await ui.status(), "none");
      // Another tab (here: this page's fetch, behind the app's back) issues a code.
      const code = await ui.page.evaluate(async (u) => {
        const r = await fetch("/api/otp", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: u }) });
        return (await r.json()).code;
      }, user);
      const msg = await ui.act("#send");
      assert.equal(msg.reason, "RATE_LIMITED", msg.text);
      await ui.idle();
      assert.equal(await ui.status(), "active", "the 429 made the page read the record again");
      assert.match(await ui.text("#inbox-foot"), /^A code was sent before this page asked for one/);
      assert.equal((await ui.verify(code)).reason, "verified");
      await ui.page.waitForFunction(() => !document.getElementById("send").disabled, null, { timeout: WAIT_MS });
      assert.equal(await ui.text("#resend-in"), "now", "a used code has no cooldown, whatever the 429 said");
    });
  });

  test("worker mode: a magic link from the demo inbox; its page changes nothing until confirmed", async (t) => {
    await withPage(t, {}, async (ui) => {
      await ui.setUser(freshUser("link"));
      assert.equal(await ui.page.isVisible("#link-field"), true);
      await ui.page.check("#with-link");
      await ui.send();
      assert.equal(await ui.page.isVisible("#inbox-link-row"), true, "the mail has the link");
      const href = await ui.page.getAttribute("#inbox-link", "href");
      assert.match(href, /^\/link\?/);
      const linkPage = await ui.page.context().newPage();
      await linkPage.goto(new URL(href, ui.page.url()).href);
      assert.equal((await linkPage.textContent("h1")).trim(), "Confirm sign-in");
      // Opening the page used nothing: the code is still active (the page asks again).
      await ui.page.selectOption("#scope", "reset");
      await ui.page.selectOption("#scope", "login");
      await ui.idle();
      assert.equal(await ui.status(), "active");
      await linkPage.click("button[type=submit]");
      await linkPage.waitForFunction(() => document.getElementById("result").textContent !== "", null, { timeout: WAIT_MS });
      assert.equal((await linkPage.textContent("#result")).trim(), "Signed in.");
      await linkPage.close();
      // The issuance is used: the page's status says so once it looks again.
      await ui.page.selectOption("#scope", "reset");
      await ui.page.selectOption("#scope", "login");
      await ui.page.waitForFunction(() => document.getElementById("otp-status").dataset.status === "used", null, { timeout: WAIT_MS });
      await ui.shot("worker-10-magic-link");
    });
  });

  test("worker mode: a late status refresh does not overwrite a newer code", async (t) => {
    // Regression: verify triggers GET /api/otp; if the user sends a new code before that
    // answer arrives, the stale answer (the exhausted code) must not replace the new one.
    await withPage(t, { worker: "noCooldown" }, async (ui, page) => {
      await ui.setUser(freshUser("stale"));
      const code = await ui.send();
      for (let i = 0; i < 2; i++) await ui.verify(wrongCode(code, i));
      // Read the status now, deliver it late.
      let delayed = 0;
      await page.route(
        (url) => url.pathname === "/api/otp" && url.searchParams.has("user"),
        async (route) => {
          const response = await route.fetch();
          delayed++;
          await new Promise((r) => setTimeout(r, 600));
          await route.fulfill({ response }).catch(() => {});
        },
      );
      await page.fill("#code", wrongCode(code, 2));
      const before = await page.evaluate(() => window.__messageSeq);
      await page.click("#verify");
      await page.waitForFunction((b) => window.__messageSeq > b, before, { timeout: WAIT_MS });
      assert.equal(await ui.text("#attempts-left"), "0");
      assert.equal(await ui.status(), "exhausted", "reflected from the verdict, before the refresh");
      const fresh = await ui.send(); // waits for the late status answer too (idle)
      assert.equal(delayed, 1, "the status refresh was delayed");
      assert.equal(await ui.text("#inbox-code"), fresh);
      assert.equal(await ui.status(), "active", "the late answer for the old code was dropped");
      assert.equal(await ui.text("#attempts-left"), "3");
      await page.unroute("**");
      const msg = await ui.verify(fresh);
      assert.equal(msg.reason, "verified", msg.text);
    });
  });

  test("browser-only mode: wasm + localStorage; send, wrong, right; no code in storage", async (t) => {
    await withPage(t, {}, async (ui, page) => {
      // Switch with the toggle (the URL follows).
      await page.click("#mode-local");
      await page.waitForFunction(
        () =>
          document.documentElement.dataset.mode === "local" &&
          /^Browser-only mode/.test(document.getElementById("message").textContent) &&
          !document.getElementById("send").disabled,
        null,
        { timeout: WAIT_MS },
      );
      assert.equal(new URL(page.url()).searchParams.get("mode"), "local");
      assert.equal(await page.isVisible("#mode-note-local"), true);
      await ui.setUser(freshUser("local"));
      await ui.shot("local-01-start");

      const apiCalls = [];
      page.on("request", (r) => {
        if (new URL(r.url()).pathname.startsWith("/api/")) apiCalls.push(r.url());
      });

      const code = await ui.send();
      assert.equal(await ui.text("#attempts-left"), "3");
      assert.equal(await page.isDisabled("#send"), true, "local resend cooldown");
      await ui.shot("local-02-sent");

      let msg = await ui.verify(wrongCode(code));
      assert.equal(msg.reason, "invalid", msg.text);
      assert.match(msg.text, /2 attempts left/);
      assert.equal(await ui.text("#attempts-left"), "2");
      await ui.shot("local-03-invalid");

      msg = await ui.verify(code);
      assert.equal(msg.reason, "verified", msg.text);
      assert.equal(await ui.status(), "used");
      await ui.shot("local-04-verified");

      assert.deepEqual(apiCalls, [], "browser-only mode never calls the Worker API");

      // The stored records hold no code.
      const storage = await page.evaluate(() => {
        const all = {};
        for (let i = 0; i < localStorage.length; i++) {
          const k = localStorage.key(i);
          all[k] = localStorage.getItem(k);
        }
        const session = {};
        for (let i = 0; i < sessionStorage.length; i++) {
          const k = sessionStorage.key(i);
          session[k] = sessionStorage.getItem(k);
        }
        return { local: all, session };
      });
      const records = Object.entries(storage.local).filter(([k]) => k.startsWith("edge-otp-demo:otp:"));
      assert.equal(records.length, 1, `one record in localStorage: ${JSON.stringify(storage.local)}`);
      assert.match(records[0][0], /^edge-otp-demo:otp:login:local-/);
      const record = JSON.parse(records[0][1]);
      assert.ok(Array.isArray(record) && record.length === 12, `record shape: ${records[0][1]}`);
      assert.equal(record[0], 1);
      assert.match(record[1], /^[0-9a-f]{32}$/);
      assert.ok(record.slice(2).every((v) => typeof v === "number"), "all other fields are numbers");
      assert.ok(!record.includes(code), "no field holds the code");
      for (const [k, v] of Object.entries({ ...storage.local, ...storage.session })) {
        assert.ok(!k.includes(code), `key ${k} holds the code`);
        assert.notEqual(v, code, `${k} holds the code`);
        assert.ok(!v.includes(`"${code}"`), `${k} holds the code as a JSON string: ${v}`);
      }
      assert.ok(
        Object.keys(storage.local).every((k) => k.startsWith("edge-otp-demo:")),
        `only edge-otp-demo:* keys: ${Object.keys(storage.local)}`,
      );
    });
  });

  test("browser-only mode via ?mode=local", async (t) => {
    await withPage(t, { query: "?mode=local" }, async (ui, page) => {
      assert.equal(await page.getAttribute("html", "data-mode"), "local");
      assert.equal(await page.isChecked("#mode-local"), true);
      await ui.setUser(freshUser("local-url"));
      const code = await ui.send();
      const msg = await ui.verify(code);
      assert.equal(msg.reason, "verified", msg.text);
    });
  });
});
