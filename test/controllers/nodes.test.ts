// Book 2.4, 9.3.2-9.3.3 and 11.3: nodes seen from the controller-manager: a simulated node that stops
// renewing its Lease turns Unknown, is tainted, and its pods are evicted and run elsewhere; `kubectl
// drain` evicts through the Eviction API and stops at a PodDisruptionBudget; a new node gets a podCIDR.
import type { KubeObject, Node, Pod } from "@corekube/api";
import { NODES, POD_DISRUPTION_BUDGETS } from "@corekube/client";
import { type RunningControllerManager, runControllerManager } from "@corekube/controllers/run";
import type { SimulatedNodes } from "@corekube/simnodes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestCluster } from "../scheduler/support.js";
import { eventually } from "../support/eventually.js";
import { type Kubectl, kubectl } from "../support/kubectl.js";

let c: TestCluster;
let cm: RunningControllerManager;
let k: Kubectl;

beforeAll(async () => {
  c = await TestCluster.start();
  cm = await runControllerManager({
    kubeconfig: c.kubeconfig,
    leaderElect: false,
    healthPort: 0,
    clusterCIDR: "10.200.0.0/16",
    nodeMonitorGracePeriodMs: 3000,
    podGCQuarantineMs: 1000,
    log: () => undefined,
  });
  await cm.leading;
  k = kubectl("1.33", c.kubeconfig);
}, 120_000);

afterAll(async () => {
  k?.cleanup();
  await cm?.stop();
  await c?.stop();
});

const live = (pods: Pod[]) => pods.filter((p) => !p.metadata.deletionTimestamp);
const running = async (ns: string) => live((await c.pods().list({ namespace: ns })).items).filter((p) => p.status?.phase === "Running");

async function deployment(ns: string, replicas: number, extra: Record<string, unknown> = {}): Promise<void> {
  const manifest = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx" }], ...extra } },
    },
  };
  await k.ok(["apply", "-f", "-"], { input: JSON.stringify(manifest) });
  await k.ok(["rollout", "status", "deployment/web", "-n", ns, "--timeout=60s"], { timeoutMs: 70_000 });
}

describe("node lifecycle", () => {
  let sim: SimulatedNodes;
  // reset() stops this block's scheduler and nodes and clears its namespaces' pods.
  beforeAll(() => c.scheduler(), 30_000);
  afterAll(() => c.reset());

  it("marks a silent node Unknown, taints it, and its pods are replaced on the other nodes", async () => {
    sim = await c.addNodes({ namePrefix: "life-", count: 3 });
    const ns = await c.namespace("node-life");
    // Short tolerations so eviction comes within seconds (the default is 300 s).
    await deployment(ns, 3, {
      tolerations: [
        { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 2 },
        { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 2 },
      ],
    });
    const before = await running(ns);
    const victim = before[0]!.spec.nodeName!;
    const onVictim = before.filter((p) => p.spec.nodeName === victim).map((p) => p.metadata.name);
    await sim.failNode(victim);

    const node = await eventually("the node Unknown and tainted", async () => {
      const n = (await c.nodesApi().get(victim)) as Node;
      const ready = n.status?.conditions?.find((x) => x.type === "Ready");
      const keys = (n.spec?.taints ?? []).filter((t) => t.key === "node.kubernetes.io/unreachable").map((t) => t.effect).sort();
      return ready?.status === "Unknown" && keys.join() === "NoExecute,NoSchedule" ? n : undefined;
    }, 20_000);
    expect(node.status!.conditions!.find((x) => x.type === "Ready")!.reason).toBe("NodeStatusUnknown");

    const after = await eventually("3 running pods, none on the silent node", async () => {
      const now = await running(ns);
      return now.length === 3 && now.every((p) => p.spec.nodeName !== victim) ? now : undefined;
    }, 30_000);
    expect(after.some((p) => onVictim.includes(p.metadata.name))).toBe(false);
    // The evicted pods are marked for deletion (their kubelet is gone, so they stay Terminating).
    const evicted = (await c.pods().list({ namespace: ns })).items.filter((p) => onVictim.includes(p.metadata.name));
    expect(evicted.every((p) => p.metadata.deletionTimestamp)).toBe(true);

    // The node comes back: its next status report makes it Ready, and the taints go.
    sim.recoverNode(victim);
    await eventually("the taints lifted", async () => {
      const n = (await c.nodesApi().get(victim)) as Node;
      return !(n.spec?.taints ?? []).some((t) => t.key === "node.kubernetes.io/unreachable");
    }, 30_000);
  }, 120_000);

  it("collects the pods of a node that is removed for good", async () => {
    const ns = "node-life";
    const victim = (await running(ns))[0]!.spec.nodeName!;
    await sim.failNode(victim);
    await c.nodesApi().delete(victim);
    // No kubelet will ever confirm these pods' end: the pod garbage collector force-deletes them.
    await eventually("the pods of the removed node gone", async () => !(await c.pods().list({ namespace: ns })).items.some((p) => p.spec.nodeName === victim), 20_000);
    await eventually("3 running pods again", async () => (await running(ns)).length === 3, 30_000);
  }, 60_000);
});

