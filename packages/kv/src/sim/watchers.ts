// Book 12.2: simulated watch clients. Each keeps one watch open on some member, records every
// response, and when its member dies (or it decides to reconnect) resumes on another member from
// the revision after the last event it got, which is what Resumable promises. Some of them read
// slowly, so the member has to buffer and catch them up.
import type { NodeId } from "../raft/types.js";
import type { WatchResponse, WatchStream } from "../watch/types.js";
import type { SimClock } from "./clock.js";
import type { SimCluster } from "./cluster.js";
import type { Rng } from "./rng.js";
import type { Trace } from "./trace.js";
import type { WatchEventRecord, WatchRecord } from "./watch-check.js";
import { view, type Recorder } from "./workload.js";

export interface WatcherOptions {
  key: string;
  rangeEnd: string;
  /** The first watch starts here (1 = the whole history). */
  startRevision: number;
  /** Chance that a send() reports a full socket; drained() comes a little later. */
  slowChance: number;
  /** Mean virtual ms between voluntary reconnects (0 = never). */
  reconnectEveryMs: number;
  progressEveryMs: number;
  /** The range holds every key anyone writes (see WatchRecord.coversAll). */
  coversAll: boolean;
}

export class Watcher {
  readonly records: WatchRecord[] = [];
  private current?: { rec: WatchRecord; stream: WatchStream; member: NodeId; life: number };
  private nextRev: number;
  private stopped = false;
  private life = 0;

  constructor(
    readonly id: number,
    private readonly cluster: SimCluster,
    private readonly clock: SimClock,
    private readonly rng: Rng,
    private readonly rec: Recorder,
    private opts: WatcherOptions,
    private readonly trace: Trace,
    private readonly nextWatchId: () => number,
  ) {
    this.nextRev = opts.startRevision;
    cluster.onCrash((id) => {
      if (this.current?.member === id) this.lost("member went down");
    });
  }

  start(): void {
    this.open();
    const tickProgress = (): void => {
      if (this.stopped) return;
      this.current?.stream.progress();
      this.clock.setTimeout(tickProgress, this.rng.between(0.5, 1.5) * this.opts.progressEveryMs);
    };
    if (this.opts.progressEveryMs > 0) this.clock.setTimeout(tickProgress, this.rng.between(0, this.opts.progressEveryMs));
    const reconnect = (): void => {
      if (this.stopped) return;
      if (this.current) {
        this.trace.add(`watcher ${this.id}: reconnecting from revision ${this.nextRev}`);
        this.current.stream.close();
        this.current = undefined;
        this.open();
      }
      this.clock.setTimeout(reconnect, this.rng.between(0.5, 1.5) * this.opts.reconnectEveryMs);
    };
    if (this.opts.reconnectEveryMs > 0) this.clock.setTimeout(reconnect, this.rng.between(0.5, 1.5) * this.opts.reconnectEveryMs);
  }

  /** Asks for a bookmark now (used at the end, before checking delivery). */
  requestProgress(): void {
    this.current?.stream.progress();
  }

  /** The end of the run: read promptly from now on, so the watch can catch up. */
  stopBeingSlow(): void {
    this.opts = { ...this.opts, slowChance: 0 };
  }

  /** Has the open watch seen everything up to `rev` (by events or a bookmark)? */
  caughtUp(rev: number): boolean {
    if (!this.current) return true;
    const r = this.current.rec.responses;
    const seen = Math.max(this.nextRev - 1, ...r.filter((x) => x.progress).map((x) => x.revision));
    return seen >= rev;
  }

  /** Ends the run: the open watch is marked as such for the "delivered" check. */
  finish(): void {
    this.stopped = true;
    if (this.current) {
      this.current.rec.openAtEnd = true;
      this.current.stream.close();
      this.current = undefined;
    }
  }

  get connected(): boolean {
    return !!this.current;
  }

  private lost(why: string): void {
    if (!this.current) return;
    this.trace.add(`watcher ${this.id}: lost its stream on m${this.current.member} (${why})`);
    const { stream } = this.current;
    this.current = undefined;
    stream.close();
    if (!this.stopped) this.clock.setTimeout(() => this.open(), this.rng.between(10, 300));
  }

  private open(): void {
    if (this.stopped || this.current) return;
    const up = this.cluster.up();
    if (up.length === 0) {
      this.clock.setTimeout(() => this.open(), 200);
      return;
    }
    const slot = this.rng.pick(up);
    const life = ++this.life;
    const rec: WatchRecord = {
      id: this.nextWatchId(), client: this.id, member: slot.name, key: this.opts.key, rangeEnd: this.opts.rangeEnd,
      startRevision: this.nextRev, prevKv: true, responses: [], openAtEnd: false, coversAll: this.opts.coversAll,
    };
    this.records.push(rec);
    let stream: WatchStream;
    const send = (resp: WatchResponse): boolean => {
      if (this.life !== life || !this.current) return true;
      this.record(rec, resp);
      if (resp.canceled) {
        this.lost(`canceled${resp.compactRevision ? ` at compact revision ${resp.compactRevision}` : ""}: ${resp.cancelReason ?? ""}`);
        return true;
      }
      if (this.rng.chance(this.opts.slowChance)) {
        this.clock.setTimeout(() => {
          if (this.life === life && this.current) stream.drained();
        }, this.rng.between(1, 200));
        return false;
      }
      return true;
    };
    try {
      stream = this.cluster.use(slot).openWatchStream(send);
    } catch (err) {
      this.trace.add(`watcher ${this.id}: could not open a stream on ${slot.name}: ${(err as Error).message}`);
      this.clock.setTimeout(() => this.open(), 200);
      return;
    }
    this.current = { rec, stream, member: slot.id, life };
    this.trace.add(`watcher ${this.id}: watch ${rec.id} on ${slot.name} from revision ${this.nextRev}`);
    stream.create({ key: this.opts.key, rangeEnd: this.opts.rangeEnd, startRevision: this.nextRev, prevKv: true, progressNotify: true });
  }

  private record(rec: WatchRecord, resp: WatchResponse): void {
    const events: WatchEventRecord[] = resp.events.map((e) => {
      const prev = e.prevKv ? view(e.prevKv) ?? undefined : undefined;
      return {
        type: e.type, key: e.kv.key, rev: e.kv.modRevision, value: e.kv.value, createRev: e.kv.createRevision,
        version: e.kv.version, lease: e.kv.lease || "0", ...(prev ? { prev } : {}),
      };
    });
    const progress = events.length === 0 && !resp.created && !resp.canceled;
    rec.responses.push({
      at: this.clock.now(), seq: this.rec.next(), revision: resp.header.revision, events,
      ...(resp.created ? { created: true } : {}), ...(resp.canceled ? { canceled: true } : {}),
      ...(resp.compactRevision ? { compactRevision: resp.compactRevision } : {}), progress,
    });
    if (events.length > 0) this.nextRev = events[events.length - 1]!.rev + 1;
    if (resp.canceled && resp.compactRevision) this.nextRev = Math.max(this.nextRev, resp.compactRevision + 1);
  }
}
