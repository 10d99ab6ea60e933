// Book 11.2: finding schemas by name and by kind, and seeing through $ref and allOf wrappers, the
// way every reader of Kubernetes' OpenAPI (kubectl explain, validation, patching) has to.
import { REF_PREFIX } from "./dsl.js";
import type { GroupVersionKind, Schema, SchemaResolver } from "./types.js";

/** Hops allowed through $ref/allOf before giving up (a reference cycle with no concrete node). */
const MAX_HOPS = 64;

/** The component name a "#/components/schemas/<name>" reference points at. */
export function refName(ref: string): string {
  return ref.startsWith(REF_PREFIX) ? ref.slice(REF_PREFIX.length) : ref;
}

/**
 * The component name Kubernetes gives a custom resource's schema: the group reversed, then version and
 * kind ("stable.example.com", "v1", "CronTab" → "com.example.stable.v1.CronTab").
 */
export function crSchemaName(group: string, version: string, kind: string): string {
  const g = group === "" ? "core" : group.split(".").reverse().join(".");
  return `${g}.${version}.${kind}`;
}

export function gvkKey(gvk: GroupVersionKind): string {
  return `${gvk.group}/${gvk.version}/${gvk.kind}`;
}

/** The single schema a wrapper node stands for, if it is a wrapper at all. */
function wrapped(node: Schema): Schema | undefined {
  if (node.$ref !== undefined) return undefined;
  if (node.allOf?.length === 1 && node.type === undefined && node.properties === undefined) return node.allOf[0];
  return undefined;
}

/**
 * A resolver over a snapshot of the given schemas (create a new one when the set changes, e.g.
 * after a CustomResourceDefinition is added).
 */
export function createResolver(schemas: Record<string, Schema>): SchemaResolver {
  const table = new Map(Object.entries(schemas));
  const byKind = new Map<string, Schema>();
  for (const s of table.values()) {
    for (const gvk of s["x-kubernetes-group-version-kind"] ?? []) {
      const key = gvkKey(gvk);
      if (!byKind.has(key)) byKind.set(key, s);
    }
  }

  function resolve(node: Schema | undefined): Schema | undefined {
    let current = node;
    // What the wrappers on the way said about this use of the type (description, default,
    // patch strategy...): the outermost wrapper wins, as it is the most specific.
    let overlay: Schema | undefined;
    for (let hops = 0; current !== undefined; hops++) {
      if (hops > MAX_HOPS) return undefined;
      if (current.$ref !== undefined) {
        const { $ref, ...rest } = current;
        overlay = Object.keys(rest).length > 0 ? { ...rest, ...overlay } : overlay;
        current = table.get(refName($ref));
        continue;
      }
      const inner = wrapped(current);
      if (inner !== undefined) {
        const { allOf: _allOf, ...rest } = current;
        overlay = { ...rest, ...overlay };
        current = inner;
        continue;
      }
      return overlay === undefined ? current : { ...current, ...overlay };
    }
    return undefined;
  }

  return {
    get: (name) => table.get(name),
    resolve,
    forKind: (gvk) => byKind.get(gvkKey(gvk)),
  };
}
