// HTTP API tests for the Cloudflare Worker example (examples/worker/), run on
// Miniflare/workerd in both storage modes (KV and Durable Object), and the shared
// conformance suite run inside workerd against DO storage and KV.
//
//   node --test tests/js/worker.test.mjs
//
// Needs the built package (pkg/workerd.js + pkg/wasm/*); skipped otherwise.
// EDGE_OTP_PKG_DIR=<dir> points "edge-otp" at another package directory.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { existsSync } from "node:fs";
import http from "node:http";
import { startWorker, startConformanceWorker, packageBuilt, ROOT, WWW_DIR } from "./miniflare.mjs";
import { installTarball } from "./tarball.mjs";

const pkgDir = process.env.EDGE_OTP_PKG_DIR ? path.resolve(process.env.EDGE_OTP_PKG_DIR) : undefined;
const built = pkgDir ? existsSync(path.join(pkgDir, "workerd.js")) : packageBuilt();
const skip = built ? false : "package not built (run `bash .ci/build` first)";

let userSeq = 0;
const freshUser = (tag = "u") => `${tag}-${process.pid}-${++userSeq}@example.com`;

function client(base) {
  const request = async (method, p, { body, raw, headers } = {}) => {
    const init = { method, headers: { ...headers } };
    if (raw !== undefined) {
      init.body = raw;
      init.headers["content-type"] ??= "application/json";
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["content-type"] ??= "application/json";
    }
    const res = await fetch(base + p, init);
    const text = await res.text();
    let json;
    if (text && (res.headers.get("content-type") ?? "").startsWith("application/json")) json = JSON.parse(text);
    return { status: res.status, headers: res.headers, text, json };
  };
  return {
    request,
    create: (user, scope) => request("POST", "/api/otp", { body: scope ? { user, scope } : { user } }),
    verify: (user, code, scope) => request("POST", "/api/otp/verify", { body: { user, code, ...(scope ? { scope } : {}) } }),
    status: (user, scope) =>
      request("GET", `/api/otp?user=${encodeURIComponent(user)}${scope ? `&scope=${encodeURIComponent(scope)}` : ""}`),
  };
}

/**
 * POSTs a chunked JSON body that never ends over its own connection until the server
 * answers or cuts it (at most 20 s); resolves the bytes written by then.
 */
function endlessBody(url) {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(sent);
    };
    const timer = setTimeout(() => {
      done = true;
      req.destroy();
      reject(new Error(`no answer after ${sent} bytes`));
    }, 20_000);
    const req = http.request({ hostname, port, path: pathname, method: "POST", agent: false,
      headers: { "content-type": "application/json", "transfer-encoding": "chunked" } });
    req.on("response", (res) => {
      res.resume();
      if (res.statusCode === 413) return finish();
      done = true;
      clearTimeout(timer);
      req.destroy();
      reject(new Error(`answered ${res.statusCode}, not 413`));
    });
    req.on("error", finish);
    const chunk = Buffer.alloc(16384, 0x20);
    const pump = () => {
      while (!done && req.write(chunk)) sent += chunk.length;
      if (!done) req.once("drain", pump);
    };
    req.write("[");
    pump();
  });
}

/** A code of the same shape as `code` that is certainly wrong. */
const wrongCode = (code) => (code === "0000" ? "1111" : "0000").slice(0, code.length).padEnd(code.length, "0");

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(r.json?.error?.code, code, r.text);
  assert.equal(typeof r.json.error.message, "string");
}

