// Book 11.3: the garbage collector end to end: the real kubectl deletes a Deployment with each
// --cascade mode and the ReplicaSets and pods it owned go before it (foreground), after it
// (background), or stay behind without an owner (orphan).
import type { KubeObject, Pod } from "@corekube/api";
import { DEPLOYMENTS, REPLICASETS } from "@corekube/client";
import { type RunningControllerManager, runControllerManager } from "@corekube/controllers/run";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestCluster } from "../scheduler/support.js";
import { eventually } from "../support/eventually.js";
import { type Kubectl, kubectl } from "../support/kubectl.js";

let c: TestCluster;
let cm: RunningControllerManager;
let k: Kubectl;

beforeAll(async () => {
  c = await TestCluster.start();
  await c.addNodes({ namePrefix: "gc-", count: 2 });
  await c.scheduler();
  cm = await runControllerManager({ kubeconfig: c.kubeconfig, leaderElect: false, log: () => undefined });
  await cm.leading;
  k = kubectl("1.33", c.kubeconfig);
}, 120_000);

afterAll(async () => {
  k?.cleanup();
  await cm?.stop();
  await c?.stop();
});

async function rolledOut(ns: string, name: string, replicas: number): Promise<{ rs: KubeObject[]; pods: Pod[] }> {
  await k.ok(["create", "deployment", name, "--image=nginx:1", `--replicas=${replicas}`, "-n", ns]);
  await k.ok(["rollout", "status", `deployment/${name}`, "-n", ns, "--timeout=60s"], { timeoutMs: 70_000 });
  const rs = (await c.client.resource(REPLICASETS).list({ namespace: ns })).items;
  const pods = (await c.pods().list({ namespace: ns })).items.filter((p) => !p.metadata.deletionTimestamp);
  return { rs, pods };
}

const names = (xs: KubeObject[]) => xs.map((x) => x.metadata.name).sort();

