// Book 12.2: one write transaction of the MVCC store (etcd's storeTxnWrite). All its changes land at one
// revision (beginRev + 1) with increasing sub-revisions; the store's revision moves at end(), if anything changed.
import type { KeyValue } from "../types.js";
import type { KeyRange } from "./key-range.js";
import type { Change, MvccStore, ReadView } from "./store.js";

export class WriteTxn implements ReadView {
  readonly changes: Change[] = [];
  private done = false;

  constructor(private readonly store: MvccStore, readonly beginRev: number) {}

  /** Reads inside the txn see its own writes. */
  get rev(): number {
    return this.changes.length > 0 ? this.beginRev + 1 : this.beginRev;
  }

  get firstRev(): number {
    return this.store.firstRev;
  }

  rangeKeys(r: KeyRange, atRev: number, limit: number): { kvs: KeyValue[]; count: number } {
    return this.store.rangeKeys(r, atRev, limit);
  }

  /** Write key = value; keeps create_revision and bumps version if the key exists. */
  put(key: string, value: string, lease: string): { kv: KeyValue; prev: KeyValue | undefined } {
    this.assertOpen();
    const main = this.beginRev + 1;
    const prev = this.store.history(key)?.liveAt(main);
    const kv: KeyValue = {
      key,
      createRevision: prev ? prev.createRevision : main,
      modRevision: main,
      version: prev ? prev.version + 1 : 1,
      value,
      lease,
    };
    this.store.addVersion({ main, sub: this.changes.length, kv, tomb: false });
    this.changes.push(prev ? { kv, tomb: false, prev } : { kv, tomb: false });
    return { kv, prev };
  }

  /** Delete every live key in range (in key order); returns what was deleted. */
  deleteRange(r: KeyRange): KeyValue[] {
    this.assertOpen();
    const main = this.beginRev + 1;
    const { kvs } = this.store.rangeKeys(r, this.rev, Infinity);
    for (const prev of kvs) {
      const kv: KeyValue = { key: prev.key, createRevision: 0, modRevision: main, version: 0, value: "", lease: "0" };
      this.store.addVersion({ main, sub: this.changes.length, kv, tomb: true });
      this.changes.push({ kv, tomb: true, prev });
    }
    return kvs;
  }

  /** Commit: the store's revision after it. */
  end(): number {
    this.assertOpen();
    this.done = true;
    this.store.commit(this.beginRev, this.changes);
    return this.store.rev;
  }

  private assertOpen(): void {
    if (this.done) throw new Error("mvcc: write txn already ended");
  }
}
