// Book 4.3-4.5 and 14.4: what objects cost a ResourceQuota — pod totals with init containers and
// sidecars, service node ports, scopes and the compute-resource rule.
import { describe, expect, it } from "vitest";
import {
  exceededResources,
  formatResourceList,
  objectUsage,
  parseResourceList,
  podMatchesScope,
  podQuotaConstraintError,
  podResourceTotals,
  quotaHard,
  quotaMatches,
  resourceListOf,
  serviceUsage,
  type QuotaSubject,
} from "./quota.js";

const NOW = new Date("2024-05-01T12:00:00Z");

const c = (name: string, requests?: Record<string, string>, limits?: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  name,
  resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) },
  ...extra,
});

const pod = (spec: Record<string, unknown>, extra: Partial<QuotaSubject> = {}): QuotaSubject => ({ metadata: { name: "p" }, spec, ...extra });

describe("pod usage", () => {
  it("adds containers, takes the largest init container, and adds sidecars and overhead", () => {
    const p = pod({
      containers: [c("a", { cpu: "100m", memory: "100Mi" }), c("b", { cpu: "200m" })],
      initContainers: [c("init-big", { cpu: "1" }), c("sidecar", { cpu: "50m" }, undefined, { restartPolicy: "Always" }), c("init-after", { cpu: "600m" })],
      overhead: { cpu: "10m" },
    });
    // Steady state 300m + sidecar 50m = 350m; init peak max(1, 600m + 50m) = 1; plus 10m overhead.
    expect(resourceListOf(podResourceTotals(p, "requests"))).toEqual({ cpu: "1010m", memory: "100Mi" });
    expect(resourceListOf(podResourceTotals(p, "requests", false))).toEqual({ cpu: "1", memory: "100Mi" });
    // Overhead raises no limit that is not there.
    expect(resourceListOf(podResourceTotals(p, "limits"))).toEqual({});
  });

  it("counts compute names for a running pod, only count/pods for a finished one", () => {
    const running = pod({ containers: [c("a", { cpu: "100m", "example.com/gpu": "1", "hugepages-2Mi": "4Mi" }, { cpu: "200m" })] });
    expect(resourceListOf(objectUsage({ group: "", resource: "pods" }, running, NOW))).toEqual({
      "count/pods": "1",
      cpu: "100m",
      "hugepages-2Mi": "4Mi",
      "limits.cpu": "200m",
      pods: "1",
      "requests.cpu": "100m",
      "requests.example.com/gpu": "1",
      "requests.hugepages-2Mi": "4Mi",
    });
    const done = { ...running, status: { phase: "Failed" } };
    expect(resourceListOf(objectUsage({ group: "", resource: "pods" }, done, NOW))).toEqual({ "count/pods": "1" });
  });

  it("asks every container for the compute resources a quota limits", () => {
    const p = pod({ containers: [c("a", { cpu: "1" }, { cpu: "1" }), c("b")], initContainers: [c("init", { memory: "1Mi" })] });
    expect(podQuotaConstraintError(["limits.cpu", "memory", "pods"], p)).toBe("must specify limits.cpu for: b,init; memory for: a,b");
    expect(podQuotaConstraintError(["pods", "count/pods"], p)).toBeUndefined();
  });
});

describe("service and object usage", () => {
  const svc = (spec: Record<string, unknown>): QuotaSubject => ({ metadata: { name: "s" }, spec });

  it("counts node ports for NodePort and LoadBalancer services, only explicit ones without balancer node ports", () => {
    expect(resourceListOf(serviceUsage(svc({ type: "NodePort", ports: [{ port: 1 }, { port: 2 }] })))["services.nodeports"]).toBe("2");
    const lb = resourceListOf(serviceUsage(svc({ type: "LoadBalancer", allocateLoadBalancerNodePorts: false, ports: [{ port: 1, nodePort: 30001 }, { port: 2 }] })));
    expect(lb).toMatchObject({ "services.nodeports": "1", "services.loadbalancers": "1", services: "1" });
    expect(resourceListOf(serviceUsage(svc({ ports: "bad" })))).toMatchObject({ services: "1", "services.nodeports": "0" });
  });

  it("names any resource's object count count/<resource>.<group>", () => {
    expect(resourceListOf(objectUsage({ group: "apps", resource: "deployments" }, { metadata: {} }, NOW))).toEqual({ "count/deployments.apps": "1" });
    expect(resourceListOf(objectUsage({ group: "", resource: "secrets" }, { metadata: {} }, NOW))).toEqual({ "count/secrets": "1", secrets: "1" });
  });
});

describe("quotas", () => {
  it("prints amounts sorted, and finds what goes over", () => {
    const used = parseResourceList({ pods: "3", "requests.cpu": "1500m", bogus: "x" });
    expect(formatResourceList(used)).toBe("pods=3,requests.cpu=1500m");
    expect(exceededResources(used, parseResourceList({ pods: "3", "requests.cpu": "1" }))).toEqual(["requests.cpu"]);
  });

  it("prefers status.hard over spec.hard once it is there", () => {
    expect(resourceListOf(quotaHard({ metadata: {}, spec: { hard: { pods: "5" } } }))).toEqual({ pods: "5" });
    expect(resourceListOf(quotaHard({ metadata: {}, spec: { hard: { pods: "5" } }, status: { hard: { pods: "4" } } }))).toEqual({ pods: "4" });
  });

  it("matches PriorityClass selectors against the pod's class name", () => {
    const p = pod({ containers: [], priorityClassName: "high" });
    const none = pod({ containers: [] });
    expect(podMatchesScope({ scopeName: "PriorityClass", operator: "In", values: ["high", "mid"] }, p)).toBe(true);
    expect(podMatchesScope({ scopeName: "PriorityClass", operator: "NotIn", values: ["high"] }, p)).toBe(false);
    expect(podMatchesScope({ scopeName: "PriorityClass", operator: "Exists" }, none)).toBe(false);
    expect(podMatchesScope({ scopeName: "PriorityClass", operator: "DoesNotExist" }, none)).toBe(true);
  });

  it("covers an object only when it limits something the object uses; scoped quotas cover only pods", () => {
    const scoped = { metadata: {}, spec: { hard: { "count/services": "1", pods: "1" }, scopes: ["BestEffort"] } };
    expect(quotaMatches(scoped, { group: "", resource: "services" }, { metadata: {} })).toBe(false);
    expect(quotaMatches(scoped, { group: "", resource: "pods" }, pod({ containers: [c("a")] }))).toBe(true);
    expect(quotaMatches({ metadata: {}, spec: { hard: { pods: "1" } } }, { group: "", resource: "secrets" }, { metadata: {} })).toBe(false);
  });
});
