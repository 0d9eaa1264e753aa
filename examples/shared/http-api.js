// edge-otp examples: the runtime-neutral half of the OTP HTTP API, shared by the
// Cloudflare Worker (examples/worker/src/index.js, bundled by esbuild) and the Node
// server (examples/node/server.mjs, imported directly).
//
//   POST /api/otp          {user, scope?}        -> issue a new code
//   POST /api/otp/verify   {user, code, scope?}  -> check a code
//   GET  /api/otp?user=..&scope=..               -> status of the latest code (never the code)
//
// Plain ESM with no imports: no Node built-ins, no `cloudflare:*`, not even "edge-otp"
// (each server imports the package its own way and passes what is needed in). Everything
// here works on plain values (method, pathname, URLSearchParams, parsed bodies, results),
// so each server keeps only its runtime-specific parts: reading the body, writing the
// response, static files, storage and configuration.

/** The OTP scopes the API accepts; each gets its own OtpManager (and key space). */
export const SCOPES = ["login", "reset"];
/** Scope used when a request gives none. */
export const DEFAULT_SCOPE = "login";
/** Largest request body accepted (413 above). */
export const MAX_BODY_BYTES = 8192;
/**
 * A declared `content-length` above this is refused before reading; smaller overshoots are
 * read (answering before the body is consumed can reset the connection under the client)
 * and then rejected.
 */
export const MAX_DECLARED_BODY_BYTES = 64 * MAX_BODY_BYTES;

/**
 * Headers of the magic link's confirmation page: no caching, no referrer (the URL holds
 * the token), and never inside another site's frame (a framed page with an attacker's own
 * token could sign the victim in as the attacker once an app sets a session on
 * verify-link).
 */
export const LINK_PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "content-security-policy": "frame-ancestors 'none'",
  "x-frame-options": "DENY",
};

/**
 * `retentionSeconds` for a store with TTLs (Redis, Workers KV): `atLeast`, or the
 * policy's longest window (as the engine reports it for `options`) when that is longer,
 * since a record must outlive every window.
 * @param {{ OtpManager: any, memoryStorage: () => any }} otp  the package's exports, as
 *   the server imports them.
 * @param {object} options  the OtpManager options (their retentionSeconds is ignored).
 * @param {number} atLeast  the shortest retention wanted, in seconds.
 * @returns {number}
 */
export function retentionFor({ OtpManager, memoryStorage }, options, atLeast) {
  const probe = new OtpManager(memoryStorage(), { ...options, retentionSeconds: null });
  try {
    return Math.max(atLeast, probe.longestWindowSeconds);
  } finally {
    probe.dispose();
  }
}

// ---------------------------------------------------------------- errors

/**
 * An error with a ready HTTP answer: `{error: {code, message}}` with `status` and
 * optional extra response `headers`.
 */
