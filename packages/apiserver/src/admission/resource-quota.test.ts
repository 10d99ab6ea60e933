// Book 4.3-4.5 and 11.2: the ResourceQuota admission plugin against an in-memory quota store — what
// a new object uses is refused past a quota's hard limits, or charged to status.used (and given back
// when the write does not happen).
import type { ResourceQuota, StatusError } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { configMaps } from "../kinds/core-config.js";
import { pods } from "../kinds/core-pods.js";
import { services } from "../kinds/core-services.js";
import { AdmissionChain, type AdmissionPlugin, type AdmissionRequest, type Operation, type Rollback } from "../registry/admission.js";
import type { KubeObject, RequestContext, ResourceDef } from "../registry/types.js";
import { type QuotaAccess, resourceQuota } from "./resource-quota.js";

const NS = "team-a";
const ctx: RequestContext = { user: { username: "u", groups: [] }, namespace: NS, now: new Date("2024-05-01T12:00:00Z"), dryRun: false, warnings: [] };

const clone = <T>(v: T): T => structuredClone(v);

/** Quotas in "storage", and optionally an older view for list() (the watch cache lagging behind). */
class FakeQuotas implements QuotaAccess {
  stored = new Map<string, ResourceQuota>();
  cached?: ResourceQuota[];
  writes = 0;

  constructor(quotas: ResourceQuota[]) {
    for (const q of quotas) this.stored.set(`${q.metadata.namespace}/${q.metadata.name}`, clone(q));
  }
  async list(namespace: string) {
    return clone((this.cached ?? [...this.stored.values()]).filter((q) => q.metadata.namespace === namespace));
  }
  async updateStatus(namespace: string, name: string, change: (q: ResourceQuota) => ResourceQuota) {
    const key = `${namespace}/${name}`;
    const cur = this.stored.get(key);
    if (!cur) return false;
    const next = change(clone(cur));
    this.stored.set(key, clone(next));
    this.writes++;
    return true;
  }
  used(name: string, ns = NS) {
    return this.stored.get(`${ns}/${name}`)?.status?.used;
  }
}

function quota(name: string, hard: Record<string, string>, used?: Record<string, string>, spec: Record<string, unknown> = {}, ns = NS): ResourceQuota {
  return {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { name, namespace: ns },
    spec: { hard, ...spec },
    ...(used ? { status: { hard, used } } : {}),
  };
}

type Resources = { requests?: Record<string, string>; limits?: Record<string, string> };

function pod(name: string, resources?: Resources, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: NS }, spec: { containers: [{ name: "web", image: "nginx", ...(resources ? { resources } : {}) }], ...spec } };
}

function req(def: ResourceDef, obj: KubeObject, extra: Partial<AdmissionRequest> = {}, operation: Operation = "CREATE"): AdmissionRequest {
  return { operation, def, subresource: "", namespace: NS, name: obj.metadata.name ?? "", obj, ctx, ...extra };
}

async function admit(access: QuotaAccess, r: AdmissionRequest, more: AdmissionPlugin[] = []): Promise<{ error?: StatusError; rollback?: Rollback }> {
  try {
    return { rollback: await new AdmissionChain([resourceQuota(access), ...more]).admit(r) };
  } catch (e) {
    return { error: e as StatusError };
  }
}

