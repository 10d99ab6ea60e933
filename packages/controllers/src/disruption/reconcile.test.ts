// Book 11.3 (with 13.3's PodDisruptionBudgets): the disruption controller's reconcile against in-memory
// caches: healthy counts, int and percent budgets, controller scale, disruptedPods and fail-safe.
import { type KubeObject, type OwnerReference, type Pod, rfc3339 } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { readerOf } from "../framework/testing.js";
import { type Action, FakeClock, type ReconcileResult } from "../framework/types.js";
import { type ControllerScaleLookup, type PDB, type PDBStatus, reconcileDisruption, scaleOfController } from "./reconcile.js";

const T0 = new Date("2026-01-01T00:00:00Z");
const NS = "default";

function pdb(spec: PDB["spec"], status?: PDBStatus, generation = 1): PDB {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: "web", namespace: NS, uid: "pdb-uid", generation },
    spec,
    ...(status ? { status } : {}),
  };
}

interface PodOpts {
  labels?: Record<string, string>;
  ready?: boolean;
  phase?: NonNullable<Pod["status"]>["phase"];
  deleting?: boolean;
  owner?: OwnerReference;
  namespace?: string;
}

function pod(name: string, o: PodOpts = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: o.namespace ?? NS,
      uid: `uid-${name}`,
      labels: o.labels ?? { app: "web" },
      ...(o.deleting ? { deletionTimestamp: rfc3339(T0) } : {}),
      ...(o.owner ? { ownerReferences: [o.owner] } : {}),
    },
    spec: { containers: [{ name: "c", image: "nginx" }] },
    status: {
      phase: o.phase ?? "Running",
      conditions: [{ type: "Ready", status: (o.ready ?? true) ? "True" : "False" }],
    },
  };
}

const rsRef = (name: string, uid = `uid-${name}`): OwnerReference => ({ apiVersion: "apps/v1", kind: "ReplicaSet", name, uid, controller: true });
const sel = { matchLabels: { app: "web" } };
const noControllers: ControllerScaleLookup = () => undefined;

function run(p: PDB, pods: Pod[], controllers: ControllerScaleLookup = noControllers, clock = new FakeClock(T0)): ReconcileResult {
  return reconcileDisruption(`${NS}/web`, { pdbs: readerOf<KubeObject>([p]), pods: readerOf(pods), controllers, clock });
}

function written(r: ReconcileResult): PDB | undefined {
  const a = r.actions.find((x) => x.verb === "updateStatus");
  return a && a.verb === "updateStatus" ? (a.object as PDB) : undefined;
}

const cond = (p: PDB | undefined) => p?.status?.conditions?.find((c) => c.type === "DisruptionAllowed");
const events = (r: ReconcileResult) => r.actions.filter((a): a is Extract<Action, { verb: "event" }> => a.verb === "event");

describe("reconcileDisruption: integer minAvailable", () => {
  it("counts the selected pods as expected and allows healthy minus desired disruptions", () => {
    const r = run(pdb({ minAvailable: 2, selector: sel }), [pod("a"), pod("b"), pod("c"), pod("other", { labels: { app: "db" } })]);
    const s = written(r)!.status!;
    expect(s).toMatchObject({ expectedPods: 3, desiredHealthy: 2, currentHealthy: 3, disruptionsAllowed: 1, observedGeneration: 1 });
    expect(cond(written(r))).toMatchObject({ status: "True", reason: "SufficientPods", observedGeneration: 1, lastTransitionTime: rfc3339(T0) });
  });

  it("does not count pods that are not ready, are being deleted or have finished as healthy", () => {
    const pods = [pod("a"), pod("b", { ready: false }), pod("c", { deleting: true }), pod("d", { phase: "Succeeded" })];
    const s = written(run(pdb({ minAvailable: 2, selector: sel }), pods))!.status!;
    expect(s.currentHealthy).toBe(1);
    expect(s.expectedPods).toBe(4);
    expect(s.disruptionsAllowed).toBe(0);
    expect(cond(written(run(pdb({ minAvailable: 2, selector: sel }), pods)))).toMatchObject({ status: "False", reason: "InsufficientPods" });
  });

  it("never goes below zero disruptions", () => {
    const s = written(run(pdb({ minAvailable: 5, selector: sel }), [pod("a"), pod("b")]))!.status!;
    expect(s.disruptionsAllowed).toBe(0);
    expect(s.desiredHealthy).toBe(5);
  });

  it("a null selector selects nothing; an empty one selects every pod of the namespace", () => {
    const pods = [pod("a"), pod("b", { labels: { x: "y" } }), pod("elsewhere", { namespace: "other" })];
    const none = written(run(pdb({ minAvailable: 0, selector: null }), pods))!.status!;
    expect(none).toMatchObject({ expectedPods: 0, currentHealthy: 0, disruptionsAllowed: 0 });
    const all = written(run(pdb({ minAvailable: 0, selector: {} }), pods))!.status!;
    expect(all).toMatchObject({ expectedPods: 2, currentHealthy: 2, disruptionsAllowed: 2 });
  });

  it("allows nothing while it selects no pods, and says so in an event", () => {
    const r = run(pdb({ minAvailable: 0, selector: sel }), []);
    expect(written(r)!.status!.disruptionsAllowed).toBe(0);
    expect(events(r).map((e) => e.reason)).toContain("NoPods");
  });
});

