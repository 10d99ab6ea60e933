// Book 12.3: a range request (get, list, count) as etcd's applier does it: read at a revision, filter on
// mod/create revision, sort, then cut at limit with `more`; `count` is every key in range.
import { Errors, type KeyValue, type RangeRequest, type RangeResponse, type SortTarget } from "../types.js";
import { keyRange } from "../mvcc/key-range.js";
import type { ReadView } from "../mvcc/store.js";
import { copyKv, header } from "./header.js";

/** etcd's revision checks for a read: future first, then compacted (reading at the floor itself is fine). */
export function readRevision(view: ReadView, requested: number | undefined): number {
  const rev = requested ?? 0;
  if (rev > view.rev) throw Errors.futureRev();
  if (rev <= 0) return view.rev;
  if (rev < view.firstRev) throw Errors.compacted();
  return rev;
}

const byTarget: Record<SortTarget, (a: KeyValue, b: KeyValue) => number> = {
  KEY: (a, b) => cmpStr(a.key, b.key),
  VERSION: (a, b) => a.version - b.version,
  CREATE: (a, b) => a.createRevision - b.createRevision,
  MOD: (a, b) => a.modRevision - b.modRevision,
  VALUE: (a, b) => cmpStr(a.value, b.value),
};

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Throws EtcdError (future or compacted revision). */
export function doRange(view: ReadView, req: RangeRequest): RangeResponse {
  const atRev = readRevision(view, req.revision);
  const limit = req.limit && req.limit > 0 ? req.limit : 0;
  const filtered = !!(req.minModRevision || req.maxModRevision || req.minCreateRevision || req.maxCreateRevision);
  const target = req.sortTarget ?? "KEY";
  // etcd 3.4 decides whether to fetch everything from the order as given, and only then makes a
  // non-key target sort ascending: so with a limit, such a sort orders just the first limit+1 keys.
  const wantAll = (req.sortOrder ?? "NONE") !== "NONE" || filtered;
  let order = req.sortOrder ?? "NONE";
  if (order === "NONE" && target !== "KEY") order = "ASCEND";
  const fetch = req.countOnly ? 0 : limit === 0 || wantAll ? Infinity : limit + 1;
  const r = view.rangeKeys(keyRange(req.key, req.rangeEnd), atRev, fetch);
  let kvs = r.kvs;
  if (filtered) {
    kvs = kvs.filter((kv) =>
      !(req.maxModRevision && kv.modRevision > req.maxModRevision) &&
      !(req.minModRevision && kv.modRevision < req.minModRevision) &&
      !(req.maxCreateRevision && kv.createRevision > req.maxCreateRevision) &&
      !(req.minCreateRevision && kv.createRevision < req.minCreateRevision));
  }
  if (order !== "NONE") {
    const cmp = byTarget[target];
    kvs = [...kvs].sort(order === "ASCEND" ? cmp : (a, b) => cmp(b, a));
  }
  let more = false;
  if (limit > 0 && kvs.length > limit) {
    kvs = kvs.slice(0, limit);
    more = true;
  }
  return {
    header: header(view.rev),
    kvs: kvs.map((kv) => (req.keysOnly ? { ...copyKv(kv), value: "" } : copyKv(kv))),
    more,
    count: r.count,
  };
}
