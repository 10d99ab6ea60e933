// Book 11.3: tests for the StatefulSet reconcile: ordered and parallel scale-up, claims before pods,
// scale-down from the top, partitioned rolling updates, revisions, status, and pods that are not ours.
import type { KubeObject, Pod } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { readerOf } from "../framework/testing.js";
import { type Action, FakeClock } from "../framework/types.js";
import { MAX_BATCH, POD_INDEX_LABEL, POD_NAME_LABEL, REVISION_LABEL, reconcileStatefulSet, type StatefulSet, type StatefulSetStatus } from "./reconcile.js";
import type { ControllerRevision } from "./revisions.js";

const T0 = new Date("2026-01-01T00:00:00Z");
const at = (s: number) => new Date(T0.getTime() + s * 1000).toISOString();
const KEY = "db/web";

function sts(over: Partial<StatefulSet["spec"]> = {}, status?: StatefulSetStatus): StatefulSet {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "web", namespace: "db", uid: "sts-uid", generation: 3 },
    spec: {
      replicas: 3,
      serviceName: "nginx",
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web", tier: "db" } }, spec: { containers: [{ name: "c", image: "web:1" }] } },
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      ...over,
    },
    ...(status ? { status } : {}),
  };
}

const image = (p: Pod) => p.spec.containers[0]?.image;
const of = <V extends Action["verb"]>(actions: Action[], verb: V) => actions.filter((a): a is Extract<Action, { verb: V }> => a.verb === verb);
const createdPods = (actions: Action[]) => of(actions, "create").filter((a) => a.resource.resource === "pods").map((a) => a.object as Pod);
const createdNames = (actions: Action[], resource: string) => of(actions, "create").filter((a) => a.resource.resource === resource).map((a) => a.object.metadata.name);
const deletedPods = (actions: Action[]) => of(actions, "delete").filter((a) => a.resource.resource === "pods").map((a) => a.name);
const statusOf = (actions: Action[]) => of(actions, "updateStatus").map((a) => (a.object as StatefulSet).status)[0];

/**
 * A tiny world: reconcile, then apply the writes to the stores the way an API server would
 * (deletes take effect at once), so multi-step behaviour can be followed round by round.
 */
class World {
  set: StatefulSet;
  pods: Pod[] = [];
  pvcs: KubeObject[] = [];
  revisions: ControllerRevision[] = [];
  clock = new FakeClock(new Date(T0.getTime() + 600_000));
  private uid = 0;

  constructor(set: StatefulSet) {
    this.set = set;
  }

  reconcile() {
    return reconcileStatefulSet(KEY, {
      statefulSets: readerOf([this.set]),
      pods: readerOf(this.pods),
      pvcs: readerOf(this.pvcs),
      revisions: readerOf(this.revisions),
      clock: this.clock,
    });
  }

  /** One round: reconcile and apply its writes. */
  step(): Action[] {
    const { actions } = this.reconcile();
    for (const a of actions) {
      const meta = (o: KubeObject) => ({ ...o.metadata, uid: `uid-${++this.uid}`, creationTimestamp: this.clock.now().toISOString() });
      if (a.verb === "create" && a.resource.resource === "pods") this.pods.push({ ...(a.object as Pod), metadata: meta(a.object), status: { phase: "Pending" } });
      if (a.verb === "create" && a.resource.resource === "persistentvolumeclaims") this.pvcs.push({ ...a.object, metadata: meta(a.object) });
      if (a.verb === "create" && a.resource.resource === "controllerrevisions") this.revisions.push({ ...a.object, metadata: meta(a.object) });
      if (a.verb === "update" && a.resource.resource === "controllerrevisions") {
        this.revisions = this.revisions.map((r) => (r.metadata.name === a.object.metadata.name ? (a.object as ControllerRevision) : r));
      }
      if (a.verb === "delete" && a.resource.resource === "pods") this.pods = this.pods.filter((p) => p.metadata.name !== a.name);
      if (a.verb === "delete" && a.resource.resource === "controllerrevisions") this.revisions = this.revisions.filter((p) => p.metadata.name !== a.name);
      if (a.verb === "updateStatus") this.set = a.object as StatefulSet;
    }
    return actions;
  }

