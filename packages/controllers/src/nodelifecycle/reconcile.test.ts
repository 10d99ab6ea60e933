// Book 2.4 and 11.3: tests for the node lifecycle reconcile: a silent node turns Unknown and gets the
// unreachable taints, recovers, and its pods are evicted when their toleration runs out.
import { type Lease, type Node, type NodeCondition, type Pod, rfc3339, type Taint, type Toleration } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { readerOf } from "../framework/testing.js";
import { type Action, FakeClock } from "../framework/types.js";
import { reconcileNodeLifecycle, TAINT_UNREACHABLE, toleranceSeconds } from "./reconcile.js";

const T0 = new Date("2026-01-01T00:00:00Z");
const at = (s: number) => rfc3339(new Date(T0.getTime() + s * 1000));
const PRESSURES = ["MemoryPressure", "DiskPressure", "PIDPressure"];

function node(heartbeat: number, o: { ready?: NodeCondition["status"]; taints?: Taint[] } = {}): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "n1", uid: "node-uid", creationTimestamp: at(-3600), resourceVersion: "7" },
    spec: { taints: o.taints ?? [] },
    status: {
      conditions: [
        { type: "Ready", status: o.ready ?? "True", reason: "KubeletReady", lastHeartbeatTime: at(heartbeat), lastTransitionTime: at(-3600) },
        ...PRESSURES.map((type) => ({ type, status: (o.ready === "Unknown" ? "Unknown" : "False") as NodeCondition["status"], lastHeartbeatTime: at(heartbeat), lastTransitionTime: at(-3600) })),
      ],
    },
  };
}

function lease(renew: number): Lease {
  return { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "n1", namespace: "kube-node-lease" }, spec: { holderIdentity: "n1", renewTime: at(renew) } };
}

function pod(name: string, tolerations?: Toleration[], nodeName = "n1"): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "ns", uid: `uid-${name}` }, spec: { nodeName, containers: [{ name: "c" }], ...(tolerations ? { tolerations } : {}) } };
}

const unreachable = (added: number): Taint[] => [
  { key: TAINT_UNREACHABLE, effect: "NoSchedule", timeAdded: at(added) },
  { key: TAINT_UNREACHABLE, effect: "NoExecute", timeAdded: at(added) },
];

function state(n: Node, leases: Lease[], pods: Pod[], nowS: number) {
  return { nodes: readerOf([n]), leases: readerOf(leases), pods: readerOf(pods), clock: new FakeClock(new Date(at(nowS))) };
}

const of = <V extends Action["verb"]>(actions: Action[], verb: V) => actions.filter((a): a is Extract<Action, { verb: V }> => a.verb === verb);