const burstable = { requests: { cpu: "250m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } };

describe("ResourceQuota admission: pods", () => {
  it("refuses a pod past the pod count with 403 and upstream's message", async () => {
    const q = new FakeQuotas([quota("q", { pods: "2" }, { pods: "2" })]);
    const { error } = await admit(q, req(pods, pod("x")));
    expect(error?.code).toBe(403);
    expect(error?.reason).toBe("Forbidden");
    expect(error?.message).toBe('pods "x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2');
    expect(q.writes).toBe(0);
  });

  it("charges a pod's count, requests and limits to status.used, and gives them back on rollback", async () => {
    const hard = { pods: "5", "requests.cpu": "2", "requests.memory": "1Gi", "limits.cpu": "4", "limits.memory": "2Gi", "count/pods": "10" };
    const q = new FakeQuotas([quota("compute", hard, { pods: "1", "requests.cpu": "200m", "requests.memory": "64Mi", "limits.cpu": "1", "limits.memory": "128Mi", "count/pods": "1" })]);
    const { error, rollback } = await admit(q, req(pods, pod("web-1", burstable)));
    expect(error).toBeUndefined();
    expect(q.used("compute")).toEqual({ pods: "2", "requests.cpu": "450m", "requests.memory": "128Mi", "limits.cpu": "1500m", "limits.memory": "256Mi", "count/pods": "2" });
    await rollback!();
    expect(q.used("compute")).toEqual({ pods: "1", "requests.cpu": "200m", "requests.memory": "64Mi", "limits.cpu": "1", "limits.memory": "128Mi", "count/pods": "1" });
  });

  it("names the resource and amounts that do not fit", async () => {
    const q = new FakeQuotas([quota("cpu", { pods: "10", "requests.cpu": "500m" }, { pods: "1", "requests.cpu": "400m" })]);
    const { error } = await admit(q, req(pods, pod("web", burstable)));
    expect(error?.message).toBe('pods "web" is forbidden: exceeded quota: cpu, requested: requests.cpu=250m, used: requests.cpu=400m, limited: requests.cpu=500m');
  });

  it("refuses a pod that does not state a compute resource the quota tracks", async () => {
    const q = new FakeQuotas([quota("q", { "limits.cpu": "4", "requests.memory": "1Gi" }, {})]);
    const { error } = await admit(q, req(pods, pod("bare")));
    expect(error?.code).toBe(403);
    expect(error?.message).toBe('pods "bare" is forbidden: failed quota: q: must specify limits.cpu for: web; requests.memory for: web');
    const half = await admit(q, req(pods, pod("half", { requests: { memory: "64Mi" } })));
    expect(half.error?.message).toBe('pods "half" is forbidden: failed quota: q: must specify limits.cpu for: web');
  });

  it("uses spec.hard when the controller has not filled in the status yet", async () => {
    const q = new FakeQuotas([quota("fresh", { pods: "1" })]);
    expect((await admit(q, req(pods, pod("first")))).error).toBeUndefined();
    expect(q.used("fresh")).toEqual({ pods: "1" });
    const { error } = await admit(q, req(pods, pod("second")));
    expect(error?.message).toBe('pods "second" is forbidden: exceeded quota: fresh, requested: pods=1, used: pods=1, limited: pods=1');
  });

  it("applies scoped quotas only to the pods in their scopes", async () => {
    const q = new FakeQuotas([
      quota("no-best-effort", { pods: "0" }, { pods: "0" }, { scopes: ["BestEffort"] }),
      quota("short-lived", { pods: "1" }, { pods: "1" }, { scopes: ["Terminating"] }),
      quota("high", { pods: "0" }, { pods: "0" }, { scopeSelector: { matchExpressions: [{ scopeName: "PriorityClass", operator: "In", values: ["high"] }] } }),
    ]);
    const be = await admit(q, req(pods, pod("be")));
    expect(be.error?.message).toBe('pods "be" is forbidden: exceeded quota: no-best-effort, requested: pods=1, used: pods=0, limited: pods=0');
    // Burstable, no deadline, no class: none of the three.
    expect((await admit(q, req(pods, pod("ok", burstable)))).error).toBeUndefined();
    const job = await admit(q, req(pods, pod("job", burstable, { activeDeadlineSeconds: 60 })));
    expect(job.error?.message).toContain("exceeded quota: short-lived");
    const high = await admit(q, req(pods, pod("vip", burstable, { priorityClassName: "high" })));
    expect(high.error?.message).toContain("exceeded quota: high");
    expect(q.writes).toBe(0);
  });

  it("checks again against storage, so a stale cache cannot let a pod past the limit", async () => {
    const q = new FakeQuotas([quota("q", { pods: "2" }, { pods: "2" })]);
    q.cached = [quota("q", { pods: "2" }, { pods: "1" })];
    const { error } = await admit(q, req(pods, pod("late")));
    expect(error?.message).toBe('pods "late" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2');
  });

  it("gives back what it charged to one quota when another refuses", async () => {
    const q = new FakeQuotas([quota("a", { pods: "5" }, { pods: "1" }), quota("b", { pods: "2" }, { pods: "2" })]);
    q.cached = [quota("a", { pods: "5" }, { pods: "1" }), quota("b", { pods: "2" }, { pods: "1" })];
    const { error } = await admit(q, req(pods, pod("p")));
    expect(error?.message).toContain("exceeded quota: b");
    expect(q.used("a")).toEqual({ pods: "1" });
  });

  it("gives back the charge when a later plugin refuses the pod", async () => {
    const q = new FakeQuotas([quota("q", { pods: "5" }, { pods: "3" })]);
    const refuse: AdmissionPlugin = {
      name: "Refuse",
      validate() {
        throw new Error("no");
      },
    };
    const { error } = await admit(q, req(pods, pod("p")), [refuse]);
    expect(error?.message).toBe("no");
    expect(q.used("q")).toEqual({ pods: "3" });
  });

  it("charges nothing on a dry run, and ignores updates and other namespaces' quotas", async () => {
    const q = new FakeQuotas([quota("q", { pods: "1" }, { pods: "0" }), quota("full", { pods: "0" }, { pods: "0" }, {}, "team-b")]);
    expect((await admit(q, req(pods, pod("dry"), { ctx: { ...ctx, dryRun: true } }))).error).toBeUndefined();
    expect(q.writes).toBe(0);
    expect((await admit(q, req(pods, pod("u"), { old: pod("u") }, "UPDATE"))).error).toBeUndefined();
    expect(q.writes).toBe(0);
    expect((await admit(q, req(pods, pod("real")))).error).toBeUndefined();
    expect(q.used("q")).toEqual({ pods: "1" });
  });
});

describe("ResourceQuota admission: other objects", () => {
  const svc = (name: string, type: string, ports: number): KubeObject => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: NS },
    spec: { type, ports: Array.from({ length: ports }, (_, i) => ({ port: 80 + i })) },
  });

  it("counts a Service's node ports and load balancers by its type", async () => {
    const q = new FakeQuotas([quota("svc", { services: "10", "services.nodeports": "2", "services.loadbalancers": "1" }, { services: "0", "services.nodeports": "0", "services.loadbalancers": "1" })]);
    const np = await admit(q, req(services, svc("np", "NodePort", 3)));
    expect(np.error?.message).toBe('services "np" is forbidden: exceeded quota: svc, requested: services.nodeports=3, used: services.nodeports=0, limited: services.nodeports=2');
    const lb = await admit(q, req(services, svc("lb", "LoadBalancer", 1)));
    expect(lb.error?.message).toBe('services "lb" is forbidden: exceeded quota: svc, requested: services.loadbalancers=1, used: services.loadbalancers=1, limited: services.loadbalancers=1');
    expect((await admit(q, req(services, svc("ip", "ClusterIP", 3)))).error).toBeUndefined();
    expect(q.used("svc")).toEqual({ services: "1", "services.nodeports": "0", "services.loadbalancers": "1" });
  });

  it("counts ConfigMaps under both names, and objects of any resource under count/<resource>.<group>", async () => {
    const q = new FakeQuotas([quota("counts", { configmaps: "1", "count/configmaps": "5", "count/widgets.example.com": "1" }, {})]);
    const cm: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c1", namespace: NS }, data: {} };
    expect((await admit(q, req(configMaps, cm))).error).toBeUndefined();
    expect(q.used("counts")).toEqual({ configmaps: "1", "count/configmaps": "1" });
    const again = await admit(q, req(configMaps, { ...cm, metadata: { name: "c2", namespace: NS } }));
    expect(again.error?.message).toBe('configmaps "c2" is forbidden: exceeded quota: counts, requested: configmaps=1, used: configmaps=1, limited: configmaps=1');

    const widgets: ResourceDef = { ...configMaps, group: "example.com", resource: "widgets", kind: "Widget" };
    const w = (name: string): KubeObject => ({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name, namespace: NS } });
    expect((await admit(q, req(widgets, w("w1")))).error).toBeUndefined();
    const second = await admit(q, req(widgets, w("w2")));
    expect(second.error?.message).toBe('widgets.example.com "w2" is forbidden: exceeded quota: counts, requested: count/widgets.example.com=1, used: count/widgets.example.com=1, limited: count/widgets.example.com=1');
  });
});
