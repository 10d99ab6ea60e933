// Book 12.2/12.3: etcd's key-range convention, shared by range, delete, compare, watch and history.
// No range end means one key; "\0" means every key >= key; otherwise the half-open range [key, end).
import type { Bytes } from "../types.js";

export interface KeyRange {
  key: Bytes;
  /** null: just `key`. "": no upper bound. Otherwise the exclusive upper bound. */
  end: Bytes | null;
}

export function keyRange(key: Bytes, rangeEnd?: Bytes | null): KeyRange {
  if (rangeEnd === undefined || rangeEnd === null || rangeEnd === "") return { key, end: null };
  if (rangeEnd === "\0") return { key, end: "" };
  return { key, end: rangeEnd };
}

export function inRange(r: KeyRange, k: Bytes): boolean {
  if (r.end === null) return k === r.key;
  return k >= r.key && (r.end === "" || k < r.end);
}

/** True when a bounded range can hold no key (end <= key); etcd then matches nothing. */
export function isEmptyRange(r: KeyRange): boolean {
  return r.end !== null && r.end !== "" && r.key >= r.end;
}

/** First index in a sorted array whose element is >= k. */
export function lowerBound(sorted: readonly string[], k: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
