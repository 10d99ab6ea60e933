// Book 2.3.3 and 11.3: tests for the Deployment reconcile against a tiny simulated cluster: the
// first ReplicaSet, rolling updates step by step, Recreate, history cleanup, status and conditions,
// the progress deadline, pausing, scaling mid-rollout, adoption and hash collisions.
import type { Pod } from "@corekube/api";
import { describe, expect, it } from "vitest";
import type { PodTemplateSpec } from "../framework/pods.js";
import { readerOf } from "../framework/testing.js";
import { type Action, FakeClock, type ReconcileResult } from "../framework/types.js";
import type { ReplicaSet } from "../replicaset/reconcile.js";
import { podTemplateHash } from "./hash.js";
import { type Deployment, type DeploymentSpec, reconcileDeployment, resolveFenceposts } from "./reconcile.js";

const T0 = new Date("2026-01-01T00:00:00Z");
const at = (s: number) => new Date(T0.getTime() + s * 1000).toISOString();

const template = (image: string): PodTemplateSpec => ({ metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image }] } });

function deployment(spec: Partial<DeploymentSpec> = {}, meta: Partial<Deployment["metadata"]> = {}): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "ns", uid: "d-uid", generation: 1, ...meta },
    spec: { replicas: 4, selector: { matchLabels: { app: "web" } }, template: template("nginx:1"), ...spec },
  };
}

const of = <V extends Action["verb"]>(actions: Action[], verb: V) => actions.filter((a): a is Extract<Action, { verb: V }> => a.verb === verb);

/** A Deployment, its ReplicaSets and pods, with the writes of each reconcile applied. */
class Cluster {
  rss: ReplicaSet[] = [];
  pods: Pod[] = [];
  clock = new FakeClock(T0);
  private n = 0;
  constructor(public d: Deployment) {}

  reconcile(): ReconcileResult {
    const res = reconcileDeployment("ns/web", {
      deployments: readerOf([this.d]),
      replicaSets: readerOf(this.rss),
      pods: readerOf(this.pods),
      clock: this.clock,
    });
    for (const a of res.actions) {
      if (a.verb === "create") {
        const rs = structuredClone(a.object) as ReplicaSet;
        rs.metadata.uid = `rs-uid-${++this.n}`;
        rs.metadata.creationTimestamp = new Date(this.clock.now().getTime() + this.n).toISOString();
        this.rss.push(rs);
      } else if (a.verb === "update") {
        const i = this.rss.findIndex((r) => r.metadata.name === a.object.metadata.name);
        this.rss[i] = structuredClone(a.object) as ReplicaSet;
      } else if (a.verb === "delete") {
        this.rss = this.rss.filter((r) => r.metadata.name !== a.name);
      } else if (a.verb === "updateStatus") {
        this.d = structuredClone(a.object) as Deployment;
      } else if (a.verb === "patch" && a.resource.resource === "deployments") {
        const ann = (a.patch as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
        this.d.metadata.annotations = { ...(this.d.metadata.annotations ?? {}), ...ann };
      }
    }
    return res;
  }

  rs(image: string): ReplicaSet | undefined {
    return this.rss.find((r) => r.spec.template?.spec.containers[0]?.image === image);
  }

  /** The ReplicaSet controller and kubelets catch up: every RS has spec.replicas pods, `available` of them available. */
  settle(available: (rs: ReplicaSet) => number = (rs) => rs.spec.replicas ?? 0): void {
    for (const rs of this.rss) {
      const want = rs.spec.replicas ?? 0;
      const avail = Math.min(want, available(rs));
      rs.status = { replicas: want, readyReplicas: avail, availableReplicas: avail, observedGeneration: rs.metadata.generation ?? 0 };
    }
  }

  setTemplate(image: string): void {
    this.d = { ...this.d, metadata: { ...this.d.metadata, generation: (this.d.metadata.generation ?? 1) + 1 }, spec: { ...this.d.spec, template: template(image) } };
  }

  cond(type: string) {
    return this.d.status?.conditions?.find((c) => c.type === type);
  }
}

describe("reconcileDeployment: the first ReplicaSet", () => {
  it("creates <name>-<hash> with the hash label, revision 1 and replica annotations", () => {
    const c = new Cluster(deployment());
    const { actions } = c.reconcile();
    const [create] = of(actions, "create");
    const rs = create?.object as ReplicaSet;
    const hash = podTemplateHash(template("nginx:1"));
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.metadata.labels).toEqual({ app: "web", "pod-template-hash": hash });
    expect(rs.spec.selector?.matchLabels).toEqual({ app: "web", "pod-template-hash": hash });
    expect(rs.spec.template?.metadata?.labels).toEqual({ app: "web", "pod-template-hash": hash });
    expect(rs.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "d-uid", controller: true, blockOwnerDeletion: true }]);
    expect(rs.metadata.annotations).toMatchObject({
      "deployment.kubernetes.io/revision": "1",
      "deployment.kubernetes.io/desired-replicas": "4",
      "deployment.kubernetes.io/max-replicas": "5",
    });
    expect(rs.spec.replicas).toBe(4);
    expect(of(actions, "event").map((e) => e.reason)).toEqual(["ScalingReplicaSet"]);
    expect(c.d.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("1");
    expect(c.cond("Progressing")).toMatchObject({ status: "True", reason: "NewReplicaSetCreated" });
  });

