// Book 4.3-4.5 and 11.2: the LimitRanger admission plugin with a fake LimitRange lookup — container
// defaults land on new pods (and in the annotation), and min, max and ratio refuse pods and claims.
import type { StatusError } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { pods } from "../kinds/core-pods.js";
import { persistentVolumeClaims } from "../kinds/core-storage.js";
import { AdmissionChain, type AdmissionRequest, type Operation } from "../registry/admission.js";
import type { KubeObject, RequestContext, ResourceDef } from "../registry/types.js";
import { LIMIT_RANGER_ANNOTATION, type LimitRange, type LimitRangeItem, type LimitRangeLookup, limitRanger } from "./limit-ranger.js";

const ctx: RequestContext = { user: { username: "u", groups: [] }, namespace: "default", now: new Date("2024-05-01T12:00:00Z"), dryRun: false, warnings: [] };

function lr(name: string, ...limits: LimitRangeItem[]): LimitRange {
  return { apiVersion: "v1", kind: "LimitRange", metadata: { name, namespace: "default" }, spec: { limits } };
}

function lookup(ranges: LimitRange[]): LimitRangeLookup & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async list(namespace) {
      calls.push(namespace);
      return ranges.filter((r) => r.metadata.namespace === namespace);
    },
  };
}

type Resources = { requests?: Record<string, string>; limits?: Record<string, string> };

function container(name: string, resources?: Resources): Record<string, unknown> {
  return { name, image: "nginx", ...(resources ? { resources } : {}) };
}

function pod(name: string, containers: Record<string, unknown>[], extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default" }, spec: { containers, ...extra } };
}

function req(def: ResourceDef, operation: Operation, obj: KubeObject, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return { operation, def, subresource: "", namespace: "default", name: obj.metadata.name ?? "", obj, ctx, ...extra };
}

async function admit(l: LimitRangeLookup, r: AdmissionRequest): Promise<StatusError | undefined> {
  try {
    await new AdmissionChain([limitRanger(l)]).admit(r);
    return undefined;
  } catch (e) {
    return e as StatusError;
  }
}

const resourcesOf = (p: KubeObject, i = 0, list = "containers") => ((p.spec as Record<string, Record<string, unknown>[]>)[list]![i]!.resources ?? {}) as Resources;

const defaults = () =>
  lr("defaults", {
    type: "Container",
    default: { cpu: "500m", memory: "256Mi" },
    defaultRequest: { cpu: "100m", memory: "128Mi" },
  });

describe("LimitRanger: defaults for new pods", () => {
  it("gives a container without resources the default requests and limits, and says so in an annotation", async () => {
    const p = pod("web-1", [container("web")]);
    expect(await admit(lookup([defaults()]), req(pods, "CREATE", p))).toBeUndefined();
    expect(resourcesOf(p)).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } });
    expect(p.metadata.annotations?.[LIMIT_RANGER_ANNOTATION]).toBe("LimitRanger plugin set: cpu, memory request for container web; cpu, memory limit for container web");
  });

  it("takes a container's own limit as its request, not the default request", async () => {
    const p = pod("web-2", [container("web", { limits: { cpu: "300m" } })]);
    expect(await admit(lookup([defaults()]), req(pods, "CREATE", p))).toBeUndefined();
    expect(resourcesOf(p)).toEqual({ requests: { cpu: "300m", memory: "128Mi" }, limits: { cpu: "300m", memory: "256Mi" } });
    expect(p.metadata.annotations?.[LIMIT_RANGER_ANNOTATION]).toBe("LimitRanger plugin set: memory request for container web; memory limit for container web");
  });

  it("keeps what a container sets and names init containers as such", async () => {
    const p = pod("web-3", [container("web", { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "200m", memory: "64Mi" } })], {
      initContainers: [container("setup")],
    });
    expect(await admit(lookup([defaults()]), req(pods, "CREATE", p))).toBeUndefined();
    expect(resourcesOf(p)).toEqual({ requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "200m", memory: "64Mi" } });
    expect(resourcesOf(p, 0, "initContainers").limits).toEqual({ cpu: "500m", memory: "256Mi" });
    expect(p.metadata.annotations?.[LIMIT_RANGER_ANNOTATION]).toBe("LimitRanger plugin set: cpu, memory request for init container setup; cpu, memory limit for init container setup");
  });

  it("leaves pods alone where the namespace has no LimitRange, and pod updates alone always", async () => {
    const p = pod("plain", [container("web")]);
    expect(await admit(lookup([]), req(pods, "CREATE", p))).toBeUndefined();
    expect(resourcesOf(p)).toEqual({});
    expect(p.metadata.annotations).toBeUndefined();

    const l = lookup([defaults()]);
    const u = pod("plain", [container("web")]);
    expect(await admit(l, req(pods, "UPDATE", u, { old: pod("plain", [container("web")]) }))).toBeUndefined();
    expect(resourcesOf(u)).toEqual({});
    expect(l.calls).toEqual([]);
  });

  it("recomputes the QoS class the pod was given before defaults were applied", async () => {
    const p = pod("qos", [container("web")]);
    p.status = { phase: "Pending", qosClass: "BestEffort" };
    expect(await admit(lookup([defaults()]), req(pods, "CREATE", p))).toBeUndefined();
    expect((p.status as Record<string, unknown>).qosClass).toBe("Burstable");
  });

  it("does not crash on malformed resources, leaving them for validation", async () => {
    const p = pod("bad", [{ name: "web", resources: "lots" }]);
    expect(await admit(lookup([defaults()]), req(pods, "CREATE", p))).toBeUndefined();
    expect((p.spec as { containers: { resources: unknown }[] }).containers[0]!.resources).toBe("lots");
    const odd = lr("odd", { type: "Container", max: { cpu: "lots" }, default: { cpu: "1" } });
    expect(await admit(lookup([odd]), req(pods, "CREATE", pod("ok", [container("web")])))).toBeUndefined();
  });
});

