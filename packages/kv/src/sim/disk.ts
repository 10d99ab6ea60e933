// Book 12.2 and 12.4: a simulated disk under one member's write-ahead log. Writes take virtual
// time; a crash loses or tears the write in flight and may lose writes that were never fsynced.
// What was synced survives restarts, and load() drops a torn final record but refuses corruption.
import type { Entry, HardState, Snapshot } from "../raft/types.js";
import { CorruptDataError, type DurableLog, type LoadedState, type MemberMeta } from "../server/deps.js";
import { decodeEntry, decodeSnapshot, encodeEntry, encodeSnapshot } from "../storage/records.js";
import type { SimClock } from "./clock.js";
import type { Rng } from "./rng.js";

export interface DiskFaults {
  /** Virtual ms one write takes, [min, max]; fsync adds syncMs. */
  writeMs: [number, number];
  syncMs: [number, number];
  /** Chance a write is slow, and how much slower (a latency spike). */
  spikeChance: number;
  spikeMs: number;
  /** At a crash, the fate of a write still in flight: lost, torn, or else complete. */
  inflightLost: number;
  inflightTorn: number;
  /** At a crash, the chance that an acknowledged but unsynced write made it to the platter. */
  unsyncedSurvive: number;
}

export const defaultDiskFaults: DiskFaults = {
  writeMs: [0.05, 0.5],
  syncMs: [0.2, 2],
  spikeChance: 0.01,
  spikeMs: 50,
  inflightLost: 0.4,
  inflightTorn: 0.3,
  unsyncedSurvive: 0.5,
};

/** One record as it goes to the file: already encoded, so the disk never shares objects with the
 * member's memory. A batch is written in order snapshot, entries, hard state (etcd's WAL order). */
type Rec =
  | { t: "meta"; meta: string }
  | { t: "batch"; snapshot?: string; entries: { index: number; raw: string }[]; hardState?: string }
  | { t: "ownSnap"; snapshot: string }
  | { t: "compact"; index: number };

/** What the file holds once replayed. entries[k] is the entry at index base + k. */
interface Image {
  meta?: string;
  hardState?: string;
  snapshot?: string;
  entries: string[];
  base: number;
  /** A record cut short by a crash: unreadable, at the very end of the file. */
  tail?: string;
}

interface InFlight {
  rec: Rec;
  sync: boolean;
  resolve: () => void;
  cancel: () => void;
}

export interface CrashReport {
  lostInFlight: number;
  tornInFlight: number;
  completedInFlight: number;
  lostUnsynced: number;
}

function clone(img: Image): Image {
  return { ...img, entries: img.entries.slice() };
}

function applyRec(img: Image, rec: Rec): void {
  switch (rec.t) {
    case "meta":
      img.meta = rec.meta;
      return;
    case "ownSnap":
      img.snapshot = rec.snapshot;
      return;
    case "compact": {
      if (img.entries.length === 0 || rec.index < img.base) return;
      const drop = Math.min(rec.index - img.base + 1, img.entries.length);
      img.entries.splice(0, drop);
      img.base += drop;
      return;
    }
    case "batch": {
      if (rec.snapshot !== undefined) {
        img.snapshot = rec.snapshot;
        img.entries = [];
        img.base = 0;
      }
      if (rec.entries.length > 0) {
        const lo = rec.entries[0]!.index;
        if (img.entries.length === 0 || lo < img.base) {
          img.entries = [];
          img.base = lo;
        } else if (lo - img.base < img.entries.length) {
          img.entries.length = lo - img.base; // writing entry i discards entries >= i
        }
        // A gap (lo beyond the last entry + 1) is written as is; load() reports it.
        if (lo - img.base > img.entries.length) {
          img.entries.length = lo - img.base;
        }
        for (const e of rec.entries) img.entries.push(e.raw);
      }
      if (rec.hardState !== undefined) img.hardState = rec.hardState;
      return;
    }
  }
}

