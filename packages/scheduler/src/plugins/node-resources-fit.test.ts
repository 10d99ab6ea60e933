// Book 11.2.3-11.2.4: tests for NodeResourcesFit: which resources are short, and how each scoring
// strategy ranks nodes.
import type { Node, Pod } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { NodeInfo, Snapshot } from "../framework/node-info.js";
import { Action, Code, CycleState, type Handle, type Status } from "../framework/types.js";
import { makeNode, makePod } from "../testing/builders.js";
import {
  NODE_RESOURCES_FIT,
  NodeResourcesFit,
  brokenLinearFunction,
  fits,
  newNodeResourcesFit,
  parseNodeResourcesFitArgs,
} from "./node-resources-fit.js";

const plugin = (args?: Record<string, unknown>) => new NodeResourcesFit(parseNodeResourcesFitArgs(args));

function runFilter(p: NodeResourcesFit, pod: Pod, nodeInfo: NodeInfo): Status | null {
  const state = new CycleState();
  expect(p.preFilter(state, pod, [nodeInfo]).status).toBeNull();
  return p.filter(state, pod, nodeInfo);
}

function runScore(p: NodeResourcesFit, pod: Pod, nodeInfo: NodeInfo): number {
  const state = new CycleState();
  expect(p.preScore(state, pod, [nodeInfo])).toBeNull();
  return p.score(state, pod, nodeInfo);
}

/** A node with these pods already on it. */
function nodeWith(node: Node, pods: Pod[] = []): NodeInfo {
  return Snapshot.from([node], pods.map((p) => ({ ...p, spec: { ...p.spec, nodeName: node.metadata.name } }))).get(node.metadata.name!)!;
}

describe("NodeResourcesFit Filter", () => {
  const p = plugin();

  it("passes a pod that fits next to the pods already there", () => {
    const ni = nodeWith(makeNode("n1", { cpu: "4", memory: "8Gi" }), [makePod("a", { cpu: "2", memory: "4Gi" })]);
    expect(runFilter(p, makePod("p", { cpu: "2", memory: "4Gi" }), ni)).toBeNull();
  });

  it("rejects with Insufficient cpu when the requested cpu does not fit", () => {
    const ni = nodeWith(makeNode("n1", { cpu: "4" }), [makePod("a", { cpu: "3500m" })]);
    const s = runFilter(p, makePod("p", { cpu: "600m" }), ni);
    expect(s).toEqual({ code: Code.Unschedulable, reasons: ["Insufficient cpu"] });
  });

  it("lists every short resource at once, pod count included", () => {
    const ni = nodeWith(makeNode("n1", { cpu: "1", memory: "1Gi", pods: 1 }), [makePod("a", { cpu: "500m", memory: "512Mi" })]);
    const s = runFilter(p, makePod("p", { cpu: "1", memory: "1Gi" }), ni);
    expect(s?.code).toBe(Code.Unschedulable);
    expect(s?.reasons).toEqual(["Too many pods", "Insufficient cpu", "Insufficient memory"]);
  });

  it("checks only the pod count for a pod that requests nothing", () => {
    const full = nodeWith(makeNode("n1", { cpu: "1", memory: "1Gi" }), [makePod("a", { cpu: "1", memory: "1Gi" })]);
    expect(runFilter(p, makePod("p"), full)).toBeNull();
    const noRoom = nodeWith(makeNode("n2", { pods: 1 }), [makePod("a")]);
    expect(runFilter(p, makePod("p"), noRoom)?.reasons).toEqual(["Too many pods"]);
  });

  it("reports ephemeral-storage and extended resources by name", () => {
    const ni = nodeWith(makeNode("n1", { extended: { "ephemeral-storage": "10Gi", "example.com/gpu": "1" } }));
    const pod = makePod("p", { extended: { "ephemeral-storage": "20Gi", "example.com/gpu": "2" } });
    expect(runFilter(p, pod, ni)?.reasons).toEqual(["Insufficient ephemeral-storage", "Insufficient example.com/gpu"]);
    // A node that does not offer the resource at all is short of it too.
    expect(runFilter(p, makePod("q", { extended: { "vendor.io/fpga": "1" } }), ni)?.reasons).toEqual(["Insufficient vendor.io/fpga"]);
  });

  it("counts init containers and pod overhead like the kubelet does", () => {
    const ni = nodeWith(makeNode("n1", { cpu: "2" }));
    const pod = makePod("p", { cpu: "1" });
    pod.spec.initContainers = [{ name: "init", image: "busybox", resources: { requests: { cpu: "3" } } }];
    expect(runFilter(p, pod, ni)?.reasons).toEqual(["Insufficient cpu"]);
    const withOverhead = makePod("q", { cpu: "1900m" });
    withOverhead.spec.overhead = { cpu: "200m" };
    expect(runFilter(p, withOverhead, ni)?.reasons).toEqual(["Insufficient cpu"]);
  });

  it("skips ignored extended resources and resource groups, but never native ones", () => {
    const ni = nodeWith(makeNode("n1"));
    const gpuPod = makePod("p", { extended: { "example.com/gpu": "1" } });
    expect(runFilter(plugin({ ignoredResources: ["example.com/gpu"] }), gpuPod, ni)).toBeNull();
    expect(runFilter(plugin({ ignoredResourceGroups: ["example.com"] }), gpuPod, ni)).toBeNull();
    expect(runFilter(plugin({ ignoredResourceGroups: ["other.com"] }), gpuPod, ni)?.reasons).toEqual(["Insufficient example.com/gpu"]);
    const hugePod = makePod("h", { extended: { "hugepages-2Mi": "4Mi" } });
    expect(runFilter(plugin({ ignoredResources: ["hugepages-2Mi"] }), hugePod, ni)?.reasons).toEqual(["Insufficient hugepages-2Mi"]);
  });

  it("returns an Error status when PreFilter did not run", () => {
    const s = p.filter(new CycleState(), makePod("p"), nodeWith(makeNode("n1")));
    expect(s?.code).toBe(Code.Error);
  });

  it("exposes fits() with the numbers behind each shortage", () => {
    const ni = nodeWith(makeNode("n1", { cpu: "2" }), [makePod("a", { cpu: "1500m" })]);
    expect(fits(makePod("p", { cpu: "1" }), ni)).toEqual([
      { resourceName: "cpu", reason: "Insufficient cpu", requested: 1000, used: 1500, capacity: 2000 },
    ]);
  });
});

