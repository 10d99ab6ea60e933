// Book 11.2 and 12.3: what a write changed — the fields added, modified and removed between the
// old and new object, walked with the schema so keyed list elements are matched by key, not position.
import { FieldSet } from "./fieldset.js";
import { fieldPE, type Path, type PathElement } from "./fieldpath.js";
import { indexList } from "./list-items.js";
import { isStructOrGranularList, shapeOf, type Shape, type TypeRef } from "./schema-shape.js";
import { deepEqual, isEmptyContainer, isObject } from "./value.js";

export interface Comparison {
  readonly added: FieldSet;
  readonly modified: FieldSet;
  readonly removed: FieldSet;
}

/**
 * A struct field or granular list that is absent but whose parent exists. Kubernetes compares Go
 * objects, where such fields always exist (empty), so appearing or vanishing is not by itself a
 * change to them — only their contents are. Maps, atomic values and list elements have no such stand-in.
 */
const ZERO: unique symbol = Symbol("zero value");
type Side = unknown; // a JSON value, undefined (absent) or ZERO

/** Compares two whole objects (or values) of type `t`; throws TypedError on unnameable list elements. */
export function compare(lhs: unknown, rhs: unknown, t: TypeRef): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  // One path array for the whole walk, grown and shrunk as it goes (FieldSet.insert copies what
  // it keeps), instead of a new array for every field visited.
  walk(c, [], lhs, rhs, t);
  return c;
}

const real = (v: Side): unknown => (v === ZERO ? undefined : v);

function kindOf(s: Shape, v: Side): string {
  if (v === undefined || v === ZERO || v === null) return "any";
  return s.kind === "map" && s.atomic ? "leaf" : s.kind === "list" && s.listType === "atomic" ? "leaf" : s.kind;
}

function walk(c: Comparison, path: PathElement[], l: Side, r: Side, t: TypeRef): void {
  const sl = shapeOf(t, real(l));
  const sr = shapeOf(t, real(r));
  const kl = kindOf(sl, l);
  const kr = kindOf(sr, r);
  const shape = kr !== "any" ? sr : sl;
  const kind = kr !== "any" ? kr : kl;
  const mismatch = kl !== "any" && kr !== "any" && kl !== kr;
  const bothEmpty = isEmptyContainer(real(l)) && isEmptyContainer(real(r));
  if (mismatch || kind === "scalar" || kind === "leaf" || bothEmpty || shape.kind === "scalar") {
    leaf(c, path, l, r);
    return;
  }
  if (shape.kind === "map") {
    const lo = isObject(l) ? l : undefined;
    const ro = isObject(r) ? r : undefined;
    const lPresent = l === ZERO || lo !== undefined;
    const rPresent = r === ZERO || ro !== undefined;
    const keys = new Set([...Object.keys(lo ?? {}), ...Object.keys(ro ?? {})]);
    for (const k of keys) {
      const ft = shape.field(k).type;
      let lc: Side = lo?.[k];
      let rc: Side = ro?.[k];
      if (lc === undefined && rc === undefined) continue;
      if (lc === undefined && lPresent && isStructOrGranularList(ft)) lc = ZERO;
      if (rc === undefined && rPresent && isStructOrGranularList(ft)) rc = ZERO;
      path.push(fieldPE(k));
      walk(c, path, lc, rc, ft);
      path.pop();
    }
  } else if (shape.kind === "list") {
    const li = indexList(shape, real(l), path, true);
    const ri = indexList(shape, real(r), path, true);
    const keys = [...li.order.map((e) => e.key), ...ri.order.map((e) => e.key).filter((k) => !li.byKey.has(k))];
    for (const key of keys) {
      const le = li.byKey.get(key);
      const re = ri.byKey.get(key);
      const pe = (le ?? re)!.pe;
      const p = path;
      p.push(pe);
      const ln = le?.items.length ?? 0;
      const rn = re?.items.length ?? 0;
      if (ln <= 1 && rn <= 1) walk(c, p, le?.items[0], re?.items[0], shape.item);
      else if (ln >= 2 && rn >= 2) {
        if (!deepEqual(le!.items, re!.items)) c.modified.insert(p);
      } else if (ln >= 2) {
        if (rn === 1) walk(c, p, undefined, re!.items[0], shape.item);
        c.removed.insert(p);
      } else {
        if (ln === 1) walk(c, p, le!.items[0], undefined, shape.item);
        c.added.insert(p);
      }
      p.pop();
    }
  }
  if (l === undefined) c.added.insert(path);
  else if (r === undefined) c.removed.insert(path);
}

function leaf(c: Comparison, path: Path, l: Side, r: Side): void {
  if (l === ZERO || r === ZERO) {
    const other = l === ZERO ? r : l;
    if (other === ZERO || isEmptyContainer(other)) return;
    if (l === ZERO) c.added.insert(path);
    else c.removed.insert(path);
    return;
  }
  if (l === undefined) c.added.insert(path);
  else if (r === undefined) c.removed.insert(path);
  else if (!deepEqual(l, r)) c.modified.insert(path);
}
