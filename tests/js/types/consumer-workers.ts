// Workers bindings as stores, with @cloudflare/workers-types: no casts needed.
import { OtpManager } from "edge-otp";
import { durableOtp } from "edge-otp/durable-object";
import type { OtpDurableObject, DurableOtp } from "edge-otp/durable-object";
import type { KVNamespace, DurableObjectStorage, DurableObjectNamespace } from "@cloudflare/workers-types";

export function fromBindings(kv: KVNamespace, storage: DurableObjectStorage, secret: string): OtpManager[] {
  return [new OtpManager(kv, { secret, retentionSeconds: 86400 }), new OtpManager(storage, { secret })];
}

/** The binding as `wrangler types` writes it for a re-exported OtpDurableObject (the class carries the Durable Object brand). */
export function fromTypedNamespace(ns: DurableObjectNamespace<OtpDurableObject>): DurableOtp {
  return durableOtp(ns, { scope: "login" });
}
