// Book 12.3 (and 11.2): the watch cache — the API server keeps every object of a resource in memory,
// fed by one storage watch, plus a window of recent events, and serves lists and watches from it,
// as kube-apiserver's cacher does. Pure: events come in through apply(), no I/O here.
import { matches, matchesFields, type FieldSelector, type Selector } from "@corekube/api";
import type { KubeObject } from "../registry/types.js";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface CacheEvent {
  type: EventType;
  key: string;
  /** The new state; for DELETED, the last state with resourceVersion = the deletion's revision. */
  obj: KubeObject;
  /** The state before (MODIFIED, DELETED). */
  prev?: KubeObject;
  rev: number;
  /** Serialized forms, shared by every watcher that sends this event unchanged. */
  memo?: Map<string, string | Uint8Array>;
}

/** What a list or watch asks for. */
export interface Filter {
  /** Key prefix under the resource prefix, e.g. "default/" for one namespace, "" for all. */
  keyPrefix: string;
  labels?: Selector;
  fields?: FieldSelector;
  /** Field-selector values of an object (metadata.name/namespace plus the kind's own). */
  fieldsOf?: (obj: KubeObject) => Record<string, string>;
}

export function passes(filter: Filter, key: string, prefixLen: number, obj: KubeObject | undefined): boolean {
  if (!obj) return false;
  if (filter.keyPrefix && !key.startsWith(filter.keyPrefix, prefixLen)) return false;
  if (filter.labels && !matches(filter.labels, obj.metadata.labels)) return false;
  if (filter.fields && filter.fields.requirements.length > 0) {
    if (!filter.fieldsOf || !matchesFields(filter.fields, filter.fieldsOf(obj))) return false;
  }
  return true;
}

/** The event one watcher should see, given its filter: Kubernetes turns "stopped matching" into DELETED. */
export function eventFor(filter: Filter, prefixLen: number, ev: CacheEvent): CacheEvent | undefined {
  const cur = ev.type === "DELETED" ? false : passes(filter, ev.key, prefixLen, ev.obj);
  const old = ev.type === "ADDED" ? false : passes(filter, ev.key, prefixLen, ev.type === "DELETED" ? ev.obj : ev.prev);
  if (ev.type === "DELETED") return old ? ev : undefined;
  if (cur && old) return ev;
  if (cur && !old) return ev.type === "ADDED" ? ev : { type: "ADDED", key: ev.key, obj: ev.obj, rev: ev.rev };
  if (!cur && old && ev.prev) {
    const gone = { ...ev.prev, metadata: { ...ev.prev.metadata, resourceVersion: String(ev.rev) } };
    return { type: "DELETED", key: ev.key, obj: gone, prev: ev.prev, rev: ev.rev };
  }
  return undefined;
}

export interface CacheWatcher {
  readonly filter: Filter;
  /** Delivers one event; returns false when the watcher cannot keep up (it is then stopped). */
  push(ev: CacheEvent): boolean;
  /** The cache ends the watch (relist after compaction, shutdown, slow consumer). */
  stop(reason: string): void;
}

export interface WatchCacheOptions {
  /** Resource prefix, e.g. "/registry/pods/". */
  prefix: string;
  /** How many recent events to keep for watches that start in the past. */
  capacity?: number;
}

export class WatchCache {
  readonly prefix: string;
  private readonly capacity: number;
  private readonly objects = new Map<string, KubeObject>();
  private sorted: string[] | null = [];
  private readonly events: CacheEvent[] = [];
  private head = 0;
  private readonly watchers = new Set<CacheWatcher>();
  private readonly waiters: { rev: number; resolve: (reached: boolean) => void }[] = [];
  /** Events after this revision are all in the window (or still to come). */
  private horizon = 0;
  private revision = 0;
  private initialized = false;
  /** Closed for good (shutdown, or its resource went away): nothing more will arrive. */
  private closed = false;
  private closeReason = "";

  constructor(opts: WatchCacheOptions) {
    this.prefix = opts.prefix;
    this.capacity = opts.capacity ?? 10_000;
  }

  get rev(): number {
    return this.revision;
  }

  get ready(): boolean {
    return this.initialized;
  }

  /** The oldest revision a watch may start from. */
  get oldestRev(): number {
    return this.horizon;
  }

