// Book 11.2: client-side rate limiting (client-go's flowcontrol): a token bucket with a steady rate
// (QPS) and a burst, so a busy controller cannot flood the API server.

export interface RateLimiter {
  /** Resolves when a request may go out. */
  wait(signal?: AbortSignal): Promise<void>;
  /** Takes a token now if one is free. */
  tryAccept(): boolean;
}

export class TokenBucket implements RateLimiter {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly qps: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(qps > 0)) throw new Error(`qps must be positive, got ${qps}`);
    if (!(burst >= 1)) throw new Error(`burst must be at least 1, got ${burst}`);
    this.tokens = burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
  }

  tryAccept(): boolean {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  wait(signal?: AbortSignal): Promise<void> {
    // Waiters are served in arrival order: each one waits for the one before it.
    const turn = this.queue.then(async () => {
      for (;;) {
        signal?.throwIfAborted();
        if (this.tryAccept()) return;
        const ms = Math.ceil(((1 - this.tokens) / this.qps) * 1000);
        await new Promise((r) => setTimeout(r, Math.max(1, ms)));
      }
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }
}

/** No limit at all (qps <= 0 in a component's flags, as client-go treats a negative QPS). */
export const unlimited: RateLimiter = { wait: async () => undefined, tryAccept: () => true };
