// Book 11.2 and 11.2.3: the Priority admission plugin in a real `corekube apiserver` — pods get the
// number of their PriorityClass (the scheduler's queue order), and the default class fills in the rest.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PODS, PRIORITY_CLASSES, RestClient } from "@corekube/client";
import type { Pod, PriorityClass, StatusError } from "../../packages/api/src/index.js";
import { startControlPlane, type ControlPlane } from "../support/apiserver-process.js";
import { eventually } from "./semantics-support.js";

const NS = "default";

function pod(name: string, spec: Record<string, unknown> = {}): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: NS }, spec: { containers: [{ name: "c", image: "nginx" }], ...spec } } as Pod;
}

function priorityClass(name: string, value: number, extra: Partial<PriorityClass> = {}): PriorityClass {
  return { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name }, value, ...extra };
}

async function refusal(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (e) {
    return e as StatusError;
  }
  throw new Error("the request was accepted");
}

describe("Priority admission against an API server", () => {
  let cp: ControlPlane;
  let client: RestClient;

  beforeAll(async () => {
    cp = await startControlPlane();
    client = await RestClient.fromKubeconfig({ path: cp.kubeconfig });
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await cp?.stop();
  });

  /** The plugin reads classes from the watch cache, as upstream's lister does: wait until it has this one. */
  const inCache = (name: string) =>
    eventually(async () => (await client.resource<PriorityClass>(PRIORITY_CLASSES).list({ resourceVersion: "0" })).items.some((c) => c.metadata.name === name), 10_000, `${name} in the cache`);

  it("gives a pod its class's value and preemption policy; a pod without a class gets 0", async () => {
    const pcs = client.resource<PriorityClass>(PRIORITY_CLASSES);
    const pods = client.resource<Pod>(PODS);
    await pcs.create(priorityClass("batch-high", 5000, { preemptionPolicy: "Never" }));
    await inCache("batch-high");
    const p = await pods.create(pod("classed", { priorityClassName: "batch-high" }));
    expect(p.spec.priority).toBe(5000);
    expect(p.spec.preemptionPolicy).toBe("Never");

    const crit = await pods.create(pod("critical", { priorityClassName: "system-cluster-critical" }));
    expect(crit.spec.priority).toBe(2_000_000_000);

    const plain = await pods.create(pod("plain"));
    expect(plain.spec.priority).toBe(0);
    expect(plain.spec.preemptionPolicy).toBe("PreemptLowerPriority");
    expect(plain.spec.priorityClassName).toBeUndefined();
  });

  it("refuses a pod naming a class that does not exist, or a priority of its own (403)", async () => {
    const pods = client.resource<Pod>(PODS);
    const e = await refusal(pods.create(pod("lost", { priorityClassName: "no-such-class" })));
    expect(e.code).toBe(403);
    expect(e.reason).toBe("Forbidden");
    expect(e.message).toBe('pods "lost" is forbidden: no PriorityClass with name no-such-class was found');
    await expect(pods.get("lost", NS)).rejects.toMatchObject({ code: 404 });

    const own = await refusal(pods.create(pod("made-up", { priority: 99 })));
    expect(own.code).toBe(403);
    expect(own.message).toContain("the integer value of priority (99) must not be provided in pod spec");
  });

  it("keeps the system classes and only one default class", async () => {
    const pcs = client.resource<PriorityClass>(PRIORITY_CLASSES);
    const del = await refusal(pcs.delete("system-node-critical"));
    expect(del.code).toBe(403);
    expect(del.message).toContain("this is a system priority class and cannot be deleted");
    expect((await pcs.get("system-node-critical")).value).toBe(2_000_001_000);

    await pcs.create(priorityClass("everyone", 100, { globalDefault: true }));
    await inCache("everyone");
    const second = await refusal(pcs.create(priorityClass("everyone-else", 200, { globalDefault: true })));
    expect(second.code).toBe(403);
    expect(second.message).toContain("PriorityClass everyone is already marked as default. Only one default can exist");
  });

  it("gives pods without a class the globalDefault class", async () => {
    const pods = client.resource<Pod>(PODS);
    await inCache("everyone");
    const p = await pods.create(pod("defaulted"));
    expect(p.spec.priorityClassName).toBe("everyone");
    expect(p.spec.priority).toBe(100);
    // A pod that names a class still gets that class.
    const named = await pods.create(pod("named", { priorityClassName: "batch-high" }));
    expect(named.spec.priority).toBe(5000);
  });
});
