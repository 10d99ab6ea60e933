// Book 2.3-2.4 and 10.2: Deployments, ReplicaSets, StatefulSets and DaemonSets as users meet them —
// defaults, selector rules, immutable selectors, update limits, scale, and their `kubectl get` rows.
import { fieldErrorMessage, invalid } from "@corekube/api";
import { describe, expect, it } from "vitest";
import type { KubeObject, RequestContext, ResourceDef } from "../registry/types.js";
import { daemonSets, deployments, replicaSets, statefulSets } from "./apps.js";

const ctx: RequestContext = { user: { username: "u", groups: [] }, namespace: "default", now: new Date("2024-05-01T12:00:00Z"), dryRun: false, warnings: [] };

function workload(kind: string, spec: Record<string, unknown>): KubeObject {
  return {
    kind,
    metadata: { name: "web", namespace: "default", uid: "u1", creationTimestamp: "2024-05-01T11:57:00Z" },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "app", image: "nginx:1.27" }] } },
      ...spec,
    },
  };
}

function create(def: ResourceDef, o: KubeObject): string[] {
  def.strategy.defaults?.(o);
  def.strategy.prepareForCreate?.(o, ctx);
  return (def.strategy.validate?.(o, ctx) ?? []).map(fieldErrorMessage);
}

function update(def: ResourceDef, old: KubeObject, change: (spec: any) => void): string[] {
  const next = structuredClone(old);
  change(next.spec);
  def.strategy.defaults?.(next);
  def.strategy.prepareForUpdate?.(next, old, ctx);
  return [...(def.strategy.validate?.(next, ctx) ?? []), ...(def.strategy.validateUpdate?.(next, old, ctx) ?? [])].map(fieldErrorMessage);
}

