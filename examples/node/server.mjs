// edge-otp example: a plain Node.js HTTP server (node:http only, no framework) with the
// shared OTP HTTP API and the demo page from www/. Routing, validation, error mapping and
// response bodies live in ../shared/http-api.js (shared with the Worker example); this file
// keeps the Node parts: node:http, body reading, static files, storage and env handling.
//
//   POST /api/otp          {user, scope?}        -> issue a new code
//   POST /api/otp/verify   {user, code, scope?}  -> check a code
//   GET  /api/otp?user=..&scope=..               -> status of the latest code (never the code)
//   GET  /...                                    -> static files from www/ (index.html at /)
//
// Run:  OTP_SECRET=... node examples/node/server.mjs      (or OTP_DEMO=1 for the demo page)
//
// Env:
//   OTP_SECRET   HMAC secret, >= 16 bytes. Required, unless OTP_DEMO=1 (then a public dev secret).
//   OTP_DEMO     "1" puts the code into POST /api/otp responses. NEVER enable in production.
//   REDIS_URL    e.g. redis://127.0.0.1:6379 — store codes in Redis (node-redis) instead of memory.
//   PORT         default 8788.   HOST  default 127.0.0.1.
//   OTP_TTL_SECONDS, OTP_RESEND_COOLDOWN_SECONDS  optional integer overrides.
//
// In this repository the package is imported by relative path; an app that installed the
// package writes `import { OtpManager, OtpError, memoryStorage } from "edge-otp"` and
// `import { redisStorage } from "edge-otp/redis"` instead.

import http from "node:http";
import { createReadStream, realpathSync } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { OtpManager, OtpError, memoryStorage } from "../../pkg/node.js";
import { redisStorage } from "../../pkg/redis.js";
import {
  SCOPES,
  MAX_BODY_BYTES,
  MAX_DECLARED_BODY_BYTES,
  HttpError,
  badRequest,
  notFound,
  methodNotAllowed,
  bodyTooLarge,
  errorResult,
  requireJsonContentType,
  parseJsonObject,
  bodyText,
  requireString,
  parseScope,
  apiRoute,
  createOperation,
  checkOperation,
  runOperation,
  checkTokenOperation,
  isLinkPage,
  linkPage,
  LINK_PAGE_HEADERS,
  retentionFor,
} from "../shared/http-api.js";

/** Redis keys expire a day after their last write, or later when a window of the policy is longer. */
const REDIS_RETENTION_SECONDS = 86400;
const DEFAULT_WWW = fileURLToPath(new URL("../../www/", import.meta.url));
/** Public, dev-only secret for OTP_DEMO=1 without OTP_SECRET. */
const DEMO_SECRET = "edge-otp demo secret - NOT SECRET, dev only";

const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
};

// ---------------------------------------------------------------- responses

function sendJson(res, status, body, headers) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...headers,
  });
  res.end(text);
}

const isOtpError = (e) => e instanceof OtpError;

/** Maps any thrown value to a JSON error response without leaking internals. */
function sendError(res, e) {
  const { status, body, headers } = errorResult(e, { isOtpError, name: "edge-otp node server" });
  return sendJson(res, status, body, headers);
}

// ------------------------------------------------------------ request parsing

/** Reads the body (at most 8 KiB) and parses it as a JSON object. */
async function readJsonObject(req) {
  requireJsonContentType(req.headers["content-type"]);
  const tooLarge = () => bodyTooLarge({ connection: "close" });
  // Small overshoots are drained and then rejected (answering before the body is consumed
  // can reset the connection under the client); huge ones are refused outright.
  if (Number(req.headers["content-length"]) > MAX_DECLARED_BODY_BYTES) throw tooLarge();
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_DECLARED_BODY_BYTES) {
      req.socket.destroy(); // chunked and endless: stop reading, nobody is listening for an answer
      throw tooLarge();
    }
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_BODY_BYTES) throw tooLarge();
  return parseJsonObject(bodyText(Buffer.concat(chunks)));
}

// ------------------------------------------------------------ API routes

