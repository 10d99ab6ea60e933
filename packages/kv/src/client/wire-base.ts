// Book 12.10: the etcd v3 JSON gateway's primitive encodings — base64 bytes, int64s as strings,
// and proto3's omitted zero values, which every decoder here turns back into defaults.
import type { Bytes, Id, KeyValue, ResponseHeader } from "../types.js";

/** A decoded JSON object (a protobuf message as the gateway writes it). */
export type Json = Record<string, unknown>;

/** latin1 "binary string" → base64 for the wire. */
export function b64(s: Bytes): string {
  return Buffer.from(s, "latin1").toString("base64");
}

/** base64 from the wire → latin1 "binary string"; absent means empty. */
export function unb64(v: unknown): Bytes {
  return typeof v === "string" && v !== "" ? Buffer.from(v, "base64").toString("latin1") : "";
}

/** int64 on the wire: a decimal string. */
export function int64(n: number): string {
  return String(Math.trunc(n));
}

/** int64 from the wire (string or number); absent means 0. */
export function num(v: unknown): number {
  if (v === undefined || v === null || v === "") return 0;
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : 0;
}

/** uint64 id from the wire, kept as a decimal string; absent means "0". */
export function id(v: unknown): Id {
  if (v === undefined || v === null || v === "") return "0";
  return String(v);
}

export function bool(v: unknown): boolean {
  return v === true || v === "true";
}

export function obj(v: unknown): Json {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {};
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** Sets `o[k] = v` only when v is not the proto3 zero value, as the gateway itself does. */
export function setIf(o: Json, k: string, v: unknown): void {
  if (v === undefined || v === null || v === false || v === "" || v === 0 || v === "0") return;
  if (Array.isArray(v) && v.length === 0) return;
  o[k] = v;
}

export function decodeHeader(v: unknown): ResponseHeader {
  const h = obj(v);
  return {
    clusterId: id(h.cluster_id),
    memberId: id(h.member_id),
    revision: num(h.revision),
    raftTerm: num(h.raft_term),
  };
}

export function decodeKv(v: unknown): KeyValue {
  const kv = obj(v);
  return {
    key: unb64(kv.key),
    createRevision: num(kv.create_revision),
    modRevision: num(kv.mod_revision),
    version: num(kv.version),
    value: unb64(kv.value),
    lease: id(kv.lease),
  };
}