  /** The kubelet's part: every pod (or the named ones) running and ready since `sinceS`. */
  makeReady(names?: string[], sinceS = 0) {
    for (const p of this.pods) {
      if (names && !names.includes(p.metadata.name ?? "")) continue;
      p.status = { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: at(sinceS) }] };
    }
  }

  pod(name: string): Pod | undefined {
    return this.pods.find((p) => p.metadata.name === name);
  }

  names(): string[] {
    return this.pods.map((p) => p.metadata.name ?? "").sort();
  }

  /** Change the template, as `kubectl set image` would (the generation goes up). */
  setImage(img: string) {
    const t = structuredClone(this.set.spec.template!);
    t.spec.containers[0]!.image = img;
    this.set = { ...this.set, metadata: { ...this.set.metadata, generation: (this.set.metadata.generation ?? 0) + 1 }, spec: { ...this.set.spec, template: t } };
  }
}

/** A world whose pods 0..n-1 are already running and ready at the set's revision. */
function settled(set: StatefulSet): World {
  const w = new World(set);
  for (let i = 0; i < 10 && w.pods.length < (set.spec.replicas ?? 1); i++) {
    w.step();
    w.makeReady();
  }
  w.step();
  return w;
}

describe("reconcileStatefulSet: scale up", () => {
  it("OrderedReady creates only ordinal 0, with its identity, labels, revision and owner", () => {
    const w = new World(sts());
    const actions = w.step();
    const pods = createdPods(actions);
    expect(pods.map((p) => p.metadata.name)).toEqual(["web-0"]);
    const p = pods[0]!;
    const revision = createdNames(actions, "controllerrevisions")[0]!;
    expect(revision).toMatch(/^web-[a-z0-9]+$/);
    expect(p.metadata.generateName).toBeUndefined();
    expect(p.metadata.namespace).toBe("db");
    expect(p.spec.hostname).toBe("web-0");
    expect(p.spec.subdomain).toBe("nginx");
    expect(p.metadata.labels).toEqual({ app: "web", tier: "db", [POD_NAME_LABEL]: "web-0", [POD_INDEX_LABEL]: "0", [REVISION_LABEL]: revision });
    expect(p.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "sts-uid", controller: true, blockOwnerDeletion: true }]);
    expect(image(p)).toBe("web:1");
  });

  it("OrderedReady waits for each pod to be Running and Ready before the next", () => {
    const w = new World(sts());
    w.step();
    expect(createdPods(w.step())).toEqual([]); // web-0 Pending
    w.pod("web-0")!.status = { phase: "Running", conditions: [{ type: "Ready", status: "False" }] };
    expect(createdPods(w.step())).toEqual([]); // running, not ready
    w.makeReady(["web-0"]);
    expect(createdPods(w.step()).map((p) => p.metadata.name)).toEqual(["web-1"]);
    expect(createdPods(w.step())).toEqual([]);
    w.makeReady();
    expect(createdPods(w.step()).map((p) => p.metadata.name)).toEqual(["web-2"]);
    w.makeReady();
    expect(createdPods(w.step())).toEqual([]);
    expect(w.names()).toEqual(["web-0", "web-1", "web-2"]);
  });

  it("OrderedReady waits minReadySeconds before the next pod and asks to be requeued", () => {
    const w = new World(sts({ minReadySeconds: 30 }));
    w.step();
    const nowS = (w.clock.now().getTime() - T0.getTime()) / 1000;
    w.makeReady(["web-0"], nowS - 10);
    const r = w.reconcile();
    expect(createdPods(r.actions)).toEqual([]);
    expect(r.requeueAfterMs).toBe(20_000);
    w.clock.advance(20_000);
    expect(createdPods(w.step()).map((p) => p.metadata.name)).toEqual(["web-1"]);
  });

  it("Parallel creates every missing pod at once", () => {
    const w = new World(sts({ podManagementPolicy: "Parallel" }));
    expect(createdPods(w.step()).map((p) => p.metadata.name)).toEqual(["web-0", "web-1", "web-2"]);
  });

  it("honours spec.ordinals.start", () => {
    const w = new World(sts({ replicas: 2, ordinals: { start: 5 }, podManagementPolicy: "Parallel" }));
    const pods = createdPods(w.step());
    expect(pods.map((p) => p.metadata.name)).toEqual(["web-5", "web-6"]);
    expect(pods[1]!.metadata.labels?.[POD_INDEX_LABEL]).toBe("6");
  });

  it("recreates a pod that was deleted, under the same name", () => {
    const w = settled(sts());
    w.pods = w.pods.filter((p) => p.metadata.name !== "web-1");
    expect(createdPods(w.step()).map((p) => p.metadata.name)).toEqual(["web-1"]);
  });
});

