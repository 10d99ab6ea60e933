// Book 12.10: encoding the KV requests (range, put, delete, compaction) for etcd's JSON gateway
// and decoding their responses, defaulting every field the gateway leaves out.
import type {
  CompactionRequest, DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse,
  RangeRequest, RangeResponse,
} from "../types.js";
import { arr, b64, bool, decodeHeader, decodeKv, int64, type Json, num, obj, setIf } from "./wire-base.js";

export function encodeRange(r: RangeRequest): Json {
  const o: Json = { key: b64(r.key) };
  if (r.rangeEnd) o.range_end = b64(r.rangeEnd);
  if (r.limit) o.limit = int64(r.limit);
  if (r.revision && r.revision > 0) o.revision = int64(r.revision);
  if (r.sortOrder && r.sortOrder !== "NONE") o.sort_order = r.sortOrder;
  if (r.sortTarget && r.sortTarget !== "KEY") o.sort_target = r.sortTarget;
  setIf(o, "serializable", r.serializable);
  setIf(o, "keys_only", r.keysOnly);
  setIf(o, "count_only", r.countOnly);
  if (r.minModRevision) o.min_mod_revision = int64(r.minModRevision);
  if (r.maxModRevision) o.max_mod_revision = int64(r.maxModRevision);
  if (r.minCreateRevision) o.min_create_revision = int64(r.minCreateRevision);
  if (r.maxCreateRevision) o.max_create_revision = int64(r.maxCreateRevision);
  return o;
}

export function decodeRange(v: unknown): RangeResponse {
  const o = obj(v);
  return {
    header: decodeHeader(o.header),
    kvs: arr(o.kvs).map(decodeKv),
    more: bool(o.more),
    count: num(o.count),
  };
}

export function encodePut(r: PutRequest): Json {
  const o: Json = { key: b64(r.key) };
  if (r.value) o.value = b64(r.value);
  if (r.lease && r.lease !== "0") o.lease = r.lease;
  setIf(o, "prev_kv", r.prevKv);
  setIf(o, "ignore_value", r.ignoreValue);
  setIf(o, "ignore_lease", r.ignoreLease);
  return o;
}

export function decodePut(v: unknown): PutResponse {
  const o = obj(v);
  const resp: PutResponse = { header: decodeHeader(o.header) };
  if (o.prev_kv !== undefined) resp.prevKv = decodeKv(o.prev_kv);
  return resp;
}

export function encodeDeleteRange(r: DeleteRangeRequest): Json {
  const o: Json = { key: b64(r.key) };
  if (r.rangeEnd) o.range_end = b64(r.rangeEnd);
  setIf(o, "prev_kv", r.prevKv);
  return o;
}

export function decodeDeleteRange(v: unknown): DeleteRangeResponse {
  const o = obj(v);
  return {
    header: decodeHeader(o.header),
    deleted: num(o.deleted),
    prevKvs: arr(o.prev_kvs).map(decodeKv),
  };
}

export function encodeCompaction(r: CompactionRequest): Json {
  const o: Json = { revision: int64(r.revision) };
  setIf(o, "physical", r.physical);
  return o;
}
