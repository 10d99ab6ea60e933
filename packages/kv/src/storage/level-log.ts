// Book 12.4: the write-ahead log on disk. Nothing is acknowledged to a client before the batch
// holding its entry was made durable. Two parts:
// - LevelDB (through `level`) holds the log entries, hard state, snapshot and member identity;
// - each save is first written, synced, as one record to a preallocated segment file (the WAL
//   proper: overwriting allocated blocks with O_DSYNC needs no file-system journal commit, so
//   it costs a fraction of a synced level write, as etcd's preallocated WAL files do). The
//   saved operations are kept in memory and put into level, in one synced batch, when a
//   segment is full ("checkpoint"); a marker in level says which records level already holds.
//   After a crash, load() replays the records past the marker into level first.
import { closeSync, constants, fstatSync, fsyncSync, openSync, readdirSync, readFileSync, statSync, write as fsWrite, writeSync } from "node:fs";
import { join } from "node:path";
import { Level } from "level";
import type { Entry, HardState, Snapshot } from "../raft/types.js";
import { CorruptDataError, type DurableLog, type LoadedState, type MemberMeta } from "../server/deps.js";
import { decodeEntry, decodeSnapshot, decodeWalRecords, encodeEntry, encodeSnapshot, encodeWalRecord, type WalOp } from "./records.js";

const META = "m";
const HARD_STATE = "h";
const SNAPSHOT = "s";
const ENTRY = "e"; // followed by the index as 16 hex digits, so key order is index order
/** The checkpoint marker: level holds every WAL record up to `seq`; newer records start at the
 * beginning of segment `seg` (records there up to `seq` are old and skipped). */
const WAL_MARK = "w";

const entryKey = (i: number) => ENTRY + i.toString(16).padStart(16, "0");

type Op = WalOp;

/** Two segments, used in turn. Their names do not look like LevelDB's own files. */
const SEGMENT_NAMES = ["corekube-wal-0", "corekube-wal-1"];
const DEFAULT_SEGMENT_BYTES = 4 * 1024 * 1024;

export interface SyncTimer {
  /** Called with the seconds each synced write took (etcd_disk_wal_fsync_duration_seconds). */
  observeSync?(seconds: number): void;
}

export interface LevelLogOptions {
  /** Bytes of each preallocated WAL segment (default 4 MiB). */
  segmentBytes?: number;
}

interface Mark {
  seq: number;
  seg: number;
}

function pwriteAll(fd: number, buf: Buffer, pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number) =>
      fsWrite(fd, buf, off, buf.length - off, pos + off, (err, n) => {
        if (err) reject(err);
        else if (off + n < buf.length) step(off + n);
        else resolve();
      });
    step(0);
  });
}

export class LevelLog implements DurableLog {
  private first = 0; // lowest stored entry index (0 = none stored)
  private last = 0; // highest stored entry index

  /** Segment file descriptors (O_DSYNC), the one in use and where the next record goes. */
  private readonly fds: number[];
  private cur = 0;
  private pos = 0;
  /** Sequence number of the last record written. */
  private seq = 0;
  /** The last sequence number written into each segment in its current use. */
  private readonly segLast = [0, 0];
  /** The highest sequence number level holds for sure (its marker is synced). */
  private durableSeq = 0;
  /** Operations written to the WAL (or not needing it) that level does not have yet, in order. */
  private pending: Op[] = [];
  /** Level writes of checkpoints, one after another. */
  private levelChain: Promise<void> = Promise.resolve();
  /** A failed write: the log on disk may have a hole, so nothing more is written. */
  private failed: Error | undefined;

  private constructor(
    private readonly db: Level<string, string>,
    private readonly dir: string,
    private readonly timer: SyncTimer,
    private readonly segmentBytes: number,
  ) {
    this.fds = SEGMENT_NAMES.map((name) => LevelLog.openSegment(join(dir, name), segmentBytes));
  }

