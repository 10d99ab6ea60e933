// Book 11.3: the garbage collector's decisions over a small in-memory owner graph: dangling owners,
// foreground deletion waiting on blocking dependents, and orphaning.
import type { KubeObject, OwnerReference } from "@corekube/api";
import { DEPLOYMENTS, PODS, REPLICASETS, type ResourceType } from "@corekube/client";
import { describe, expect, it } from "vitest";
import type { Action } from "../framework/types.js";
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER, reconcileOwnerGraph, type OwnerGraph } from "./reconcile.js";

const NODES_RT: ResourceType = { group: "", version: "v1", resource: "nodes", kind: "Node", namespaced: false };
const KNOWN = [PODS, REPLICASETS, DEPLOYMENTS, NODES_RT];

function obj(kind: "Pod" | "ReplicaSet" | "Deployment", name: string, extra: Partial<KubeObject["metadata"]> = {}): KubeObject {
  return { apiVersion: kind === "Pod" ? "v1" : "apps/v1", kind, metadata: { name, namespace: "default", uid: `${name}-uid`, ...extra } };
}
const ref = (owner: KubeObject, block = true): OwnerReference => ({
  apiVersion: owner.apiVersion!,
  kind: owner.kind!,
  name: owner.metadata.name!,
  uid: owner.metadata.uid!,
  controller: true,
  blockOwnerDeletion: block,
});

/** The graph the wiring would build: a uid index over everything cached. */
function graph(objects: KubeObject[]): OwnerGraph {
  return {
    lookup: (r) => objects.find((o) => o.metadata.uid === r.uid && o.kind === r.kind && o.metadata.name === r.name && o.metadata.namespace === r.namespace),
    dependentsOf: (uid) => objects.filter((o) => o.metadata.ownerReferences?.some((r) => r.uid === uid)),
    resourceOf: (apiVersion, kind) => KNOWN.find((rt) => (rt.group === "" ? rt.version : `${rt.group}/${rt.version}`) === apiVersion && rt.kind === kind),
  };
}

const verbs = (as: Action[]) => as.map((a) => `${a.verb}:${"name" in a ? a.name : "object" in a ? a.object.metadata.name : ""}`);
const deleting = { deletionTimestamp: "2026-01-01T00:00:00Z" };

