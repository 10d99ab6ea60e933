// Book 2.3.3 and 11.3: the controller-manager end to end: a real API server on `corekube kv`, the
// scheduler and simulated nodes: the real kubectl rolls a Deployment out and updates it, a
// ReplicaSet gets running pods and scales down, a Service gets
// Endpoints and an EndpointSlice, a Job completes, a new namespace gets its default ServiceAccount,
// and a deleted namespace is emptied and removed.
import type { KubeObject, Pod } from "@corekube/api";
import { ENDPOINT_SLICES, ENDPOINTS, EVENTS, JOBS, NAMESPACES, REPLICASETS, RESOURCE_QUOTAS, SERVICE_ACCOUNTS, SERVICES } from "@corekube/client";
import { type RunningControllerManager, runControllerManager } from "@corekube/controllers/run";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.js";
import { kubectl } from "../support/kubectl.js";
import { TestCluster } from "../scheduler/support.js";

let c: TestCluster;
let cm: RunningControllerManager;

beforeAll(async () => {
  c = await TestCluster.start();
  await c.addNodes({ namePrefix: "cm-", count: 2 });
  await c.scheduler();
  cm = await runControllerManager({ kubeconfig: c.kubeconfig, leaderElect: false, log: () => undefined });
  await cm.leading;
}, 120_000);

afterAll(async () => {
  await cm?.stop();
  await c?.stop();
});

const labels = { app: "web" };
const template = { metadata: { labels }, spec: { containers: [{ name: "web", image: "nginx" }] } };

