// Book 12.10: the watch stream's messages on etcd's JSON gateway — a create request in, and
// {"result":{…}} responses out, where PUT events carry no "type" and watch id 0 is omitted.
import type { WatchEvent } from "../types.js";
import type { WatchCreateRequest, WatchResponse } from "../watch/types.js";
import { arr, b64, bool, decodeHeader, decodeKv, int64, type Json, num, obj, setIf, str } from "./wire-base.js";

export function encodeWatchCreate(r: WatchCreateRequest): Json {
  const o: Json = { key: b64(r.key) };
  if (r.rangeEnd) o.range_end = b64(r.rangeEnd);
  if (r.startRevision && r.startRevision > 0) o.start_revision = int64(r.startRevision);
  setIf(o, "progress_notify", r.progressNotify);
  if (r.filters?.length) o.filters = r.filters;
  setIf(o, "prev_kv", r.prevKv);
  if (r.watchId) o.watch_id = int64(r.watchId);
  setIf(o, "fragment", r.fragment);
  return o;
}

export function decodeEvent(v: unknown): WatchEvent {
  const o = obj(v);
  const ev: WatchEvent = { type: o.type === "DELETE" || o.type === 1 ? "DELETE" : "PUT", kv: decodeKv(o.kv) };
  if (o.prev_kv !== undefined) ev.prevKv = decodeKv(o.prev_kv);
  return ev;
}

export function decodeWatchResponse(v: unknown): WatchResponse {
  const o = obj(v);
  const r: WatchResponse = {
    header: decodeHeader(o.header),
    watchId: num(o.watch_id),
    events: arr(o.events).map(decodeEvent),
  };
  if (bool(o.created)) r.created = true;
  if (bool(o.canceled)) r.canceled = true;
  if (o.compact_revision !== undefined) r.compactRevision = num(o.compact_revision);
  if (str(o.cancel_reason)) r.cancelReason = str(o.cancel_reason);
  if (bool(o.fragment)) r.fragment = true;
  return r;
}
