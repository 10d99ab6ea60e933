// Book 12.2: one watch stream (one connection, many watchers) keeping etcd's watch guarantees, with a buffer
// for slow clients that, when it overflows, is dropped and replayed from history.
import type { ResponseHeader, WatchEvent } from "../types.js";
import type { StateMachine } from "../apply/state-machine.js";
import { isEmptyRange, keyRange } from "../mvcc/key-range.js";
import type { WatchCreateRequest, WatchResponse, WatchStream } from "./types.js";
import { Watcher } from "./watcher.js";

/** What a stream needs from its hub. */
export interface StreamHost {
  sm(): StateMachine;
  readonly maxEventsPerResponse: number;
  readonly maxBufferedEvents: number;
  readonly maxResponseBytes: number;
  closed(stream: Stream): void;
}

/** A response (or the fragments of one) waiting for the socket. */
interface Pending {
  kind: "events" | "progress" | "progressAll" | "control";
  msgs: WatchResponse[];
  watcher?: Watcher;
  /** For events: the first revision the response covers (where to replay from if it is dropped). */
  fromRev: number;
  events: number;
}

const DUPLICATE_ID = "mvcc: duplicate watch ID provided on the WatchStream";
const EMPTY_RANGE = "mvcc: watcher range is empty";

function eventBytes(ev: WatchEvent): number {
  const kv = (k: { key: string; value: string } | undefined) => (k ? k.key.length + k.value.length + 32 : 0);
  return kv(ev.kv) + kv(ev.prevKv) + 8;
}

/**
 * Guarantees: events in revision order, never twice, never a gap, a revision never split across
 * responses, and a progress reply only once every watcher has been sent everything up to its revision.
 */
export class Stream implements WatchStream {
  private readonly watchers = new Map<number, Watcher>();
  private nextId = 0;
  private queue: Pending[] = [];
  private queued = 0;
  private blocked = false;
  private done = false;
  /** A progress request is waiting for every watcher to be synced. */
  private progressOwed = false;

  constructor(
    private readonly host: StreamHost,
    private readonly send: (resp: WatchResponse) => boolean,
    private readonly header: (revision: number) => ResponseHeader,
  ) {}

  get watcherCount(): number { return this.watchers.size; }
  get pendingEvents(): number { return this.queued; }

  create(req: WatchCreateRequest): void {
    if (this.done) return;
    const rev = this.host.sm().revision;
    const range = keyRange(req.key || "\0", req.rangeEnd);
    const refuse = (cancelReason: string) =>
      this.control({ header: this.header(rev), watchId: -1, created: true, canceled: true, cancelReason, events: [] });
    if (isEmptyRange(range)) return refuse(EMPTY_RANGE);
    let id: number;
    if (req.watchId) {
      if (this.watchers.has(req.watchId)) return refuse(DUPLICATE_ID);
      id = req.watchId;
    } else {
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    }
    const filters = req.filters ?? [];
    const start = req.startRevision ?? 0;
    // No start: from the next revision. A future start: live, but nothing before it. Else: replay first.
    const synced = start <= 0 || start > rev;
    const w = new Watcher(id, range, {
      prevKv: !!req.prevKv, noPut: filters.includes("NOPUT"), noDelete: filters.includes("NODELETE"),
      progressNotify: !!req.progressNotify, fragment: !!req.fragment,
    }, synced, start <= 0 ? rev + 1 : start);
    this.watchers.set(id, w);
    this.control({ header: this.header(rev), watchId: id, created: true, events: [] });
    if (!synced) this.catchUpAll();
  }

  cancel(watchId: number): void {
    const w = this.watchers.get(watchId);
    if (this.done || !w) return;
    // What is already buffered for it still goes out first: a progress reply queued behind those
    // events has promised them to the client.
    this.watchers.delete(w.id);
    this.control({ header: this.header(this.host.sm().revision), watchId, canceled: true, events: [] });
    this.settleProgress();
  }

  progress(): void {
    if (this.done) return;
    this.progressOwed = true;
    this.settleProgress();
  }

  drained(): void {
    if (this.done) return;
    this.blocked = false;
    while (!this.blocked && this.queue.length > 0) {
      const p = this.queue.shift()!;
      this.queued -= p.events;
      this.deliver(p);
    }
    if (!this.blocked) this.catchUpAll();
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.watchers.clear();
    this.queue = [];
    this.queued = 0;
    this.host.closed(this);
  }

  /** From the hub: the events of one newly applied revision. */
  onRevision(rev: number, events: WatchEvent[]): void {
    if (this.done) return;
    let gap = false;
    for (const w of [...this.watchers.values()]) {
      if (!w.synced || rev < w.nextRev || this.watchers.get(w.id) !== w) continue;
      if (rev > w.nextRev) {
        // A revision was never announced to us: replay from history rather than skip it.
        w.synced = false;
        gap = true;
        continue;
      }
      w.nextRev = rev + 1;
      const evs = w.select(events);
      if (evs.length > 0) this.sendEvents(w, rev, rev, evs);
    }
    if (gap) this.catchUpAll();
  }

