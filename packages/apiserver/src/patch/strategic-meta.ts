// Book 11.2: where strategic merge patch learns how to merge each field — the schema's
// x-kubernetes-patch-strategy and x-kubernetes-patch-merge-key, found by walking the object's schema
// through properties, additionalProperties and list items, following $refs with the resolver.
import type { Schema, SchemaResolver } from "../schema/types.js";

/** How one field of an object takes a strategic merge patch. */
export interface FieldPatchMeta {
  /** The field's own schema node, resolved; undefined when the schema does not describe the field. */
  schema: Schema | undefined;
  /** Lists merge element by element (by merge key, or as a set of scalars) instead of being replaced. */
  merge: boolean;
  /** Maps are replaced whole instead of merged. */
  replace: boolean;
  /** The field takes a `$retainKeys` directive (informational: the directive is honoured wherever it appears). */
  retainKeys: boolean;
  /** The member of list elements that identifies them, e.g. "name" for containers. */
  mergeKey: string | undefined;
}

const NO_META: FieldPatchMeta = { schema: undefined, merge: false, replace: false, retainKeys: false, mergeKey: undefined };

function stringExtension(node: Schema | undefined, name: "x-kubernetes-patch-strategy" | "x-kubernetes-patch-merge-key"): string | undefined {
  const v = node?.[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/**
 * The patch metadata of field `key` of an object whose (resolved) schema is `parent`. The
 * extensions sit on the property node itself (beside its `allOf: [{$ref}]` wrapper), so they are read
 * there first and on the resolved node second. A field the schema does not name, or a map value
 * (additionalProperties), has no strategy: maps merge and lists are replaced.
 */
export function fieldPatchMeta(parent: Schema | undefined, key: string, resolver: SchemaResolver): FieldPatchMeta {
  if (!parent) return NO_META;
  let raw: Schema | undefined;
  if (parent.properties && Object.hasOwn(parent.properties, key)) raw = parent.properties[key];
  else if (typeof parent.additionalProperties === "object") raw = parent.additionalProperties;
  if (!raw) return NO_META;
  const schema = resolver.resolve(raw);
  const strategy = stringExtension(raw, "x-kubernetes-patch-strategy") ?? stringExtension(schema, "x-kubernetes-patch-strategy") ?? "";
  const strategies = strategy.split(",").map((s) => s.trim());
  return {
    schema,
    merge: strategies.includes("merge"),
    replace: strategies.includes("replace"),
    retainKeys: strategies.includes("retainKeys"),
    mergeKey: stringExtension(raw, "x-kubernetes-patch-merge-key") ?? stringExtension(schema, "x-kubernetes-patch-merge-key"),
  };
}

/**
 * The resolved schema of the elements of a list field. A field whose schema is not a list (the data
 * disagrees with the schema) lends its own schema to the elements, as upstream's lookup does.
 */
export function listItemSchema(list: Schema | undefined, resolver: SchemaResolver): Schema | undefined {
  if (!list) return undefined;
  if (list.items) return resolver.resolve(list.items);
  return list.type === "array" ? undefined : list;
}