describe("reconcileNodeLifecycle", () => {
  it("leaves a node alone while its Lease is fresh, even with an old status heartbeat, and looks again at expiry", () => {
    const r = reconcileNodeLifecycle("n1", state(node(-300), [lease(-10)], [pod("p")], 0));
    expect(r.actions).toEqual([]);
    expect(r.requeueAfterMs).toBe(30_001);
  });

  it("marks the kubelet's conditions Unknown once both signs of life are older than the grace period", () => {
    const r = reconcileNodeLifecycle("n1", state(node(-50), [lease(-41)], [], 0));
    const [upd] = of(r.actions, "updateStatus");
    const conds = (upd!.object as Node).status!.conditions!;
    for (const type of ["Ready", ...PRESSURES]) {
      expect(conds.find((c) => c.type === type)).toMatchObject({
        status: "Unknown",
        reason: "NodeStatusUnknown",
        message: "Kubelet stopped posting node status.",
        lastHeartbeatTime: at(-50),
        lastTransitionTime: at(0),
      });
    }
    expect(of(r.actions, "event").map((e) => e.reason)).toEqual(["NodeNotReady"]);
    // The taints follow in a separate write once the status update has landed.
    expect(of(r.actions, "update")).toEqual([]);
    expect(r.requeueAfterMs).toBe(1);
  });

  it("honours a custom grace period and uses the status heartbeat when there is no Lease", () => {
    expect(of(reconcileNodeLifecycle("n1", { ...state(node(-50), [], [], 0), gracePeriodMs: 60_000 }).actions, "updateStatus")).toHaveLength(0);
    expect(of(reconcileNodeLifecycle("n1", { ...state(node(-61), [], [], 0), gracePeriodMs: 60_000 }).actions, "updateStatus")).toHaveLength(1);
  });

  it("taints an Unknown node unreachable with NoSchedule and NoExecute, keeping other taints", () => {
    const other: Taint = { key: "dedicated", value: "db", effect: "NoSchedule" };
    const r = reconcileNodeLifecycle("n1", state(node(-100, { ready: "Unknown", taints: [other] }), [lease(-100)], [], 0));
    expect(of(r.actions, "updateStatus")).toEqual([]);
    const [upd] = of(r.actions, "update");
    expect((upd!.object as Node).spec!.taints).toEqual([other, ...unreachable(0)]);
    expect(upd!.object.metadata.resourceVersion).toBe("7");
  });

  it("removes the unreachable taints when the node reports Ready again", () => {
    const other: Taint = { key: "dedicated", effect: "NoSchedule" };
    const r = reconcileNodeLifecycle("n1", state(node(-1, { taints: [other, ...unreachable(-200)] }), [lease(-1)], [pod("p")], 0));
    const [upd] = of(r.actions, "update");
    expect((upd!.object as Node).spec!.taints).toEqual([other]);
    expect(of(r.actions, "delete")).toEqual([]);
  });

  it("keeps the taints while the Lease is renewed but Ready is still Unknown", () => {
    const r = reconcileNodeLifecycle("n1", state(node(-100, { ready: "Unknown", taints: unreachable(-100) }), [lease(-1)], [], 0));
    expect(r.actions).toEqual([]);
  });

  it("evicts pods as their toleration of the NoExecute taint runs out, and requeues for the next one", () => {
    const n = node(-400, { ready: "Unknown", taints: unreachable(-100) });
    const pods = [
      pod("defaulted"), // no toleration: the 300s default, 200s left
      pod("short", [{ key: TAINT_UNREACHABLE, operator: "Exists", effect: "NoExecute", tolerationSeconds: 60 }]),
      pod("forever", [{ key: TAINT_UNREACHABLE, operator: "Exists", effect: "NoExecute" }]),
      pod("elsewhere", [], "n2"),
    ];
    const r = reconcileNodeLifecycle("n1", state(n, [lease(-400)], pods, 0));
    expect(of(r.actions, "delete").map((d) => [d.name, d.uid])).toEqual([["short", "uid-short"]]);
    expect(of(r.actions, "event").map((e) => e.reason)).toEqual(["TaintManagerEviction"]);
    expect(r.requeueAfterMs).toBe(200_000);

    const later = reconcileNodeLifecycle("n1", state(n, [lease(-400)], pods, 200));
    expect(of(later.actions, "delete").map((d) => d.name).sort()).toEqual(["defaulted", "short"]);
    expect(later.requeueAfterMs).toBeUndefined();
  });

  it("evicts at once for a NoExecute taint the pod does not tolerate, and uses the configured default", () => {
    const n = node(0, { taints: [{ key: "maintenance", effect: "NoExecute", timeAdded: at(-1) }] });
    const r = reconcileNodeLifecycle("n1", state(n, [lease(0)], [pod("p")], 0));
    expect(of(r.actions, "delete").map((d) => d.name)).toEqual(["p"]);

    const u = node(-400, { ready: "Unknown", taints: unreachable(-100) });
    const quick = reconcileNodeLifecycle("n1", { ...state(u, [], [pod("p")], 0), evictionDefaultTolerationSeconds: 30 });
    expect(of(quick.actions, "delete").map((d) => d.name)).toEqual(["p"]);
  });

  it("computes tolerance per taint", () => {
    const taint: Taint = { key: TAINT_UNREACHABLE, effect: "NoExecute" };
    expect(toleranceSeconds(undefined, taint, 300)).toBe(300);
    expect(toleranceSeconds([{ operator: "Exists" }], taint, 300)).toBe(Infinity);
    expect(toleranceSeconds([{ key: "other", operator: "Exists" }], { key: "other", effect: "NoExecute" }, 300)).toBe(Infinity);
    expect(toleranceSeconds(undefined, { key: "other", effect: "NoExecute" }, 300)).toBe(0);
  });

  it("does nothing for an unknown node", () => {
    expect(reconcileNodeLifecycle("ghost", state(node(0), [], [], 0))).toEqual({ actions: [] });
  });
});
