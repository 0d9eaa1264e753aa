// The user normaliser of the normalizeUser option: the app's function, or a built-in by
// name. Names are checked in Rust (the options reader), and the built-ins run there.
import { normalizeUser } from "./wasm/edge_otp.js";

/** The function for a (validated) normalizeUser value; undefined for none. */
export function userNormalizer(value) {
  if (value === undefined || typeof value === "function") return value;
  return (user) => normalizeUser(value, user);
}
