// Book 12.3: the cache's feed: one storage watch on the resource's prefix, opened at the present, then
// a list of the prefix; events the list already holds are skipped. A compacted or broken watch leads
// to a fresh watch and list, as the cacher's reflector does.
import { prefixEnd } from "@corekube/kv/client/index";
import type { Watch } from "@corekube/kv/client/index";
import { decode, type EtcdStorage } from "../storage/etcd.js";
import type { CacheEvent, WatchCache } from "./watch-cache.js";

export interface ReflectorOptions {
  /** Page size of the initial list. */
  pageSize?: number;
  /** Called on errors the reflector recovers from (logged by the server). */
  onError?: (err: unknown) => void;
}

export class Reflector {
  private watch?: Watch;
  private stopped = false;
  private loop?: Promise<void>;
  private progressPending = false;

  constructor(
    private readonly storage: EtcdStorage,
    readonly cache: WatchCache,
    private readonly opts: ReflectorOptions = {},
  ) {}

  /** Starts listing and watching; resolves after the first full list. */
  start(): Promise<void> {
    let first!: () => void;
    const ready = new Promise<void>((r) => (first = r));
    this.loop = this.run(first);
    return ready;
  }

  /**
   * Makes the cache current with storage: waits until it has seen storage's present revision (or
   * rev). With timeoutMs, gives up after that long and returns false; true when caught up.
   */
  async sync(rev?: number, timeoutMs?: number): Promise<boolean> {
    const target = rev ?? (await this.storage.currentRevision());
    if (this.cache.ready && this.cache.rev >= target) return true;
    this.requestProgress();
    const timer = setInterval(() => this.requestProgress(), 50);
    try {
      return await this.cache.waitFor(target, timeoutMs);
    } finally {
      clearInterval(timer);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.cancel();
    this.cache.close("the server is shutting down");
    await this.loop?.catch(() => undefined);
  }

  private requestProgress(): void {
    if (this.progressPending || !this.watch) return;
    this.progressPending = true;
    queueMicrotask(() => {
      this.progressPending = false;
      this.watch?.progress();
    });
  }

  private async run(first: () => void): Promise<void> {
    try {
      await this.loopUntilStopped(first);
    } finally {
      // Stopped before the first list finished: nobody may wait for start() forever.
      first();
    }
  }

  private async loopUntilStopped(first: () => void): Promise<void> {
    const prefix = this.cache.prefix;
    let backoff = 100;
    while (!this.stopped) {
      let w: Watch | undefined;
      try {
        // Watch first, from the present, then list. A watch that starts at the present has nothing
        // to replay, so its progress notifications can be trusted: etcd 3.4.23 (Debian's) may answer
        // a progress request before a watch started in the past has sent the events it replays,
        // and a cache trusting that would serve a "consistent" list missing a fresh write.
        w = this.storage.client.watch({ key: prefix, rangeEnd: prefixEnd(prefix), prevKv: true, progressNotify: true }, { resume: true });
        this.watch = w;
        await w.created;
        const rev = await this.listAll(prefix);
        first();
        backoff = 100;
        await this.follow(w, rev);
      } catch (e) {
        if (this.watch === w) this.watch = undefined;
        w?.cancel();
        if (this.stopped) return;
        this.opts.onError?.(e);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  private async listAll(prefix: string): Promise<number> {
    const items: { key: string; obj: CacheEvent["obj"] }[] = [];
    const pageSize = this.opts.pageSize ?? 2_000;
    let page = await this.storage.list(prefix, { limit: pageSize });
    const rev = page.revision;
    for (;;) {
      for (const it of page.items) items.push({ key: it.key, obj: it.obj });
      if (!page.more || page.items.length === 0) break;
      const last = page.items[page.items.length - 1]!.key;
      page = await this.storage.list(prefix, { startKey: last + "\0", limit: pageSize, revision: rev });
    }
    this.cache.replace(items, rev);
    return rev;
  }

  /** Applies the watch's events after the list's revision `rev` until the watch ends; returns to relist. */
  private async follow(w: Watch, rev: number): Promise<void> {
    try {
      for await (const resp of w) {
        if (this.stopped) return;
        if (resp.canceled) return; // compacted or cancelled: relist
        if (resp.events.length === 0) {
          if (!resp.created) this.cache.progress(resp.header.revision);
          continue;
        }
        for (const e of resp.events) {
          if (e.kv.modRevision <= rev) continue; // the list already has it
          if (e.type === "DELETE") {
            if (!e.prevKv) continue;
            const last = decode(e.prevKv);
            last.obj.metadata.resourceVersion = String(e.kv.modRevision);
            this.cache.apply({ type: "DELETED", key: e.kv.key, obj: last.obj, prev: this.cache.get(e.kv.key), rev: e.kv.modRevision });
          } else {
            const cur = decode(e.kv);
            const prev = this.cache.get(e.kv.key);
            this.cache.apply({ type: prev ? "MODIFIED" : "ADDED", key: e.kv.key, obj: cur.obj, prev, rev: e.kv.modRevision });
          }
        }
      }
    } finally {
      if (this.watch === w) this.watch = undefined;
      w.cancel();
    }
  }
}