export class HttpError extends Error {
  /**
   * @param {number} status  HTTP status code.
   * @param {string} code  the `error.code` in the JSON body.
   * @param {string} message  the `error.message` in the JSON body (shown to the client).
   * @param {Record<string, string>} [headers]  extra response headers (e.g. `allow`).
   */
  constructor(status, code, message, headers) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** 400 INVALID_ARGUMENT with `message`. @param {string} message @returns {HttpError} */
export const badRequest = (message) => new HttpError(400, "INVALID_ARGUMENT", message);

/** 404 NOT_FOUND. @returns {HttpError} */
export const notFound = () => new HttpError(404, "NOT_FOUND", "not found");

/**
 * 405 METHOD_NOT_ALLOWED with an `Allow` header.
 * @param {string} allow  e.g. "GET, HEAD, POST".
 * @returns {HttpError}
 */
export const methodNotAllowed = (allow) => new HttpError(405, "METHOD_NOT_ALLOWED", "method not allowed", { allow });

/**
 * 413 INVALID_ARGUMENT "body too large".
 * @param {Record<string, string>} [headers]  extra response headers (Node adds `connection: close`).
 * @returns {HttpError}
 */
export const bodyTooLarge = (headers) => new HttpError(413, "INVALID_ARGUMENT", "body too large", headers);

/**
 * @typedef {object} ErrorResult
 * @property {number} status  HTTP status code.
 * @property {{error: {code: string, message: string, retryAfterMs?: number, reason?: string, expiresAt?: number}}} body  JSON body.
 * @property {Record<string, string>} [headers]  extra response headers (`allow`, `retry-after`, ...).
 */

/**
 * Maps any thrown value to an HTTP error answer without leaking internals:
 * HttpError as is; OtpError INVALID_ARGUMENT → 400, RATE_LIMITED → 429 with `Retry-After`
 * (whole seconds, rounded up, at least 1), `retryAfterMs` and the rule that refused
 * (`reason`: cooldown, issue_limit or locked), ACTIVE_OTP_EXISTS → 409 with `expiresAt`,
 * CONFLICT and TIMEOUT (the store did not answer in time) → 503 with `Retry-After: 1`,
 * CORRUPT_RECORD → 500; anything else → 500 INTERNAL "internal error". The details of
 * 500s and timeouts go to `console.error` only.
 *
 * @param {unknown} e  the thrown value.
 * @param {object} options
 * @param {(e: unknown) => boolean} options.isOtpError  whether `e` is an edge-otp OtpError
 *   (the servers import OtpError from different entry points, so they decide).
 * @param {string} options.name  log prefix for unexpected errors, e.g. "edge-otp worker".
 * @returns {ErrorResult}
 */
export function errorResult(e, { isOtpError, name }) {
  if (e instanceof HttpError) {
    return { status: e.status, body: { error: { code: e.code, message: e.message } }, headers: e.headers };
  }
  if (isOtpError(e)) {
    switch (e.code) {
      case "INVALID_ARGUMENT":
        return { status: 400, body: { error: { code: e.code, message: e.message } } };
      case "RATE_LIMITED": {
        const retryAfterMs = Math.max(0, Number(e.retryAfterMs) || 0);
        return {
          status: 429,
          body: { error: { code: e.code, message: e.message, retryAfterMs, reason: e.reason } },
          headers: { "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
        };
      }
      case "ACTIVE_OTP_EXISTS":
        return { status: 409, body: { error: { code: e.code, message: e.message, expiresAt: e.expiresAt } } };
      case "CONFLICT":
        return {
          status: 503,
          body: { error: { code: e.code, message: "concurrent update, retry" } },
          headers: { "retry-after": "1" },
        };
      case "TIMEOUT":
        console.error("edge-otp: storage timed out:", e.message);
        return {
          status: 503,
          body: { error: { code: e.code, message: "storage unavailable, retry" } },
          headers: { "retry-after": "1" },
        };
      case "CORRUPT_RECORD":
        console.error("edge-otp: corrupt record:", e.message);
        return { status: 500, body: { error: { code: e.code, message: "corrupt record" } } };
    }
  }
  console.error(`${name}: unexpected error:`, e);
  return { status: 500, body: { error: { code: "INTERNAL", message: "internal error" } } };
}

// ------------------------------------------------------------ request parsing

/**
 * Throws 415 unless the media type of a `content-type` header is `application/json`
 * (this also keeps cross-site "simple" form/text posts, which need no CORS preflight, out).
 * @param {string | null | undefined} contentType  the header value, if any.
 */
export function requireJsonContentType(contentType) {
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
    throw new HttpError(415, "INVALID_ARGUMENT", "content-type must be application/json");
  }
}

/**
 * The text of a request body's bytes (at most MAX_BODY_BYTES, counted by the server as it
 * reads): 400 unless they are UTF-8 (a malformed byte would otherwise become U+FFFD, and two
 * different bodies the same user id).
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function bodyText(bytes) {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw badRequest("body is not valid UTF-8");
  }
}

/**
 * Parses a request body that must be a JSON object (not null, not an array); 400 otherwise.
 * @param {string} text
 * @returns {Record<string, unknown>}
 */
export function parseJsonObject(text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest("body is not valid JSON");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw badRequest("body must be a JSON object");
  }
  return body;
}

/**
 * A required, non-empty string field; 400 "missing field: …" / "… must be a string" /
 * "… must not be empty" otherwise.
 * @param {unknown} value
 * @param {string} name  field name used in the message.
 * @returns {string}
 */
export function requireString(value, name) {
  if (value === undefined || value === null) throw badRequest(`missing field: ${name}`);
  if (typeof value !== "string") throw badRequest(`${name} must be a string`);
  if (value === "") throw badRequest(`${name} must not be empty`);
  return value;
}

