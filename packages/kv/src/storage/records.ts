// Book 12.4: how one write-ahead-log record and one snapshot look on disk, with their checksums.
import type { Entry, Snapshot } from "../raft/types.js";
import { CorruptDataError } from "../server/deps.js";
import * as zlib from "node:zlib";
import { crc32 } from "./crc32.js";

function entryCrc(e: Entry): number {
  return crc32(e.data, crc32(`${e.index}:${e.term}:${e.type}:`));
}

export function encodeEntry(e: Entry): string {
  return JSON.stringify({ i: e.index, t: e.term, y: e.type, d: e.data, c: entryCrc(e) });
}

export function decodeEntry(raw: string, where: string): Entry {
  let r: { i: number; t: number; y: Entry["type"]; d: string; c: number };
  try {
    r = JSON.parse(raw);
  } catch {
    throw new CorruptDataError(`${where}: the log record is not readable (damaged bytes)`);
  }
  const e: Entry = { index: r.i, term: r.t, type: r.y, data: r.d };
  if (typeof r.d !== "string" || entryCrc(e) !== r.c) {
    throw new CorruptDataError(`${where}: checksum mismatch in log entry ${r.i} (term ${r.t})`);
  }
  return e;
}

function snapshotCrc(s: Snapshot): number {
  return crc32(s.data, crc32(JSON.stringify(s.meta)));
}

export function encodeSnapshot(s: Snapshot): string {
  return JSON.stringify({ meta: s.meta, data: s.data, c: snapshotCrc(s) });
}

export function decodeSnapshot(raw: string, where: string): Snapshot {
  let r: { meta: Snapshot["meta"]; data: string; c: number };
  try {
    r = JSON.parse(raw);
  } catch {
    throw new CorruptDataError(`${where}: the snapshot is not readable (damaged bytes)`);
  }
  const s: Snapshot = { meta: r.meta, data: r.data };
  if (typeof r.data !== "string" || snapshotCrc(s) !== r.c) {
    throw new CorruptDataError(`${where}: checksum mismatch in the snapshot at index ${r.meta?.index}`);
  }
  return s;
}

// ---- write-ahead log records ------------------------------------------------------------------
// The log is a redo log of level batches: one record per synced save, holding the batch's
// operations, replayed into level after a crash. Layout, little endian:
//   u32 payload length | u32 CRC-32 of bytes 8.. | f64 sequence number | payload
// and the payload is the operations one after the other:
//   u8 1 (put) | u32 key length | key | u32 value length | value      or      u8 2 (del) | u32 key length | key
// A zero length, a length past the end, a bad checksum or an unexpected sequence number ends
// the readable log (a record torn by a crash was never acknowledged).

export type WalOp = { type: "put"; key: string; value: string } | { type: "del"; key: string };

export const WAL_HEADER_BYTES = 16;

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

const nativeCrc = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/** CRC-32 (IEEE) of bytes: zlib's where Node has it (20.15+), the same sum by table otherwise. */
export function crc32Bytes(b: Uint8Array): number {
  if (nativeCrc) return nativeCrc(b) >>> 0;
  let c = -1;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export function encodeWalRecord(seq: number, ops: WalOp[]): Buffer {
  let n = 0;
  for (const op of ops) {
    n += 5 + Buffer.byteLength(op.key);
    if (op.type === "put") n += 4 + Buffer.byteLength(op.value);
  }
  const buf = Buffer.allocUnsafe(WAL_HEADER_BYTES + n);
  buf.writeUInt32LE(n, 0);
  buf.writeDoubleLE(seq, 8);
  let o = WAL_HEADER_BYTES;
  for (const op of ops) {
    buf[o] = op.type === "put" ? 1 : 2;
    const kl = buf.write(op.key, o + 5, "utf8");
    buf.writeUInt32LE(kl, o + 1);
    o += 5 + kl;
    if (op.type === "put") {
      const vl = buf.write(op.value, o + 4, "utf8");
      buf.writeUInt32LE(vl, o);
      o += 4 + vl;
    }
  }
  buf.writeUInt32LE(crc32Bytes(buf.subarray(8, o)), 4);
  return buf;
}

/** The records of one segment from its start, as long as they are whole and their sequence
 * numbers follow each other. */
export function* decodeWalRecords(seg: Buffer): Generator<{ seq: number; ops: WalOp[]; end: number }> {
  let pos = 0;
  let prev: number | undefined;
  while (pos + WAL_HEADER_BYTES <= seg.length) {
    const n = seg.readUInt32LE(pos);
    const end = pos + WAL_HEADER_BYTES + n;
    if (n === 0 || end > seg.length) return;
    if (crc32Bytes(seg.subarray(pos + 8, end)) !== seg.readUInt32LE(pos + 4)) return;
    const seq = seg.readDoubleLE(pos + 8);
    if (prev !== undefined && seq !== prev + 1) return;
    const ops: WalOp[] = [];
    let o = pos + WAL_HEADER_BYTES;
    while (o < end) {
      const type = seg[o];
      const kl = seg.readUInt32LE(o + 1);
      const key = seg.toString("utf8", o + 5, o + 5 + kl);
      o += 5 + kl;
      if (type === 1) {
        const vl = seg.readUInt32LE(o);
        ops.push({ type: "put", key, value: seg.toString("utf8", o + 4, o + 4 + vl) });
        o += 4 + vl;
      } else if (type === 2) {
        ops.push({ type: "del", key });
      } else {
        return; // cannot happen with a matching checksum
      }
    }
    if (o !== end) return;
    yield { seq, ops, end };
    prev = seq;
    pos = end;
  }
}