  static async open(dir: string, timer: SyncTimer = {}, opts: LevelLogOptions = {}): Promise<LevelLog> {
    // A large write buffer: the log is appended and trimmed all the time, and fewer memtable
    // flushes mean fewer compaction stalls under a synced write.
    const db = new Level<string, string>(dir, { valueEncoding: "utf8", keyEncoding: "utf8", writeBufferSize: 64 * 1024 * 1024 });
    await db.open();
    const log = new LevelLog(db, dir, timer, opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
    try {
      await log.replay();
    } catch (e) {
      for (const fd of log.fds) closeSync(fd);
      await db.close();
      throw e;
    }
    return log;
  }

  /** Opens a segment, first filling it with zeros to its full size (once), so that later
   * writes only overwrite blocks that are already allocated. */
  private static openSegment(path: string, bytes: number): number {
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_DSYNC, 0o600);
    const size = fstatSync(fd).size;
    if (size < bytes) {
      const zeros = Buffer.alloc(Math.min(1024 * 1024, bytes - size));
      for (let at = size; at < bytes; at += zeros.length) writeSync(fd, zeros, 0, Math.min(zeros.length, bytes - at), at);
      fsyncSync(fd);
      const d = openSync(join(path, ".."), "r");
      try {
        fsyncSync(d);
      } finally {
        closeSync(d);
      }
    }
    return fd;
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
    await this.checkpointNow([]); // level alone is read below
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

  /** At open: puts the WAL records that level may lack (those past its marker) into level, in
   * one synced batch, so that level alone is the whole state; new records start afresh. */
  private async replay(): Promise<void> {
    let mark: Mark = { seq: 0, seg: 0 };
    const rawMark = await this.db.get(WAL_MARK);
    if (rawMark !== undefined) {
      try {
        mark = JSON.parse(rawMark) as Mark;
      } catch {
        throw new CorruptDataError(`data dir ${this.dir}: the write-ahead log marker is not readable`);
      }
    }
    const ops: Op[] = [];
    let next = mark.seq + 1;
    // The marker's segment holds, from its start, records level already has (up to the
    // marker) and then newer ones; the other segment continues only if its first record is
    // the next one (anything else there is older).
    for (const rec of decodeWalRecords(readFileSync(join(this.dir, SEGMENT_NAMES[mark.seg]!)))) {
      if (rec.seq <= mark.seq) continue;
      if (rec.seq !== next) break;
      for (const op of rec.ops) ops.push(op);
      next++;
    }
    for (const rec of decodeWalRecords(readFileSync(join(this.dir, SEGMENT_NAMES[1 - mark.seg]!)))) {
      if (rec.seq !== next) break;
      for (const op of rec.ops) ops.push(op);
      next++;
    }
    this.seq = next - 1;
    if (ops.length > 0 || mark.seg !== 0) {
      // Every record is in level after this; both segments may be overwritten from now on.
      ops.push({ type: "put", key: WAL_MARK, value: JSON.stringify({ seq: this.seq, seg: 0 } satisfies Mark) });
      await this.levelWrite(ops);
    }
    this.durableSeq = this.seq;
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
    const t0 = performance.now();
    // A snapshot from the leader may be large: it goes straight into level with everything before it.
    if (batch.snapshot) await this.checkpointNow(ops);
    else await this.appendRecord(ops);
    if (sync) this.timer.observeSync?.((performance.now() - t0) / 1000);
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    await this.levelWrite([{ type: "put", key: SNAPSHOT, value: encodeSnapshot(snapshot) }]);
  }

  async saveMeta(meta: MemberMeta): Promise<void> {
    await this.levelWrite([{ type: "put", key: META, value: JSON.stringify(meta) }]);
  }

  async compact(index: number): Promise<void> {
    if (this.first === 0 || index < this.first) return;
    const upto = Math.min(index, this.last);
    // Not urgent (a crash only leaves entries below the snapshot, which load skips): the
    // deletes go to level with the next checkpoint, after the puts they undo.
    this.dropRange(this.pending, this.first, upto);
    if (upto >= this.last) this.first = this.last = 0;
    else this.first = upto + 1;
  }

  diskBytes(): number {
    let n = 0;
    for (const f of readdirSync(this.dir)) {
      if (SEGMENT_NAMES.includes(f)) continue; // the WAL is not the store (etcd's dbSize is its bbolt file)
      try {
        n += statSync(join(this.dir, f)).size;
      } catch {
        // removed by a level compaction meanwhile
      }
    }
    return n;
  }

  async close(): Promise<void> {
    try {
      await this.checkpointNow([]);
    } finally {
      for (const fd of this.fds) closeSync(fd);
      await this.db.close();
    }
  }

  private dropRange(ops: Op[], lo: number, hi: number): void {
    if (lo === 0) return;
    for (let i = lo; i <= hi; i++) ops.push({ type: "del", key: entryKey(i) });
  }

  /** One synced record in the WAL; a full segment hands its operations to level and the other
   * segment is used next. */
  private async appendRecord(ops: Op[]): Promise<void> {
    if (this.failed) throw this.failed;
    const rec = encodeWalRecord(this.seq + 1, ops);
    if (rec.length > this.segmentBytes) return this.checkpointNow(ops);
    if (this.pos + rec.length > this.segmentBytes) {
      const other = 1 - this.cur;
      // The other segment's old records must be in level before they are overwritten.
      if (this.durableSeq < this.segLast[other]!) await this.levelChain;
      if (this.failed) throw this.failed;
      if (this.durableSeq < this.segLast[other]!) return this.checkpointNow(ops);
      this.startCheckpoint(other);
      this.cur = other;
      this.pos = 0;
    }
    const at = this.pos;
    this.pos += rec.length;
    try {
      await pwriteAll(this.fds[this.cur]!, rec, at);
    } catch (e) {
      this.failed = e as Error;
      throw e;
    }
    this.seq++;
    this.segLast[this.cur] = this.seq;
    for (const op of ops) this.pending.push(op);
  }

  /** In the background: level takes every pending operation; WAL records after them start at
   * the beginning of segment `seg`. */
  private startCheckpoint(seg: number): void {
    const ops = this.pending;
    this.pending = [];
    const seq = this.seq;
    ops.push({ type: "put", key: WAL_MARK, value: JSON.stringify({ seq, seg } satisfies Mark) });
    this.levelChain = this.levelChain.then(async () => {
      if (this.failed) return;
      try {
        await this.db.batch(ops, { sync: true } as never);
        this.durableSeq = Math.max(this.durableSeq, seq);
      } catch (e) {
        this.failed = e as Error;
      }
    });
  }

  /** Now: level takes every pending operation and `ops` (which are not in the WAL); records
   * written later continue in the current segment. */
  private async checkpointNow(ops: Op[]): Promise<void> {
    await this.levelChain;
    if (this.failed) throw this.failed;
    if (this.pending.length === 0 && ops.length === 0 && this.durableSeq === this.seq) return;
    const all = this.pending;
    this.pending = [];
    for (const op of ops) all.push(op);
    const seq = this.seq;
    all.push({ type: "put", key: WAL_MARK, value: JSON.stringify({ seq, seg: this.cur } satisfies Mark) });
    await this.levelWrite(all);
    this.durableSeq = Math.max(this.durableSeq, seq);
  }

  private async levelWrite(ops: Op[]): Promise<void> {
    const run = this.levelChain.then(() => this.db.batch(ops, { sync: true } as never));
    this.levelChain = run.catch(() => {});
    await run;
  }
}