  it("does nothing more once the ReplicaSet exists and is complete, then reports completion", () => {
    const c = new Cluster(deployment());
    c.reconcile();
    c.settle();
    c.reconcile();
    expect(c.d.status).toMatchObject({ observedGeneration: 1, replicas: 4, updatedReplicas: 4, readyReplicas: 4, availableReplicas: 4, unavailableReplicas: 0 });
    expect(c.cond("Available")).toMatchObject({ status: "True", reason: "MinimumReplicasAvailable" });
    expect(c.cond("Progressing")).toMatchObject({ status: "True", reason: "NewReplicaSetAvailable" });
    const again = c.reconcile();
    expect(again.actions).toEqual([]);
    expect(again.requeueAfterMs).toBeUndefined();
  });
});

describe("reconcileDeployment: rolling update", () => {
  it("resolves maxSurge up and maxUnavailable down, never both zero", () => {
    expect(resolveFenceposts(undefined, 10)).toEqual({ surge: 3, unavailable: 2 });
    expect(resolveFenceposts({ maxSurge: "0%", maxUnavailable: "10%" }, 5)).toEqual({ surge: 0, unavailable: 1 });
    expect(resolveFenceposts({ maxSurge: 0, maxUnavailable: 0 }, 5)).toEqual({ surge: 0, unavailable: 1 });
    expect(resolveFenceposts({ maxSurge: 2, maxUnavailable: "50%" }, 5)).toEqual({ surge: 2, unavailable: 2 });
  });

  it("creates revision 2 and moves pods step by step within maxSurge and maxUnavailable", () => {
    const c = new Cluster(deployment({ strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }));
    c.reconcile();
    c.settle();
    c.reconcile();
    c.setTemplate("nginx:2");

    // First step: the new RS gets the one surge pod, the old one gives up one available pod.
    const first = c.reconcile();
    const created = of(first.actions, "create")[0]?.object as ReplicaSet;
    expect(created.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("2");
    expect(created.spec.replicas).toBe(1);
    expect(c.rs("nginx:1")?.spec.replicas).toBe(3);
    expect(c.d.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("2");

    // New pods become available one round after they are asked for; old ones are always available.
    let prevNew = 0;
    for (let step = 0; step < 20 && !(c.rs("nginx:1")?.spec.replicas === 0 && c.d.status?.availableReplicas === 4); step++) {
      const newNow = c.rs("nginx:2")?.spec.replicas ?? 0;
      c.settle((rs) => (rs === c.rs("nginx:2") ? prevNew : (rs.spec.replicas ?? 0)));
      prevNew = newNow;
      c.reconcile();
      const total = c.rss.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
      const stillAvailable = c.rss.reduce((n, rs) => n + Math.min(rs.spec.replicas ?? 0, rs.status?.availableReplicas ?? 0), 0);
      expect(total).toBeLessThanOrEqual(5);
      expect(stillAvailable).toBeGreaterThanOrEqual(3);
    }
    c.settle();
    c.reconcile();
    expect(c.rs("nginx:2")?.spec.replicas).toBe(4);
    expect(c.rs("nginx:1")?.spec.replicas).toBe(0);
    expect(c.d.status).toMatchObject({ observedGeneration: 2, replicas: 4, updatedReplicas: 4, availableReplicas: 4 });
    expect(c.cond("Progressing")).toMatchObject({ status: "True", reason: "NewReplicaSetAvailable" });
  });

  it("does not count pods of an old ReplicaSet beyond its new size while its status is stale", () => {
    const c = new Cluster(deployment({ strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }));
    c.reconcile();
    c.settle();
    c.reconcile();
    c.setTemplate("nginx:2");
    c.reconcile(); // old 4 → 3, new 0 → 1
    expect(c.rs("nginx:1")?.spec.replicas).toBe(3);
    // The new pod is available, but the old ReplicaSet's status still says 4 (its controller is behind).
    const newRS = c.rs("nginx:2")!;
    newRS.status = { replicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: newRS.metadata.generation ?? 0 };
    // Rounds on these same statuses (the surge pod is asked for, then the old side is looked at).
    for (let i = 0; i < 2; i++) c.reconcile();
    expect(c.rs("nginx:2")?.spec.replicas).toBe(2);
    // Really available: 3 old + 1 new = 4; the minimum is 3, so only one more old pod may go.
    expect(c.rs("nginx:1")?.spec.replicas).toBe(2);
  });

  it("scales unhealthy old pods down first, without waiting on availability", () => {
    const c = new Cluster(deployment({ strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 3 } } }));
    c.reconcile();
    c.settle((_) => 1); // only 1 of 4 old pods available; the minimum is 4 - 3 = 1
    c.setTemplate("nginx:2");
    c.reconcile();
    // No surge: the new RS starts at 0; the 3 unavailable old pods go, the one available pod stays.
    expect(c.rs("nginx:2")?.spec.replicas).toBe(0);
    expect(c.rs("nginx:1")?.spec.replicas).toBe(1);
  });
});