describe("Deployment", () => {
  it("is defaulted as `kubectl get deploy -o yaml` shows", () => {
    const d = workload("Deployment", {});
    expect(create(deployments, d)).toEqual([]);
    expect(d.spec).toMatchObject({
      replicas: 1,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      template: { spec: { restartPolicy: "Always", dnsPolicy: "ClusterFirst", terminationGracePeriodSeconds: 30, schedulerName: "default-scheduler" } },
    });
    // Pod-only defaults stay off templates.
    expect((d.spec as any).template.spec.enableServiceLinks).toBeUndefined();
    expect((d.spec as any).template.spec.containers[0].imagePullPolicy).toBe("IfNotPresent");
  });

  it("refuses a selector that does not match the template", () => {
    const d = workload("Deployment", { selector: { matchLabels: { app: "api" } } });
    const errs = create(deployments, d);
    expect(errs).toEqual(['spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`']);
    expect(invalid({ group: "apps", kind: "Deployment" }, "web", deployments.strategy.validate!(d, ctx)).status.message).toBe(
      'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`',
    );
  });

  it("requires a non-empty selector", () => {
    expect(create(deployments, workload("Deployment", { selector: undefined }))).toContain("spec.selector: Required value");
    expect(create(deployments, workload("Deployment", { selector: {} }))).toContain("spec.selector: Invalid value: {}: empty selector is invalid for deployment");
  });

  it("checks replicas, strategy and the template", () => {
    const errs = create(
      deployments,
      workload("Deployment", {
        replicas: -1,
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "0%" } },
        template: { metadata: { labels: { app: "web" } }, spec: { restartPolicy: "Never", containers: [{ name: "app" }] } },
      }),
    );
    expect(errs).toContain("spec.replicas: Invalid value: -1: must be greater than or equal to 0");
    expect(errs).toContain("spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0");
    expect(errs).toContain('spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"');
    expect(errs).toContain("spec.template.spec.containers[0].image: Required value");
  });

  it("keeps its selector once created", () => {
    const d = workload("Deployment", {});
    create(deployments, d);
    const errs = update(deployments, d, (spec) => {
      spec.selector = { matchLabels: { app: "web", tier: "fe" } };
      spec.template.metadata.labels.tier = "fe";
    });
    expect(errs).toEqual(['spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"fe"}}: field is immutable']);
    expect(update(deployments, d, (spec) => (spec.replicas = 5))).toEqual([]);
  });

  it("offers scale with a selector string", () => {
    const d = workload("Deployment", { selector: { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In", values: ["fe", "be"] }] } });
    expect(deployments.subresources?.scale?.selectorFrom?.(d)).toBe("app=web,tier in (be,fe)");
    expect(deployments.subresources?.scale?.specReplicasPath).toBe(".spec.replicas");
  });

  it("shows READY as ready/desired", () => {
    const d = workload("Deployment", { replicas: 3 });
    d.status = { replicas: 3, readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 };
    expect(deployments.table!.cells(d, ctx.now)).toEqual(["web", "2/3", 3, 2, "3m", "app", "nginx:1.27", "app=web"]);
    expect(deployments.table!.columns.map((c) => c.name)).toEqual(["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]);
  });
});

describe("ReplicaSet", () => {
  it("defaults replicas and is selectable by status.replicas", () => {
    const rs = workload("ReplicaSet", {});
    expect(create(replicaSets, rs)).toEqual([]);
    expect((rs.spec as any).replicas).toBe(1);
    rs.status = { replicas: 1 };
    expect(replicaSets.fields!(rs)).toEqual({ "status.replicas": "1" });
    expect(replicaSets.table!.cells(rs, ctx.now)).toEqual(["web", 1, 1, 0, "3m", "app", "nginx:1.27", "app=web"]);
  });

  it("refuses status counts above replicas", () => {
    const rs = workload("ReplicaSet", {});
    rs.status = { replicas: 1, readyReplicas: 2, availableReplicas: 2 };
    expect(replicaSets.strategy.validateStatusUpdate!(rs, rs, ctx).map(fieldErrorMessage)).toContain("status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas");
  });
});

describe("StatefulSet", () => {
  const sts = () =>
    workload("StatefulSet", {
      serviceName: "web",
      volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }],
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "app", image: "nginx:1", volumeMounts: [{ name: "data", mountPath: "/data" }] }] },
      },
    });

  it("is defaulted and may mount its claim templates", () => {
    const o = sts();
    expect(create(statefulSets, o)).toEqual([]);
    expect(o.spec).toMatchObject({
      replicas: 1,
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    });
    expect((o.spec as any).volumeClaimTemplates[0]).toMatchObject({ spec: { volumeMode: "Filesystem" }, status: { phase: "Pending" } });
  });

  it("allows only some spec fields to change", () => {
    const o = sts();
    create(statefulSets, o);
    expect(update(statefulSets, o, (spec) => (spec.replicas = 3))).toEqual([]);
    expect(update(statefulSets, o, (spec) => (spec.serviceName = "other"))).toEqual([
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ]);
  });

  it("uses DNS labels for names and shows READY", () => {
    expect(statefulSets.nameValidation).toBe("label");
    const o = sts();
    create(statefulSets, o);
    o.status = { readyReplicas: 1 };
    expect(statefulSets.table!.cells(o, ctx.now).slice(0, 3)).toEqual(["web", "1/1", "3m"]);
  });
});

describe("DaemonSet", () => {
  it("is defaulted with one unavailable pod at a time", () => {
    const ds = workload("DaemonSet", {});
    expect(create(daemonSets, ds)).toEqual([]);
    expect((ds.spec as any).updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    expect(daemonSets.subresources?.scale).toBeUndefined();
  });

  it("refuses both surge and unavailability", () => {
    const ds = workload("DaemonSet", { updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } } });
    expect(create(daemonSets, ds)).toEqual(["spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero"]);
  });

  it("shows node counts and the node selector", () => {
    const ds = workload("DaemonSet", {});
    (ds.spec as any).template.spec.nodeSelector = { "kubernetes.io/os": "linux" };
    ds.status = { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 1, updatedNumberScheduled: 2, numberAvailable: 1 };
    expect(daemonSets.table!.cells(ds, ctx.now).slice(0, 8)).toEqual(["web", 2, 2, 1, 2, 1, "kubernetes.io/os=linux", "3m"]);
  });
});
