// Book 11.2 and 12.3: the bridge from client-side apply — the last-applied-configuration annotation
// tells which fields kubectl applied before, so `kubectl apply --server-side` may take them over.
import type { KubeObject } from "../../registry/types.js";
import { compare } from "./compare.js";
import type { FieldSet } from "./fieldset.js";
import { TypedError } from "./list-items.js";
import type { TypeRef } from "./schema-shape.js";
import { toFieldSet } from "./to-fieldset.js";
import { clone, goJSON, isObject } from "./value.js";

export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * The fields of the live object's last-applied configuration whose live values still equal what
 * was applied; undefined when there is no usable annotation (absent, not JSON, another version).
 */
export function allowedByLastApplied(liveObj: Record<string, unknown>, root: TypeRef, apiVersion: string): FieldSet | undefined {
  const meta = liveObj.metadata;
  const annotations = isObject(meta) && isObject(meta.annotations) ? meta.annotations : undefined;
  const text = annotations?.[LAST_APPLIED_ANNOTATION];
  if (typeof text !== "string" || text === "") return undefined;
  let last: unknown;
  try {
    last = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(last) || last.apiVersion !== apiVersion) return undefined;
  try {
    const set = toFieldSet(last, root);
    const diff = compare(last, liveObj, root);
    return set.difference(diff.modified).difference(diff.added).difference(diff.removed);
  } catch (e) {
    if (e instanceof TypedError) return undefined;
    throw e;
  }
}

/** The annotation value kubectl would write for `config`: its JSON without the annotation itself. */
export function lastAppliedValue(config: KubeObject): string {
  const copy = clone(config) as Record<string, unknown>;
  const meta = copy.metadata;
  if (isObject(meta) && isObject(meta.annotations)) delete meta.annotations[LAST_APPLIED_ANNOTATION];
  return `${goJSON(copy)}\n`;
}
