// edge-otp/slim: the same API, initialised by the caller.
export * from "./index.js";

// The wasm loader's input types are named through `globalThis`, so that this file also
// type-checks in projects without the DOM library (Node with @types/node, Workers with
// @cloudflare/workers-types): where the environment declares no `WebAssembly.Module`,
// `Response` or `URL`, that member of the union is simply absent.
/** `WebAssembly.Module`, where the environment's types declare it. */
export type WasmModule = typeof globalThis extends { WebAssembly: { Module: { prototype: infer M } } } ? M : never;
/** `Response` (fetch), where the environment's types declare it. */
export type WasmResponse = typeof globalThis extends { Response: { prototype: infer R } } ? R : never;
/** `URL`, where the environment's types declare it. */
export type WasmUrl = typeof globalThis extends { URL: { prototype: infer U } } ? U : never;
/** The module's bytes. */
export type WasmBytes = ArrayBuffer | ArrayBufferView;

/** What the wasm loader accepts. */
export type WasmInput =
  | WasmModule
  | WasmBytes
  | WasmResponse
  | Promise<WasmResponse>
  | WasmUrl
  | string;

/** Loads the wasm asynchronously; without an argument, fetches the .wasm next to the glue. */
export function init(input?: WasmInput): Promise<void>;
/** Loads the wasm synchronously from a compiled module or bytes. */
export function initSync(input: { module: WasmModule | WasmBytes } | WasmModule | WasmBytes): void;
/** Compare-and-swap conflicts tolerated per operation before CONFLICT (defined in Rust; set once the wasm is loaded). */
export const MAX_TRIES: number;