/** The records of a write in file order, for tearing it at a record boundary. */
function pieces(rec: Rec): Rec[] {
  if (rec.t !== "batch") return [rec];
  const out: Rec[] = [];
  if (rec.snapshot !== undefined) out.push({ t: "batch", snapshot: rec.snapshot, entries: [] });
  for (const e of rec.entries) out.push({ t: "batch", entries: [e] });
  if (rec.hardState !== undefined) out.push({ t: "batch", entries: [], hardState: rec.hardState });
  return out;
}

function rawOf(rec: Rec): string {
  return JSON.stringify(rec);
}

/** One member's disk. It outlives the member: `open()` gives each incarnation its log. */
export class SimDisk {
  private durable: Image = { entries: [], base: 0 };
  private visible: Image = { entries: [], base: 0 };
  private unsynced: Rec[] = [];
  private inflight: InFlight[] = [];
  private lastCompleteAt = 0;
  private epoch = 0;
  /** Counters for summaries. */
  readonly stats = { writes: 0, syncs: 0, crashes: 0, torn: 0, lost: 0, truncatedTails: 0 };

  constructor(
    readonly name: string,
    private readonly clock: SimClock,
    private readonly rng: Rng,
    private faults: DiskFaults = defaultDiskFaults,
    private readonly trace: (line: string) => void = () => {},
  ) {}

  setFaults(f: DiskFaults): void {
    this.faults = f;
  }

  /** The durable log for the next incarnation of the member. */
  open(): DurableLog {
    const epoch = ++this.epoch;
    return new SimLog(this, epoch);
  }

  isCurrent(epoch: number): boolean {
    return epoch === this.epoch;
  }

  /** The process died: decide what the platter holds, and make every older log handle inert. */
  crash(): CrashReport {
    this.epoch++;
    this.stats.crashes++;
    const report: CrashReport = { lostInFlight: 0, tornInFlight: 0, completedInFlight: 0, lostUnsynced: 0 };
    const seq: { rec: Rec; acked: boolean }[] = [
      ...this.unsynced.map((rec) => ({ rec, acked: true })),
      ...this.inflight.map((w) => ({ rec: w.rec, acked: false })),
    ];
    for (const w of this.inflight) w.cancel();
    const f = this.faults;
    let broken = false;
    for (const { rec, acked } of seq) {
      if (broken) {
        if (acked) report.lostUnsynced++;
        else report.lostInFlight++;
        continue;
      }
      let fate: "keep" | "lost" | "torn";
      if (acked) fate = this.rng.chance(f.unsyncedSurvive) ? "keep" : this.rng.chance(0.5) ? "torn" : "lost";
      else fate = this.rng.weighted([[f.inflightLost, "lost"], [f.inflightTorn, "torn"], [Math.max(0, 1 - f.inflightLost - f.inflightTorn), "keep"]]);
      if (fate === "keep") {
        applyRec(this.durable, rec);
        if (!acked) report.completedInFlight++;
        continue;
      }
      broken = true;
      if (fate === "torn") this.tear(rec);
      if (acked) report.lostUnsynced++;
      else if (fate === "torn") report.tornInFlight++;
      else report.lostInFlight++;
    }
    this.stats.lost += report.lostInFlight + report.lostUnsynced;
    if (broken && seq.length > 0) this.stats.torn += this.durable.tail !== undefined ? 1 : 0;
    this.inflight = [];
    this.unsynced = [];
    this.lastCompleteAt = 0;
    this.visible = clone(this.durable);
    return report;
  }

  /** A prefix of the write's records reached the disk; the next one was cut short. */
  private tear(rec: Rec): void {
    const ps = pieces(rec);
    const cut = this.rng.int(0, ps.length - 1);
    for (let i = 0; i < cut; i++) applyRec(this.durable, ps[i]!);
    const raw = rawOf(ps[cut]!);
    this.durable.tail = raw.slice(0, this.rng.int(0, Math.max(0, raw.length - 2)));
    this.trace(`disk ${this.name}: torn write, ${cut}/${ps.length} records whole`);
  }

  /** A clean shutdown: every write reaches the platter (the OS flushes its cache on exit). */
  flush(): void {
    for (const w of this.inflight) {
      w.cancel();
      applyRec(this.visible, w.rec);
      this.unsynced.push(w.rec);
    }
    this.inflight = [];
    for (const r of this.unsynced) applyRec(this.durable, r);
    this.unsynced = [];
    this.lastCompleteAt = 0;
    this.visible = clone(this.durable);
  }

