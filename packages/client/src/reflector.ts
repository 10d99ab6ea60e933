// Book 11.2: the Reflector, the engine under every informer: LIST once, then WATCH from the list's
// resourceVersion; resume a dropped watch from the last version seen; LIST again when the server
// says that version is too old (410 Expired); back off between failures.
import { type KubeObject, type WatchEvent, isResourceExpired, reasonOf } from "@corekube/api";
import type { ObjectList } from "./rest.js";

export interface ListerWatcher<T> {
  list(opts: { resourceVersion?: string; limit?: number; continue?: string; signal: AbortSignal }): Promise<ObjectList<T>>;
  watch(opts: { resourceVersion: string; allowWatchBookmarks: boolean; timeoutSeconds: number; signal: AbortSignal }): AsyncIterable<WatchEvent<T>>;
}

/** Where the Reflector delivers what it learns (the informer's store and handlers). */
export interface ReflectorSink<T> {
  /** The result of a LIST: the complete set of objects at `resourceVersion`. */
  replace(items: T[], resourceVersion: string): void;
  added(obj: T): void;
  modified(obj: T): void;
  deleted(obj: T): void;
}

export interface ReflectorOptions {
  /** For log lines: "pods", "nodes"... */
  name: string;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Page size for LISTs that go to storage (after an Expired); 0 turns paging off. */
  pageSize?: number;
  /** Watches last between this and twice this many seconds, then are renewed (spreads load, as client-go). */
  minWatchTimeoutSeconds?: number;
  onError?: (err: unknown, phase: "list" | "watch") => void;
}

const isGone = (err: unknown): boolean => isResourceExpired(err) || reasonOf(err) === "Gone";

export class Reflector<T extends KubeObject> {
  /** The resourceVersion of the last LIST or event applied; "" before the first LIST. */
  lastSyncResourceVersion = "";
  private listed = false;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;

  constructor(
    private readonly lw: ListerWatcher<T>,
    private readonly sink: ReflectorSink<T>,
    private readonly opts: ReflectorOptions,
  ) {
    this.backoffInitialMs = opts.backoffInitialMs ?? 800;
    this.backoffMaxMs = opts.backoffMaxMs ?? 30_000;
  }

  /** True once the first LIST has been delivered. */
  hasSynced(): boolean {
    return this.listed;
  }

  /** Runs until `signal` aborts. Never throws; errors go to onError and are retried with backoff. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let needList = true;
    let consistentList = false;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.list(signal, consistentList);
          needList = false;
          consistentList = false;
        }
        const gotEvents = await this.watchOnce(signal);
        if (gotEvents) failures = 0;
        continue;
      } catch (err) {
        if (signal.aborted) return;
        if (isGone(err)) {
          // Our resourceVersion left the server's window: start over from a fresh, consistent LIST.
          needList = true;
          consistentList = true;
          failures = 0;
          this.opts.onError?.(err, "watch");
          continue;
        }
        this.opts.onError?.(err, needList ? "list" : "watch");
        failures++;
      }
      const delay = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** Math.min(failures - 1, 16));
      await sleep(delay * (0.75 + Math.random() * 0.5), signal);
    }
  }

  private async list(signal: AbortSignal, consistent: boolean): Promise<void> {
    const items: T[] = [];
    let rv = "";
    if (!consistent && this.lastSyncResourceVersion === "") {
      // First LIST: "0" lets the server answer from its watch cache, as client-go does.
      const page = await this.lw.list({ resourceVersion: "0", signal });
      items.push(...page.items);
      rv = page.metadata.resourceVersion ?? "";
    } else {
      let cont: string | undefined;
      const limit = this.opts.pageSize ?? 500;
      do {
        const page = await this.lw.list({ limit: limit > 0 ? limit : undefined, continue: cont, signal });
        items.push(...page.items);
        rv = page.metadata.resourceVersion ?? rv;
        cont = page.metadata.continue || undefined;
      } while (cont);
    }
    this.sink.replace(items, rv);
    this.lastSyncResourceVersion = rv;
    this.listed = true;
  }

  /** One watch connection; returns whether any event arrived. Throws on errors (410 included). */
  private async watchOnce(signal: AbortSignal): Promise<boolean> {
    const min = this.opts.minWatchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.floor(min * (1 + Math.random()));
    let any = false;
    for await (const ev of this.lw.watch({ resourceVersion: this.lastSyncResourceVersion, allowWatchBookmarks: true, timeoutSeconds, signal })) {
      any = true;
      const rv = ev.object?.metadata?.resourceVersion;
      switch (ev.type) {
        case "ADDED":
          this.sink.added(ev.object);
          break;
        case "MODIFIED":
          this.sink.modified(ev.object);
          break;
        case "DELETED":
          this.sink.deleted(ev.object);
          break;
        case "BOOKMARK":
          break;
        default:
          continue;
      }
      if (rv) this.lastSyncResourceVersion = rv;
    }
    return any;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
