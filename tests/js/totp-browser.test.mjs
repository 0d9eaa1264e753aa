// End-to-end test of the "Authenticator app" demo (www/totp.html) in headless Chromium,
// served by the example Worker on Miniflare: enroll shows a QR code drawn by the page
// (decoded here from a screenshot with jsQR: it must equal the uri), then verify with a
// code computed from the shown seed, replay, lockout, recovery codes, disable. The page
// loads nothing from the network but its own origin.
//
//   node --test tests/js/totp-browser.test.mjs
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { startWorker, ROOT, WWW_DIR } from "./miniflare.mjs";
import { totpAt } from "./totp-suite.mjs";

const CHROMIUM = "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing`;
const require = createRequire(path.join(ROOT, "package.json"));

describe("authenticator-app demo (Chromium + local Worker)", { skip }, () => {
  let browser, worker;
  before(async () => {
    assert.ok(existsSync(path.join(WWW_DIR, "vendor/edge-otp-totp.js")), "run bash .ci/build first");
    const { chromium } = require("playwright-core");
    [browser, worker] = await Promise.all([
      chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] }),
      startWorker({ mode: "kv", demo: true, port: 0 }),
    ]);
  });
  after(async () => {
    await Promise.allSettled([browser?.close(), worker?.dispose()]);
  });

  test("enroll → QR equals the uri; verify, replay, lockout, recovery codes, disable", async () => {
    const jsQR = require("jsqr");
    const context = await browser.newContext({ viewport: { width: 1100, height: 1000 }, colorScheme: "light" });
    const page = await context.newPage();
    const errors = [];
    const foreign = [];
    page.on("pageerror", (e) => errors.push(e));
    page.on("request", (r) => {
      if (!r.url().startsWith(worker.url) && !r.url().startsWith("data:")) foreign.push(r.url());
    });
    await page.goto(`${worker.url}/totp.html`);
    await page.waitForFunction(() => document.documentElement.dataset.ready === "1");
    await page.click("#enroll");
    await page.waitForFunction(() => document.getElementById("message").dataset.reason === "enrolled");
    assert.equal(await page.textContent("#status"), "pending");
    const uri = await page.getAttribute("#qr", "data-uri");
    assert.ok((await page.textContent("#uri")) === uri, "the uri is shown");
    assert.ok(/^otpauth:\/\/totp\/edge-otp%20demo:ada%40example\.com\?secret=[A-Z2-7]+&issuer=edge-otp%20demo&algorithm=SHA1&digits=6&period=30$/.test(uri), "the uri's shape (not shown: it holds the seed)");

    // Decode the QR code from a screenshot of the page (PNG → pixels in a blank page's canvas → jsQR).
    const png = await page.locator("#qr").screenshot();
    const decoder = await context.newPage();
    const pixels = await decoder.evaluate(async (b64) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement("canvas");
      c.width = img.width;
      c.height = img.height;
      const g = c.getContext("2d");
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height);
      return { width: d.width, height: d.height, data: Array.from(d.data) };
    }, png.toString("base64"));
    await decoder.close();
    const decoded = jsQR(Uint8ClampedArray.from(pixels.data), pixels.width, pixels.height);
    assert.ok(decoded, "a QR code in the screenshot");
    assert.ok(decoded.data === uri, "the QR code is the uri");

    const seed = (await page.textContent("#seed")).replace(/\s/g, "");
    assert.ok(seed === new URL(uri).searchParams.get("secret"), "the shown seed is the uri's");
    // Clears the verdict, acts, and waits for the next one.
    const act = async (fn) => {
      await page.evaluate(() => (document.getElementById("message").dataset.reason = ""));
      await fn();
      await page.waitForFunction(() => document.getElementById("message").dataset.reason !== "");
      return page.getAttribute("#message", "data-reason");
    };
    const check = (code) => act(async () => {
      await page.fill("#code", code);
      await page.click("#verify");
    });
    const recover = (code) => act(async () => {
      await page.fill("#recovery", code);
      await page.click("#use-recovery");
    });
    // The page's clock and Node's agree within the window (±30 s).
    const code = await totpAt(seed, Date.now());
    assert.equal(await check(code), "verified");
    assert.equal(await page.textContent("#status"), "active");
    assert.equal(await check(code), "replayed");

    assert.equal(await act(() => page.click("#new-codes")), "codes");
    const codes = await page.$$eval("#codes li", (li) => li.map((x) => x.textContent));
    assert.equal(codes.length, 10);
    assert.equal(await recover(codes[0]), "accepted");
    assert.equal(await recover(codes[0]), "rejected", "single use");
    assert.equal(await act(() => page.click("#new-codes")), "codes");
    assert.equal(await recover(codes[1]), "rejected", "the old set is void");

    // 1 wrong recovery code so far; 4 wrong TOTP codes spend the rest of the budget (5).
    for (let i = 0; i < 4; i++) assert.equal(await check(i % 2 ? "abcdef" : "abcdeg"), "invalid");
    // The page states the failure budget its manager's policy has (the default's count).
    const { failureLimit } = await page.evaluate(async () => {
      const { TotpManager, memoryStorage } = await import("./vendor/edge-otp-totp.js");
      return new TotpManager(memoryStorage(), { secret: "0123456789abcdef", issuer: "x" }).policy;
    });
    const { humanDuration } = await import(new URL("../../www/duration.js", import.meta.url));
    const budget = `(${failureLimit.count} per ${humanDuration(failureLimit.windowSeconds * 1000)})`;
    assert.ok((await page.textContent("#message")).includes(`one failure spent ${budget}.`), budget);
    assert.equal(await check(await totpAt(seed, Date.now() + 30_000)), "locked");
    assert.match(await page.textContent("#message"), /Try again in \d+ (minutes?|seconds?|hours?)\./, "the wait in words");

    // Another account: the previous account's QR code and recovery codes are not shown.
    await act(() => page.click("#new-codes").catch(() => {})); // (locked: refused or not, a verdict)
    await page.fill("#user", "bob@example.com");
    await page.press("#user", "Tab");
    await page.waitForFunction(() => document.getElementById("status").textContent === "none");
    assert.equal(await page.isHidden("#qr-figure"), true, "no QR code of another account");
    assert.equal(await page.$$eval("#codes li", (li) => li.length), 0);
    assert.equal(await act(() => page.click("#new-codes")), "NOT_ENROLLED");
    assert.equal(await page.textContent("#message"), "Not enrolled: enroll first.", "a sentence, not the error's code and message");
    await page.fill("#user", "ada@example.com");
    await page.press("#user", "Tab");

    await page.click("#disable");
    await page.waitForFunction(() => document.getElementById("message").dataset.reason === "disabled");
    assert.equal(await page.textContent("#status"), "none");
    assert.deepEqual(errors, []);
    assert.deepEqual(foreign, [], "no request outside the page's origin");
    await context.close();
  });
});