describe("reconcileDisruption: percentages and maxUnavailable use controller scale", () => {
  const owned = (n: number, ref: OwnerReference) => Array.from({ length: n }, (_, i) => pod(`${ref.name}-${i}`, { owner: ref }));

  it("a percentage minAvailable is taken of the controllers' replicas, rounded up", () => {
    // 3 of 4 replicas are up; 30% of 4 rounds up to 2 desired.
    const r = run(pdb({ minAvailable: "30%", selector: sel }), owned(3, rsRef("rs1")), () => ({ replicas: 4 }));
    expect(written(r)!.status).toMatchObject({ expectedPods: 4, desiredHealthy: 2, currentHealthy: 3, disruptionsAllowed: 1 });
  });

  it("maxUnavailable subtracts from the scale (integer and rounded-up percentage)", () => {
    const pods = owned(3, rsRef("rs1"));
    expect(written(run(pdb({ maxUnavailable: 1, selector: sel }), pods, () => ({ replicas: 3 })))!.status).toMatchObject({
      expectedPods: 3,
      desiredHealthy: 2,
      disruptionsAllowed: 1,
    });
    // 25% of 3 = 0.75 -> 1 unavailable allowed.
    expect(written(run(pdb({ maxUnavailable: "25%", selector: sel }), pods, () => ({ replicas: 3 })))!.status).toMatchObject({
      desiredHealthy: 2,
      disruptionsAllowed: 1,
    });
    // More unavailable than replicas: desired floors at zero.
    expect(written(run(pdb({ maxUnavailable: 10, selector: sel }), pods, () => ({ replicas: 3 })))!.status).toMatchObject({
      desiredHealthy: 0,
      disruptionsAllowed: 3,
    });
  });

  it("sums distinct controllers once each, and counts a Deployment's two ReplicaSets once", () => {
    const pods = [...owned(2, rsRef("a")), ...owned(2, rsRef("b")), ...owned(1, rsRef("c"))];
    const scales: Record<string, { replicas: number; uid?: string }> = {
      a: { replicas: 3, uid: "deploy-uid" },
      b: { replicas: 3, uid: "deploy-uid" },
      c: { replicas: 2 },
    };
    const r = run(pdb({ maxUnavailable: 0, selector: sel }), pods, (_ns, ref) => scales[ref.name]);
    expect(written(r)!.status!.expectedPods).toBe(5);
  });

  it("leaves pods without a controller out of the scale and warns", () => {
    const r = run(pdb({ minAvailable: "50%", selector: sel }), [...owned(2, rsRef("a")), pod("loner")], () => ({ replicas: 2 }));
    expect(written(r)!.status).toMatchObject({ expectedPods: 2, currentHealthy: 3, desiredHealthy: 1, disruptionsAllowed: 2 });
    expect(events(r).find((e) => e.reason === "UnmanagedPods")?.type).toBe("Warning");
  });

  it("fails safe when a pod's controller cannot be found: no disruptions, SyncFailed, retry later", () => {
    const p = pdb({ maxUnavailable: 1, selector: sel }, { disruptionsAllowed: 2, observedGeneration: 1, currentHealthy: 3 });
    const r = run(p, owned(3, rsRef("gone")));
    const s = written(r)!.status!;
    expect(s.disruptionsAllowed).toBe(0);
    expect(s.currentHealthy).toBe(3);
    expect(cond(written(r))).toMatchObject({ status: "False", reason: "SyncFailed" });
    expect(cond(written(r))!.message).toContain('found no controllers for pod "gone-0"');
    expect(r.requeueAfterMs).toBeGreaterThan(0);
    // Once recorded, the same failure writes nothing more.
    const again = run(written(r)!, owned(3, rsRef("gone")));
    expect(again.actions).toEqual([]);
    expect(again.requeueAfterMs).toBeGreaterThan(0);
  });

  it("fails safe on a malformed budget or selector instead of throwing", () => {
    const bad = run(pdb({ minAvailable: "half", selector: sel }), [pod("a", { owner: rsRef("a") })], () => ({ replicas: 1 }));
    expect(cond(written(bad))).toMatchObject({ reason: "SyncFailed" });
    expect(cond(written(bad))!.message).toMatch(/minAvailable.*"half"/);
    const badSel = run(pdb({ minAvailable: 1, selector: { matchExpressions: [{ key: "app", operator: "Near" }] } }), [pod("a")]);
    expect(cond(written(badSel))).toMatchObject({ status: "False", reason: "SyncFailed" });
    expect(cond(written(badSel))!.message).toContain("Near");
  });
});

