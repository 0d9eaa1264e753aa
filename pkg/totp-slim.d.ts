// edge-otp/totp-slim: the edge-otp/totp API, initialised by the caller.
export * from "./totp.js";
import type { WasmInput, WasmModule, WasmBytes } from "./slim.js";

/** Loads the TOTP wasm asynchronously; without an argument, fetches the .wasm next to the glue. */
export function init(input?: WasmInput): Promise<void>;
/** Loads the TOTP wasm synchronously from a compiled module or bytes. */
export function initSync(input: { module: WasmModule | WasmBytes } | WasmModule | WasmBytes): void;
