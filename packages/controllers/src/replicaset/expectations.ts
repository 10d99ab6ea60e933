// Book 2.3.3 and 11.3: controller expectations: once a controller has asked for N pod creations or
// deletions it waits until its informer has seen them (or a TTL passes) before it counts pods again.
import { type Clock, realClock } from "../framework/types.js";

/** How long a controller waits for its informer before it stops trusting the outstanding counts. */
export const EXPECTATIONS_TTL_MS = 5 * 60 * 1000;

interface Pending {
  adds: number;
  dels: number;
  /** When these expectations were set (ms since epoch, on the clock). */
  since: number;
}

/**
 * Outstanding creates and deletes per controller key ("ns/name"). The informer cache lags behind
 * the controller's own writes; without this a second reconcile would see too few (or too many) pods
 * and act twice. Satisfied means: nothing recorded, every write observed, or the record is stale.
 */
export class Expectations {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly clock: Clock = realClock,
    private readonly ttlMs: number = EXPECTATIONS_TTL_MS,
  ) {}

  /** Record that `adds` creations and `dels` deletions are on their way, replacing any old record. */
  expect(key: string, adds: number, dels: number): void {
    this.pending.set(key, { adds, dels, since: this.clock.now().getTime() });
  }

  /** The informer saw one of our pods appear (or a create failed and never will). */
  creationObserved(key: string): void {
    const p = this.pending.get(key);
    if (p) p.adds--;
  }

  /** The informer saw one of our pods go away (or a delete failed and never will). */
  deletionObserved(key: string): void {
    const p = this.pending.get(key);
    if (p) p.dels--;
  }

  /** Whether the controller may trust its cache again for `key`. */
  satisfied(key: string): boolean {
    const p = this.pending.get(key);
    if (!p) return true;
    if (p.adds <= 0 && p.dels <= 0) return true;
    return this.clock.now().getTime() - p.since > this.ttlMs;
  }

  /** The outstanding counts, if any (for tests and debugging). */
  get(key: string): { adds: number; dels: number } | undefined {
    const p = this.pending.get(key);
    return p ? { adds: p.adds, dels: p.dels } : undefined;
  }

  /** Forget `key` (its controller object is gone). */
  delete(key: string): void {
    this.pending.delete(key);
  }
}