  get size(): number {
    return this.objects.size;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** (Re)loads the full state at a revision; existing watchers are stopped (they must re-watch). */
  replace(items: { key: string; obj: KubeObject }[], rev: number): void {
    this.objects.clear();
    for (const it of items) this.objects.set(it.key, it.obj);
    this.sorted = null;
    this.events.length = 0;
    this.head = 0;
    this.horizon = rev;
    this.revision = Math.max(this.revision, rev);
    if (this.initialized) for (const w of [...this.watchers]) this.stopWatcher(w, "the cache was reloaded");
    this.initialized = true;
    this.wake();
  }

  /** One change from storage, in revision order. */
  apply(ev: CacheEvent): void {
    if (ev.type === "DELETED") {
      if (this.objects.delete(ev.key)) this.sorted = null;
    } else {
      if (!this.objects.has(ev.key)) this.sorted = null;
      this.objects.set(ev.key, ev.obj);
    }
    this.record(ev);
    this.revision = Math.max(this.revision, ev.rev);
    const prefixLen = this.prefix.length;
    for (const w of this.watchers) {
      const out = eventFor(w.filter, prefixLen, ev);
      if (out && !w.push(out)) this.stopWatcher(w, "the watcher fell too far behind");
    }
    this.wake();
  }

  /** Storage says nothing of ours changed up to rev (a progress notification). */
  progress(rev: number): void {
    if (rev > this.revision) {
      this.revision = rev;
      this.wake();
    }
  }

  /**
   * Resolves true once the cache has seen everything up to rev; with timeoutMs, false when that
   * did not happen in time (the waiter is then dropped, nothing is left behind). A closed cache
   * answers false at once: it will never catch up.
   */
  waitFor(rev: number, timeoutMs?: number): Promise<boolean> {
    if (this.initialized && this.revision >= rev) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = {
        rev,
        resolve: (reached: boolean) => {
          if (timer) clearTimeout(timer);
          resolve(reached);
        },
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(false);
        }, timeoutMs);
        timer.unref?.();
      }
      this.waiters.push(waiter);
    });
  }

  get(key: string): KubeObject | undefined {
    return this.objects.get(key);
  }

  /**
   * Current objects passing the filter, in key order, starting after `afterKey`, at most `limit`
   * (0 = all). `more` says whether matching objects remain.
   */
  list(filter: Filter, opts: { afterKey?: string; limit?: number } = {}): { items: { key: string; obj: KubeObject }[]; more: boolean; lastKey?: string } {
    const keys = this.sortedKeys();
    const start = this.prefix + filter.keyPrefix;
    let i = lowerBound(keys, opts.afterKey !== undefined && opts.afterKey >= start ? opts.afterKey + "\0" : start);
    const items: { key: string; obj: KubeObject }[] = [];
    const limit = opts.limit ?? 0;
    const prefixLen = this.prefix.length;
    for (; i < keys.length; i++) {
      const key = keys[i]!;
      if (!key.startsWith(start)) break;
      const obj = this.objects.get(key)!;
      if (!passes(filter, key, prefixLen, obj)) continue;
      if (limit > 0 && items.length === limit) return { items, more: true, lastKey: items[items.length - 1]!.key };
      items.push({ key, obj });
    }
    return { items, more: false, lastKey: items.length ? items[items.length - 1]!.key : undefined };
  }

  /**
   * Starts a watch. fromRev undefined: the current state as ADDED events first. Otherwise events
   * after fromRev; returns "expired" when that revision has left the window.
   */
  watch(w: CacheWatcher, fromRev: number | undefined): "ok" | "expired" {
    if (this.closed) {
      w.stop(this.closeReason);
      return "ok";
    }
    const prefixLen = this.prefix.length;
    if (fromRev === undefined) {
      for (const { key, obj } of this.list(w.filter).items) {
        if (!w.push({ type: "ADDED", key, obj, rev: Number(obj.metadata.resourceVersion ?? 0) })) return "ok";
      }
    } else {
      if (fromRev < this.horizon) return "expired";
      for (let i = this.firstAfter(fromRev); i < this.events.length; i++) {
        const ev = this.events[(this.head + i) % this.events.length]!;
        const out = eventFor(w.filter, prefixLen, ev);
        if (out && !w.push(out)) return "ok";
      }
    }
    this.watchers.add(w);
    return "ok";
  }

  unwatch(w: CacheWatcher): void {
    this.watchers.delete(w);
  }

  /** Closes the cache for good (shutdown, or its resource is gone): stops every watcher, and
   * whoever waits for a revision, or starts a watch later, is told at once. */
  close(reason: string): void {
    this.closed = true;
    this.closeReason = reason;
    for (const w of [...this.watchers]) this.stopWatcher(w, reason);
    for (const w of this.waiters.splice(0)) w.resolve(false);
  }

  private stopWatcher(w: CacheWatcher, reason: string): void {
    this.watchers.delete(w);
    w.stop(reason);
  }

  private record(ev: CacheEvent): void {
    if (this.capacity <= 0) {
      this.horizon = ev.rev;
      return;
    }
    if (this.events.length < this.capacity) {
      this.events.push(ev);
      return;
    }
    const oldest = this.events[this.head]!;
    this.horizon = oldest.rev;
    this.events[this.head] = ev;
    this.head = (this.head + 1) % this.capacity;
  }

  /** Index (in window order) of the first event with rev > r. */
  private firstAfter(r: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.events[(this.head + mid) % this.events.length]!.rev <= r) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private sortedKeys(): string[] {
    if (!this.sorted) this.sorted = [...this.objects.keys()].sort();
    return this.sorted;
  }

  private wake(): void {
    if (!this.initialized || this.waiters.length === 0) return;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.rev <= this.revision) {
        this.waiters.splice(i, 1);
        w.resolve(true);
      }
    }
  }
}

function lowerBound(keys: string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
