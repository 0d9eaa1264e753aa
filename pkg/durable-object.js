// edge-otp/durable-object (workerd only): exact one-time codes on Cloudflare Workers with
// no glue. `OtpDurableObject` runs the engine inside a SQLite-backed Durable Object, one
// object per scope and user, over its synchronous `ctx.storage.kv`; `durableOtp(namespace,
// { scope })` is the client: the OtpManager methods, one RPC per call.
//
// What only JS can do: route, carry errors across RPC as values, schedule the alarm. Every
// rule (user, code and scope checks, defaults, the longest window a record matters, error
// codes and messages) comes from the wasm module.

import { DurableObject } from "cloudflare:workers";
import { OtpManager, OtpError } from "./workerd.js";
import { checkUser, checkCode, checkClientOptions, limits, Arguments, envOptions, EnvValue } from "./wasm/edge_otp.js";
import { userNormalizer } from "./normalize.js";

export { OtpError };

// The OtpManager operations a client forwards (one RPC each), with what each takes
// besides the user: Rust's `Arguments`, as OtpManager checks them (per-call options of an
// issue; a submitted code and per-call options; a link token; nothing else).
const OPERATIONS = new Map([
  ["create", Arguments.Issue],
  ["generate", Arguments.Issue],
  ["getLatestOtp", Arguments.User],
  ["check", Arguments.Code],
  ["verify", Arguments.Code],
  ["checkToken", Arguments.Token],
  ["verifyToken", Arguments.Token],
  ["resetAttempts", Arguments.User],
  ["invalidate", Arguments.User],
  ["forget", Arguments.User],
]);

// [env variable, option, how its string value is read]: the options and their EnvValue
// from Rust (`envOptions`), each from `OTP_` and its name in upper snake case
// (`ttlSeconds`: `OTP_TTL_SECONDS`). Only these names are read, so other OTP_* variables
// stay the app's. Values that are not strings (JSON vars) pass as they are; validation is
// the wasm module's (INVALID_CONFIG names the option).
let envTable;
function fromEnvTable() {
  envTable ??= envOptions().map(([option, value]) => [
    `OTP_${option.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`,
    option,
    READ.get(value),
  ]);
  return envTable;
}

// A string that is a decimal number ("30", " 30 ", "1.5", "-1") becomes that number, for
// the wasm module to check against the option's range; anything else ("0x1e", "1e1", "")
// is left a string, which it refuses with the option's name.
function number(s) {
  return /^\s*-?\d+(\.\d+)?\s*$/.test(s) ? Number(s) : s;
}

// "COUNT/WINDOW_SECONDS" (e.g. "5/3600"), "off" or "null" in any case (no limit), or a
// JSON object.
function limit(s) {
  const t = s.trim();
  const word = t.toLowerCase();
  if (word === "off" || word === "null") return null;
  const m = /^(\d+)\s*\/\s*(\d+)$/.exec(t);
  if (m) return { count: Number(m[1]), windowSeconds: Number(m[2]) };
  if (t.startsWith("{")) {
    try {
      return JSON.parse(t);
    } catch {
      return s;
    }
  }
  return s;
}

const READ = new Map([[EnvValue.Text, (s) => s], [EnvValue.Number, number], [EnvValue.Limit, limit]]);

/**
 * The OtpManager options an `OtpDurableObject` takes from its environment: `OTP_SECRET`
 * (required) and the optional overrides listed in the README (unset or `undefined`
 * variables are left to the defaults).
 */
export function optionsFromEnv(env) {
  const options = {};
  if (env === null || env === undefined) return options;
  for (const [name, option, read] of fromEnvTable()) {
    if (!Object.hasOwn(env, name)) continue;
    const v = env[name];
    if (v === undefined) continue;
    options[option] = typeof v === "string" ? read(v) : v;
  }
  return options;
}

// The same option value: one value, or two objects (limits parsed from the env anew) with
// the same own keys holding the same values.
function sameValue(a, b) {
  if (Object.is(a, b)) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && Object.is(a[k], b[k]));
}

// A refused option that is the one optionsFromEnv reads from `env` (the same value): its
// INVALID_CONFIG message says which variable it came from, since the app never wrote the
// option's name ("invalid ttlSeconds: must be a number (from OTP_TTL_SECONDS in the
// Durable Object's env)"). A value that differs (a subclass's own policy) is not
// attributed to the env. A missing one (the secret, the one option required; absent or
// undefined) says which variable the object's default options() reads.
function fromEnvVariable(e, env, options) {
  if (!(e instanceof OtpError) || e.code !== "INVALID_CONFIG") return e;
  const entry = fromEnvTable().find(([, option]) => option === e.field);
  if (entry === undefined) return e;
  const [name, option] = entry;
  const fromEnv = optionsFromEnv(env);
  if (options[option] === undefined) {
    e.message += ` (a Durable Object reads ${name})`;
  } else if (Object.hasOwn(fromEnv, option) && sameValue(fromEnv[option], options[option])) {
    e.message += ` (from ${name} in the Durable Object's env)`;
  }
  return e;
}

