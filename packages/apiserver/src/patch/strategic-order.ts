// Book 11.2: the element order of a list after a strategic merge patch — the patch's items keep the
// patch's order (or `$setElementOrder`'s), the items only the server had keep the live order, and the
// two are interleaved so that each server-only item stays ahead of the patch items it preceded live.
import { isObject } from "./json-value.js";

/**
 * What identifies a list element: the value itself for scalars, a canonical text for objects and
 * lists. Usable as a Map key, so that lookups stay linear however long the lists are.
 */
export function identityOf(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v !== "object" || v === null) return v;
  return `\u0000${canonical(v)}`;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/** The first position of each identity in a list. */
export function positions(list: readonly unknown[], id: (v: unknown) => unknown): Map<unknown, number> {
  const at = new Map<unknown, number>();
  list.forEach((v, i) => {
    const key = id(v);
    if (!at.has(key)) at.set(key, i);
  });
  return at;
}

/** A stable sort by position in `order`; items that `order` lacks go last, in their own order. */
function sortByOrder(items: readonly unknown[], order: Map<unknown, number>, id: (v: unknown) => unknown): unknown[] {
  const rank = (v: unknown): number => order.get(id(v)) ?? Number.POSITIVE_INFINITY;
  return items
    .map((v, i) => ({ v, i, r: rank(v) }))
    .sort((a, b) => (a.r === b.r ? a.i - b.i : a.r < b.r ? -1 : 1))
    .map((e) => e.v);
}

/**
 * The final order of a merged list. `patchItems` are sorted by `patchOrder`, `serverOnly` by
 * `serverOrder` (the live list); then the two are merged: a server-only item goes first only when
 * both it and the next patch item are in the live list and it came first there. So a patch item the
 * live list lacked lands right after the patch item before it — at the front when it leads the patch.
 */
export function normalizeElementOrder(
  patchItems: readonly unknown[],
  serverOnly: readonly unknown[],
  patchOrder: readonly unknown[],
  serverOrder: readonly unknown[],
  id: (v: unknown) => unknown,
): unknown[] {
  const serverRank = positions(serverOrder, id);
  const right = sortByOrder(patchItems, positions(patchOrder, id), id);
  const left = sortByOrder(serverOnly, serverRank, id);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = serverRank.get(id(left[i]));
      const ri = serverRank.get(id(right[j]));
      if (li !== undefined && ri !== undefined && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** Splits `list` into the items whose identity is in `members` and the rest, keeping order. */
export function partition(list: readonly unknown[], members: ReadonlySet<unknown>, id: (v: unknown) => unknown): [unknown[], unknown[]] {
  const inside: unknown[] = [];
  const outside: unknown[] = [];
  for (const v of list) (members.has(id(v)) ? inside : outside).push(v);
  return [inside, outside];
}