async function handleApi(req, res, url, app) {
  let operation;
  switch (apiRoute(req.method, url.pathname)) {
    case "create":
      operation = createOperation(await readJsonObject(req));
      break;
    case "check":
      operation = checkOperation(await readJsonObject(req));
      break;
    case "checkToken":
      operation = checkTokenOperation(await readJsonObject(req));
      break;
    default: {
      // Unlike the Worker (statusOperation), this server has always checked scope before user.
      const user = url.searchParams.get("user");
      const scope = parseScope(url.searchParams.get("scope") ?? undefined);
      operation = { op: "status", user: requireString(user === "" ? null : user, "user"), scope };
    }
  }
  return sendJson(res, 200, await runOperation(app.manager(operation.scope), operation, app));
}

// ------------------------------------------------------------ static files

/** Serves a file from `root` (a real, absolute directory path ending without a separator). */
async function serveStatic(req, res, url, root) {
  if (req.method !== "GET" && req.method !== "HEAD") throw methodNotAllowed("GET, HEAD");
  let rel;
  try {
    rel = decodeURIComponent(url.pathname);
  } catch {
    throw badRequest("malformed path");
  }
  // No NUL, no backslashes, no "." / ".." segments, no dotfiles (www/vendor/.gitignore).
  if (rel.includes("\0") || rel.includes("\\")) throw badRequest("malformed path");
  const segments = rel.split("/").slice(1);
  if (segments.some((s) => s.startsWith("."))) throw notFound();
  if (segments.at(-1) === "") segments[segments.length - 1] = "index.html";
  let file = path.join(root, ...segments);
  let info;
  try {
    // realpath resolves symlinks: whatever the name, the file must live under root.
    file = await realpath(file);
    if (!file.startsWith(root + path.sep)) throw notFound();
    info = await stat(file);
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw notFound();
  }
  if (!info.isFile()) throw notFound();
  const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
  res.writeHead(200, {
    "content-type": type,
    "content-length": info.size,
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  });
  if (req.method === "HEAD") return res.end();
  await new Promise((resolve) => {
    const stream = createReadStream(file);
    stream.once("error", (e) => {
      console.error("edge-otp node server: reading", file, e);
      res.destroy();
      resolve();
    });
    stream.once("end", resolve);
    stream.pipe(res);
  });
}

// ------------------------------------------------------------ server

/**
 * The request target as a URL. Origin-form only ("/path?query"), and no "." or ".." path
 * segment in any spelling (browsers resolve them before sending; one that is still there
 * is a traversal attempt, whether or not the URL parser would resolve it harmlessly).
 */
