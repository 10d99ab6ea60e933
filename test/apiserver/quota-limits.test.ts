// Book 4.3-4.5 and 11.2: LimitRanger and ResourceQuota admission in a real `corekube apiserver` —
// pods get a namespace's default requests and limits, and quotas refuse what does not fit while
// charging what does to status.used.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMIT_RANGES, NAMESPACES, PODS, RESOURCE_QUOTAS, RestClient, SERVICES } from "@corekube/client";
import type { KubeObject, Pod, ResourceQuota, StatusError } from "../../packages/api/src/index.js";
import { startControlPlane, type ControlPlane } from "../support/apiserver-process.js";
import { eventually } from "./semantics-support.js";

function pod(ns: string, name: string, resources?: Record<string, unknown>): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: ns }, spec: { containers: [{ name: "web", image: "nginx", ...(resources ? { resources } : {}) }] } } as Pod;
}

async function refusal(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (e) {
    return e as StatusError;
  }
  throw new Error("the request was accepted");
}

describe("LimitRanger and ResourceQuota against an API server", () => {
  let cp: ControlPlane;
  let client: RestClient;

  beforeAll(async () => {
    cp = await startControlPlane();
    client = await RestClient.fromKubeconfig({ path: cp.kubeconfig });
    for (const name of ["limits", "quota"]) await client.resource(NAMESPACES).create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await cp?.stop();
  });

  /** Both plugins read from the watch cache, as upstream's listers do: wait until it has the object. */
  const inCache = (rt: typeof LIMIT_RANGES, ns: string, name: string) =>
    eventually(async () => (await client.resource(rt).list({ namespace: ns, resourceVersion: "0" })).items.some((o) => o.metadata.name === name), 10_000, `${name} in the cache`);

  it("defaults a new pod's containers from the namespace's LimitRange and refuses one over its max", async () => {
    await client.resource(LIMIT_RANGES).create({
      apiVersion: "v1",
      kind: "LimitRange",
      metadata: { name: "cpu-mem", namespace: "limits" },
      spec: { limits: [{ type: "Container", max: { cpu: "1" }, default: { cpu: "500m", memory: "256Mi" }, defaultRequest: { cpu: "100m", memory: "128Mi" } }] },
    } as KubeObject);
    await inCache(LIMIT_RANGES, "limits", "cpu-mem");
    const pods = client.resource<Pod>(PODS);

    const p = await pods.create(pod("limits", "web-1"));
    expect(p.spec.containers[0]!.resources).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } });
    expect(p.metadata.annotations?.["kubernetes.io/limit-ranger"]).toBe("LimitRanger plugin set: cpu, memory request for container web; cpu, memory limit for container web");
    expect(p.status?.qosClass).toBe("Burstable");

    const e = await refusal(pods.create(pod("limits", "greedy", { limits: { cpu: "2" } })));
    expect(e.code).toBe(403);
    expect(e.message).toBe('pods "greedy" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
    await expect(pods.get("greedy", "limits")).rejects.toMatchObject({ code: 404 });
  });

  it("charges pods and services to a quota and refuses what goes over it", async () => {
    const quotas = client.resource<ResourceQuota>(RESOURCE_QUOTAS);
    await quotas.create({ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "small", namespace: "quota" }, spec: { hard: { pods: "1", "services.nodeports": "1" } } });
    await inCache(RESOURCE_QUOTAS, "quota", "small");
    const pods = client.resource<Pod>(PODS);

    await pods.create(pod("quota", "first"));
    expect((await quotas.get("small", "quota")).status?.used).toMatchObject({ pods: "1" });

    const e = await refusal(pods.create(pod("quota", "second")));
    expect(e.code).toBe(403);
    expect(e.reason).toBe("Forbidden");
    expect(e.message).toBe('pods "second" is forbidden: exceeded quota: small, requested: pods=1, used: pods=1, limited: pods=1');
    await expect(pods.get("second", "quota")).rejects.toMatchObject({ code: 404 });

    const svc = (name: string, ports: number) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "quota" },
      spec: { type: "NodePort", selector: { app: "x" }, ports: Array.from({ length: ports }, (_, i) => ({ name: `p${i}`, port: 80 + i })) },
    });
    const two = await refusal(client.resource(SERVICES).create(svc("two-ports", 2) as KubeObject));
    expect(two.message).toBe('services "two-ports" is forbidden: exceeded quota: small, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1');
    await client.resource(SERVICES).create(svc("one-port", 1) as KubeObject);
    expect((await quotas.get("small", "quota")).status?.used).toMatchObject({ pods: "1", "services.nodeports": "1" });
  });

  it("gives back the charge of a create that fails after admission", async () => {
    const quotas = client.resource<ResourceQuota>(RESOURCE_QUOTAS);
    await quotas.create({ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "roomy", namespace: "limits" }, spec: { hard: { pods: "10" } } });
    await inCache(RESOURCE_QUOTAS, "limits", "roomy");
    const pods = client.resource<Pod>(PODS);
    await pods.create(pod("limits", "twin"));
    const before = (await quotas.get("roomy", "limits")).status?.used?.pods;
    // The same name again: admitted and charged, then refused by storage (409), so the charge goes back.
    const e = await refusal(pods.create(pod("limits", "twin")));
    expect(e.code).toBe(409);
    expect((await quotas.get("roomy", "limits")).status?.used?.pods).toBe(before);
  });
});
