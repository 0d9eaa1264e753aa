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

/** `INVALID_ARGUMENT` for a store method's `argument`. */
export function invalidArgument(argument, message) {
  const err = new RangeError(message);
  err.code = "INVALID_ARGUMENT";
  err.argument = argument;
  return err;
}
