// Book 11.2: defaulting from a CRD's schema — absent fields (and nulls the schema does not allow)
// take the schema's `default`, deepest levels included, as apiextensions does when objects are written.
import type { JSONSchemaProps } from "./types.js";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isNode = (v: unknown): v is JSONSchemaProps => typeof v === "object" && v !== null && !Array.isArray(v);
const isNodeMap = (v: unknown): v is Record<string, JSONSchemaProps> => isNode(v);

function defaultValue(x: unknown, s: JSONSchemaProps | undefined): void {
  if (!isNode(s)) return;
  if (isRecord(x)) {
    if (isNodeMap(s.properties)) {
      for (const [k, prop] of Object.entries(s.properties)) {
        if (!isNode(prop) || prop.default === undefined) continue;
        const missing = !Object.hasOwn(x, k) || (x[k] === null && prop.nullable !== true);
        if (missing) x[k] = structuredClone(prop.default);
      }
    }
    for (const [k, v] of Object.entries(x)) {
      const prop = isNodeMap(s.properties) ? s.properties[k] : undefined;
      if (prop !== undefined) defaultValue(v, prop);
      else if (isNode(s.additionalProperties)) defaultValue(v, s.additionalProperties);
    }
    return;
  }
  if (Array.isArray(x) && isNode(s.items)) {
    for (const v of x) defaultValue(v, s.items);
  }
}

/**
 * Fill in, in place, the schema's defaults: for every object the schema describes, properties that
 * are missing (or null without `nullable: true`) get a copy of their `default`, and defaulting then
 * continues inside them.
 */
export function applyDefaults(value: unknown, schema: JSONSchemaProps): void {
  defaultValue(value, schema);
}

/** Whether the schema declares any default anywhere (cheap check before defaulting). */
export function hasDefaults(schema: JSONSchemaProps | undefined): boolean {
  if (!isNode(schema)) return false;
  if (schema.default !== undefined) return true;
  if (isNodeMap(schema.properties) && Object.values(schema.properties).some(hasDefaults)) return true;
  if (isNode(schema.additionalProperties) && hasDefaults(schema.additionalProperties)) return true;
  return isNode(schema.items) && hasDefaults(schema.items);
}
