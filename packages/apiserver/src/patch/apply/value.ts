// Book 11.2 and 12.3: plain JSON values as server-side apply sees them — deep equality, the total
// order structured-merge-diff uses to sort list keys, Go-compatible JSON text, and path rendering.
import { copyJson } from "../../registry/json-copy.js";

export type JsonObject = { [key: string]: unknown };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** null, {} and [] all count as "empty" when comparing or merging containers. */
export function isEmptyContainer(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObject(v)) return Object.keys(v).length === 0;
  return false;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    for (const k of ka) if (!(k in b) || !deepEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

export function clone<T>(v: T): T {
  return copyJson(v);
}

/** Compares strings by Unicode code point, which is the byte order of their UTF-8 form (Go's order). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  // Where the first difference is between two characters below the surrogate range, code unit
  // order is code point order: decide there without walking code points (the usual case).
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x < y ? -1 : 1;
    return compareCodePoints(a, b);
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

/** Rank of a value's type in structured-merge-diff's order: numbers, strings, booleans, lists, maps, null. */
function typeRank(v: unknown): number {
  if (typeof v === "number") return 0;
  if (typeof v === "string") return 1;
  if (typeof v === "boolean") return 2;
  if (Array.isArray(v)) return 3;
  if (isObject(v)) return 4;
  return 5;
}

/** A total order over JSON values (used to sort set members and list keys). */
export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 1:
      return compareStrings(a as string, b as string);
    case 2:
      return a === b ? 0 : a === false ? -1 : 1;
    case 3: {
      const la = a as unknown[];
      const lb = b as unknown[];
      for (let i = 0; i < Math.min(la.length, lb.length); i++) {
        const c = compareValues(la[i], lb[i]);
        if (c !== 0) return c;
      }
      return la.length - lb.length < 0 ? -1 : la.length === lb.length ? 0 : 1;
    }
    case 4: {
      const ka = Object.keys(a as JsonObject).sort(compareStrings);
      const kb = Object.keys(b as JsonObject).sort(compareStrings);
      for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
        const c = compareStrings(ka[i]!, kb[i]!);
        if (c !== 0) return c;
        const d = compareValues((a as JsonObject)[ka[i]!], (b as JsonObject)[kb[i]!]);
        if (d !== 0) return d;
      }
      return ka.length - kb.length < 0 ? -1 : ka.length === kb.length ? 0 : 1;
    }
    default:
      return 0;
  }
}

/** Escapes the characters Go's encoding/json escapes for HTML safety, so keys match what Kubernetes writes. */
const GO_ESCAPED = /[<>&\u2028\u2029]/;

function goEscape(json: string): string {
  if (!GO_ESCAPED.test(json)) return json;
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** JSON text as Go writes it: object keys sorted, `<>&` escaped, no spaces. */
export function goJSON(v: unknown): string {
  // Strings (most list keys) have no keys to sort.
  if (typeof v === "string") return goEscape(JSON.stringify(v));
  return goEscape(JSON.stringify(sortKeys(v)) ?? "null");
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v).sort(compareStrings)) if (v[k] !== undefined) out[k] = sortKeys(v[k]);
    return out;
  }
  return v;
}

/** A value as it appears inside a rendered field path: strings quoted, numbers and booleans bare. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(formatValue).join(",")}]`;
  if (isObject(v)) {
    return Object.keys(v)
      .sort(compareStrings)
      .map((k) => `${k}=${formatValue(v[k])}`)
      .join("");
  }
  return String(v);
}
