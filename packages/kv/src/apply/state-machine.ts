// Book 12.2/12.4: the replicated state machine of `corekube kv` (MVCC store + lease table). Every member
// applies the same committed proposals in order, so all hold the same state. Pure and synchronous.
import {
  Errors, EtcdError, Limits, type CompactionResponse, type Id, type LeaseGrantResponse, type RangeRequest, type RangeResponse, type TxnRequest, type TxnResponse, type WatchEvent,
} from "../types.js";
import { Lessor } from "../lease/lessor.js";
import { keyRange } from "../mvcc/key-range.js";
import { dumpStore, loadStore, type StoreData } from "../mvcc/snapshot.js";
import { MvccStore, type Change } from "../mvcc/store.js";
import { copyKv, header } from "./header.js";
import { checkPutKey, checkPutLease, execDelete, execPut } from "./ops.js";
import { doRange } from "./range.js";
import { checkPath, decide, execPath, isReadOnly } from "./txn.js";
import type { ApplyOutcome, Proposal } from "./types.js";
import { checkDelete, checkPut, checkRange, checkTxn } from "./validate.js";

export interface StateMachineOptions {
  /** Granted TTLs are raised to this (etcd: ceil(1.5 x election timeout), 2 s by default). */
  minLeaseTTL?: number;
}

const SNAPSHOT_FORMAT = "corekube-kv-state/1";

interface SnapshotData {
  format: string;
  store: StoreData;
  leases: [Id, number][];
}

function toEvent(c: Change, withPrev: boolean): WatchEvent {
  const ev: WatchEvent = { type: c.tomb ? "DELETE" : "PUT", kv: copyKv(c.kv) };
  if (withPrev && c.prev) ev.prevKv = copyKv(c.prev);
  return ev;
}

export class StateMachine {
  private store: MvccStore;
  private lessor: Lessor;

  constructor(opts: StateMachineOptions = {}) {
    this.store = new MvccStore();
    this.lessor = new Lessor(opts.minLeaseTTL ?? Limits.minLeaseTTL);
  }

  get revision(): number { return this.store.rev; }
  /** 0 = never compacted. */
  get compactRevision(): number { return Math.max(0, this.store.firstRev); }

  /** Apply one committed proposal. Request errors go in outcome.error (the same on every member). */
  apply(p: Proposal): ApplyOutcome {
    const before = this.store.rev;
    let changes: Change[] = [];
    const done = (result: unknown): ApplyOutcome => ({
      result,
      // Live events carry prevKv; the watch hub drops it for watchers that did not ask.
      events: changes.map((c) => toEvent(c, true)),
      revision: this.store.rev,
    });
    try {
      const cmd = p.cmd;
      switch (cmd.op) {
        case "put": {
          const req = cmd.req;
          const err = checkPut(req) ?? checkPutLease(this.lessor, req) ?? checkPutKey(this.store, req);
          if (err) throw err;
          const txn = this.store.beginWrite();
          const resp = execPut(txn, this.lessor, req);
          changes = txn.changes;
          txn.end();
          return done(resp);
        }
        case "deleteRange": {
          const err = checkDelete(cmd.req);
          if (err) throw err;
          const txn = this.store.beginWrite();
          const resp = execDelete(txn, this.lessor, cmd.req);
          changes = txn.changes;
          txn.end();
          return done(resp);
        }
        case "txn": {
          const { resp, changes: c } = this.txn(cmd.req);
          changes = c;
          return done(resp);
        }
        case "compaction": {
          this.store.compact(cmd.req.revision);
          const resp: CompactionResponse = { header: header(this.store.rev) };
          return done(resp);
        }
        case "leaseGrant": {
          const lease = this.lessor.grant(cmd.req.ID, cmd.req.TTL);
          if (lease instanceof EtcdError) throw lease;
          const resp: LeaseGrantResponse = { header: header(this.store.rev), ID: lease.ID, TTL: lease.TTL };
          return done(resp);
        }
        case "leaseRevoke": {
          const keys = this.lessor.remove(cmd.req.ID);
          if (!keys) throw Errors.leaseNotFound();
          const txn = this.store.beginWrite();
          for (const key of keys) txn.deleteRange(keyRange(key));
          changes = txn.changes;
          txn.end();
          return done({ header: header(this.store.rev) });
        }
        default:
          throw Errors.invalid(`etcdserver: unknown command ${(cmd as { op: unknown }).op}`);
      }
    } catch (e) {
      if (!(e instanceof EtcdError)) throw e;
      if (this.store.rev !== before) throw new Error("apply: a failed request changed the store");
      return { error: e, events: [], revision: this.store.rev };
    }
  }

