// Book 11.2: reading untyped API objects safely — the API server sees objects as JSON, so the
// per-kind strategies use these small accessors instead of trusting any field's type.
import { isDeepStrictEqual } from "node:util";
import { copyJson } from "../registry/json-copy.js";

export type JsonObject = Record<string, unknown>;

export function isObj(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The value as an object, or undefined when it is anything else. */
export function obj(v: unknown): JsonObject | undefined {
  return isObj(v) ? v : undefined;
}

/** The value as an array, or [] when it is anything else. */
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The array's object elements with their original indexes (non-objects are skipped). */
export function objects(v: unknown): Array<[JsonObject, number]> {
  const out: Array<[JsonObject, number]> = [];
  arr(v).forEach((e, i) => {
    if (isObj(e)) out.push([e, i]);
  });
  return out;
}

export function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** The string, or "" for anything else. */
export function s(v: unknown): string {
  return typeof v === "string" ? v : "";
}

export function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

export function bool(v: unknown): boolean | undefined {
  return typeof v === "boolean" ? v : undefined;
}

/** A string-to-string map (labels, annotations, selectors); non-string values are dropped. */
export function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObj(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === "string") out[k] = val;
  return out;
}

/** Follows object keys; undefined as soon as a step is not an object. */
export function get(root: unknown, ...path: string[]): unknown {
  let cur: unknown = root;
  for (const k of path) {
    if (!isObj(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** The child object at `key`, created (or replaced, when not an object) for defaulting. */
export function ensureObj(parent: JsonObject, key: string): JsonObject {
  const cur = parent[key];
  if (isObj(cur)) return cur;
  const fresh: JsonObject = {};
  parent[key] = fresh;
  return fresh;
}

/** Sets `parent[key] = value` only when the key is absent or null (defaulting's rule). */
export function setDefault(parent: JsonObject, key: string, value: unknown): void {
  if (parent[key] === undefined || parent[key] === null) parent[key] = value;
}

/** Like setDefault, but an empty string also counts as unset (Go's zero value for strings). */
export function setDefaultStr(parent: JsonObject, key: string, value: string): void {
  if (parent[key] === undefined || parent[key] === null || parent[key] === "") parent[key] = value;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b);
}

/**
 * Equality the way Kubernetes compares decoded objects: absent, null, empty string, empty list,
 * empty map, zero and false all mean "unset", so `{}` equals `{ a: [] }`.
 */
export function semanticEqual(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(normalize(a), normalize(b));
}

function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map(normalize);
  if (isObj(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v).sort()) {
      const n = normalize(v[k]);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  if (v === null || v === "" || v === 0 || v === false) return undefined;
  return v;
}

export function clone<T>(v: T): T {
  return copyJson(v);
}
