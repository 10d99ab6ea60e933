// Book 11.2: strategic merge patch (`Content-Type: application/strategic-merge-patch+json`), the patch
// `kubectl apply`, `kubectl edit`, `kubectl set image` and plain `kubectl patch` send — a merge patch
// whose lists know how to merge, led by each field's patch strategy and merge key in the schema.
//
// The rules, as k8s.io/apimachinery's strategicpatch applies a patch on the server:
// - maps merge member by member; null removes a member; a field with strategy "replace" is replaced;
// - a list with strategy "merge" merges: maps by their merge key (an unmatched patch element is added;
//   see strategic-order.ts for where), scalars as a set; any other list is replaced whole;
// - directives, all removed from the result:
//   `$patch: replace` in a map replaces the map, `$patch: delete` empties it;
//   a list element `{$patch: delete, <key>: v}` removes the elements with that key, and an element
//   `{$patch: replace}` makes the rest of the patch list the whole list;
//   `$retainKeys: [...]` clears every member of the live map that it does not name;
//   `$setElementOrder/<list>: [...]` gives the final order of the items it names;
//   `$deleteFromPrimitiveList/<list>: [...]` removes those scalars from a list.
// Where the schema says nothing (an unknown field, or a schema that keeps unknown fields), maps merge
// and lists are replaced, as in a JSON merge patch.
import type { StatusError } from "@corekube/api";
import type { Schema, SchemaResolver } from "../schema/types.js";
import { goJsonType, patchMalformed, patchNotApplicable } from "./errors.js";
import {
  cloneJson,
  deleteKey,
  getKey,
  hasKey,
  isObject,
  jsonKind,
  preview,
  setKey,
  type JsonKind,
  type JsonObject,
} from "./json-value.js";
import { fieldPatchMeta, listItemSchema, type FieldPatchMeta } from "./strategic-meta.js";
import { identityOf, normalizeElementOrder, partition, positions } from "./strategic-order.js";

const PATCH = "$patch";
const RETAIN_KEYS = "$retainKeys";
const ORDER_PREFIX = "$setElementOrder";
const DELETE_PREFIX = "$deleteFromPrimitiveList";

/** Marks a patch value that, once its directives are applied, leaves nothing behind. */
const DROP: unique symbol = Symbol("drop");

/**
 * Applies a strategic merge patch to `doc` (an object) and returns the patched copy; neither input
 * is modified. `schema` is the object's root schema node (undefined: no patch metadata at all).
 * Throws 400 BadRequest for a malformed patch or directive and 422 Invalid for a patch that does not
 * fit the object (e.g. a merge list whose elements are of different types). A null patch changes
 * nothing, as upstream.
 */
