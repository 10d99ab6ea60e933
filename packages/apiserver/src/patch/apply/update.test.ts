// Book 11.2 and 12.3: tests for managedFields on ordinary writes — creators own what they wrote,
// later writers take the fields they change, and clients may replace or reset the list.
import { describe, expect, it } from "vitest";
import type { KubeObject, ManagedFieldsEntry } from "../../registry/types.js";
import { serverSideApply } from "./apply.js";
import { deployment, deploymentSchema, resolver, withContainers } from "./test-fixtures.js";
import { updateManagedFields, type UpdateManagedFieldsOptions } from "./update.js";

const T0 = new Date("2024-05-01T10:00:00Z");
const T1 = new Date("2024-05-01T11:00:00Z");

function update(old: KubeObject | undefined, updated: KubeObject, manager: string, more: Partial<UpdateManagedFieldsOptions> = {}): KubeObject {
  const managedFields = updateManagedFields({
    old,
    updated,
    manager,
    operation: "Update",
    schema: deploymentSchema,
    resolver,
    apiVersion: "apps/v1",
    now: T0,
    ...more,
  });
  return { ...updated, metadata: { ...updated.metadata, managedFields } };
}

/** The next version of `obj`: its managedFields carried along, as a client that GETs and PUTs sends them. */
function edit(obj: KubeObject, change: (o: KubeObject) => void): KubeObject {
  const next = structuredClone(obj);
  change(next);
  return next;
}

const byManager = (o: KubeObject) => Object.fromEntries((o.metadata.managedFields ?? []).map((e) => [e.manager!, e.fieldsV1]));
const spec = (o: KubeObject) => o.spec as Record<string, unknown>;

