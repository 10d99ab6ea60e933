// Book 4.3-4.5 and 11.3: the resource quota controller's reconcile over in-memory caches — status.hard
// follows spec.hard and status.used is recounted from the namespace's objects, written only on change.
import type { KubeObject, Pod, ResourceQuota } from "@corekube/api";
import { RESOURCE_QUOTAS } from "@corekube/client";
import { describe, expect, it } from "vitest";
import { readerOf } from "../framework/testing.js";
import { FakeClock } from "../framework/types.js";
import { type ResourceQuotaState, reconcileResourceQuota } from "./reconcile.js";

const NS = "team-a";
const NOW = new Date("2024-05-01T12:00:00Z");

function quota(name: string, hard: Record<string, string>, status?: ResourceQuota["status"], spec: Record<string, unknown> = {}): ResourceQuota {
  return { apiVersion: "v1", kind: "ResourceQuota", metadata: { name, namespace: NS, resourceVersion: "7" }, spec: { hard, ...spec }, ...(status ? { status } : {}) };
}

function pod(name: string, resources?: { requests?: Record<string, string>; limits?: Record<string, string> }, extra: Partial<Pod> = {}, ns = NS): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, ...(extra.metadata ?? {}) },
    spec: { containers: [{ name: "web", ...(resources ? { resources } : {}) }], ...(extra.spec ?? {}) },
    status: { phase: "Running", ...(extra.status ?? {}) },
  };
}

const obj = (kind: string, name: string, spec?: Record<string, unknown>): KubeObject => ({ apiVersion: "v1", kind, metadata: { name, namespace: NS }, ...(spec ? { spec } : {}) });

function state(quotas: ResourceQuota[], o: Partial<Omit<ResourceQuotaState, "quotas">> = {}): ResourceQuotaState {
  return {
    quotas: readerOf(quotas),
    pods: readerOf<Pod>([]),
    services: readerOf([]),
    configmaps: readerOf([]),
    secrets: readerOf([]),
    pvcs: readerOf([]),
    clock: new FakeClock(NOW),
    ...o,
  };
}

/** The status the reconcile writes, or undefined when it writes nothing. */
function written(key: string, s: ResourceQuotaState) {
  const r = reconcileResourceQuota(key, s);
  expect(r.actions.length).toBeLessThanOrEqual(1);
  const a = r.actions[0];
  if (!a) return undefined;
  expect(a.verb).toBe("updateStatus");
  if (a.verb !== "updateStatus") return undefined;
  expect(a.resource).toBe(RESOURCE_QUOTAS);
  return (a.object as ResourceQuota).status;
}

