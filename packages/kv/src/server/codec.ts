// Book 12.3: etcd's JSON requests to our types, checked in etcd's order (JSON, gRPC size, v3rpc rules,
// Raft entry size); the response encoders (wire-encode.ts) are re-exported here.
import {
  type Compare, type CompactionRequest, type DeleteRangeRequest, EtcdError, GrpcCode, type Id,
  type LeaseGrantRequest, type PutRequest, type RangeRequest, type RequestOp, type TxnRequest,
} from "../types.js";
import type { WatchCreateRequest } from "../watch/types.js";
import type { JValue } from "./wire-gojson.js";
import { decodeParsed, decodeRequest, type ProtoMsg, WireDecodeError } from "./wire-jsonpb.js";
import { checkGrpcSize, checkRaftSize, protoSize } from "./wire-protosize.js";
import {
  CompactionRequestDesc, CompareResult, CompareTarget, DeleteRangeRequestDesc, EmptyDesc, type EnumDesc,
  LeaseGrantRequestDesc, LeaseIdRequestDesc, LeaseTimeToLiveRequestDesc, MemberAddRequestDesc,
  MemberRemoveRequestDesc, type MsgDesc, MoveLeaderRequestDesc, PutRequestDesc, RangeRequestDesc, SortOrder, SortTarget,
  TxnRequestDesc, WatchRequestDesc,
} from "./wire-schema.js";
import { checkDeleteRange, checkPeerURLs, checkPut, checkRange, checkTxn } from "./wire-validate.js";

export * from "./wire-encode.js";

export interface CodecLimits {
  /** etcd's --max-request-bytes. */
  maxRequestBytes: number;
  /** etcd's --max-txn-ops. */
  maxTxnOps: number;
}

/** Parse a unary body into a message and apply gRPC's size limit; returns it with its size. */
function unary(body: string, desc: MsgDesc, lim: CodecLimits): [ProtoMsg, number] {
  let m: ProtoMsg;
  try {
    m = decodeRequest(body, desc);
  } catch (e) {
    if (e instanceof WireDecodeError) throw new EtcdError(GrpcCode.InvalidArgument, e.message);
    throw e;
  }
  const size = protoSize(m, desc);
  checkGrpcSize(size, lim.maxRequestBytes);
  return [m, size];
}

const str = (v: unknown) => (v as string | undefined) ?? "";
const num = (v: unknown) => (v === undefined ? 0 : Number(v as string));
const id = (v: unknown): Id => (v as string | undefined) ?? "0";

function enumName<T extends string>(e: EnumDesc, v: unknown): T | undefined {
  if (v === undefined) return undefined;
  for (const [name, n] of Object.entries(e.values)) if (n === v) return name as T;
  // proto3 keeps unknown enum numbers; our types cannot, so refuse them rather than guess.
  throw new EtcdError(GrpcCode.InvalidArgument, `unknown value ${String(v)} for enum ${e.goName}`);
}

function toRange(m: ProtoMsg): RangeRequest {
  const r: RangeRequest = { key: str(m.key) };
  if (m.range_end) r.rangeEnd = m.range_end as string;
  if (m.limit !== undefined) r.limit = num(m.limit);
  if (m.revision !== undefined) r.revision = num(m.revision);
  if (m.sort_order !== undefined) r.sortOrder = enumName(SortOrder, m.sort_order);
  if (m.sort_target !== undefined) r.sortTarget = enumName(SortTarget, m.sort_target);
  if (m.serializable) r.serializable = true;
  if (m.keys_only) r.keysOnly = true;
  if (m.count_only) r.countOnly = true;
  if (m.min_mod_revision !== undefined) r.minModRevision = num(m.min_mod_revision);
  if (m.max_mod_revision !== undefined) r.maxModRevision = num(m.max_mod_revision);
  if (m.min_create_revision !== undefined) r.minCreateRevision = num(m.min_create_revision);
  if (m.max_create_revision !== undefined) r.maxCreateRevision = num(m.max_create_revision);
  return r;
}

function toPut(m: ProtoMsg): PutRequest {
  const r: PutRequest = { key: str(m.key), value: str(m.value) };
  if (m.lease !== undefined && m.lease !== "0") r.lease = m.lease as string;
  if (m.prev_kv) r.prevKv = true;
  if (m.ignore_value) r.ignoreValue = true;
  if (m.ignore_lease) r.ignoreLease = true;
  return r;
}

function toDeleteRange(m: ProtoMsg): DeleteRangeRequest {
  const r: DeleteRangeRequest = { key: str(m.key) };
  if (m.range_end) r.rangeEnd = m.range_end as string;
  if (m.prev_kv) r.prevKv = true;
  return r;
}

function toCompare(m: ProtoMsg): Compare {
  const c: Compare = {
    result: enumName(CompareResult, m.result ?? 0)!,
    target: enumName(CompareTarget, m.target ?? 0)!,
    key: str(m.key),
  };
  if (m.range_end) c.rangeEnd = m.range_end as string;
  if (m.version !== undefined) c.version = num(m.version);
  if (m.create_revision !== undefined) c.createRevision = num(m.create_revision);
  if (m.mod_revision !== undefined) c.modRevision = num(m.mod_revision);
  if (m.value !== undefined) c.value = m.value as string;
  if (m.lease !== undefined) c.lease = m.lease as string;
  return c;
}

