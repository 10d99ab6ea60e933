// Book 11.2.3: tests for the small plugins: NodeName, NodeUnschedulable (cordoned nodes) and
// SchedulingGates (pods held back before the queue).
import { describe, expect, it } from "vitest";
import { NodeInfo } from "../framework/node-info.js";
import { Action, Code, CycleState } from "../framework/types.js";
import { makeNode, makePod } from "../testing/builders.js";
import { ERR_REASON_NODE_NAME, NodeName } from "./node-name.js";
import { ERR_REASON_UNSCHEDULABLE, NodeUnschedulable } from "./node-unschedulable.js";
import { SchedulingGates } from "./scheduling-gates.js";

describe("NodeName", () => {
  const p = new NodeName();
  const n1 = new NodeInfo(makeNode("n1"));

  it("passes any node when the pod names none, only the named one otherwise", () => {
    expect(p.filter(new CycleState(), makePod("p"), n1)).toBeNull();
    expect(p.filter(new CycleState(), makePod("p", { nodeName: "n1" }), n1)).toBeNull();
    expect(p.filter(new CycleState(), makePod("p", { nodeName: "n2" }), n1)).toEqual({
      code: Code.UnschedulableAndUnresolvable,
      reasons: [ERR_REASON_NODE_NAME],
    });
  });

  it("queues only when the named node is added", () => {
    const [ev] = p.eventsToRegister();
    expect(ev!.event).toEqual({ resource: "Node", action: Action.Add });
    expect(ev!.hint!(makePod("p", { nodeName: "n2" }), undefined, makeNode("n2"))).toBe("Queue");
    expect(ev!.hint!(makePod("p", { nodeName: "n2" }), undefined, makeNode("n3"))).toBe("Skip");
  });
});

describe("NodeUnschedulable", () => {
  const p = new NodeUnschedulable();
  const cordoned = new NodeInfo(makeNode("n1", { unschedulable: true }));

  it("rejects pods from a cordoned node", () => {
    expect(p.filter(new CycleState(), makePod("p"), cordoned)).toEqual({
      code: Code.UnschedulableAndUnresolvable,
      reasons: [ERR_REASON_UNSCHEDULABLE],
    });
    expect(p.filter(new CycleState(), makePod("p"), new NodeInfo(makeNode("n2")))).toBeNull();
  });

  it("admits pods tolerating node.kubernetes.io/unschedulable:NoSchedule", () => {
    const tolerant = makePod("ds", { tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }] });
    expect(p.filter(new CycleState(), tolerant, cordoned)).toBeNull();
    expect(p.filter(new CycleState(), makePod("all", { tolerations: [{ operator: "Exists" }] }), cordoned)).toBeNull();
    const wrongEffect = makePod("x", { tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoExecute" }] });
    expect(p.filter(new CycleState(), wrongEffect, cordoned)?.code).toBe(Code.UnschedulableAndUnresolvable);
  });

  it("queues on uncordon and on the pod gaining the toleration", () => {
    const [nodeEv, podEv] = p.eventsToRegister();
    const pod = makePod("p", { uid: "u1" });
    expect(nodeEv!.hint!(pod, makeNode("n", { unschedulable: true }), makeNode("n"))).toBe("Queue");
    expect(nodeEv!.hint!(pod, makeNode("n"), makeNode("n", { labels: { a: "b" } }))).toBe("Skip");
    expect(nodeEv!.hint!(pod, undefined, makeNode("n"))).toBe("Queue");
    const tolerant = makePod("p", { uid: "u1", tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists" }] });
    expect(podEv!.hint!(pod, pod, tolerant)).toBe("Queue");
    expect(podEv!.hint!(pod, tolerant, tolerant)).toBe("Skip");
  });
});

describe("SchedulingGates", () => {
  const p = new SchedulingGates();

  it("holds gated pods back and names the gates", () => {
    expect(p.preEnqueue(makePod("p"))).toBeNull();
    expect(p.preEnqueue(makePod("p", { schedulingGates: ["example.com/quota", "example.com/ready"] }))).toEqual({
      code: Code.UnschedulableAndUnresolvable,
      reasons: ["waiting for scheduling gates: [example.com/quota example.com/ready]"],
    });
  });

  it("queues the pod when its own gates are removed", () => {
    const [ev] = p.eventsToRegister();
    expect(ev!.event).toEqual({ resource: "UnscheduledPod", action: Action.UpdatePodSchedulingGatesEliminated });
    const pod = makePod("p", { uid: "u1", schedulingGates: ["g"] });
    expect(ev!.hint!(pod, pod, makePod("p", { uid: "u1" }))).toBe("Queue");
    expect(ev!.hint!(pod, undefined, makePod("q", { uid: "u2" }))).toBe("Skip");
  });
});
