// Book 10.1: kube-proxy's bounded-frequency sync runner: a burst of Service changes becomes one sync, no
// two syncs start closer than minInterval, and one runs at least every maxInterval even with no change.

import type { Clock } from "@corekube/client";

/** The work queue's clock interface; here now() is wall-clock time, because /healthz prints it as a date. */
export type RunnerClock = Clock;

export const realClock: RunnerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RunnerOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  clock?: RunnerClock;
}

export class BoundedFrequencyRunner {
  private readonly clock: RunnerClock;
  private lastRun = Number.NEGATIVE_INFINITY;
  private pending = false;
  private running: Promise<void> | undefined;
  private timer: unknown;
  private stopped = false;
  private started = false;

  constructor(
    private readonly fn: () => Promise<void>,
    private readonly o: RunnerOptions,
  ) {
    if (!(o.minIntervalMs >= 0) || !(o.maxIntervalMs > 0) || o.minIntervalMs > o.maxIntervalMs)
      throw new Error(`sync runner: want 0 <= minInterval (${o.minIntervalMs}) <= maxInterval (${o.maxIntervalMs}), maxInterval > 0`);
    this.clock = o.clock ?? realClock;
  }

  /** Starts with a run right away. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.pending = true;
    this.schedule();
  }

  /** Asks for a run: as soon as minInterval since the last one allows. Calls in between fold into one. */
  run(): void {
    if (this.stopped) return;
    this.pending = true;
    if (this.started && !this.running) this.schedule();
  }

  /** Resolves once no run is in progress (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.idle();
  }

  private schedule(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    const now = this.clock.now();
    const due = this.pending ? Math.max(now, this.lastRun + this.o.minIntervalMs) : this.lastRun + this.o.maxIntervalMs;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, due - now));
  }

  private fire(): void {
    this.timer = undefined;
    if (this.running || this.stopped) return;
    this.pending = false;
    this.lastRun = this.clock.now();
    this.running = (async () => {
      try {
        await this.fn();
      } catch {
        // The sync function reports its own errors; the runner keeps going.
      } finally {
        this.running = undefined;
        if (!this.stopped) this.schedule();
      }
    })();
  }
}