describe("reconcileStatefulSet: volume claims", () => {
  const claims = {
    volumeClaimTemplates: [
      { metadata: { name: "data", labels: { disk: "ssd" } }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
      { metadata: { name: "logs" }, spec: { accessModes: ["ReadWriteOnce"] } },
    ],
  };

  it("creates the pod's claims before the pod and mounts them", () => {
    const set = sts({ ...claims });
    set.spec.template!.spec.volumes = [{ name: "logs", emptyDir: {} }, { name: "config", configMap: { name: "cfg" } }];
    const w = new World(set);
    const actions = w.step().filter((a) => a.verb === "create" && a.resource.resource !== "controllerrevisions");
    expect(actions.map((a) => `${(a as { resource: { resource: string } }).resource.resource}/${(a as { object: KubeObject }).object.metadata.name}`)).toEqual([
      "persistentvolumeclaims/data-web-0",
      "persistentvolumeclaims/logs-web-0",
      "pods/web-0",
    ]);
    const pvc = w.pvcs.find((c) => c.metadata.name === "data-web-0")!;
    expect(pvc.metadata.namespace).toBe("db");
    expect(pvc.metadata.labels).toEqual({ disk: "ssd", app: "web" });
    expect(pvc.spec).toEqual(claims.volumeClaimTemplates[0]!.spec);
    // The claim volume replaces the template's volume of the same name; others stay.
    expect(w.pod("web-0")!.spec.volumes).toEqual([
      { name: "data", persistentVolumeClaim: { claimName: "data-web-0" } },
      { name: "logs", persistentVolumeClaim: { claimName: "logs-web-0" } },
      { name: "config", configMap: { name: "cfg" } },
    ]);
  });

  it("Parallel puts each pod's claims ahead of it and reuses claims that exist", () => {
    const w = new World(sts({ ...claims, podManagementPolicy: "Parallel", replicas: 2 }));
    w.pvcs.push({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data-web-1", namespace: "db" } });
    const order = w
      .step()
      .filter((a) => a.verb === "create" && a.resource.resource !== "controllerrevisions")
      .map((a) => (a as { object: KubeObject }).object.metadata.name);
    expect(order).toEqual(["data-web-0", "logs-web-0", "web-0", "logs-web-1", "web-1"]);
  });

  it("does not create a pod while one of its claims is still being deleted", () => {
    const w = new World(sts({ ...claims }));
    w.pvcs.push({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data-web-0", namespace: "db", deletionTimestamp: at(1) } });
    const r = w.reconcile();
    expect(createdPods(r.actions)).toEqual([]);
    expect(r.requeueAfterMs).toBeGreaterThan(0);
  });

  it("keeps claims on scale down (Retain)", () => {
    const w = settled(sts({ ...claims }));
    expect(w.pvcs).toHaveLength(6);
    w.set = { ...w.set, spec: { ...w.set.spec, replicas: 1 } };
    const actions = [...w.step(), ...w.step()];
    expect(w.names()).toEqual(["web-0"]);
    expect(of(actions, "delete").filter((a) => a.resource.resource === "persistentvolumeclaims")).toEqual([]);
    expect(w.pvcs).toHaveLength(6);
  });
});

describe("reconcileStatefulSet: scale down", () => {
  it("OrderedReady deletes the highest ordinal first, one at a time", () => {
    const w = settled(sts({ replicas: 4 }));
    w.set = { ...w.set, spec: { ...w.set.spec, replicas: 1 } };
    const a1 = w.reconcile().actions;
    expect(deletedPods(a1)).toEqual(["web-3"]);
    // web-3 still terminating: nothing more.
    w.pod("web-3")!.metadata.deletionTimestamp = at(1);
    expect(deletedPods(w.reconcile().actions)).toEqual([]);
    w.pods = w.pods.filter((p) => p.metadata.name !== "web-3");
    expect(deletedPods(w.step())).toEqual(["web-2"]);
    expect(deletedPods(w.step())).toEqual(["web-1"]);
    expect(w.names()).toEqual(["web-0"]);
  });

  it("OrderedReady does not scale down while another pod is unhealthy", () => {
    const w = settled(sts());
    w.set = { ...w.set, spec: { ...w.set.spec, replicas: 1 } };
    w.pod("web-0")!.status = { phase: "Running", conditions: [{ type: "Ready", status: "False" }] };
    expect(deletedPods(w.reconcile().actions)).toEqual([]);
  });

  it("an unhealthy top pod may go only if it is the first unhealthy one", () => {
    const w = settled(sts());
    w.set = { ...w.set, spec: { ...w.set.spec, replicas: 1 } };
    w.pod("web-2")!.status = { phase: "Running", conditions: [] };
    expect(deletedPods(w.reconcile().actions)).toEqual(["web-2"]);
    // With web-1 unhealthy too, web-1 is the first unhealthy pod, so web-2 must wait.
    w.pod("web-1")!.status = { phase: "Running", conditions: [] };
    expect(deletedPods(w.reconcile().actions)).toEqual([]);
  });

  it("Parallel deletes every condemned pod at once", () => {
    const w = settled(sts({ podManagementPolicy: "Parallel" }));
    w.set = { ...w.set, spec: { ...w.set.spec, replicas: 1 } };
    expect(deletedPods(w.reconcile().actions).sort()).toEqual(["web-1", "web-2"]);
  });
});

describe("reconcileStatefulSet: rolling update", () => {
  it("replaces pods from the highest ordinal down to the partition, one at a time", () => {
    const w = settled(sts({ replicas: 4, updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1 } } }));
    const oldRev = w.set.status?.currentRevision;
    expect(oldRev).toBeTruthy();
    w.setImage("web:2");

    const a1 = w.step();
    expect(createdNames(a1, "controllerrevisions")).toHaveLength(1);
    const newRev = createdNames(a1, "controllerrevisions")[0]!;
    expect(deletedPods(a1)).toEqual(["web-3"]);
    expect(statusOf(a1)).toMatchObject({ currentRevision: oldRev, updateRevision: newRev, observedGeneration: 4 });

    const a2 = w.step();
    expect(createdPods(a2).map((p) => [p.metadata.name, image(p), p.metadata.labels?.[REVISION_LABEL]])).toEqual([["web-3", "web:2", newRev]]);
    // The new web-3 is not ready yet: nothing else goes.
    expect(deletedPods(w.step())).toEqual([]);
    w.makeReady();
    expect(deletedPods(w.step())).toEqual(["web-2"]);
    w.step();
    w.makeReady();
    expect(deletedPods(w.step())).toEqual(["web-1"]);
    w.step();
    w.makeReady();
    // web-0 is below the partition: it keeps the old revision.
    for (let i = 0; i < 3; i++) expect(deletedPods(w.step())).toEqual([]);
    expect(w.pods.map((p) => [p.metadata.name, image(p)]).sort()).toEqual([
      ["web-0", "web:1"],
      ["web-1", "web:2"],
      ["web-2", "web:2"],
      ["web-3", "web:2"],
    ]);
    expect(w.set.status).toMatchObject({ replicas: 4, readyReplicas: 4, currentReplicas: 1, updatedReplicas: 3, currentRevision: oldRev, updateRevision: newRev });

    // Lowering the partition to 0 finishes the rollout and the update revision becomes current.
    w.set = { ...w.set, spec: { ...w.set.spec, updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } } } };
    expect(deletedPods(w.step())).toEqual(["web-0"]);
    w.step();
    w.makeReady();
    w.step();
    expect(w.set.status).toMatchObject({ currentReplicas: 4, updatedReplicas: 4, currentRevision: newRev, updateRevision: newRev });
  });

  it("recreates a lost pod below the partition from the current revision's template", () => {
    const w = settled(sts({ updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } } }));
    const oldRev = w.set.status?.currentRevision;
    w.setImage("web:2");
    w.step();
    w.pods = w.pods.filter((p) => p.metadata.name !== "web-0");
    const created = createdPods(w.step());
    expect(created.map((p) => [p.metadata.name, image(p), p.metadata.labels?.[REVISION_LABEL]])).toEqual([["web-0", "web:1", oldRev]]);
  });

  it("OnDelete never deletes for an update, but a pod deleted by hand comes back new", () => {
    const w = settled(sts({ updateStrategy: { type: "OnDelete" } }));
    w.setImage("web:2");
    for (let i = 0; i < 3; i++) expect(deletedPods(w.step())).toEqual([]);
    w.pods = w.pods.filter((p) => p.metadata.name !== "web-1");
    expect(createdPods(w.step()).map((p) => [p.metadata.name, image(p)])).toEqual([["web-1", "web:2"]]);
  });

  it("a rollback to an earlier template reuses its revision with the next number", () => {
    const w = settled(sts({ replicas: 1 }));
    const first = w.set.status!.updateRevision!;
    w.setImage("web:2");
    w.step();
    const second = w.set.status!.updateRevision!;
    expect(second).not.toBe(first);
    w.setImage("web:1");
    const actions = w.step();
    expect(createdNames(actions, "controllerrevisions")).toEqual([]);
    const updated = of(actions, "update").filter((a) => a.resource.resource === "controllerrevisions");
    expect(updated.map((a) => [a.object.metadata.name, (a.object as ControllerRevision).revision])).toEqual([[first, 3]]);
    expect(statusOf(actions)?.updateRevision).toBe(first);
  });

  it("moves to a new name (collisionCount + 1) when the hashed name is taken by other data", () => {
    const w = new World(sts());
    const probe = new World(sts());
    const name = createdNames(probe.step(), "controllerrevisions")[0]!;
    w.revisions.push({ apiVersion: "apps/v1", kind: "ControllerRevision", metadata: { name, namespace: "db" }, data: { other: true }, revision: 1 });
    const actions = w.step();
    const made = createdNames(actions, "controllerrevisions");
    expect(made).toHaveLength(1);
    expect(made[0]).not.toBe(name);
    expect(statusOf(actions)).toMatchObject({ collisionCount: 1, updateRevision: made[0] });
    expect(createdPods(actions)[0]!.metadata.labels?.[REVISION_LABEL]).toBe(made[0]);
    // The next round finds the same revision again instead of making another.
    expect(createdNames(w.step(), "controllerrevisions")).toEqual([]);
  });

  it("prunes unused revisions beyond revisionHistoryLimit, oldest first", () => {
    const w = settled(sts({ replicas: 1, revisionHistoryLimit: 1 }));
    for (const img of ["web:2", "web:3", "web:4"]) {
      w.setImage(img);
      for (let i = 0; i < 3; i++) {
        w.step();
        w.makeReady();
      }
    }
    // Live: the one the pod runs (web:4); history: only the newest unused one (web:3) is kept.
    expect(w.revisions.map((r) => (r.data as { spec: { template: { spec: Pod["spec"] } } }).spec.template.spec.containers[0]!.image)).toEqual(["web:3", "web:4"]);
  });
});

