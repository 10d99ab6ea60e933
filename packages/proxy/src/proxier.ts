// Book 10.1 and 6.3: the proxier: keeps the Services and EndpointSlices it is told about, and on each sync
// renders them and applies the difference (a full sync first, then partial ones), with metrics and health.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { chainsOf, type Iptables } from "./iptables.js";
import {
  FULL_SYNC_BATCH_CHAINS,
  fullRestoreBatches,
  type NodeInfo,
  partialRestoreText,
  type RenderCache,
  type Rendering,
  render,
  ruleCounts,
  TABLES,
  type TableName,
} from "./render.js";
import { BoundedFrequencyRunner, realClock, type RunnerClock } from "./runner.js";
import type { ProxyEndpointSlice, ProxyService } from "./types.js";

/** What the proxier needs from iptables (the Iptables class, or a fake in tests). */
export type IptablesLike = Pick<Iptables, "restore" | "save" | "ensureJumps"> & { readonly backend?: "nft" | "legacy" };

export interface ProxierOptions {
  iptables: IptablesLike;
  node: NodeInfo;
  /** No two syncs closer than this (upstream --iptables-min-sync-period, default 1 s). */
  minSyncPeriodMs?: number;
  /** A sync at least this often, even with no change (upstream --iptables-sync-period, default 30 s). */
  syncPeriodMs?: number;
  /** A sync rewrites everything when the last full one is older than this (upstream: 1 hour). */
  fullSyncPeriodMs?: number;
  clock?: RunnerClock;
  registry?: Registry;
  log?: (line: string) => void;
}

export interface SyncOutcome {
  kind: "full" | "partial";
  /** Bytes of iptables-restore input written (0: nothing changed). */
  bytes: number;
  error?: Error;
}

export interface Health {
  healthy: boolean;
  lastUpdated?: number;
  currentTime: number;
}

