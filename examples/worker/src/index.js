// edge-otp example: a Cloudflare Worker (module syntax) exposing the shared
// OTP HTTP API on top of Workers KV (default) or the package's Durable Object
// (edge-otp/durable-object: one object per scope and user, the engine inside).
// Routing, validation, error mapping and response bodies live in
// ../../shared/http-api.js (shared with the Node example); this file keeps the
// Workers parts: Request/Response, env bindings, KV and Durable Object routing.
//
//   POST /api/otp          {user, scope?}        -> issue a new code
//   POST /api/otp/verify   {user, code, scope?}  -> check a code
//   GET  /api/otp?user=..&scope=..               -> status of the latest code (never the code)
//
// Everything else is static content from www/, served by Workers Static Assets
// (`[assets]` in wrangler.toml, `assets` in Miniflare) in front of this Worker;
// requests that match no file fall through to this Worker, which answers 404.
//
// Env:
//   OTP_SECRET   (required) HMAC secret, >= 16 bytes. Use `wrangler secret put OTP_SECRET`.
//   OTP_MODE     "kv" (default, binding OTP_KV) | "durable-object" (binding OTP).
//   OTP_DEMO     "1" puts the code into POST /api/otp responses. NEVER enable in production.
//   OTP_TTL_SECONDS, OTP_RESEND_COOLDOWN_SECONDS, ...  optional policy overrides, read
//                by edge-otp's optionsFromEnv in both modes (the Durable Object reads
//                them itself; the secret never leaves it).
//
// KV is eventually consistent and last-writer-wins: concurrent verifies in
// different locations can each see the same attempt counter. Use the Durable
// Object mode when the attempt limit must hold under concurrency: one RPC per
// operation, exact counting, and an alarm forgets idle users.

import { OtpManager, OtpError, memoryStorage } from "edge-otp";
import { OtpDurableObject, durableOtp, optionsFromEnv } from "edge-otp/durable-object";
import {
  MAX_BODY_BYTES,
  MAX_DECLARED_BODY_BYTES,
  bodyTooLarge,
  notFound,
  errorResult,
  requireJsonContentType,
  parseJsonObject,
  bodyText,
  apiRoute,
  createOperation,
  checkOperation,
  statusOperation,
  runOperation,
  checkTokenOperation,
  isLinkPage,
  linkPage,
  LINK_PAGE_HEADERS,
  retentionFor,
} from "../../shared/http-api.js";

/** KV records expire a day after their last write, or later when a window of the policy is longer. */
const KV_RETENTION_SECONDS = 86400;

// The Durable Object class, as the package ships it: wrangler.toml binds it as OTP and
// declares it in a new_sqlite_classes migration. Its policy comes from the env vars.
export { OtpDurableObject };

// ---------------------------------------------------------------- responses

function json(status, body, headers) {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      ...headers,
    },
  });
}

/** Also accepts an OtpError from another copy of the package (e.g. bundled twice). */
function isOtpError(e) {
  return e instanceof OtpError || (e != null && e.name === "OtpError" && typeof e.code === "string");
}

/** Maps any thrown value to a JSON error response without leaking internals. */
function errorResponse(e) {
  const { status, body, headers } = errorResult(e, { isOtpError, name: "edge-otp worker" });
  return json(status, body, headers);
}

// ------------------------------------------------------------ configuration

/** KV mode's OtpManager options: the env's policy (the same mapping the Durable Object uses). */
function managerOptions(env, scope) {
  if (typeof env.OTP_SECRET !== "string" || env.OTP_SECRET === "") throw new Error("OTP_SECRET is not set");
  return { normalizeUser: "email", ...optionsFromEnv(env), scope };
}

const isDemo = (env) => env.OTP_DEMO === "1";

function mode(env) {
  const m = env.OTP_MODE ?? "kv";
  if (m !== "kv" && m !== "durable-object") throw new Error(`unknown OTP_MODE ${JSON.stringify(m)}`);
  return m;
}

// ------------------------------------------------------------ request parsing

/** How long an answer waits for the rest of a body no route read (discardUnread). */
const DISCARD_MS = 1000;

/**
 * Drops a body no route read (a 404, 405 or 415, the link page) before the answer, which
 * would otherwise cost the client its connection (workerd resets one whose request body
 * was left unread, or cancelled): only one of a declared length of at most
 * MAX_DECLARED_BODY_BYTES (a chunked body, of no known end, is left unread), and for at
 * most DISCARD_MS, so that a client that stalls mid-body still gets its answer; a client
 * that hangs up is no error. A body readJsonObject read is already used: nothing to do.
 */