export function applyStrategicMergePatch(
  doc: unknown,
  patch: unknown,
  schema: Schema | undefined,
  resolver: SchemaResolver,
): unknown {
  if (patch === null || patch === undefined) return cloneJson(doc);
  if (!isObject(patch)) {
    throw patchMalformed(`json: cannot unmarshal ${goJsonType(patch)} into Go value of type map[string]interface {}`);
  }
  const original: JsonObject = isObject(doc) ? cloneJson(doc) : {};
  return new StrategicMerger(resolver).mergeMap(original, patch, resolver.resolve(schema), "");
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function at(path: string): string {
  return path === "" ? "" : ` at ${path}`;
}

function isDirectiveKey(key: string): boolean {
  return key === PATCH || key === RETAIN_KEYS || key.startsWith(ORDER_PREFIX) || key.startsWith(DELETE_PREFIX);
}

function unknownPatchType(directive: unknown, holder: JsonObject, path: string): StatusError {
  return patchMalformed(`unknown patch type: ${preview(directive)} in map: ${preview(holder)}${at(path)}`);
}

/** The list a `$setElementOrder/<list>` or `$deleteFromPrimitiveList/<list>` key is about. */
function directiveTarget(key: string, prefix: string, path: string): string {
  const slash = key.indexOf("/");
  if (slash < 0 || key.slice(0, slash) !== prefix) {
    const what = prefix === ORDER_PREFIX ? "setElementOrder list" : "primitive list";
    throw patchMalformed(`invalid patch format of ${what}: ${JSON.stringify(key)} is not "${prefix}/<field>"${at(path)}`);
  }
  return key.slice(slash + 1);
}

/** One patch application. Works in place on `original`, a private copy; never writes to the patch. */
class StrategicMerger {
  constructor(private readonly resolver: SchemaResolver) {}

  /** Merges a patch map into an original map described by `node`. */
  mergeMap(original: JsonObject, patch: JsonObject, node: Schema | undefined, path: string): JsonObject {
    if (hasKey(patch, PATCH)) {
      const directive = patch[PATCH];
      if (directive === "replace") return this.cleanMap(patch, path);
      if (directive === "delete") return {};
      throw unknownPatchType(directive, patch, path);
    }
    const handled = new Set<string>([RETAIN_KEYS]);
    if (hasKey(patch, RETAIN_KEYS)) this.retainKeys(original, patch, path);
    for (const key of Object.keys(patch)) {
      if (!key.startsWith(ORDER_PREFIX)) continue;
      handled.add(key);
      const list = this.applyElementOrder(original, patch, key, node, path);
      if (list !== undefined) handled.add(list);
    }
    const deletions: string[] = [];
    for (const key of Object.keys(patch)) {
      if (handled.has(key)) continue;
      if (key.startsWith(DELETE_PREFIX)) deletions.push(key);
      else this.mergeField(original, key, patch[key], node, path);
    }
    // Removals from scalar lists come after the additions, whatever the order of the keys.
    for (const key of deletions) this.deleteFromList(original, directiveTarget(key, DELETE_PREFIX, path), patch[key], path);
    return original;
  }

  private mergeField(original: JsonObject, key: string, value: unknown, node: Schema | undefined, path: string): void {
    const fieldPath = join(path, key);
    if (value === null || value === undefined) {
      deleteKey(original, key);
      return;
    }
    if (hasKey(original, key)) {
      const current = original[key];
      if (isObject(current) && isObject(value)) {
        const meta = fieldPatchMeta(node, key, this.resolver);
        if (!meta.replace) {
          setKey(original, key, this.mergeMap(current, value, meta.schema, fieldPath));
          return;
        }
      } else if (Array.isArray(current) && Array.isArray(value)) {
        const meta = fieldPatchMeta(node, key, this.resolver);
        if (meta.merge) {
          setKey(original, key, this.mergeList(current, value, meta, fieldPath));
          return;
        }
      }
    }
    // New member, different type, scalar, replaced map or atomic list: the patch value wins.
    const cleaned = this.clean(value, fieldPath);
    if (cleaned === DROP) deleteKey(original, key);
    else setKey(original, key, cleaned);
  }

  /** `$retainKeys`: the patch may only set listed members, and unlisted live members go. */
  private retainKeys(original: JsonObject, patch: JsonObject, path: string): void {
    const list = patch[RETAIN_KEYS];
    if (!Array.isArray(list)) {
      throw patchMalformed(`invalid patch format of retainKeys: $retainKeys${at(path)} must be a list of field names, not ${preview(list)}`);
    }
    const keep = new Set(list.filter((k): k is string => typeof k === "string"));
    for (const key of Object.keys(patch)) {
      if (key === RETAIN_KEYS || patch[key] === null || key.startsWith(DELETE_PREFIX) || key.startsWith(ORDER_PREFIX)) continue;
      if (!keep.has(key)) {
        throw patchMalformed(`invalid patch format of retainKeys: ${JSON.stringify(key)} is set by the patch but not listed in $retainKeys${at(path)}`);
      }
    }
    for (const key of Object.keys(original)) if (!keep.has(key)) deleteKey(original, key);
  }

  /**
   * `$setElementOrder/<list>`: merges the patch's list (if any) into the live one, then orders the
   * result. Returns the list's key when it has been dealt with here, so the caller skips it.
   */
  private applyElementOrder(original: JsonObject, patch: JsonObject, orderKey: string, node: Schema | undefined, path: string): string | undefined {
    const listKey = directiveTarget(orderKey, ORDER_PREFIX, path);
    const listPath = join(path, listKey);
    const order = patch[orderKey];
    if (!Array.isArray(order)) {
      throw patchMalformed(`invalid patch format of setElementOrder list: ${orderKey}${at(path)} must be a list, not ${preview(order)}`);
    }
    let patchList: unknown[] | undefined;
    if (hasKey(patch, listKey)) {
      const v = patch[listKey];
      if (v === null) return undefined; // the list itself is removed; its order is moot
      if (!Array.isArray(v)) throw patchMalformed(`invalid patch format of setElementOrder list: ${listPath} in the patch is not a list`);
      patchList = v;
    }
    const current = getKey(original, listKey);
    const liveList = Array.isArray(current) ? current : undefined;
    const meta = fieldPatchMeta(node, listKey, this.resolver);
    this.validateOrder(patchList ?? [], order, meta.mergeKey, listPath, orderKey);

    let merged: unknown[];
    let liveView = liveList ?? [];
    if (liveList && patchList && meta.merge) ({ merged, liveView } = this.mergeListWithView(liveList, patchList, meta, listPath));
    else if (patchList) merged = this.cleanList(patchList, listPath);
    else if (liveList) merged = liveList;
    else return undefined;

    const id = this.identity(meta.mergeKey);
    const [named, others] = partition(merged, new Set(order.map(id)), id);
    setKey(original, listKey, normalizeElementOrder(named, others, order, liveView, id));
    return listKey;
  }

  /** The patch list's items must appear in the `$setElementOrder` list, in the same relative order. */
  private validateOrder(patchList: unknown[], order: unknown[], mergeKey: string | undefined, listPath: string, orderKey: string): void {
    if (mergeKey !== undefined) for (const item of order) this.mergeKeyOf(item, mergeKey, listPath);
    if (order.length === 0 || patchList.length === 0) return;
    const items = mergeKey === undefined ? patchList : patchList.filter((el) => !(isObject(el) && getKey(el, PATCH) === "delete"));
    const id = (v: unknown): unknown => (mergeKey === undefined ? identityOf(v) : identityOf(this.mergeKeyOf(v, mergeKey, listPath)));
    let p = 0;
    let o = 0;
    while (p < items.length && o < order.length) {
      const item = items[p];
      if (isObject(item) && hasKey(item, PATCH)) {
        p++;
        continue;
      }
      if (id(item) === id(order[o])) p++;
      o++;
    }
    if (p < items.length) {
      throw patchMalformed(
        `invalid patch format of setElementOrder list: the order of ${listPath} in the patch ${preview(patchList)} does not match ${orderKey} ${preview(order)}`,
      );
    }
  }

  /** Merges two lists of a field whose strategy is "merge". */
  private mergeList(original: unknown[], patch: unknown[], meta: FieldPatchMeta, path: string): unknown[] {
    return this.mergeListWithView(original, patch, meta, path).merged;
  }

  /**
   * Merges two lists of a field whose strategy is "merge". Also returns `liveView`, the live order
   * that a `$setElementOrder` of the same list then uses to place server-only items: upstream merges
   * in place, so that order is the live list after the deletions, followed by the added items, cut
   * to the live list's length. (With nothing deleted it is the live list as it was.)
   */
  private mergeListWithView(original: unknown[], patch: unknown[], meta: FieldPatchMeta, path: string): { merged: unknown[]; liveView: unknown[] } {
    if (original.length === 0 && patch.length === 0) return { merged: original, liveView: original };
    const kind = this.elementKind(original, patch, path);
    if (kind !== "object") {
      // A set of scalars: the union, without duplicates.
      const seen = new Set<unknown>();
      const union = [...original, ...patch].filter((v) => {
        const k = identityOf(v);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
      const [fromPatch, serverOnly] = partition(union, new Set(patch.map(identityOf)), identityOf);
      return { merged: normalizeElementOrder(fromPatch, serverOnly, patch, original, identityOf), liveView: original };
    }

    const mergeKey = meta.mergeKey;
    if (mergeKey === undefined) throw patchNotApplicable(`cannot merge lists without merge key for ${path}`, path);
    // `view` plays the live list's storage: a deletion shifts the rest left and leaves the last slot as it was.
    const view = original.slice();
    let liveLength = view.length;
    const plain: JsonObject[] = [];
    let replace = false;
    for (const el of patch as JsonObject[]) {
      if (!hasKey(el, PATCH)) {
        plain.push(el);
        continue;
      }
      const directive = el[PATCH];
      if (directive === "delete") {
        const gone = identityOf(this.mergeKeyOf(el, mergeKey, path));
        for (let i = 0; i < liveLength; ) {
          const x = view[i];
          if (isObject(x) && hasKey(x, mergeKey) && identityOf(x[mergeKey]) === gone) {
            view.copyWithin(i, i + 1, liveLength);
            liveLength--;
          } else {
            i++;
          }
        }
      } else if (directive === "replace") {
        replace = true;
      } else if (directive === "merge") {
        throw patchMalformed(`merging lists cannot yet be specified in the patch${at(path)}`);
      } else {
        throw unknownPatchType(directive, el, path);
      }
    }
    if (replace) return { merged: plain.map((el) => this.cleanMap(el, path)), liveView: view };

    const live = view.slice(0, liveLength);
    const itemSchema = listItemSchema(meta.schema, this.resolver);
    const id = this.identity(mergeKey);
    const merged = live.slice();
    const index = positions(merged, id);
    for (const el of plain) {
      const keyValue = this.mergeKeyOf(el, mergeKey, path);
      const elPath = `${path}[${mergeKey}=${typeof keyValue === "string" ? keyValue : preview(keyValue)}]`;
      const pos = index.get(identityOf(keyValue));
      if (pos !== undefined) {
        merged[pos] = this.mergeMap(merged[pos] as JsonObject, el, itemSchema, elPath);
      } else {
        index.set(identityOf(keyValue), merged.length);
        merged.push(this.cleanMap(el, elPath));
        if (merged.length <= view.length) view[merged.length - 1] = merged[merged.length - 1];
      }
    }
    const [fromPatch, serverOnly] = partition(merged, new Set(plain.map(id)), id);
    return { merged: normalizeElementOrder(fromPatch, serverOnly, plain, live, id), liveView: view };
  }

  /** `$deleteFromPrimitiveList/<list>`: removes the given scalars from the live list. */
  private deleteFromList(original: JsonObject, listKey: string, values: unknown, path: string): void {
    if (!Array.isArray(values) || values.some((v) => typeof v === "object" && v !== null)) {
      throw patchMalformed(`invalid patch format of primitive list: ${DELETE_PREFIX}/${listKey}${at(path)} must be a list of scalar values`);
    }
    const current = getKey(original, listKey);
    if (!Array.isArray(current)) return;
    const gone = new Set(values.map(identityOf));
    setKey(original, listKey, current.filter((v) => !gone.has(identityOf(v))));
  }

  /** The one JSON type of every element of both lists; lists of lists are not supported. */
  private elementKind(original: unknown[], patch: unknown[], path: string): JsonKind {
    let kind: JsonKind | undefined;
    for (const list of [original, patch]) {
      for (const v of list) {
        const k = jsonKind(v);
        if (k === "array") throw patchNotApplicable("lists of lists are not supported", path);
        if (kind === undefined) kind = k;
        else if (k !== kind) throw patchNotApplicable(`list element types are not identical: ${kind} and ${k}`, path);
      }
    }
    return kind ?? "null";
  }

  /** What identifies an element: its merge key's value (or, lacking one, the element itself). */
  private identity(mergeKey: string | undefined): (v: unknown) => unknown {
    if (mergeKey === undefined) return identityOf;
    return (v) => (isObject(v) && hasKey(v, mergeKey) ? identityOf(v[mergeKey]) : v);
  }

  private mergeKeyOf(el: unknown, mergeKey: string, path: string): unknown {
    if (!isObject(el) || !hasKey(el, mergeKey)) {
      throw patchMalformed(`map: ${preview(el)} does not contain declared merge key: ${mergeKey}${at(path)}`);
    }
    return el[mergeKey];
  }

  /**
   * A patch value that lands in the result as it is (new member, replaced map or list): directives
   * are applied as if merging into nothing and removed, and null members dropped.
   */
  private clean(value: unknown, path: string): unknown {
    if (Array.isArray(value)) return this.cleanList(value, path);
    if (!isObject(value)) return value;
    if (hasKey(value, PATCH)) {
      const directive = value[PATCH];
      if (directive === "delete") return DROP;
      if (directive !== "replace") throw unknownPatchType(directive, value, path);
    }
    return this.cleanMap(value, path);
  }

  private cleanMap(map: JsonObject, path: string): JsonObject {
    const out: JsonObject = {};
    for (const key of Object.keys(map)) {
      const v = map[key];
      if (isDirectiveKey(key) || v === null || v === undefined) continue;
      const cleaned = this.clean(v, join(path, key));
      if (cleaned !== DROP) setKey(out, key, cleaned);
    }
    return out;
  }

  private cleanList(list: unknown[], path: string): unknown[] {
    const out: unknown[] = [];
    for (const el of list) {
      if (isObject(el) && hasKey(el, PATCH)) {
        const directive = el[PATCH];
        if (directive === "delete" || directive === "replace") continue;
        throw unknownPatchType(directive, el, path);
      }
      out.push(this.clean(el, path));
    }
    return out;
  }
}
