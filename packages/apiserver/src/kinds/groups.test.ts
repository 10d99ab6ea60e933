// Book 2.4, 4.5, 6.3, 8.1, 9.3 and 14.2: the smaller built-in kinds — events, RBAC, autoscalers,
// disruption budgets, priority and storage classes, network policies, slices, leases, quotas.
import { fieldErrorMessage, type FieldError } from "@corekube/api";
import { describe, expect, it } from "vitest";
import type { KubeObject, RequestContext } from "../registry/types.js";
import { horizontalPodAutoscalers } from "./autoscaling.js";
import { limitRanges, resourceQuotas } from "./core-policy.js";
import { leases } from "./coordination.js";
import { endpointSlices } from "./discovery.js";
import { coreEvents, coreEventToEventsV1, eventsV1, eventsV1ToCoreEvent } from "./events.js";
import { networkPolicies } from "./networking.js";
import { podDisruptionBudgets } from "./policy.js";
import { clusterRoleBindings, clusterRoles, roleBindings, roles } from "./rbac.js";
import { priorityClasses } from "./scheduling.js";
import { storageClasses } from "./storage.js";

const ctx: RequestContext = { user: { username: "u", groups: [] }, namespace: "default", now: new Date("2024-05-01T12:00:00Z"), dryRun: false, warnings: [] };
const msgs = (errs: FieldError[]) => errs.map(fieldErrorMessage);
const meta = (name: string, namespace?: string) => ({ name, ...(namespace ? { namespace } : {}), creationTimestamp: "2024-05-01T11:58:00Z" });

describe("Events", () => {
  const coreEvent: KubeObject = {
    metadata: meta("web.17a", "default"),
    involvedObject: { kind: "Pod", name: "web", namespace: "default", fieldPath: "spec.containers{app}" },
    reason: "Pulled",
    message: "Successfully pulled image \"nginx\" ",
    source: { component: "kubelet", host: "node-1" },
    firstTimestamp: "2024-05-01T11:50:00Z",
    lastTimestamp: "2024-05-01T11:59:00Z",
    count: 3,
    type: "Normal",
  };

  it("shows kubectl's event row, with the name last and wide", () => {
    expect(coreEvents.table!.cells(coreEvent, ctx.now)).toEqual(["60s", "Normal", "Pulled", "pod/web", "spec.containers{app}", "kubelet, node-1", 'Successfully pulled image "nginx"', "10m", 3, "web.17a"]);
    expect(coreEvents.table!.columns.at(-1)).toMatchObject({ name: "Name", priority: 1, format: "name" });
  });

  it("requires the involved object's namespace to match", () => {
    const e = { ...coreEvent, involvedObject: { kind: "Pod", name: "web", namespace: "other" } };
    expect(msgs(coreEvents.strategy.validate!(e, ctx))).toEqual(['involvedObject.namespace: Invalid value: "other": does not match event.namespace']);
  });

  it("must name the object it is about", () => {
    const { involvedObject: _gone, ...rest } = coreEvent;
    expect(msgs(coreEvents.strategy.validate!(rest as KubeObject, ctx))).toEqual(["involvedObject: Required value"]);
  });

  it("is selectable by what kubectl describe asks for", () => {
    expect(coreEvents.fields!(coreEvent)).toMatchObject({ "involvedObject.kind": "Pod", "involvedObject.name": "web", source: "kubelet", type: "Normal", reason: "Pulled" });
  });

  it("converts between the two API shapes", () => {
    const v1 = coreEventToEventsV1(coreEvent);
    expect(v1).toMatchObject({ apiVersion: "events.k8s.io/v1", regarding: coreEvent.involvedObject, note: coreEvent.message, deprecatedCount: 3 });
    expect(eventsV1ToCoreEvent(v1)).toEqual({ ...coreEvent, apiVersion: "v1", kind: "Event" });
  });

  it("needs the new fields in events.k8s.io/v1", () => {
    const e: KubeObject = { metadata: meta("x", "default"), regarding: { kind: "Node", name: "n1" }, type: "Info" };
    expect(msgs(eventsV1.strategy.validate!(e, ctx))).toEqual(["eventTime: Required value", 'type: Invalid value: "": has invalid value: Info']);
    const good: KubeObject = {
      metadata: meta("x", "default"),
      eventTime: "2024-05-01T11:59:00.000000Z",
      regarding: { kind: "Node", name: "n1" },
      reportingController: "example.com/controller",
      reportingInstance: "c-1",
      action: "Scaled",
      reason: "Scaled",
      type: "Normal",
    };
    expect(eventsV1.strategy.validate!(good, ctx)).toEqual([]);
    expect(msgs(eventsV1.strategy.validateUpdate!({ ...good, reason: "Other" }, good, ctx))).toEqual(['reason: Invalid value: "Other": field is immutable']);
    expect(eventsV1.table!.cells(good, ctx.now).slice(0, 4)).toEqual(["60s", "Normal", "Scaled", "node/n1"]);
  });
});

