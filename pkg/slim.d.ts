// edge-otp/slim: the same API, initialised by the caller.
export * from "./index.js";

/** What the wasm loader accepts. */
export type WasmInput =
  | WebAssembly.Module
  | BufferSource
  | Response
  | Promise<Response>
  | URL
  | string;

/** Loads the wasm asynchronously; without an argument, fetches the .wasm next to the glue. */
export function init(input?: WasmInput): Promise<void>;
/** Loads the wasm synchronously from a compiled module or bytes. */
export function initSync(input: { module: WebAssembly.Module | BufferSource } | WebAssembly.Module | BufferSource): void;
/** Compare-and-swap conflicts tolerated per operation before CONFLICT (defined in Rust; set once the wasm is loaded). */
export const MAX_TRIES: number;
