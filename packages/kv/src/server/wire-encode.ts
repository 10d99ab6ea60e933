// Book 12.3: responses as etcd 3.4's gateway writes them: proto field order, etcd's field names, int64s
// as strings, bytes as base64, zero values left out (a failed txn has no "succeeded").
import type { StatusResponse } from "../service.js";
import type {
  CompactionResponse, DeleteRangeResponse, EtcdError, Id, KeyValue, LeaseGrantResponse,
  LeaseTimeToLiveResponse, Member, PutResponse, RangeResponse, ResponseHeader, ResponseOp, TxnResponse, WatchEvent,
} from "../types.js";
import type { WatchResponse } from "../watch/types.js";
import { encodeBase64 } from "./wire-base64.js";

const NEEDS_GO_ESCAPE = /[<>&\u2028\u2029]/;

/** A text string as Go's encoding/json writes it (it also escapes <, > and & for HTML). */
export function goString(s: string): string {
  const j = JSON.stringify(s);
  if (!NEEDS_GO_ESCAPE.test(j)) return j;
  return j.replace(/[<>&\u2028\u2029]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/** Accumulates `"name":value` pairs, skipping zero values. */
class Obj {
  private s = "";
  raw(name: string, json: string): this {
    this.s += (this.s ? ',"' : '"') + name + '":' + json;
    return this;
  }
  int(name: string, n: number | undefined): this {
    return n ? this.raw(name, '"' + n + '"') : this;
  }
  id(name: string, id: Id | undefined): this {
    return id && id !== "0" ? this.raw(name, '"' + id + '"') : this;
  }
  bytes(name: string, b: string | undefined): this {
    return b ? this.raw(name, '"' + encodeBase64(b) + '"') : this;
  }
  text(name: string, t: string | undefined): this {
    return t ? this.raw(name, goString(t)) : this;
  }
  bool(name: string, b: boolean | undefined): this {
    return b ? this.raw(name, "true") : this;
  }
  list<T>(name: string, items: readonly T[] | undefined, each: (item: T) => string): this {
    return items && items.length > 0 ? this.raw(name, "[" + items.map(each).join(",") + "]") : this;
  }
  done(): string {
    return "{" + this.s + "}";
  }
}

export function encodeHeader(h: ResponseHeader): string {
  return new Obj().id("cluster_id", h.clusterId).id("member_id", h.memberId).int("revision", h.revision).int("raft_term", h.raftTerm).done();
}

/** The cluster service's header carries no revision. */
function clusterHeader(h: ResponseHeader): string {
  return encodeHeader({ ...h, revision: 0 });
}

/** Responses inside a txn carry only the revision in their header. */
function innerHeader(h: ResponseHeader): string {
  return new Obj().int("revision", h.revision).done();
}

export function encodeKv(kv: KeyValue): string {
  return new Obj()
    .bytes("key", kv.key).int("create_revision", kv.createRevision).int("mod_revision", kv.modRevision)
    .int("version", kv.version).bytes("value", kv.value).id("lease", kv.lease).done();
}

export function encodeRangeResponse(r: RangeResponse, inner = false): string {
  return new Obj()
    .raw("header", inner ? innerHeader(r.header) : encodeHeader(r.header))
    .list("kvs", r.kvs, encodeKv).bool("more", r.more).int("count", r.count).done();
}

export function encodePutResponse(r: PutResponse, inner = false): string {
  const o = new Obj().raw("header", inner ? innerHeader(r.header) : encodeHeader(r.header));
  return (r.prevKv ? o.raw("prev_kv", encodeKv(r.prevKv)) : o).done();
}

export function encodeDeleteRangeResponse(r: DeleteRangeResponse, inner = false): string {
  return new Obj()
    .raw("header", inner ? innerHeader(r.header) : encodeHeader(r.header))
    .int("deleted", r.deleted).list("prev_kvs", r.prevKvs, encodeKv).done();
}

function encodeResponseOp(op: ResponseOp): string {
  if ("responseRange" in op) return '{"response_range":' + encodeRangeResponse(op.responseRange, true) + "}";
  if ("responsePut" in op) return '{"response_put":' + encodePutResponse(op.responsePut, true) + "}";
  if ("responseDeleteRange" in op) return '{"response_delete_range":' + encodeDeleteRangeResponse(op.responseDeleteRange, true) + "}";
  return '{"response_txn":' + encodeTxnResponse(op.responseTxn, true) + "}";
}

/** A nested txn's header is empty (etcd sets headers only on the outermost response). */
export function encodeTxnResponse(r: TxnResponse, nested = false): string {
  return new Obj()
    .raw("header", nested ? "{}" : encodeHeader(r.header))
    .bool("succeeded", r.succeeded).list("responses", r.responses, encodeResponseOp).done();
}

export function encodeHeaderOnly(r: CompactionResponse | { header: ResponseHeader }): string {
  return '{"header":' + encodeHeader(r.header) + "}";
}

export function encodeLeaseGrantResponse(r: LeaseGrantResponse): string {
  return new Obj().raw("header", encodeHeader(r.header)).id("ID", r.ID).int("TTL", r.TTL).text("error", r.error).done();
}

export function encodeLeaseKeepAliveResponse(r: { header: ResponseHeader; ID: Id; TTL: number }): string {
  return new Obj().raw("header", encodeHeader(r.header)).id("ID", r.ID).int("TTL", r.TTL).done();
}

export function encodeLeaseTimeToLiveResponse(r: LeaseTimeToLiveResponse): string {
  return new Obj()
    .raw("header", encodeHeader(r.header)).id("ID", r.ID).int("TTL", r.TTL).int("grantedTTL", r.grantedTTL)
    .list("keys", r.keys, (k) => '"' + encodeBase64(k) + '"').done();
}

export function encodeLeaseLeasesResponse(r: { header: ResponseHeader; leases: { ID: Id }[] }): string {
  return new Obj().raw("header", encodeHeader(r.header)).list("leases", r.leases, (l) => new Obj().id("ID", l.ID).done()).done();
}

export function encodeMember(m: Member): string {
  return new Obj()
    .id("ID", m.ID).text("name", m.name).list("peerURLs", m.peerURLs, goString)
    .list("clientURLs", m.clientURLs, goString).bool("isLearner", m.isLearner).done();
}

export function encodeMemberListResponse(r: { header: ResponseHeader; members: Member[] }): string {
  return new Obj().raw("header", clusterHeader(r.header)).list("members", r.members, encodeMember).done();
}

export function encodeMemberAddResponse(r: { header: ResponseHeader; member: Member; members: Member[] }): string {
  return new Obj().raw("header", clusterHeader(r.header)).raw("member", encodeMember(r.member)).list("members", r.members, encodeMember).done();
}

export function encodeStatusResponse(r: StatusResponse): string {
  return new Obj()
    .raw("header", encodeHeader(r.header)).text("version", r.version).int("dbSize", r.dbSize).id("leader", r.leader)
    .int("raftIndex", r.raftIndex).int("raftTerm", r.raftTerm).int("raftAppliedIndex", r.raftAppliedIndex)
    .list("errors", r.errors, goString).int("dbSizeInUse", r.dbSizeInUse).bool("isLearner", r.isLearner).done();
}

export function encodeEvent(e: WatchEvent): string {
  const o = new Obj();
  if (e.type === "DELETE") o.raw("type", '"DELETE"');
  o.raw("kv", encodeKv(e.kv));
  return (e.prevKv ? o.raw("prev_kv", encodeKv(e.prevKv)) : o).done();
}

/** The WatchResponse message itself; the stream wraps it as {"result":...}. */
export function encodeWatchResponse(r: WatchResponse): string {
  return new Obj()
    .raw("header", encodeHeader(r.header)).int("watch_id", r.watchId)
    .bool("created", r.created).bool("canceled", r.canceled).int("compact_revision", r.compactRevision)
    .text("cancel_reason", r.cancelReason).bool("fragment", r.fragment).list("events", r.events, encodeEvent).done();
}

/** grpc-gateway's error body for a unary call: {"error","message","code"}. */
export function encodeError(code: number, message: string): string {
  const m = goString(message);
  return '{"error":' + m + ',"message":' + m + ',"code":' + code + "}";
}

/** grpc-gateway's error chunk when a stream fails after it started. */
export function encodeStreamError(err: EtcdError, httpCode: number, httpStatus: string): string {
  return (
    '{"error":{"grpc_code":' + err.code + ',"http_code":' + httpCode + ',"message":' + goString(err.message) +
    ',"http_status":' + goString(httpStatus) + "}}"
  );
}
