// Book 12.2/12.3: put and delete as etcd's applier does them inside a write txn, keeping the lease
// table in step (a put moves the key to its new lease, a delete detaches it).
import { Errors, type DeleteRangeRequest, type DeleteRangeResponse, type EtcdError, type PutRequest, type PutResponse } from "../types.js";
import type { Lessor } from "../lease/lessor.js";
import { keyRange } from "../mvcc/key-range.js";
import type { ReadView } from "../mvcc/store.js";
import type { WriteTxn } from "../mvcc/write-txn.js";
import { copyKv, header } from "./header.js";

function exists(view: ReadView, key: string): boolean {
  return view.rangeKeys(keyRange(key), view.rev, 0).count > 0;
}

function leaseOf(req: PutRequest): string {
  return req.lease && req.lease !== "" ? req.lease : "0";
}

/** ignore_value / ignore_lease need the key to exist. */
export function checkPutKey(view: ReadView, req: PutRequest): EtcdError | undefined {
  return (req.ignoreValue || req.ignoreLease) && !exists(view, req.key) ? Errors.keyNotFound() : undefined;
}

/** A put may only name a lease that exists. */
export function checkPutLease(lessor: Lessor, req: PutRequest): EtcdError | undefined {
  const lease = leaseOf(req);
  return lease !== "0" && !lessor.has(lease) ? Errors.leaseNotFound() : undefined;
}

/** Run a put whose checks passed. */
export function execPut(txn: WriteTxn, lessor: Lessor, req: PutRequest): PutResponse {
  const old = txn.rangeKeys(keyRange(req.key), txn.rev, 1).kvs[0];
  if ((req.ignoreValue || req.ignoreLease) && !old) throw new Error("apply: put on a missing key passed its checks");
  const value = req.ignoreValue ? old!.value : req.value ?? "";
  const lease = req.ignoreLease ? old!.lease : leaseOf(req);
  const { prev } = txn.put(req.key, value, lease);
  if (prev) lessor.detach(prev.lease, req.key);
  lessor.attach(lease, req.key);
  const resp: PutResponse = { header: header(txn.beginRev + 1) };
  if (req.prevKv && prev) resp.prevKv = copyKv(prev);
  return resp;
}

/** Delete every key in range; the revision moves only if the txn changed something. */
export function execDelete(txn: WriteTxn, lessor: Lessor, req: DeleteRangeRequest): DeleteRangeResponse {
  const deleted = txn.deleteRange(keyRange(req.key, req.rangeEnd));
  for (const kv of deleted) lessor.detach(kv.lease, kv.key);
  return {
    header: header(txn.rev),
    deleted: deleted.length,
    prevKvs: req.prevKv ? deleted.map(copyKv) : [],
  };
}