describe("NodeResourcesFit Score", () => {
  const node = makeNode("n1", { cpu: "4", memory: "8Gi" });

  it("LeastAllocated (the default) prefers emptier nodes, counting the incoming pod", () => {
    const p = plugin();
    const pod = makePod("p", { cpu: "1", memory: "2Gi" });
    expect(runScore(p, pod, nodeWith(node))).toBe(75);
    expect(runScore(p, pod, nodeWith(node, [makePod("a", { cpu: "2", memory: "2Gi" })]))).toBe(37); // cpu 25, memory 50
  });

  it("counts default requests for containers that request nothing", () => {
    const p = plugin();
    // 100m of 4000m and 200Mi of 8Gi: both about 97% free.
    expect(runScore(p, makePod("p"), nodeWith(node))).toBe(97);
    // A request-less pod already on the node takes 100m and 200Mi too: cpu 200m/1000m (80 free),
    // memory 400Mi/1Gi (60 free), so 70; without those defaults it would be 85.
    const busy = nodeWith(makeNode("n2", { cpu: "1", memory: "1Gi" }), [makePod("a")]);
    expect(runScore(p, makePod("p", { cpu: "100m", memory: "200Mi" }), busy)).toBe(70);
  });

  it("MostAllocated prefers fuller nodes and caps at 100", () => {
    const p = plugin({ scoringStrategy: { type: "MostAllocated" } });
    expect(runScore(p, makePod("p", { cpu: "1", memory: "2Gi" }), nodeWith(node))).toBe(25);
    expect(runScore(p, makePod("p", { cpu: "8", memory: "16Gi" }), nodeWith(node))).toBe(100);
  });

  it("weights resources as configured", () => {
    const p = plugin({ scoringStrategy: { type: "LeastAllocated", resources: [{ name: "cpu", weight: 3 }, { name: "memory", weight: 1 }] } });
    // cpu 50 (x3), memory 75 (x1): 225 / 4 = 56.
    expect(runScore(p, makePod("p", { cpu: "2", memory: "2Gi" }), nodeWith(node))).toBe(56);
  });

  it("skips an extended resource the pod does not request or the node does not offer", () => {
    const resources = [{ name: "cpu", weight: 1 }, { name: "example.com/gpu", weight: 1 }];
    const p = plugin({ scoringStrategy: { type: "MostAllocated", resources } });
    const gpuNode = makeNode("g", { cpu: "4", extended: { "example.com/gpu": "4" } });
    expect(runScore(p, makePod("p", { cpu: "1" }), nodeWith(gpuNode))).toBe(25);
    expect(runScore(p, makePod("p", { cpu: "1", extended: { "example.com/gpu": "4" } }), nodeWith(gpuNode))).toBe(62);
    expect(runScore(p, makePod("p", { cpu: "1", extended: { "example.com/gpu": "4" } }), nodeWith(node))).toBe(25);
  });

  it("RequestedToCapacityRatio follows the configured shape, scaled from 0..10 to 0..100", () => {
    const binPack = plugin({
      scoringStrategy: { type: "RequestedToCapacityRatio", requestedToCapacityRatio: { shape: [{ utilization: 0, score: 0 }, { utilization: 100, score: 10 }] } },
    });
    expect(runScore(binPack, makePod("p", { cpu: "1", memory: "2Gi" }), nodeWith(node))).toBe(25);
    const spread = plugin({
      scoringStrategy: { type: "RequestedToCapacityRatio", requestedToCapacityRatio: { shape: [{ utilization: 0, score: 10 }, { utilization: 100, score: 0 }] } },
    });
    expect(runScore(spread, makePod("p", { cpu: "1", memory: "2Gi" }), nodeWith(node))).toBe(75);
    // Over capacity counts as 100% utilized.
    expect(runScore(spread, makePod("p", { cpu: "8", memory: "2Gi" }), nodeWith(node))).toBe(75);
  });

  it("interpolates between shape points and stays flat outside them", () => {
    const f = brokenLinearFunction([
      { utilization: 20, score: 10 },
      { utilization: 60, score: 50 },
      { utilization: 80, score: 30 },
    ]);
    expect([f(0), f(20), f(40), f(60), f(70), f(79), f(100)]).toEqual([10, 10, 30, 50, 40, 31, 30]);
  });

  it("scores without PreScore state (falls back to computing the requests)", () => {
    expect(plugin().score(new CycleState(), makePod("p", { cpu: "1", memory: "2Gi" }), nodeWith(node))).toBe(75);
  });
});

