// Book 11.2 and 12.3: tests for server-side apply as a user sees it — ownership recorded in
// managedFields, fields removed when no longer applied, shared values, 409 conflicts and --force-conflicts.
import { StatusError } from "@corekube/api";
import { describe, expect, it } from "vitest";
import type { KubeObject, ManagedFieldsEntry } from "../../registry/types.js";
import { serverSideApply, type ServerSideApplyOptions } from "./apply.js";
import { LAST_APPLIED_ANNOTATION } from "./last-applied.js";
import { deployment, deploymentSchema, resolver, withContainers } from "./test-fixtures.js";
import { updateManagedFields } from "./update.js";

const T0 = new Date("2024-05-01T10:00:00.123Z");
const T1 = new Date("2024-05-01T11:00:00Z");

function apply(live: KubeObject | undefined, config: KubeObject, manager: string, more: Partial<ServerSideApplyOptions> = {}): KubeObject {
  return serverSideApply({
    live,
    config,
    manager,
    force: false,
    schema: deploymentSchema,
    resolver,
    apiVersion: "apps/v1",
    now: T0,
    ...more,
  });
}

/** What `kubectl create` / client-side apply leaves behind: an Update entry for the whole object. */
function createdBy(manager: string, obj: KubeObject): KubeObject {
  const managedFields = updateManagedFields({
    old: undefined,
    updated: obj,
    manager,
    operation: "Update",
    schema: deploymentSchema,
    resolver,
    apiVersion: "apps/v1",
    now: T0,
  });
  return { ...obj, metadata: { ...obj.metadata, managedFields } };
}

function entry(obj: KubeObject, manager: string): ManagedFieldsEntry | undefined {
  return obj.metadata.managedFields?.find((e) => e.manager === manager);
}

function statusOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw e;
  }
  throw new Error("expected a StatusError");
}

const spec = (o: KubeObject) => o.spec as Record<string, unknown>;
const podSpec = (o: KubeObject) => (spec(o).template as { spec: { containers: Record<string, unknown>[] } }).spec;

describe("serverSideApply: ownership", () => {
  it("the first apply creates the object and records the manager's Apply entry", () => {
    const out = apply(undefined, deployment({ replicas: 2 }, { labels: { app: "web" } }), "kubectl");
    expect(out.spec).toEqual({ replicas: 2 });
    expect(out.metadata.managedFields).toEqual([
      {
        manager: "kubectl",
        operation: "Apply",
        apiVersion: "apps/v1",
        time: "2024-05-01T10:00:00Z",
        fieldsType: "FieldsV1",
        fieldsV1: { "f:metadata": { "f:labels": { "f:app": {} } }, "f:spec": { "f:replicas": {} } },
      },
    ]);
  });

  it("re-applying without a field removes it from the object and from the entry", () => {
    const first = apply(undefined, deployment({ replicas: 2, paused: true }), "kubectl");
    const second = apply(first, deployment({ replicas: 2 }), "kubectl", { now: T1 });
    expect(second.spec).toEqual({ replicas: 2 });
    expect(entry(second, "kubectl")?.fieldsV1).toEqual({ "f:spec": { "f:replicas": {} } });
    expect(entry(second, "kubectl")?.time).toBe("2024-05-01T11:00:00Z");
  });

  it("a no-op re-apply keeps the entry's time", () => {
    const first = apply(undefined, deployment({ replicas: 2 }), "kubectl");
    const again = apply(first, deployment({ replicas: 2 }), "kubectl", { now: T1 });
    expect(entry(again, "kubectl")?.time).toBe("2024-05-01T10:00:00Z");
  });

  it("two managers applying the same value share the field, and it survives one of them dropping it", () => {
    const a = apply(undefined, deployment({ replicas: 3 }), "alice");
    const ab = apply(a, deployment({ replicas: 3 }), "bob");
    expect(entry(ab, "alice")?.fieldsV1).toEqual({ "f:spec": { "f:replicas": {} } });
    expect(entry(ab, "bob")?.fieldsV1).toEqual({ "f:spec": { "f:replicas": {} } });
    const bobLeft = apply(ab, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "default" } }, "bob");
    expect(spec(bobLeft).replicas).toBe(3);
    expect(entry(bobLeft, "bob")).toBeUndefined();
  });

  it("a field also owned by an Update manager is not removed when the applier drops it", () => {
    const created = createdBy("kubectl-create", deployment({ replicas: 1 }));
    const applied = apply(created, deployment({ replicas: 1, paused: false }), "ci");
    const dropped = apply(applied, deployment({ paused: false }), "ci");
    expect(spec(dropped).replicas).toBe(1);
  });

  it("ignores status on the main resource and owns it through the status subresource", () => {
    const obj = { ...deployment({ replicas: 1 }), status: { replicas: 1 } };
    const main = apply(undefined, obj, "kubectl");
    expect(entry(main, "kubectl")?.fieldsV1).toEqual({ "f:spec": { "f:replicas": {} } });
    const viaStatus = apply(main, { ...deployment({ replicas: 5 }), status: { readyReplicas: 1 } }, "ctrl", { subresource: "status" });
    const ctrl = entry(viaStatus, "ctrl");
    expect(ctrl?.subresource).toBe("status");
    expect(ctrl?.fieldsV1).toEqual({ "f:status": { "f:readyReplicas": {} } });
  });

  it("never owns identity fields or apiVersion/kind, and keeps them when a config sends null", () => {
    const live = { ...deployment({ replicas: 1 }), metadata: { name: "web", namespace: "default", uid: "u1", creationTimestamp: "2024-01-01T00:00:00Z" } };
    const out = apply(live, { ...deployment({ replicas: 1 }), metadata: { name: "web", namespace: "default", creationTimestamp: null } }, "kubectl");
    expect(out.metadata.creationTimestamp).toBe("2024-01-01T00:00:00Z");
    expect(out.metadata.uid).toBe("u1");
    expect(entry(out, "kubectl")?.fieldsV1).toEqual({ "f:spec": { "f:replicas": {} } });
  });
});

