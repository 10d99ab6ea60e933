// Book 11.2 and 12.3: one step of a path into an object, as managedFields records it — a field
// name (`f:`), a keyed list element (`k:`), a set member (`v:`) or a list position (`i:`).
import { compareStrings, compareValues, formatValue, goJSON, isObject } from "./value.js";

export type PathElement =
  | { readonly t: "f"; readonly name: string }
  | { readonly t: "k"; readonly fields: readonly (readonly [string, unknown])[] }
  | { readonly t: "v"; readonly value: unknown }
  | { readonly t: "i"; readonly index: number };

export type Path = readonly PathElement[];

export const fieldPE = (name: string): PathElement => ({ t: "f", name });
export const valuePE = (value: unknown): PathElement => ({ t: "v", value });
export const indexPE = (index: number): PathElement => ({ t: "i", index });
/** A keyed element; the key fields are kept sorted by name. */
export function keyPE(fields: Iterable<readonly [string, unknown]>): PathElement {
  const sorted = [...fields].sort((a, b) => compareStrings(a[0], b[0]));
  return { t: "k", fields: sorted };
}

const rank = { f: 0, k: 1, v: 2, i: 3 } as const;

/** The order of path elements in a set: fields, then keys, then values, then indexes. */
export function comparePE(a: PathElement, b: PathElement): number {
  if (a.t !== b.t) return rank[a.t] < rank[b.t] ? -1 : 1;
  switch (a.t) {
    case "f":
      return compareStrings(a.name, (b as typeof a).name);
    case "v":
      return compareValues(a.value, (b as typeof a).value);
    case "i": {
      const j = (b as typeof a).index;
      return a.index < j ? -1 : a.index > j ? 1 : 0;
    }
    case "k": {
      const x = a.fields;
      const y = (b as typeof a).fields;
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareStrings(x[i]![0], y[i]![0]);
        if (c !== 0) return c;
        const d = compareValues(x[i]![1], y[i]![1]);
        if (d !== 0) return d;
      }
      return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
    }
  }
}

/** Keys of list elements, remembered per element: a set asks for the same one at every level below it. */
const peKeys = new WeakMap<PathElement, string>();

/** The FieldsV1 key of an element: `f:name`, `k:{"name":"web"}`, `v:"x"`, `i:0`. */
export function serializePE(pe: PathElement): string {
  if (pe.t === "f") return `f:${pe.name}`;
  let key = peKeys.get(pe);
  if (key === undefined) {
    key = computeKey(pe);
    peKeys.set(pe, key);
  }
  return key;
}

function computeKey(pe: PathElement): string {
  switch (pe.t) {
    case "f":
      return `f:${pe.name}`;
    case "v":
      return `v:${goJSON(pe.value)}`;
    case "i":
      return `i:${pe.index}`;
    case "k":
      return `k:{${pe.fields.map(([k, v]) => `${goJSON(k)}:${goJSON(v)}`).join(",")}}`;
  }
}

export class PathElementError extends Error {}

/**
 * Parses a FieldsV1 key. Returns undefined for a prefix we do not know (upstream drops such keys
 * so that newer servers' formats do not break older ones); throws PathElementError when malformed.
 */
export function parsePE(s: string): PathElement | undefined {
  if (s.length < 2) throw new PathElementError(`key must be 2 characters long: ${JSON.stringify(s)}`);
  if (s[1] !== ":") throw new PathElementError(`missing colon: ${s}`);
  const body = s.slice(2);
  switch (s[0]) {
    case "f":
      return fieldPE(body);
    case "v":
      return valuePE(parseJSON(body, s));
    case "i": {
      if (!/^-?\d+$/.test(body)) throw new PathElementError(`invalid index in ${JSON.stringify(s)}`);
      return indexPE(Number(body));
    }
    case "k": {
      const obj = parseJSON(body, s);
      if (!isObject(obj)) throw new PathElementError(`key element is not a JSON object: ${s}`);
      return keyPE(Object.entries(obj));
    }
    default:
      return undefined;
  }
}

function parseJSON(text: string, whole: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new PathElementError(`invalid JSON in ${JSON.stringify(whole)}: ${(e as Error).message}`);
  }
}

/** An element as Kubernetes prints it in conflict messages: `.image`, `[name="web"]`, `[="x"]`, `[0]`. */
export function formatPE(pe: PathElement): string {
  switch (pe.t) {
    case "f":
      return `.${pe.name}`;
    case "k":
      return `[${pe.fields.map(([k, v]) => `${k}=${formatValue(v)}`).join(",")}]`;
    case "v":
      return `[=${formatValue(pe.value)}]`;
    case "i":
      return `[${pe.index}]`;
  }
}

/** `.spec.template.spec.containers[name="web"].image` */
export function formatPath(path: Path): string {
  return path.map(formatPE).join("");
}