describe("reconcileStatefulSet: identity", () => {
  it("puts missing identity labels back on a live pod", () => {
    const w = settled(sts({ replicas: 1 }));
    delete w.pod("web-0")!.metadata.labels![POD_INDEX_LABEL];
    const updates = of(w.reconcile().actions, "update").filter((a) => a.resource.resource === "pods");
    expect(updates.map((a) => a.object.metadata.labels?.[POD_INDEX_LABEL])).toEqual(["0"]);
  });

  it("asks for at most MAX_BATCH pods a round from a huge Parallel set", () => {
    const w = new World(sts({ podManagementPolicy: "Parallel", replicas: 1_000_000_000 }));
    expect(createdPods(w.reconcile().actions)).toHaveLength(MAX_BATCH);
  });
});

describe("reconcileStatefulSet: failed pods", () => {
  it("deletes a Failed pod and recreates it once it is gone", () => {
    const w = settled(sts());
    w.pod("web-1")!.status = { phase: "Failed" };
    const a1 = w.step();
    expect(deletedPods(a1)).toEqual(["web-1"]);
    expect(createdPods(a1)).toEqual([]);
    expect(createdPods(w.step()).map((p) => p.metadata.name)).toEqual(["web-1"]);
  });
});

describe("reconcileStatefulSet: status", () => {
  it("reports replicas, ready, available (minReadySeconds), current and updated counts", () => {
    const w = new World(sts({ podManagementPolicy: "Parallel", minReadySeconds: 60 }));
    w.step();
    const nowS = (w.clock.now().getTime() - T0.getTime()) / 1000;
    w.makeReady(["web-0"], nowS - 120);
    w.makeReady(["web-1"], nowS - 15);
    const r = w.reconcile();
    const status = statusOf(r.actions)!;
    const rev = w.revisions[0]!.metadata.name;
    expect(status).toEqual({
      observedGeneration: 3,
      replicas: 3,
      readyReplicas: 2,
      availableReplicas: 1,
      currentReplicas: 3,
      updatedReplicas: 3,
      currentRevision: rev,
      updateRevision: rev,
      collisionCount: 0,
    });
    expect(r.requeueAfterMs).toBe(45_000);
  });

  it("writes no status when nothing changed", () => {
    const w = settled(sts());
    expect(of(w.reconcile().actions, "updateStatus")).toEqual([]);
    expect(w.reconcile().actions).toEqual([]);
  });
});

