// Book 12.10: etcdctl's -w json shapes, which differ from the gateway's: int64 and uint64 are JSON
// numbers (written digit for digit, so 64-bit ids stay exact), bytes are base64, zeros are left out.
import type { KeyValue, Member, ResponseHeader, WatchEvent } from "../types.js";

/** A number written verbatim (a decimal uint64 that a JS number would round). */
export class RawNumber {
  constructor(readonly digits: string) {}
}

export type JsonOut = string | number | boolean | null | RawNumber | JsonOut[] | { [k: string]: JsonOut | undefined };

export function stringify(v: JsonOut | undefined): string {
  if (v === undefined || v === null) return "null";
  if (v instanceof RawNumber) return v.digits;
  if (Array.isArray(v)) return "[" + v.map(stringify).join(",") + "]";
  if (typeof v === "object") {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v)) if (x !== undefined) parts.push(JSON.stringify(k) + ":" + stringify(x));
    return "{" + parts.join(",") + "}";
  }
  return JSON.stringify(v);
}

const b64 = (s: string) => Buffer.from(s, "latin1").toString("base64");
/** Leave out zero values, as Go's `omitempty` does. */
const nz = (n: number) => (n === 0 ? undefined : n);
const nzId = (id: string) => (id === "0" || id === "" ? undefined : new RawNumber(id));
const nzStr = (s: string) => (s === "" ? undefined : s);

export function headerJson(h: ResponseHeader): JsonOut {
  return { cluster_id: nzId(h.clusterId), member_id: nzId(h.memberId), revision: nz(h.revision), raft_term: nz(h.raftTerm) };
}

/** clientv3 embeds the header in lease responses: its fields come first, flattened. */
export function flatHeader(h: ResponseHeader): Record<string, JsonOut | undefined> {
  return headerJson(h) as Record<string, JsonOut | undefined>;
}

export function kvJson(kv: KeyValue): JsonOut {
  return {
    key: nzStr(b64(kv.key)), create_revision: nz(kv.createRevision), mod_revision: nz(kv.modRevision),
    version: nz(kv.version), value: nzStr(b64(kv.value)), lease: nzId(kv.lease),
  };
}

export function eventJson(ev: WatchEvent): JsonOut {
  return { type: ev.type === "DELETE" ? 1 : undefined, kv: kvJson(ev.kv), prev_kv: ev.prevKv ? kvJson(ev.prevKv) : undefined };
}

export function memberJson(m: Member): JsonOut {
  return {
    ID: nzId(m.ID), name: nzStr(m.name), peerURLs: m.peerURLs.length ? m.peerURLs : undefined,
    clientURLs: m.clientURLs.length ? m.clientURLs : undefined, isLearner: m.isLearner ? true : undefined,
  };
}