describe("NodeResourcesFit args", () => {
  it("defaults to LeastAllocated on cpu and memory, weight 1", () => {
    expect(parseNodeResourcesFitArgs(undefined)).toEqual({
      ignoredResources: [],
      ignoredResourceGroups: [],
      scoringStrategy: { type: "LeastAllocated", resources: [{ name: "cpu", weight: 1 }, { name: "memory", weight: 1 }] },
    });
    expect(parseNodeResourcesFitArgs({ scoringStrategy: { type: "MostAllocated", resources: [{ name: "cpu" }] } }).scoringStrategy.resources).toEqual([
      { name: "cpu", weight: 1 },
    ]);
  });

  it.each([
    [{ scoringStrategy: { type: "Random" } }, /scoringStrategy.type "Random" is not supported/],
    [{ scoringStrategy: { resources: [{ name: "cpu", weight: 101 }] } }, /not in valid range/],
    [{ scoringStrategy: { type: "RequestedToCapacityRatio" } }, /requestedToCapacityRatio is required/],
    [{ scoringStrategy: { type: "RequestedToCapacityRatio", requestedToCapacityRatio: { shape: [] } } }, /at least one point/],
    [
      { scoringStrategy: { type: "RequestedToCapacityRatio", requestedToCapacityRatio: { shape: [{ utilization: 50, score: 1 }, { utilization: 10, score: 2 }] } } },
      /sorted in increasing order/,
    ],
    [{ scoringStrategy: { type: "RequestedToCapacityRatio", requestedToCapacityRatio: { shape: [{ utilization: 50, score: 11 }] } } }, /score must be/],
    [{ ignoredResourceGroups: ["example.com/gpu"] }, /can't contain '\/'/],
    [{ ignoredResources: "example.com/gpu" }, /ignoredResources must be a list/],
  ])("rejects bad args %j", (args, message) => {
    expect(() => parseNodeResourcesFitArgs(args as Record<string, unknown>)).toThrow(message);
    expect(() => newNodeResourcesFit(args as Record<string, unknown>, {} as Handle)).toThrow(message);
  });

  it("builds the plugin from the factory", () => {
    expect(newNodeResourcesFit(undefined, {} as Handle).name).toBe(NODE_RESOURCES_FIT);
  });
});

describe("NodeResourcesFit events", () => {
  const events = plugin().eventsToRegister();
  const podEvent = events.find((e) => e.event.resource === "AssignedPod")!;
  const nodeEvent = events.find((e) => e.event.resource === "Node")!;

  it("registers pod deletion and node add / allocatable change", () => {
    expect(podEvent.event.action & Action.Delete).toBeTruthy();
    expect(nodeEvent.event.action).toBe(Action.Add | Action.UpdateNodeAllocatable);
  });

  it("queues on a node that could hold the pod, or one whose allocatable grew for what it asks", () => {
    const pod = makePod("p", { cpu: "3" });
    expect(nodeEvent.hint!(pod, undefined, makeNode("small", { cpu: "2" }))).toBe("Skip");
    expect(nodeEvent.hint!(pod, undefined, makeNode("big", { cpu: "4" }))).toBe("Queue");
    expect(nodeEvent.hint!(pod, makeNode("n", { cpu: "2" }), makeNode("n", { cpu: "4" }))).toBe("Queue");
    expect(nodeEvent.hint!(pod, makeNode("n", { cpu: "4" }), makeNode("n", { cpu: "4", memory: "16Gi" }))).toBe("Skip");
  });

  it("queues when an assigned pod is deleted or shrinks, not for an unassigned one", () => {
    const pod = makePod("p", { cpu: "1" });
    expect(podEvent.hint!(pod, makePod("a", { nodeName: "n1" }), undefined)).toBe("Queue");
    expect(podEvent.hint!(pod, makePod("a"), undefined)).toBe("Skip");
    const before = makePod("a", { cpu: "2", nodeName: "n1" });
    expect(podEvent.hint!(pod, before, makePod("a", { cpu: "1", nodeName: "n1" }))).toBe("Queue");
    expect(podEvent.hint!(pod, before, makePod("a", { cpu: "2", memory: "1Gi", nodeName: "n1" }))).toBe("Skip");
  });
});
