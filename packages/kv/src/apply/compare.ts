// Book 12.3: txn compares (Kubernetes' optimistic concurrency: "mod_revision == N"). Over a range every key
// must match; a missing key compares as zeros, but a VALUE compare on it always fails.
import type { Compare, KeyValue } from "../types.js";
import { keyRange } from "../mvcc/key-range.js";
import type { ReadView } from "../mvcc/store.js";

const ZERO: KeyValue = { key: "", createRevision: 0, modRevision: 0, version: 0, value: "", lease: "0" };

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Lease ids as etcd's int64. */
function int64(id: string | undefined): bigint {
  try {
    return BigInt.asIntN(64, BigInt(id || "0"));
  } catch {
    return 0n;
  }
}

function order(c: Compare, kv: KeyValue): number {
  switch (c.target) {
    case "VALUE": {
      const v = c.value ?? "";
      return kv.value < v ? -1 : kv.value > v ? 1 : 0;
    }
    case "CREATE": return sign(kv.createRevision - (c.createRevision ?? 0));
    case "MOD": return sign(kv.modRevision - (c.modRevision ?? 0));
    case "VERSION": return sign(kv.version - (c.version ?? 0));
    case "LEASE": {
      const a = int64(kv.lease);
      const b = int64(c.lease);
      return a < b ? -1 : a > b ? 1 : 0;
    }
    default: return 0;
  }
}

function holds(c: Compare, kv: KeyValue): boolean {
  const r = order(c, kv);
  switch (c.result) {
    case "EQUAL": return r === 0;
    case "NOT_EQUAL": return r !== 0;
    case "GREATER": return r > 0;
    case "LESS": return r < 0;
    default: return true;
  }
}

export function compareHolds(view: ReadView, c: Compare): boolean {
  const { kvs } = view.rangeKeys(keyRange(c.key, c.rangeEnd), view.rev, Infinity);
  if (kvs.length === 0) return c.target !== "VALUE" && holds(c, ZERO);
  return kvs.every((kv) => holds(c, kv));
}

/** All compares hold (an empty list holds). */
export function comparesHold(view: ReadView, cs: Compare[] | undefined): boolean {
  return (cs ?? []).every((c) => compareHolds(view, c));
}