describe("reconcileDeployment: Recreate", () => {
  it("scales old ReplicaSets to 0, waits for their pods to be gone, then creates the new one at full size", () => {
    const c = new Cluster(deployment({ strategy: { type: "Recreate" } }));
    c.reconcile();
    c.settle();
    c.reconcile();
    const old = c.rs("nginx:1") as ReplicaSet;
    c.setTemplate("nginx:2");

    c.reconcile();
    expect(old.spec.replicas).toBe(4); // the cached copy is untouched
    expect(c.rs("nginx:1")?.spec.replicas).toBe(0);
    expect(c.rs("nginx:2")).toBeUndefined();

    // The old RS still reports pods: wait.
    expect(of(c.reconcile().actions, "create")).toHaveLength(0);

    // Status says 0, but one pod is still terminating: wait.
    c.settle();
    c.pods = [
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p", namespace: "ns", labels: { app: "web" }, deletionTimestamp: at(0), ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "x", uid: old.metadata.uid ?? "", controller: true }] },
        spec: { containers: [{ name: "c" }] },
        status: { phase: "Running" },
      },
    ];
    expect(of(c.reconcile().actions, "create")).toHaveLength(0);

    c.pods = [];
    const { actions } = c.reconcile();
    const created = of(actions, "create")[0]?.object as ReplicaSet;
    expect(created.spec.replicas).toBe(4);
    expect(created.metadata.annotations?.["deployment.kubernetes.io/max-replicas"]).toBe("4");
  });
});