describe("reconcileDisruption: disruptedPods and writes", () => {
  it("keeps recent eviction notes (those pods do not count) and requeues for their expiry", () => {
    const clock = new FakeClock(new Date(T0.getTime() + 60_000));
    const p = pdb({ minAvailable: 1, selector: sel }, { disruptedPods: { a: rfc3339(T0) } });
    const r = run(p, [pod("a"), pod("b"), pod("c")], noControllers, clock);
    const s = written(r)!.status!;
    expect(s.disruptedPods).toEqual({ a: rfc3339(T0) });
    expect(s.currentHealthy).toBe(2);
    expect(s.disruptionsAllowed).toBe(1);
    expect(r.requeueAfterMs).toBe(60_000);
  });

  it("drops notes older than two minutes, for deleting pods and for pods that are gone", () => {
    const clock = new FakeClock(new Date(T0.getTime() + 3 * 60_000));
    const recent = rfc3339(new Date(T0.getTime() + 2 * 60_000));
    const p = pdb({ minAvailable: 1, selector: sel }, { disruptedPods: { old: rfc3339(T0), del: recent, gone: recent, keep: recent } });
    const r = run(p, [pod("old"), pod("del", { deleting: true }), pod("keep")], noControllers, clock);
    const s = written(r)!.status!;
    expect(s.disruptedPods).toEqual({ keep: recent });
    expect(s.currentHealthy).toBe(1); // "old" counts again; "keep" is noted, "del" is deleting
    expect(events(r).find((e) => e.reason === "NotDeleted")?.object.metadata.name).toBe("old");
    expect(r.requeueAfterMs).toBe(60_000);
  });

  it("writes nothing when the status is already current, and again when the generation moves", () => {
    const pods = [pod("a"), pod("b")];
    const first = written(run(pdb({ minAvailable: 1, selector: sel }), pods))!;
    const clock = new FakeClock(new Date(T0.getTime() + 3_600_000));
    expect(run(first, pods, noControllers, clock).actions).toEqual([]);

    const bumped = { ...first, metadata: { ...first.metadata, generation: 2 } };
    const next = written(run(bumped, pods, noControllers, clock))!;
    expect(next.status!.observedGeneration).toBe(2);
    // Same condition status: its transition time stays where it was.
    expect(cond(next)!.lastTransitionTime).toBe(rfc3339(T0));
  });

  it("moves the condition and its transition time when disruptions run out", () => {
    const first = written(run(pdb({ minAvailable: 1, selector: sel }), [pod("a"), pod("b")]))!;
    expect(cond(first)!.status).toBe("True");
    const later = new FakeClock(new Date(T0.getTime() + 5_000));
    const next = written(run(first, [pod("a"), pod("b", { ready: false })], noControllers, later))!;
    expect(next.status!.disruptionsAllowed).toBe(0);
    expect(cond(next)).toMatchObject({ status: "False", reason: "InsufficientPods", lastTransitionTime: rfc3339(later.now()) });
  });

  it("does nothing for a budget that is not in the cache", () => {
    const r = reconcileDisruption(`${NS}/missing`, { pdbs: readerOf([]), pods: readerOf([pod("a")]), controllers: noControllers, clock: new FakeClock(T0) });
    expect(r.actions).toEqual([]);
  });
});

