// Book 2.3.2 and 11.2.3: the scheduler against a real API server and simulated nodes — pods land
// only where their requests fit, the rest say why (event, condition, kubectl describe) until room appears.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RUN_DURATION_ANNOTATION } from "@corekube/simnodes";
import { kubectl } from "../support/kubectl.js";
import { TestCluster, eventually, pod } from "./support.js";

describe("scheduler: resource requests", () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await TestCluster.start();
  }, 120_000);
  afterEach(async () => c?.reset());
  afterAll(async () => c?.stop());

  it("places pods only where requests fit, explains the rest, and schedules them once a bigger node joins", async () => {
    const ns = await c.namespace("fit");
    const small = await c.addNodes({ namePrefix: "small-", count: 3, cpu: "2", memory: "8Gi" });
    await c.scheduler();

    // Room for one 1.5-CPU pod per 2-CPU node.
    for (let i = 0; i < 3; i++) await c.createPod(pod(ns, `fits-${i}`, { cpu: "1500m", memory: "1Gi" }));
    const placed = await c.waitAllScheduled(ns, 3);
    expect(new Set(placed.values())).toEqual(new Set(small.nodeNames()));
    await c.waitEvent(ns, "fits-0", "Scheduled", `Successfully assigned ${ns}/fits-0 to ${placed.get("fits-0")}`);

    // Half a CPU is left on each node, so 1 CPU fits nowhere, nor do 3 CPUs: both wait, and say so
    // the way kube-scheduler does.
    await c.createPod(pod(ns, "one-more", { cpu: "1", memory: "1Gi" }));
    await c.createPod(pod(ns, "too-big", { cpu: "3", memory: "1Gi" }));
    const cond = await c.waitUnschedulable(ns, "too-big", /^0\/3 nodes are available: 3 Insufficient cpu\./);
    expect(cond.reason).toBe("Unschedulable");
    const failed = await c.waitEvent(ns, "too-big", "FailedScheduling");
    expect(failed.type).toBe("Warning");
    expect(failed.message).toBe(cond.message);
    expect(failed.source.component).toBe("default-scheduler");
    // Nobody has a lower priority, so preemption has nothing to offer and says so.
    expect(cond.message).toBe("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.");
    await c.waitUnschedulable(ns, "one-more", cond.message!);

    // A bigger node joins: both waiting pods go there.
    const big = await c.addNodes({ namePrefix: "big-", count: 1, cpu: "8", memory: "32Gi" });
    const bigHost = await c.waitScheduled(ns, "too-big");
    expect(bigHost).toBe(big.nodeNames()[0]);
    expect(await c.waitScheduled(ns, "one-more")).toBe(bigHost);
    await c.waitEvent(ns, "too-big", "Scheduled", `Successfully assigned ${ns}/too-big to ${bigHost}`);
    const running = await eventually("too-big to run", async () => {
      const p = await c.getPod(ns, "too-big");
      return p.status?.phase === "Running" ? p : undefined;
    });
    expect(running.status!.conditions!.find((x) => x.type === "PodScheduled")!.status).toBe("True");
  });

  it("kubectl describe pod shows the FailedScheduling reason", async () => {
    const ns = await c.namespace("describe");
    await c.addNodes({ namePrefix: "tiny-", count: 1, cpu: "1", memory: "1Gi" });
    await c.scheduler();
    await c.createPod(pod(ns, "hungry", { cpu: "100m", memory: "2Gi" }));
    const cond = await c.waitUnschedulable(ns, "hungry", /^0\/1 nodes are available: 1 Insufficient memory\./);
    await c.waitEvent(ns, "hungry", "FailedScheduling");

    const k = kubectl("1.33", c.kubeconfig);
    try {
      const out = await k.ok(["describe", "pod", "hungry", "-n", ns]);
      expect(out).toMatch(/Status:\s+Pending/);
      expect(out).toMatch(/PodScheduled\s+False/);
      expect(out).toMatch(/Warning\s+FailedScheduling\s+\S+\s+default-scheduler\s+0\/1 nodes are available: 1 Insufficient memory\./);
      expect(out).toContain(cond.message!);
      const get = await k.ok(["get", "pod", "hungry", "-n", ns, "--no-headers"]);
      expect(get).toMatch(/^hungry\s+0\/1\s+Pending\s+0/);
    } finally {
      k.cleanup();
    }
  });

  it("a finished pod (restartPolicy Never) frees its requests for a waiting pod", async () => {
    const ns = await c.namespace("finish");
    const sim = await c.addNodes({ namePrefix: "batch-", count: 1, cpu: "1", memory: "4Gi" });
    await c.scheduler();
    await c.createPod(
      pod(ns, "job", { cpu: "1", annotations: { [RUN_DURATION_ANNOTATION]: "1500ms" }, spec: { restartPolicy: "Never" } }),
    );
    expect(await c.waitScheduled(ns, "job")).toBe(sim.nodeNames()[0]);
    await c.createPod(pod(ns, "next", { cpu: "600m" }));
    // While the job runs, the node is full.
    await c.waitUnschedulable(ns, "next", /^0\/1 nodes are available: 1 Insufficient cpu\./);

    const node = await c.waitScheduled(ns, "next");
    expect(node).toBe(sim.nodeNames()[0]);
    expect((await c.getPod(ns, "job")).status?.phase).toBe("Succeeded");
    await c.waitEvent(ns, "next", "Scheduled", `Successfully assigned ${ns}/next to ${node}`);
  });
});
