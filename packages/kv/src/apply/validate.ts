// Book 12.3/12.6: etcd's gRPC-layer request checks (keys present, <= 128 ops, no key written twice, ignore_*
// used right). The server runs them before Raft; the state machine again, so a bad entry never applies.
import { Errors, Limits, type DeleteRangeRequest, type EtcdError, type PutRequest, type RangeRequest, type RequestOp, type TxnRequest } from "../types.js";

export function checkRange(r: RangeRequest): EtcdError | undefined {
  if (!r.key) return Errors.emptyKey();
  return undefined;
}

export function checkPut(r: PutRequest): EtcdError | undefined {
  if (!r.key) return Errors.emptyKey();
  if (r.ignoreValue && r.value) return Errors.valueProvided();
  if (r.ignoreLease && r.lease && r.lease !== "0") return Errors.leaseProvided();
  return undefined;
}

export function checkDelete(r: DeleteRangeRequest): EtcdError | undefined {
  if (!r.key) return Errors.emptyKey();
  return undefined;
}

/** etcd's checkTxnRequest followed by its checkIntervals on both branches. */
export function checkTxn(r: TxnRequest, maxTxnOps: number = Limits.maxTxnOps): EtcdError | undefined {
  return checkTxnShape(r, maxTxnOps) ?? overlaps(r.success ?? []).err ?? overlaps(r.failure ?? []).err;
}

function checkTxnShape(r: TxnRequest, maxOps: number): EtcdError | undefined {
  const compare = r.compare ?? [];
  const ops = Math.max(compare.length, r.success?.length ?? 0, r.failure?.length ?? 0);
  if (ops > maxOps) return Errors.tooManyOps();
  for (const c of compare) if (!c.key) return Errors.emptyKey();
  for (const op of [...(r.success ?? []), ...(r.failure ?? [])]) {
    // etcd passes the nested txn what is left of the budget.
    const err = checkOp(op, maxOps - ops);
    if (err) return err;
  }
  return undefined;
}

function checkOp(op: RequestOp, maxOps: number): EtcdError | undefined {
  if ("requestRange" in op && op.requestRange) return checkRange(op.requestRange);
  if ("requestPut" in op && op.requestPut) return checkPut(op.requestPut);
  if ("requestDeleteRange" in op && op.requestDeleteRange) return checkDelete(op.requestDeleteRange);
  if ("requestTxn" in op && op.requestTxn) return checkTxnShape(op.requestTxn, maxOps);
  return Errors.keyNotFound(); // an empty op
}

/** A deleted interval [key, end), or the single key when end is "". etcd compares the raw bytes, so a
 * "\0" end (from-key) makes an empty interval here: etcd 3.4 lets such a delete overlap a put. */
interface Interval { key: string; end: string }

function hits(dels: Interval[], k: string): boolean {
  return dels.some((d) => (d.end === "" ? k === d.key : k >= d.key && k < d.end));
}

/** The puts and deletes of one branch; a put may not repeat a key or fall in a delete of the branch. */
function overlaps(ops: RequestOp[]): { puts: Set<string>; dels: Interval[]; err?: EtcdError } {
  const dels: Interval[] = [];
  const puts = new Set<string>();
  const fail = () => ({ puts, dels, err: Errors.duplicateKey() });
  for (const op of ops) {
    if ("requestDeleteRange" in op && op.requestDeleteRange) {
      dels.push({ key: op.requestDeleteRange.key, end: op.requestDeleteRange.rangeEnd ?? "" });
    }
  }
  for (const op of ops) {
    if (!("requestTxn" in op) || !op.requestTxn) continue;
    const then = overlaps(op.requestTxn.success ?? []);
    if (then.err) return then;
    const other = overlaps(op.requestTxn.failure ?? []);
    if (other.err) return other;
    for (const k of then.puts) {
      if (puts.has(k) || hits(dels, k)) return fail();
      puts.add(k);
    }
    for (const k of other.puts) {
      // the same key in both branches is fine: only one branch runs
      if ((puts.has(k) && !then.puts.has(k)) || hits(dels, k)) return fail();
      puts.add(k);
    }
    dels.push(...then.dels, ...other.dels);
  }
  for (const op of ops) {
    if (!("requestPut" in op) || !op.requestPut) continue;
    const k = op.requestPut.key;
    if (puts.has(k) || hits(dels, k)) return fail();
    puts.add(k);
  }
  return { puts, dels };
}