describe("LimitRanger: min, max and ratio", () => {
  it("refuses a container over the max with 403 and upstream's message", async () => {
    const range = lr("max", { type: "Container", max: { cpu: "1" } });
    const e = await admit(lookup([range]), req(pods, "CREATE", pod("x", [container("web", { requests: { cpu: "1" }, limits: { cpu: "2" } })])));
    expect(e?.code).toBe(403);
    expect(e?.reason).toBe("Forbidden");
    expect(e?.message).toBe('pods "x" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
    const none = await admit(lookup([range]), req(pods, "CREATE", pod("y", [container("web", { requests: { cpu: "1" } })])));
    expect(none?.message).toBe('pods "y" is forbidden: maximum cpu usage per Container is 1.  No limit is specified');
    expect(await admit(lookup([range]), req(pods, "CREATE", pod("z", [container("web", { limits: { cpu: "1" } })])))).toBeUndefined();
  });

  it("refuses a request under the min", async () => {
    const range = lr("min", { type: "Container", min: { memory: "64Mi" } });
    const e = await admit(lookup([range]), req(pods, "CREATE", pod("x", [container("web", { requests: { memory: "32Mi" } })])));
    expect(e?.message).toBe('pods "x" is forbidden: minimum memory usage per Container is 64Mi, but request is 32Mi');
    const none = await admit(lookup([range]), req(pods, "CREATE", pod("y", [container("web")])));
    expect(none?.message).toBe('pods "y" is forbidden: minimum memory usage per Container is 64Mi.  No request is specified');
  });

  it("refuses a limit more than maxLimitRequestRatio times the request", async () => {
    const range = lr("ratio", { type: "Container", maxLimitRequestRatio: { cpu: "2" } });
    const e = await admit(lookup([range]), req(pods, "CREATE", pod("x", [container("web", { requests: { cpu: "100m" }, limits: { cpu: "500m" } })])));
    expect(e?.message).toBe('pods "x" is forbidden: cpu max limit to request ratio per Container is 2, but provided ratio is 5.000000');
    expect(await admit(lookup([range]), req(pods, "CREATE", pod("ok", [container("web", { requests: { cpu: "250m" }, limits: { cpu: "500m" } })])))).toBeUndefined();
  });

  it("holds the pod's summed containers to a Pod item", async () => {
    const range = lr("pod", { type: "Pod", max: { cpu: "1" } });
    const two = [container("a", { limits: { cpu: "600m" } }), container("b", { limits: { cpu: "600m" } })];
    const e = await admit(lookup([range]), req(pods, "CREATE", pod("x", two)));
    expect(e?.message).toBe('pods "x" is forbidden: maximum cpu usage per Pod is 1, but limit is 1200m');
  });

  it("lists every problem at once, as upstream's aggregate does", async () => {
    const range = lr("both", { type: "Container", max: { cpu: "1", memory: "1Gi" } });
    const e = await admit(lookup([range]), req(pods, "CREATE", pod("x", [container("web", { limits: { cpu: "2", memory: "2Gi" } })])));
    expect(e?.message).toBe('pods "x" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, maximum memory usage per Container is 1Gi, but limit is 2Gi]');
  });

  it("checks defaults too: a default limit above the max is refused", async () => {
    const range = lr("bad-default", { type: "Container", default: { cpu: "2" }, max: { cpu: "1" } });
    const e = await admit(lookup([range]), req(pods, "CREATE", pod("x", [container("web")])));
    expect(e?.message).toBe('pods "x" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
  });

  it("holds claims' storage requests to PersistentVolumeClaim items", async () => {
    const range = lr("storage", { type: "PersistentVolumeClaim", min: { storage: "1Gi" }, max: { storage: "10Gi" } });
    const claim = (name: string, storage: string): KubeObject => ({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name, namespace: "default" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } } },
    });
    const small = await admit(lookup([range]), req(persistentVolumeClaims, "CREATE", claim("small", "500Mi")));
    expect(small?.code).toBe(403);
    expect(small?.message).toBe('persistentvolumeclaims "small" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi');
    const big = await admit(lookup([range]), req(persistentVolumeClaims, "CREATE", claim("big", "20Gi")));
    expect(big?.message).toBe('persistentvolumeclaims "big" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi');
    expect(await admit(lookup([range]), req(persistentVolumeClaims, "CREATE", claim("fine", "5Gi")))).toBeUndefined();
  });
});
