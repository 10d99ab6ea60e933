// Book 11.3 and 9.3.2: tests for the DaemonSet reconcile: which nodes get a pod, how it is pinned,
// cleanup of misplaced and extra pods, a rolling update within maxUnavailable, and status.
import type { Node, Pod, Taint } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { readerOf } from "../framework/testing.js";
import { type Action, FakeClock } from "../framework/types.js";
import { type DaemonSet, daemonSetTemplateHash, REVISION_HASH_LABEL, reconcileDaemonSet, resolveMaxUnavailable } from "./reconcile.js";

const T0 = new Date("2026-01-01T00:00:00Z");
const at = (s: number) => new Date(T0.getTime() + s * 1000).toISOString();

function ds(over: Partial<DaemonSet["spec"]> = {}, status?: DaemonSet["status"]): DaemonSet {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent", namespace: "kube-system", uid: "ds-uid", generation: 2 },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      template: { metadata: { labels: { app: "agent" } }, spec: { containers: [{ name: "c", image: "agent:1" }] } },
      ...over,
    },
    ...(status ? { status } : {}),
  };
}

function node(name: string, labels: Record<string, string> = {}, taints: Taint[] = []): Node {
  return { apiVersion: "v1", kind: "Node", metadata: { name, labels }, spec: { taints } };
}

interface PodOpts {
  hash?: string;
  ready?: boolean;
  created?: number;
  phase?: "Running" | "Failed";
  deleting?: boolean;
  bound?: boolean;
}

function pod(name: string, nodeName: string, o: PodOpts = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "kube-system",
      uid: `uid-${name}`,
      labels: { app: "agent", [REVISION_HASH_LABEL]: o.hash ?? "old" },
      creationTimestamp: at(o.created ?? 0),
      ...(o.deleting ? { deletionTimestamp: at(1) } : {}),
      ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: "agent", uid: "ds-uid", controller: true }],
    },
    spec: {
      containers: [{ name: "c" }],
      ...(o.bound === false
        ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [nodeName] }] }] } } } }
        : { nodeName }),
    },
    status: { phase: o.phase ?? "Running", conditions: o.ready === false ? [] : [{ type: "Ready", status: "True", lastTransitionTime: at(0) }] },
  };
}

function state(d: DaemonSet, nodes: Node[], pods: Pod[]) {
  return { daemonSets: readerOf([d]), nodes: readerOf(nodes), pods: readerOf(pods), clock: new FakeClock(new Date(T0.getTime() + 60_000)) };
}

const of = <V extends Action["verb"]>(actions: Action[], verb: V) => actions.filter((a): a is Extract<Action, { verb: V }> => a.verb === verb);
const createdOn = (actions: Action[]) =>
  of(actions, "create").map((c) => (c.object as Pod).spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]?.matchFields?.[0]?.values?.[0]);
const deleted = (actions: Action[]) => of(actions, "delete").map((d) => d.name).sort();

