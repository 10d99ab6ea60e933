// Book 9.3: the kubelet registers its Node with what the machine has, renews its Lease in
// kube-node-lease, and reports Ready as its runtime's health changes.
import { type Lease, NODE_LEASE_NAMESPACE, type Node } from "@corekube/api";
import { LEASES, NODES, RestClient } from "@corekube/client";
import { NodeAgent } from "@corekube/kubelet/node/agent";
import { DEFAULT_RESERVATIONS } from "@corekube/kubelet/node/status";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "../support/apiserver-process.js";
import { eventually } from "../support/eventually.js";

let cp: ControlPlane;
let client: RestClient;

beforeAll(async () => {
  cp = await startControlPlane();
  client = await RestClient.fromKubeconfig({ path: cp.kubeconfig, qps: 0 });
}, 90_000);

afterAll(async () => {
  await client?.close();
  await cp?.stop();
});

describe("NodeAgent", () => {
  it("registers the node, renews its Lease and follows the runtime's health", async () => {
    let ready = false;
    const agent = new NodeAgent({
      client,
      identity: { name: "agent-test", nodeIP: "192.0.2.10", podCIDR: "10.244.7.0/24", maxPods: 110, reservations: DEFAULT_RESERVATIONS, runtimeVersion: "corekube://0.1.0" },
      rootDir: "/",
      health: () => (ready ? { ready: true } : { ready: false, message: "container runtime network not ready" }),
      statusIntervalMs: 100,
      leaseRenewMs: 100,
    });
    try {
      const node = await agent.register();
      expect(node.metadata.labels?.["kubernetes.io/hostname"]).toBe("agent-test");
      expect(node.spec?.podCIDR).toBe("10.244.7.0/24");
      expect(Number(node.status?.capacity?.cpu)).toBeGreaterThan(0);
      expect(node.status?.addresses).toContainEqual({ type: "InternalIP", address: "192.0.2.10" });
      expect(node.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("False");
      agent.start();
      const lease = await eventually("the Lease", async () => client.resource<Lease>(LEASES).get("agent-test", NODE_LEASE_NAMESPACE).catch(() => undefined));
      expect(lease.spec.holderIdentity).toBe("agent-test");
      expect(lease.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Node", uid: node.metadata.uid });
      const first = lease.spec.renewTime;
      await eventually("a renewal", async () => (await client.resource<Lease>(LEASES).get("agent-test", NODE_LEASE_NAMESPACE)).spec.renewTime !== first);
      ready = true;
      await eventually("Ready=True", async () => ((await client.resource<Node>(NODES).get("agent-test")).status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"));
      // A second kubelet start adopts the node instead of failing.
      const again = new NodeAgent({ ...agent["o"], statusIntervalMs: 100 });
      expect((await again.register()).metadata.uid).toBe(node.metadata.uid);
    } finally {
      agent.stop();
      await client.resource(NODES).delete("agent-test").catch(() => undefined);
      await client.resource(LEASES).delete("agent-test", { namespace: NODE_LEASE_NAMESPACE }).catch(() => undefined);
    }
  }, 60_000);
});
