// Book 11.2 and 12.3: merging an applied configuration into the live object — fields merge one by
// one, keyed lists by key and sets by value, while atomic lists and maps are replaced whole.
import { fieldPE, type Path, type PathElement } from "./fieldpath.js";
import { indexList } from "./list-items.js";
import { shapeOf, type ListShape, type MapShape, type TypeRef } from "./schema-shape.js";
import { isEmptyContainer, isObject, type JsonObject } from "./value.js";

/**
 * Decides what an explicit `null` in the configuration does to the field at `path` (name `key`):
 * "drop" removes the field, "keep-live" leaves the live value alone.
 */
export type NullPolicy = (path: Path, key: string) => "drop" | "keep-live";

const dropNulls: NullPolicy = () => "drop";

/**
 * `rhs` merged into `lhs`: the configuration's values win, fields only the live object has stay.
 * Throws TypedError when the configuration repeats a key in a keyed list or set.
 */
export function merge(lhs: unknown, rhs: unknown, t: TypeRef, nulls: NullPolicy = dropNulls): unknown {
  return m([], lhs, rhs, t, nulls);
}

function m(path: Path, l: unknown, r: unknown, t: TypeRef, nulls: NullPolicy): unknown {
  if (r === undefined) return l;
  const sr = shapeOf(t, r);
  const sl = l === undefined || l === null ? sr : shapeOf(t, l);
  if (sr.kind === "scalar" || sr.kind !== sl.kind) return r;
  if (isEmptyContainer(l) && isEmptyContainer(r)) return r;
  if (sr.kind === "list") {
    if (sr.listType === "atomic") return r;
    return mergeList(path, l, r, sr, nulls);
  }
  if (sr.atomic) return r;
  return mergeMap(path, l, r, sr, nulls);
}

function mergeMap(path: Path, l: unknown, r: unknown, shape: MapShape, nulls: NullPolicy): unknown {
  const lo: JsonObject = isObject(l) ? l : {};
  const ro: JsonObject = isObject(r) ? r : {};
  const out: JsonObject = {};
  const keys = [...Object.keys(lo), ...Object.keys(ro).filter((k) => !Object.prototype.hasOwnProperty.call(lo, k))];
  for (const k of keys) {
    const lv = lo[k];
    const rv = ro[k];
    if (rv === null && !shape.nullable(k)) {
      if (nulls(path, k) === "keep-live" && lv !== undefined) out[k] = lv;
      continue;
    }
    const v = m([...path, fieldPE(k)], lv, rv, shape.field(k).type, nulls);
    if (v !== undefined) out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Keyed/set lists: elements present on both sides are merged; the configuration's elements come in
 * its order, and elements only the live list has keep their place relative to the shared ones.
 */
function mergeList(path: Path, l: unknown, r: unknown, shape: ListShape, nulls: NullPolicy): unknown {
  const ri = indexList(shape, r, path, false);
  const li = indexList(shape, l, path, true);
  const lItems = Array.isArray(l) ? l : [];
  const rKeys = ri.keys;
  const lKeys = li.keys;
  const out: unknown[] = [];
  const emit = (pe: PathElement, lv: unknown, rv: unknown) => {
    const v = m([...path, pe], lv, rv, shape.item, nulls);
    if (v !== undefined) out.push(v);
  };
  // Live value for a shared key; duplicated live elements are replaced by the configured one.
  const liveFor = (key: string) => {
    const e = li.byKey.get(key);
    return e && e.items.length === 1 ? e.items[0] : undefined;
  };
  const shared = rKeys.filter((k) => li.byKey.has(k));
  let next = 0; // index into `shared` of the next shared key expected in configuration order
  const merged = new Set<string>();
  let lI = 0;
  let rI = 0;
  while (lI < lKeys.length || rI < rKeys.length) {
    if (lI < lKeys.length && rI < rKeys.length) {
      const lk = lKeys[lI]!;
      if (lk === rKeys[rI]) {
        merged.add(lk);
        emit(ri.byKey.get(lk)!.pe, liveFor(lk), ri.byKey.get(lk)!.items[0]);
        lI++;
        rI++;
        next++;
        continue;
      }
      // A shared element met early in the live list waits for its turn in configuration order.
      if (ri.byKey.has(lk) && next < shared.length && shared[next] !== lk) {
        lI++;
        continue;
      }
    }
    if (lI < lKeys.length) {
      const lk = lKeys[lI]!;
      if (!ri.byKey.has(lk)) {
        emit(li.byKey.get(lk)!.pe, lItems[lI], undefined);
        lI++;
        continue;
      }
      if (merged.has(lk)) lI++;
    }
    if (rI < rKeys.length) {
      const rk = rKeys[rI]!;
      merged.add(rk);
      emit(ri.byKey.get(rk)!.pe, liveFor(rk), ri.byKey.get(rk)!.items[0]);
      rI++;
      if (next < shared.length && shared[next] === rk) next++;
    }
  }
  return out.length > 0 ? out : undefined;
}