/**
 * An optional scope: DEFAULT_SCOPE when absent, else one of SCOPES; 400 otherwise.
 * @param {unknown} value
 * @returns {string}
 */
export function parseScope(value) {
  if (value === undefined || value === null) return DEFAULT_SCOPE;
  if (typeof value !== "string") throw badRequest("scope must be a string");
  if (!SCOPES.includes(value)) throw badRequest(`scope must be one of: ${SCOPES.join(", ")}`);
  return value;
}

/** @typedef {"create" | "check" | "status"} OperationName */

/**
 * @typedef {object} Operation  A validated API call.
 * @property {OperationName} op
 * @property {string} user
 * @property {string} scope
 * @property {string} [code]  only for "check".
 */

/**
 * Whether a request is for the magic link's page (GET|HEAD /link): `false` for another
 * path; another method on /link throws 405 (with `Allow`), as the API routes do.
 * @param {string} method
 * @param {string} pathname  URL path, not decoded.
 * @returns {boolean}
 */
export function isLinkPage(method, pathname) {
  if (pathname !== "/link") return false;
  if (method === "GET" || method === "HEAD") return true;
  throw methodNotAllowed("GET, HEAD");
}

/**
 * Routes an API request: POST /api/otp → "create", GET|HEAD /api/otp → "status",
 * POST /api/otp/verify → "check". Throws 405 (with `Allow`) for a wrong method on a
 * known path and 404 for any other path. Called before the body is read.
 * @param {string} method
 * @param {string} pathname  URL path, not decoded.
 * @returns {OperationName}
 */
export function apiRoute(method, pathname) {
  if (pathname === "/api/otp") {
    if (method === "POST") return "create";
    if (method === "GET" || method === "HEAD") return "status";
    throw methodNotAllowed("GET, HEAD, POST");
  }
  if (pathname === "/api/otp/verify") {
    if (method === "POST") return "check";
    throw methodNotAllowed("POST");
  }
  if (pathname === "/api/otp/verify-link") {
    if (method === "POST") return "checkToken";
    throw methodNotAllowed("POST");
  }
  throw notFound();
}

/**
 * The "checkToken" operation from a POST /api/otp/verify-link body (user, token, scope):
 * what the confirmation page of a magic link sends when the person clicks.
 * @param {Record<string, unknown>} body
 * @returns {Operation}
 */
export function checkTokenOperation(body) {
  return {
    op: "checkToken",
    user: requireString(body.user, "user"),
    token: requireString(body.token, "token"),
    scope: parseScope(body.scope),
  };
}

const escapeHtml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

/**
 * The page behind a magic link (GET /link?user=&scope=&token=): it changes nothing, so a
 * mail scanner that opens links cannot use the token; the person's click sends it with
 * POST /api/otp/verify-link.
 * @param {URLSearchParams} searchParams
 * @returns {string} HTML
 */
