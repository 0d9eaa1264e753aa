// The Node example server (examples/node/server.mjs): the HTTP API, error mapping, static
// files, path traversal; in-process on 127.0.0.1 port 0 with injected storage and clock,
// then the CLI itself (env handling; two processes sharing one real redis-server).
//
//   node --test tests/js/node-server.test.mjs

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createServer } from "../../examples/node/server.mjs";
import { retentionFor as sharedRetentionFor } from "../../examples/shared/http-api.js";
import { OtpManager, memoryStorage } from "../../pkg/node.js";
import { startRedis } from "./redis-server.mjs";

const SERVER_PATH = fileURLToPath(new URL("../../examples/node/server.mjs", import.meta.url));
const WWW = fileURLToPath(new URL("../../www/", import.meta.url));
const SECRET = "node-server test secret 0123456789";
const T0 = 1_893_456_000_000; // 2030-01-01T00:00:00Z

/**
 * One HTTP request over a fresh connection (no keep-alive), with the path sent exactly as
 * given (no normalisation, unlike fetch). Resolves { status, headers, text, json }.
 */
function request(port, method, target, { body, headers = {}, json = true } = {}) {
  return new Promise((resolve, reject) => {
    let payload = body;
    const h = { ...headers };
    if (body !== undefined && typeof body !== "string" && !Buffer.isBuffer(body)) payload = JSON.stringify(body);
    if (payload !== undefined && json && !Object.keys(h).some((k) => k.toLowerCase() === "content-type")) {
      h["content-type"] = "application/json";
    }
    if (payload !== undefined) h["content-length"] = Buffer.byteLength(payload);
    const req = http.request({ host: "127.0.0.1", port, method, path: target, headers: h, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed;
        if ((res.headers["content-type"] ?? "").startsWith("application/json") && text) {
          try {
            parsed = JSON.parse(text);
          } catch {
            /* left undefined */
          }
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json: parsed });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}

/** Starts createServer(options) on 127.0.0.1:0; returns { port, request, close }. */
async function start(options) {
  const server = createServer({ secret: SECRET, ...options });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    server,
    port,
    request: (...args) => request(port, ...args),
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}

function assertJsonError(r, status, code) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text}`);
  assert.match(r.headers["content-type"], /^application\/json/);
  assert.equal(r.json?.error?.code, code, r.text);
  assert.equal(typeof r.json.error.message, "string");
}

const wrongCode = (code) => String((Number(code[0]) + 1) % 10) + code.slice(1);

// ---------------------------------------------------------------- the API, in process

test("the Redis and KV retention outlives every window of the policy, as the engine reports it", () => {
  const retentionFor = (options, atLeast) => sharedRetentionFor({ OtpManager, memoryStorage }, options, atLeast);
  const secret = "retention-secret-0123456789abcdef";
  assert.equal(retentionFor({ secret }, 86400), 86400, "a day when every window is shorter");
  assert.equal(retentionFor({ secret, ttlSeconds: 100_000 }, 86400), 100_000, "a code's lifetime over a day");
  const failureLimit = { count: 5, windowSeconds: 200_000 };
  const r = retentionFor({ secret, failureLimit }, 86400);
  assert.equal(r, 200_000, "a failure window over a day");
  // The manager accepts it (a shorter retention is INVALID_CONFIG).
  new OtpManager(memoryStorage(), { secret, failureLimit, retentionSeconds: r }).dispose();
});

describe("node server: HTTP API", () => {
  const clock = { t: T0 };
  let storage;
  let demo; // OTP_DEMO on
  let quiet; // demo off, same storage and secret
  before(async () => {
    storage = memoryStorage();
    demo = await start({ storage, demo: true, otp: { now: () => clock.t } });
    quiet = await start({ storage, otp: { now: () => clock.t } });
  });
  after(async () => {
    await demo?.close();
    await quiet?.close();
  });

  test("create → wrong verify (attemptsLeft) → right verify → used", async () => {
    const user = "ada@example.com";
    const c = await demo.request("POST", "/api/otp", { body: { user } });
    assert.equal(c.status, 200, c.text);
    assert.equal(c.headers["cache-control"], "no-store");
    assert.match(c.json.code, /^\d{4}$/);
    assert.deepEqual(c.json, {
      createdAt: T0,
      expiresAt: T0 + 3_600_000,
      attempts: 0,
      maxAttempts: 3,
      attemptsLeft: 3,
      resendAvailableAt: T0 + 30_000,
      code: c.json.code,
    });
    const wrong = await demo.request("POST", "/api/otp/verify", { body: { user, code: wrongCode(c.json.code) } });
    assert.equal(wrong.status, 200);
    assert.deepEqual(wrong.json, { ok: false, reason: "invalid", attemptsLeft: 2 });
    const s1 = await demo.request("GET", `/api/otp?user=${encodeURIComponent(user)}`);
    assert.deepEqual(s1.json, { status: "active", createdAt: T0, expiresAt: T0 + 3_600_000, attempts: 1, maxAttempts: 3, attemptsLeft: 2, resendAvailableAt: T0 + 30_000 });
    const right = await demo.request("POST", "/api/otp/verify", { body: { user, code: c.json.code, scope: "login" } });
    assert.deepEqual(right.json, { ok: true, reason: "verified", attemptsLeft: 0 });
    const again = await demo.request("POST", "/api/otp/verify", { body: { user, code: c.json.code } });
    assert.deepEqual(again.json, { ok: false, reason: "used", attemptsLeft: 0 });
    const s2 = await demo.request("GET", `/api/otp?user=${encodeURIComponent(user)}&scope=login`);
    assert.equal(s2.json.status, "used");
    assert.equal(s2.json.resendAvailableAt, T0, "a used code has no cooldown (the library says so)");
  });

  test("magic link: GET /link is a page that changes nothing; POST verify-link uses the issuance", async () => {
    const user = "Link.User@Example.com ";
    const c = await demo.request("POST", "/api/otp", { body: { user, link: true } });
    assert.equal(c.status, 200, c.text);
    assert.match(c.json.link, /^\/link\?/);
    const before = await demo.request("GET", `/api/otp?user=${encodeURIComponent("link.user@example.com")}`);
    assert.equal(before.json.status, "active", "the e-mail address was normalised");
    const page = await demo.request("GET", c.json.link);
    assert.equal(page.status, 200);
    assert.match(page.headers["content-type"], /text\/html/);
    assert.equal(page.headers["x-frame-options"], "DENY", "never framed by another site");
    assert.equal(page.headers["content-security-policy"], "frame-ancestors 'none'");
    assert.equal(page.headers["referrer-policy"], "no-referrer", "the token is not sent on");
    assert.ok(!page.text.includes(c.json.code), "the page never shows the code");
    const after = await demo.request("GET", `/api/otp?user=${encodeURIComponent(user)}`);
    assert.equal(after.json.status, "active", "opening the link (as a mail scanner does) changed nothing");
    const token = new URLSearchParams(c.json.link.split("?")[1]).get("token");
    const v = await demo.request("POST", "/api/otp/verify-link", { body: { user, token } });
    assert.deepEqual(v.json, { ok: true, reason: "verified", attemptsLeft: 0 });
    const code = await demo.request("POST", "/api/otp/verify", { body: { user, code: c.json.code } });
    assert.equal(code.json.reason, "used", "the code belongs to the same issuance");
  });

  test("magic link page: worded for its scope; an incomplete link has no button", async () => {
    const page = async (q) => (await demo.request("GET", `/link?${q}`)).text;
    assert.match(await page("user=a%40b.c&token=t"), /<h1>Confirm sign-in<\/h1>[\s\S]*>Sign in<\/button>/);
    const reset = await page("user=a%40b.c&token=t&scope=reset");
    assert.match(reset, /<h1>Confirm password reset<\/h1>[\s\S]*>Continue<\/button>/);
    assert.doesNotMatch(reset, /Sign in|Signed in/, "a reset link does not say sign-in");
    const bare = await page("");
    assert.match(bare, /This link is incomplete/);
    assert.doesNotMatch(bare, /<form|<button/);
  });

  test("GET status never includes the code; {status: none} without one; HEAD has no body", async () => {
    const none = await demo.request("GET", "/api/otp?user=nobody%40example.com");
    assert.equal(none.status, 200);
    assert.deepEqual(none.json, { status: "none" });
    const user = "status@example.com";
    const { json: created } = await demo.request("POST", "/api/otp", { body: { user } });
    for (const scope of ["", "&scope=login"]) {
      const r = await demo.request("GET", `/api/otp?user=${user}${scope}`);
      assert.deepEqual(Object.keys(r.json).sort(), ["attempts", "attemptsLeft", "createdAt", "expiresAt", "maxAttempts", "resendAvailableAt", "status"]);
      assert.ok(!("code" in r.json));
      assert.ok(!r.text.includes('"code"'));
    }
    // the reset scope is independent
    const other = await demo.request("GET", `/api/otp?user=${user}&scope=reset`);
    assert.deepEqual(other.json, { status: "none" });
    const head = await demo.request("HEAD", `/api/otp?user=${user}`);
    assert.equal(head.status, 200);
    assert.equal(head.text, "");
    assert.match(created.code, /^\d{4}$/);
  });

  test("demo off: POST /api/otp has no code, and the flow still works with the mailed code", async () => {
    const user = "quiet@example.com";
    const c = await quiet.request("POST", "/api/otp", { body: { user, scope: "reset" } });
    assert.equal(c.status, 200, c.text);
    assert.ok(!("code" in c.json), c.text);
    assert.deepEqual(Object.keys(c.json).sort(), ["attempts", "attemptsLeft", "createdAt", "expiresAt", "maxAttempts", "resendAvailableAt"]);
    // What the app would have e-mailed: read it with a manager on the same store and secret.
    const mailer = new OtpManager(storage, { secret: SECRET, scope: "reset", now: () => clock.t });
    const { code } = await mailer.getLatestOtp(user);
    const v = await quiet.request("POST", "/api/otp/verify", { body: { user, code, scope: "reset" } });
    assert.deepEqual(v.json, { ok: true, reason: "verified", attemptsLeft: 0 });
  });

  test("400 INVALID_ARGUMENT: bad JSON, non-object bodies, missing and wrong-typed fields, unknown scope", async () => {
    const bodies = [
      ["/api/otp", "{not json"],
      ["/api/otp", ""],
      ["/api/otp", "null"],
      ["/api/otp", "[1,2]"],
      ["/api/otp", '"ada"'],
      ["/api/otp", {}],
      ["/api/otp", { user: null }],
      ["/api/otp", { user: "" }],
      ["/api/otp", { user: 42 }],
      ["/api/otp", { user: ["ada"] }],
      ["/api/otp", { user: "ada", scope: "admin" }],
      ["/api/otp", { user: "ada", scope: 1 }],
      ["/api/otp", { user: "x".repeat(257) }], // rejected by the library (> 256 bytes)
      ["/api/otp", { user: "\ud800" }], // lone surrogate: rejected by the library
      ["/api/otp/verify", "{bad"],
      ["/api/otp/verify", { user: "ada" }],
      ["/api/otp/verify", { code: "1234" }],
      ["/api/otp/verify", { user: "ada", code: 1234 }],
      ["/api/otp/verify", { user: 1, code: "1234" }],
      ["/api/otp/verify", { user: "ada", code: "1234", scope: "nope" }],
    ];
    for (const [route, body] of bodies) {
      const r = await demo.request("POST", route, { body });
      assertJsonError(r, 400, "INVALID_ARGUMENT");
    }
    assertJsonError(await demo.request("GET", "/api/otp"), 400, "INVALID_ARGUMENT");
    assertJsonError(await demo.request("GET", "/api/otp?user="), 400, "INVALID_ARGUMENT");
    assertJsonError(await demo.request("GET", "/api/otp?user=ada&scope=admin"), 400, "INVALID_ARGUMENT");
    // Nothing was written by any of them.
    assert.equal((await demo.request("GET", "/api/otp?user=ada")).json.status, "none");
  });

  test("415 without a JSON content type, 413 over 8 KiB", async () => {
    const form = await demo.request("POST", "/api/otp", {
      body: "user=ada",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assertJsonError(form, 415, "INVALID_ARGUMENT");
    assertJsonError(await demo.request("POST", "/api/otp", { body: '{"user":"ada"}', json: false }), 415, "INVALID_ARGUMENT");
    const ok = await demo.request("POST", "/api/otp", {
      body: JSON.stringify({ user: "big@example.com", pad: "x".repeat(8000) }),
      headers: { "content-type": "application/json; charset=utf-8" },
    });
    assert.equal(ok.status, 200, "a body just under 8 KiB is accepted");
    const big = await demo.request("POST", "/api/otp", { body: { user: "big2@example.com", pad: "x".repeat(9000) } });
    assertJsonError(big, 413, "INVALID_ARGUMENT");
    assert.equal((await demo.request("GET", "/api/otp?user=big2%40example.com")).json.status, "none");
  });

  test("400 for a body that is not UTF-8 (not a U+FFFD user id sharing another's record)", async () => {
    const bad = Buffer.concat([Buffer.from('{"user":"y'), Buffer.from([0xff]), Buffer.from('@a.b"}')]);
    assertJsonError(await demo.request("POST", "/api/otp", { body: bad }), 400, "INVALID_ARGUMENT");
    assert.equal((await demo.request("GET", `/api/otp?user=${encodeURIComponent("y\uFFFD@a.b")}`)).json.status, "none");
  });

  test("a client that hangs up mid-body is not logged as a server error", async () => {
    const s = await start({});
    const errors = [];
    const origError = console.error;
    console.error = (...a) => errors.push(a);
    try {
      await new Promise((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port: s.port, method: "POST", path: "/api/otp", agent: false,
          headers: { "content-type": "application/json", "content-length": 100 } });
        req.on("error", () => resolve());
        req.write('{"user":"half');
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50);
        req.on("response", () => reject(new Error("answered a half body")));
      });
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(errors, []);
    } finally {
      console.error = origError;
      await s.close();
    }
  });

  test("429 RATE_LIMITED with Retry-After in whole seconds (rounded up) for a second create within the cooldown", async () => {
    const user = "eager@example.com";
    assert.equal((await demo.request("POST", "/api/otp", { body: { user } })).status, 200);
    clock.t += 10_500;
    try {
      const r = await demo.request("POST", "/api/otp", { body: { user } });
      assertJsonError(r, 429, "RATE_LIMITED");
      assert.equal(r.json.error.retryAfterMs, 19_500);
      assert.equal(r.json.error.reason, "cooldown", "the rule that refused, for the UI");
      assert.equal(r.headers["retry-after"], "20");
      clock.t += 19_499;
      const r2 = await demo.request("POST", "/api/otp", { body: { user } });
      assert.equal(r2.json.error.retryAfterMs, 1);
      assert.equal(r2.headers["retry-after"], "1");
      clock.t += 1;
      const r3 = await demo.request("POST", "/api/otp", { body: { user } });
      assert.equal(r3.status, 200, r3.text);
      assert.equal(r3.json.resendAvailableAt, clock.t + 30_000);
    } finally {
      clock.t = T0;
    }
  });

  test("locked verdicts are 200 with retryAfterMs (not an HTTP error)", async () => {
    const s = await start({ demo: true, otp: { now: () => T0, failureLimit: { count: 2, windowSeconds: 600 } } });
    try {
      const user = "locked@example.com";
      const { json } = await s.request("POST", "/api/otp", { body: { user } });
      for (let i = 0; i < 2; i++) await s.request("POST", "/api/otp/verify", { body: { user, code: wrongCode(json.code) } });
      const r = await s.request("POST", "/api/otp/verify", { body: { user, code: json.code } });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { ok: false, reason: "locked", attemptsLeft: 0, retryAfterMs: 600_000 });
      const c = await s.request("POST", "/api/otp", { body: { user } });
      assertJsonError(c, 429, "RATE_LIMITED");
      assert.equal(c.json.error.reason, "locked");
      assert.equal(c.headers["retry-after"], "600");
    } finally {
      await s.close();
    }
  });

  test("storage failures: CONFLICT and TIMEOUT → 503, CORRUPT_RECORD → 500, anything else → 500 INTERNAL without details", async () => {
    const inner = memoryStorage();
    const hostile = {
      mode: "ok",
      get(key) {
        if (this.mode === "throw") throw new Error("secret connection string redis://admin:hunter2@db");
        if (this.mode === "corrupt") return "[1,\"not a record";
        if (this.mode === "hang") return new Promise(() => {});
        return inner.get(key);
      },
      put: (k, v) => inner.put(k, v),
      compareAndSwap(k, e, v) {
        return this.mode === "conflict" ? false : inner.compareAndSwap(k, e, v);
      },
    };
    const s = await start({ storage: hostile, otp: { timeoutMs: 100 } });
    const errors = [];
    const origError = console.error;
    console.error = (...a) => errors.push(a);
    try {
      hostile.mode = "conflict";
      const c = await s.request("POST", "/api/otp", { body: { user: "a" } });
      assertJsonError(c, 503, "CONFLICT");
      assert.equal(c.headers["retry-after"], "1");
      hostile.mode = "corrupt";
      assertJsonError(await s.request("POST", "/api/otp/verify", { body: { user: "a", code: "1234" } }), 500, "CORRUPT_RECORD");
      assertJsonError(await s.request("GET", "/api/otp?user=a"), 500, "CORRUPT_RECORD");
      hostile.mode = "hang";
      const h = await s.request("POST", "/api/otp", { body: { user: "a" } });
      assertJsonError(h, 503, "TIMEOUT");
      assert.equal(h.headers["retry-after"], "1");
      hostile.mode = "throw";
      const t = await s.request("POST", "/api/otp", { body: { user: "a" } });
      assertJsonError(t, 500, "INTERNAL");
      assert.deepEqual(t.json, { error: { code: "INTERNAL", message: "internal error" } });
      assert.ok(!t.text.includes("hunter2"));
      assert.ok(errors.length >= 1, "the error is logged server-side");
    } finally {
      console.error = origError;
      await s.close();
    }
  });

  test("404 for unknown API routes, 405 (with Allow) for wrong methods", async () => {
    for (const p of ["/api", "/api/", "/api/otp/", "/api/otp/verify/x", "/api/otps", "/api/nope"]) {
      assertJsonError(await demo.request("GET", p), 404, "NOT_FOUND");
    }
    const cases = [
      ["PUT", "/api/otp", "GET, HEAD, POST"],
      ["DELETE", "/api/otp", "GET, HEAD, POST"],
      ["PATCH", "/api/otp", "GET, HEAD, POST"],
      ["GET", "/api/otp/verify", "POST"],
      ["PUT", "/api/otp/verify", "POST"],
      ["POST", "/", "GET, HEAD"],
      ["DELETE", "/index.html", "GET, HEAD"],
      ["POST", "/link", "GET, HEAD"],
      ["PUT", "/link", "GET, HEAD"],
    ];
    for (const [method, p, allow] of cases) {
      const r = await demo.request(method, p, { body: { user: "ada" } });
      assertJsonError(r, 405, "METHOD_NOT_ALLOWED");
      assert.equal(r.headers.allow, allow);
    }
  });
});

describe("node server: a client that stalls", () => {
  // Headers never finished: answered 408 and cut off once headersTimeout has passed, not
  // up to node:http's default check interval (30 s) later.
  test("408 within a second of headersTimeout (the server's connectionsCheckingInterval)", async () => {
    const s = await start({ timeouts: { headersTimeout: 300, requestTimeout: 600 } });
    try {
      const t0 = performance.now();
      const answer = await new Promise((resolve, reject) => {
        const socket = net.connect(s.port, "127.0.0.1", () => socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
        let text = "";
        socket.on("data", (d) => (text += d));
        socket.on("close", () => resolve(text));
        socket.on("error", reject);
        setTimeout(() => {
          socket.destroy();
          reject(new Error(`no answer after 5 s (got ${JSON.stringify(text)})`));
        }, 5_000).unref();
      });
      const ms = performance.now() - t0;
      assert.match(answer, /^HTTP\/1\.1 408 /);
      assert.ok(ms >= 300 && ms < 2_500, `answered after ${Math.round(ms)} ms`);
    } finally {
      await s.close();
    }
  });
});

// ---------------------------------------------------------------- static files

describe("node server: static files from www/", () => {
  let s;
  let tmp;
  let jail; // a temporary www with a secret next to it
  before(async () => {
    s = await start({});
    tmp = mkdtempSync(path.join(os.tmpdir(), "edge-otp-www-"));
    mkdirSync(path.join(tmp, "www", "sub"), { recursive: true });
    writeFileSync(path.join(tmp, "www", "index.html"), "<!doctype html><title>jail</title>");
    writeFileSync(path.join(tmp, "www", "sub", "index.html"), "sub index");
    writeFileSync(path.join(tmp, "www", "app.wasm"), Buffer.from([0, 97, 115, 109]));
    writeFileSync(path.join(tmp, "www", ".env"), "TOP_SECRET=1");
    writeFileSync(path.join(tmp, "secret.txt"), "TOP_SECRET outside www");
    symlinkSync(path.join(tmp, "secret.txt"), path.join(tmp, "www", "link.txt"));
    jail = await start({ www: path.join(tmp, "www") });
  });
  after(async () => {
    await s?.close();
    await jail?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test("index.html at /, files with their content types, HEAD, 404 for missing files", async () => {
    const index = await s.request("GET", "/");
    assert.equal(index.status, 200);
    assert.equal(index.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(index.text, readFileSync(path.join(WWW, "index.html"), "utf8"));
    assert.equal((await s.request("GET", "/index.html")).text, index.text);
    const js = await s.request("GET", "/app.js");
    assert.equal(js.status, 200);
    assert.equal(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert.equal(js.headers["x-content-type-options"], "nosniff");
    const css = await s.request("GET", "/style.css?v=1");
    assert.equal(css.headers["content-type"], "text/css; charset=utf-8");
    const head = await s.request("HEAD", "/");
    assert.equal(head.status, 200);
    assert.equal(head.text, "");
    assert.equal(Number(head.headers["content-length"]), Buffer.byteLength(index.text));
    for (const p of ["/nope.html", "/vendor/nope.js", "/vendor", "/vendor/", "/index.html/"]) {
      assertJsonError(await s.request("GET", p), 404, "NOT_FOUND");
    }
    const wasm = await jail.request("GET", "/app.wasm");
    assert.equal(wasm.headers["content-type"], "application/wasm");
    assert.equal((await jail.request("GET", "/sub/")).text, "sub index");
  });

  test("/vendor/edge-otp.js is served from www/vendor when the build made it", async (t) => {
    const file = path.join(WWW, "vendor", "edge-otp.js");
    if (!existsSync(file)) return t.skip("www/vendor/edge-otp.js not built");
    const r = await s.request("GET", "/vendor/edge-otp.js");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/javascript; charset=utf-8");
    assert.equal(r.text, readFileSync(file, "utf8"));
    // dotfiles are never served
    assertJsonError(await s.request("GET", "/vendor/.gitignore"), 404, "NOT_FOUND");
  });

  test("path traversal: never a file outside www/ (400 or 404)", async () => {
    const rootPackage = readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8");
    const attempts = [
      "/../package.json",
      "/../../package.json",
      "/%2e%2e/package.json",
      "/%2e%2e/",
      "/%2E%2E/package.json",
      "/..%2fpackage.json",
      "/%2e%2e%2fpackage.json",
      "/vendor/..%2f..%2fpackage.json",
      "/vendor/%2e%2e%2f%2e%2e%2fpackage.json",
      "/..%5cpackage.json",
      "/..\\package.json",
      "/%2e%2e%5c%2e%2e%5cpackage.json",
      "/.%2e/package.json",
      "/%252e%252e/package.json",
      "/%00",
      "/index.html%00.js",
      "/%ff",
      "//etc/passwd",
      "/%2fetc%2fpasswd",
      "/..",
      "/.",
      "/.git/config",
    ];
    for (const p of attempts) {
      const r = await s.request("GET", p);
      assert.ok(r.status === 400 || r.status === 404, `${p}: ${r.status}`);
      assert.ok(!r.text.includes("edge-otp-dev") && r.text !== rootPackage, `${p} leaked package.json`);
      assert.ok(!r.text.includes("root:"), `${p} leaked /etc/passwd`);
    }
    for (const p of ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/sub/..%2f..%2fsecret.txt", "/link.txt", "/.env"]) {
      const r = await jail.request("GET", p);
      assert.ok(r.status === 400 || r.status === 404, `${p}: ${r.status}`);
      assert.ok(!r.text.includes("TOP_SECRET"), `${p} leaked a file outside www`);
    }
    // Browsers resolve dot segments before sending; a request that still has one is refused
    // even when it would stay inside www.
    assertJsonError(await jail.request("GET", "/sub/../index.html"), 400, "INVALID_ARGUMENT");
  });
});

// ---------------------------------------------------------------- the CLI

/** Spawns the CLI; resolves { child, url, output() } once it prints its address. */
function spawnCli(env) {
  const child = spawn(process.execPath, [SERVER_PATH], {
    env: { PATH: process.env.PATH, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI did not start:\n${out}`)), 15_000);
    child.stdout.on("data", () => {
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:(\d+))/);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], port: Number(m[2]) });
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`CLI exited with ${code}:\n${out}`), { code, out }));
    });
  });
  ready.catch(() => {});
  return { child, ready, exited, output: () => out };
}