  /** For tests: damage a stored entry in the middle of the log (not a torn tail). */
  corruptEntry(index: number): void {
    for (const img of [this.durable, this.visible]) {
      const k = index - img.base;
      if (k < 0 || k >= img.entries.length) throw new Error(`entry ${index} is not stored`);
      const raw = img.entries[k]!;
      img.entries[k] = raw.replace(/"d":"/, '"d":"X');
    }
  }

  // ---- views for invariant checks -----------------------------------------------------------

  /** The entry at `index` as the member last wrote it (including writes still in flight). */
  entryAt(index: number): Entry | undefined {
    for (let i = this.inflight.length - 1; i >= 0; i--) {
      const rec = this.inflight[i]!.rec;
      if (rec.t === "batch") {
        const first = rec.entries[0]?.index;
        if (first !== undefined && index >= first) {
          const e = rec.entries[index - first];
          return e ? decodeEntry(e.raw, this.name) : undefined;
        }
        if (rec.snapshot !== undefined) return undefined;
      } else if (rec.t === "compact" && index <= rec.index) {
        return undefined;
      }
    }
    return entryIn(this.visible, index, this.name);
  }

  /** The newest hard state the member has handed to the disk (including writes in flight). */
  hardStateView(): HardState | undefined {
    let raw = this.visible.hardState;
    for (let i = this.inflight.length - 1; i >= 0; i--) {
      const rec = this.inflight[i]!.rec;
      if (rec.t === "batch" && rec.hardState !== undefined) {
        raw = rec.hardState;
        break;
      }
    }
    if (raw === undefined) return undefined;
    if (raw !== this.lastHs?.raw) this.lastHs = { raw, hs: JSON.parse(raw) as HardState };
    return this.lastHs.hs;
  }
  private lastHs?: { raw: string; hs: HardState };

  /** The newest snapshot that would survive a crash now (for tests). */
  peekSnapshot(): Snapshot | undefined {
    return this.durable.snapshot === undefined ? undefined : decodeSnapshot(this.durable.snapshot, this.name);
  }

  /** The entry at `index` if it would survive a crash right now. */
  durableEntryAt(index: number): Entry | undefined {
    return entryIn(this.durable, index, this.name);
  }

  /** Index of the newest snapshot that would survive a crash now (0 if none). */
  durableSnapshotIndex(): number {
    const raw = this.durable.snapshot;
    if (raw === undefined) return 0;
    if (raw !== this.lastSnap?.raw) this.lastSnap = { raw, index: (JSON.parse(raw) as { meta: { index: number } }).meta.index };
    return this.lastSnap.index;
  }
  private lastSnap?: { raw: string; index: number };

  // ---- the operations SimLog forwards -------------------------------------------------------

  loadImage(): LoadedState {
    if (this.durable.tail !== undefined) {
      this.trace(`disk ${this.name}: dropped a torn final record (${this.durable.tail.length} bytes)`);
      this.stats.truncatedTails++;
      delete this.durable.tail;
      delete this.visible.tail;
    }
    const img = this.durable;
    const where = `sim disk ${this.name}`;
    const state: LoadedState = { entries: [] };
    try {
      if (img.meta !== undefined) state.meta = JSON.parse(img.meta) as MemberMeta;
      if (img.hardState !== undefined) state.hardState = JSON.parse(img.hardState) as HardState;
    } catch {
      throw new CorruptDataError(`${where}: member metadata or hard state is not readable`);
    }
    if (img.snapshot !== undefined) state.snapshot = decodeSnapshot(img.snapshot, where);
    const after = state.snapshot?.meta.index ?? 0;
    for (let k = 0; k < img.entries.length; k++) {
      const raw = img.entries[k];
      if (raw === undefined) throw new CorruptDataError(`${where}: the log has a gap at entry ${img.base + k}`);
      const e = decodeEntry(raw, where);
      if (e.index <= after) continue;
      const expected = state.entries.length > 0 ? state.entries[state.entries.length - 1]!.index + 1 : after + 1;
      if (e.index !== expected) throw new CorruptDataError(`${where}: the log has a gap: expected entry ${expected}, found ${e.index}`);
      state.entries.push(e);
    }
    return state;
  }

  /** Calls `crash` at a random instant while the next write is in flight (etcd's
   * raftBeforeSave / raftAfterSave failpoints, roughly). */
  armCrash(crash: (() => void) | undefined): void {
    this.armed = crash;
  }
  private armed?: () => void;

  write(rec: Rec, sync: boolean): Promise<void> {
    const f = this.faults;
    let ms = this.rng.between(f.writeMs[0], f.writeMs[1]);
    if (sync) ms += this.rng.between(f.syncMs[0], f.syncMs[1]);
    if (this.rng.chance(f.spikeChance)) ms += this.rng.between(0, f.spikeMs);
    const at = Math.max(this.clock.now(), this.lastCompleteAt) + ms;
    if (this.armed) {
      const crash = this.armed;
      this.armed = undefined;
      this.clock.schedule(crash, this.rng.between(0, at - this.clock.now()), `armed crash ${this.name}`);
    }
    this.lastCompleteAt = at;
    this.stats.writes++;
    return new Promise<void>((resolve) => {
      const w: InFlight = { rec, sync, resolve, cancel: () => {} };
      w.cancel = this.clock.schedule(() => this.complete(w), at - this.clock.now(), `disk ${this.name}`);
      this.inflight.push(w);
    });
  }

  /** Called after each write completes (the cluster marks the member as touched). */
  onComplete?: () => void;

  private complete(w: InFlight): void {
    this.onComplete?.();
    const i = this.inflight.indexOf(w);
    if (i !== 0) throw new Error(`disk ${this.name}: writes completed out of order`);
    this.inflight.shift();
    applyRec(this.visible, w.rec);
    if (w.sync) {
      this.stats.syncs++;
      for (const r of this.unsynced) applyRec(this.durable, r);
      this.unsynced = [];
      applyRec(this.durable, w.rec);
    } else {
      this.unsynced.push(w.rec);
    }
    w.resolve();
  }
}

function entryIn(img: Image, index: number, name: string): Entry | undefined {
  const raw = img.entries[index - img.base];
  return raw === undefined || index < img.base ? undefined : decodeEntry(raw, name);
}

/** The DurableLog one incarnation of a member sees. After a crash every call hangs forever,
 * as the calls of a dead process would. */
class SimLog implements DurableLog {
  constructor(private readonly disk: SimDisk, private readonly epoch: number) {}

