// Book 2.3.3 and 11.3: tests for the ReplicaSet reconcile: scaling, which pods go first, adoption
// and release, expectations, status counting with minReadySeconds, and a ReplicaSet being deleted.
import type { Pod } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { readerOf } from "../framework/testing.js";
import { type Action, FakeClock } from "../framework/types.js";
import { Expectations } from "./expectations.js";
import { type ReplicaSet, reconcileReplicaSet } from "./reconcile.js";

const T0 = new Date("2026-01-01T00:00:00Z");
const at = (s: number) => new Date(T0.getTime() + s * 1000).toISOString();

function rs(over: Partial<ReplicaSet["spec"]> = {}, meta: Partial<ReplicaSet["metadata"]> = {}, status?: ReplicaSet["status"]): ReplicaSet {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "web", namespace: "ns", uid: "rs-uid", generation: 3, ...meta },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web", tier: "fe" } }, spec: { containers: [{ name: "c", image: "nginx" }] } },
      ...over,
    },
    ...(status ? { status } : {}),
  };
}

interface PodOpts {
  labels?: Record<string, string>;
  owner?: string | null;
  node?: string;
  phase?: "Pending" | "Running" | "Unknown" | "Succeeded" | "Failed";
  readySince?: number;
  restarts?: number;
  created?: number;
  deleting?: boolean;
  ns?: string;
}

function pod(name: string, o: PodOpts = {}): Pod {
  const owner = o.owner === undefined ? "rs-uid" : o.owner;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: o.ns ?? "ns",
      uid: `uid-${name}`,
      labels: o.labels ?? { app: "web", tier: "fe" },
      creationTimestamp: at(o.created ?? 0),
      ...(o.deleting ? { deletionTimestamp: at(1) } : {}),
      ...(owner ? { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "other", uid: owner, controller: true }] } : {}),
    },
    spec: { containers: [{ name: "c" }], ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? "Running",
      conditions: o.readySince !== undefined ? [{ type: "Ready", status: "True", lastTransitionTime: at(o.readySince) }] : [],
      containerStatuses: [{ name: "c", ready: o.readySince !== undefined, restartCount: o.restarts ?? 0, image: "nginx", imageID: "" }],
    },
  };
}

function state(r: ReplicaSet | undefined, pods: Pod[], clock = new FakeClock(T0), expectations = new Expectations(clock)) {
  return { replicaSets: readerOf(r ? [r] : []), pods: readerOf(pods), expectations, clock };
}

const of = <V extends Action["verb"]>(actions: Action[], verb: V) => actions.filter((a): a is Extract<Action, { verb: V }> => a.verb === verb);