describe("serverSideApply: conflicts", () => {
  it("a different value for another applier's field is a 409 naming the manager and field", () => {
    const a = apply(undefined, deployment({ replicas: 3 }), "alice");
    const err = statusOf(() => apply(a, deployment({ replicas: 5 }), "bob"));
    expect(err.code).toBe(409);
    expect(err.status.reason).toBe("Conflict");
    expect(err.message).toBe('Apply failed with 1 conflict: conflict with "alice": .spec.replicas');
    expect(err.status.details?.causes).toEqual([{ reason: "FieldManagerConflict", message: 'conflict with "alice"', field: ".spec.replicas" }]);
  });

  it("kubectl client-side apply vs server-side apply: the §3.6 conflict on .spec.replicas", () => {
    const live = createdBy("kubectl-client-side-apply", deployment({ replicas: 1 }));
    const err = statusOf(() => apply(live, deployment({ replicas: 3 }), "kubectl"));
    expect(err.status).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "Conflict",
      code: 409,
      message: 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
      details: { causes: [{ reason: "FieldManagerConflict", message: 'conflict with "kubectl-client-side-apply" using apps/v1', field: ".spec.replicas" }] },
    });
  });

  it("lists several conflicts one per line, grouped by manager", () => {
    const live = createdBy("kubectl-client-side-apply", withContainers([{ name: "nginx", image: "nginx:1" }], { replicas: 1 }));
    const withAlice = apply(live, deployment({ paused: true }), "alice");
    const err = statusOf(() =>
      apply(withAlice, withContainers([{ name: "nginx", image: "nginx:2" }], { replicas: 2, paused: false }), "bob"),
    );
    expect(err.message).toBe(
      [
        'Apply failed with 3 conflicts: conflicts with "alice":',
        "- .spec.paused",
        'conflicts with "kubectl-client-side-apply" using apps/v1:',
        "- .spec.replicas",
        '- .spec.template.spec.containers[name="nginx"].image',
      ].join("\n"),
    );
    expect(err.status.details?.causes?.map((c) => c.field)).toEqual([
      ".spec.paused",
      ".spec.replicas",
      '.spec.template.spec.containers[name="nginx"].image',
    ]);
  });

  it("force moves ownership: the applier takes the field and the old owner loses it", () => {
    const a = apply(undefined, deployment({ replicas: 3, paused: true }), "alice");
    const forced = apply(a, deployment({ replicas: 5 }), "bob", { force: true });
    expect(spec(forced).replicas).toBe(5);
    expect(entry(forced, "bob")?.fieldsV1).toEqual({ "f:spec": { "f:replicas": {} } });
    expect(entry(forced, "alice")?.fieldsV1).toEqual({ "f:spec": { "f:paused": {} } });
    // Alice re-applying her old config now conflicts with bob.
    expect(statusOf(() => apply(forced, deployment({ replicas: 3, paused: true }), "alice")).message).toContain('conflict with "bob"');
  });

  it("force drops an entry left with nothing", () => {
    const live = createdBy("kubectl-client-side-apply", deployment({ replicas: 1 }));
    const forced = apply(live, deployment({ replicas: 3 }), "kubectl", { force: true });
    expect(forced.metadata.managedFields?.map((e) => e.manager)).toEqual(["kubectl"]);
  });

  it("kubectl may take over fields whose live value still matches the last-applied annotation", () => {
    const lastApplied = JSON.stringify(deployment({ replicas: 1 }));
    const csa = createdBy("kubectl-client-side-apply", deployment({ replicas: 1 }, { annotations: { [LAST_APPLIED_ANNOTATION]: lastApplied } }));
    const out = apply(csa, deployment({ replicas: 3 }), "kubectl");
    expect(spec(out).replicas).toBe(3);
    expect(entry(out, "kubectl")?.fieldsV1).toEqual({ "f:spec": { "f:replicas": {} } });
    // The annotation is rewritten so that client-side apply keeps working afterwards.
    expect(JSON.parse(out.metadata.annotations![LAST_APPLIED_ANNOTATION]!)).toEqual(deployment({ replicas: 3 }));
    // Another manager name does not get this allowance.
    expect(statusOf(() => apply(csa, deployment({ replicas: 3 }), "other")).code).toBe(409);
    // Nor does kubectl once the live value has drifted from the annotation (someone scaled it).
    const scaled = { ...csa, spec: { replicas: 7 } };
    expect(statusOf(() => apply(scaled, deployment({ replicas: 3 }), "kubectl")).code).toBe(409);
  });
});

