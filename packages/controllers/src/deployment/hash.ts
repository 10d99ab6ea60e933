// Book 2.3.3: the pod-template-hash a Deployment stamps on each ReplicaSet it makes: a stable,
// short name for "this version of the pod template", so every rollout step has its own ReplicaSet.
import type { PodTemplateSpec } from "../framework/pods.js";

/** The label that ties a ReplicaSet (and its pods) to one version of the Deployment's template. */
export const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";

/** Letters and digits that cannot spell words or look alike; upstream names use the same set. */
export const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/**
 * JSON with object keys sorted at every level, undefined values dropped and empty objects and
 * arrays treated as absent, so two templates that mean the same thing serialize the same way.
 */
export function canonicalJSON(value: unknown): string {
  return JSON.stringify(canonical(value)) ?? "null";
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => canonical(v) ?? null);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = canonical((value as Record<string, unknown>)[k]);
      // null, absent and empty all mean "not set" (kubectl rollout undo sends creationTimestamp: null).
      if (v === undefined || v === null) continue;
      if (Array.isArray(v) && v.length === 0) continue;
      if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) continue;
      out[k] = v;
    }
    return out;
  }
  return value;
}

/** 32-bit FNV-1a over the UTF-8 bytes of `bytes`, continuing from `h`. */
function fnv1a(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Each character of `s` mapped into SAFE_ALPHABET by its code (the decimal digits become letters). */
export function safeEncode(s: string): string {
  let out = "";
  for (const ch of s) out += SAFE_ALPHABET[ch.charCodeAt(0) % SAFE_ALPHABET.length];
  return out;
}

/**
 * The pod-template-hash of `template`. A non-zero `collisionCount` (the Deployment's
 * status.collisionCount) changes the result, which is how a name clash with a foreign
 * ReplicaSet is escaped: bump the count, get a new name.
 */
export function podTemplateHash(template: PodTemplateSpec | undefined, collisionCount?: number): string {
  let h = fnv1a(new TextEncoder().encode(canonicalJSON(template ?? {})));
  if (collisionCount !== undefined && collisionCount !== 0) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv1a(b, h);
  }
  return safeEncode(String(h));
}

/** A copy of `template` without the pod-template-hash label. */
function withoutHash(template: PodTemplateSpec | undefined): PodTemplateSpec | undefined {
  if (!template) return template;
  const labels = { ...(template.metadata?.labels ?? {}) };
  delete labels[POD_TEMPLATE_HASH_LABEL];
  return { ...template, metadata: { ...(template.metadata ?? {}), labels } };
}

/** Whether two templates are the same once the pod-template-hash label is ignored. */
export function equalIgnoringHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return canonicalJSON(withoutHash(a)) === canonicalJSON(withoutHash(b));
}
