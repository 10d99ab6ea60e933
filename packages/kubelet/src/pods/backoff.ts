// Book 9.3 (pod lifecycle): CrashLoopBackOff: a container that keeps exiting waits 10 s, then 20 s,
// 40 s ... up to 5 minutes before each restart; a container that ran long enough starts over.
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
}

interface Entry {
  delayMs: number;
  lastSet: number;
}

export class CrashLoopBackoff {
  private readonly entries = new Map<string, Entry>();
  readonly initialMs: number;
  readonly maxMs: number;

  constructor(o: BackoffOptions = {}) {
    this.initialMs = o.initialMs ?? 10_000;
    this.maxMs = o.maxMs ?? 300_000;
  }

  /** How long `key`, which last exited at `finishedAt`, must still wait (0: it may start now). */
  remaining(key: string, finishedAt: number, now: number): number {
    const e = this.entries.get(key);
    if (!e || now - e.lastSet > 2 * this.maxMs) return 0;
    return Math.max(0, finishedAt + e.delayMs - now);
  }

  /**
   * `key` is restarted now: the next restart waits twice as long as this one did (the first waits
   * initialMs), unless the last one is older than twice the cap (it ran healthily for a while).
   */
  next(key: string, now: number): void {
    const e = this.entries.get(key);
    const fresh = !e || now - e.lastSet > 2 * this.maxMs;
    const delayMs = fresh ? this.initialMs : Math.min(e.delayMs * 2, this.maxMs);
    this.entries.set(key, { delayMs, lastSet: now });
  }

  forgetPrefix(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