describe("kubectl delete --cascade", () => {
  it("background: the Deployment goes at once, then its ReplicaSet and pods", async () => {
    const ns = await c.namespace("gc-background");
    const { rs, pods } = await rolledOut(ns, "web", 2);
    expect(rs).toHaveLength(1);
    expect(pods).toHaveLength(2);
    await k.ok(["delete", "deployment", "web", "--cascade=background", "-n", ns]);
    await expect(c.client.resource(DEPLOYMENTS).get("web", ns)).rejects.toMatchObject({ status: { code: 404 } });
    await eventually("the ReplicaSet and pods collected", async () => {
      const left = (await c.client.resource(REPLICASETS).list({ namespace: ns })).items.length + (await c.pods().list({ namespace: ns })).items.length;
      return left === 0;
    }, 30_000);
  }, 120_000);

  it("foreground: the ReplicaSet and pods go first, while the Deployment waits with a foregroundDeletion finalizer", async () => {
    const ns = await c.namespace("gc-foreground");
    await rolledOut(ns, "web", 2);
    // Watch the Deployment while it is deleted: it must show the finalizer, and outlive its pods.
    const watch = k.spawn(["get", "deployment", "web", "-n", ns, "-w", "-o", "jsonpath={.metadata.finalizers}{\"\\n\"}"], { timeoutMs: 60_000 });
    try {
      await k.ok(["delete", "deployment", "web", "--cascade=foreground", "-n", ns, "--timeout=50s"], { timeoutMs: 60_000 });
      // kubectl waits until the Deployment is gone; by then its dependents are gone too.
      expect((await c.client.resource(REPLICASETS).list({ namespace: ns })).items).toHaveLength(0);
      expect((await c.pods().list({ namespace: ns })).items.filter((p) => !p.metadata.deletionTimestamp)).toHaveLength(0);
      await eventually("the watch to show the finalizer", async () => watch.output().includes("foregroundDeletion"), 10_000);
    } finally {
      await watch.stop();
    }
  }, 120_000);

  it("orphan: the Deployment and ReplicaSet go, the ReplicaSet's pods stay without an owner", async () => {
    const ns = await c.namespace("gc-orphan");
    const { rs, pods } = await rolledOut(ns, "web", 2);
    await k.ok(["delete", "replicaset", rs[0]!.metadata.name!, "--cascade=orphan", "-n", ns, "--timeout=30s"], { timeoutMs: 40_000 });
    // The Deployment makes a new ReplicaSet which adopts the orphans (same template hash, same labels).
    const adopted = await eventually("the orphans adopted by a new ReplicaSet", async () => {
      const now = (await c.pods().list({ namespace: ns })).items;
      const newRs = (await c.client.resource(REPLICASETS).list({ namespace: ns })).items.find((r) => r.metadata.uid !== rs[0]!.metadata.uid);
      if (!newRs) return undefined;
      return now.every((p) => p.metadata.ownerReferences?.[0]?.uid === newRs.metadata.uid) ? now : undefined;
    }, 30_000);
    expect(names(adopted)).toEqual(names(pods)); // the same pods, never recreated

    await k.ok(["delete", "deployment", "web", "--cascade=orphan", "-n", ns, "--timeout=30s"], { timeoutMs: 40_000 });
    const left = await c.client.resource(REPLICASETS).list({ namespace: ns });
    expect(left.items).toHaveLength(1);
    await eventually("the ReplicaSet to lose its owner", async () => {
      const r = await c.client.resource(REPLICASETS).get(left.items[0]!.metadata.name!, ns);
      return (r.metadata.ownerReferences ?? []).length === 0;
    });
    expect(names((await c.pods().list({ namespace: ns })).items)).toEqual(names(pods));
  }, 120_000);

  it("collects an object whose owner never existed, but not one whose owner the cache has not seen yet", async () => {
    const ns = await c.namespace("gc-dangling");
    const cms = c.client.resource({ group: "", version: "v1", resource: "configmaps", kind: "ConfigMap", namespaced: true });
    const owner = await cms.create({ metadata: { name: "owner", namespace: ns } });
    const ref = (name: string, uid: string) => [{ apiVersion: "v1", kind: "ConfigMap", name, uid }];
    await cms.create({ metadata: { name: "kept", namespace: ns, ownerReferences: ref("owner", owner.metadata.uid!) } });
    await cms.create({ metadata: { name: "dangling", namespace: ns, ownerReferences: ref("ghost", "00000000-0000-0000-0000-000000000000") } });
    await eventually("the dangling ConfigMap collected", async () => !(await cms.list({ namespace: ns })).items.some((x) => x.metadata.name === "dangling"), 20_000);
    expect((await cms.get("kept", ns)).metadata.name).toBe("kept");
    await cms.delete("owner", { namespace: ns });
    // (the namespace's kube-root-ca.crt, from the root-ca-cert-publisher, has no owner and stays)
    await eventually("the dependent follows its owner", async () => !(await cms.list({ namespace: ns })).items.some((x) => x.metadata.name === "kept"), 20_000);
  }, 60_000);

  it("follows custom resources too: a dependent widget is collected, and a deleted namespace is emptied of widgets", async () => {
    const crds = c.client.resource({ group: "apiextensions.k8s.io", version: "v1", resource: "customresourcedefinitions", kind: "CustomResourceDefinition", namespaced: false });
    await crds.create({
      metadata: { name: "widgets.gc.example.com" },
      spec: {
        group: "gc.example.com",
        scope: "Namespaced",
        names: { plural: "widgets", singular: "widget", kind: "Widget" },
        versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }],
      },
    });
    try {
      const widgets = c.client.resource({ group: "gc.example.com", version: "v1", resource: "widgets", kind: "Widget", namespaced: true });
      const ns = await c.namespace("gc-custom");
      const owner = await eventually("the Widget kind served", async () => widgets.create({ metadata: { name: "owner", namespace: ns } }).catch(() => undefined));
      await widgets.create({
        metadata: { name: "part", namespace: ns, ownerReferences: [{ apiVersion: "gc.example.com/v1", kind: "Widget", name: "owner", uid: owner.metadata.uid! }] },
      });
      await widgets.delete("owner", { namespace: ns });
      await eventually("the dependent widget collected", async () => (await widgets.list({ namespace: ns })).items.length === 0, 20_000);

      await widgets.create({ metadata: { name: "left-behind", namespace: ns } });
      await c.client.resource({ group: "", version: "v1", resource: "namespaces", kind: "Namespace", namespaced: false }).delete(ns);
      await eventually("the namespace gone", async () => {
        const all = await c.client.resource({ group: "", version: "v1", resource: "namespaces", kind: "Namespace", namespaced: false }).list();
        return !all.items.some((n) => n.metadata.name === ns);
      }, 30_000);
      expect((await widgets.list({ namespace: ns })).items).toHaveLength(0);
    } finally {
      await crds.delete("widgets.gc.example.com").catch(() => undefined);
    }
  }, 60_000);
});
