// The errors of the storage adapters (edge-otp/sql, edge-otp/redis), which have no wasm
// module of their own: a bad handle, client or option is a TypeError with `code`
// `INVALID_CONFIG`; a bad argument of a store method is a RangeError with `code`
// `INVALID_ARGUMENT` and `argument` naming it. Neither message repeats a storage key or a
// value other than a number the caller passed; an unknown option's name is shown only
// when short and plain (unknownKey).

/** `INVALID_CONFIG` from the adapter `entry` ("edge-otp/sql", "edge-otp/redis"). */
export function invalidConfig(entry, message) {
  const err = new TypeError(`${entry}: ${message}`);
  err.code = "INVALID_CONFIG";
  return err;
}

/**
 * What a message may show of a value the caller passed: a number as is, anything else by
 * its type only (never converted: a Symbol or an object whose `toString` throws cannot
 * turn the refusal into another error, and no string is echoed).
 */
export function shown(value) {
  return typeof value === "number" ? String(value) : `a value of type ${typeof value}`;
}

/**
 * The first option name of `options` that is not in `allowed`, as a refusal may show it:
 * as is when short and made of ASCII letters, digits, `_` and `$` (a long key is not
 * copied; one with other characters, which could carry a line break into a log, is not
 * shown), as the engine's own refusals do.
 */
function unknownKey(options, allowed) {
  const key = Object.keys(options).find((k) => !allowed.includes(k));
  if (key === undefined) return undefined;
  if (key.length > 40) return "(a long key)";
  return /^[A-Za-z0-9_$]*$/.test(key) ? key : "(a key with other characters)";
}

/**
 * Why `options` cannot be the options of a call taking only the keys `allowed`, or
 * undefined when it can: `undefined`, `null` and `{}` are no options, an array or a
 * non-object is refused, and so is a key not in `allowed` (a mistyped option is not
 * silently ignored). Each caller throws the reason as its own error kind.
 */
export function optionsProblem(options, allowed) {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== "object" || Array.isArray(options)) {
    return `options must be an object, got ${Array.isArray(options) ? "an array" : shown(options)}`;
  }
  const unknown = unknownKey(options, allowed);
  if (unknown === undefined) return undefined;
  return `unknown option ${unknown} (${allowed.length === 0 ? "it takes none yet" : `only ${allowed.join(" and ")}`})`;
}

/**
 * An option of `options` read only when it is the object's own (a polluted
 * `Object.prototype` changes nothing); `undefined` otherwise.
 */
export function own(options, name) {
  return Object.hasOwn(options, name) ? options[name] : undefined;
}

/** `INVALID_ARGUMENT` for a store method's `argument`. */
export function invalidArgument(argument, message) {
  const err = new RangeError(message);
  err.code = "INVALID_ARGUMENT";
  err.argument = argument;
  return err;
}

/**
 * `text` when it is a string, else `INVALID_ARGUMENT` for `argument` from `method` of the
 * adapter `entry` (the key, the value, or a compare-and-swap's expected value: a number
 * or an object would be converted by the driver, `42` and `"42"` naming one row or key).
 */
export function requireString(text, argument, entry, method) {
  if (typeof text !== "string") {
    // By its type only, a number too: a key or value the app passed (a phone number, a
    // user id) is not repeated.
    throw invalidArgument(argument, `${entry}: ${method}: ${argument} must be a string, got a value of type ${typeof text}`);
  }
  return text;
}

/** Longest `expirationTtl` the adapters take, in seconds: 100 years. */
const MAX_TTL_SECONDS = 3_153_600_000;

/**
 * The `expirationTtl` (seconds) of a store write's `options`, or null without one: a
 * positive number of at most 100 years (a larger one would overflow the database's own
 * limits, a PostgreSQL BIGINT or Redis's expire time), else `INVALID_ARGUMENT` from
 * `method` of the adapter `entry` (as requireString's).
 */
export function expirationTtl(options, entry, method) {
  const ttl = options?.expirationTtl;
  if (ttl === undefined || ttl === null) return null;
  if (typeof ttl !== "number" || !(ttl > 0 && ttl <= MAX_TTL_SECONDS)) {
    throw invalidArgument(
      "expirationTtl",
      `${entry}: ${method}: expirationTtl must be a positive number of seconds, at most ${MAX_TTL_SECONDS} (100 years), got ${shown(ttl)}`,
    );
  }
  return ttl;
}