function parseUrl(target) {
  const malformed = () => badRequest("malformed request target");
  if (typeof target !== "string" || !target.startsWith("/") || target.startsWith("//")) throw malformed();
  let rawPath = target.split(/[?#]/, 1)[0];
  try {
    rawPath = decodeURIComponent(rawPath);
  } catch {
    throw malformed();
  }
  if (rawPath.split(/[/\\]/).some((s) => s === "." || s === "..")) throw malformed();
  try {
    return new URL(`http://localhost${target}`);
  } catch {
    throw malformed();
  }
}

/**
 * How long a client may take to send its headers (10 s) and its whole request (30 s)
 * before it is answered 408 and cut off, and how often node:http looks (1 s: its default,
 * 30 s, let a stalled request hold its connection for up to a minute).
 */
export const HTTP_TIMEOUTS = Object.freeze({ requestTimeout: 30_000, headersTimeout: 10_000, connectionsCheckingInterval: 1_000 });

/**
 * Builds the HTTP server (not listening yet: call `.listen(port, host)`).
 *
 * @param {object} options
 * @param {string|Uint8Array} options.secret  HMAC secret (>= 16 bytes), required.
 * @param {object} [options.storage]  OtpStorage; default memoryStorage().
 * @param {boolean} [options.demo]  put the code into POST /api/otp responses (demo page only).
 * @param {string} [options.www]  static directory; default <repo>/www.
 * @param {object} [options.otp]  more OtpManager options (ttlSeconds, retentionSeconds, now, ...).
 * @param {object} [options.timeouts]  node:http server options over HTTP_TIMEOUTS
 *   (requestTimeout, headersTimeout, connectionsCheckingInterval, in ms).
 * @returns {import("node:http").Server}
 */
export function createServer(options = {}) {
  const { secret, storage = memoryStorage(), demo = false, www = DEFAULT_WWW, otp = {}, timeouts = {} } = options;
  // One manager per scope, built up front (so a bad secret or option fails at start-up).
  const managers = new Map(SCOPES.map((scope) => [scope, new OtpManager(storage, { normalizeUser: "email", ...otp, secret, scope })]));
  const root = realpathSync(www);
  const app = { demo: Boolean(demo), manager: (scope) => managers.get(scope) };

  const server = http.createServer({ ...HTTP_TIMEOUTS, ...timeouts }, async (req, res) => {
    try {
      const url = parseUrl(req.url);
      if (isLinkPage(req.method, url.pathname)) {
        // The magic link's confirmation page: changes nothing (mail scanners open links).
        const html = linkPage(url.searchParams);
        res.writeHead(200, LINK_PAGE_HEADERS);
        res.end(req.method === "HEAD" ? undefined : html);
      } else if (url.pathname === "/api" || url.pathname.startsWith("/api/")) await handleApi(req, res, url, app);
      else await serveStatic(req, res, url, root);
    } catch (e) {
      // A client that went away mid-body (or was cut off by a timeout) is nobody's error:
      // nothing to answer, nothing to log (anyone could fill the error log that way).
      if (res.headersSent || req.readableAborted) res.destroy();
      else sendError(res, e);
    }
  });
  return server;
}

// ------------------------------------------------------------ CLI

function intEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
  return n;
}

async function main() {
  const env = process.env;
  const demo = env.OTP_DEMO === "1";
  let secret = env.OTP_SECRET;
  if (!secret) {
    if (!demo) {
      console.error("edge-otp: OTP_SECRET is not set (>= 16 bytes, e.g. `openssl rand -base64 32`).");
      console.error("          For the local demo only: OTP_DEMO=1 node examples/node/server.mjs");
      process.exit(1);
    }
    secret = DEMO_SECRET;
    console.warn("!!! edge-otp: OTP_SECRET is not set; using the PUBLIC dev-only demo secret.");
  }
  if (demo) {
    console.warn("!!! edge-otp: OTP_DEMO=1 — POST /api/otp returns the code. NEVER run this in production.");
  }
  const otp = {};
  const ttl = intEnv("OTP_TTL_SECONDS", undefined); // library default (3600) unless set
  if (ttl !== undefined) otp.ttlSeconds = ttl;
  const cooldown = intEnv("OTP_RESEND_COOLDOWN_SECONDS", undefined); // library default unless set
  if (cooldown !== undefined) otp.resendCooldownSeconds = cooldown;

  let storage;
  let client;
  if (env.REDIS_URL) {
    const { createClient } = await import("redis"); // node-redis v5, only needed with REDIS_URL
    client = createClient({ url: env.REDIS_URL });
    client.on("error", (e) => console.error("edge-otp: redis:", e.message));
    await client.connect();
    storage = redisStorage(client);
    otp.retentionSeconds = retentionFor({ OtpManager, memoryStorage }, { ...otp, secret }, REDIS_RETENTION_SECONDS);
  }

  const server = createServer({ secret, storage, demo, otp });
  const port = intEnv("PORT", 8788);
  const host = env.HOST || "127.0.0.1";
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  console.log(`edge-otp: listening on http://${shownHost}:${address.port} (store: ${client ? "redis" : "memory"})`);

  const shutdown = (signal) => {
    console.log(`edge-otp: ${signal}, shutting down`);
    server.close();
    server.closeIdleConnections();
    Promise.resolve(client?.close()).catch(() => {}).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main().catch((e) => {
    console.error("edge-otp: failed to start:", e.message ?? e);
    process.exit(1);
  });
}
