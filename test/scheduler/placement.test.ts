// Book 11.2.3: where pods may go, end to end — taints and tolerations, nodeSelector and node affinity,
// cordoned nodes (kubectl cordon), and scheduling gates that hold a pod back until they are removed.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Node, Taint } from "@corekube/api";
import { kubectl } from "../support/kubectl.js";
import { TestCluster, eventually, pod } from "./support.js";

const ZONE = "topology.kubernetes.io/zone";
const HOSTNAME = "kubernetes.io/hostname";

describe("scheduler: node constraints", () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await TestCluster.start();
  }, 120_000);
  afterEach(async () => c?.reset());
  afterAll(async () => c?.stop());

  it("keeps pods off a NoSchedule-tainted node unless they tolerate the taint", async () => {
    const ns = await c.namespace("taints");
    const gpu: Taint = { key: "dedicated", value: "gpu", effect: "NoSchedule" };
    await c.addNodes({ namePrefix: "taint-", count: 2, perNode: (i) => (i === 1 ? { taints: [gpu] } : undefined) });
    await c.scheduler();

    for (let i = 0; i < 3; i++) await c.createPod(pod(ns, `plain-${i}`, { cpu: "100m" }));
    const placed = await c.waitAllScheduled(ns, 3);
    expect([...placed.values()]).toEqual(["taint-0", "taint-0", "taint-0"]);

    // Asking for the tainted node without tolerating its taint: nowhere to go.
    const onGpu = { nodeSelector: { [HOSTNAME]: "taint-1" } };
    await c.createPod(pod(ns, "intruder", { spec: onGpu }));
    await c.waitUnschedulable(
      ns,
      "intruder",
      "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
    );

    await c.createPod(pod(ns, "guest", { spec: { ...onGpu, tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }] } }));
    expect(await c.waitScheduled(ns, "guest")).toBe("taint-1");
    await c.createPod(pod(ns, "any-gpu", { spec: { ...onGpu, tolerations: [{ key: "dedicated", operator: "Exists" }] } }));
    expect(await c.waitScheduled(ns, "any-gpu")).toBe("taint-1");
    expect((await c.getPod(ns, "intruder")).spec.nodeName).toBeUndefined();
  });

  it("follows nodeSelector, required node affinity and preferred node affinity", async () => {
    const ns = await c.namespace("node-affinity");
    const labels: Record<string, string>[] = [
      { disk: "ssd", [ZONE]: "zone-a" },
      { disk: "hdd", [ZONE]: "zone-b" },
      { [ZONE]: "zone-c" },
    ];
    await c.addNodes({ namePrefix: "aff-", count: 3, perNode: (i) => ({ labels: labels[i] }) });
    await c.scheduler();

    await c.createPod(pod(ns, "wants-ssd", { spec: { nodeSelector: { disk: "ssd" } } }));
    expect(await c.waitScheduled(ns, "wants-ssd")).toBe("aff-0");

    await c.createPod(
      pod(ns, "zone-b-only", {
        spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: "In", values: ["zone-b"] }] }] } } } },
      }),
    );
    expect(await c.waitScheduled(ns, "zone-b-only")).toBe("aff-1");

    await c.createPod(
      pod(ns, "no-disk", {
        spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "disk", operator: "DoesNotExist" }] }] } } } },
      }),
    );
    expect(await c.waitScheduled(ns, "no-disk")).toBe("aff-2");

    await c.createPod(
      pod(ns, "wants-nvme", {
        spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "disk", operator: "In", values: ["nvme"] }] }] } } } },
      }),
    );
    await c.waitUnschedulable(
      ns,
      "wants-nvme",
      "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    );

    // Preferred: every such pod goes to the hdd node, although the others are as empty.
    for (let i = 0; i < 3; i++) {
      await c.createPod(
        pod(ns, `likes-hdd-${i}`, {
          labels: { role: "likes-hdd" },
          spec: { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: "disk", operator: "In", values: ["hdd"] }] } }] } } },
        }),
      );
    }
    const placed = await c.waitAllScheduled(ns, 3, "role=likes-hdd");
    expect([...placed.values()]).toEqual(["aff-1", "aff-1", "aff-1"]);

    // A label added later makes the waiting pod schedulable.
    await c.nodesApi().patch("aff-2", { metadata: { labels: { disk: "nvme" } } }, "merge");
    expect(await c.waitScheduled(ns, "wants-nvme")).toBe("aff-2");
  });

  it("skips cordoned nodes (kubectl cordon, or spec.unschedulable) and uses them again once uncordoned", async () => {
    const ns = await c.namespace("cordon");
    await c.addNodes({ namePrefix: "cordon-", count: 2 });
    await c.scheduler();
    const k = kubectl("1.33", c.kubeconfig);
    try {
      expect(await k.ok(["cordon", "cordon-0"])).toContain("node/cordon-0 cordoned");
      expect((await c.nodesApi().get("cordon-0")).spec?.unschedulable).toBe(true);
      expect(await k.ok(["get", "node", "cordon-0", "--no-headers"])).toMatch(/^cordon-0\s+Ready,SchedulingDisabled\s/);

      for (let i = 0; i < 3; i++) await c.createPod(pod(ns, `web-${i}`, { cpu: "100m" }));
      const placed = await c.waitAllScheduled(ns, 3);
      expect([...placed.values()]).toEqual(["cordon-1", "cordon-1", "cordon-1"]);

      await c.nodesApi().patch("cordon-1", { spec: { unschedulable: true } }, "strategic");
      await eventually("cordon-1 to be cordoned", async () => (await c.nodesApi().get("cordon-1")).spec?.unschedulable === true);
      await c.createPod(pod(ns, "late", { cpu: "100m" }));
      await c.waitUnschedulable(
        ns,
        "late",
        "0/2 nodes are available: 2 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
      );
      await c.waitEvent(ns, "late", "FailedScheduling", /2 node\(s\) were unschedulable/);

      expect(await k.ok(["uncordon", "cordon-0"])).toContain("node/cordon-0 uncordoned");
      expect(await c.waitScheduled(ns, "late")).toBe("cordon-0");
      // The cordon stays on the other node: pods already there keep running.
      const n1: Node = await c.nodesApi().get("cordon-1");
      expect(n1.spec?.unschedulable).toBe(true);
      expect((await c.getPod(ns, "web-0")).spec.nodeName).toBe("cordon-1");
    } finally {
      k.cleanup();
    }
  });

  it("holds a pod with scheduling gates: Pending, SchedulingGated, no FailedScheduling", async () => {
    const ns = await c.namespace("gates");
    await c.addNodes({ namePrefix: "gate-", count: 1 });
    const running = await c.scheduler();
    await c.createPod(pod(ns, "gated", { spec: { schedulingGates: [{ name: "example.com/quota" }] } }));
    // An ungated pod created after it is scheduled: the scheduler has seen the gated one by then.
    await c.createPod(pod(ns, "free"));
    await c.waitScheduled(ns, "free");
    await c.waitEvent(ns, "free", "Scheduled");

    const gated = await c.getPod(ns, "gated");
    expect(gated.spec.nodeName).toBeUndefined();
    expect(gated.status?.conditions?.find((x) => x.type === "PodScheduled" && x.reason === "Unschedulable")).toBeUndefined();
    // The API server marks it, as upstream does, so `kubectl get pods` shows SchedulingGated.
    expect(gated.status?.conditions?.find((x) => x.type === "PodScheduled")).toMatchObject({ status: "False", reason: "SchedulingGated" });
    expect(await c.events(ns, "gated")).toEqual([]);
    expect(running.scheduler()!.statsNow().pending.gated).toBe(1);
  });

  it("schedules a gated pod once its gates are removed, not before", async () => {
    const ns = await c.namespace("ungate");
    const sim = await c.addNodes({ namePrefix: "ungate-", count: 1 });
    await c.scheduler();
    await c.createPod(pod(ns, "gated", { spec: { schedulingGates: [{ name: "example.com/quota" }, { name: "example.com/review" }] } }));

    // Removing one gate is not enough.
    await c.pods().patch("gated", { spec: { schedulingGates: [{ name: "example.com/review" }] } }, "merge", { namespace: ns });
    await c.createPod(pod(ns, "free"));
    await c.waitScheduled(ns, "free");
    await c.waitEvent(ns, "free", "Scheduled");
    expect((await c.getPod(ns, "gated")).spec.nodeName).toBeUndefined();
    expect(await c.events(ns, "gated")).toEqual([]);

    await c.pods().patch("gated", { spec: { schedulingGates: null } }, "merge", { namespace: ns });
    const node = sim.nodeNames()[0];
    expect(await c.waitScheduled(ns, "gated")).toBe(node);
    await c.waitEvent(ns, "gated", "Scheduled", `Successfully assigned ${ns}/gated to ${node}`);
    expect((await c.events(ns, "gated")).filter((e) => e.reason === "FailedScheduling")).toEqual([]);
  });
});
