// Book 12.4: the replicated log as one node sees it: durable entries in storage, the unstable
// tail, and the two cursors (committed: known replicated on a quorum; applied: fed to the app).
import { CompactedError, UnavailableError, type Entry, type RaftStorage, type Snapshot } from "./types.js";
import { Unstable } from "./unstable.js";
import { invariant, limitSize } from "./util.js";

export class RaftLog {
  readonly storage: RaftStorage;
  readonly unstable: Unstable;
  /** Highest index known to be stored on a quorum. Never decreases. */
  committed: number;
  /** Highest index the application has applied. */
  applied: number;
  /** Highest index handed to the application in a Ready (applied <= applying <= committed). */
  applying: number;

  constructor(storage: RaftStorage) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
    this.applying = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term of entry i; throws CompactedError / UnavailableError outside [firstIndex-1, lastIndex]. */
  term(i: number): number {
    if (i < this.firstIndex() - 1) throw new CompactedError();
    if (i > this.lastIndex()) throw new UnavailableError();
    return this.unstable.maybeTerm(i) ?? this.storage.term(i);
  }

  /** Term of entry i, or 0 when it is compacted or not there. */
  termOrZero(i: number): number {
    try {
      return this.term(i);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return 0;
      throw e;
    }
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    return t;
  }

  matchTerm(i: number, t: number): boolean {
    try {
      return this.term(i) === t;
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return false;
      throw e;
    }
  }

  /** Raft's voting rule (paper 5.4.1): is a log ending at (index, term) at least as up to date? */
  isUpToDate(index: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && index >= this.lastIndex());
  }

  /** Appends at the end or after a truncation. Never truncates committed entries. */
  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    invariant(after >= this.committed, `append after ${after} would truncate committed ${this.committed}`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The follower's side of AppendEntries: if our log has (index, logTerm), merge `ents`
   * (cutting off a conflicting suffix) and advance commit. Returns the last new index, or
   * undefined when the consistency check failed.
   */
  maybeAppend(index: number, logTerm: number, commit: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      invariant(ci > this.committed, `conflict at ${ci} with committed ${this.committed}`);
      this.append(ents.slice(ci - index - 1));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** First index among ents whose term differs from ours (or that we lack); 0 if none. */
  findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast backtracking: the largest index <= `index` whose term is <= `term`, with that term.
   * Every entry above it has a term greater than `term` and so cannot match a log whose
   * entry at `index` has `term`.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (;;) {
      let t: number;
      try {
        t = this.term(index);
      } catch (e) {
        if (e instanceof CompactedError || e instanceof UnavailableError) return { index, term: 0 };
        throw e;
      }
      if (t <= term) return { index, term: t };
      index--;
    }
  }

  commitTo(i: number): void {
    if (i <= this.committed) return; // commit never decreases
    invariant(i <= this.lastIndex(), `commit ${i} beyond last index ${this.lastIndex()}`);
    this.committed = i;
  }

  /** Leader's commit rule (paper 5.4.2, figure 8): only an entry of the current term is committed by counting. */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.termOrZero(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  /** Entries in [lo, hi), at most maxSize bytes (always at least one when lo < hi). */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError();
    invariant(lo <= hi && hi <= this.lastIndex() + 1, `slice [${lo}, ${hi}) out of range`);
    if (lo === hi) return [];
    const off = this.unstable.offset;
    let out: Entry[] = [];
    if (lo < off) {
      const stop = Math.min(hi, off);
      out = this.storage.entries(lo, stop, maxSize);
      if (out.length < stop - lo) return out; // the size limit cut it short
    }
    if (hi > off) {
      const from = Math.max(lo, off);
      const un = this.unstable.entries.slice(from - off, hi - off);
      out = out.length > 0 ? out.concat(un) : un;
    }
    return limitSize(out, maxSize);
  }

  /** Entries from lo to the end of the log, limited by maxSize. */
  entriesFrom(lo: number, maxSize: number): Entry[] {
    return this.slice(lo, this.lastIndex() + 1, maxSize);
  }

  /** The newest snapshot: an unstable one just received, or storage's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** Committed entries not yet handed to the application (none while a snapshot is pending). */
  nextCommittedEntries(): Entry[] {
    if (this.hasPendingSnapshot()) return [];
    const lo = this.applying + 1;
    const hi = this.committed + 1;
    if (lo >= hi) return [];
    return this.slice(lo, hi, Number.POSITIVE_INFINITY);
  }

  hasNextCommittedEntries(): boolean {
    return !this.hasPendingSnapshot() && this.applying < this.committed;
  }

  acceptApplying(i: number): void {
    invariant(i <= this.committed, `applying ${i} beyond commit ${this.committed}`);
    this.applying = Math.max(this.applying, i);
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    invariant(i >= this.applied && i <= this.committed, `applied ${i} outside [${this.applied}, ${this.committed}]`);
    this.applied = i;
    this.applying = Math.max(this.applying, i);
  }

  /** Replaces the log by a snapshot received from the leader. */
  restore(s: Snapshot): void {
    invariant(s.meta.index >= this.committed, `restoring snapshot ${s.meta.index} below commit ${this.committed}`);
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }
}