async function discardUnread(request) {
  const length = request.headers.get("content-length");
  if (request.body === null || request.bodyUsed || length === null || !(Number(length) <= MAX_DECLARED_BODY_BYTES)) return;
  const reader = request.body.getReader();
  const timer = setTimeout(() => reader.cancel().catch(() => {}), DISCARD_MS);
  try {
    while (!(await reader.read()).done);
  } catch {
    // the client went away: nothing to keep open
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads the body, keeping at most MAX_BODY_BYTES bytes, and parses it as a JSON object.
 * Past the limit, a body of a declared length (at most MAX_DECLARED_BODY_BYTES) is read to
 * its end and dropped, so that the 413 reaches a client still sending it (cancelling the
 * stream reset the connection under it), as the Node server does; a chunked body is cut
 * off there, so one of any size is never read whole.
 */
async function readJsonObject(request) {
  requireJsonContentType(request.headers.get("content-type"));
  const declared = request.headers.get("content-length") !== null;
  if (Number(request.headers.get("content-length")) > MAX_DECLARED_BODY_BYTES) throw bodyTooLarge();
  const chunks = [];
  let size = 0;
  if (request.body !== null) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size <= MAX_BODY_BYTES) chunks.push(value);
      else if (!declared || size > MAX_DECLARED_BODY_BYTES) {
        await reader.cancel();
        break;
      }
    }
  }
  if (size > MAX_BODY_BYTES) throw bodyTooLarge();
  return parseJsonObject(bodyText(new Uint8Array(await new Blob(chunks).arrayBuffer())));
}

/**
 * Routes a request to an operation: {op: "create"|"check"|"status", scope, user, code?}.
 * Throws HttpError for 4xx outcomes.
 */
async function parseOperation(request) {
  const { pathname, searchParams } = new URL(request.url);
  switch (apiRoute(request.method, pathname)) {
    case "create":
      return createOperation(await readJsonObject(request));
    case "check":
      return checkOperation(await readJsonObject(request));
    case "checkToken":
      return checkTokenOperation(await readJsonObject(request));
    default:
      return statusOperation(searchParams);
  }
}

// ------------------------------------------------------------ operations

/** Runs one operation against a manager; returns the JSON response. */
async function execute(manager, operation, env) {
  const body = await runOperation(manager, operation, { demo: isDemo(env) });
  return json(200, body);
}

// KV mode: one OtpManager per scope, built lazily and cached for the isolate's
// lifetime (keyed by the env object so a changed binding set gets new managers).
const kvManagers = new WeakMap();

function kvManager(env, scope) {
  let byScope = kvManagers.get(env);
  if (!byScope) kvManagers.set(env, (byScope = new Map()));
  let manager = byScope.get(scope);
  if (!manager) {
    if (!env.OTP_KV) throw new Error("KV binding OTP_KV is missing");
    const options = managerOptions(env, scope);
    options.retentionSeconds = retentionFor({ OtpManager, memoryStorage }, options, KV_RETENTION_SECONDS);
    manager = new OtpManager(env.OTP_KV, options); // the KVNamespace, passed as is
    byScope.set(scope, manager);
  }
  return manager;
}

// ------------------------------------------------------------ Durable Object mode

// One durableOtp client per scope (each call is one RPC to the user's object).
const doClients = new WeakMap();

function doClient(env, scope) {
  let byScope = doClients.get(env);
  if (!byScope) doClients.set(env, (byScope = new Map()));
  let client = byScope.get(scope);
  if (!client) {
    if (!env.OTP) throw new Error("Durable Object binding OTP is missing");
    client = durableOtp(env.OTP, { scope, normalizeUser: "email" });
    byScope.set(scope, client);
  }
  return client;
}

// ------------------------------------------------------------ entry point

async function handle(request, env) {
  const { pathname, searchParams } = new URL(request.url);
  if (isLinkPage(request.method, pathname)) {
    // The magic link's confirmation page: changes nothing (mail scanners open links).
    return new Response(request.method === "HEAD" ? null : linkPage(searchParams), {
      headers: LINK_PAGE_HEADERS,
    });
  }
  if (!pathname.startsWith("/api/")) {
    // Static files are answered by the assets layer before the Worker runs.
    throw notFound();
  }
  const operation = await parseOperation(request);
  const manager = mode(env) === "durable-object" ? doClient(env, operation.scope) : kvManager(env, operation.scope);
  const response = await execute(manager, operation, env);
  return request.method === "HEAD" ? new Response(null, response) : response;
}

export default {
  async fetch(request, env) {
    let response;
    try {
      response = await handle(request, env);
    } catch (e) {
      response = errorResponse(e);
    }
    await discardUnread(request);
    return response;
  },
};