describe("reconcileDaemonSet", () => {
  it("creates one pod per node, pinned by matchFields, owned by the DaemonSet, with daemon tolerations", () => {
    const d = ds();
    const { actions } = reconcileDaemonSet("kube-system/agent", state(d, [node("n1"), node("n2")], []));
    expect(createdOn(actions).sort()).toEqual(["n1", "n2"]);
    const p = of(actions, "create")[0]!.object as Pod;
    expect(p.metadata.generateName).toBe("agent-");
    expect(p.metadata.labels).toEqual({ app: "agent", [REVISION_HASH_LABEL]: daemonSetTemplateHash(d) });
    expect(p.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "DaemonSet", name: "agent", uid: "ds-uid", controller: true, blockOwnerDeletion: true }]);
    expect(p.spec.nodeName).toBeUndefined();
    const keys = (p.spec.tolerations ?? []).map((t) => `${t.key}:${t.effect}`);
    expect(keys).toEqual(
      expect.arrayContaining(["node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unschedulable:NoSchedule"]),
    );
  });

  it("honours nodeSelector, required affinity and untolerated taints, but not pressure or unschedulable taints", () => {
    const d = ds({
      template: {
        metadata: { labels: { app: "agent" } },
        spec: {
          containers: [{ name: "c" }],
          nodeSelector: { os: "linux" },
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }] } } },
        },
      },
    });
    const nodes = [
      node("ok", { os: "linux", zone: "a" }),
      node("wrong-os", { os: "windows", zone: "a" }),
      node("wrong-zone", { os: "linux", zone: "b" }),
      node("gpu-only", { os: "linux", zone: "a" }, [{ key: "gpu", effect: "NoSchedule" }]),
      node("cordoned", { os: "linux", zone: "a" }, [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }]),
      node("soft", { os: "linux", zone: "a" }, [{ key: "x", effect: "PreferNoSchedule" }]),
    ];
    const { actions } = reconcileDaemonSet("kube-system/agent", state(d, nodes, []));
    expect(createdOn(actions).sort()).toEqual(["cordoned", "ok", "soft"]);
    // The user's own affinity is replaced by the pin, so the scheduler can only pick that node.
    const terms = (of(actions, "create")[0]!.object as Pod).spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    expect(terms).toHaveLength(1);
  });

  it("deletes pods on nodes that no longer fit, failed pods, and all but the oldest extra pod", () => {
    const d = ds();
    const h = daemonSetTemplateHash(d);
    const nodes = [node("n1"), node("n2", {}, [{ key: "evict", effect: "NoExecute" }]), node("n3")];
    const pods = [
      pod("keep", "n1", { hash: h, created: 0 }),
      pod("extra", "n1", { hash: h, created: 5 }),
      pod("evicted", "n2", { hash: h }),
      pod("failed", "n3", { hash: h, phase: "Failed" }),
      pod("lost", "gone", { hash: h, bound: false }),
    ];
    const { actions } = reconcileDaemonSet("kube-system/agent", state(d, nodes, pods));
    expect(deleted(actions)).toEqual(["evicted", "extra", "failed", "lost"]);
    expect(of(actions, "delete").find((a) => a.name === "extra")?.uid).toBe("uid-extra");
    // n3 still holds its failed pod this round; the replacement comes once it is gone.
    expect(createdOn(actions)).toEqual([]);
  });

  it("keeps a pod on a node with a NoSchedule taint it does not tolerate, counting it misscheduled", () => {
    const d = ds({}, {});
    const h = daemonSetTemplateHash(d);
    const { actions } = reconcileDaemonSet("kube-system/agent", state(d, [node("n1", {}, [{ key: "dedicated", effect: "NoSchedule" }])], [pod("p", "n1", { hash: h })]));
    expect(deleted(actions)).toEqual([]);
    const st = of(actions, "updateStatus")[0]!.object as DaemonSet;
    expect(st.status).toMatchObject({ desiredNumberScheduled: 0, numberMisscheduled: 1 });
  });

  it("does not create on a node whose pod is still terminating", () => {
    const d = ds();
    const { actions } = reconcileDaemonSet("kube-system/agent", state(d, [node("n1")], [pod("old", "n1", { deleting: true })]));
    expect(of(actions, "create")).toHaveLength(0);
    expect(of(actions, "delete")).toHaveLength(0);
  });

  it("rolls out a new template one node at a time by default", () => {
    const d = ds();
    const nodes = [node("n1"), node("n2"), node("n3")];
    const pods = [pod("a", "n1"), pod("b", "n2"), pod("c", "n3")];
    const { actions } = reconcileDaemonSet("kube-system/agent", state(d, nodes, pods));
    expect(deleted(actions)).toEqual(["a"]);
  });

  it("waits while a node is unavailable, and replaces unavailable old pods at once", () => {
    const d = ds();
    const h = daemonSetTemplateHash(d);
    const nodes = [node("n1"), node("n2"), node("n3")];
    // n1's new pod is not ready yet: the budget of 1 is used, so ready old pods wait...
    const waiting = reconcileDaemonSet("kube-system/agent", state(d, nodes, [pod("a", "n1", { hash: h, ready: false }), pod("b", "n2"), pod("c", "n3")]));
    expect(deleted(waiting.actions)).toEqual([]);
    // ...but an old pod that is not ready is serving nobody, so it goes regardless.
    const broken = reconcileDaemonSet("kube-system/agent", state(d, nodes, [pod("a", "n1", { hash: h, ready: false }), pod("b", "n2", { ready: false }), pod("c", "n3")]));
    expect(deleted(broken.actions)).toEqual(["b"]);
  });

  it("honours maxUnavailable as a number or percentage, and OnDelete leaves old pods alone", () => {
    const nodes = [node("n1"), node("n2"), node("n3"), node("n4")];
    const pods = [pod("a", "n1"), pod("b", "n2"), pod("c", "n3"), pod("d", "n4")];
    const two = ds({ updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "50%" } } });
    expect(deleted(reconcileDaemonSet("kube-system/agent", state(two, nodes, pods)).actions)).toEqual(["a", "b"]);
    const onDelete = ds({ updateStrategy: { type: "OnDelete" } });
    expect(deleted(reconcileDaemonSet("kube-system/agent", state(onDelete, nodes, pods)).actions)).toEqual([]);
    expect(resolveMaxUnavailable("10%", 4)).toBe(1);
    expect(resolveMaxUnavailable(0, 4)).toBe(1);
    expect(resolveMaxUnavailable(3, 4)).toBe(3);
  });

  it("reports status from the pods per node", () => {
    const d = ds({ minReadySeconds: 120 });
    const h = daemonSetTemplateHash(d);
    const nodes = [node("n1"), node("n2"), node("n3"), node("n4", { role: "x" }, [{ key: "k", effect: "NoExecute" }])];
    const pods = [pod("a", "n1", { hash: h }), pod("b", "n2", { ready: false }), pod("m", "n4", { hash: h })];
    const r = reconcileDaemonSet("kube-system/agent", state(d, nodes, pods));
    const st = of(r.actions, "updateStatus")[0]!.object as DaemonSet;
    expect(st.status).toEqual({
      desiredNumberScheduled: 3,
      currentNumberScheduled: 2,
      numberMisscheduled: 1,
      numberReady: 1,
      numberAvailable: 0,
      numberUnavailable: 3,
      updatedNumberScheduled: 1,
      observedGeneration: 2,
    });
    // Pod a has been ready 60s of 120: look again when it becomes available.
    expect(r.requeueAfterMs).toBe(60_000);
  });

  it("writes no status when nothing changed, and the hash follows the template", () => {
    const d = ds();
    const h = daemonSetTemplateHash(d);
    const settled = ds({}, {
      desiredNumberScheduled: 1, currentNumberScheduled: 1, numberMisscheduled: 0, numberReady: 1,
      numberAvailable: 1, numberUnavailable: 0, updatedNumberScheduled: 1, observedGeneration: 2,
    });
    expect(reconcileDaemonSet("kube-system/agent", state(settled, [node("n1")], [pod("a", "n1", { hash: h })])).actions).toEqual([]);
    const changed = ds({ template: { metadata: { labels: { app: "agent" } }, spec: { containers: [{ name: "c", image: "agent:2" }] } } });
    expect(daemonSetTemplateHash(changed)).not.toBe(h);
    expect(daemonSetTemplateHash(ds())).toBe(h);
  });

  it("ignores pods owned by others and does nothing for a missing DaemonSet", () => {
    const d = ds();
    const stranger = pod("s", "n1", { hash: daemonSetTemplateHash(d) });
    stranger.metadata.ownerReferences = [{ apiVersion: "apps/v1", kind: "DaemonSet", name: "x", uid: "other", controller: true }];
    const { actions } = reconcileDaemonSet("kube-system/agent", state(d, [node("n1")], [stranger]));
    expect(createdOn(actions)).toEqual(["n1"]);
    expect(of(actions, "delete")).toHaveLength(0);
    expect(reconcileDaemonSet("kube-system/none", state(d, [node("n1")], [])).actions).toEqual([]);
  });
});
