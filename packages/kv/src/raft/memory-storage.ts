// Book 12.4: an in-memory stand-in for the write-ahead log (etcd-raft's MemoryStorage): the
// durable entries, hard state and latest snapshot that the Raft core reads back.
import {
  CompactedError,
  UnavailableError,
  type ConfState,
  type Entry,
  type HardState,
  type RaftStorage,
  type Snapshot,
} from "./types.js";
import { invariant, limitSize } from "./util.js";

export class MemoryStorage implements RaftStorage {
  private hardState: HardState = { term: 0, vote: "0", commit: 0 };
  private snap: Snapshot = { meta: { index: 0, term: 0, conf: { voters: [], learners: [] } }, data: "" };
  /** ents[0] is a dummy entry standing for the snapshot (its index and term); real entries follow. */
  private ents: Entry[] = [{ index: 0, term: 0, type: "normal", data: "" }];

  initialState(): { hardState: HardState; conf: ConfState } {
    return { hardState: { ...this.hardState }, conf: copyConf(this.snap.meta.conf) };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  private get offset(): number {
    return this.ents[0]!.index;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.ents.length - 1;
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    if (lo <= this.offset) throw new CompactedError();
    invariant(hi <= this.lastIndex() + 1, `entries hi ${hi} beyond last index ${this.lastIndex()}`);
    invariant(lo <= hi, `entries lo ${lo} > hi ${hi}`);
    return limitSize(this.ents.slice(lo - this.offset, hi - this.offset), maxSize);
  }

  term(i: number): number {
    if (i < this.offset) throw new CompactedError();
    if (i > this.lastIndex()) throw new UnavailableError();
    return this.ents[i - this.offset]!.term;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log by `snap`; the dummy entry then stands at its index and term. */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index < this.snap.meta.index) throw new Error("snapshot is older than the current one");
    this.snap = { meta: { ...snap.meta, conf: copyConf(snap.meta.conf) }, data: snap.data };
    this.ents = [{ index: snap.meta.index, term: snap.meta.term, type: "normal", data: "" }];
  }

  /** Records a snapshot of the application state at `index` (which must still be in the log). */
  createSnapshot(index: number, conf: ConfState, data: string): Snapshot {
    if (index < this.snap.meta.index) throw new Error("snapshot is older than the current one");
    invariant(index <= this.lastIndex(), `snapshot index ${index} beyond last index ${this.lastIndex()}`);
    const term = this.term(index); // CompactedError if the log no longer has it
    this.snap = { meta: { index, term, conf: copyConf(conf) }, data };
    return this.snap;
  }

  /** Discards entries up to and including `index`, which becomes the new dummy. */
  compact(index: number): void {
    if (index <= this.offset) return;
    invariant(index <= this.lastIndex(), `compact ${index} beyond last index ${this.lastIndex()}`);
    const i = index - this.offset;
    const dummy: Entry = { index, term: this.ents[i]!.term, type: "normal", data: "" };
    this.ents = [dummy, ...this.ents.slice(i + 1)];
  }

  /** Appends entries; anything in the log from the first new index on is replaced. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[entries.length - 1]!.index;
    if (last < first) return; // all of them are already compacted away
    if (first > entries[0]!.index) entries = entries.slice(first - entries[0]!.index);
    const at = entries[0]!.index - this.offset;
    invariant(at <= this.ents.length, `append leaves a gap: last ${this.lastIndex()}, new ${entries[0]!.index}`);
    this.ents = this.ents.slice(0, at).concat(entries);
  }
}

function copyConf(c: ConfState): ConfState {
  return { voters: [...c.voters], learners: [...c.learners] };
}