describe("reconcileDeployment: history", () => {
  it("deletes the oldest empty old ReplicaSets beyond revisionHistoryLimit once complete", () => {
    const c = new Cluster(deployment({ revisionHistoryLimit: 2 }));
    for (const image of ["nginx:1", "nginx:2", "nginx:3", "nginx:4", "nginx:5"]) {
      if (image !== "nginx:1") c.setTemplate(image);
      for (let i = 0; i < 10; i++) {
        c.settle();
        c.reconcile();
      }
    }
    const revisions = c.rss.map((rs) => rs.metadata.annotations?.["deployment.kubernetes.io/revision"]).sort();
    expect(revisions).toEqual(["3", "4", "5"]);
    expect(c.rs("nginx:5")?.spec.replicas).toBe(4);
  });

  it("keeps old ReplicaSets that still have replicas even beyond the limit", () => {
    const c = new Cluster(deployment({ revisionHistoryLimit: 0, paused: true }));
    const hash = podTemplateHash(template("nginx:1"));
    const oldRS = (name: string, rev: string, replicas: number): ReplicaSet => ({
      metadata: {
        name,
        namespace: "ns",
        uid: `${name}-uid`,
        labels: { app: "web" },
        annotations: { "deployment.kubernetes.io/revision": rev },
        ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "d-uid", controller: true }],
      },
      spec: { replicas, selector: { matchLabels: { app: "web" } }, template: template(`old:${rev}`) },
      status: { replicas, availableReplicas: replicas },
    });
    c.rss = [oldRS("web-a", "1", 0), oldRS("web-b", "2", 2), { ...oldRS(`web-${hash}`, "3", 2), spec: { ...oldRS("x", "3", 2).spec, template: template("nginx:1") } }];
    const { actions } = c.reconcile();
    expect(of(actions, "delete").map((a) => a.name)).toEqual(["web-a"]);
  });
});

describe("reconcileDeployment: status and progress deadline", () => {
  it("reports Available False below replicas - maxUnavailable", () => {
    const c = new Cluster(deployment());
    c.reconcile();
    c.settle((_) => 2); // 2 of 4 available; maxUnavailable 25% of 4 = 1
    c.reconcile();
    expect(c.d.status).toMatchObject({ replicas: 4, availableReplicas: 2, unavailableReplicas: 2 });
    expect(c.cond("Available")).toMatchObject({ status: "False", reason: "MinimumReplicasUnavailable" });
    expect(c.cond("Progressing")).toMatchObject({ status: "True", reason: "ReplicaSetUpdated" });
    c.settle((_) => 3);
    c.reconcile();
    expect(c.cond("Available")).toMatchObject({ status: "True", reason: "MinimumReplicasAvailable" });
  });

  it("marks ProgressDeadlineExceeded when nothing moves for progressDeadlineSeconds", () => {
    const c = new Cluster(deployment({ progressDeadlineSeconds: 60 }));
    expect(c.reconcile().requeueAfterMs).toBe(60_000);
    c.settle((_) => 0); // pods exist but never become available
    c.clock.advance(10_000);
    const progressing = c.reconcile();
    expect(c.cond("Progressing")).toMatchObject({ status: "True", reason: "ReplicaSetUpdated", lastUpdateTime: "2026-01-01T00:00:10Z" });
    expect(progressing.requeueAfterMs).toBe(60_000);

    c.clock.advance(59_000);
    const waiting = c.reconcile();
    expect(c.cond("Progressing")?.reason).toBe("ReplicaSetUpdated");
    expect(waiting.requeueAfterMs).toBe(1_000);

    c.clock.advance(2_000);
    c.reconcile();
    expect(c.cond("Progressing")).toMatchObject({ status: "False", reason: "ProgressDeadlineExceeded" });

    // Progress after the timeout is reported again.
    c.settle();
    c.reconcile();
    expect(c.cond("Progressing")).toMatchObject({ status: "True", reason: "NewReplicaSetAvailable" });
  });
});

