// Book 2.2, 7.3, 8.1 and 9.3: namespaces, nodes and persistent storage as users meet them.
import { fieldErrorMessage, type FieldError } from "@corekube/api";
import { describe, expect, it } from "vitest";
import type { KubeObject, RequestContext } from "../registry/types.js";
import { namespaces, nodes, nodeStatusText } from "./core-cluster.js";
import { persistentVolumeClaims, persistentVolumes } from "./core-storage.js";

const ctx: RequestContext = { user: { username: "u", groups: [] }, namespace: "", now: new Date("2024-05-01T12:00:00Z"), dryRun: false, warnings: [] };
const msgs = (errs: FieldError[]) => errs.map(fieldErrorMessage);

describe("Namespace", () => {
  it("starts Active with the kubernetes finalizer and its name label", () => {
    const ns: KubeObject = { metadata: { name: "team-a", creationTimestamp: "2024-04-30T12:00:00Z" } };
    namespaces.strategy.defaults!(ns);
    namespaces.strategy.prepareForCreate!(ns, ctx);
    expect(ns).toMatchObject({ metadata: { labels: { "kubernetes.io/metadata.name": "team-a" } }, spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } });
    expect(namespaces.table!.cells(ns, ctx.now)).toEqual(["team-a", "Active", "24h"]);
    expect(namespaces.fields!(ns)).toEqual({ "status.phase": "Active", name: "team-a" });
    expect(namespaces.nameValidation).toBe("label");
  });

  it("keeps spec.finalizers on ordinary updates", () => {
    const old: KubeObject = { metadata: { name: "a" }, spec: { finalizers: ["kubernetes"] } };
    const next: KubeObject = { metadata: { name: "a" }, spec: { finalizers: [] } };
    namespaces.strategy.prepareForUpdate!(next, old, ctx);
    expect(next.spec).toEqual({ finalizers: ["kubernetes"] });
  });

  it("ties the phase to deletion", () => {
    const ns: KubeObject = { metadata: { name: "a" }, status: { phase: "Terminating" } };
    expect(msgs(namespaces.strategy.validateStatusUpdate!(ns, ns, ctx))).toEqual([
      "status.phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty",
    ]);
  });
});

describe("Node", () => {
  const node = (over: Partial<KubeObject> = {}): KubeObject => ({
    metadata: { name: "node-1", creationTimestamp: "2024-04-01T12:00:00Z", labels: { "node-role.kubernetes.io/control-plane": "" } },
    spec: { podCIDR: "10.244.0.0/24" },
    status: {
      capacity: { cpu: "4", memory: "8Gi" },
      conditions: [{ type: "Ready", status: "True" }],
      addresses: [{ type: "InternalIP", address: "192.168.1.10" }, { type: "Hostname", address: "node-1" }],
      nodeInfo: { kubeletVersion: "v1.31.0", osImage: "Debian GNU/Linux 12", kernelVersion: "6.1.0", containerRuntimeVersion: "corekube://0.1" },
    },
    ...over,
  });

  it("keeps status on create and defaults allocatable and podCIDRs", () => {
    const n = node();
    nodes.strategy.defaults!(n);
    expect(nodes.strategy.keepStatusOnCreate).toBe(true);
    expect((n.status as any).allocatable).toEqual({ cpu: "4", memory: "8Gi" });
    expect((n.spec as any).podCIDRs).toEqual(["10.244.0.0/24"]);
    expect(nodes.strategy.validate!(n, ctx)).toEqual([]);
  });

  it("shows STATUS, ROLES and wide columns", () => {
    const n = node();
    expect(nodes.table!.cells(n, ctx.now)).toEqual([
      "node-1",
      "Ready",
      "control-plane",
      "30d",
      "v1.31.0",
      "192.168.1.10",
      "<none>",
      "Debian GNU/Linux 12",
      "6.1.0",
      "corekube://0.1",
    ]);
    expect(nodeStatusText(node({ spec: { unschedulable: true }, status: { conditions: [{ type: "Ready", status: "Unknown" }] } }))).toBe("NotReady,SchedulingDisabled");
    expect(nodeStatusText(node({ status: {} }))).toBe("Unknown");
    expect(nodes.fields!(node({ spec: { unschedulable: true } }))).toEqual({ "spec.unschedulable": "true" });
  });

  it("checks taints and refuses a changed pod CIDR", () => {
    const n = node({ spec: { taints: [{ key: "dedicated", value: "gpu", effect: "NoRun" }] } });
    expect(msgs(nodes.strategy.validate!(n, ctx))).toEqual(['spec.taints[0].effect: Unsupported value: "NoRun": supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"']);
    const old = node({ spec: { podCIDRs: ["10.244.0.0/24"] } });
    const next = node({ spec: { podCIDRs: ["10.244.1.0/24"] } });
    expect(msgs(nodes.strategy.validateUpdate!(next, old, ctx))).toEqual(['spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid']);
    expect(msgs(nodes.strategy.validateUpdate!(old, node({ spec: {} }), ctx))).toEqual([]);
  });
});