describe("RBAC", () => {
  it("needs verbs, groups and resources in rules; no URLs in Roles", () => {
    const role: KubeObject = { metadata: meta("r", "default"), rules: [{ verbs: [] }, { verbs: ["get"], nonResourceURLs: ["/healthz"] }] };
    expect(msgs(roles.strategy.validate!(role, ctx))).toEqual([
      "rules[0].verbs: Required value: verbs must contain at least one value",
      "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
      "rules[0].resources: Required value: resource rules must supply at least one resource",
      'rules[1].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot apply to non-resource URLs',
    ]);
    const cr: KubeObject = { metadata: meta("system:healthz"), rules: [{ verbs: ["get"], nonResourceURLs: ["/healthz"] }] };
    expect(clusterRoles.strategy.validate!(cr, ctx)).toEqual([]);
    expect(clusterRoles.nameValidation).toBe("path-segment");
    expect(roles.table!.cells(cr, ctx.now)).toEqual(["system:healthz", "2024-05-01T11:58:00Z"]);
  });

  it("defaults api groups, checks subjects and keeps roleRef", () => {
    const b: KubeObject = {
      metadata: meta("view-all"),
      roleRef: { kind: "ClusterRole", name: "view" },
      subjects: [{ kind: "User", name: "alice" }, { kind: "ServiceAccount", name: "ci" }, { kind: "Group", name: "devs" }, { kind: "Robot", name: "r2" }],
    };
    clusterRoleBindings.strategy.defaults!(b);
    expect((b.roleRef as any).apiGroup).toBe("rbac.authorization.k8s.io");
    expect((b.subjects as any)[0].apiGroup).toBe("rbac.authorization.k8s.io");
    expect(msgs(clusterRoleBindings.strategy.validate!(b, ctx))).toEqual([
      "subjects[1].namespace: Required value",
      'subjects[3].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
    ]);
    const next = { ...b, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" } };
    expect(msgs(clusterRoleBindings.strategy.validateUpdate!(next, b, ctx))[0]).toMatch(/^roleRef: Invalid value: .*: cannot change roleRef$/);
  });

  it("shows the role and subjects of a binding", () => {
    const b: KubeObject = {
      metadata: meta("rb", "default"),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" },
      subjects: [{ kind: "User", name: "alice" }, { kind: "ServiceAccount", name: "ci", namespace: "default" }],
    };
    expect(msgs(roleBindings.strategy.validate!(b, ctx))).toEqual(['subjects[0].apiGroup: Unsupported value: "": supported values: "rbac.authorization.k8s.io"']);
    roleBindings.strategy.defaults!(b);
    expect(roleBindings.strategy.validate!(b, ctx)).toEqual([]);
    expect(roleBindings.table!.cells(b, ctx.now)).toEqual(["rb", "Role/pod-reader", "2m", "alice", "", "default/ci"]);
  });
});

describe("HorizontalPodAutoscaler", () => {
  const hpa = (spec: Record<string, unknown>): KubeObject => ({ metadata: meta("web", "default"), spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, maxReplicas: 5, ...spec } });

  it("defaults to 80% CPU and completes a given behavior", () => {
    const o = hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } });
    horizontalPodAutoscalers.strategy.defaults!(o);
    expect(o.spec).toMatchObject({
      minReplicas: 1,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }],
      behavior: {
        scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: "Max", policies: [{ type: "Pods", value: 4, periodSeconds: 15 }, { type: "Percent", value: 100, periodSeconds: 15 }] },
        scaleDown: { stabilizationWindowSeconds: 60, selectPolicy: "Max", policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
      },
    });
    expect(horizontalPodAutoscalers.strategy.validate!(o, ctx)).toEqual([]);
  });

  it("checks replica bounds", () => {
    const o = hpa({ minReplicas: 4, maxReplicas: 2 });
    horizontalPodAutoscalers.strategy.defaults!(o);
    expect(msgs(horizontalPodAutoscalers.strategy.validate!(o, ctx))).toEqual(["spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"]);
  });

  it("shows targets as current/target", () => {
    const o = hpa({});
    horizontalPodAutoscalers.strategy.defaults!(o);
    expect(horizontalPodAutoscalers.table!.cells(o, ctx.now)).toEqual(["web", "Deployment/web", "cpu: <unknown>/80%", "1", 5, 0, "2m"]);
    o.status = { currentReplicas: 2, currentMetrics: [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 45 } } }] };
    expect(horizontalPodAutoscalers.table!.cells(o, ctx.now)[2]).toBe("cpu: 45%/80%");
  });
});

