// Book 12.2: the MVCC store (etcd's mvcc package): a global revision, every key's versions kept until
// compaction, reads "as of" any retained revision, and a per-revision change log that watch replays.
import { Errors, type KeyValue } from "../types.js";
import { KeyHistory, versionBytes, type Version } from "./key-history.js";
import { inRange, isEmptyRange, lowerBound, type KeyRange } from "./key-range.js";
import { WriteTxn } from "./write-txn.js";

/** One key change inside a revision: the new value (a tombstone kv for a delete) and the value before. */
export interface Change {
  kv: KeyValue;
  tomb: boolean;
  prev?: KeyValue;
}

/** Every change made at one revision, in the order they happened. */
export interface RevisionLog {
  rev: number;
  changes: Change[];
}

/** What reads need: the revision they default to (and report), the compaction floor, and a scan. */
export interface ReadView {
  readonly rev: number;
  /** etcd's compactMainRev: reads strictly below it fail; -1 when never compacted. */
  readonly firstRev: number;
  /** Live keys in range as of atRev, at most `limit` of them (Infinity: all; 0: count only); `count` is
   * every live key in range. The objects are the store's own: copy before handing them out. */
  rangeKeys(r: KeyRange, atRev: number, limit: number): { kvs: KeyValue[]; count: number };
}

export class MvccStore implements ReadView {
  /** Every key that has a retained version, sorted (byte order, as keys are latin1 strings). */
  private keys: string[] = [];
  private readonly index = new Map<string, KeyHistory>();
  /** Changes of every revision above the compaction floor, oldest first. */
  private log: RevisionLog[] = [];
  private current = 1;
  private compactMain = -1;
  private bytes = 0;
  private writing = false;

  get rev(): number { return this.current; }
  get firstRev(): number { return this.compactMain; }
  get sizeBytes(): number { return this.bytes; }
  get keyCount(): number { return this.keys.length; }
  /** Versions currently held, live or tombstones (for tests and metrics). */
  get versionCount(): number {
    let n = 0;
    for (const h of this.index.values()) n += h.versions.length;
    return n;
  }

  history(key: string): KeyHistory | undefined {
    return this.index.get(key);
  }

  rangeKeys(r: KeyRange, atRev: number, limit: number): { kvs: KeyValue[]; count: number } {
    if (r.end === null) {
      const kv = this.index.get(r.key)?.liveAt(atRev);
      return kv ? { kvs: limit > 0 ? [kv] : [], count: 1 } : { kvs: [], count: 0 };
    }
    const kvs: KeyValue[] = [];
    let count = 0;
    if (isEmptyRange(r)) return { kvs, count };
    for (let i = lowerBound(this.keys, r.key); i < this.keys.length; i++) {
      const k = this.keys[i]!;
      if (r.end !== "" && k >= r.end) break;
      const kv = this.index.get(k)!.liveAt(atRev);
      if (!kv) continue;
      count++;
      if (kvs.length < limit) kvs.push(kv);
    }
    return { kvs, count };
  }

  /** Start the write transaction of the next revision; only one at a time. */
  beginWrite(): WriteTxn {
    if (this.writing) throw new Error("mvcc: a write txn is already open");
    this.writing = true;
    return new WriteTxn(this, this.current);
  }

  /** Called by WriteTxn: record a version in the key's history. */
  addVersion(v: Version): void {
    let h = this.index.get(v.kv.key);
    if (!h) {
      h = new KeyHistory();
      this.index.set(v.kv.key, h);
      this.keys.splice(lowerBound(this.keys, v.kv.key), 0, v.kv.key);
    }
    h.append(v);
    this.bytes += versionBytes(v);
  }

  /** Called by WriteTxn.end(): one revision for all of the txn's changes, none if it changed nothing. */
  commit(beginRev: number, changes: Change[]): void {
    this.writing = false;
    if (changes.length === 0) return;
    if (beginRev !== this.current) throw new Error("mvcc: write txn committed out of order");
    this.current = beginRev + 1;
    this.log.push({ rev: this.current, changes });
  }

  /**
   * Drop every version superseded at or before `rev`. etcd's rules: rev <= the last compaction is
   * "compacted", rev above the current revision is "future".
   */
  compact(rev: number): void {
    if (rev <= this.compactMain) throw Errors.compacted();
    if (rev > this.current) throw Errors.futureRev();
    this.compactMain = rev;
    let emptied = false;
    for (const k of this.keys) {
      const h = this.index.get(k)!;
      for (const v of h.compact(rev)) this.bytes -= versionBytes(v);
      if (h.versions.length === 0) {
        this.index.delete(k);
        emptied = true;
      }
    }
    if (emptied) this.keys = this.keys.filter((k) => this.index.has(k));
    this.log.splice(0, this.firstLogIndex(rev + 1));
  }

  /**
   * Changes at revisions >= fromRev for keys in `r`, whole revisions at a time: stops after the
   * revision at which `limit` changes were collected. `until` is the last revision scanned.
   */
  changesSince(r: KeyRange, fromRev: number, limit = Infinity): { changes: { rev: number; change: Change }[]; until: number } {
    const out: { rev: number; change: Change }[] = [];
    for (let i = this.firstLogIndex(fromRev); i < this.log.length; i++) {
      const entry = this.log[i]!;
      for (const c of entry.changes) if (inRange(r, c.kv.key)) out.push({ rev: entry.rev, change: c });
      if (out.length >= limit) return { changes: out, until: entry.rev };
    }
    return { changes: out, until: this.current };
  }

  private firstLogIndex(rev: number): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.log[mid]!.rev < rev) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Every retained key with its versions, in key order (for snapshots). */
  *entries(): IterableIterator<[string, readonly Version[]]> {
    for (const k of this.keys) yield [k, this.index.get(k)!.versions];
  }

  /** Rebuild a store from snapshot parts: versions per key (oldest first) and the two counters. */
  static fromParts(current: number, compactMain: number, keys: [string, Version[]][]): MvccStore {
    const s = new MvccStore();
    s.current = current;
    s.compactMain = compactMain;
    // The change log is every version above the compaction floor. Every revision there has changes
    // (only a change moves the revision) numbered 0.. by sub, so slots fill densely without sorting.
    const base = Math.max(compactMain, 1);
    const slots: Change[][] = [];
    for (const [, versions] of keys) {
      let prevLive: KeyValue | undefined;
      for (const v of versions) {
        s.addVersion(v);
        if (v.main > compactMain) {
          const change: Change = prevLive ? { kv: v.kv, tomb: v.tomb, prev: prevLive } : { kv: v.kv, tomb: v.tomb };
          (slots[v.main - base - 1] ??= [])[v.sub] = change;
        }
        prevLive = v.tomb ? undefined : v.kv;
      }
    }
    for (let i = 0; i < slots.length; i++) {
      const changes = slots[i];
      if (changes) s.log.push({ rev: base + 1 + i, changes });
    }
    return s;
  }
}
