// Book 12.2 and 12.5: linearizable reads without writing to the log (Raft's ReadIndex). Reads that
// arrive together share one round: the leader confirms it still leads and names a commit index;
// the reads are answered once this member has applied up to it. No quorum, no answer.
import { Errors } from "../types.js";

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

export interface ReadIndexDeps {
  /** Ask the Raft core for a read index under this context (the answer comes in a Ready). */
  request(ctx: string): void;
  newContext(): string;
  now(): number;
  applied(): number;
  hasLeader(): boolean;
  /** A round with no answer after this long fails its reads. */
  timeoutMs: number;
  /** A round with no answer after this long is asked again (messages may have been lost). */
  retryMs: number;
  onFailed(): void;
}

export class ReadIndexBatcher {
  private pending: Waiter[] = [];
  private inFlight: { ctx: string; waiters: Waiter[]; sentAt: number; firstSentAt: number } | null = null;
  private awaitingApply: { index: number; resolve(): void }[] = [];

  constructor(private readonly d: ReadIndexDeps) {}

  /** Resolves once everything committed before the call has been applied here. */
  wait(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.send();
    });
  }

  private send(): void {
    if (this.inFlight || this.pending.length === 0) return;
    const now = this.d.now();
    const ctx = this.d.newContext();
    this.inFlight = { ctx, waiters: this.pending, sentAt: now, firstSentAt: now };
    this.pending = [];
    this.d.request(ctx);
  }

  /** Called on every tick: retry a silent round, or give up on it. */
  tick(): void {
    const r = this.inFlight;
    if (!r) return;
    const now = this.d.now();
    if (now - r.firstSentAt >= this.d.timeoutMs) {
      this.inFlight = null;
      this.d.onFailed();
      for (const w of r.waiters) w.reject(this.d.hasLeader() ? Errors.timeout() : Errors.noLeader());
      this.send();
    } else if (now - r.sentAt >= this.d.retryMs) {
      r.ctx = this.d.newContext();
      r.sentAt = now;
      this.d.request(r.ctx);
    }
  }

  /** A ReadState came out of a Ready. */
  onReadState(ctx: string, index: number): void {
    const r = this.inFlight;
    if (!r || r.ctx !== ctx) return;
    this.inFlight = null;
    for (const w of r.waiters) this.awaitingApply.push({ index, resolve: w.resolve });
    this.onApplied();
    this.send();
  }

  /** The applied index moved: answer the reads it now covers. */
  onApplied(): void {
    if (this.awaitingApply.length === 0) return;
    const applied = this.d.applied();
    const still: typeof this.awaitingApply = [];
    for (const r of this.awaitingApply) (r.index <= applied ? r.resolve() : still.push(r));
    this.awaitingApply = still;
  }

  failAll(e: Error): void {
    for (const w of [...this.pending, ...(this.inFlight?.waiters ?? [])]) w.reject(e);
    this.pending = [];
    this.inFlight = null;
  }
}