const small = { requests: { cpu: "250m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } };

describe("resource quota controller", () => {
  it("fills in a new quota's hard and used (0 for what nothing uses)", () => {
    const q = quota("compute", { pods: "10", "requests.cpu": "2", "limits.memory": "1Gi", secrets: "5" });
    expect(written(`${NS}/compute`, state([q]))).toEqual({ hard: { pods: "10", "requests.cpu": "2", "limits.memory": "1Gi", secrets: "5" }, used: { "limits.memory": "0", pods: "0", "requests.cpu": "0", secrets: "0" } });
  });

  it("adds up the namespace's non-terminal pods, and counts every stored pod under count/pods", () => {
    const pods = readerOf<Pod>([
      pod("a", small),
      pod("b", small),
      pod("done", small, { status: { phase: "Succeeded" } }),
      pod("elsewhere", small, {}, "team-b"),
    ]);
    const q = quota("compute", { pods: "10", "count/pods": "10", "requests.cpu": "2", "requests.memory": "1Gi", "limits.cpu": "4" });
    expect(written(`${NS}/compute`, state([q], { pods }))?.used).toEqual({ "count/pods": "3", "limits.cpu": "1", pods: "2", "requests.cpu": "500m", "requests.memory": "128Mi" });
  });

  it("writes nothing when hard and used already agree (formats aside)", () => {
    const pods = readerOf<Pod>([pod("a", small), pod("b", small)]);
    const q = quota("compute", { pods: "10", "requests.cpu": "2" }, { hard: { pods: "10", "requests.cpu": "2" }, used: { pods: "2", "requests.cpu": "0.5" } });
    expect(reconcileResourceQuota(`${NS}/compute`, state([q], { pods })).actions).toEqual([]);
  });

  it("corrects a used value admission charged for an object that is gone, and follows a changed spec.hard", () => {
    const q = quota("q", { pods: "3" }, { hard: { pods: "2" }, used: { pods: "2" } });
    const s = state([q], { pods: readerOf<Pod>([pod("a")]) });
    expect(written(`${NS}/q`, s)).toEqual({ hard: { pods: "3" }, used: { pods: "1" } });
  });

  it("counts services' node ports and load balancers, configmaps, secrets, claims and quotas", () => {
    const services = readerOf([
      obj("Service", "np", { type: "NodePort", ports: [{ port: 80 }, { port: 443 }] }),
      obj("Service", "lb", { type: "LoadBalancer", ports: [{ port: 80 }] }),
      obj("Service", "ip", { type: "ClusterIP", ports: [{ port: 80 }] }),
    ]);
    const pvcs = readerOf([obj("PersistentVolumeClaim", "data", { storageClassName: "fast", resources: { requests: { storage: "5Gi" } } })]);
    const hard = {
      services: "10",
      "services.nodeports": "10",
      "services.loadbalancers": "2",
      configmaps: "10",
      "count/secrets": "10",
      persistentvolumeclaims: "5",
      "requests.storage": "100Gi",
      "fast.storageclass.storage.k8s.io/requests.storage": "10Gi",
      resourcequotas: "3",
    };
    const s = state([quota("objects", hard)], {
      services,
      pvcs,
      configmaps: readerOf([obj("ConfigMap", "c1"), obj("ConfigMap", "c2")]),
      secrets: readerOf([obj("Secret", "s1")]),
    });
    expect(written(`${NS}/objects`, s)?.used).toEqual({
      configmaps: "2",
      "count/secrets": "1",
      "fast.storageclass.storage.k8s.io/requests.storage": "5Gi",
      persistentvolumeclaims: "1",
      "requests.storage": "5Gi",
      resourcequotas: "1",
      services: "3",
      "services.loadbalancers": "1",
      "services.nodeports": "3",
    });
  });

  it("counts only the pods in the quota's scopes", () => {
    const pods = readerOf<Pod>([pod("be"), pod("burst", small), pod("job", small, { spec: { containers: [{ name: "web", resources: small }], activeDeadlineSeconds: 30 } })]);
    const best = quota("be", { pods: "10" }, undefined, { scopes: ["BestEffort"] });
    const notTerm = quota("long", { pods: "10" }, undefined, { scopes: ["NotTerminating", "NotBestEffort"] });
    expect(written(`${NS}/be`, state([best, notTerm], { pods }))?.used).toEqual({ pods: "1" });
    expect(written(`${NS}/long`, state([best, notTerm], { pods }))?.used).toEqual({ pods: "1" });
  });

  it("stops counting a pod stuck in deletion past its grace period, and looks again when that happens", () => {
    const deleting = (name: string, at: string) => pod(name, small, { metadata: { name, namespace: NS, deletionTimestamp: at, deletionGracePeriodSeconds: 30 } });
    const pods = readerOf<Pod>([deleting("stuck", "2024-05-01T11:00:00Z"), deleting("leaving", "2024-05-01T12:00:10Z")]);
    const r = reconcileResourceQuota(`${NS}/q`, state([quota("q", { pods: "10", "count/pods": "10" })], { pods }));
    expect((r.actions[0] as { object: ResourceQuota }).object.status?.used).toEqual({ "count/pods": "2", pods: "1" });
    // "leaving" stops counting 40 s from now (its deletion time plus grace); a second past that.
    expect(r.requeueAfterMs).toBe(41_000);
  });

  it("keeps the used value of an object count it has no reader for, and counts one it has", () => {
    const q = quota("q", { "count/deployments.apps": "5", "count/widgets.example.com": "5" }, { hard: { "count/deployments.apps": "5", "count/widgets.example.com": "5" }, used: { "count/deployments.apps": "2" } });
    const widgets = readerOf([{ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w", namespace: NS } }]);
    expect(written(`${NS}/q`, state([q], { others: { "widgets.example.com": widgets } }))?.used).toEqual({ "count/deployments.apps": "2", "count/widgets.example.com": "1" });
  });

  it("does nothing for a quota that is gone or a key without a namespace", () => {
    expect(reconcileResourceQuota(`${NS}/missing`, state([])).actions).toEqual([]);
    expect(reconcileResourceQuota("no-namespace", state([quota("no-namespace", { pods: "1" })])).actions).toEqual([]);
  });

  it("ignores malformed quantities instead of failing", () => {
    const q = quota("odd", { pods: "lots", secrets: "2" });
    const s = state([q], { pods: readerOf<Pod>([{ apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: NS }, spec: { containers: [{ name: "c", resources: { requests: { cpu: "x" } } }] } }]) });
    expect(written(`${NS}/odd`, s)).toEqual({ hard: { pods: "lots", secrets: "2" }, used: { secrets: "0" } });
  });
});