describe("reconcileDeployment: paused and scaling", () => {
  it("does not roll out a new template while paused, but records the pause", () => {
    const c = new Cluster(deployment());
    c.reconcile();
    c.settle();
    c.reconcile();
    c.d.spec.paused = true;
    c.setTemplate("nginx:2");
    const { actions } = c.reconcile();
    expect(of(actions, "create")).toHaveLength(0);
    expect(of(actions, "update")).toHaveLength(0);
    expect(c.cond("Progressing")).toMatchObject({ status: "Unknown", reason: "DeploymentPaused" });

    // Scaling still applies while paused.
    c.d.spec.replicas = 6;
    c.reconcile();
    expect(c.rs("nginx:1")?.spec.replicas).toBe(6);
    expect(c.rs("nginx:2")).toBeUndefined();

    // Resuming rolls out.
    c.d.spec.paused = false;
    c.reconcile();
    expect(c.rs("nginx:2")).toBeDefined();
    expect(c.cond("Progressing")?.reason).toBe("NewReplicaSetCreated");
  });

  it("scales old and new ReplicaSets in proportion when replicas change mid-rollout", () => {
    const c = new Cluster(deployment({ strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }));
    c.reconcile();
    c.settle();
    c.setTemplate("nginx:2");
    c.reconcile(); // new RS at 1, old stays 4 (nothing may be unavailable)
    c.settle((_) => 0);
    expect([c.rs("nginx:1")?.spec.replicas, c.rs("nginx:2")?.spec.replicas]).toEqual([4, 1]);

    c.d.spec.replicas = 8; // maxSurge stays 1: room for 9
    c.reconcile();
    // 4 more pods shared by size: old 4 of 5 -> round(4*9/5)=7, new 1 of 5 -> round(9/5)=2.
    expect([c.rs("nginx:1")?.spec.replicas, c.rs("nginx:2")?.spec.replicas]).toEqual([7, 2]);
    expect(c.rs("nginx:1")?.metadata.annotations?.["deployment.kubernetes.io/desired-replicas"]).toBe("8");
  });
});

describe("reconcileDeployment: ownership and collisions", () => {
  it("adopts a matching orphan ReplicaSet and releases one that stopped matching", () => {
    const c = new Cluster(deployment());
    const hash = podTemplateHash(template("nginx:1"));
    c.rss = [
      { metadata: { name: `web-${hash}`, namespace: "ns", uid: "orphan", labels: { app: "web", "pod-template-hash": hash } }, spec: { replicas: 4, template: template("nginx:1") } },
      {
        metadata: { name: "stray", namespace: "ns", uid: "stray", labels: { app: "other" }, ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "d-uid", controller: true }] },
        spec: { replicas: 0, template: template("x") },
      },
    ];
    const { actions } = c.reconcile();
    const patches = of(actions, "patch").filter((p) => p.resource.resource === "replicasets");
    expect(patches.map((p) => [p.name, (p.patch as { metadata: { ownerReferences: unknown[] } }).metadata.ownerReferences[0]])).toEqual([
      [`web-${hash}`, expect.objectContaining({ uid: "d-uid", controller: true })],
      ["stray", { $patch: "delete", uid: "d-uid" }],
    ]);
    expect(of(actions, "create")).toHaveLength(0);
  });

  it("bumps collisionCount when a foreign ReplicaSet holds the name, then uses a new name", () => {
    const c = new Cluster(deployment());
    const hash = podTemplateHash(template("nginx:1"));
    c.rss = [{ metadata: { name: `web-${hash}`, namespace: "ns", uid: "foreign", labels: { app: "db" } }, spec: { replicas: 1, template: template("postgres") } }];
    const first = c.reconcile();
    expect(of(first.actions, "create")).toHaveLength(0);
    expect(c.d.status?.collisionCount).toBe(1);
    const second = c.reconcile();
    const created = of(second.actions, "create")[0]?.object as ReplicaSet;
    expect(created.metadata.name).toBe(`web-${podTemplateHash(template("nginx:1"), 1)}`);
    expect(created.metadata.name).not.toBe(`web-${hash}`);
  });

  it("gives a rolled-back-to ReplicaSet a new revision and keeps the old one in revision-history", () => {
    const c = new Cluster(deployment());
    c.reconcile();
    c.settle();
    c.setTemplate("nginx:2");
    for (let i = 0; i < 10; i++) {
      c.settle();
      c.reconcile();
    }
    c.setTemplate("nginx:1"); // what `kubectl rollout undo` does
    c.reconcile();
    const back = c.rs("nginx:1");
    expect(back?.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("3");
    expect(back?.metadata.annotations?.["deployment.kubernetes.io/revision-history"]).toBe("1");
    expect(c.rss).toHaveLength(2);
    expect(c.d.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("3");
  });
});
