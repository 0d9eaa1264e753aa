// Workers bindings as stores, with @cloudflare/workers-types: no casts needed.
import { OtpManager } from "edge-otp";
import type { KVNamespace, DurableObjectStorage } from "@cloudflare/workers-types";

export function fromBindings(kv: KVNamespace, storage: DurableObjectStorage, secret: string): OtpManager[] {
  return [new OtpManager(kv, { secret, retentionSeconds: 86400 }), new OtpManager(storage, { secret })];
}