function toOp(m: ProtoMsg): RequestOp {
  if (m.request_range) return { requestRange: toRange(m.request_range as ProtoMsg) };
  if (m.request_put) return { requestPut: toPut(m.request_put as ProtoMsg) };
  if (m.request_delete_range) return { requestDeleteRange: toDeleteRange(m.request_delete_range as ProtoMsg) };
  return { requestTxn: toTxn(m.request_txn as ProtoMsg) };
}

function toTxn(m: ProtoMsg): TxnRequest {
  const list = (f: string) => (m[f] as ProtoMsg[] | undefined) ?? [];
  return { compare: list("compare").map(toCompare), success: list("success").map(toOp), failure: list("failure").map(toOp) };
}

export function decodeRange(body: string, lim: CodecLimits): RangeRequest {
  const [m] = unary(body, RangeRequestDesc, lim);
  checkRange(m);
  return toRange(m);
}

export function decodePut(body: string, lim: CodecLimits): PutRequest {
  const [m, size] = unary(body, PutRequestDesc, lim);
  checkPut(m);
  checkRaftSize(size, lim.maxRequestBytes);
  return toPut(m);
}

export function decodeDeleteRange(body: string, lim: CodecLimits): DeleteRangeRequest {
  const [m, size] = unary(body, DeleteRangeRequestDesc, lim);
  checkDeleteRange(m);
  checkRaftSize(size, lim.maxRequestBytes);
  return toDeleteRange(m);
}

export function decodeTxn(body: string, lim: CodecLimits): TxnRequest {
  const [m, size] = unary(body, TxnRequestDesc, lim);
  checkTxn(m, lim.maxTxnOps);
  checkRaftSize(size, lim.maxRequestBytes);
  return toTxn(m);
}

export function decodeCompaction(body: string, lim: CodecLimits): CompactionRequest {
  const [m] = unary(body, CompactionRequestDesc, lim);
  const r: CompactionRequest = { revision: num(m.revision) };
  if (m.physical) r.physical = true;
  return r;
}

export function decodeLeaseGrant(body: string, lim: CodecLimits): LeaseGrantRequest {
  const [m] = unary(body, LeaseGrantRequestDesc, lim);
  return { TTL: num(m.TTL), ID: id(m.ID) };
}

/** LeaseRevokeRequest: the lease id ("0" when absent). */
export function decodeLeaseRevoke(body: string, lim: CodecLimits): Id {
  return id(unary(body, LeaseIdRequestDesc, lim)[0].ID);
}

export function decodeLeaseTimeToLive(body: string, lim: CodecLimits): { ID: Id; keys: boolean } {
  const [m] = unary(body, LeaseTimeToLiveRequestDesc, lim);
  return { ID: id(m.ID), keys: m.keys === true };
}

/** Requests with no fields we use (leases, member list, status): the body must still parse. */
export function decodeEmpty(body: string, lim: CodecLimits): void {
  unary(body, EmptyDesc, lim);
}

export function decodeMemberAdd(body: string, lim: CodecLimits): { peerURLs: string[]; isLearner: boolean } {
  const [m] = unary(body, MemberAddRequestDesc, lim);
  const urls = ((m.peerURLs as string[] | undefined) ?? []).map((u) => Buffer.from(u, "latin1").toString("utf8"));
  checkPeerURLs(urls);
  return { peerURLs: urls, isLearner: m.isLearner === true };
}

export function decodeMemberRemove(body: string, lim: CodecLimits): Id {
  return id(unary(body, MemberRemoveRequestDesc, lim)[0].ID);
}

export function decodeMoveLeader(body: string, lim: CodecLimits): Id {
  return id(unary(body, MoveLeaderRequestDesc, lim)[0].targetID);
}

/** One message of a /v3/watch stream. */
export type WatchMessage =
  | { create: WatchCreateRequest }
  | { cancel: number }
  | { progress: true }
  | { none: true };

/** Decode one parsed stream message; throws WireDecodeError (the stream reports it its own way). */
export function decodeWatchMessage(v: JValue): WatchMessage {
  const m = decodeParsed(v, WatchRequestDesc);
  if (m.create_request) {
    const c = m.create_request as ProtoMsg;
    const r: WatchCreateRequest = { key: str(c.key) };
    if (c.range_end) r.rangeEnd = c.range_end as string;
    if (c.start_revision !== undefined) r.startRevision = num(c.start_revision);
    if (c.progress_notify) r.progressNotify = true;
    if (c.filters) {
      const filters = (c.filters as number[]).map((n) => (n === 0 ? "NOPUT" : n === 1 ? "NODELETE" : undefined));
      r.filters = filters.filter((x): x is "NOPUT" | "NODELETE" => x !== undefined);
    }
    if (c.prev_kv) r.prevKv = true;
    if (c.watch_id !== undefined) r.watchId = num(c.watch_id);
    if (c.fragment) r.fragment = true;
    return { create: r };
  }
  if (m.cancel_request) return { cancel: num((m.cancel_request as ProtoMsg).watch_id) };
  if (m.progress_request) return { progress: true };
  return { none: true };
}

/** One message of a /v3/lease/keepalive stream: the lease id. */
export function decodeKeepAliveMessage(v: JValue): Id {
  return id(decodeParsed(v, LeaseIdRequestDesc).ID);
}
