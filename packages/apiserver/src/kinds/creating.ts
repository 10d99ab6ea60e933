// Book 11.2: telling a create from an update inside validate() — a strategy's prepareForCreate
// marks the object it prepared, so create-only rules (e.g. no ephemeral containers) can apply.
import type { KubeObject } from "../registry/types.js";

const creating = new WeakSet<object>();

/** Called from prepareForCreate: this object is about to be created. */
export function markCreating(obj: KubeObject): void {
  creating.add(obj);
}

/** Whether validate() is looking at an object being created (prepared by prepareForCreate). */
export function isCreating(obj: KubeObject): boolean {
  return creating.has(obj);
}
