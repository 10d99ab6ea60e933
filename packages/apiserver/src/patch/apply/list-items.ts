// Book 11.2 and 12.3: how an element of a set- or map-list is named in a field path — by its value
// (`v:"x"`) or by its key fields (`k:{"containerPort":80,"protocol":"TCP"}`, schema defaults filled in).
import { formatPath, keyPE, serializePE, valuePE, type Path, type PathElement } from "./fieldpath.js";
import type { ListShape } from "./schema-shape.js";
import { isObject } from "./value.js";

/** An object that does not fit its schema's list rules (missing keys, duplicates, nulls in sets). */
export class TypedError extends Error {
  readonly path: Path;
  constructor(
    path: Path,
    readonly detail: string,
  ) {
    super(path.length === 0 ? detail : `${formatPath(path)}: ${detail}`);
    this.name = "TypedError";
    // A copy: the walker that found the problem reuses its path array.
    this.path = [...path];
  }
}

function goQuoteList(names: readonly string[]): string {
  return `[${names.map((n) => JSON.stringify(n)).join(" ")}]`;
}

/** The path element naming `item`, the `index`th element of the list at `path`. */
export function itemPE(shape: ListShape, item: unknown, path: Path, index: number): PathElement {
  if (shape.keys.length > 0) {
    if (item === null) throw new TypedError(path, `element ${index}: associative list with keys may not have a null element`);
    if (!isObject(item)) throw new TypedError(path, `element ${index}: associative list with keys may not have non-map elements`);
    const fields: [string, unknown][] = [];
    for (const k of shape.keys) {
      if (Object.prototype.hasOwnProperty.call(item, k) && item[k] !== undefined) fields.push([k, item[k]]);
      else {
        const d = shape.keyDefault(k);
        if (d !== undefined) fields.push([k, d]);
      }
    }
    if (fields.length === 0) {
      throw new TypedError(
        path,
        `element ${index}: associative list with keys has an element that omits all key fields ${goQuoteList(shape.keys)} (and doesn't have default values for any key fields)`,
      );
    }
    return keyPE(fields);
  }
  if (isObject(item)) throw new TypedError(path, `element ${index}: associative list without keys has an element that's a map type`);
  if (Array.isArray(item)) throw new TypedError(path, `element ${index}: not supported: associative list with lists as elements`);
  if (item === null || item === undefined) {
    throw new TypedError(path, `element ${index}: associative list without keys has an element that's an explicit null`);
  }
  return valuePE(item);
}

export interface IndexedItem {
  readonly pe: PathElement;
  readonly key: string;
  /** The elements with this key, in list order (more than one only when duplicates are allowed). */
  readonly items: unknown[];
}

export interface IndexedList {
  /** One entry per distinct key, in order of first appearance. */
  readonly order: IndexedItem[];
  readonly byKey: Map<string, IndexedItem>;
  /** The key of each element, by position. */
  readonly keys: string[];
}

/** Names every element; duplicates are an error unless allowed (live objects may hold them). */
export function indexList(shape: ListShape, list: unknown, path: Path, allowDuplicates: boolean): IndexedList {
  const order: IndexedItem[] = [];
  const byKey = new Map<string, IndexedItem>();
  const keys: string[] = [];
  if (!Array.isArray(list)) return { order, byKey, keys };
  list.forEach((item, i) => {
    const pe = itemPE(shape, item, path, i);
    const key = serializePE(pe);
    keys.push(key);
    const seen = byKey.get(key);
    if (seen) {
      if (!allowDuplicates) throw new TypedError(path, `duplicate entries for key ${formatPath([pe])}`);
      seen.items.push(item);
      return;
    }
    const entry = { pe, key, items: [item] };
    byKey.set(key, entry);
    order.push(entry);
  });
  return { order, byKey, keys };
}
