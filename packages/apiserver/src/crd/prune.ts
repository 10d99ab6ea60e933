// Book 11.2: pruning — a custom resource keeps only the fields its structural schema knows (unless
// x-kubernetes-preserve-unknown-fields), reporting what it dropped for warnings or Strict validation.
import type { JSONSchemaProps } from "./types.js";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isNode = (v: unknown): v is JSONSchemaProps => typeof v === "object" && v !== null && !Array.isArray(v);
const isNodeMap = (v: unknown): v is Record<string, JSONSchemaProps> => isNode(v);

const RESOURCE_META = new Set(["apiVersion", "kind", "metadata"]);

function child(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function pruneValue(x: unknown, s: JSONSchemaProps | undefined, path: string, pruned: string[]): void {
  if (isNode(s) && s["x-kubernetes-preserve-unknown-fields"] === true) {
    keepUnknown(x, s, path, pruned);
    return;
  }
  if (isRecord(x)) {
    if (!isNode(s)) {
      for (const k of Object.keys(x)) {
        pruned.push(child(path, k));
        delete x[k];
      }
      return;
    }
    for (const k of Object.keys(x)) {
      if (s["x-kubernetes-embedded-resource"] === true && RESOURCE_META.has(k)) continue;
      const prop = isNodeMap(s.properties) ? s.properties[k] : undefined;
      if (prop !== undefined) pruneValue(x[k], prop, child(path, k), pruned);
      else if (isNode(s.additionalProperties)) pruneValue(x[k], s.additionalProperties, child(path, k), pruned);
      else if (s.additionalProperties === true) continue;
      else {
        pruned.push(child(path, k));
        delete x[k];
      }
    }
    return;
  }
  if (Array.isArray(x)) {
    const items = isNode(s) ? s.items : undefined;
    x.forEach((v, i) => pruneValue(v, items, `${path}[${i}]`, pruned));
  }
}

/** Inside x-kubernetes-preserve-unknown-fields: unknown keys stay, known ones are still pruned below. */
function keepUnknown(x: unknown, s: JSONSchemaProps, path: string, pruned: string[]): void {
  if (isRecord(x)) {
    for (const k of Object.keys(x)) {
      if (s["x-kubernetes-embedded-resource"] === true && RESOURCE_META.has(k)) continue;
      const prop = isNodeMap(s.properties) ? s.properties[k] : undefined;
      if (prop !== undefined) pruneValue(x[k], prop, child(path, k), pruned);
      else if (isNode(s.additionalProperties)) pruneValue(x[k], s.additionalProperties, child(path, k), pruned);
    }
    return;
  }
  if (Array.isArray(x) && isNode(s.items)) {
    const items = s.items;
    x.forEach((v, i) => pruneValue(v, items, `${path}[${i}]`, pruned));
  }
}

/**
 * Remove, in place, every field of `value` that `schema` does not specify, and return their paths
 * ("spec.foo", "spec.items[0].bar") in the order met. With `resourceRoot`, the object is a whole
 * custom resource: apiVersion, kind and metadata are left alone (ObjectMeta has its own rules).
 */
export function pruneUnknownFields(value: unknown, schema: JSONSchemaProps, opts: { resourceRoot?: boolean } = {}): string[] {
  const pruned: string[] = [];
  const root = opts.resourceRoot ? { ...schema, "x-kubernetes-embedded-resource": true } : schema;
  pruneValue(value, root, "", pruned);
  return pruned;
}
