// Book 11.2 and 11.2.3: the Priority admission plugin with a fake PriorityClass lookup — a pod's class
// name becomes its priority and preemption policy, and classes keep to one default.
import type { PriorityClass, StatusError } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { pods } from "../kinds/core-pods.js";
import { priorityClasses } from "../kinds/scheduling.js";
import { AdmissionChain, type AdmissionRequest, type Operation } from "../registry/admission.js";
import type { KubeObject, RequestContext, ResourceDef } from "../registry/types.js";
import { defaultPriorityClass, priority, type PriorityClassLookup } from "./priority.js";

const ctx: RequestContext = { user: { username: "u", groups: [] }, namespace: "default", now: new Date("2024-05-01T12:00:00Z"), dryRun: false, warnings: [] };

function pc(name: string, value: number, extra: Partial<PriorityClass> = {}): PriorityClass {
  return { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name }, value, preemptionPolicy: "PreemptLowerPriority", ...extra };
}

function fakeLookup(classes: PriorityClass[]): PriorityClassLookup & { lists: number } {
  const l = {
    lists: 0,
    async get(name: string) {
      return classes.find((c) => c.metadata.name === name);
    },
    async list() {
      l.lists++;
      return classes;
    },
  };
  return l;
}

function req(def: ResourceDef, operation: Operation, obj: KubeObject | undefined, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  const name = obj?.metadata.name ?? extra.name ?? "";
  return { operation, def, subresource: "", namespace: def.namespaced ? "default" : "", name, obj, ctx, ...extra };
}

function pod(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default" }, spec: { containers: [{ name: "c", image: "nginx" }], ...spec } };
}

const spec = (o: KubeObject) => o.spec as Record<string, unknown>;

/** Runs the plugin as the store does (mutate then validate); the refusal, or undefined. */
async function admit(lookup: PriorityClassLookup, r: AdmissionRequest): Promise<StatusError | undefined> {
  try {
    await new AdmissionChain([priority(lookup)]).admit(r);
    return undefined;
  } catch (e) {
    return e as StatusError;
  }
}

const classes = () => [pc("system-node-critical", 2_000_001_000), pc("high", 1000), pc("batch", 10, { preemptionPolicy: "Never" })];

