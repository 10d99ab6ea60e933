// Book 11.2 and 12.3: taking fields out of an object by path — how apply deletes the fields a
// manager stopped applying — and the struct-parent bookkeeping that decides which paths count.
import { FieldSet } from "./fieldset.js";
import { fieldPE, type Path, type PathElement } from "./fieldpath.js";
import { itemPE, TypedError } from "./list-items.js";
import { declaredFieldType, entryType, itemType, shapeOf, type TypeRef } from "./schema-shape.js";
import { isObject, type JsonObject } from "./value.js";

/**
 * `value` without the members of `set` (each removed with everything below it). Containers left
 * empty by a removal disappear (undefined); untouched ones are kept as they are.
 */
export function removeItems(value: unknown, set: FieldSet, t: TypeRef): unknown {
  return rm([], value, set, t);
}

function rm(path: Path, v: unknown, set: FieldSet, t: TypeRef): unknown {
  if (set.isEmpty()) return v;
  const shape = shapeOf(t, v);
  if (shape.kind === "scalar") return v;
  if (shape.kind === "list") {
    if (shape.listType === "atomic" || !Array.isArray(v)) return v;
    const out: unknown[] = [];
    v.forEach((item, i) => {
      let pe: PathElement;
      try {
        pe = itemPE(shape, item, path, i);
      } catch (e) {
        if (e instanceof TypedError) {
          out.push(item);
          return;
        }
        throw e;
      }
      if (set.hasMember(pe)) return;
      const sub = set.withPrefix(pe);
      const kept = sub.isEmpty() ? item : rm([...path, pe], item, sub, shape.item);
      if (kept !== undefined) out.push(kept);
    });
    return out.length > 0 ? out : undefined;
  }
  if (shape.atomic || !isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, val] of Object.entries(v)) {
    const pe = fieldPE(k);
    if (set.hasMember(pe)) continue;
    const sub = set.withPrefix(pe);
    const kept = sub.isEmpty() ? val : rm([...path, pe], val, sub, shape.field(k).type);
    if (kept !== undefined) out[k] = kept;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Makes every struct field that has paths below it a member too. A struct field is "owned" by
 * anyone who owns something inside it, which keeps apply from deleting a struct someone still uses.
 */
export function ensureNamedFieldsAreMembers(set: FieldSet, t: TypeRef): FieldSet {
  const out = new FieldSet();
  fill(out, [], set, t);
  return out;
}

function fill(out: FieldSet, prefix: Path, set: FieldSet, t: TypeRef | undefined): void {
  for (const pe of set.memberElements()) out.insert([...prefix, pe]);
  for (const pe of set.childElements()) {
    let ct: TypeRef | undefined;
    if (pe.t === "f" && t) {
      if (declaredFieldType(t, pe.name)) out.insert([...prefix, pe]);
      ct = entryType(t, pe.name);
    } else if (pe.t === "k" && t) {
      ct = itemType(t);
    }
    fill(out, [...prefix, pe], set.withPrefix(pe), ct);
  }
}