describe("updateManagedFields", () => {
  it("a create gives the creator every field it wrote, in Kubernetes' FieldsV1 shape", () => {
    const obj = withContainers([{ name: "nginx", image: "nginx:1.25", ports: [{ containerPort: 80 }] }], { replicas: 1 });
    const created = update(undefined, obj, "kubectl-create");
    expect(created.metadata.managedFields).toEqual([
      {
        manager: "kubectl-create",
        operation: "Update",
        apiVersion: "apps/v1",
        time: "2024-05-01T10:00:00Z",
        fieldsType: "FieldsV1",
        fieldsV1: {
          "f:spec": {
            "f:replicas": {},
            "f:template": {
              "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
              "f:spec": {
                "f:containers": {
                  'k:{"name":"nginx"}': {
                    ".": {},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": {
                      ".": {},
                      'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {} },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ]);
  });

  it("a later writer takes the fields it changes; the creator keeps the rest", () => {
    const created = update(undefined, deployment({ replicas: 1, paused: false }), "kubectl-create");
    const scaled = update(created, edit(created, (o) => (spec(o).replicas = 3)), "kubectl-scale", { now: T1 });
    expect(byManager(scaled)).toEqual({
      "kubectl-create": { "f:spec": { "f:paused": {} } },
      "kubectl-scale": { "f:spec": { "f:replicas": {} } },
    });
    expect(scaled.metadata.managedFields?.map((e) => e.time)).toEqual(["2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z"]);
  });

  it("repeated writes by one manager merge into its entry and refresh its time", () => {
    const created = update(undefined, deployment({ replicas: 1 }), "ctl");
    const again = update(created, edit(created, (o) => (spec(o).paused = true)), "ctl", { now: T1 });
    expect(again.metadata.managedFields).toHaveLength(1);
    expect(again.metadata.managedFields![0]).toMatchObject({ time: "2024-05-01T11:00:00Z", fieldsV1: { "f:spec": { "f:paused": {}, "f:replicas": {} } } });
  });

  it("a write that changes nothing leaves the entries alone", () => {
    const created = update(undefined, deployment({ replicas: 1 }), "ctl");
    const same = update(created, structuredClone(created), "someone-else", { now: T1 });
    expect(same.metadata.managedFields).toEqual(created.metadata.managedFields);
  });

  it("removing a field takes it from its owners and drops entries left empty", () => {
    const created = update(undefined, deployment({ replicas: 1 }), "a");
    const withPaused = update(created, edit(created, (o) => (spec(o).paused = true)), "b");
    const unpaused = update(withPaused, edit(withPaused, (o) => delete spec(o).paused), "c");
    expect(byManager(unpaused)).toEqual({ a: { "f:spec": { "f:replicas": {} } } });
  });

  it("an Update manager taking a field makes the applier's next apply conflict", () => {
    const applied = serverSideApply({
      live: undefined,
      config: deployment({ replicas: 2 }),
      manager: "kubectl",
      force: false,
      schema: deploymentSchema,
      resolver,
      apiVersion: "apps/v1",
      now: T0,
    });
    const scaled = update(applied, edit(applied, (o) => (spec(o).replicas = 5)), "hpa-controller");
    expect(byManager(scaled)).toEqual({ "hpa-controller": { "f:spec": { "f:replicas": {} } } });
    expect(() =>
      serverSideApply({
        live: scaled,
        config: deployment({ replicas: 2 }),
        manager: "kubectl",
        force: false,
        schema: deploymentSchema,
        resolver,
        apiVersion: "apps/v1",
        now: T1,
      }),
    ).toThrow('Apply failed with 1 conflict: conflict with "hpa-controller" using apps/v1: .spec.replicas');
  });

  it("records no ownership of status on the main resource, and only status via the status subresource", () => {
    const created = update(undefined, { ...deployment({ replicas: 1 }), status: { replicas: 1 } }, "ctl");
    expect(byManager(created)).toEqual({ ctl: { "f:spec": { "f:replicas": {} } } });
    const status = update(created, edit(created, (o) => ((o.status as Record<string, unknown>).readyReplicas = 1)), "kubelet", {
      subresource: "status",
    });
    const entry = status.metadata.managedFields?.find((e) => e.manager === "kubelet");
    expect(entry).toMatchObject({ subresource: "status", fieldsV1: { "f:status": { "f:readyReplicas": {} } } });
  });

  it("names an unnamed manager 'unknown'", () => {
    expect(update(undefined, deployment({ replicas: 1 }), "").metadata.managedFields?.[0]?.manager).toBe("unknown");
  });

  it("keeps the stored entries when the object cannot be compared", () => {
    const created = update(undefined, withContainers([{ name: "a" }]), "ctl");
    const broken = edit(created, (o) => ((spec(o).template as { spec: { containers: unknown[] } }).spec.containers = [{ image: "x" }]));
    expect(update(created, broken, "other").metadata.managedFields).toEqual(created.metadata.managedFields);
  });
});

describe("updateManagedFields: managedFields sent by the client", () => {
  const created = update(undefined, deployment({ replicas: 1, paused: true }), "creator");

  it("a non-empty list replaces the stored entries", () => {
    const mine: ManagedFieldsEntry[] = [
      { manager: "me", operation: "Apply", apiVersion: "apps/v1", fieldsType: "FieldsV1", fieldsV1: { "f:spec": { "f:paused": {} } } },
    ];
    const out = update(created, edit(created, (o) => (o.metadata.managedFields = mine)), "writer");
    expect(out.metadata.managedFields).toEqual(mine);
  });

  it("an empty list resets them: only what this write changes is recorded", () => {
    const reset = update(created, edit(created, (o) => (o.metadata.managedFields = [])), "writer");
    expect(reset.metadata.managedFields).toEqual([]);
    const resetAndScale = update(created, edit(created, (o) => ((o.metadata.managedFields = []), (spec(o).replicas = 2))), "writer");
    expect(byManager(resetAndScale)).toEqual({ writer: { "f:spec": { "f:replicas": {} } } });
  });

  it("an invalid list is ignored in favour of the stored one", () => {
    const bad = edit(created, (o) => (o.metadata.managedFields = [{ manager: "x", operation: "Update" } as ManagedFieldsEntry]));
    expect(update(created, bad, "writer").metadata.managedFields).toEqual(created.metadata.managedFields);
  });

  it("a subresource write cannot change them", () => {
    const sneaky = edit(created, (o) => (o.metadata.managedFields = []));
    expect(update(created, sneaky, "writer", { subresource: "status" }).metadata.managedFields).toEqual(created.metadata.managedFields);
  });
});

describe("updateManagedFields: at most ten Update entries", () => {
  it("folds the oldest writers into an ancient-changes entry", () => {
    let obj = update(undefined, deployment({}, { labels: { l0: "v" } }), "m0", { now: new Date(Date.UTC(2024, 0, 1, 0, 0, 0)) });
    for (let i = 1; i <= 10; i++) {
      obj = update(obj, edit(obj, (o) => (o.metadata.labels![`l${i}`] = "v")), `m${i}`, { now: new Date(Date.UTC(2024, 0, 1, 0, i, 0)) });
    }
    const names = obj.metadata.managedFields!.map((e) => e.manager);
    expect(names).toHaveLength(10);
    expect(names).toContain("ancient-changes");
    expect(names).not.toContain("m0");
    expect(names).not.toContain("m1");
    const ancient = obj.metadata.managedFields!.find((e) => e.manager === "ancient-changes")!;
    expect(ancient.fieldsV1).toEqual({ "f:metadata": { "f:labels": { ".": {}, "f:l0": {}, "f:l1": {} } } });
  });
});
