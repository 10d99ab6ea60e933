// Book 11.3: tests for the namespace controller's reconcile: emptying a deleted namespace, reporting
// what remains, and lifting the "kubernetes" finalizer only when nothing is left.
import { describe, expect, it } from "vitest";
import type { KubeObject } from "@corekube/api";
import { CONFIGMAPS, NAMESPACES, PODS, SECRETS } from "@corekube/client";
import { readerOf } from "../framework/testing.js";
import { FakeClock, type Action } from "../framework/types.js";
import { type Namespace, reconcileNamespace } from "./reconcile.js";

const clock = new FakeClock(new Date("2026-01-01T00:00:00Z"));

const ns = (name: string, over: Partial<Namespace["metadata"]> = {}, phase: "Active" | "Terminating" = "Terminating"): Namespace => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, uid: `uid-${name}`, resourceVersion: "5", ...over },
  spec: { finalizers: ["kubernetes"] },
  status: { phase },
});
const deleting = (name: string) => ns(name, { deletionTimestamp: "2026-01-01T00:00:00Z" });
const obj = (kind: string, namespace: string, name: string, meta: Partial<KubeObject["metadata"]> = {}): KubeObject => ({
  kind,
  metadata: { name, namespace, uid: `uid-${namespace}-${name}`, ...meta },
});

function state(namespaces: Namespace[], pods: KubeObject[] = [], cms: KubeObject[] = [], secrets: KubeObject[] = []) {
  return {
    namespaces: readerOf<KubeObject>(namespaces),
    contents: [
      { resource: PODS, reader: readerOf(pods) },
      { resource: CONFIGMAPS, reader: readerOf(cms) },
      { resource: SECRETS, reader: readerOf(secrets) },
    ],
    clock,
  };
}

const byVerb = (actions: Action[], verb: Action["verb"]) => actions.filter((a) => a.verb === verb);

describe("reconcileNamespace", () => {
  it("does nothing for an active namespace, even one with content", () => {
    const r = reconcileNamespace("app", state([ns("app", {}, "Active")], [obj("Pod", "app", "p1")]));
    expect(r.actions).toEqual([]);
    expect(r.requeueAfterMs).toBeUndefined();
  });

  it("does nothing for a namespace that is gone or already finalized", () => {
    expect(reconcileNamespace("gone", state([])).actions).toEqual([]);
    const done = deleting("app");
    done.spec = { finalizers: [] };
    expect(reconcileNamespace("app", state([done], [obj("Pod", "app", "p1")])).actions).toEqual([]);
  });

  it("deletes every object in the namespace, only there, with Background propagation and a uid precondition", () => {
    const r = reconcileNamespace(
      "app",
      state([deleting("app")], [obj("Pod", "app", "p1"), obj("Pod", "other", "p2")], [obj("ConfigMap", "app", "c1")], []),
    );
    const deletes = byVerb(r.actions, "delete");
    expect(deletes).toEqual([
      { verb: "delete", resource: PODS, namespace: "app", name: "p1", uid: "uid-app-p1", propagationPolicy: "Background" },
      { verb: "delete", resource: CONFIGMAPS, namespace: "app", name: "c1", uid: "uid-app-c1", propagationPolicy: "Background" },
    ]);
    expect(r.requeueAfterMs).toBe(1000);
    expect(byVerb(r.actions, "update")).toEqual([]);
  });

  it("reports the remaining content in NamespaceContentRemaining and does not finalize", () => {
    const r = reconcileNamespace("app", state([deleting("app")], [obj("Pod", "app", "p1"), obj("Pod", "app", "p2")], [obj("ConfigMap", "app", "c1")]));
    const [st] = byVerb(r.actions, "updateStatus");
    expect(st).toBeDefined();
    const status = (st as { object: Namespace }).object.status!;
    expect(status.phase).toBe("Terminating");
    const remaining = status.conditions!.find((c) => c.type === "NamespaceContentRemaining")!;
    expect(remaining.status).toBe("True");
    expect(remaining.message).toContain("pods has 2 resource instances");
    expect(remaining.message).toContain("configmaps has 1 resource instances");
    expect(remaining.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
  });

  it("waits for objects already being deleted without deleting them again, and names their finalizers", () => {
    const p = obj("Pod", "app", "p1", { deletionTimestamp: "2026-01-01T00:00:00Z", finalizers: ["example.com/keep"] });
    const r = reconcileNamespace("app", state([deleting("app")], [p]));
    expect(byVerb(r.actions, "delete")).toEqual([]);
    expect(r.requeueAfterMs).toBe(1000);
    const status = (byVerb(r.actions, "updateStatus")[0] as { object: Namespace }).object.status!;
    const fin = status.conditions!.find((c) => c.type === "NamespaceFinalizersRemaining")!;
    expect(fin.status).toBe("True");
    expect(fin.message).toContain("example.com/keep in 1 resource instances");
  });

  it("writes status only when the conditions change", () => {
    const s = state([deleting("app")], [obj("Pod", "app", "p1")]);
    const first = reconcileNamespace("app", s);
    const updated = (byVerb(first.actions, "updateStatus")[0] as { object: Namespace }).object;
    s.namespaces.objects[0] = updated;
    clock.advance(5000);
    const second = reconcileNamespace("app", s);
    expect(byVerb(second.actions, "updateStatus")).toEqual([]);
    expect(byVerb(second.actions, "delete")).toHaveLength(1);
  });

  it("when empty, removes only the kubernetes finalizer (for the finalize subresource) after the status write", () => {
    const n = deleting("app");
    n.spec = { finalizers: ["example.com/other", "kubernetes"] };
    const r = reconcileNamespace("app", state([n], [obj("Pod", "other", "p1")]));
    expect(r.requeueAfterMs).toBeUndefined();
    expect(r.actions.map((a) => a.verb)).toEqual(["updateStatus", "update"]);
    const status = (r.actions[0] as { object: Namespace }).object.status!;
    expect(status.conditions!.find((c) => c.type === "NamespaceContentRemaining")!.status).toBe("False");
    const upd = r.actions[1] as { resource: unknown; object: Namespace };
    expect(upd.resource).toBe(NAMESPACES);
    expect(upd.object.metadata.name).toBe("app");
    expect(upd.object.spec!.finalizers).toEqual(["example.com/other"]);
  });
});