// Where the object keeps the time its storage may go (the last write plus the longest
// window): a key without ":", which no record key (keyPrefix + scope + ":" + user) is.
const DEADLINE_KEY = "edge-otp-deadline";

// The object's name for a scope and user: a scope never contains ":", and no scope
// (the default) is the empty prefix, which no valid scope is.
const objectName = (scope, user) => `${scope === undefined ? "" : scope}:${user}`;

// An OtpError as a value that crosses RPC (which keeps only an error's message):
// its code, message and fields (retryAfterMs, expiresAt, field, argument, reason, ...).
function errorValue(e) {
  const { name: _name, code, ...fields } = { ...e };
  return { code, message: e.message, fields };
}

// The constructor's prefix ("edge-otp: "), read from the class, not copied.
const PREFIX = new OtpError("", "").message;

// Built with its message (not set afterwards), so that the stack's first line, what
// loggers print, says why.
function revive({ code, message, fields }) {
  const e = new OtpError(code, message.startsWith(PREFIX) ? message.slice(PREFIX.length) : message, fields);
  e.message = message;
  return e;
}

/**
 * A Durable Object with the engine inside: one object per scope and user (named by
 * `durableOtp`), its record in the synchronous `ctx.storage.kv` of a SQLite-backed class
 * (`new_sqlite_classes`), so no two operations on it interleave. Re-export it from the
 * Worker and bind it; the policy comes from `options(env, scope)` (default:
 * `optionsFromEnv(env)`). Once its record is past every window (the policy's
 * `longestWindowSeconds` after the last write), an alarm deletes the object's storage.
 */
export class OtpDurableObject extends DurableObject {
  #managers = new Map(); // scope ("" for none) → Promise of its OtpManager
  #store;
  #writes = 0;
  #alarmMs = 0;
  #alarmSet; // true once an alarm is known to be pending; undefined: not known yet

  constructor(ctx, env) {
    super(ctx, env);
    // `options` (the subclass's or this class's) as an own property: workerd then does not
    // offer it over RPC, so no holder of a stub can ask an object for its policy.
    Object.defineProperty(this, "options", { value: this.options, enumerable: false });
    const inner = this.constructor.store(ctx.storage.kv);
    const wrote = (r) => {
      this.#writes++;
      return r;
    };
    this.#store = {
      get: (key) => inner.get(key),
      put: (...args) => wrote(inner.put(...args)),
      delete: (key) => wrote(inner.delete(key)),
    };
    if (typeof inner.compareAndSwap === "function") {
      this.#store.compareAndSwap = (...args) => wrote(inner.compareAndSwap(...args));
    }
  }

  /**
   * The store the engine uses over `kv` (`ctx.storage.kv`): synchronous get, put and
   * delete. Override (static) only to instrument it.
   */
  static store(kv) {
    return {
      get(key) {
        const v = kv.get(key);
        return v === undefined ? null : v;
      },
      // A Durable Object's storage has no expiry: the alarm deletes it.
      put(key, value) {
        kv.put(key, value);
      },
      delete(key) {
        return kv.delete(key);
      },
    };
  }

  /**
   * The OtpManager options for `scope` (`undefined`: the default scope), or a Promise of
   * them (read once per scope and object). Override to take the policy from elsewhere than
   * the environment; `scope` is added when the answer has none. It is not callable over
   * RPC (the constructor hides it from RPC), so it may read `this.env` too.
   */
  options(env, _scope) {
    return optionsFromEnv(env);
  }

  // The manager of `scope`, made once from `options(env, scope)`, which may answer a
  // Promise (a secret read from a Secrets Store binding): concurrent first calls share it.
  // A policy that fails (INVALID_CONFIG, a rejected read) is not kept: the next call asks
  // again.
  #manager(scope) {
    const k = scope === undefined ? "" : scope;
    let m = this.#managers.get(k);
    if (m === undefined) {
      m = (async () => {
        const options = { ...(await this.options(this.env, scope)) };
        if (scope !== undefined && !Object.hasOwn(options, "scope")) options.scope = scope;
        let manager;
        try {
          manager = new OtpManager(this.#store, options);
        } catch (e) {
          throw fromEnvVariable(e, this.env, options);
        }
        this.#alarmMs = Math.max(this.#alarmMs, manager.longestWindowSeconds * 1000);
        return manager;
      })();
      this.#managers.set(k, m);
      m.catch(() => {
        if (this.#managers.get(k) === m) this.#managers.delete(k);
      });
    }
    return m;
  }

  /**
   * The one RPC method, called by `durableOtp`: runs `operation` for `user` and answers
   * `{ value }` or `{ error: { code, message, fields } }` for an OtpError.
   */
  async otp(scope, operation, user, code, options) {
    const takes = OPERATIONS.get(operation);
    if (takes === undefined) throw new TypeError(`edge-otp: unknown operation ${String(operation)}`);
    try {
      const m = await this.#manager(scope);
      const writes = this.#writes;
      const value = await (takes === Arguments.Issue ? m[operation](user, options)
        : takes === Arguments.Code ? m[operation](user, code, options)
          : takes === Arguments.Token ? m[operation](user, code)
            : m[operation](user));
      if (operation === "forget") await this.#forgotten();
      else if (this.#writes !== writes) await this.#wrote();
      return { value };
    } catch (e) {
      if (e instanceof OtpError) return { error: errorValue(e) };
      throw e;
    }
  }

  // After a write: the storage may go once the record is past every window from now. The
  // deadline is written with the record (same synchronous batch); an alarm is set only
  // when none is pending (once per window, not per write), and moves on when it fires early.
  async #wrote() {
    const deadline = Date.now() + this.#alarmMs;
    this.ctx.storage.kv.put(DEADLINE_KEY, deadline);
    if (this.#alarmSet === undefined) this.#alarmSet = (await this.ctx.storage.getAlarm()) !== null;
    if (!this.#alarmSet) {
      await this.ctx.storage.setAlarm(deadline);
      this.#alarmSet = true;
    }
  }

  // After forget: an object left with no record keeps nothing, neither its deadline nor
  // an alarm (the erasure is whole at once, not when the alarm fires).
  async #forgotten() {
    const kv = this.ctx.storage.kv;
    for (const [key] of kv.list()) if (key !== DEADLINE_KEY) return;
    kv.delete(DEADLINE_KEY);
    this.#alarmSet = false;
    await this.ctx.storage.deleteAlarm();
    // Not known any more: a write that ran meanwhile (a store whose calls wait) may have
    // set an alarm before the deletion, or after it; the next write asks.
    this.#alarmSet = undefined;
  }

  /** Deletes the object's storage once its deadline has passed (else waits for it). */
  async alarm() {
    const deadline = this.ctx.storage.kv.get(DEADLINE_KEY);
    if (typeof deadline === "number" && Date.now() < deadline) {
      await this.ctx.storage.setAlarm(deadline);
      this.#alarmSet = true;
      return;
    }
    this.#alarmSet = false;
    await this.ctx.storage.deleteAll();
  }
}