describe("PodDisruptionBudget, PriorityClass, StorageClass", () => {
  it("refuses both minAvailable and maxUnavailable", () => {
    const pdb: KubeObject = { metadata: meta("web", "default"), spec: { minAvailable: 1, maxUnavailable: "10%", selector: { matchLabels: { app: "web" } } } };
    expect(msgs(podDisruptionBudgets.strategy.validate!(pdb, ctx))).toEqual(["spec.minAvailable: Invalid value: 1: minAvailable and maxUnavailable cannot be both set"]);
    pdb.status = { disruptionsAllowed: 1 };
    expect(podDisruptionBudgets.table!.cells(pdb, ctx.now)).toEqual(["web", "1", "10%", 1, "2m"]);
  });

  it("reserves system- names and high values, and keeps the value", () => {
    const pc: KubeObject = { metadata: meta("high"), value: 2_000_000_000 };
    priorityClasses.strategy.defaults!(pc);
    expect(pc.preemptionPolicy).toBe("PreemptLowerPriority");
    expect(msgs(priorityClasses.strategy.validate!(pc, ctx))).toEqual(["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]);
    expect(msgs(priorityClasses.strategy.validate!({ metadata: meta("system-mine"), value: 1 }, ctx))[0]).toMatch(/^metadata\.name: Forbidden: priority class names with 'system-' prefix are reserved/);
    expect(priorityClasses.strategy.validate!({ metadata: meta("system-node-critical"), value: 2_000_001_000 }, ctx)).toEqual([]);
    expect(msgs(priorityClasses.strategy.validateUpdate!({ ...pc, value: 5 }, pc, ctx))).toEqual(["value: Forbidden: may not be changed in an update."]);
  });

  it("defaults storage classes, freezes their parameters, and marks the default", () => {
    const sc: KubeObject = { metadata: { ...meta("local"), annotations: { "storageclass.kubernetes.io/is-default-class": "true" } }, provisioner: "rancher.io/local-path" };
    storageClasses.strategy.defaults!(sc);
    expect(sc).toMatchObject({ reclaimPolicy: "Delete", volumeBindingMode: "Immediate" });
    expect(storageClasses.strategy.validate!(sc, ctx)).toEqual([]);
    expect(msgs(storageClasses.strategy.validateUpdate!({ ...sc, parameters: { a: "b" } }, sc, ctx))).toEqual(["parameters: Forbidden: updates to parameters are forbidden."]);
    expect(storageClasses.table!.cells(sc, ctx.now)).toEqual(["local (default)", "rancher.io/local-path", "Delete", "Immediate", false, "2m"]);
    expect(msgs(storageClasses.strategy.validate!({ metadata: meta("x") }, ctx))).toEqual(["provisioner: Required value"]);
  });
});

describe("NetworkPolicy, EndpointSlice, Lease", () => {
  it("defaults policy types from the rules given", () => {
    const np: KubeObject = { metadata: meta("deny", "default"), spec: { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] } };
    networkPolicies.strategy.defaults!(np);
    expect(np.spec).toMatchObject({ policyTypes: ["Ingress", "Egress"], egress: [{ ports: [{ port: 53, protocol: "TCP" }] }] });
    expect(networkPolicies.table!.cells(np, ctx.now)).toEqual(["deny", "<none>", "2m"]);
    const bad: KubeObject = { metadata: meta("x", "default"), spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/33" }, podSelector: {} }] }] } };
    expect(msgs(networkPolicies.strategy.validate!(bad, ctx))).toEqual([
      "spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer",
      'spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
    ]);
  });

  it("checks slice addresses against the address type", () => {
    const slice: KubeObject = { metadata: meta("web-abc", "default"), addressType: "IPv4", endpoints: [{ addresses: ["10.1.0.5"] }, { addresses: ["fe80::1"] }], ports: [{ port: 80 }] };
    endpointSlices.strategy.defaults!(slice);
    expect(msgs(endpointSlices.strategy.validate!(slice, ctx))).toEqual(['endpoints[1].addresses[0]: Invalid value: "fe80::1": must be a valid IPv4 address']);
    expect(endpointSlices.table!.cells(slice, ctx.now)).toEqual(["web-abc", "IPv4", "80", "10.1.0.5,fe80::1", "2m"]);
  });

  it("shows a lease's holder and refuses a zero duration", () => {
    const lease: KubeObject = { metadata: meta("node-1", "kube-node-lease"), spec: { holderIdentity: "node-1", leaseDurationSeconds: 0 } };
    expect(msgs(leases.strategy.validate!(lease, ctx))).toEqual(["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]);
    expect(leases.table!.cells(lease, ctx.now)).toEqual(["node-1", "node-1", "2m"]);
  });
});

describe("ResourceQuota and LimitRange", () => {
  it("checks quota names and shows used/hard", () => {
    const q: KubeObject = { metadata: meta("q", "default"), spec: { hard: { pods: "10", "limits.cpu": "4", widgets: "1" } } };
    expect(msgs(resourceQuotas.strategy.validate!(q, ctx))).toEqual(['spec.hard[widgets]: Invalid value: "widgets": must be a standard resource for quota']);
    q.status = { hard: { pods: "10", "requests.cpu": "2", "limits.cpu": "4" }, used: { pods: "3", "requests.cpu": "500m" } };
    expect(resourceQuotas.table!.cells(q, ctx.now)).toEqual(["q", "2m", "pods: 3/10, requests.cpu: 500m/2", "limits.cpu: 0/4"]);
  });

  it("defaults container limits from max and checks their order", () => {
    const lr: KubeObject = { metadata: meta("lr", "default"), spec: { limits: [{ type: "Container", max: { cpu: "2" }, min: { memory: "64Mi" } }] } };
    limitRanges.strategy.defaults!(lr);
    expect((lr.spec as any).limits[0]).toMatchObject({ default: { cpu: "2" }, defaultRequest: { cpu: "2", memory: "64Mi" } });
    expect(limitRanges.strategy.validate!(lr, ctx)).toEqual([]);
    const bad: KubeObject = { metadata: meta("lr", "default"), spec: { limits: [{ type: "Container", max: { cpu: "1" }, min: { cpu: "2" } }] } };
    limitRanges.strategy.defaults!(bad);
    expect(msgs(limitRanges.strategy.validate!(bad, ctx))).toContain('spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1');
  });
});
