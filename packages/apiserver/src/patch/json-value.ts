// Book 1.6.1 and 11.2: the JSON values a PATCH works on — type tests, own-key access that a key such
// as "__proto__" cannot subvert, deep equality and copying, shared by the three patch algorithms.
import { copyJson } from "../registry/json-copy.js";

/** A decoded JSON object. */
export type JsonObject = { [key: string]: unknown };

/** The JSON type of a value, named as JSON names it. */
export type JsonKind = "object" | "array" | "string" | "number" | "boolean" | "null";

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function jsonKind(v: unknown): JsonKind {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "array";
  switch (typeof v) {
    case "string":
      return "string";
    case "number":
    case "bigint":
      return "number";
    case "boolean":
      return "boolean";
    default:
      return "object";
  }
}

/** True when `key` is an own member of `o` (inherited names such as "constructor" do not count). */
export function hasKey(o: JsonObject, key: string): boolean {
  return Object.hasOwn(o, key);
}

/** The own member `key` of `o`, or undefined. */
export function getKey(o: JsonObject, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** Sets an own data member, also for "__proto__" (a plain assignment would change the prototype). */
export function setKey(o: JsonObject, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    o[key] = value;
  }
}

export function deleteKey(o: JsonObject, key: string): void {
  if (Object.hasOwn(o, key)) delete o[key];
}

/** A deep copy of a JSON value; the copy shares nothing with the input. */
export function cloneJson<T>(v: T): T {
  return copyJson(v);
}

/**
 * Deep equality of two JSON values. Objects are equal when they have the same own keys with equal
 * values; arrays when they have equal elements in the same order. The work is bounded by the size of
 * the smaller value, since the walk stops at the first difference in key count or length.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return (a ?? null) === (b ?? null);
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) {
      if (!Object.hasOwn(b, k) || !deepEqual(a[k], b[k])) return false;
    }
    return true;
  }
  return false;
}

/** Compact JSON text for messages, cut short so that an error never carries a whole document. */
export function preview(v: unknown, max = 200): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
