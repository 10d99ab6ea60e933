// Book 11.2: the work queue behind every controller (client-go's util/workqueue): keys wait once,
// a key is never worked on twice at the same time, failed keys come back later with growing delays.

/** Time as the queue sees it; tests pass a fake one so nothing has to sleep. */
export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export type GetResult<T> = { item: T; shutdown: false } | { shutdown: true };

/**
 * A FIFO of items (usually "namespace/name" keys) with client-go's guarantees:
 * - an item waiting in the queue is not added a second time;
 * - an item handed out by get() and not yet done() is "processing": adding it again only marks it
 *   dirty, and done() puts it back in the queue, so two workers never hold the same item;
 * - after shutDown(), get() still hands out what is queued, then answers { shutdown: true }.
 * Items are compared as Map keys are (by value for strings and numbers).
 */
export class WorkQueue<T = string> {
  private queue: T[] = [];
  /** Items that need processing: queued ones, and processing ones added again. */
  private readonly dirty = new Set<T>();
  private readonly processing = new Set<T>();
  private readonly waiters: Array<(r: GetResult<T>) => void> = [];
  private drainWaiters: Array<() => void> = [];
  private shutting = false;

  add(item: T): void {
    if (this.shutting) return;
    if (this.dirty.has(item)) return;
    this.dirty.add(item);
    if (this.processing.has(item)) return;
    this.queue.push(item);
    this.handOut();
  }

