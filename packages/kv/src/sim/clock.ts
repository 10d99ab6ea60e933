// Book 12.9: virtual time for the simulation. Timers go into one queue ordered by (time, insertion
// sequence); stepping runs one event and then lets every pending promise settle, so async code
// (a member awaiting its disk) advances at the same virtual instant on every replay.
import type { Clock } from "../server/deps.js";

interface Timer {
  time: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
  label: string;
}

/** Lets every queued microtask (promise continuations, nextTicks) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class SimClock implements Clock {
  private heap: Timer[] = [];
  private seq = 0;
  private time = 0;
  private live = 0;
  /** Events run so far (for summaries and livelock detection). */
  events = 0;
  /** Called after every event, once promises have settled; an invariant checker hooks in here. */
  afterEvent?: (label: string) => void | Promise<void>;
  /** An exception thrown by an event's callback is kept here and rethrown by step(). */
  private failure?: unknown;

  constructor(startMs = 0) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    return this.schedule(fn, ms, "timeout");
  }

  setInterval(fn: () => void, ms: number): () => void {
    const every = Math.max(ms, 0.001);
    let cancelOne = (): void => {};
    let stopped = false;
    const fire = (): void => {
      if (stopped) return;
      cancelOne = this.schedule(fire, every, "interval");
      fn();
    };
    cancelOne = this.schedule(fire, every, "interval");
    return () => {
      stopped = true;
      cancelOne();
    };
  }

  /** Queues `fn` at now+ms with a label for traces. Returns its cancel function. */
  schedule(fn: () => void, ms: number, label: string): () => void {
    const t: Timer = { time: this.time + Math.max(0, ms), seq: this.seq++, fn, cancelled: false, label };
    this.push(t);
    this.live++;
    return () => {
      if (!t.cancelled) {
        t.cancelled = true;
        this.live--;
      }
    };
  }

  /** A clock whose timers can all be cancelled at once: what a crashed process loses. */
  scope(onFire?: () => void): ScopedClock {
    return new ScopedClock(this, onFire);
  }

  /** Timers waiting (not cancelled). */
  pending(): number {
    return this.live;
  }

  /** Time of the next live event, if any. */
  peekTime(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.time;
  }

  /** Runs the next event (advancing time to it) and settles promises. False if nothing is queued. */
  async step(): Promise<boolean> {
    this.dropCancelled();
    const t = this.pop();
    if (!t) return false;
    this.live--;
    t.cancelled = true;
    this.time = t.time;
    this.events++;
    try {
      t.fn();
    } catch (err) {
      this.failure ??= err;
    }
    await settle();
    if (this.failure !== undefined) {
      const err = this.failure;
      this.failure = undefined;
      throw err;
    }
    if (this.afterEvent) await this.afterEvent(t.label);
    return true;
  }

  /** Runs every event due within `ms`, then leaves the clock at now+ms. */
  async runFor(ms: number): Promise<void> {
    const end = this.time + ms;
    await this.runUntil(() => false, ms);
    this.time = Math.max(this.time, end);
  }

  /** Runs events until `done()` holds (checked after each event) or `ms` of virtual time passes.
   * Returns whether `done()` held. */
  async runUntil(done: () => boolean, ms: number): Promise<boolean> {
    const end = this.time + ms;
    let sameTime = 0;
    let last = this.time;
    await settle();
    if (done()) return true;
    for (;;) {
      const next = this.peekTime();
      if (next === undefined || next > end) {
        this.time = Math.max(this.time, end);
        return done();
      }
      await this.step();
      if (done()) return true;
      if (this.time === last) {
        if (++sameTime > 200_000) throw new Error(`livelock: 200000 events at virtual time ${this.time}`);
      } else {
        last = this.time;
        sameTime = 0;
      }
    }
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(x: Timer, y: Timer): boolean {
  return x.time < y.time || (x.time === y.time && x.seq < y.seq);
}

/** One process's view of the clock. `kill()` cancels its timers and ignores any it sets later. */
export class ScopedClock implements Clock {
  private cancels = new Set<() => void>();
  private dead = false;

  /** `onFire` runs before each of this scope's timers (the cluster marks the member as touched). */
  constructor(private readonly clock: SimClock, private readonly onFire: () => void = () => {}) {}

  now(): number {
    return this.clock.now();
  }

  setTimeout(fn: () => void, ms: number): () => void {
    if (this.dead) return () => {};
    const cancel = this.clock.schedule(() => {
      this.cancels.delete(cancel);
      this.onFire();
      fn();
    }, ms, "member-timeout");
    this.cancels.add(cancel);
    return () => {
      cancel();
      this.cancels.delete(cancel);
    };
  }

  setInterval(fn: () => void, ms: number): () => void {
    if (this.dead) return () => {};
    const cancel = this.clock.setInterval(() => {
      this.onFire();
      fn();
    }, ms);
    this.cancels.add(cancel);
    return () => {
      cancel();
      this.cancels.delete(cancel);
    };
  }

  kill(): void {
    this.dead = true;
    for (const c of this.cancels) c();
    this.cancels.clear();
  }

  get alive(): boolean {
    return !this.dead;
  }
}