export function linkPage(searchParams) {
  const field = (k) => escapeHtml(searchParams.get(k) ?? "");
  // What the link confirms, by its scope (SCOPES): signing in, or a password reset.
  const reset = searchParams.get("scope") === "reset";
  const [title, doing, button, done] = reset
    ? ["Confirm password reset", "Resetting the password of", "Continue", "Confirmed: you can now choose a new password."]
    : ["Confirm sign-in", "Signing in as", "Sign in", "Signed in."];
  const head = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>${title}</title></head>
<body><main>
<h1>${title}</h1>
`;
  if (!searchParams.get("user") || !searchParams.get("token")) {
    return `${head}<p>This link is incomplete: open the whole link from the message.</p>
</main></body></html>
`;
  }
  return `${head}<p>${doing} <strong>${field("user")}</strong>. Opening this page did nothing yet.</p>
<form id="confirm" data-user="${field("user")}" data-scope="${field("scope")}" data-token="${field("token")}">
<button type="submit">${button}</button></form>
<p id="result" role="status"></p>
<script>
document.getElementById("confirm").addEventListener("submit", async (event) => {
  event.preventDefault();
  const d = event.target.dataset;
  const body = { user: d.user, token: d.token };
  if (d.scope) body.scope = d.scope;
  const res = await fetch("/api/otp/verify-link", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const v = await res.json();
  document.getElementById("result").textContent = v.ok ? ${JSON.stringify(done)} : "This link cannot be used (" + (v.reason || (v.error && v.error.code)) + ").";
});
</script>
</main></body></html>
`;
}

/**
 * The "create" operation from a POST /api/otp body (user checked before scope).
 * @param {Record<string, unknown>} body
 * @returns {Operation}
 */
export function createOperation(body) {
  const operation = { op: "create", user: requireString(body.user, "user"), scope: parseScope(body.scope) };
  if (body.link === true) operation.link = true;
  return operation;
}

/**
 * The "check" operation from a POST /api/otp/verify body (user, code, then scope).
 * @param {Record<string, unknown>} body
 * @returns {Operation}
 */
export function checkOperation(body) {
  return {
    op: "check",
    user: requireString(body.user, "user"),
    code: requireString(body.code, "code"),
    scope: parseScope(body.scope),
  };
}

/**
 * The "status" operation from the GET /api/otp query; an empty `user` counts as missing.
 * Checks `user` first, then `scope` (the Worker's order; the Node server checks `scope`
 * first and keeps its own three lines for that).
 * @param {URLSearchParams} searchParams
 * @returns {Operation}
 */
export function statusOperation(searchParams) {
  const user = searchParams.get("user");
  return {
    op: "status",
    user: requireString(user === "" ? null : user, "user"),
    scope: parseScope(searchParams.get("scope") ?? undefined),
  };
}

// ------------------------------------------------------------ operations

/**
 * Runs one validated operation against the OtpManager for its scope and returns the
 * JSON body of the 200 answer:
 *  - create → `{createdAt, expiresAt, attempts, maxAttempts, attemptsLeft, resendAvailableAt, code?}`
 *    (`code` only with `demo`; a real app e-mails or texts it);
 *  - check → the verdict `{ok, reason, attemptsLeft, retryAfterMs?}`;
 *  - status → `{status: "none"}` or `{status, createdAt, expiresAt, attempts, maxAttempts,
 *    attemptsLeft, resendAvailableAt, lockedUntil?}`, never the code.
 * `resendAvailableAt` is the library's (no rule is re-derived here).
 * Errors (OtpError, storage failures) propagate; map them with errorResult().
 *
 * @param {object} manager  an edge-otp OtpManager (create, check, getLatestOtp).
 * @param {Operation} operation
 * @param {object} options
 * @param {boolean} options.demo  put the code into the create answer (demo page only).
 * @returns {Promise<Record<string, unknown>>}
 */
export async function runOperation(manager, operation, { demo }) {
  switch (operation.op) {
    case "create": {
      const r = await manager.create(operation.user, operation.link ? { link: true } : undefined);
      const body = {
        createdAt: r.createdAt,
        expiresAt: r.expiresAt,
        attempts: r.attempts,
        maxAttempts: r.maxAttempts,
        attemptsLeft: r.attemptsLeft,
        resendAvailableAt: r.resendAvailableAt,
      };
      if (demo) {
        // demo only: a real app e-mails or texts the code, and the link with the token
        body.code = r.code;
        if (r.token !== undefined) {
          const q = new URLSearchParams({ user: operation.user, scope: operation.scope, token: r.token });
          body.link = `/link?${q}`;
        }
      }
      return body;
    }
    case "checkToken": {
      const r = await manager.checkToken(operation.user, operation.token);
      const body = { ok: r.ok, reason: r.reason, attemptsLeft: r.attemptsLeft };
      if (r.retryAfterMs !== undefined && r.retryAfterMs !== null) body.retryAfterMs = r.retryAfterMs;
      return body;
    }
    case "check": {
      const r = await manager.check(operation.user, operation.code);
      const body = { ok: r.ok, reason: r.reason, attemptsLeft: r.attemptsLeft };
      if (r.retryAfterMs !== undefined && r.retryAfterMs !== null) body.retryAfterMs = r.retryAfterMs;
      return body;
    }
    case "status": {
      const r = await manager.getLatestOtp(operation.user);
      if (!r) return { status: "none" };
      const { status, createdAt, expiresAt, attempts, maxAttempts, attemptsLeft, resendAvailableAt, lockedUntil } = r; // never r.code
      return { status, createdAt, expiresAt, attempts, maxAttempts, attemptsLeft, resendAvailableAt, lockedUntil };
    }
    default:
      throw new Error(`unknown operation ${operation.op}`);
  }
}