describe("serverSideApply: lists", () => {
  it("containers are keyed by name: each manager keeps its own container", () => {
    const a = apply(undefined, withContainers([{ name: "app", image: "app:1" }]), "alice");
    const ab = apply(a, withContainers([{ name: "sidecar", image: "proxy:1" }]), "bob");
    expect(podSpec(ab).containers.map((c) => c.name)).toEqual(["app", "sidecar"]);
    expect(entry(ab, "bob")?.fieldsV1).toMatchObject({
      "f:spec": { "f:template": { "f:spec": { "f:containers": { 'k:{"name":"sidecar"}': { ".": {}, "f:image": {}, "f:name": {} } } } } },
    });
    // Bob stops applying his container: it goes, alice's stays.
    const bobGone = apply(ab, deployment({}), "bob");
    expect(podSpec(bobGone).containers).toEqual([{ name: "app", image: "app:1" }]);
  });

  it("ports are keyed by [containerPort, protocol]: 80/TCP and 80/UDP are different elements", () => {
    const tcp = apply(undefined, withContainers([{ name: "dns", ports: [{ containerPort: 53 }] }]), "alice");
    const both = apply(tcp, withContainers([{ name: "dns", ports: [{ containerPort: 53, protocol: "UDP" }] }]), "bob");
    expect(podSpec(both).containers[0]!.ports).toEqual([{ containerPort: 53 }, { containerPort: 53, protocol: "UDP" }]);
    const bobPorts = JSON.stringify(entry(both, "bob")?.fieldsV1);
    expect(bobPorts).toContain('k:{\\"containerPort\\":53,\\"protocol\\":\\"UDP\\"}');
    expect(bobPorts).not.toContain("TCP");
    // A third manager naming the defaulted 80/TCP element merges into it rather than adding one.
    const named = apply(both, withContainers([{ name: "dns", ports: [{ containerPort: 53, protocol: "TCP", name: "dns-tcp" }] }]), "carol");
    expect(podSpec(named).containers[0]!.ports).toContainEqual({ containerPort: 53, name: "dns-tcp", protocol: "TCP" });
  });

  it("atomic lists are owned whole: a different list is a conflict on the list itself", () => {
    const a = apply(undefined, withContainers([{ name: "app", args: ["--a"] }]), "alice");
    const err = statusOf(() => apply(a, withContainers([{ name: "app", args: ["--a", "--b"] }]), "bob"));
    expect(err.status.details?.causes?.[0]?.field).toBe('.spec.template.spec.containers[name="app"].args');
    const forced = apply(a, withContainers([{ name: "app", args: ["--b"] }]), "bob", { force: true });
    expect(podSpec(forced).containers[0]!.args).toEqual(["--b"]);
  });
});

describe("serverSideApply: bad requests", () => {
  it("refuses managedFields in the configuration", () => {
    const cfg = { ...deployment({}), metadata: { name: "web", managedFields: [] } };
    const err = statusOf(() => apply(undefined, cfg, "kubectl"));
    expect([err.code, err.message]).toEqual([400, "metadata.managedFields must be nil"]);
  });

  it("refuses a configuration of another version or kind", () => {
    const err = statusOf(() => apply(undefined, { ...deployment({}), apiVersion: "apps/v1beta1" }, "kubectl"));
    expect([err.code, err.message]).toEqual([400, "invalid object type: apps/v1beta1, Kind=Deployment"]);
    const live = deployment({});
    expect(statusOf(() => apply(live, { ...deployment({}), kind: "StatefulSet" }, "kubectl")).code).toBe(400);
  });

  it("requires a field manager", () => {
    const err = statusOf(() => apply(undefined, deployment({}), ""));
    expect(err.code).toBe(422);
    expect(err.message).toContain("fieldManager: Required value: is required for apply patch");
  });

  it("rejects a keyed list element without its key and duplicate keys", () => {
    const noName = statusOf(() => apply(undefined, withContainers([{ image: "x" }]), "kubectl"));
    expect(noName.code).toBe(400);
    expect(noName.message).toMatch(/^failed to create typed patch object: \.spec\.template\.spec\.containers: element 0: associative list/);
    const dup = statusOf(() => apply(undefined, withContainers([{ name: "a" }, { name: "a" }]), "kubectl"));
    expect(dup.message).toContain('duplicate entries for key [name="a"]');
  });

  it("fails with 500 when the stored managedFields cannot be read", () => {
    const live = { ...deployment({}), metadata: { name: "web", managedFields: [{ manager: "x", operation: "Patch", apiVersion: "v1", fieldsType: "FieldsV1" }] } };
    const err = statusOf(() => apply(live as KubeObject, deployment({}), "kubectl"));
    expect(err.code).toBe(500);
    expect(err.message).toContain("operation must be `Apply` or `Update`");
  });
});
