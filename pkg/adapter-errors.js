// The errors of the storage adapters (edge-otp/sql, edge-otp/redis), which have no wasm
// module of their own: a bad handle, client or option is a TypeError with `code`
// `INVALID_CONFIG`; a bad argument of a store method is a RangeError with `code`
// `INVALID_ARGUMENT` and `argument` naming it. Neither message repeats a key or a value
// other than a number the caller passed.

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
 * The option names of `options` that are not in `allowed`, for a refusal: the first, shown
 * only when short (a long key is not copied into the message).
 */
export function unknownKey(options, allowed) {
  const key = Object.keys(options).find((k) => !allowed.includes(k));
  if (key === undefined) return undefined;
  return key.length <= 40 ? key : "(a long key)";
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
