// Book 12.2: the watch hub: every watch stream of this member, fed with each applied revision's events,
// replaying history to watchers that start in the past, fall behind, or outlive a snapshot restore.
import type { ResponseHeader, WatchEvent } from "../types.js";
import { Limits } from "../types.js";
import type { StateMachine } from "../apply/state-machine.js";
import { Stream, type StreamHost } from "./stream.js";
import type { WatchResponse, WatchStream } from "./types.js";

export interface WatchHubOptions {
  /** Events per catch-up response (a revision is never split, so one may hold more). Default 1000. */
  maxEventsPerResponse?: number;
  /** Events a stream may buffer for a slow client before it drops them and replays later. Default 10000. */
  maxBufferedEvents?: number;
  /** Responses of watchers created with `fragment` are split above this size. Default 1.5 MiB. */
  maxResponseBytes?: number;
}

export class WatchHub {
  private readonly streams = new Set<Stream>();
  private readonly host: StreamHost;

  constructor(sm: () => StateMachine, opts: WatchHubOptions = {}) {
    this.host = {
      sm,
      maxEventsPerResponse: opts.maxEventsPerResponse ?? 1000,
      maxBufferedEvents: opts.maxBufferedEvents ?? 10_000,
      maxResponseBytes: opts.maxResponseBytes ?? Limits.maxRequestBytes,
      closed: (s) => this.streams.delete(s),
    };
  }

  openStream(send: (resp: WatchResponse) => boolean, header: (revision: number) => ResponseHeader): WatchStream {
    const s = new Stream(this.host, send, header);
    this.streams.add(s);
    return s;
  }

  /** After every apply that produced events (all at `revision`). */
  notify(revision: number, events: WatchEvent[]): void {
    for (const s of [...this.streams]) s.onRevision(revision, events);
  }

  /** After the state machine was replaced by a snapshot. */
  resync(): void {
    for (const s of [...this.streams]) s.resync();
  }

  /** On the progress-notify interval. */
  progressNotifyTick(): void {
    for (const s of [...this.streams]) s.tick();
  }

  get watcherCount(): number {
    let n = 0;
    for (const s of this.streams) n += s.watcherCount;
    return n;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  get pendingEvents(): number {
    let n = 0;
    for (const s of this.streams) n += s.pendingEvents;
    return n;
  }
}