describe("reconcileOwnerGraph", () => {
  it("leaves an object alone while its owner exists", () => {
    const rs = obj("ReplicaSet", "rs");
    const pod = obj("Pod", "p", { ownerReferences: [ref(rs)] });
    expect(reconcileOwnerGraph(pod, graph([rs, pod])).actions).toEqual([]);
  });

  it("deletes (Background) an object whose only owner is gone", () => {
    const rs = obj("ReplicaSet", "rs");
    const pod = obj("Pod", "p", { ownerReferences: [ref(rs)] });
    const res = reconcileOwnerGraph(pod, graph([pod]));
    expect(res.actions).toEqual([{ verb: "delete", resource: PODS, namespace: "default", name: "p", uid: "p-uid", propagationPolicy: "Background" }]);
  });

  it("treats an owner with the same name but another uid as gone", () => {
    const rs = obj("ReplicaSet", "rs");
    const pod = obj("Pod", "p", { ownerReferences: [ref(rs)] });
    const reborn = obj("ReplicaSet", "rs", { uid: "new-uid" });
    expect(verbs(reconcileOwnerGraph(pod, graph([reborn, pod])).actions)).toEqual(["delete:p"]);
  });

  it("keeps an object with another live owner, dropping the reference to the gone one", () => {
    const a = obj("ReplicaSet", "a");
    const b = obj("ReplicaSet", "b");
    const pod = obj("Pod", "p", { ownerReferences: [ref(a), ref(b)] });
    const res = reconcileOwnerGraph(pod, graph([b, pod]));
    expect(verbs(res.actions)).toEqual(["patch:p"]);
    const patch = (res.actions[0] as Extract<Action, { verb: "patch" }>).patch as { op: string; value: unknown }[];
    expect(patch.at(-1)).toEqual({ op: "replace", path: "/metadata/ownerReferences", value: [ref(b)] });
  });

  it("never deletes because of an owner of an unknown kind", () => {
    const pod = obj("Pod", "p", { ownerReferences: [{ apiVersion: "example.com/v1", kind: "Widget", name: "w", uid: "w-uid" }] });
    expect(reconcileOwnerGraph(pod, graph([pod])).actions).toEqual([]);
  });

  it("deletes dependents of an owner being deleted in the foreground", () => {
    const rs = obj("ReplicaSet", "rs", { ...deleting, finalizers: [FOREGROUND_FINALIZER] });
    const pod = obj("Pod", "p", { ownerReferences: [ref(rs)] });
    // Seen from the dependent: its only owner is waiting for it, so it goes.
    expect(verbs(reconcileOwnerGraph(pod, graph([rs, pod])).actions)).toEqual(["delete:p"]);
    // Seen from the owner: delete the dependent (Foreground) and keep the finalizer while it blocks.
    const res = reconcileOwnerGraph(rs, graph([rs, pod]));
    expect(res.actions).toEqual([{ verb: "delete", resource: PODS, namespace: "default", name: "p", uid: "p-uid", propagationPolicy: "Foreground" }]);
  });

  it("a dependent with dependents of its own, whose owner waits on it, is deleted in the foreground", () => {
    const d = obj("Deployment", "d", { ...deleting, finalizers: [FOREGROUND_FINALIZER] });
    const rs = obj("ReplicaSet", "rs", { ownerReferences: [ref(d)] });
    const pod = obj("Pod", "p", { ownerReferences: [ref(rs)] });
    const res = reconcileOwnerGraph(rs, graph([d, rs, pod]));
    expect(res.actions).toEqual([{ verb: "delete", resource: REPLICASETS, namespace: "default", name: "rs", uid: "rs-uid", propagationPolicy: "Foreground" }]);
  });

  it("the foreground owner waits for blocking dependents, then drops its finalizer", () => {
    const rs = obj("ReplicaSet", "rs", { ...deleting, finalizers: [FOREGROUND_FINALIZER, "example.com/other"], resourceVersion: "7" });
    const goingPod = obj("Pod", "p", { ...deleting, ownerReferences: [ref(rs)] });
    expect(reconcileOwnerGraph(rs, graph([rs, goingPod])).actions).toEqual([]); // already being deleted; wait

    const nonBlocking = obj("Pod", "q", { ownerReferences: [ref(rs, false)] });
    const res = reconcileOwnerGraph(rs, graph([rs, nonBlocking]));
    expect(verbs(res.actions)).toEqual(["delete:q", "update:rs"]);
    const updated = (res.actions[1] as Extract<Action, { verb: "update" }>).object;
    expect(updated.metadata.finalizers).toEqual(["example.com/other"]);
    expect(updated.metadata.resourceVersion).toBe("7");

    expect(verbs(reconcileOwnerGraph(rs, graph([rs])).actions)).toEqual(["update:rs"]);
  });

  it("a foreground owner detaches, rather than deletes, a dependent that has another live owner", () => {
    const rs = obj("ReplicaSet", "rs", { ...deleting, finalizers: [FOREGROUND_FINALIZER] });
    const other = obj("ReplicaSet", "other");
    const pod = obj("Pod", "p", { ownerReferences: [ref(other), ref(rs)] });
    expect(verbs(reconcileOwnerGraph(rs, graph([rs, other, pod])).actions)).toEqual(["patch:p", "update:rs"]);
    expect(verbs(reconcileOwnerGraph(pod, graph([rs, other, pod])).actions)).toEqual(["patch:p"]);
  });

  it("orphans: removes the owner's reference from each dependent, then the finalizer", () => {
    const rs = obj("ReplicaSet", "rs", { ...deleting, finalizers: [ORPHAN_FINALIZER] });
    const other = obj("ReplicaSet", "other");
    const p1 = obj("Pod", "p1", { ownerReferences: [ref(rs)] });
    const p2 = obj("Pod", "p2", { ownerReferences: [ref(other), ref(rs)] });
    const res = reconcileOwnerGraph(rs, graph([rs, other, p1, p2]));
    expect(verbs(res.actions)).toEqual(["patch:p1", "patch:p2", "update:rs"]);
    const last = (a: Action) => ((a as Extract<Action, { verb: "patch" }>).patch as { op: string; value?: unknown }[]).at(-1);
    expect(last(res.actions[0]!)).toEqual({ op: "remove", path: "/metadata/ownerReferences" });
    expect(last(res.actions[1]!)).toEqual({ op: "replace", path: "/metadata/ownerReferences", value: [ref(other)] });
    expect((res.actions[2] as Extract<Action, { verb: "update" }>).object.metadata.finalizers).toBeUndefined();
  });

  it("does nothing extra for an object already being deleted without a collector finalizer", () => {
    const rs = obj("ReplicaSet", "rs", deleting);
    const pod = obj("Pod", "p", { ownerReferences: [ref(rs)] });
    expect(reconcileOwnerGraph(rs, graph([rs, pod])).actions).toEqual([]);
  });

  it("a cluster-scoped object cannot be owned by a namespaced one", () => {
    const node = { apiVersion: "v1", kind: "Node", metadata: { name: "n", uid: "n-uid", ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: "p", uid: "p-uid" }] } };
    const pod = obj("Pod", "p");
    const res = reconcileOwnerGraph(node, graph([pod, node]));
    expect(verbs(res.actions)).toEqual(["delete:n", "event:n"]);
    expect(res.actions[1]).toMatchObject({ type: "Warning", reason: "OwnerRefInvalidNamespace" });
  });
});
