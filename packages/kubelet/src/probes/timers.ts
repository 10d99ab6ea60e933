// Book 9.3: the clock the probe workers wait on: real timers by default, and a fake scheduler that tests
// advance by hand so thresholds and delays can be checked without waiting for them.

/** What a probe worker needs from time: the current instant (ms) and one-shot timers. */
export interface ProbeTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: ProbeTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // Probe timers alone should not keep a process alive.
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

interface Pending {
  id: number;
  due: number;
  fn: () => void;
}

/** Lets every promise callback that is ready run, so async work started by a timer can finish. */
export const settle = async (rounds = 5): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
};

/**
 * A fake timer scheduler: time stands still until advance() moves it, firing due timers in order and
 * letting the promise work each one starts settle before the next fires.
 */
export class FakeProbeTimers implements ProbeTimers {
  private t: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.push({ id, due: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }

  /** How many timers are waiting. */
  get size(): number {
    return this.pending.length;
  }

  /** Moves time forward by ms, firing each timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await settle();
    for (;;) {
      const next = this.pending.filter((p) => p.due <= target).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!next) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.t = next.due;
      next.fn();
      await settle();
    }
    this.t = target;
  }
}
