// Book 11.2: decoding — before any validation, kube-apiserver decodes a body into its Go types, so a
// string where an integer belongs (`replicas: "3"`) is a 400 BadRequest, not stored data. This walks
// a JSON value against the kind's schema and reports the first such mismatch in Go's words.
import { badRequest, type StatusError } from "@corekube/api";
import type { Schema, SchemaResolver } from "./types.js";

type JsonKind = "string" | "number" | "bool" | "array" | "object";

function jsonKind(v: unknown): JsonKind | "null" {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return "number";
  if (typeof v === "string") return "string";
  return "object";
}

export interface TypeMismatch {
  /** Go-style: `DeploymentSpec.spec.replicas`. */
  field: string;
  /** The JSON type found: "string", "number", "array", "object", "bool" (or "number 3.5"). */
  found: string;
  /** The Go type wanted: int32, string, map[string]string, []Container... */
  want: string;
}

const MAX_DEPTH = 200;

function nameOf(ref: string | undefined): string | undefined {
  return ref ? ref.slice(ref.lastIndexOf(".") + 1) : undefined;
}

function goType(s: Schema, resolver: SchemaResolver, named?: string): string {
  if (named) return named;
  switch (s.type) {
    case "string":
      return "string";
    case "integer":
      return s.format === "int64" ? "int64" : "int32";
    case "number":
      return "float64";
    case "boolean":
      return "bool";
    case "array": {
      const it = s.items;
      const itName = nameOf(it?.$ref ?? it?.allOf?.[0]?.$ref);
      return `[]${itName ?? (it ? goType(resolver.resolve(it) ?? {}, resolver) : "interface {}")}`;
    }
    case "object":
      if (s.additionalProperties && typeof s.additionalProperties === "object") {
        const v = s.additionalProperties;
        const vn = nameOf(v.$ref ?? v.allOf?.[0]?.$ref);
        return `map[string]${vn ?? goType(resolver.resolve(v) ?? {}, resolver)}`;
      }
      return "struct";
    default:
      return "interface {}";
  }
}

/**
 * The first place `value` cannot decode into the schema's types, or undefined. Like Go's decoder it
 * turns null elements of lists of structs into empty objects (in place).
 */
export function firstTypeMismatch(value: unknown, root: Schema, resolver: SchemaResolver, rootName = "Object"): TypeMismatch | undefined {
  const walk = (v: unknown, node: Schema | undefined, path: string, struct: string, depth: number): TypeMismatch | undefined => {
    if (!node || depth > MAX_DEPTH) return undefined;
    const ref = node.$ref ?? (node.allOf?.length === 1 ? node.allOf[0]!.$ref : undefined);
    const named = nameOf(ref);
    const s = resolver.resolve(node);
    if (!s) return undefined;
    const k = jsonKind(v);
    if (k === "null") return undefined; // Go leaves the zero value.
    if (s["x-kubernetes-int-or-string"]) {
      if (k === "string" || (k === "number" && Number.isInteger(v))) return undefined;
      return { field: `${struct}${path}`, found: k, want: "intstr.IntOrString" };
    }
    if (s.oneOf && !s.type) {
      // Quantity: a string or a number.
      if (s.oneOf.some((o) => (o.type === "string" && k === "string") || ((o.type === "number" || o.type === "integer") && k === "number"))) return undefined;
      return { field: `${struct}${path}`, found: k, want: named ?? "interface {}" };
    }
    if (s["x-kubernetes-preserve-unknown-fields"] && !s.properties && !s.additionalProperties) return undefined;
    const fail = (found: string) => ({ field: `${struct}${path}`, found, want: goType(s, resolver, named && s.type === "object" && !s.additionalProperties ? named : undefined) });
    switch (s.type) {
      case "string":
        return k === "string" ? undefined : fail(k);
      case "boolean":
        return k === "bool" ? undefined : fail(k);
      case "integer":
        if (k !== "number") return fail(k);
        return Number.isInteger(v) ? undefined : fail(`number ${String(v)}`);
      case "number":
        return k === "number" ? undefined : fail(k);
      case "array": {
        if (k !== "array") return fail(k);
        const arr = v as unknown[];
        const itemType = resolver.resolve(s.items)?.type;
        for (let i = 0; i < arr.length; i++) {
          // Go decodes a null element of a list of structs as the empty struct; so do we (validation then names what is missing).
          if (arr[i] === null && itemType === "object") arr[i] = {};
          const r = walk(arr[i], s.items, `${path}[${i}]`, struct, depth + 1);
          if (r) return r;
        }
        return undefined;
      }
      case "object": {
        if (k !== "object") return fail(k);
        const o = v as Record<string, unknown>;
        const inner = named && !s.additionalProperties ? named : struct;
        for (const [key, val] of Object.entries(o)) {
          const child = s.properties?.[key] ?? (typeof s.additionalProperties === "object" ? s.additionalProperties : undefined);
          if (!child) continue; // unknown fields are strict validation's business
          const isProp = Boolean(s.properties?.[key]);
          const r = walk(val, child, isProp ? `${path}.${key}` : `${path}[${key}]`, isProp ? inner : struct, depth + 1);
          if (r) return r;
        }
        return undefined;
      }
      default:
        return undefined;
    }
  };
  return walk(value, root, "", rootName, 0);
}

/** The 400 kube-apiserver sends when a body does not decode: `<Kind> in version "v1" cannot be handled as a <Kind>: json: ...`. */
export function decodeError(kind: string, version: string, m: TypeMismatch): StatusError {
  return badRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: json: cannot unmarshal ${m.found} into Go struct field ${m.field} of type ${m.want}`);
}