describe("Priority admission: new pods", () => {
  it("gives a pod its class's value and preemption policy", async () => {
    const p = pod("web", { priorityClassName: "high" });
    expect(await admit(fakeLookup(classes()), req(pods, "CREATE", p))).toBeUndefined();
    expect(spec(p)).toMatchObject({ priorityClassName: "high", priority: 1000, preemptionPolicy: "PreemptLowerPriority" });

    const b = pod("job", { priorityClassName: "batch" });
    expect(await admit(fakeLookup(classes()), req(pods, "CREATE", b))).toBeUndefined();
    expect(spec(b)).toMatchObject({ priority: 10, preemptionPolicy: "Never" });
  });

  it("resolves the system classes like any other", async () => {
    const p = pod("dns", { priorityClassName: "system-node-critical" });
    expect(await admit(fakeLookup(classes()), req(pods, "CREATE", p))).toBeUndefined();
    expect(spec(p).priority).toBe(2_000_001_000);
  });

  it("refuses a class that does not exist with 403 and upstream's message", async () => {
    const e = await admit(fakeLookup(classes()), req(pods, "CREATE", pod("web", { priorityClassName: "nope" })));
    expect(e?.code).toBe(403);
    expect(e?.reason).toBe("Forbidden");
    expect(e?.message).toBe('pods "web" is forbidden: no PriorityClass with name nope was found');
  });

  it("gives a pod with no class priority 0, PreemptLowerPriority and no class name when there is no default", async () => {
    const p = pod("web");
    expect(await admit(fakeLookup(classes()), req(pods, "CREATE", p))).toBeUndefined();
    expect(spec(p).priority).toBe(0);
    expect(spec(p).preemptionPolicy).toBe("PreemptLowerPriority");
    expect(spec(p)).not.toHaveProperty("priorityClassName");
  });

  it("gives a pod with no class the globalDefault class, name included", async () => {
    const p = pod("web");
    const lookup = fakeLookup([...classes(), pc("normal", 500, { globalDefault: true, preemptionPolicy: "Never" })]);
    expect(await admit(lookup, req(pods, "CREATE", p))).toBeUndefined();
    expect(spec(p)).toMatchObject({ priorityClassName: "normal", priority: 500, preemptionPolicy: "Never" });
  });

  it("picks the lowest value when two classes are marked default", () => {
    const got = defaultPriorityClass([pc("a", 700, { globalDefault: true }), pc("b", 300, { globalDefault: true }), pc("c", 100)]);
    expect(got?.metadata.name).toBe("b");
    expect(defaultPriorityClass([pc("c", 100, { globalDefault: false })])).toBeUndefined();
  });

  it("accepts a priority that agrees with the class, and refuses one that does not", async () => {
    const same = pod("same", { priorityClassName: "high", priority: 1000 });
    expect(await admit(fakeLookup(classes()), req(pods, "CREATE", same))).toBeUndefined();

    const e = await admit(fakeLookup(classes()), req(pods, "CREATE", pod("web", { priorityClassName: "high", priority: 5 })));
    expect(e?.code).toBe(403);
    expect(e?.message).toBe(
      'pods "web" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name',
    );
    // Without a class, any priority but the default's is made up too.
    const e0 = await admit(fakeLookup(classes()), req(pods, "CREATE", pod("web", { priority: 7 })));
    expect(e0?.message).toContain("the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 0");
  });

  it("refuses a preemption policy that disagrees with the class", async () => {
    const e = await admit(fakeLookup(classes()), req(pods, "CREATE", pod("web", { priorityClassName: "batch", preemptionPolicy: "PreemptLowerPriority" })));
    expect(e?.code).toBe(403);
    expect(e?.message).toBe(
      'pods "web" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name',
    );
    const ok = pod("ok", { priorityClassName: "batch", preemptionPolicy: "Never" });
    expect(await admit(fakeLookup(classes()), req(pods, "CREATE", ok))).toBeUndefined();
  });

  it("leaves a pod update's priority alone, keeping the stored one when the update leaves it out", async () => {
    const lookup = fakeLookup([]);
    const old = pod("web", { priorityClassName: "high", priority: 1000, preemptionPolicy: "PreemptLowerPriority" });
    const next = pod("web", { priorityClassName: "high" });
    expect(await admit(lookup, req(pods, "UPDATE", next, { old }))).toBeUndefined();
    expect(spec(next)).toMatchObject({ priority: 1000, preemptionPolicy: "PreemptLowerPriority" });
    expect(lookup.lists).toBe(0);
  });

  it("ignores subresources and other resources", async () => {
    const lookup = fakeLookup([]);
    const binding = pod("web", { priorityClassName: "nope" });
    expect(await admit(lookup, req(pods, "CREATE", binding, { subresource: "binding" }))).toBeUndefined();
    expect(spec(binding)).not.toHaveProperty("priority");
  });
});

describe("Priority admission: PriorityClasses", () => {
  it("allows one globalDefault class and refuses a second with 403", async () => {
    const lookup = fakeLookup([pc("normal", 500, { globalDefault: true })]);
    const e = await admit(lookup, req(priorityClasses, "CREATE", pc("other", 10, { globalDefault: true })));
    expect(e?.code).toBe(403);
    expect(e?.message).toBe('priorityclasses.scheduling.k8s.io "other" is forbidden: PriorityClass normal is already marked as default. Only one default can exist');
    expect(await admit(lookup, req(priorityClasses, "CREATE", pc("plain", 10)))).toBeUndefined();
    expect(await admit(fakeLookup([]), req(priorityClasses, "CREATE", pc("first", 10, { globalDefault: true })))).toBeUndefined();
  });

  it("lets the default class be updated, but not another be marked default", async () => {
    const lookup = fakeLookup([pc("normal", 500, { globalDefault: true }), pc("other", 10)]);
    const same = pc("normal", 500, { globalDefault: true, description: "x" });
    expect(await admit(lookup, req(priorityClasses, "UPDATE", same, { old: pc("normal", 500, { globalDefault: true }) }))).toBeUndefined();
    const e = await admit(lookup, req(priorityClasses, "UPDATE", pc("other", 10, { globalDefault: true }), { old: pc("other", 10) }));
    expect(e?.code).toBe(403);
    expect(e?.message).toContain("PriorityClass normal is already marked as default");
  });

  it("refuses to delete the built-in system classes, and deletes others", async () => {
    const lookup = fakeLookup(classes());
    const e = await admit(lookup, req(priorityClasses, "DELETE", undefined, { name: "system-node-critical", old: pc("system-node-critical", 2_000_001_000) }));
    expect(e?.code).toBe(403);
    expect(e?.message).toBe('priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system priority class and cannot be deleted');
    expect((await admit(lookup, req(priorityClasses, "DELETE", undefined, { name: "system-cluster-critical" })))?.code).toBe(403);
    expect(await admit(lookup, req(priorityClasses, "DELETE", undefined, { name: "high", old: pc("high", 1000) }))).toBeUndefined();
  });
});
