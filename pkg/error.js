// The one error class of edge-otp. The wasm glue imports this very module (the binding
// declares it with `raw_module = "../error.js"`), so errors built in Rust and in the JS
// driver are instances of the class users import, in every entry.

/** The error type of edge-otp. `code` is stable; branch on it, not on the message. */
export class OtpError extends Error {
  constructor(code, message, fields) {
    super(`edge-otp: ${message}`);
    this.name = "OtpError";
    this.code = code;
    if (fields) Object.assign(this, fields);
  }
}
