// Book 11.2: shared informers: one Reflector per resource feeds an indexed Store and calls every
// registered handler (add, update, delete), so all of a component's controllers share one LIST+WATCH
// and read objects from memory through listers.
import { type KubeObject, type Selector, matches } from "@corekube/api";
import { type ListerWatcher, Reflector, sleep } from "./reflector.js";
import type { ResourceClient, RestClient } from "./rest.js";
import type { ResourceType } from "./resources.js";
import { type IndexFunc, NAMESPACE_INDEX, Store } from "./store.js";

export interface EventHandlers<T> {
  /** `initialList` is true for objects delivered by a LIST (start-up or relist), false for watch events. */
  onAdd?(obj: T, initialList: boolean): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** The object as last seen (for a relist that no longer has it, the cached copy). */
  onDelete?(obj: T): void;
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Every resyncMs, each handler gets onUpdate(obj, obj) for every cached object (0: never). */
  resyncMs?: number;
  onError?: (err: unknown, phase: "list" | "watch") => void;
  indexers?: Record<string, IndexFunc<KubeObject>>;
  minWatchTimeoutSeconds?: number;
}

/** Read access to an informer's cache. */
export class Lister<T extends KubeObject> {
  constructor(private readonly store: Store<T>) {}

  get(name: string, namespace?: string): T | undefined {
    return this.store.getByName(name, namespace);
  }

  list(opts: { namespace?: string; selector?: Selector } = {}): T[] {
    const items = opts.namespace ? this.store.byIndex(NAMESPACE_INDEX, opts.namespace) : this.store.list();
    return opts.selector ? items.filter((o) => matches(opts.selector!, o.metadata.labels)) : items;
  }
}

export function listerWatcherFor<T extends KubeObject>(rc: ResourceClient<T>, o: InformerOptions): ListerWatcher<T> {
  return {
    list: (l) =>
      rc.list({
        namespace: o.namespace,
        labelSelector: o.labelSelector,
        fieldSelector: o.fieldSelector,
        resourceVersion: l.resourceVersion,
        limit: l.limit,
        continue: l.continue,
        signal: l.signal,
      }),
    watch: (w) =>
      rc.watch({
        namespace: o.namespace,
        labelSelector: o.labelSelector,
        fieldSelector: o.fieldSelector,
        resourceVersion: w.resourceVersion,
        allowWatchBookmarks: w.allowWatchBookmarks,
        timeoutSeconds: w.timeoutSeconds,
        signal: w.signal,
      }),
  };
}

export class SharedInformer<T extends KubeObject = KubeObject> {
  readonly store: Store<T>;
  private readonly handlers = new Set<EventHandlers<T>>();
  private readonly reflector: Reflector<T>;
  private controller: AbortController | undefined;
  private running: Promise<void> | undefined;
  private syncWaiters: (() => void)[] = [];

  constructor(
    lw: ListerWatcher<T>,
    readonly name: string,
    private readonly opts: InformerOptions = {},
  ) {
    this.store = new Store<T>(opts.indexers as Record<string, IndexFunc<T>> | undefined);
    const sink = {
      replace: (items: T[]) => this.replace(items),
      added: (o: T) => this.apply(o),
      modified: (o: T) => this.apply(o),
      deleted: (o: T) => this.remove(o),
    };
    this.reflector = new Reflector<T>(lw, sink, { name, onError: opts.onError, minWatchTimeoutSeconds: opts.minWatchTimeoutSeconds });
  }

  /** An informer over a resource of the API server behind `client`. */
  static forResource<T extends KubeObject>(client: RestClient, type: ResourceType, opts: InformerOptions = {}): SharedInformer<T> {
    return new SharedInformer<T>(listerWatcherFor(client.resource<T>(type), opts), type.resource, opts);
  }

  /** Registers handlers; if the cache is already filled, they first get onAdd for each cached object. */
  addEventHandler(h: EventHandlers<T>): () => void {
    this.handlers.add(h);
    if (this.reflector.hasSynced()) for (const o of this.store.list()) h.onAdd?.(o, true);
    return () => this.handlers.delete(h);
  }

