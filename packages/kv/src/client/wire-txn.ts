// Book 12.10: encoding a transaction (compares, then/else operation lists, nested txns) for
// etcd's JSON gateway, and decoding its response; a failed txn arrives with no "succeeded" field.
import type { Compare, RequestOp, ResponseOp, TxnRequest, TxnResponse } from "../types.js";
import { arr, b64, bool, decodeHeader, int64, type Json, obj } from "./wire-base.js";
import {
  decodeDeleteRange, decodePut, decodeRange, encodeDeleteRange, encodePut, encodeRange,
} from "./wire-kv.js";

export function encodeCompare(c: Compare): Json {
  const o: Json = { result: c.result, target: c.target, key: b64(c.key) };
  if (c.rangeEnd) o.range_end = b64(c.rangeEnd);
  // The compared field is a oneof: send it even when it is zero (e.g. create-if-absent, MOD == 0).
  switch (c.target) {
    case "VERSION": o.version = int64(c.version ?? 0); break;
    case "CREATE": o.create_revision = int64(c.createRevision ?? 0); break;
    case "MOD": o.mod_revision = int64(c.modRevision ?? 0); break;
    case "VALUE": o.value = b64(c.value ?? ""); break;
    case "LEASE": o.lease = c.lease ?? "0"; break;
  }
  return o;
}

function encodeOp(op: RequestOp): Json {
  if ("requestRange" in op) return { request_range: encodeRange(op.requestRange) };
  if ("requestPut" in op) return { request_put: encodePut(op.requestPut) };
  if ("requestDeleteRange" in op) return { request_delete_range: encodeDeleteRange(op.requestDeleteRange) };
  return { request_txn: encodeTxn(op.requestTxn) };
}

export function encodeTxn(t: TxnRequest): Json {
  const o: Json = {};
  if (t.compare.length) o.compare = t.compare.map(encodeCompare);
  if (t.success.length) o.success = t.success.map(encodeOp);
  if (t.failure.length) o.failure = t.failure.map(encodeOp);
  return o;
}

function decodeOp(v: unknown, sent: RequestOp | undefined): ResponseOp {
  const o = obj(v);
  if (o.response_range !== undefined) return { responseRange: decodeRange(o.response_range) };
  if (o.response_put !== undefined) return { responsePut: decodePut(o.response_put) };
  if (o.response_delete_range !== undefined) return { responseDeleteRange: decodeDeleteRange(o.response_delete_range) };
  if (o.response_txn !== undefined) return { responseTxn: decodeTxn(o.response_txn) };
  // A response that is all zeros comes out as {}: its kind is then the kind of the op we sent.
  if (sent && "requestPut" in sent) return { responsePut: decodePut({}) };
  if (sent && "requestDeleteRange" in sent) return { responseDeleteRange: decodeDeleteRange({}) };
  if (sent && "requestTxn" in sent) return { responseTxn: decodeTxn({}, sent.requestTxn) };
  return { responseRange: decodeRange({}) };
}

/** `sent` (the request) only helps decode responses that arrive empty. */
export function decodeTxn(v: unknown, sent?: TxnRequest): TxnResponse {
  const o = obj(v);
  const succeeded = bool(o.succeeded);
  const ops = sent ? (succeeded ? sent.success : sent.failure) : [];
  return {
    header: decodeHeader(o.header),
    succeeded,
    responses: arr(o.responses).map((r, i) => decodeOp(r, ops[i])),
  };
}
