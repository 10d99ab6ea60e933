// Book 12.4: the tail of the log that is not yet durable (entries and maybe a snapshot that the
// driver still has to write to its write-ahead log before Raft may count on them).
import type { Entry, Snapshot } from "./types.js";
import { invariant } from "./util.js";

export class Unstable {
  /** A snapshot received from the leader and not yet persisted. */
  snapshot: Snapshot | undefined;
  /** Entries not yet persisted; entries[0] has index `offset`. */
  entries: Entry[] = [];
  offset: number;
  /** Entries below this index were already handed out in a Ready and are being written. */
  offsetInProgress: number;
  /** The snapshot was already handed out in a Ready. */
  snapshotInProgress = false;

  constructor(offset: number) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.meta.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.meta.index;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      return this.snapshot && this.snapshot.meta.index === i ? this.snapshot.meta.term : undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset]!.term;
  }

  /** Entries not yet handed out for persisting. */
  nextEntries(): Entry[] {
    const from = this.offsetInProgress - this.offset;
    return from >= this.entries.length ? [] : this.entries.slice(from);
  }

  nextSnapshot(): Snapshot | undefined {
    return this.snapshot && !this.snapshotInProgress ? this.snapshot : undefined;
  }

  /** Marks everything current as handed out (called when a Ready is produced). */
  acceptInProgress(): void {
    if (this.entries.length > 0) this.offsetInProgress = this.offset + this.entries.length;
    if (this.snapshot) this.snapshotInProgress = true;
  }

  /** The driver persisted entries up to (index, term): drop them from here. */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    if (t === undefined || t !== term || index < this.offset) return; // replaced meanwhile
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
  }

  stableSnapTo(index: number): void {
    if (this.snapshot && this.snapshot.meta.index === index) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  restore(s: Snapshot): void {
    this.offset = s.meta.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  /** Appends `ents`, first cutting off any entries at or after ents[0].index. */
  truncateAndAppend(ents: Entry[]): void {
    if (ents.length === 0) return;
    const from = ents[0]!.index;
    const end = this.offset + this.entries.length;
    if (from === end) {
      this.entries = this.entries.concat(ents);
    } else if (from <= this.offset) {
      // The whole unstable part is replaced (the driver's append truncates the stored suffix too).
      this.entries = ents.slice();
      this.offset = from;
      this.offsetInProgress = from;
    } else {
      invariant(from < end, `unstable append leaves a gap at ${end}..${from}`);
      this.entries = this.entries.slice(0, from - this.offset).concat(ents);
      this.offsetInProgress = Math.min(this.offsetInProgress, from);
    }
  }
}
