// Book 12.2: one watcher on a watch stream: the key range it follows, its filters, and where it is in
// the revision history (synced watchers take live events; unsynced ones catch up from history first).
import type { WatchEvent } from "../types.js";
import { inRange, type KeyRange } from "../mvcc/key-range.js";

export interface WatcherOptions {
  prevKv: boolean;
  noPut: boolean;
  noDelete: boolean;
  progressNotify: boolean;
  fragment: boolean;
}

export class Watcher {
  /** Live: gets each new revision as it is applied. Not live: must read history from nextRev first. */
  synced: boolean;
  /** The first revision this watcher has not been handed yet. */
  nextRev: number;
  /** No events were sent since the last progress tick (so a progress notification is due). */
  quiet = true;

  constructor(readonly id: number, readonly range: KeyRange, readonly opts: WatcherOptions, synced: boolean, nextRev: number) {
    this.synced = synced;
    this.nextRev = nextRev;
  }

  /** The key and range end in RangeRequest's convention (for StateMachine.history). */
  get historyEnd(): string | undefined {
    const end = this.range.end;
    return end === null ? undefined : end === "" ? "\0" : end;
  }

  private keep(ev: WatchEvent): boolean {
    return !(ev.type === "PUT" ? this.opts.noPut : this.opts.noDelete);
  }

  private shape(ev: WatchEvent): WatchEvent {
    if (this.opts.prevKv || !ev.prevKv) return ev;
    return { type: ev.type, kv: ev.kv };
  }

  /** This watcher's share of one revision's live events (those carry prevKv; it is dropped unless asked). */
  select(events: WatchEvent[]): WatchEvent[] {
    const out: WatchEvent[] = [];
    for (const ev of events) if (inRange(this.range, ev.kv.key) && this.keep(ev)) out.push(this.shape(ev));
    return out;
  }

  /** Filters for events read from history (already in range, prevKv already as asked). */
  filter(events: WatchEvent[]): WatchEvent[] {
    return this.opts.noPut || this.opts.noDelete ? events.filter((ev) => this.keep(ev)) : events;
  }
}
