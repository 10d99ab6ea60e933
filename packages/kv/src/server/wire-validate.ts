// Book 12.3 and 12.6: etcd's v3rpc checks before a request reaches the server: keys given, at most
// max-txn-ops per txn list, no key written twice in a txn (deleted ranges and nested txns count), URLs.
import { Errors } from "../types.js";
import type { ProtoMsg } from "./wire-jsonpb.js";

const list = (m: ProtoMsg, f: string) => (m[f] as ProtoMsg[] | undefined) ?? [];

export function checkRange(r: ProtoMsg): void {
  if (!r.key) throw Errors.emptyKey();
}

export function checkPut(r: ProtoMsg): void {
  if (!r.key) throw Errors.emptyKey();
  if (r.ignore_value && r.value) throw Errors.valueProvided();
  if (r.ignore_lease && r.lease !== undefined && r.lease !== "0") throw Errors.leaseProvided();
}

export function checkDeleteRange(r: ProtoMsg): void {
  if (!r.key) throw Errors.emptyKey();
}

function checkRequestOp(op: ProtoMsg, maxOps: number): void {
  if (op.request_range) return checkRange(op.request_range as ProtoMsg);
  if (op.request_put) return checkPut(op.request_put as ProtoMsg);
  if (op.request_delete_range) return checkDeleteRange(op.request_delete_range as ProtoMsg);
  if (op.request_txn) return checkTxnOps(op.request_txn as ProtoMsg, maxOps);
  throw Errors.keyNotFound(); // an op with no request in it
}

/** Op counts and empty keys; a nested txn may use what its parent's largest list left over. */
function checkTxnOps(t: ProtoMsg, maxOps: number): void {
  const compare = list(t, "compare");
  const success = list(t, "success");
  const failure = list(t, "failure");
  const opc = Math.max(compare.length, success.length, failure.length);
  if (opc > maxOps) throw Errors.tooManyOps();
  for (const c of compare) if (!c.key) throw Errors.emptyKey();
  for (const op of success) checkRequestOp(op, maxOps - opc);
  for (const op of failure) checkRequestOp(op, maxOps - opc);
}

export function checkTxn(t: ProtoMsg, maxOps: number): void {
  checkTxnOps(t, maxOps);
  checkIntervals(list(t, "success"));
  checkIntervals(list(t, "failure"));
}

/** [begin, end): "" as end means "to infinity", as in etcd's adt.StringAffineComparable. */
type Interval = [string, string];

function cmp(a: string, b: string): number {
  if (a === "") return b === "" ? 0 : 1;
  if (b === "") return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** adt.Interval.Compare(...) === 0: a overlaps b. */
function overlaps(a: Interval, b: Interval): boolean {
  if (cmp(a[0], b[0]) < 0 && cmp(a[1], b[0]) <= 0) return false;
  return cmp(a[0], b[1]) < 0;
}

function deletes(dels: Interval[], key: string): boolean {
  const point: Interval = [key, key + "\0"];
  for (const d of dels) if (overlaps(point, d)) return true;
  return false;
}

/** etcd's checkIntervals: the keys put at this level and below, and the ranges deleted. */
function checkIntervals(ops: ProtoMsg[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of ops) {
    const d = op.request_delete_range as ProtoMsg | undefined;
    if (!d) continue;
    const key = (d.key as string | undefined) ?? "";
    const end = (d.range_end as string | undefined) ?? "";
    dels.push(end !== "" ? [key, end] : [key, key + "\0"]);
  }
  const puts = new Set<string>();
  for (const op of ops) {
    const t = op.request_txn as ProtoMsg | undefined;
    if (!t) continue;
    const then = checkIntervals(list(t, "success"));
    const otherwise = checkIntervals(list(t, "failure"));
    for (const k of then.puts) {
      if (puts.has(k) || deletes(dels, k)) throw Errors.duplicateKey();
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      // The same key in a child's then and else is fine: only one of them runs.
      if (puts.has(k) && !then.puts.has(k)) throw Errors.duplicateKey();
      if (deletes(dels, k)) throw Errors.duplicateKey();
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    const p = op.request_put as ProtoMsg | undefined;
    if (!p) continue;
    const k = (p.key as string | undefined) ?? "";
    if (puts.has(k) || deletes(dels, k)) throw Errors.duplicateKey();
    puts.add(k);
  }
  return { puts, dels };
}

const URL_FORM = /^(https?|unixs?):\/\/(?:[^@/?#]*@)?(\[[^\]/?#]*\]|[^:/?#[\]]*):([0-9]*)(?:[?#].*)?$/;

/** etcd's types.NewURLs: at least one URL, each scheme://host:port with no path. */
export function checkPeerURLs(urls: string[]): void {
  if (urls.length === 0) throw Errors.memberBadURLs();
  for (const u of urls) if (!URL_FORM.test(u.trim())) throw Errors.memberBadURLs();
}
