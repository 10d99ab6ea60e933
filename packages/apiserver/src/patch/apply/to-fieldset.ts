// Book 11.2 and 12.3: the fields an applied configuration sets — every leaf, every keyed or set list
// element, every free map key, and atomic lists/maps as single entries; struct fields only as parents.
import { FieldSet } from "./fieldset.js";
import { fieldPE, type Path } from "./fieldpath.js";
import { indexList } from "./list-items.js";
import { shapeOf, type TypeRef } from "./schema-shape.js";
import { isObject } from "./value.js";

/** The field set of `value`; throws TypedError on elements a keyed list cannot name, or duplicates. */
export function toFieldSet(value: unknown, t: TypeRef, allowDuplicates = false): FieldSet {
  const set = new FieldSet();
  walk(set, [], value, t, allowDuplicates);
  return set;
}

function walk(set: FieldSet, path: Path, v: unknown, t: TypeRef, dup: boolean): void {
  const shape = shapeOf(t, v);
  if (shape.kind === "scalar") {
    set.insert(path);
    return;
  }
  if (shape.kind === "list") {
    if (shape.listType === "atomic") {
      set.insert(path);
      return;
    }
    if (!Array.isArray(v)) return;
    const idx = indexList(shape, v, path, dup);
    for (const entry of idx.order) {
      const p = [...path, entry.pe];
      // Duplicated elements are owned as a whole: their insides cannot be told apart.
      if (entry.items.length === 1) walk(set, p, entry.items[0], shape.item, dup);
      set.insert(p);
    }
    return;
  }
  if (shape.atomic) {
    set.insert(path);
    return;
  }
  if (!isObject(v)) return;
  for (const [k, val] of Object.entries(v)) {
    if (val === undefined) continue;
    const f = shape.field(k);
    const p = [...path, fieldPE(k)];
    walk(set, p, val, f.type, dup);
    if (val === null || (isObject(val) && Object.keys(val).length === 0) || !f.declared) set.insert(p);
  }
}
