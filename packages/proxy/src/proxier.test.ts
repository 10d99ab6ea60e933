// Book 10.1: the proxier's sync loop with a fake clock and a fake iptables: one full sync first, partial
// syncs after, bursts folded within the minimum interval, a restore error answered by a full sync.
import { describe, expect, it } from "vitest";
import { Proxier, type IptablesLike } from "./proxier.js";
import { BoundedFrequencyRunner, type RunnerClock } from "./runner.js";
import { endpoint, service, slice } from "./testing.js";

class FakeClock implements RunnerClock {
  t = 1_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.next;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  /** Moves time forward, firing due timers in order and letting their async work settle. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      this.timers.sort((a, b) => a.at - b.at);
      const first = this.timers[0];
      if (!first || first.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, first.at);
      first.fn();
    }
    this.t = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

class FakeIptables implements IptablesLike {
  restores: string[] = [];
  jumps = 0;
  failNext = false;
  hostChains: Record<string, string[]> = { nat: [], filter: [] };
  async restore(text: string): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("iptables-restore: line 7 failed");
    }
    this.restores.push(text);
  }
  async save(table: "nat" | "filter"): Promise<string> {
    return `*${table}\n${this.hostChains[table]!.map((c) => `:${c} - [0:0]`).join("\n")}\nCOMMIT\n`;
  }
  async ensureJumps(): Promise<void> {
    this.jumps++;
  }
}

const svcA = service("ns1", "a", { clusterIP: "10.96.0.1", ports: [{ port: 80, protocol: "TCP" }] });
const svcB = service("ns1", "b", { clusterIP: "10.96.0.2", ports: [{ port: 80, protocol: "TCP" }] });
const sliceA = (ip: string) => slice("ns1", "a", "a-1", [{ port: 8080, protocol: "TCP" }], [endpoint(ip)]);
const sliceB = slice("ns1", "b", "b-1", [{ port: 8080, protocol: "TCP" }], [endpoint("10.244.0.20")]);

function setup() {
  const clock = new FakeClock();
  const ipt = new FakeIptables();
  const logs: string[] = [];
  const proxier = new Proxier({ iptables: ipt, node: { nodeName: "node-a", clusterCIDR: "10.244.0.0/16" }, clock, minSyncPeriodMs: 1000, syncPeriodMs: 30_000, log: (l) => logs.push(l) });
  const kinds: string[] = [];
  proxier.onSync = (o) => kinds.push(o.error ? `${o.kind}-failed` : o.bytes ? o.kind : `${o.kind}-noop`);
  return { clock, ipt, proxier, kinds, logs };
}

describe("Proxier", () => {
  it("first writes everything, then only what changed", async () => {
    const { clock, ipt, proxier, kinds } = setup();
    ipt.hostChains.nat = ["KUBE-SVC-STALESTALESTALE1", "KUBE-MARK-DROP"];
    proxier.upsertService(svcA);
    proxier.upsertSlice(sliceA("10.244.0.10"));
    proxier.upsertService(svcB);
    proxier.upsertSlice(sliceB);
    proxier.start();
    await clock.advance(0);
    expect(kinds).toEqual(["full"]);
    expect(ipt.jumps).toBe(1);
    expect(ipt.restores[0]).toContain("-X KUBE-SVC-STALESTALESTALE1");
    expect(ipt.restores[0]).toContain("10.244.0.20:8080");

    // An endpoint of A moves: the next sync rewrites A's chains only.
    proxier.upsertSlice(sliceA("10.244.0.11"));
    await clock.advance(1000);
    expect(kinds).toEqual(["full", "partial"]);
    expect(ipt.jumps).toBe(1);
    expect(ipt.restores[1]).toContain("10.244.0.11:8080");
    expect(ipt.restores[1]).not.toContain("10.244.0.20");
    expect(ipt.restores[1]).not.toContain("*filter");

    // The periodic sync with nothing new writes nothing.
    await clock.advance(30_000);
    expect(kinds).toEqual(["full", "partial", "partial-noop"]);
    expect(ipt.restores).toHaveLength(2);
    await proxier.stop();
  });

  it("folds a burst of changes into one sync, no sooner than the minimum interval", async () => {
    const { clock, ipt, proxier, kinds } = setup();
    proxier.start();
    await clock.advance(0);
    expect(kinds).toEqual(["full"]);
    for (let i = 0; i < 5; i++) {
      proxier.upsertService(service("ns1", `s${i}`, { clusterIP: `10.96.1.${i}`, ports: [{ port: 80, protocol: "TCP" }] }));
      await clock.advance(100);
    }
    // 500 ms after the full sync: still within the 1 s minimum interval.
    expect(kinds).toEqual(["full"]);
    await clock.advance(500);
    expect(kinds).toEqual(["full", "partial"]);
    expect(ipt.restores[1]!.match(/has no endpoints/g)).toHaveLength(5);
    await proxier.stop();
  });

  it("after a failed restore the next sync is a full one, and health turns bad when failures last", async () => {
    const { clock, ipt, proxier, kinds, logs } = setup();
    proxier.upsertService(svcA);
    proxier.start();
    await clock.advance(0);
    expect(proxier.health().healthy).toBe(true);

    ipt.failNext = true;
    proxier.upsertSlice(sliceA("10.244.0.10"));
    await clock.advance(1000);
    expect(kinds).toEqual(["full", "partial-failed"]);
    expect(logs.join("\n")).toMatch(/partial sync failed, next sync is a full one: iptables-restore: line 7 failed/);

    proxier.upsertService(svcB);
    await clock.advance(1000);
    expect(kinds).toEqual(["full", "partial-failed", "full"]);
    expect(ipt.jumps).toBe(2);
    expect(ipt.restores.at(-1)).toContain("10.244.0.10:8080");

    // Every restore failing: the pending change ages past 2 × syncPeriod and /healthz would say 503.
    ipt.restore = async () => {
      throw new Error("broken");
    };
    proxier.deleteService(svcB);
    await clock.advance(30_000);
    expect(proxier.health().healthy).toBe(true);
    await clock.advance(31_000);
    expect(proxier.health().healthy).toBe(false);
    expect(await proxier.registry.getSingleMetricAsString("kubeproxy_sync_proxy_rules_iptables_restore_failures_total")).toMatch(/ [3-9]$/m);
    await proxier.stop();
  });

  it("exports the sync metrics", async () => {
    const { clock, proxier } = setup();
    proxier.upsertService(svcA);
    proxier.upsertSlice(sliceA("10.244.0.10"));
    proxier.start();
    await clock.advance(0);
    const text = await proxier.registry.metrics();
    expect(text).toMatch(/kubeproxy_sync_proxy_rules_duration_seconds_count 1/);
    expect(text).toMatch(/kubeproxy_sync_full_proxy_rules_duration_seconds_count 1/);
    // nat: 5 fixed (3 KUBE-POSTROUTING, KUBE-MARK-MASQ, the node-port jump) + 1 KUBE-SERVICES + 2 SVC + 2 SEP;
    // filter: the 2 KUBE-FORWARD rules.
    expect(text).toMatch(/kubeproxy_sync_proxy_rules_iptables_total\{table="nat"\} 10/);
    expect(text).toMatch(/kubeproxy_sync_proxy_rules_iptables_total\{table="filter"\} 2/);
    expect(text).toMatch(/kubeproxy_sync_proxy_rules_last_timestamp_seconds \d/);
    await proxier.stop();
  });
});

describe("BoundedFrequencyRunner", () => {
  it("runs at least every maxInterval with no request", async () => {
    const clock = new FakeClock();
    let n = 0;
    const r = new BoundedFrequencyRunner(async () => void n++, { minIntervalMs: 1000, maxIntervalMs: 10_000, clock });
    r.start();
    await clock.advance(0);
    expect(n).toBe(1);
    await clock.advance(9_999);
    expect(n).toBe(1);
    await clock.advance(1);
    expect(n).toBe(2);
    await r.stop();
    await clock.advance(50_000);
    expect(n).toBe(2);
  });

  it("a request during a run leads to one more run after it", async () => {
    const clock = new FakeClock();
    let n = 0;
    let release!: () => void;
    const r = new BoundedFrequencyRunner(
      () => {
        n++;
        return new Promise<void>((res) => (release = res));
      },
      { minIntervalMs: 1000, maxIntervalMs: 10_000, clock },
    );
    r.start();
    await clock.advance(0);
    r.run();
    r.run();
    await clock.advance(5000);
    expect(n).toBe(1);
    release();
    await clock.advance(0);
    expect(n).toBe(2);
    release();
    await r.stop();
  });

  it("refuses nonsense intervals", () => {
    expect(() => new BoundedFrequencyRunner(async () => undefined, { minIntervalMs: 5, maxIntervalMs: 1 })).toThrow(/minInterval/);
  });
});