  lister(): Lister<T> {
    return new Lister(this.store);
  }

  hasSynced(): boolean {
    return this.reflector.hasSynced();
  }

  get lastSyncResourceVersion(): string {
    return this.reflector.lastSyncResourceVersion;
  }

  start(): void {
    if (this.controller) return;
    this.controller = new AbortController();
    const signal = this.controller.signal;
    this.running = this.reflector.run(signal);
    if (this.opts.resyncMs && this.opts.resyncMs > 0) void this.resyncLoop(this.opts.resyncMs, signal);
  }

  async stop(): Promise<void> {
    this.controller?.abort();
    await this.running;
    for (const w of this.syncWaiters.splice(0)) w();
  }

  /** Resolves once the first LIST is in the cache (or the informer stopped / `signal` aborted). */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.hasSynced()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener("abort", done);
        resolve(this.hasSynced());
      };
      this.syncWaiters.push(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  private replace(items: T[]): void {
    const seen = new Set<string>();
    const adds: T[] = [];
    const updates: [T, T][] = [];
    for (const o of items) {
      const old = this.store.upsert(o);
      const key = o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!;
      seen.add(key);
      if (!old) adds.push(o);
      else if (old.metadata.resourceVersion !== o.metadata.resourceVersion) updates.push([old, o]);
    }
    const gone: T[] = [];
    for (const key of this.store.keys()) if (!seen.has(key)) gone.push(this.store.removeKey(key)!);
    for (const h of this.handlers) {
      for (const o of adds) call(() => h.onAdd?.(o, true));
      for (const [a, b] of updates) call(() => h.onUpdate?.(a, b));
      for (const o of gone) call(() => h.onDelete?.(o));
    }
    const waiters = this.syncWaiters.splice(0);
    for (const w of waiters) queueMicrotask(w);
  }

  private apply(o: T): void {
    const old = this.store.upsert(o);
    for (const h of this.handlers) {
      if (old) call(() => h.onUpdate?.(old, o));
      else call(() => h.onAdd?.(o, false));
    }
  }

  private remove(o: T): void {
    const old = this.store.remove(o);
    const last = old ?? o;
    for (const h of this.handlers) call(() => h.onDelete?.(last));
  }

  private async resyncLoop(ms: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(ms, signal);
      if (signal.aborted || !this.hasSynced()) continue;
      for (const o of this.store.list()) for (const h of this.handlers) call(() => h.onUpdate?.(o, o));
    }
  }
}

/** A handler's bug must not stop the informer or the other handlers. */
function call(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    process.emitWarning(`informer event handler failed: ${(err as Error)?.stack ?? String(err)}`);
  }
}

/** Hands out one shared informer per resource (and options), like client-go's SharedInformerFactory. */
export class InformerFactory {
  private readonly informers = new Map<string, SharedInformer<KubeObject>>();
  private started = false;

  constructor(
    readonly client: RestClient,
    private readonly defaults: InformerOptions = {},
  ) {}

  forResource<T extends KubeObject>(type: ResourceType, opts: InformerOptions = {}): SharedInformer<T> {
    const o = { ...this.defaults, ...opts };
    const key = [type.group, type.version, type.resource, o.namespace ?? "", o.labelSelector ?? "", o.fieldSelector ?? ""].join("|");
    let inf = this.informers.get(key);
    if (!inf) {
      inf = SharedInformer.forResource<KubeObject>(this.client, type, o);
      this.informers.set(key, inf);
      if (this.started) inf.start();
    }
    return inf as unknown as SharedInformer<T>;
  }

  start(): void {
    this.started = true;
    for (const i of this.informers.values()) i.start();
  }

  /** Resolves true when every informer has synced, false if `signal` aborted first. */
  async waitForCacheSync(signal?: AbortSignal): Promise<boolean> {
    const all = Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
    if (!signal) return (await all).every(Boolean);
    if (signal.aborted) return false;
    // One abort listener for all informers (a controller-manager has dozens).
    let onAbort!: () => void;
    const aborted = new Promise<boolean[]>((r) => (onAbort = () => r([false])));
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      return (await Promise.race([all, aborted])).every(Boolean);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