describe("PersistentVolume", () => {
  const pv = (spec: Record<string, unknown>): KubeObject => ({ metadata: { name: "pv1", creationTimestamp: "2024-05-01T11:00:00Z" }, spec });

  it("is defaulted, starts Pending and needs exactly one source", () => {
    const o = pv({ capacity: { storage: "5Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/data" } });
    persistentVolumes.strategy.defaults!(o);
    persistentVolumes.strategy.prepareForCreate!(o, ctx);
    expect(o.spec).toMatchObject({ persistentVolumeReclaimPolicy: "Retain", volumeMode: "Filesystem" });
    expect(o.status).toEqual({ phase: "Pending", lastPhaseTransitionTime: "2024-05-01T12:00:00Z" });
    expect(persistentVolumes.strategy.validate!(o, ctx)).toEqual([]);
    const none = pv({ capacity: { storage: "5Gi" }, accessModes: ["ReadWriteOnce"] });
    persistentVolumes.strategy.defaults!(none);
    expect(msgs(persistentVolumes.strategy.validate!(none, ctx))).toEqual(["spec: Required value: must specify a volume type"]);
  });

  it("shows capacity, modes and the claim", () => {
    const o = pv({ capacity: { storage: "5Gi" }, accessModes: ["ReadWriteMany", "ReadWriteOnce"], persistentVolumeReclaimPolicy: "Delete", claimRef: { namespace: "db", name: "data" }, storageClassName: "local", volumeMode: "Filesystem", hostPath: { path: "/x" } });
    o.status = { phase: "Bound" };
    expect(persistentVolumes.table!.cells(o, ctx.now)).toEqual(["pv1", "5Gi", "RWO,RWX", "Delete", "Bound", "db/data", "local", "<unset>", "", "60m", "Filesystem"]);
  });
});

describe("PersistentVolumeClaim", () => {
  const claim = (spec: Record<string, unknown> = {}): KubeObject => ({
    metadata: { name: "data", namespace: "db", creationTimestamp: "2024-05-01T11:00:00Z" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, ...spec },
  });

  it("needs access modes and a storage request", () => {
    const o = claim({ accessModes: [], resources: {} });
    expect(msgs(persistentVolumeClaims.strategy.validate!(o, ctx))).toEqual(["spec.accessModes: Required value: at least 1 access mode is required", "spec.resources[storage]: Required value"]);
  });

  it("may be bound once and grow, but not shrink or change otherwise", () => {
    const old = claim();
    persistentVolumeClaims.strategy.defaults!(old);
    const bound = structuredClone(old);
    (bound.spec as any).volumeName = "pv1";
    expect(persistentVolumeClaims.strategy.validateUpdate!(bound, old, ctx)).toEqual([]);
    const grown = structuredClone(bound);
    (grown.spec as any).resources.requests.storage = "2Gi";
    expect(persistentVolumeClaims.strategy.validateUpdate!(grown, bound, ctx)).toEqual([]);
    expect(msgs(persistentVolumeClaims.strategy.validateUpdate!(bound, grown, ctx))).toEqual([
      "spec.resources.requests.storage: Forbidden: field can not be less than previous value",
    ]);
    const changed = structuredClone(bound);
    (changed.spec as any).accessModes = ["ReadWriteMany"];
    expect(msgs(persistentVolumeClaims.strategy.validateUpdate!(changed, bound, ctx))[0]).toBe(
      "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
    );
  });

  it("shows capacity only once bound", () => {
    const o = claim({ storageClassName: "local" });
    persistentVolumeClaims.strategy.defaults!(o);
    persistentVolumeClaims.strategy.prepareForCreate!(o, ctx);
    expect(persistentVolumeClaims.table!.cells(o, ctx.now)).toEqual(["data", "Pending", "", "", "", "local", "<unset>", "60m", "Filesystem"]);
    (o.spec as any).volumeName = "pv1";
    o.status = { phase: "Bound", accessModes: ["ReadWriteOnce"], capacity: { storage: "1Gi" } };
    expect(persistentVolumeClaims.table!.cells(o, ctx.now).slice(1, 5)).toEqual(["Bound", "pv1", "1Gi", "RWO"]);
  });
});
