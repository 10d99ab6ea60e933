// Book 11.2.3-11.2.4: tests for TaintToleration: hard taints filter, soft (PreferNoSchedule) taints
// lower a node's score.
import type { Pod, Taint, Toleration } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { NodeInfo } from "../framework/node-info.js";
import { Code, CycleState, type NodeScore } from "../framework/types.js";
import { makeNode, makePod } from "../testing/builders.js";
import { TaintToleration } from "./taint-toleration.js";

const p = new TaintToleration();
const tainted = (name: string, ...taints: Taint[]) => new NodeInfo(makeNode(name, { taints }));
const gpu: Taint = { key: "dedicated", value: "gpu", effect: "NoSchedule" };

describe("TaintToleration Filter", () => {
  const filter = (tolerations: Toleration[] | undefined, ni: NodeInfo) => p.filter(new CycleState(), makePod("p", { tolerations }), ni);

  it("rejects a pod that does not tolerate a NoSchedule taint, naming the taint", () => {
    expect(filter(undefined, tainted("n", gpu))).toEqual({
      code: Code.UnschedulableAndUnresolvable,
      reasons: ["node(s) had untolerated taint {dedicated: gpu}"],
    });
  });

  it("treats NoExecute like NoSchedule and ignores PreferNoSchedule", () => {
    expect(filter(undefined, tainted("n", { key: "k", effect: "NoExecute" }))?.reasons).toEqual(["node(s) had untolerated taint {k: }"]);
    expect(filter(undefined, tainted("n", { key: "k", value: "v", effect: "PreferNoSchedule" }))).toBeNull();
  });

  it("lets matching tolerations through", () => {
    const ni = tainted("n", gpu);
    expect(filter([{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }], ni)).toBeNull();
    expect(filter([{ key: "dedicated", operator: "Exists" }], ni)).toBeNull();
    expect(filter([{ operator: "Exists" }], ni)).toBeNull();
    expect(filter([{ key: "dedicated", operator: "Equal", value: "cpu" }], ni)?.code).toBe(Code.UnschedulableAndUnresolvable);
    expect(filter([{ key: "dedicated", operator: "Exists", effect: "NoExecute" }], ni)?.code).toBe(Code.UnschedulableAndUnresolvable);
  });

  it("passes an untainted node", () => {
    expect(filter(undefined, new NodeInfo(makeNode("n")))).toBeNull();
  });
});

describe("TaintToleration Score", () => {
  const soft = (key: string): Taint => ({ key, value: "x", effect: "PreferNoSchedule" });
  const nodes = [tainted("clean"), tainted("one", soft("a")), tainted("two", soft("a"), soft("b")), tainted("hard", gpu)];

  function scores(pod: Pod): { raw: number[]; normalized: number[] } {
    const state = new CycleState();
    expect(p.preScore(state, pod, nodes)).toBeNull();
    const list: NodeScore[] = nodes.map((n) => ({ name: n.name, score: p.score(state, pod, n) }));
    const raw = list.map((s) => s.score);
    expect(p.normalizeScore(state, pod, list)).toBeNull();
    return { raw, normalized: list.map((s) => s.score) };
  }

  it("counts untolerated PreferNoSchedule taints and reverses them into 0..100", () => {
    expect(scores(makePod("p"))).toEqual({ raw: [0, 1, 2, 0], normalized: [100, 50, 0, 100] });
  });

  it("counts only tolerations with effect PreferNoSchedule or no effect", () => {
    const noSchedule = makePod("p", { tolerations: [{ key: "a", operator: "Exists", effect: "NoSchedule" }] });
    expect(scores(noSchedule).raw).toEqual([0, 1, 2, 0]);
    const anyEffect = makePod("q", { tolerations: [{ key: "a", operator: "Exists" }] });
    expect(scores(anyEffect).raw).toEqual([0, 0, 1, 0]);
    const prefer = makePod("r", { tolerations: [{ key: "b", operator: "Equal", value: "x", effect: "PreferNoSchedule" }] });
    expect(scores(prefer).raw).toEqual([0, 1, 1, 0]);
  });

  it("gives every node 100 when none has soft taints", () => {
    const state = new CycleState();
    const list = [{ name: "x", score: 0 }, { name: "y", score: 0 }];
    p.normalizeScore(state, makePod("p"), list);
    expect(list.map((s) => s.score)).toEqual([100, 100]);
  });
});

describe("TaintToleration events", () => {
  const [nodeEv, podEv] = p.eventsToRegister();
  const pod = makePod("p", { uid: "u1" });

  it("queues when a node stops repelling the pod", () => {
    expect(nodeEv!.hint!(pod, makeNode("n", { taints: [gpu] }), makeNode("n"))).toBe("Queue");
    expect(nodeEv!.hint!(pod, undefined, makeNode("n"))).toBe("Queue");
    expect(nodeEv!.hint!(pod, undefined, makeNode("n", { taints: [gpu] }))).toBe("Skip");
    expect(nodeEv!.hint!(pod, makeNode("n"), makeNode("n", { taints: [{ key: "x", effect: "PreferNoSchedule" }] }))).toBe("Skip");
  });

  it("queues when the pod's own tolerations change", () => {
    expect(podEv!.event.resource).toBe("UnscheduledPod");
    expect(podEv!.hint!(pod, pod, makePod("p", { uid: "u1", tolerations: [{ operator: "Exists" }] }))).toBe("Queue");
    expect(podEv!.hint!(pod, undefined, makePod("other", { uid: "u2" }))).toBe("Skip");
  });
});
