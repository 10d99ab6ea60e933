// Book 11.2.3: priority and preemption end to end — on nodes full of low-priority pods, a high-priority
// pod evicts just enough of them (event "Preempted"), is nominated to that node, then bound there.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Pod } from "@corekube/api";
import { TestCluster, eventually, pod, sleep, testConfiguration } from "./support.js";

describe("scheduler: preemption", () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await TestCluster.start();
    await c.priorityClass("low", 10);
    await c.priorityClass("high", 1000);
    await c.priorityClass("high-polite", 1000, "Never");
  }, 120_000);
  afterEach(async () => c?.reset());
  afterAll(async () => c?.stop());

  /** Two 2-CPU nodes, each with two 1-CPU low-priority pods. */
  async function fullNodes(ns: string, prefix: string): Promise<Map<string, string>> {
    await c.addNodes({ namePrefix: prefix, count: 2, cpu: "2", memory: "8Gi" });
    await c.scheduler();
    for (let i = 0; i < 4; i++) await c.createPod(pod(ns, `low-${i}`, { cpu: "1", labels: { tier: "low" }, spec: { priorityClassName: "low" } }));
    const placed = await c.waitAllScheduled(ns, 4, "tier=low");
    expect(new Set(placed.values()).size).toBe(2);
    return placed;
  }

  const lowPods = async (ns: string): Promise<Pod[]> => (await c.pods().list({ namespace: ns, labelSelector: "tier=low" })).items;

  it("a high-priority pod preempts one low-priority pod, is nominated, then bound to that node", async () => {
    const ns = await c.namespace("preempt");
    const placed = await fullNodes(ns, "pre-");
    const vip = await c.createPod(pod(ns, "vip", { cpu: "1", spec: { priorityClassName: "high" } }));
    expect(vip.spec.priority).toBe(1000);

    // One victim is picked and deleted, with an event saying who preempted it.
    const preempted = await eventually("a Preempted event", async () => {
      for (const name of placed.keys()) {
        const ev = (await c.events(ns, name)).find((e) => e.reason === "Preempted");
        if (ev) return { name, ev };
      }
      return undefined;
    });
    const victimNode = placed.get(preempted.name)!;
    expect(preempted.ev.message).toBe(`Preempted by pod ${vip.metadata.uid} on node ${victimNode}`);
    expect(preempted.ev.source.component).toBe("default-scheduler");

    const nominated = await eventually("vip to be nominated", async () => {
      const p = await c.getPod(ns, "vip");
      if (!p.status?.nominatedNodeName) throw new Error(`not yet: node ${p.spec.nodeName ?? "none"}, status ${JSON.stringify(p.status)}`);
      return p.status.nominatedNodeName;
    });
    expect(nominated).toBe(victimNode);
    expect(await c.waitScheduled(ns, "vip")).toBe(victimNode);
    await c.waitEvent(ns, "vip", "Scheduled", `Successfully assigned ${ns}/vip to ${victimNode}`);

    // Exactly one pod was evicted: the other three still run where they were.
    const left = await eventually("the victim to be gone", async () => {
      const l = await lowPods(ns);
      return l.length === 3 ? l : undefined;
    });
    expect(left.map((p) => p.metadata.name).sort()).toEqual([...placed.keys()].filter((n) => n !== preempted.name).sort());
    for (const p of left) {
      expect(p.metadata.deletionTimestamp).toBeUndefined();
      expect(p.spec.nodeName).toBe(placed.get(p.metadata.name!));
    }
  });

  it("when room appears, the higher-priority pending pod gets it first", async () => {
    const ns = await c.namespace("order");
    const sim = await c.addNodes({ namePrefix: "order-", count: 1, cpu: "1", memory: "4Gi" });
    await c.scheduler();
    await c.createPod(pod(ns, "occupant", { cpu: "1", spec: { priorityClassName: "high" } }));
    await c.waitScheduled(ns, "occupant");
    // Neither can preempt the occupant: one is lower, the other never preempts.
    await c.createPod(pod(ns, "early-low", { cpu: "1", spec: { priorityClassName: "low" } }));
    await c.createPod(pod(ns, "late-high", { cpu: "1", spec: { priorityClassName: "high-polite" } }));
    await c.waitUnschedulable(ns, "early-low", /^0\/1 nodes are available: 1 Insufficient cpu\./);
    await c.waitUnschedulable(ns, "late-high", /^0\/1 nodes are available: 1 Insufficient cpu\./);
    // Let both backoffs run out, so the queue's priority order alone decides.
    await sleep(testConfiguration().podMaxBackoffSeconds * 1000 + 200);

    await c.pods().delete("occupant", { namespace: ns, gracePeriodSeconds: 0 });
    expect(await c.waitScheduled(ns, "late-high")).toBe(sim.nodeNames()[0]);
    await c.waitEvent(ns, "early-low", "FailedScheduling", /^0\/1 nodes are available: 1 Insufficient cpu\./);
    expect((await c.getPod(ns, "early-low")).spec.nodeName).toBeUndefined();
  });

  it("a pod with preemptionPolicy Never waits instead of preempting", async () => {
    const ns = await c.namespace("polite");
    await fullNodes(ns, "polite-");
    const polite = await c.createPod(pod(ns, "polite", { cpu: "1", spec: { priorityClassName: "high-polite" } }));
    expect(polite.spec).toMatchObject({ priority: 1000, preemptionPolicy: "Never" });

    const cond = await c.waitUnschedulable(ns, "polite", "0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.");
    await c.waitEvent(ns, "polite", "FailedScheduling", cond.message);
    expect((await c.getPod(ns, "polite")).status?.nominatedNodeName).toBeUndefined();
    const low = await lowPods(ns);
    expect(low).toHaveLength(4);
    for (const p of low) {
      expect(p.metadata.deletionTimestamp).toBeUndefined();
      expect((await c.events(ns, p.metadata.name!)).filter((e) => e.reason === "Preempted")).toEqual([]);
    }

    // It is still first in line: when room appears, it gets it.
    await c.pods().delete("low-0", { namespace: ns, gracePeriodSeconds: 0 });
    expect(await c.waitScheduled(ns, "polite")).toBeTruthy();
  });
});