  private dead(): Promise<never> | undefined {
    return this.disk.isCurrent(this.epoch) ? undefined : new Promise<never>(() => {});
  }

  async load(): Promise<LoadedState> {
    return this.dead() ?? this.disk.loadImage();
  }

  save(batch: { hardState?: HardState; entries: Entry[]; snapshot?: Snapshot }, sync: boolean): Promise<void> {
    const d = this.dead();
    if (d) return d;
    if (!batch.snapshot && !batch.hardState && batch.entries.length === 0) return Promise.resolve();
    const rec: Rec = {
      t: "batch",
      entries: batch.entries.map((e) => ({ index: e.index, raw: encodeEntry(e) })),
      ...(batch.snapshot ? { snapshot: encodeSnapshot(batch.snapshot) } : {}),
      ...(batch.hardState ? { hardState: JSON.stringify(batch.hardState) } : {}),
    };
    return this.disk.write(rec, sync);
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.dead() ?? this.disk.write({ t: "ownSnap", snapshot: encodeSnapshot(snapshot) }, true);
  }

  saveMeta(meta: MemberMeta): Promise<void> {
    return this.dead() ?? this.disk.write({ t: "meta", meta: JSON.stringify(meta) }, true);
  }

  compact(index: number): Promise<void> {
    return this.dead() ?? this.disk.write({ t: "compact", index }, false);
  }

  async close(): Promise<void> {
    // Nothing to release; the cluster flushes the disk after a clean stop.
  }
}