for (const mode of ["kv", "durable-object"]) {
  describe(`worker (${mode})`, { skip }, () => {
    let w;
    let api;
    before(async () => {
      w = await startWorker({ mode, demo: true, pkgDir });
      api = client(w.url);
    });
    after(() => w?.dispose());

    test("create -> wrong -> attemptsLeft decreases -> right -> ok", async () => {
      const user = freshUser();
      const c = await api.create(user);
      assert.equal(c.status, 200, c.text);
      assert.equal(typeof c.json.code, "string");
      assert.equal(c.json.attempts, 0);
      assert.equal(c.json.maxAttempts, 3);
      assert.ok(c.json.expiresAt > c.json.createdAt);
      assert.equal(c.json.expiresAt - c.json.createdAt, 3600 * 1000); // library default ttl
      assert.equal(c.json.resendAvailableAt, c.json.createdAt + 30 * 1000);

      const bad = wrongCode(c.json.code);
      let v = await api.verify(user, bad);
      assert.equal(v.status, 200, v.text);
      assert.deepEqual(v.json, { ok: false, reason: "invalid", attemptsLeft: 2 });
      v = await api.verify(user, bad);
      assert.deepEqual(v.json, { ok: false, reason: "invalid", attemptsLeft: 1 });

      v = await api.verify(user, c.json.code);
      assert.equal(v.status, 200);
      assert.equal(v.json.ok, true);
      assert.equal(v.json.reason, "verified");

      v = await api.verify(user, c.json.code);
      assert.equal(v.json.ok, false);
      assert.equal(v.json.reason, "used");
    });

    test("attempts run out -> exhausted", async () => {
      const user = freshUser();
      const c = await api.create(user);
      const bad = wrongCode(c.json.code);
      for (let i = 0; i < 3; i++) assert.equal((await api.verify(user, bad)).json.reason, "invalid");
      const v = await api.verify(user, c.json.code);
      assert.equal(v.json.ok, false);
      assert.equal(v.json.reason, "exhausted");
      assert.equal(v.json.attemptsLeft, 0);
      assert.equal((await api.status(user)).json.status, "exhausted");
    });

    test("GET /api/otp status never contains the code", async () => {
      const user = freshUser();
      let s = await api.status(user);
      assert.equal(s.status, 200, s.text);
      assert.deepEqual(s.json, { status: "none" });

      const c = await api.create(user);
      s = await api.status(user);
      assert.equal(s.status, 200);
      assert.deepEqual(s.json, {
        status: "active",
        createdAt: c.json.createdAt,
        expiresAt: c.json.expiresAt,
        attempts: 0,
        maxAttempts: 3,
        attemptsLeft: 3,
        resendAvailableAt: c.json.resendAvailableAt,
      });
      assert.ok(!("code" in s.json));
      assert.ok(!s.text.includes(`"${c.json.code}"`));

      await api.verify(user, wrongCode(c.json.code));
      assert.equal((await api.status(user)).json.attempts, 1);
      await api.verify(user, c.json.code);
      assert.equal((await api.status(user)).json.status, "used");

      // HEAD mirrors GET without a body.
      const h = await api.request("HEAD", `/api/otp?user=${encodeURIComponent(user)}`);
      assert.equal(h.status, 200);
      assert.equal(h.text, "");
    });

    test("scopes are independent; unknown scope -> 400", async () => {
      const user = freshUser();
      const login = await api.create(user);
      assert.equal(login.status, 200);
      const reset = await api.create(user, "reset");
      assert.equal(reset.status, 200, reset.text); // no cooldown across scopes
      assert.equal((await api.status(user, "reset")).json.status, "active");
      assert.equal((await api.verify(user, reset.json.code, "reset")).json.ok, true);
      assert.equal((await api.status(user, "login")).json.status, "active");
      assert.equal((await api.status(user, "reset")).json.status, "used");

      assertError(await api.create(user, "admin"), 400, "INVALID_ARGUMENT");
      assertError(await api.status(user, "admin"), 400, "INVALID_ARGUMENT");
      assertError(await api.verify(user, "0000", "admin"), 400, "INVALID_ARGUMENT");
    });

    test("invalid requests -> 400 JSON", async () => {
      const post = (p, raw) => api.request("POST", p, { raw });
      for (const p of ["/api/otp", "/api/otp/verify"]) {
        assertError(await post(p, "{"), 400, "INVALID_ARGUMENT");
        assertError(await post(p, ""), 400, "INVALID_ARGUMENT");
        assertError(await post(p, "[]"), 400, "INVALID_ARGUMENT");
        assertError(await post(p, "null"), 400, "INVALID_ARGUMENT");
        assertError(await post(p, '"user"'), 400, "INVALID_ARGUMENT");
        assertError(await post(p, "{}"), 400, "INVALID_ARGUMENT");
        assertError(await post(p, JSON.stringify({ user: 42, code: "1234" })), 400, "INVALID_ARGUMENT");
        assertError(await post(p, JSON.stringify({ user: "", code: "1234" })), 400, "INVALID_ARGUMENT");
        assertError(await post(p, JSON.stringify({ user: "x", code: "1234", scope: 7 })), 400, "INVALID_ARGUMENT");
      }
      assertError(await post("/api/otp/verify", JSON.stringify({ user: "x" })), 400, "INVALID_ARGUMENT");
      assertError(await post("/api/otp/verify", JSON.stringify({ user: "x", code: 1234 })), 400, "INVALID_ARGUMENT");
      assertError(await api.request("GET", "/api/otp"), 400, "INVALID_ARGUMENT");
      assertError(await api.request("GET", "/api/otp?user="), 400, "INVALID_ARGUMENT");

      // not JSON at all (also keeps cross-site simple POSTs out)
      assertError(
        await api.request("POST", "/api/otp", { raw: '{"user":"x"}', headers: { "content-type": "text/plain" } }),
        415,
        "INVALID_ARGUMENT",
      );
      // oversized body
      // (of a declared length, up to 64 times the limit: read to its end, so that the 413
      // reaches a client still sending; cancelling the stream reset some connections)
      for (let i = 0; i < 50; i++) {
        const pad = "y".repeat(10_000 * (i + 1));
        assertError(await post("/api/otp", JSON.stringify({ user: "x", pad })), 413, "INVALID_ARGUMENT");
      }
      // counted in bytes: 3,000 CJK characters are 9,000 bytes of UTF-8
      const wide = freshUser("wide");
      assertError(await post("/api/otp", JSON.stringify({ user: wide, pad: "\u4e00".repeat(3000) })), 413, "INVALID_ARGUMENT");
      assert.equal((await api.status(wide)).json.status, "none", "nothing was issued");
      // an endless chunked body (no content-length): the Worker stops reading past the
      // limit and answers 413, or the connection is cut; it does not read it all first
      assert.ok((await endlessBody(w.url + "/api/otp")) < 16 << 20, "stopped reading early");
      // not UTF-8
      const bad = new Uint8Array([...new TextEncoder().encode('{"user":"y'), 0xff, ...new TextEncoder().encode('@a.b"}')]);
      assertError(await api.request("POST", "/api/otp", { raw: bad }), 400, "INVALID_ARGUMENT");
    });

    test("library INVALID_ARGUMENT -> 400", async () => {
      const r = await api.create("x".repeat(5000));
      assertError(r, 400, "INVALID_ARGUMENT");
    });

    test("unknown route -> 404, wrong method -> 405", async () => {
      assertError(await api.request("GET", "/api/nope"), 404, "NOT_FOUND");
      assertError(await api.request("POST", "/api/otp/verify/x", { body: {} }), 404, "NOT_FOUND");
      let r = await api.request("PUT", "/api/otp", { body: { user: "x" } });
      assertError(r, 405, "METHOD_NOT_ALLOWED");
      assert.match(r.headers.get("allow"), /POST/);
      r = await api.request("GET", "/api/otp/verify");
      assertError(r, 405, "METHOD_NOT_ALLOWED");
      assert.equal(r.headers.get("allow"), "POST");
      // The link page is GET and HEAD only, as in the Node example.
      r = await api.request("POST", "/link", { raw: "{}" });
      assertError(r, 405, "METHOD_NOT_ALLOWED");
      assert.equal(r.headers.get("allow"), "GET, HEAD");
    });

    test("an answer given without reading the body keeps the client's connection", { timeout: 30_000 }, async () => {
      // One keep-alive connection: each early answer (the body unread by its route) and
      // then a status request on the same socket. workerd resets a connection whose body
      // the Worker left unread, so without the Worker's drain the second request failed
      // with ECONNRESET every time.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const { hostname, port } = new URL(w.url);
      const send = (method, p, body, headers = {}) =>
        new Promise((resolve, reject) => {
          const req = http.request({ hostname, port, path: p, method, agent,
            headers: body === undefined ? headers : { ...headers, "content-length": Buffer.byteLength(body) } }, (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode, reused: req.reusedSocket }));
          });
          req.on("error", reject);
          req.end(body);
        });
      const body = JSON.stringify({ user: "x", pad: "z".repeat(20_000) });
      const json = { "content-type": "application/json" };
      try {
        for (const [method, p, headers, status] of [
          ["POST", "/link", json, 405],
          ["PUT", "/api/otp", json, 405],
          ["POST", "/api/otp", { "content-type": "text/plain" }, 415],
          ["POST", "/api/nope", json, 404],
        ]) {
          assert.equal((await send(method, p, body, headers)).status, status, `${method} ${p}`);
          const next = await send("GET", `/api/otp?user=${encodeURIComponent(freshUser())}`);
          assert.deepEqual(next, { status: 200, reused: true }, `the request after ${method} ${p}`);
        }
      } finally {
        agent.destroy();
      }
      // A client that declares a body and stalls, or sends an endless chunked one, still
      // gets its answer: the Worker waits for an unread body a second at most.
      const stalled = (headers, body) =>
        new Promise((resolve, reject) => {
          const req = http.request({ hostname, port, path: "/api/nope", method: "POST", agent: false,
            headers: { ...json, ...headers } }, (res) => {
            res.resume();
            resolve(res.statusCode);
            req.destroy();
          });
          req.on("error", reject);
          req.write(body); // and never ends
        });
      const t0 = Date.now();
      assert.equal(await stalled({ "content-length": "5000" }, "{}"), 404);
      assert.equal(await stalled({ "transfer-encoding": "chunked" }, "{}"), 404);
      assert.ok(Date.now() - t0 < 10_000, `answered in ${Date.now() - t0} ms`);
    });

    test("resend cooldown -> 429 with Retry-After", async () => {
      const user = freshUser();
      assert.equal((await api.create(user)).status, 200);
      const r = await api.create(user);
      assertError(r, 429, "RATE_LIMITED");
      const retryAfter = Number(r.headers.get("retry-after"));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 30, `Retry-After ${retryAfter}`);
      assert.ok(r.json.error.retryAfterMs > 0 && r.json.error.retryAfterMs <= 30000);
      assert.equal(retryAfter, Math.ceil(r.json.error.retryAfterMs / 1000));
      assert.equal(r.json.error.reason, "cooldown");
    });

    test("the magic link page: never framed, no referrer, no caching", async () => {
      const r = await fetch(w.url + "/link?user=x&token=t");
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("x-frame-options"), "DENY");
      assert.equal(r.headers.get("content-security-policy"), "frame-ancestors 'none'");
      assert.equal(r.headers.get("referrer-policy"), "no-referrer");
      assert.equal(r.headers.get("cache-control"), "no-store");
      await r.arrayBuffer();
    });

    test("static files from www/", { skip: !existsSync(path.join(WWW_DIR, "index.html")) }, async () => {
      let r = await fetch(w.url + "/");
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type"), /^text\/html/);
      assert.match(await r.text(), /<html/i);
      if (existsSync(path.join(WWW_DIR, "app.js"))) {
        r = await fetch(w.url + "/app.js");
        assert.equal(r.status, 200);
        assert.match(r.headers.get("content-type"), /javascript/);
        await r.arrayBuffer();
      }
      if (existsSync(path.join(WWW_DIR, "style.css"))) {
        r = await fetch(w.url + "/style.css");
        assert.equal(r.status, 200);
        assert.match(r.headers.get("content-type"), /^text\/css/);
        await r.arrayBuffer();
      }
      if (existsSync(path.join(WWW_DIR, "vendor/edge-otp.js"))) {
        r = await fetch(w.url + "/vendor/edge-otp.js");
        assert.equal(r.status, 200);
        assert.match(r.headers.get("content-type"), /javascript/);
        await r.arrayBuffer();
      }
      r = await fetch(w.url + "/no-such-file.txt");
      assert.equal(r.status, 404);
      await r.arrayBuffer();
    });

    if (mode === "kv") {
      test("KV record: opaque (no code), expires (retentionSeconds)", async () => {
        const user = freshUser();
        const c = await api.create(user);
        const kv = await w.kv();
        const key = `otp:login:${user}`;
        const value = await kv.get(key);
        assert.equal(typeof value, "string");
        assert.equal(c.status, 200);
        const listed = await kv.list({ prefix: key });
        assert.equal(listed.keys.length, 1);
        const exp = listed.keys[0].expiration; // seconds since epoch
        assert.equal(typeof exp, "number", "KV record must carry an expiration");
        const ttl = exp - Math.floor(Date.now() / 1000);
        assert.ok(ttl > 86400 - 120 && ttl <= 86400 + 5, `expiration in ${ttl}s`);
      });
    }

    if (mode === "durable-object") {
      test("100 parallel wrong verifies -> exactly maxAttempts counted", async () => {
        const user = freshUser("race");
        const c = await api.create(user);
        const bad = wrongCode(c.json.code);
        const results = await Promise.all(Array.from({ length: 100 }, () => api.verify(user, bad)));
        for (const r of results) assert.equal(r.status, 200, r.text);
        const invalid = results.filter((r) => r.json.reason === "invalid");
        const exhausted = results.filter((r) => r.json.reason === "exhausted");
        assert.equal(invalid.length, 3);
        assert.equal(exhausted.length, 97);
        assert.deepEqual(invalid.map((r) => r.json.attemptsLeft).sort(), [0, 1, 2]);
        const s = await api.status(user);
        assert.equal(s.json.attempts, 3);
        assert.equal(s.json.status, "exhausted");
        assert.equal((await api.verify(user, c.json.code)).json.reason, "exhausted");
      });

      test("20 parallel right verifies -> exactly one ok", async () => {
        const user = freshUser("race");
        const c = await api.create(user);
        const results = await Promise.all(Array.from({ length: 20 }, () => api.verify(user, c.json.code)));
        for (const r of results) assert.equal(r.status, 200, r.text);
        assert.equal(results.filter((r) => r.json.ok === true).length, 1);
        assert.equal(results.filter((r) => r.json.reason === "used").length, 19);
        assert.equal((await api.status(user)).json.status, "used");
      });
    }
  });

  describe(`worker (${mode}, demo off, env overrides)`, { skip }, () => {
    let w;
    let api;
    before(async () => {
      w = await startWorker({
        mode,
        demo: false,
        pkgDir,
        env: { OTP_TTL_SECONDS: "120", OTP_RESEND_COOLDOWN_SECONDS: "0" },
      });
      api = client(w.url);
    });
    after(() => w?.dispose());

    test("no code in responses when demo is off", async () => {
      const user = freshUser();
      const c = await api.create(user);
      assert.equal(c.status, 200, c.text);
      assert.ok(!("code" in c.json));
      assert.deepEqual(Object.keys(c.json).sort(), ["attempts", "attemptsLeft", "createdAt", "expiresAt", "maxAttempts", "resendAvailableAt"]);
      assert.equal(c.json.expiresAt - c.json.createdAt, 120 * 1000);
      assert.equal(c.json.resendAvailableAt, c.json.createdAt);
      // cooldown 0: immediate re-issue allowed, supersedes the previous code
      const again = await api.create(user);
      assert.equal(again.status, 200, again.text);
      assert.ok(!("code" in again.json));
      const s = await api.status(user);
      assert.equal(s.json.status, "active");
      assert.ok(!("code" in s.json));
    });
  });
}

