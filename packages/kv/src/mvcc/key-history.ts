// Book 12.2: one key's versions in the MVCC store (etcd's keyIndex): every put or delete of the key
// is kept at its revision, so a read "as of revision R" picks the newest version at or below R.
import type { KeyValue } from "../types.js";

/** One version of a key. A tombstone marks a delete: reads at or after it see no key. */
export interface Version {
  /** The store revision of the write. */
  main: number;
  /** The write's position inside its revision (a txn can change several keys at one revision). */
  sub: number;
  /** For a tombstone: key and modRevision only, the rest zero (what a DELETE event carries). */
  kv: KeyValue;
  tomb: boolean;
}

/** Approximate bytes one version costs (for dbSize); the constant stands for revisions and bookkeeping. */
export function versionBytes(v: Version): number {
  return v.kv.key.length + v.kv.value.length + 48;
}

export class KeyHistory {
  /** Oldest first; (main, sub) strictly increasing. */
  readonly versions: Version[] = [];

  /** Index of the newest version with main <= rev, or -1. */
  indexAt(rev: number): number {
    const vs = this.versions;
    let lo = 0;
    let hi = vs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (vs[mid]!.main <= rev) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** The live value as of `rev`, or undefined if the key did not exist then. */
  liveAt(rev: number): KeyValue | undefined {
    const i = this.indexAt(rev);
    if (i < 0) return undefined;
    const v = this.versions[i]!;
    return v.tomb ? undefined : v.kv;
  }

  /** The newest version, live or not. */
  last(): Version | undefined {
    return this.versions[this.versions.length - 1];
  }

  append(v: Version): void {
    const prev = this.last();
    if (prev && (v.main < prev.main || (v.main === prev.main && v.sub <= prev.sub))) {
      throw new Error(`mvcc: version ${v.main}.${v.sub} is not after ${prev.main}.${prev.sub}`);
    }
    this.versions.push(v);
  }

  /** The version written just before (main, sub), or undefined. Used for a watch event's prev_kv. */
  before(main: number, sub: number): Version | undefined {
    let i = this.indexAt(main);
    while (i >= 0 && this.versions[i]!.main === main && this.versions[i]!.sub >= sub) i--;
    return i >= 0 ? this.versions[i] : undefined;
  }

  /**
   * Compaction at `rev`: keep only the newest version <= rev (dropped too if it is a tombstone) and
   * everything after it. Returns the versions removed; the key is gone when none remain.
   */
  compact(rev: number): Version[] {
    const i = this.indexAt(rev);
    if (i < 0) return [];
    const cut = this.versions[i]!.tomb ? i + 1 : i;
    return this.versions.splice(0, cut);
  }
}