describe("controller-manager", () => {
  it("gives a new namespace its default ServiceAccount", async () => {
    const ns = await c.namespace("cm-sa");
    await eventually("the default ServiceAccount", async () => (await c.client.resource(SERVICE_ACCOUNTS).list({ namespace: ns })).items.some((s) => s.metadata.name === "default"));
  });

  it("runs a ReplicaSet's pods, scales it down, and publishes them as a Service's endpoints", async () => {
    const ns = await c.namespace("cm-rs");
    const rss = c.client.resource(REPLICASETS);
    await rss.create({ metadata: { name: "web", namespace: ns }, spec: { replicas: 3, selector: { matchLabels: labels }, template } } as KubeObject);
    const running = async () => (await c.pods().list({ namespace: ns })).items.filter((p) => p.status?.phase === "Running" && !p.metadata.deletionTimestamp);
    await eventually("3 running pods", async () => (await running()).length === 3, 30_000);
    const pods = await running();
    expect(pods.every((p) => p.metadata.name!.startsWith("web-") && p.metadata.ownerReferences?.[0]?.kind === "ReplicaSet")).toBe(true);
    await eventually("readyReplicas 3", async () => ((await rss.get("web", ns)).status as { readyReplicas?: number } | undefined)?.readyReplicas === 3, 20_000);

    await c.client.resource(SERVICES).create({ metadata: { name: "web", namespace: ns }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } } as KubeObject);
    const ips = pods.map((p: Pod) => p.status!.podIP).sort();
    const ep = await eventually("endpoints with 3 addresses", async () => {
      const e = (await c.client.resource(ENDPOINTS).get("web", ns).catch(() => undefined)) as { subsets?: { addresses?: { ip: string }[]; ports?: { port: number }[] }[] } | undefined;
      return e?.subsets?.[0]?.addresses?.length === 3 ? e : undefined;
    });
    expect(ep.subsets![0]!.addresses!.map((a) => a.ip).sort()).toEqual(ips);
    expect(ep.subsets![0]!.ports![0]!.port).toBe(8080);
    await eventually("an EndpointSlice", async () => (await c.client.resource(ENDPOINT_SLICES).list({ namespace: ns, labelSelector: "kubernetes.io/service-name=web" })).items.length === 1);

    await rss.patch("web", { spec: { replicas: 1 } }, "merge", { namespace: ns });
    await eventually("1 pod left", async () => (await c.pods().list({ namespace: ns })).items.length === 1, 30_000);
  }, 90_000);

  it("rolls a Deployment out and updates it, as `kubectl rollout status` sees it", async () => {
    const ns = await c.namespace("cm-deploy");
    const k = kubectl("1.33", c.kubeconfig);
    try {
      await k.ok(["create", "deployment", "web", "--image=nginx:1", "--replicas=2", "-n", ns]);
      const first = await k.ok(["rollout", "status", "deployment/web", "-n", ns, "--timeout=60s"], { timeoutMs: 70_000 });
      expect(first).toMatch(/successfully rolled out/);
      await k.ok(["set", "image", "deployment/web", "nginx=nginx:2", "-n", ns]);
      const second = await k.ok(["rollout", "status", "deployment/web", "-n", ns, "--timeout=60s"], { timeoutMs: 70_000 });
      expect(second).toMatch(/successfully rolled out/);
      const rs = await c.client.resource(REPLICASETS).list({ namespace: ns });
      const sizes = rs.items.map((r) => [(r.metadata.annotations ?? {})["deployment.kubernetes.io/revision"], (r.spec as { replicas: number }).replicas]).sort();
      expect(sizes).toEqual([["1", 0], ["2", 2]]);
      const pods = (await c.pods().list({ namespace: ns })).items.filter((p) => !p.metadata.deletionTimestamp);
      await eventually("old pods gone", async () => (await c.pods().list({ namespace: ns })).items.every((p) => p.spec.containers[0]!.image === "nginx:2"), 30_000);
      expect(pods.length).toBeGreaterThanOrEqual(2);
    } finally {
      k.cleanup();
    }
  }, 120_000);

  it("runs a Job to completion", async () => {
    const ns = await c.namespace("cm-job");
    const jobs = c.client.resource(JOBS);
    await jobs.create({
      metadata: { name: "once", namespace: ns },
      spec: { completions: 2, parallelism: 1, template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } },
    } as KubeObject);
    const done = await eventually("the Job to complete", async () => {
      const j = (await jobs.get("once", ns)) as { status?: { succeeded?: number; conditions?: { type: string; status: string }[] } };
      return j.status?.conditions?.some((x) => x.type === "Complete" && x.status === "True") ? j : undefined;
    }, 40_000);
    expect(done.status!.succeeded).toBe(2);
  }, 60_000);

  it("empties a deleted namespace, then removes it", async () => {
    const ns = await c.namespace("cm-gone");
    await c.client.resource(SERVICES).create({ metadata: { name: "s", namespace: ns }, spec: { ports: [{ port: 80 }] } } as KubeObject);
    await c.client.resource(NAMESPACES).delete(ns);
    await eventually("the namespace to go", async () => {
      try {
        await c.client.resource(NAMESPACES).get(ns);
        return false;
      } catch {
        return true;
      }
    }, 40_000);
  }, 60_000);

  it("keeps a ResourceQuota's status.used current, and admission holds a Deployment to it", async () => {
    const ns = await c.namespace("cm-quota");
    const quotas = c.client.resource(RESOURCE_QUOTAS);
    await quotas.create({ metadata: { name: "q", namespace: ns }, spec: { hard: { pods: "2" } } } as KubeObject);
    const used = async () => ((await quotas.get("q", ns)).status as { used?: { pods?: string } } | undefined)?.used?.pods;
    await eventually("the quota's first status", async () => (await used()) === "0");
    const k = kubectl("1.33", c.kubeconfig);
    try {
      await k.ok(["create", "deployment", "web", "--image=nginx", "--replicas=3", "-n", ns]);
      // Two pods are admitted; the third create is refused and the ReplicaSet says why.
      await eventually("2 pods", async () => (await c.pods().list({ namespace: ns })).items.length === 2, 30_000);
      const refused = await eventually("a FailedCreate event", async () => {
        const events = (await c.client.resource(EVENTS).list({ namespace: ns })).items as { reason?: string; message?: string }[];
        return events.find((e) => e.reason === "FailedCreate");
      }, 30_000);
      expect(refused.message).toMatch(/exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2/);
      expect(await used()).toBe("2");
      // Deletions are not charged back by admission: the controller recounts.
      await k.ok(["scale", "deployment/web", "--replicas=1", "-n", ns]);
      await eventually("used pods back to 1", async () => (await used()) === "1", 30_000);
    } finally {
      k.cleanup();
    }
  }, 90_000);
});
