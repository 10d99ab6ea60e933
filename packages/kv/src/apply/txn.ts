// Book 12.3: etcd's txn (if compares hold then ops else ops, nested). Compares and checks see the state
// before the txn; all writes land at ONE new revision, and a txn that changes nothing keeps the revision.
import { Errors, type EtcdError, type RequestOp, type ResponseOp, type TxnRequest, type TxnResponse } from "../types.js";
import type { Lessor } from "../lease/lessor.js";
import { inRange, keyRange, type KeyRange } from "../mvcc/key-range.js";
import type { ReadView } from "../mvcc/store.js";
import type { WriteTxn } from "../mvcc/write-txn.js";
import { comparesHold } from "./compare.js";
import { header } from "./header.js";
import { checkPutKey, checkPutLease, execDelete, execPut } from "./ops.js";
import { doRange } from "./range.js";

/** The branch each (nested) txn takes, decided up front. */
interface Path {
  succeeded: boolean;
  ops: RequestOp[];
  /** For ops that are txns: their own path. */
  nested: Map<number, Path>;
}

export function decide(view: ReadView, req: TxnRequest): Path {
  const succeeded = comparesHold(view, req.compare);
  const ops = (succeeded ? req.success : req.failure) ?? [];
  const nested = new Map<number, Path>();
  ops.forEach((op, i) => {
    if ("requestTxn" in op && op.requestTxn) nested.set(i, decide(view, op.requestTxn));
  });
  return { succeeded, ops, nested };
}

/** etcd's isTxnReadonly: both branches hold only ranges (a nested txn counts as a write). */
export function isReadOnly(req: TxnRequest): boolean {
  return [...(req.success ?? []), ...(req.failure ?? [])].every((op) => "requestRange" in op && !!op.requestRange);
}

function* walk(path: Path): Generator<RequestOp> {
  for (let i = 0; i < path.ops.length; i++) {
    const sub = path.nested.get(i);
    if (sub) yield* walk(sub);
    else yield path.ops[i]!;
  }
}

/** etcd's checks, on the taken branches only: puts (key for ignore_*, then lease), then range revisions. */
export function checkPath(view: ReadView, lessor: Lessor, path: Path, write: boolean): EtcdError | undefined {
  if (write) {
    const deleted: KeyRange[] = [];
    for (const op of walk(path)) {
      if ("requestDeleteRange" in op && op.requestDeleteRange) {
        deleted.push(keyRange(op.requestDeleteRange.key, op.requestDeleteRange.rangeEnd));
      }
      if (!("requestPut" in op) || !op.requestPut) continue;
      const put = op.requestPut;
      let err = checkPutKey(view, put) ?? checkPutLease(lessor, put);
      // An ignore_* put after a delete of its key in the same txn (a from-key delete slips past the
      // duplicate-key check) would find no key: etcd 3.4 panics there; we refuse the txn instead.
      if (!err && (put.ignoreValue || put.ignoreLease) && deleted.some((r) => inRange(r, put.key))) err = Errors.keyNotFound();
      if (err) return err;
    }
  }
  for (const op of walk(path)) {
    if (!("requestRange" in op) || !op.requestRange) continue;
    const rev = op.requestRange.revision ?? 0;
    if (rev === 0) continue;
    if (rev > view.rev) return Errors.futureRev();
    if (rev < view.firstRev) return Errors.compacted();
  }
  return undefined;
}

/** Run the decided ops. Reads go through `view` (the write txn itself when there is one). Nested txn
 * responses carry an empty header, as in etcd; the caller sets the top-level revision. */
export function execPath(view: ReadView, txn: WriteTxn | null, lessor: Lessor, path: Path): TxnResponse {
  const responses: ResponseOp[] = path.ops.map((op, i): ResponseOp => {
    if ("requestRange" in op && op.requestRange) return { responseRange: doRange(view, op.requestRange) };
    if (!txn) throw new Error("apply: write op in a read-only txn");
    if ("requestPut" in op && op.requestPut) return { responsePut: execPut(txn, lessor, op.requestPut) };
    if ("requestDeleteRange" in op && op.requestDeleteRange) {
      return { responseDeleteRange: execDelete(txn, lessor, op.requestDeleteRange) };
    }
    return { responseTxn: execPath(view, txn, lessor, path.nested.get(i)!) };
  });
  return { header: header(0), succeeded: path.succeeded, responses };
}