describe("reconcileReplicaSet", () => {
  it("scales up from zero with pods stamped from the template", () => {
    const s = state(rs(), []);
    const { actions } = reconcileReplicaSet("ns/web", s);
    const creates = of(actions, "create");
    expect(creates).toHaveLength(3);
    for (const c of creates) {
      expect(c.resource.resource).toBe("pods");
      const m = c.object.metadata;
      expect(m.generateName).toBe("web-");
      expect(m.namespace).toBe("ns");
      expect(m.labels).toEqual({ app: "web", tier: "fe" });
      expect(m.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "rs-uid", controller: true, blockOwnerDeletion: true }]);
    }
    expect(s.expectations.get("ns/web")).toEqual({ adds: 3, dels: 0 });
  });

  it("creates no more than the burst in one round and defaults replicas to 1", () => {
    const s1 = { ...state(rs({ replicas: 10 }), []), burst: 4 };
    expect(of(reconcileReplicaSet("ns/web", s1).actions, "create")).toHaveLength(4);
    const s2 = state(rs({ replicas: undefined }), []);
    expect(of(reconcileReplicaSet("ns/web", s2).actions, "create")).toHaveLength(1);
  });

  it("scales down the cheapest pods first", () => {
    const pods = [
      pod("old-ready", { node: "n1", readySince: 10, created: 0 }),
      pod("unscheduled", { phase: "Pending", created: 0 }),
      pod("pending", { node: "n2", phase: "Pending", created: 0 }),
      pod("not-ready", { node: "n3", created: 0 }),
      pod("new-ready", { node: "n4", readySince: 50, created: 0 }),
      pod("restarty", { node: "n5", readySince: 10, restarts: 5, created: 0 }),
      pod("newer", { node: "n6", readySince: 10, created: 5 }),
    ];
    const victims = (n: number) => {
      const s = state(rs({ replicas: pods.length - n }), pods);
      return of(reconcileReplicaSet("ns/web", s).actions, "delete").map((d) => d.name);
    };
    expect(victims(6)).toEqual(["unscheduled", "pending", "not-ready", "new-ready", "restarty", "newer"]);
    const s = state(rs({ replicas: 5 }), pods);
    const dels = of(reconcileReplicaSet("ns/web", s).actions, "delete");
    expect(dels.map((d) => [d.name, d.uid])).toEqual([
      ["unscheduled", "uid-unscheduled"],
      ["pending", "uid-pending"],
    ]);
    expect(s.expectations.get("ns/web")).toEqual({ adds: 0, dels: 2 });
  });

  it("prefers pods doubled up on a node when all else is equal", () => {
    const pods = [pod("alone", { node: "n1", readySince: 0 }), pod("pair-a", { node: "n2", readySince: 0 }), pod("pair-b", { node: "n2", readySince: 0 })];
    const dels = of(reconcileReplicaSet("ns/web", state(rs({ replicas: 2 }), pods)).actions, "delete");
    expect(dels.map((d) => d.name)).not.toContain("alone");
    expect(dels).toHaveLength(1);
  });

  it("adopts a matching orphan and counts it", () => {
    const pods = [pod("a"), pod("b"), pod("orphan", { owner: null })];
    const { actions } = reconcileReplicaSet("ns/web", state(rs(), pods));
    const patches = of(actions, "patch");
    expect(patches).toHaveLength(1);
    expect(patches[0]).toMatchObject({ name: "orphan", namespace: "ns", patchType: "strategic" });
    expect(patches[0]!.patch).toEqual({
      metadata: { uid: "uid-orphan", ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "rs-uid", controller: true, blockOwnerDeletion: true }] },
    });
    expect(of(actions, "create")).toHaveLength(0);
  });

  it("leaves alone orphans that do not match, pods of other controllers, and other namespaces", () => {
    const pods = [pod("stranger", { owner: null, labels: { app: "db" } }), pod("taken", { owner: "someone-else" }), pod("elsewhere", { owner: null, ns: "other" })];
    const { actions } = reconcileReplicaSet("ns/web", state(rs(), pods));
    expect(of(actions, "patch")).toHaveLength(0);
    expect(of(actions, "create")).toHaveLength(3);
  });

  it("releases a pod whose labels no longer match and replaces it", () => {
    const pods = [pod("a"), pod("b"), pod("relabelled", { labels: { app: "debug" } })];
    const { actions } = reconcileReplicaSet("ns/web", state(rs(), pods));
    const patches = of(actions, "patch");
    expect(patches).toHaveLength(1);
    expect(patches[0]).toMatchObject({ name: "relabelled", patchType: "strategic" });
    expect(patches[0]!.patch).toEqual({ metadata: { uid: "uid-relabelled", ownerReferences: [{ $patch: "delete", uid: "rs-uid" }] } });
    expect(of(actions, "create")).toHaveLength(1);
  });

  it("ignores finished and terminating pods when counting", () => {
    const pods = [pod("done", { phase: "Succeeded" }), pod("failed", { phase: "Failed" }), pod("going", { deleting: true }), pod("ok")];
    const { actions } = reconcileReplicaSet("ns/web", state(rs(), pods));
    expect(of(actions, "create")).toHaveLength(2);
    expect(of(actions, "delete")).toHaveLength(0);
  });

  it("does not create again until the first round's pods are observed", () => {
    const clock = new FakeClock(T0);
    const s = state(rs(), [], clock);
    expect(of(reconcileReplicaSet("ns/web", s).actions, "create")).toHaveLength(3);
    // The informer has not seen the new pods yet: a second round must not double up.
    expect(of(reconcileReplicaSet("ns/web", s).actions, "create")).toHaveLength(0);
    s.expectations.creationObserved("ns/web");
    s.expectations.creationObserved("ns/web");
    s.pods.objects.push(pod("web-1"), pod("web-2"));
    expect(of(reconcileReplicaSet("ns/web", s).actions, "create")).toHaveLength(0);
    s.expectations.creationObserved("ns/web");
    // Satisfied, yet only two pods arrived (one create failed somewhere): make up the difference.
    expect(of(reconcileReplicaSet("ns/web", s).actions, "create")).toHaveLength(1);
  });

  it("acts again once expectations expire", () => {
    const clock = new FakeClock(T0);
    const s = state(rs(), [], clock);
    reconcileReplicaSet("ns/web", s);
    clock.advance(5 * 60 * 1000 + 1);
    expect(of(reconcileReplicaSet("ns/web", s).actions, "create")).toHaveLength(3);
  });

  it("still updates status while waiting on expectations", () => {
    const clock = new FakeClock(T0);
    const s = state(rs(), [pod("a", { readySince: 0 })], clock);
    s.expectations.expect("ns/web", 2, 0);
    const { actions } = reconcileReplicaSet("ns/web", s);
    expect(of(actions, "create")).toHaveLength(0);
    expect(of(actions, "updateStatus")).toHaveLength(1);
  });

  it("counts status with minReadySeconds and requeues for the next pod to become available", () => {
    const clock = new FakeClock(new Date(T0.getTime() + 100_000)); // now = T0 + 100s
    const pods = [
      pod("long-ready", { readySince: 0 }), // available
      pod("just-ready", { readySince: 95 }), // available at 125s
      pod("soon-ready", { readySince: 80 }), // available at 110s
      pod("not-ready"),
      pod("half-labelled", { labels: { app: "web" }, readySince: 0 }),
    ];
    const s = state(rs({ replicas: 5, minReadySeconds: 30 }), pods, clock);
    const result = reconcileReplicaSet("ns/web", s);
    const [upd] = of(result.actions, "updateStatus");
    expect(upd!.resource.resource).toBe("replicasets");
    expect(upd!.object.status).toEqual({ replicas: 5, fullyLabeledReplicas: 4, readyReplicas: 4, availableReplicas: 2, observedGeneration: 3 });
    expect(result.requeueAfterMs).toBe(10_000);

    clock.advance(10_000);
    const later = reconcileReplicaSet("ns/web", s);
    expect(of(later.actions, "updateStatus")[0]!.object.status).toMatchObject({ availableReplicas: 3 });
    expect(later.requeueAfterMs).toBe(15_000);
  });

  it("writes no status when nothing changed", () => {
    const status = { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 3 };
    const result = reconcileReplicaSet("ns/web", state(rs({ replicas: 1 }, {}, status), [pod("a", { readySince: 0 })]));
    expect(result).toEqual({ actions: [] });
  });

  it("does nothing for a ReplicaSet that is gone, and forgets its expectations", () => {
    const s = state(undefined, [pod("a")]);
    s.expectations.expect("ns/web", 3, 0);
    expect(reconcileReplicaSet("ns/web", s)).toEqual({ actions: [] });
    expect(s.expectations.get("ns/web")).toBeUndefined();
  });

  it("creates, deletes, adopts and releases nothing while the ReplicaSet is being deleted", () => {
    const deleting = { deletionTimestamp: at(0) };
    const up = reconcileReplicaSet("ns/web", state(rs({}, deleting), [pod("orphan", { owner: null }), pod("stray", { labels: { app: "x" } })]));
    expect(up.actions.filter((a) => a.verb !== "updateStatus")).toEqual([]);
    const down = reconcileReplicaSet("ns/web", state(rs({ replicas: 0 }, deleting), [pod("a"), pod("b")]));
    expect(down.actions.filter((a) => a.verb !== "updateStatus")).toEqual([]);
  });
});