async function stopCli(cli) {
  if (cli.child.exitCode === null && cli.child.signalCode === null) {
    cli.child.kill("SIGTERM");
    const t = setTimeout(() => cli.child.kill("SIGKILL"), 5000);
    await cli.exited;
    clearTimeout(t);
  }
}

describe("node server: CLI", () => {
  const clis = [];
  let redis;
  after(async () => {
    await Promise.all(clis.map(stopCli));
    await redis?.stop();
  });
  const cli = (env) => {
    const c = spawnCli(env);
    clis.push(c);
    return c;
  };

  test("refuses to start without OTP_SECRET (unless OTP_DEMO=1)", async () => {
    const c = cli({});
    const err = await c.ready.catch((e) => e);
    assert.equal(err.code, 1);
    assert.match(err.out, /OTP_SECRET is not set/);
  });

  test("OTP_DEMO=1 without a secret: loud warning, serves the API with the code and the page", async () => {
    const c = cli({ OTP_DEMO: "1" });
    const { port } = await c.ready;
    assert.match(c.output(), /PUBLIC dev-only demo secret/);
    assert.match(c.output(), /NEVER run this in production/);
    const r = await request(port, "POST", "/api/otp", { body: { user: "ada" } });
    assert.match(r.json.code, /^\d{4}$/);
    assert.equal((await request(port, "GET", "/")).status, 200);
    await stopCli(c);
    assert.equal(c.child.exitCode, 0, c.output());
  });

  test("OTP_SECRET without OTP_DEMO: no code in responses; a short secret fails at start-up", async () => {
    const c = cli({ OTP_SECRET: SECRET, OTP_RESEND_COOLDOWN_SECONDS: "5" });
    const { port } = await c.ready;
    assert.doesNotMatch(c.output(), /!!!/);
    const r = await request(port, "POST", "/api/otp", { body: { user: "ada" } });
    assert.equal(r.status, 200);
    assert.ok(!("code" in r.json));
    assert.equal(r.json.resendAvailableAt, r.json.createdAt + 5000);
    const bad = cli({ OTP_SECRET: "short" });
    const err = await bad.ready.catch((e) => e);
    assert.equal(err.code, 1);
    assert.match(err.out, /failed to start/);
  });

  test("REDIS_URL: two server processes share one redis-server", async () => {
    redis = await startRedis();
    const env = { OTP_SECRET: SECRET, OTP_DEMO: "1", REDIS_URL: redis.url };
    const a = cli(env);
    const b = cli(env);
    const [{ port: pa }, { port: pb }] = await Promise.all([a.ready, b.ready]);
    assert.match(a.output(), /store: redis/);
    const user = "shared@example.com";
    const created = await request(pa, "POST", "/api/otp", { body: { user } });
    assert.equal(created.status, 200, created.text);
    const wrong = await request(pb, "POST", "/api/otp/verify", { body: { user, code: wrongCode(created.json.code) } });
    assert.deepEqual(wrong.json, { ok: false, reason: "invalid", attemptsLeft: 2 });
    assert.equal((await request(pa, "GET", `/api/otp?user=${user}`)).json.attempts, 1);
    const again = await request(pb, "POST", "/api/otp", { body: { user } });
    assert.equal(again.status, 429, "the cooldown is shared through Redis");
    const right = await request(pa, "POST", "/api/otp/verify", { body: { user, code: created.json.code } });
    assert.deepEqual(right.json, { ok: true, reason: "verified", attemptsLeft: 0 });
    assert.equal((await request(pb, "GET", `/api/otp?user=${user}`)).json.status, "used");
    // records are written with a TTL (retentionSeconds 86400)
    const { createClient } = await import("redis");
    const client = await createClient({ url: redis.url }).connect();
    try {
      const ttl = await client.ttl("otp:login:shared@example.com");
      assert.ok(ttl > 86_000 && ttl <= 86_400, `ttl ${ttl}`);
    } finally {
      await client.close();
    }
    await Promise.all([stopCli(a), stopCli(b)]);
    assert.equal(a.child.exitCode, 0, a.output());
  });
});
