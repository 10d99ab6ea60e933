// Book 12.6: etcd's size limits count protobuf bytes: gRPC refuses a message over max-request-bytes +
// 512 KiB (429, code 8); the server refuses a write whose Raft entry is over max-request-bytes (400, code 3).
import { Errors } from "../types.js";
import type { ProtoMsg, ProtoValue } from "./wire-jsonpb.js";
import type { FieldDesc, MsgDesc } from "./wire-schema.js";

/** etcd's grpcOverheadBytes: the gRPC receive limit is max-request-bytes plus this. */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;

/** Bytes a write's Raft entry (InternalRaftRequest) adds around the request: the header with the
 * request id, measured on etcd 3.4.23 (put: value 1572840 ok, 1572841 "request is too large"). */
const RAFT_HEADER_BYTES = 13;

export function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Size of an int64/uint64 (decimal string) as a varint; negatives take 10 bytes. */
function decimalVarintSize(s: string): number {
  if (s.charCodeAt(0) === 0x2d) return 10;
  if (s.length < 16) return varintSize(Number(s));
  let n = BigInt(s);
  let size = 1;
  while (n >= 128n) {
    n >>= 7n;
    size++;
  }
  return size;
}

function tagSize(num: number): number {
  return varintSize(num * 8);
}

/** Payload size of one value of a field (without tag), or -1 when proto3 would omit it. */
function valueSize(field: FieldDesc, v: ProtoValue, inRepeated: boolean): number {
  const t = field.type;
  if (t === "bytes" || t === "string") {
    const len = (v as string).length;
    return len === 0 && !inRepeated ? -1 : varintSize(len) + len;
  }
  if (t === "int64" || t === "uint64") return v === "0" && !inRepeated ? -1 : decimalVarintSize(v as string);
  if (t === "bool") return v === false && !inRepeated ? -1 : 1;
  if ("enum" in t) {
    const n = v as number;
    return n === 0 && !inRepeated ? -1 : n < 0 ? 10 : varintSize(n);
  }
  const inner = protoSize(v as ProtoMsg, t.msg());
  return varintSize(inner) + inner;
}

/** The protobuf-encoded size of a decoded message. */
export function protoSize(m: ProtoMsg, desc: MsgDesc): number {
  let size = 0;
  for (const field of desc.fields) {
    const v = m[field.name];
    if (v === undefined) continue;
    if (!field.repeated) {
      const s = valueSize(field, v, field.oneof !== undefined);
      if (s >= 0) size += tagSize(field.num) + s;
      continue;
    }
    const list = v as ProtoValue[];
    if (list.length === 0) continue;
    const t = field.type;
    if (t !== "bytes" && t !== "string" && !(typeof t === "object" && "msg" in t)) {
      // Packed: one tag, one length, then the varints.
      let payload = 0;
      for (const el of list) payload += valueSize(field, el, true);
      size += tagSize(field.num) + varintSize(payload) + payload;
    } else {
      for (const el of list) size += tagSize(field.num) + valueSize(field, el, true);
    }
  }
  return size;
}

/** gRPC's limit on any request message. */
export function checkGrpcSize(size: number, maxRequestBytes: number): void {
  const max = maxRequestBytes + GRPC_OVERHEAD_BYTES;
  if (size > max) throw Errors.grpcTooLarge(size, max);
}

/** etcd's limit on a write's Raft entry; `size` is the request's protobuf size. */
export function checkRaftSize(size: number, maxRequestBytes: number): void {
  // InternalRaftRequest: header + one length-delimited field (field numbers below 16: 1-byte tag).
  if (RAFT_HEADER_BYTES + 1 + varintSize(size) + size > maxRequestBytes) throw Errors.requestTooLarge();
}