describe("kubectl cordon and drain", () => {
  beforeAll(() => c.scheduler(), 30_000);
  afterAll(() => c.reset());

  it("drains a node through evictions, and a PodDisruptionBudget stops a drain that would break it", async () => {
    await c.addNodes({ namePrefix: "drain-", count: 3 });
    const ns = await c.namespace("node-drain");
    await deployment(ns, 3);
    const pdbs = c.client.resource(POD_DISRUPTION_BUDGETS);
    await pdbs.create({ metadata: { name: "web", namespace: ns }, spec: { minAvailable: 3, selector: { matchLabels: { app: "web" } } } } as KubeObject);
    await eventually("the budget's status", async () => ((await pdbs.get("web", ns)).status as { currentHealthy?: number } | undefined)?.currentHealthy === 3);
    const pods = await running(ns);
    const target = pods[0]!.spec.nodeName!;

    // minAvailable 3 of 3: no eviction is allowed, kubectl keeps retrying until its timeout.
    const blocked = await k.run(["drain", target, "--ignore-daemonsets", "--timeout=4s"], { timeoutMs: 30_000 });
    expect(blocked.code).not.toBe(0);
    expect(blocked.stderr + blocked.stdout).toMatch(/disruption budget/);
    expect(((await c.nodesApi().get(target)) as Node).spec?.unschedulable).toBe(true); // drain cordons first
    expect((await running(ns)).length).toBe(3);

    // With one disruption allowed the drain goes through, and the pods come back on other nodes.
    await pdbs.patch("web", { spec: { minAvailable: 2 } }, "merge", { namespace: ns });
    await eventually("one disruption allowed", async () => ((await pdbs.get("web", ns)).status as { disruptionsAllowed?: number } | undefined)?.disruptionsAllowed === 1);
    const out = await k.ok(["drain", target, "--ignore-daemonsets", "--timeout=60s"], { timeoutMs: 70_000 });
    expect(out).toMatch(/evicted/);
    expect(out).toMatch(/drained/);
    await eventually("3 running pods off the drained node", async () => {
      const now = await running(ns);
      return now.length === 3 && now.every((p) => p.spec.nodeName !== target);
    }, 30_000);

    await k.ok(["uncordon", target]);
    expect(((await c.nodesApi().get(target)) as Node).spec?.unschedulable).toBeFalsy();
  }, 150_000);
});

describe("node IPAM and metrics", () => {
  it("gives a node without a podCIDR a block of --cluster-cidr", async () => {
    const nodes = c.client.resource<Node>(NODES);
    await nodes.create({ metadata: { name: "ipam-a" } } as Node);
    await nodes.create({ metadata: { name: "ipam-b" } } as Node);
    try {
      const cidrs = await eventually("both nodes have a podCIDR", async () => {
        const got = await Promise.all(["ipam-a", "ipam-b"].map(async (n) => (await nodes.get(n)).spec?.podCIDR));
        return got.every(Boolean) ? (got as string[]) : undefined;
      });
      for (const x of cidrs) expect(x).toMatch(/^10\.200\.\d+\.0\/24$/);
      expect(cidrs[0]).not.toBe(cidrs[1]);
    } finally {
      await nodes.delete("ipam-a").catch(() => undefined);
      await nodes.delete("ipam-b").catch(() => undefined);
    }
  }, 30_000);

  it("serves each controller's queue figures on /metrics", async () => {
    const text = await (await fetch(`${cm.healthUrl}/metrics`)).text();
    expect(text).toMatch(/workqueue_adds_total\{name="deployment"\} [1-9]/);
    expect(text).toMatch(/workqueue_depth\{name="garbagecollector"\} \d+/);
    expect(text).toMatch(/leader_election_master_status\{name="kube-controller-manager"\} 1/);
    expect((await fetch(`${cm.healthUrl}/healthz`)).status).toBe(200);
  });
});