describe("worker misconfiguration", { skip }, () => {
  let w;
  before(async () => {
    w = await startWorker({ mode: "kv", demo: true, pkgDir, secret: null });
  });
  after(() => w?.dispose());

  test("missing OTP_SECRET -> 500 INTERNAL without details", async () => {
    const r = await client(w.url).create(freshUser());
    assert.equal(r.status, 500);
    assert.deepEqual(r.json, { error: { code: "INTERNAL", message: "internal error" } });
  });

  test("request validation still answers 400 first", async () => {
    const r = await client(w.url).request("POST", "/api/otp", { raw: "{" });
    assert.equal(r.status, 400);
  });
});

// The shared conformance suite (tests/js/conformance.mjs) INSIDE workerd, through the
// package's workerd entry, against real Durable Object storage and a real KV namespace,
// both passed to OtpManager as is (see tests/js/fixtures/conformance-worker.js).
const conformancePath = path.join(ROOT, "tests/js/conformance.mjs");
if (existsSync(conformancePath)) {
  const { cases } = await import(conformancePath);
  for (const [store, label] of [
    ["do", "Durable Object storage (ctx.storage, no compareAndSwap)"],
    ["kv", "Workers KV namespace"],
  ]) {
    describe(`conformance inside workerd: ${label} (the packed tarball)`, { skip }, () => {
      let cw;
      let tarball;
      before(async () => {
        // The package as users get it: packed and installed into an empty project.
        tarball = await installTarball();
        cw = await startConformanceWorker({ pkgDir: path.join(tarball.project, "node_modules/edge-otp") });
        assert.deepEqual(await cw.cases(), cases.map((c) => c.name), "same suite in Node and in workerd");
      });
      after(async () => {
        await cw?.dispose();
        tarball?.cleanup();
      });
      for (const c of cases) {
        const caseSkip = c.needsCompareAndSwap ? "storage has no compareAndSwap" : false;
        test(c.name, { skip: caseSkip }, async (t) => {
          const r = await cw.run(store, c.name);
          if (r.status === "skipped") return t.skip(r.reason);
          if (r.status !== "passed") {
            const err = new Error(`[workerd] ${r.message ?? r.status}`);
            err.stack = `${err.message}\n${r.stack ?? ""}`;
            throw err;
          }
        });
      }
    });
  }
}
