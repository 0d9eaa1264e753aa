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
/**
 * Loads the wasm synchronously from a compiled module or bytes. `getRandomValues`, when
 * given, replaces `crypto.getRandomValues` as the source of salts: it must fill the whole
 * array with cryptographically secure random bytes, or throw.
 */
export function initSync(
  input:
    | { module: WebAssembly.Module | BufferSource; getRandomValues?: (bytes: Uint8Array) => void }
    | WebAssembly.Module
    | BufferSource,
): void;
/** Compare-and-swap conflicts tolerated per operation before CONFLICT. */
export const MAX_TRIES: number;