describe("scaleOfController", () => {
  const obj = (kind: string, name: string, replicas: number | undefined, owner?: OwnerReference): KubeObject => ({
    apiVersion: "apps/v1",
    kind,
    metadata: { name, namespace: NS, uid: `uid-${name}`, ...(owner ? { ownerReferences: [owner] } : {}) },
    spec: replicas === undefined ? {} : { replicas },
  });
  const deployRef: OwnerReference = { apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "uid-web", controller: true };
  const readers = {
    replicaSets: readerOf([obj("ReplicaSet", "web-1", 2, deployRef), obj("ReplicaSet", "solo", 4), obj("ReplicaSet", "orphaned-deploy", 1, { ...deployRef, name: "nope", uid: "uid-nope" })]),
    deployments: readerOf([obj("Deployment", "web", 5)]),
    statefulSets: readerOf([obj("StatefulSet", "db", undefined)]),
    replicationControllers: readerOf([{ apiVersion: "v1", kind: "ReplicationController", metadata: { name: "rc", namespace: NS, uid: "uid-rc" }, spec: { replicas: 7 } }]),
  };
  const lookup = scaleOfController(readers);

  it("counts a ReplicaSet owned by a Deployment as the Deployment", () => {
    expect(lookup(NS, rsRef("web-1"))).toEqual({ replicas: 5, uid: "uid-web" });
  });

  it("resolves standalone ReplicaSets, StatefulSets (default 1 replica) and ReplicationControllers", () => {
    expect(lookup(NS, rsRef("solo"))).toEqual({ replicas: 4, uid: "uid-solo" });
    expect(lookup(NS, { apiVersion: "apps/v1", kind: "StatefulSet", name: "db", uid: "uid-db" })).toEqual({ replicas: 1, uid: "uid-db" });
    expect(lookup(NS, { apiVersion: "v1", kind: "ReplicationController", name: "rc", uid: "uid-rc" })).toEqual({ replicas: 7, uid: "uid-rc" });
  });

  it("returns undefined for another incarnation, a missing Deployment, the wrong group or an unknown kind", () => {
    expect(lookup(NS, rsRef("solo", "other-uid"))).toBeUndefined();
    expect(lookup(NS, rsRef("orphaned-deploy"))).toBeUndefined();
    expect(lookup(NS, { apiVersion: "example.com/v1", kind: "ReplicaSet", name: "solo", uid: "uid-solo" })).toBeUndefined();
    expect(lookup(NS, { apiVersion: "batch/v1", kind: "Job", name: "j", uid: "u" })).toBeUndefined();
    expect(lookup("other", rsRef("solo"))).toBeUndefined();
  });

  it("plugs into reconcileDisruption: a rollout's two ReplicaSets count as one Deployment", () => {
    const rs2 = obj("ReplicaSet", "web-2", 3, deployRef);
    readers.replicaSets.objects.push(rs2);
    const pods = [pod("p1", { owner: rsRef("web-1") }), pod("p2", { owner: rsRef("web-2") })];
    const s = written(run(pdb({ maxUnavailable: "20%", selector: sel }), pods, lookup))!.status!;
    // 5 replicas, 20% -> 1 unavailable: desired 4 with 2 healthy.
    expect(s).toMatchObject({ expectedPods: 5, desiredHealthy: 4, currentHealthy: 2, disruptionsAllowed: 0 });
  });
});
