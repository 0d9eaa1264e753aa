// The user normaliser of the normalizeUser option: the app's function, or a built-in by
// name. Names are checked in Rust (the options reader); the built-ins run there too.
import { normalizeEmail } from "./wasm/edge_otp.js";

const BUILT_IN = { email: normalizeEmail };

/** The function for a (validated) normalizeUser value; undefined for none. */
export function userNormalizer(value) {
  if (value === undefined || typeof value === "function") return value;
  const f = Object.hasOwn(BUILT_IN, value) ? BUILT_IN[value] : undefined;
  if (f === undefined) throw new TypeError(`edge-otp: no built-in user normaliser ${JSON.stringify(String(value))}`);
  return f;
}
