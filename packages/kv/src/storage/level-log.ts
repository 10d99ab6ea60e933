// Book 12.4: the write-ahead log on disk (LevelDB through `level`). Nothing is acknowledged to a
// client before the batch holding its entry was written with sync:true, i.e. fsynced.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Level } from "level";
import type { Entry, HardState, Snapshot } from "../raft/types.js";
import { CorruptDataError, type DurableLog, type LoadedState, type MemberMeta } from "../server/deps.js";
import { decodeEntry, decodeSnapshot, encodeEntry, encodeSnapshot } from "./records.js";

const META = "m";
const HARD_STATE = "h";
const SNAPSHOT = "s";
const ENTRY = "e"; // followed by the index as 16 hex digits, so key order is index order

const entryKey = (i: number) => ENTRY + i.toString(16).padStart(16, "0");

type Op = { type: "put"; key: string; value: string } | { type: "del"; key: string };

export interface SyncTimer {
  /** Called with the seconds each synced write took (etcd_disk_wal_fsync_duration_seconds). */
  observeSync?(seconds: number): void;
}

export class LevelLog implements DurableLog {
  private first = 0; // lowest stored entry index (0 = none stored)
  private last = 0; // highest stored entry index

  private constructor(private readonly db: Level<string, string>, private readonly dir: string, private readonly timer: SyncTimer) {}

  static async open(dir: string, timer: SyncTimer = {}): Promise<LevelLog> {
    // A large write buffer: the log is appended and trimmed all the time, and fewer memtable
    // flushes mean fewer compaction stalls under a synced write.
    const db = new Level<string, string>(dir, { valueEncoding: "utf8", keyEncoding: "utf8", writeBufferSize: 64 * 1024 * 1024 });
    await db.open();
    return new LevelLog(db, dir, timer);
  }

  /** Just the member's identity, if this data dir was used before. */
  async readMeta(): Promise<MemberMeta | undefined> {
    const raw = await this.db.get(META);
    if (raw === undefined) return undefined;
    try {
      return JSON.parse(raw) as MemberMeta;
    } catch {
      throw new CorruptDataError(`data dir ${this.dir}: member metadata is not readable`);
    }
  }

  async load(): Promise<LoadedState> {
    const where = `data dir ${this.dir}`;
    const rawMeta = await this.db.get(META);
    const rawHs = await this.db.get(HARD_STATE);
    const rawSnap = await this.db.get(SNAPSHOT);
    const state: LoadedState = { entries: [] };
    try {
      if (rawMeta !== undefined) state.meta = JSON.parse(rawMeta) as MemberMeta;
      if (rawHs !== undefined) state.hardState = JSON.parse(rawHs) as HardState;
    } catch {
      throw new CorruptDataError(`${where}: member metadata or hard state is not readable`);
    }
    if (rawSnap !== undefined) state.snapshot = decodeSnapshot(rawSnap, where);
    const after = state.snapshot?.meta.index ?? 0;
    for await (const [, raw] of this.db.iterator({ gte: ENTRY, lt: ENTRY + "~" })) {
      const e = decodeEntry(raw, where);
      if (e.index <= after) continue; // compaction of old entries may lag a saved snapshot
      const prev = state.entries.at(-1);
      const expected = prev ? prev.index + 1 : after + 1;
      if (e.index !== expected) {
        throw new CorruptDataError(`${where}: the log has a gap: expected entry ${expected}, found ${e.index}`);
      }
      state.entries.push(e);
    }
    this.first = state.entries[0]?.index ?? 0;
    this.last = state.entries.at(-1)?.index ?? 0;
    return state;
  }

  async save(batch: { hardState?: HardState; entries: Entry[]; snapshot?: Snapshot }, sync: boolean): Promise<void> {
    const ops: Op[] = [];
    if (batch.snapshot) {
      ops.push({ type: "put", key: SNAPSHOT, value: encodeSnapshot(batch.snapshot) });
      this.dropRange(ops, this.first, this.last);
      this.first = this.last = 0;
    }
    if (batch.entries.length > 0) {
      const lo = batch.entries[0]!.index;
      const hi = batch.entries.at(-1)!.index;
      // Entries from lo on are replaced; stale ones beyond the new tail must go too.
      if (this.last > hi) this.dropRange(ops, Math.max(hi + 1, this.first), this.last);
      for (const e of batch.entries) ops.push({ type: "put", key: entryKey(e.index), value: encodeEntry(e) });
      if (this.first === 0 || lo < this.first) this.first = lo;
      this.last = hi;
    }
    if (batch.hardState) ops.push({ type: "put", key: HARD_STATE, value: JSON.stringify(batch.hardState) });
    if (ops.length === 0) return;
    await this.write(ops, sync);
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    await this.write([{ type: "put", key: SNAPSHOT, value: encodeSnapshot(snapshot) }], true);
  }

  async saveMeta(meta: MemberMeta): Promise<void> {
    await this.write([{ type: "put", key: META, value: JSON.stringify(meta) }], true);
  }

  async compact(index: number): Promise<void> {
    if (this.first === 0 || index < this.first) return;
    const upto = Math.min(index, this.last);
    const ops: Op[] = [];
    this.dropRange(ops, this.first, upto);
    if (upto >= this.last) this.first = this.last = 0;
    else this.first = upto + 1;
    await this.write(ops, false);
  }

  diskBytes(): number {
    let n = 0;
    for (const f of readdirSync(this.dir)) {
      try {
        n += statSync(join(this.dir, f)).size;
      } catch {
        // removed by a level compaction meanwhile
      }
    }
    return n;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  private dropRange(ops: Op[], lo: number, hi: number): void {
    if (lo === 0) return;
    for (let i = lo; i <= hi; i++) ops.push({ type: "del", key: entryKey(i) });
  }

  private async write(ops: Op[], sync: boolean): Promise<void> {
    const t0 = performance.now();
    await this.db.batch(ops, { sync } as never);
    if (sync) this.timer.observeSync?.((performance.now() - t0) / 1000);
  }
}