// Per-call options as the object's manager reads them: a plain object of their own
// enumerable keys (each getter run once, here). An RPC clones only plain objects, so a
// class instance or a null-prototype object failed with the runtime's DataCloneError,
// and a Proxy arrived as something else. Any other value (none, a number, an array) goes
// as it is, for the manager to take or refuse as OtpManager does.
function callOptionsOf(options) {
  if (options === null || typeof options !== "object" || Array.isArray(options)) return options;
  const plain = {};
  for (const key of Object.keys(options)) plain[key] = options[key];
  return plain;
}

/**
 * The client of `OtpDurableObject`: the OtpManager methods and answers for one scope,
 * each call exactly one RPC to the object of `scope` and the user. A bad user id, or a
 * code or link token that is not a string, is refused before the RPC with the same
 * OtpError as OtpManager; per-call options are checked by the object's manager. Errors from the object are rethrown as OtpError with
 * their code and fields.
 */
export function durableOtp(namespace, options) {
  // The binding, and the options: own keys scope and normalizeUser only (the policy is the
  // object's: its env, or options(env, scope)); INVALID_CONFIG otherwise. The values used
  // are the ones checked.
  const [scope, chosen] = checkClientOptions(namespace, options);
  const byName = namespace.getByName;
  const normalize = userNormalizer(chosen);
  const maxCodeUnits = limits().maxCodeUnits;
  const stubFor = (name) =>
    typeof byName === "function" ? byName.call(namespace, name) : namespace.get(namespace.idFromName(name));

  // The object's name comes from the user id, so the client normalises it first (the same
  // normaliser as the object's normalizeUser; idempotent if both apply it) and checks it.
  const userOf = (rawUser) => {
    const user = normalize === undefined ? rawUser : normalize(rawUser);
    checkUser(user);
    return user;
  };

  async function call(operation, rawUser, code, callOptions) {
    const user = userOf(rawUser);
    const takes = OPERATIONS.get(operation);
    if (takes === Arguments.Code || takes === Arguments.Token) {
      checkCode(code, takes === Arguments.Token);
      // A longer code or token is a wrong guess either way; no need to carry all of it.
      if (code.length > maxCodeUnits) code = code.slice(0, maxCodeUnits + 1);
    }
    const r = await stubFor(objectName(scope, user)).otp(scope, operation, user, code, callOptionsOf(callOptions));
    if (r.error !== undefined) throw revive(r.error);
    return r.value;
  }

  return {
    /** The scope (undefined: the default scope). */
    scope,
    /** The Durable Object name of `user`'s object. */
    nameFor(rawUser) {
      return objectName(scope, userOf(rawUser));
    },
    create: (user, o) => call("create", user, undefined, o),
    generate: (user, o) => call("generate", user, undefined, o),
    getLatestOtp: (user) => call("getLatestOtp", user),
    check: (user, code, o) => call("check", user, code, o),
    verify: (user, code, o) => call("verify", user, code, o),
    checkToken: (user, token) => call("checkToken", user, token),
    verifyToken: (user, token) => call("verifyToken", user, token),
    resetAttempts: (user) => call("resetAttempts", user),
    invalidate: (user) => call("invalidate", user),
    forget: (user) => call("forget", user),
  };
}