const key = (o: { metadata: { namespace?: string; name?: string } }) => `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;

export class Proxier {
  readonly registry: Registry;
  private readonly services = new Map<string, ProxyService>();
  private readonly slices = new Map<string, ProxyEndpointSlice>();
  private readonly runner: BoundedFrequencyRunner;
  private readonly clock: RunnerClock;
  private readonly log: (line: string) => void;
  private readonly syncPeriodMs: number;
  private readonly fullSyncPeriodMs: number;
  /** What the host holds, as far as we know; undefined forces a full sync. */
  private applied: Rendering | undefined;
  private lastFullSync = Number.NEGATIVE_INFINITY;
  private lastUpdated: number | undefined;
  private oldestPending: number | undefined;
  private lastWarnings = "";
  private readonly cache: RenderCache = new Map();
  private readonly metrics: {
    duration: Histogram;
    full: Histogram;
    partial: Histogram;
    rules: Gauge<"table">;
    last: Gauge;
    failures: Counter;
  };
  /** Called after each sync attempt (tests and the bench watch this). */
  onSync: ((o: SyncOutcome) => void) | undefined;

  constructor(private readonly o: ProxierOptions) {
    this.clock = o.clock ?? realClock;
    this.log = o.log ?? (() => undefined);
    this.syncPeriodMs = o.syncPeriodMs ?? 30_000;
    this.fullSyncPeriodMs = o.fullSyncPeriodMs ?? 3_600_000;
    const minSyncPeriodMs = o.minSyncPeriodMs ?? 1_000;
    this.runner = new BoundedFrequencyRunner(() => this.syncNow().then(() => undefined), {
      minIntervalMs: minSyncPeriodMs,
      maxIntervalMs: this.syncPeriodMs,
      clock: this.clock,
    });
    this.registry = o.registry ?? new Registry();
    const buckets = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);
    const r = [this.registry];
    this.metrics = {
      duration: new Histogram({ name: "kubeproxy_sync_proxy_rules_duration_seconds", help: "SyncProxyRules latency in seconds", buckets, registers: r }),
      full: new Histogram({ name: "kubeproxy_sync_full_proxy_rules_duration_seconds", help: "Full SyncProxyRules latency in seconds", buckets, registers: r }),
      partial: new Histogram({
        name: "kubeproxy_sync_partial_proxy_rules_duration_seconds",
        help: "Partial SyncProxyRules latency in seconds",
        buckets,
        registers: r,
      }),
      rules: new Gauge({ name: "kubeproxy_sync_proxy_rules_iptables_total", help: "Total number of iptables rules owned by kube-proxy", labelNames: ["table"], registers: r }),
      last: new Gauge({ name: "kubeproxy_sync_proxy_rules_last_timestamp_seconds", help: "The last time proxy rules were successfully synced", registers: r }),
      failures: new Counter({ name: "kubeproxy_sync_proxy_rules_iptables_restore_failures_total", help: "Number of iptables-restore failures", registers: r }),
    };
  }

  // --- inputs (informer handlers call these)

  upsertService(s: ProxyService): void {
    this.services.set(key(s), s);
    this.changed();
  }
  deleteService(s: ProxyService): void {
    if (this.services.delete(key(s))) this.changed();
  }
  upsertSlice(s: ProxyEndpointSlice): void {
    this.slices.set(key(s), s);
    this.changed();
  }
  deleteSlice(s: ProxyEndpointSlice): void {
    if (this.slices.delete(key(s))) this.changed();
  }

  private changed(): void {
    this.oldestPending ??= this.clock.now();
    this.runner.run();
  }

  /** Starts the sync loop with a full sync right away. */
  start(): void {
    this.oldestPending ??= this.clock.now();
    this.runner.start();
  }

  async stop(): Promise<void> {
    await this.runner.stop();
  }

  /** Resolves when no sync is running. */
  idle(): Promise<void> {
    return this.runner.idle();
  }

  /**
   * Healthy unless a change has waited longer than twice the sync period without being applied (upstream's
   * healthz rule), so a stuck or failing proxier turns unhealthy.
   */
  health(): Health {
    const now = this.clock.now();
    const healthy = this.oldestPending === undefined || now - this.oldestPending < 2 * this.syncPeriodMs;
    return { healthy, lastUpdated: this.lastUpdated, currentTime: now };
  }

  /** One sync, now. Never throws: a failure is returned, logged, and makes the next sync a full one. */
  async syncNow(): Promise<SyncOutcome> {
    const start = this.clock.now();
    const startedAt = performance.now();
    const pendingSince = this.oldestPending;
    this.oldestPending = undefined;
    const full = this.applied === undefined || start - this.lastFullSync >= this.fullSyncPeriodMs;
    let outcome: SyncOutcome;
    try {
      const { rendering, warnings } = render([...this.services.values()], [...this.slices.values()], this.o.node, this.cache);
      const w = warnings.join("\n");
      if (w && w !== this.lastWarnings) for (const line of warnings) this.log(`proxy: ${line}`);
      this.lastWarnings = w;
      let text: string;
      let earlierBytes = 0;
      if (full) {
        // One iptables-save per table tells both which chains are left over and which jumps exist.
        const saved: Partial<Record<TableName, string>> = {};
        for (const t of TABLES) saved[t] = await this.o.iptables.save(t);
        await this.o.iptables.ensureJumps(saved);
        // iptables-legacy replaces a whole table per restore: one restore is cheapest there.
        const maxChains = this.o.iptables.backend === "legacy" ? Number.POSITIVE_INFINITY : FULL_SYNC_BATCH_CHAINS;
        const batches = fullRestoreBatches(rendering, { nat: chainsOf(saved.nat!), filter: chainsOf(saved.filter!) }, maxChains);
        for (const b of batches.slice(0, -1)) {
          await this.o.iptables.restore(b);
          earlierBytes += b.length;
        }
        text = batches.at(-1) ?? "";
      } else {
        text = partialRestoreText(this.applied!, rendering);
      }
      if (text) await this.o.iptables.restore(text);
      this.applied = rendering;
      if (full) this.lastFullSync = start;
      this.lastUpdated = this.clock.now();
      const counts = ruleCounts(rendering);
      for (const t of TABLES) this.metrics.rules.set({ table: t }, counts[t]);
      this.metrics.last.set(Date.now() / 1000);
      outcome = { kind: full ? "full" : "partial", bytes: earlierBytes + text.length };
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      this.applied = undefined; // the host state is unknown now: rewrite everything next time
      this.metrics.failures.inc();
      this.oldestPending = pendingSince ?? start;
      this.log(`proxy: ${full ? "full" : "partial"} sync failed, next sync is a full one: ${error.message}`);
      outcome = { kind: full ? "full" : "partial", bytes: 0, error };
    }
    const seconds = (performance.now() - startedAt) / 1000;
    this.metrics.duration.observe(seconds);
    (full ? this.metrics.full : this.metrics.partial).observe(seconds);
    this.onSync?.(outcome);
    return outcome;
  }
}