  /** From the hub: the state machine was replaced (snapshot restore); everyone replays from history. */
  resync(): void {
    if (this.done) return;
    for (const w of this.watchers.values()) w.synced = false;
    this.catchUpAll();
  }

  /** From the hub: the progress-notify interval passed. */
  tick(): void {
    if (this.done) return;
    const rev = this.host.sm().revision;
    for (const w of [...this.watchers.values()]) {
      if (!w.opts.progressNotify) continue;
      if (w.quiet && w.synced) {
        const at = Math.min(rev, w.nextRev - 1);
        this.enqueue({ kind: "progress", watcher: w, fromRev: 0, events: 0, msgs: [{ header: this.header(at), watchId: w.id, events: [] }] });
      }
      w.quiet = true;
    }
  }

  // ---- internals ----

  private control(resp: WatchResponse): void {
    this.enqueue({ kind: "control", msgs: [resp], fromRev: 0, events: 0 });
  }

  private sendEvents(w: Watcher, headerRev: number, fromRev: number, events: WatchEvent[]): void {
    w.quiet = false;
    const resp: WatchResponse = { header: this.header(headerRev), watchId: w.id, events };
    const msgs = w.opts.fragment ? this.fragments(resp) : [resp];
    this.enqueue({ kind: "events", msgs, watcher: w, fromRev, events: events.length });
  }

  /** etcd's sendFragments: split a response that is too large, at least one event per piece. */
  private fragments(resp: WatchResponse): WatchResponse[] {
    const max = this.host.maxResponseBytes;
    if (resp.events.length < 2 || resp.events.reduce((n, ev) => n + eventBytes(ev), 64) < max) return [resp];
    const out: WatchResponse[] = [];
    let cur: WatchEvent[] = [];
    let size = 64;
    for (const ev of resp.events) {
      const b = eventBytes(ev);
      if (cur.length > 0 && size + b >= max) {
        out.push({ ...resp, events: cur, fragment: true });
        cur = [];
        size = 64;
      }
      cur.push(ev);
      size += b;
    }
    out.push({ ...resp, events: cur });
    return out;
  }

  private enqueue(p: Pending): void {
    if (this.done) return;
    if (!this.blocked && this.queue.length === 0) return this.deliver(p);
    this.queue.push(p);
    this.queued += p.events;
    if (this.queued > this.host.maxBufferedEvents) this.overflow();
  }

  /** `send` returning false means "taken, but stop for now" (like a socket write); all fragments of one
   * response go out together so a client never sees half of one. */
  private deliver(p: Pending): void {
    for (const m of p.msgs) if (!this.send(m)) this.blocked = true;
  }

  /**
   * Too much is buffered: drop the buffered events (and progress replies, which would now claim too
   * much). Each watcher that lost events replays them from history once the client drains.
   */
  private overflow(): void {
    const keep: Pending[] = [];
    const rewound = new Set<Watcher>();
    for (const p of this.queue) {
      if (p.kind === "control") keep.push(p);
      else if (p.kind === "progressAll") this.progressOwed = true;
      else if (p.kind === "events" && p.watcher && !rewound.has(p.watcher) && this.watchers.get(p.watcher.id) === p.watcher) {
        rewound.add(p.watcher);
        p.watcher.synced = false;
        p.watcher.nextRev = p.fromRev;
      }
    }
    this.queue = keep;
    this.queued = 0;
  }

  private catchUpAll(): void {
    for (const w of [...this.watchers.values()]) {
      if (this.blocked || this.done) return;
      if (!w.synced && this.watchers.get(w.id) === w) this.catchUp(w);
    }
    this.settleProgress();
  }

  /** Replay history to an unsynced watcher, a bounded batch per response, until it is live. */
  private catchUp(w: Watcher): void {
    const sm = this.host.sm();
    while (!this.blocked && !this.done && !w.synced && this.watchers.get(w.id) === w) {
      const from = w.nextRev;
      if (from <= sm.compactRevision) {
        // etcd sends this with an empty header revision.
        this.watchers.delete(w.id);
        this.control({ header: this.header(0), watchId: w.id, canceled: true, compactRevision: sm.compactRevision, events: [] });
        return;
      }
      const h = sm.history(w.range.key, w.historyEnd, from, w.opts.prevKv, this.host.maxEventsPerResponse);
      w.nextRev = Math.max(from, h.until + 1);
      if (h.until >= sm.revision) w.synced = true;
      const evs = w.filter(h.events);
      if (evs.length > 0) this.sendEvents(w, h.until, from, evs);
    }
  }

  /** Answer an owed progress request once every watcher is synced (etcd's RequestProgressAll). */
  private settleProgress(): void {
    if (!this.progressOwed || this.done) return;
    let at = this.host.sm().revision;
    for (const w of this.watchers.values()) {
      if (!w.synced) return;
      at = Math.min(at, w.nextRev - 1);
    }
    this.progressOwed = false;
    this.enqueue({ kind: "progressAll", msgs: [{ header: this.header(at), watchId: -1, events: [] }], fromRev: 0, events: 0 });
  }
}
