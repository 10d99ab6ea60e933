// Book 11.2.4: tests for NodeResourcesBalancedAllocation: nodes whose cpu and memory would be used in
// similar proportions score higher.
import type { Node, Pod } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { type NodeInfo, Snapshot } from "../framework/node-info.js";
import { Code, CycleState, type Handle } from "../framework/types.js";
import { makeNode, makePod } from "../testing/builders.js";
import { BalancedAllocation, balancedResourceScorer, newBalancedAllocation, parseBalancedAllocationArgs } from "./balanced-allocation.js";

const plugin = (args?: Record<string, unknown>) => new BalancedAllocation(parseBalancedAllocationArgs(args));

function nodeWith(node: Node, pods: Pod[] = []): NodeInfo {
  return Snapshot.from([node], pods.map((p) => ({ ...p, spec: { ...p.spec, nodeName: node.metadata.name } }))).get(node.metadata.name!)!;
}

function runScore(p: BalancedAllocation, pod: Pod, nodeInfo: NodeInfo): number {
  const state = new CycleState();
  expect(p.preScore(state, pod, [nodeInfo])).toBeNull();
  return p.score(state, pod, nodeInfo);
}

describe("NodeResourcesBalancedAllocation", () => {
  const node = makeNode("n1", { cpu: "4", memory: "8Gi" });

  it("gives 100 when cpu and memory would be used in the same proportion", () => {
    expect(runScore(plugin(), makePod("p", { cpu: "1", memory: "2Gi" }), nodeWith(node))).toBe(100);
  });

  it("loses half the fractions' difference: (1 - |cpu - mem| / 2) * 100", () => {
    // cpu 2/4 = 0.5, memory 1/8 = 0.125: std 0.1875, score 81.
    expect(runScore(plugin(), makePod("p", { cpu: "2", memory: "1Gi" }), nodeWith(node))).toBe(81);
  });

  it("prefers the node the pod would balance", () => {
    const pod = makePod("p", { cpu: "1", memory: "2Gi" });
    const cpuHeavy = nodeWith(node, [makePod("a", { cpu: "2" })]); // cpu 0.75, memory 0.25
    const memHeavy = nodeWith(makeNode("n2", { cpu: "4", memory: "8Gi" }), [makePod("b", { memory: "4Gi" })]); // 0.25 / 0.75
    const even = nodeWith(makeNode("n3", { cpu: "4", memory: "8Gi" }), [makePod("c", { cpu: "1", memory: "2Gi" })]);
    expect(runScore(plugin(), pod, cpuHeavy)).toBe(75);
    expect(runScore(plugin(), pod, memHeavy)).toBe(75);
    expect(runScore(plugin(), pod, even)).toBe(100);
  });

  it("uses real requests: pods that request nothing do not unbalance a node", () => {
    const ni = nodeWith(node, [makePod("a"), makePod("b")]);
    expect(runScore(plugin(), makePod("p", { cpu: "1", memory: "2Gi" }), ni)).toBe(100);
  });

  it("caps each fraction at 1", () => {
    // cpu 8/4 -> 1, memory 4/8 = 0.5: std 0.25.
    expect(runScore(plugin(), makePod("p", { cpu: "8", memory: "4Gi" }), nodeWith(node))).toBe(75);
  });

  it("uses the full standard deviation for more than two resources", () => {
    const p = plugin({ resources: [{ name: "cpu", weight: 1 }, { name: "memory", weight: 1 }, { name: "example.com/gpu", weight: 1 }] });
    const gpuNode = makeNode("g", { cpu: "4", memory: "8Gi", extended: { "example.com/gpu": "4" } });
    // Fractions 0.25, 0.25, 1: mean 0.5, std sqrt((0.0625 * 2 + 0.25) / 3) = 0.3536: score 64.
    expect(runScore(p, makePod("p", { cpu: "1", memory: "2Gi", extended: { "example.com/gpu": "4" } }), nodeWith(gpuNode))).toBe(64);
    // A pod that asks for no gpu is balanced on cpu and memory alone.
    expect(runScore(p, makePod("q", { cpu: "1", memory: "2Gi" }), nodeWith(gpuNode))).toBe(100);
  });

  it("ignores resources the node does not offer", () => {
    expect(balancedResourceScorer([1000, 2, 0], [4000, 0, 0])).toBe(100);
    expect(balancedResourceScorer([], [])).toBe(100);
  });

  it("skips scoring for a best-effort pod (no requests)", () => {
    const s = plugin().preScore(new CycleState(), makePod("p"), [nodeWith(node)]);
    expect(s?.code).toBe(Code.Skip);
  });

  it("rejects weights other than 1 and duplicate resources", () => {
    expect(() => parseBalancedAllocationArgs({ resources: [{ name: "cpu", weight: 2 }] })).toThrow(/must be 1/);
    expect(() => parseBalancedAllocationArgs({ resources: [{ name: "cpu" }, { name: "cpu" }] })).toThrow(/duplicate/);
    expect(() => newBalancedAllocation({ resources: "cpu" }, {} as Handle)).toThrow(/resources must be a list/);
    expect(parseBalancedAllocationArgs(undefined).resources).toEqual([{ name: "cpu", weight: 1 }, { name: "memory", weight: 1 }]);
  });
});
