// Book 12.2: the leader's lease clock (not replicated; time passed in as ms). Only the leader decides a lease
// expired; it proposes a revoke through Raft, so every member deletes the keys at the same revision.
import type { Id } from "../types.js";
import { compareLeaseIds } from "./lessor.js";

/** etcd re-reports an expired lease whose revoke has not been applied after this long. */
export const EXPIRED_RETRY_MS = 3000;

interface Entry {
  ttl: number;
  /** When the lease expires (ms). */
  expiry: number;
  /** When expired() may report it (again). */
  due: number;
}

export class LeaseClock {
  private readonly entries = new Map<Id, Entry>();
  private primary = false;

  get isPrimary(): boolean { return this.primary; }

  /** On becoming leader: every lease starts a full TTL from now (etcd "refreshes" on promotion, so a
   * leader change never expires a lease early). */
  promote(now: number, leases: { ID: Id; TTL: number }[]): void {
    this.primary = true;
    this.entries.clear();
    for (const l of leases) this.set(l.ID, l.TTL, now);
  }

  /** Followers track nothing. */
  demote(): void {
    this.primary = false;
    this.entries.clear();
  }

  /** A grant was applied (ignored unless primary). */
  grant(id: Id, ttl: number, now: number): void {
    if (this.primary) this.set(id, ttl, now);
  }

  /** Keep-alive: restart the TTL and return it; 0 if unknown, expired (its revoke is on the way) or not primary. */
  renew(id: Id, now: number): number {
    const e = this.entries.get(id);
    if (!e || now >= e.expiry) return 0;
    this.set(id, e.ttl, now);
    return e.ttl;
  }

  /** A revoke was applied. */
  revoke(id: Id): void {
    this.entries.delete(id);
  }

  /** Whole seconds left, rounded up; -1 if unknown or expired. */
  remaining(id: Id, now: number): number {
    const e = this.entries.get(id);
    if (!e || now >= e.expiry) return -1;
    return Math.ceil((e.expiry - now) / 1000);
  }

  /**
   * Leases past their expiry, the longest expired first (at most `max`). Each is reported again only
   * after EXPIRED_RETRY_MS, in case its revoke proposal was lost.
   */
  expired(now: number, max = Infinity): Id[] {
    const due: [Id, Entry][] = [];
    for (const [id, e] of this.entries) if (now >= e.expiry && now >= e.due) due.push([id, e]);
    due.sort((a, b) => a[1].expiry - b[1].expiry || compareLeaseIds(a[0], b[0]));
    const out = due.slice(0, Math.max(0, max));
    for (const [, e] of out) e.due = now + EXPIRED_RETRY_MS;
    return out.map(([id]) => id);
  }

  private set(id: Id, ttl: number, now: number): void {
    const expiry = now + ttl * 1000;
    this.entries.set(id, { ttl, expiry, due: expiry });
  }
}
