// Book 11.2 and 12.3: copying API objects cheaply — every write copies the object a few times (the
// stored state must never be changed in place), so the copy is a plain walk over JSON values.

/**
 * A deep copy of a JSON-shaped value: plain objects and arrays are copied, everything else that
 * JSON can hold is returned as is. It gives the same result as structuredClone for such values
 * but is several times faster, since structuredClone serializes and deserializes the whole value.
 * Anything that is not plain JSON (a Date, a Map, a class instance) is handed to structuredClone,
 * so callers never get less than before.
 */
export function copyJson<T>(v: T): T {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = copyJson(v[i]);
    return out as T;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return structuredClone(v);
  const src = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(src)) {
    // A key named "__proto__" (JSON.parse makes it an ordinary own key) must stay a key: plain
    // assignment would change the copy's prototype instead.
    if (k === "__proto__") Object.defineProperty(out, k, { value: copyJson(src[k]), enumerable: true, writable: true, configurable: true });
    else out[k] = copyJson(src[k]);
  }
  return out as T;
}
