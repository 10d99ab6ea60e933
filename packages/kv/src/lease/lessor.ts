// Book 12.2: the replicated lease table (etcd's lessor, minus the clock): which leases exist, their
// granted TTL, and which keys are attached to each. Expiry timing lives in expiry.ts, on the leader only.
import { Errors, Limits, type EtcdError, type Id } from "../types.js";

export interface Lease {
  ID: Id;
  /** Granted TTL in seconds (after raising it to the minimum). */
  TTL: number;
  keys: Set<string>;
}

/** Lease ids are uint64 decimal strings: shorter is smaller, then compare digit by digit. */
export function compareLeaseIds(a: Id, b: Id): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

export class Lessor {
  private readonly leases = new Map<Id, Lease>();

  constructor(private readonly minTTL: number = Limits.minLeaseTTL) {}

  get size(): number { return this.leases.size; }

  has(id: Id): boolean { return this.leases.has(id); }

  get(id: Id): Lease | undefined { return this.leases.get(id); }

  /** etcd: id 0 is "not found", an existing id is "exists", a TTL above the max is "too large";
   * a TTL below the minimum is raised to it. */
  grant(id: Id, ttl: number): Lease | EtcdError {
    if (id === "0" || id === "") return Errors.leaseNotFound();
    if (this.leases.has(id)) return Errors.leaseExists();
    if (ttl > Limits.maxLeaseTTL) return Errors.leaseTTLTooLarge();
    const lease: Lease = { ID: id, TTL: Math.max(ttl, this.minTTL), keys: new Set() };
    this.leases.set(id, lease);
    return lease;
  }

  /** Forget the lease; returns its keys sorted (they are deleted in this order) or undefined if unknown. */
  remove(id: Id): string[] | undefined {
    const lease = this.leases.get(id);
    if (!lease) return undefined;
    this.leases.delete(id);
    return [...lease.keys].sort();
  }

  attach(id: Id, key: string): void {
    if (id === "0") return;
    const lease = this.leases.get(id);
    if (!lease) throw new Error(`lessor: attach to unknown lease ${id}`);
    lease.keys.add(key);
  }

  detach(id: Id, key: string): void {
    if (id === "0") return;
    this.leases.get(id)?.keys.delete(key);
  }

  ids(): Id[] {
    return [...this.leases.keys()].sort(compareLeaseIds);
  }

  /** Leases as [id, ttl] in id order (keys are rebuilt from the store on restore). */
  dump(): [Id, number][] {
    return this.ids().map((id) => [id, this.leases.get(id)!.TTL]);
  }

  static load(data: [Id, number][], minTTL?: number): Lessor {
    const l = new Lessor(minTTL);
    for (const [ID, TTL] of data) l.leases.set(ID, { ID, TTL, keys: new Set() });
    return l;
  }
}