describe("reconcileStatefulSet: ownership", () => {
  it("ignores pods another controller owns, even with matching labels and a member name", () => {
    const w = settled(sts({ replicas: 2 }));
    const foreign: Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "web-7",
        namespace: "db",
        uid: "other",
        labels: { app: "web" },
        ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "rs-uid", controller: true }],
      },
      spec: { containers: [{ name: "c" }] },
      status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
    };
    w.pods.push(foreign);
    const actions = w.reconcile().actions;
    expect(actions).toEqual([]);
    expect(w.set.status?.replicas).toBe(2);
  });

  it("adopts a matching orphan pod named as a member", () => {
    const w = settled(sts({ replicas: 2 }));
    const orphan = w.pod("web-1")!;
    orphan.metadata.ownerReferences = [];
    const patches = of(w.reconcile().actions, "patch");
    expect(patches).toHaveLength(1);
    expect(patches[0]).toMatchObject({ name: "web-1", patch: { metadata: { ownerReferences: [{ kind: "StatefulSet", uid: "sts-uid", controller: true }] } } });
  });

  it("does nothing for a StatefulSet that is gone", () => {
    expect(
      reconcileStatefulSet("db/missing", { statefulSets: readerOf([]), pods: readerOf([]), pvcs: readerOf([]), revisions: readerOf([]), clock: new FakeClock(T0) }).actions,
    ).toEqual([]);
  });

  it("a StatefulSet being deleted only has its status kept up to date", () => {
    const w = new World(sts());
    w.set.metadata.deletionTimestamp = at(1);
    const actions = w.reconcile().actions;
    expect(actions.map((a) => a.verb)).toEqual(["updateStatus"]);
  });
});

describe("reconcileStatefulSet: bad input", () => {
  const run = (set: StatefulSet) =>
    reconcileStatefulSet(KEY, { statefulSets: readerOf([set]), pods: readerOf([]), pvcs: readerOf([]), revisions: readerOf([]), clock: new FakeClock(T0) }).actions;

  it.each([
    ["negative replicas", sts({ replicas: -1 }), /spec\.replicas/],
    ["fractional partition", sts({ updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1.5 } } }), /partition/],
    ["no template", sts({ template: undefined }), /spec\.template/],
    ["nameless claim template", sts({ volumeClaimTemplates: [{ spec: {} }] }), /volumeClaimTemplates/],
    ["bad selector operator", sts({ selector: { matchExpressions: [{ key: "a", operator: "Near" as "In" }] } }), /selector/],
    ["empty selector", sts({ selector: {} }), /selecting all pods/],
  ])("%s gives a Warning event and no writes", (_label, set, message) => {
    const actions = run(set);
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ verb: "event", type: "Warning" });
    expect((actions[0] as { message: string }).message).toMatch(message);
  });
});