  private txn(req: TxnRequest): { resp: TxnResponse; changes: Change[] } {
    const err = checkTxn(req);
    if (err) throw err;
    const readOnly = isReadOnly(req);
    const path = decide(this.store, req);
    const bad = checkPath(this.store, this.lessor, path, !readOnly);
    if (bad) throw bad;
    if (readOnly) {
      const resp = execPath(this.store, null, this.lessor, path);
      resp.header = header(this.store.rev);
      return { resp, changes: [] };
    }
    const txn = this.store.beginWrite();
    const resp = execPath(txn, txn, this.lessor, path);
    const changes = txn.changes;
    resp.header = header(txn.end());
    return { resp, changes };
  }

  /** Read path (after ReadIndex for linearizable reads). Throws EtcdError. */
  range(req: RangeRequest): RangeResponse {
    const err = checkRange(req);
    if (err) throw err;
    return doRange(this.store, req);
  }

  /** A txn with only ranges in its branches, served without a log entry. Throws EtcdError. */
  readOnlyTxn(req: TxnRequest): TxnResponse {
    if (!isReadOnly(req)) throw Errors.invalid("etcdserver: txn has writes, it must go through raft");
    return this.txn(req).resp;
  }

  leaseIds(): string[] {
    return this.lessor.ids();
  }

  leaseInfo(id: string): { ID: string; TTL: number; keys: string[] } | undefined {
    const l = this.lessor.get(id);
    return l && { ID: l.ID, TTL: l.TTL, keys: [...l.keys].sort() };
  }

  sizeBytes(): number {
    return this.store.sizeBytes + this.lessor.size * 32;
  }

  /** Held versions (live and tombstones) and keys, to see compaction at work. */
  stats(): { keys: number; versions: number } {
    return { keys: this.store.keyCount, versions: this.store.versionCount };
  }

  /**
   * Events at revisions >= fromRev for keys in [key, rangeEnd), in revision then sub-revision order.
   * With `limit`, stops after the revision at which `limit` events were collected (a revision is never
   * split). `until` is the last revision scanned (the current revision when it read to the end).
   */
  history(key: string, rangeEnd: string | undefined, fromRev: number, prevKv: boolean, limit?: number): { events: WatchEvent[]; until: number } {
    if (fromRev <= this.compactRevision) throw Errors.compacted();
    const { changes, until } = this.store.changesSince(keyRange(key, rangeEnd), fromRev, limit ?? Infinity);
    return { events: changes.map(({ change }) => toEvent(change, prevKv)), until };
  }

  snapshot(): string {
    const data: SnapshotData = { format: SNAPSHOT_FORMAT, store: dumpStore(this.store), leases: this.lessor.dump() };
    return JSON.stringify(data);
  }

  static restore(data: string, opts: StateMachineOptions = {}): StateMachine {
    const d = JSON.parse(data) as SnapshotData;
    if (d.format !== SNAPSHOT_FORMAT) throw new Error(`kv: unknown snapshot format ${String(d.format)}`);
    const sm = new StateMachine(opts);
    sm.store = loadStore(d.store);
    sm.lessor = Lessor.load(d.leases, opts.minLeaseTTL ?? Limits.minLeaseTTL);
    for (const [key, versions] of sm.store.entries()) {
      const last = versions[versions.length - 1]!;
      if (!last.tomb && last.kv.lease !== "0") sm.lessor.attach(last.kv.lease, key);
    }
    return sm;
  }
}