  /** Waits for an item; { shutdown: true } once the queue is shut down and empty. */
  get(): Promise<GetResult<T>> {
    if (this.queue.length > 0) return Promise.resolve(this.take());
    if (this.shutting) return Promise.resolve({ shutdown: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks an item processed; if it was added meanwhile, it goes back in the queue. */
  done(item: T): void {
    if (!this.processing.delete(item)) return;
    if (this.dirty.has(item)) {
      this.queue.push(item);
      this.handOut();
    }
    if (this.processing.size === 0) this.endDrain();
  }

  /** Items waiting to be handed out (not counting those being processed). */
  len(): number {
    return this.queue.length;
  }

  /** No more adds; waiting get() calls answer { shutdown: true } once the queue is empty. */
  shutDown(): void {
    this.shutting = true;
    this.onShutDown();
    this.wakeForShutdown();
    // A plain shutdown also ends any shutDownWithDrain() still waiting, as in client-go.
    this.endDrain();
  }

  /** Like shutDown(), then waits until every item handed out has been marked done(). */
  shutDownWithDrain(): Promise<void> {
    this.shutting = true;
    this.onShutDown();
    this.wakeForShutdown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  shuttingDown(): boolean {
    return this.shutting;
  }

  /** Hook for subclasses that hold timers. */
  protected onShutDown(): void {}

  private take(): GetResult<T> {
    const item = this.queue.shift() as T;
    this.processing.add(item);
    this.dirty.delete(item);
    return { item, shutdown: false };
  }

  private handOut(): void {
    while (this.waiters.length > 0 && this.queue.length > 0) {
      const w = this.waiters.shift()!;
      w(this.take());
    }
  }

  private wakeForShutdown(): void {
    // Waiters exist only while the queue is empty, so each of them is told to stop.
    const ws = this.waiters.splice(0);
    for (const w of ws) w({ shutdown: true });
  }

  private endDrain(): void {
    const ws = this.drainWaiters.splice(0);
    for (const w of ws) w();
  }
}

interface Waiting<T> {
  item: T;
  readyAt: number;
  /** Order of arrival, so items ready at the same time come out in the order they were added. */
  seq: number;
}

/**
 * A WorkQueue whose items can be added after a delay. Waiting items sit in a min-heap by readiness
 * time with one timer for the earliest; adding an item that already waits moves it earlier, never later.
 */
export class DelayingQueue<T = string> extends WorkQueue<T> {
  protected readonly clock: Clock;
  private heap: Waiting<T>[] = [];
  /** The readiness time each waiting item has now; heap entries that disagree are stale. */
  private readonly readyAt = new Map<T, number>();
  private seq = 0;
  private timer: unknown;
  private timerAt = Infinity;

  constructor(opts: { clock?: Clock } = {}) {
    super();
    this.clock = opts.clock ?? realClock;
  }

  addAfter(item: T, ms: number): void {
    if (this.shuttingDown()) return;
    if (!(ms > 0)) {
      this.add(item);
      return;
    }
    const at = this.clock.now() + ms;
    const current = this.readyAt.get(item);
    if (current !== undefined && current <= at) return;
    this.readyAt.set(item, at);
    this.push({ item, readyAt: at, seq: this.seq++ });
    this.arm();
  }

  /** Items waiting for their delay to pass. */
  waitingLen(): number {
    return this.readyAt.size;
  }

  protected override onShutDown(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.heap = [];
    this.readyAt.clear();
  }

  private arm(): void {
    const top = this.heap[0];
    if (!top || top.readyAt >= this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = top.readyAt;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, top.readyAt - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    while (this.heap.length > 0 && this.heap[0].readyAt <= now) {
      const w = this.pop();
      if (this.readyAt.get(w.item) !== w.readyAt) continue; // replaced by an earlier time
      this.readyAt.delete(w.item);
      this.add(w.item);
    }
    this.arm();
  }

  private less(a: Waiting<T>, b: Waiting<T>): boolean {
    return a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.seq < b.seq);
  }

  private push(w: Waiting<T>): void {
    const h = this.heap;
    h.push(w);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Waiting<T> {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

/** Decides how long an item waits before its next try. */
export interface QueueRateLimiter<T = string> {
  /** The delay in ms for this try of `item` (and records the try). */
  when(item: T): number;
  /** Stops tracking `item` (it succeeded). */
  forget(item: T): void;
  /** How many times `item` has been asked about since it was last forgotten. */
  numRequeues(item: T): number;
}

/** Per-item exponential backoff: baseMs, 2·baseMs, 4·baseMs ... capped at maxMs. */
export class ItemExponentialFailureRateLimiter<T = string> implements QueueRateLimiter<T> {
  private readonly failures = new Map<T, number>();

  constructor(
    readonly baseMs = 5,
    readonly maxMs = 1000_000,
  ) {
    if (!(baseMs >= 0) || !(maxMs >= 0)) throw new Error(`backoff times must be non-negative, got base ${baseMs} ms, max ${maxMs} ms`);
  }

  when(item: T): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    const delay = this.baseMs * 2 ** n;
    return Number.isFinite(delay) && delay < this.maxMs ? delay : this.maxMs;
  }

  forget(item: T): void {
    this.failures.delete(item);
  }

  numRequeues(item: T): number {
    return this.failures.get(item) ?? 0;
  }
}

/**
 * One token bucket for all items (qps tokens a second, at most `burst` saved up). It never blocks:
 * each when() reserves a token and answers how long until that token exists.
 */
export class BucketRateLimiter<T = string> implements QueueRateLimiter<T> {
  private tokens: number;
  private last: number;

  constructor(
    readonly qps = 10,
    readonly burst = 100,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(qps > 0)) throw new Error(`qps must be positive, got ${qps}`);
    if (!(burst >= 1)) throw new Error(`burst must be at least 1, got ${burst}`);
    this.tokens = burst;
    this.last = now();
  }

  when(_item: T): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  forget(_item: T): void {}

  numRequeues(_item: T): number {
    return 0;
  }
}

/** The longest delay any of its limiters asks for; every limiter records every try. */
export class MaxOfRateLimiter<T = string> implements QueueRateLimiter<T> {
  readonly limiters: QueueRateLimiter<T>[];

  constructor(...limiters: QueueRateLimiter<T>[]) {
    if (limiters.length === 0) throw new Error("MaxOfRateLimiter needs at least one limiter");
    this.limiters = limiters;
  }

  when(item: T): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.when(item));
    return max;
  }

  forget(item: T): void {
    for (const l of this.limiters) l.forget(item);
  }

  numRequeues(item: T): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.numRequeues(item));
    return max;
  }
}

/** What client-go controllers use: per-item backoff from 5 ms to 1000 s, and 10 qps (burst 100) overall. */
export function defaultControllerRateLimiter<T = string>(clock: Pick<Clock, "now"> = realClock): QueueRateLimiter<T> {
  return new MaxOfRateLimiter<T>(new ItemExponentialFailureRateLimiter<T>(5, 1000_000), new BucketRateLimiter<T>(10, 100, () => clock.now()));
}

/** A DelayingQueue that asks a RateLimiter how long each retry of an item waits. */
export class RateLimitingQueue<T = string> extends DelayingQueue<T> {
  readonly rateLimiter: QueueRateLimiter<T>;

  constructor(opts: { rateLimiter?: QueueRateLimiter<T>; clock?: Clock } = {}) {
    super({ clock: opts.clock });
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter<T>(this.clock);
  }

  /** Adds `item` once the rate limiter says it may (after a failure, typically). */
  addRateLimited(item: T): void {
    this.addAfter(item, this.rateLimiter.when(item));
  }

  /** The item succeeded: its backoff starts over. It does not take the item out of the queue. */
  forget(item: T): void {
    this.rateLimiter.forget(item);
  }

  numRequeues(item: T): number {
    return this.rateLimiter.numRequeues(item);
  }
}
