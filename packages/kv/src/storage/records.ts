// Book 12.4: how one write-ahead-log record and one snapshot look on disk, with their checksums.
import type { Entry, Snapshot } from "../raft/types.js";
import { CorruptDataError } from "../server/deps.js";
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
