// Book 11.2.3: tests for the scheduler cache: assumed pods, nodes that come and go, image states,
// and incremental snapshots.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Affinity, Node } from "@corekube/api";
import { NodeInfo, Snapshot } from "../framework/node-info.js";
import { FakeClock } from "../queue/clock.js";
import { makeNode, makePod } from "../testing/builders.js";
import { NodeTree, SchedulerCache } from "./cache.js";

const names = (s: Snapshot) => s.nodeInfoList.map((n) => n.name);

function cacheWithNodes(...nodes: Node[]): SchedulerCache {
  const c = new SchedulerCache({ clock: new FakeClock() });
  for (const n of nodes) c.addNode(n);
  return c;
}

const antiAffinity: Affinity = {
  podAntiAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "web" } }, topologyKey: "kubernetes.io/hostname" }],
  },
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe("SchedulerCache: pods", () => {
  it("counts bound pods on their node", () => {
    const c = cacheWithNodes(makeNode("n1"));
    c.addPod(makePod("a", { nodeName: "n1", cpu: "500m" }));
    c.addPod(makePod("b", { nodeName: "n1", cpu: "1" }));
    const s = new Snapshot();
    c.updateSnapshot(s);
    expect(s.get("n1")!.requested.milliCPU).toBe(1500);
    expect(c.podCount()).toBe(2);
    expect(() => c.addPod(makePod("a", { nodeName: "n1", cpu: "500m" }))).toThrow(/already added/);
  });

  it("assumes a pod on its chosen node until the informer confirms it", () => {
    const c = cacheWithNodes(makeNode("n1"));
    const p = makePod("p", { nodeName: "n1", cpu: "1" });
    c.assumePod(p);
    expect(c.isAssumedPod(p)).toBe(true);
    expect(c.nodeInfo("n1")!.requested.milliCPU).toBe(1000);
    expect(() => c.assumePod(p)).toThrow(/cannot be assumed/);
    c.finishBinding(p);
    c.addPod(p);
    expect(c.isAssumedPod(p)).toBe(false);
    expect(c.nodeInfo("n1")!.pods).toHaveLength(1);
    expect(c.getPod(p)).toBe(p);
  });

  it("moves an assumed pod when the informer shows it bound to another node", () => {
    const c = cacheWithNodes(makeNode("n1"), makeNode("n2"));
    c.assumePod(makePod("p", { nodeName: "n1", cpu: "1" }));
    c.addPod(makePod("p", { nodeName: "n2", cpu: "1" }));
    expect(c.nodeInfo("n1")!.pods).toHaveLength(0);
    expect(c.nodeInfo("n2")!.requested.milliCPU).toBe(1000);
    expect(c.isAssumedPod(makePod("p"))).toBe(false);
  });

  it("forgets an assumed pod after a bind failure, and only an assumed one", () => {
    const c = cacheWithNodes(makeNode("n1"));
    const p = makePod("p", { nodeName: "n1", cpu: "1" });
    c.assumePod(p);
    expect(() => c.forgetPod(makePod("p", { nodeName: "n2" }))).toThrow(/assumed on n1/);
    c.forgetPod(p);
    expect(c.getPod(p)).toBeUndefined();
    expect(c.nodeInfo("n1")!.requested.milliCPU).toBe(0);
    const bound = makePod("b", { nodeName: "n1" });
    c.addPod(bound);
    expect(() => c.forgetPod(bound)).toThrow(/not assumed/);
  });

  it("updates and removes bound pods, refusing unknown and assumed ones", () => {
    const c = cacheWithNodes(makeNode("n1"));
    const v1 = makePod("p", { nodeName: "n1", cpu: "1" });
    const v2 = makePod("p", { nodeName: "n1", cpu: "2" });
    expect(() => c.updatePod(v1, v2)).toThrow(/not in the scheduler cache/);
    c.addPod(v1);
    c.updatePod(v1, v2);
    expect(c.nodeInfo("n1")!.requested.milliCPU).toBe(2000);
    c.removePod(v2);
    expect(c.podCount()).toBe(0);
    expect(() => c.removePod(v2)).toThrow(/not in the scheduler cache/);
    const a = makePod("a", { nodeName: "n1" });
    c.assumePod(a);
    expect(() => c.updatePod(a, a)).toThrow(/assumed/);
  });

  it("never expires assumed pods without a TTL", () => {
    const clock = new FakeClock();
    const c = new SchedulerCache({ clock });
    const p = makePod("p", { nodeName: "n1" });
    c.assumePod(p);
    c.finishBinding(p);
    expect(c.cleanupAssumedPods(clock.now() + 1e9)).toEqual([]);
    expect(c.isAssumedPod(p)).toBe(true);
  });

  it("with a TTL, expires assumed pods whose binding finished more than the TTL ago", () => {
    const clock = new FakeClock();
    const c = new SchedulerCache({ clock, assumedPodTtlMs: 30_000 });
    c.addNode(makeNode("n1"));
    const binding = makePod("binding", { nodeName: "n1" });
    const bound = makePod("bound", { nodeName: "n1" });
    c.assumePod(binding);
    c.assumePod(bound);
    c.finishBinding(bound);
    c.run();
    clock.advance(30_000);
    expect(c.isAssumedPod(bound)).toBe(true);
    clock.advance(1_000);
    // Binding finished over 30 s ago and no informer Add: gone. The other is still binding.
    expect(c.getPod(bound)).toBeUndefined();
    expect(c.isAssumedPod(binding)).toBe(true);
    expect(c.nodeInfo("n1")!.pods.map((p) => p.pod.metadata.name)).toEqual(["binding"]);
    c.stop();
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe("SchedulerCache: nodes", () => {
  it("keeps pods of a node it does not know yet on a placeholder that snapshots skip", () => {
    const c = new SchedulerCache({ clock: new FakeClock() });
    c.addPod(makePod("early", { nodeName: "n1", cpu: "1" }));
    expect(c.nodeCount()).toBe(1);
    const s = new Snapshot();
    c.updateSnapshot(s);
    expect(s.nodeInfoList).toEqual([]);
    expect(s.nodeInfoMap.size).toBe(0);
    c.addNode(makeNode("n1"));
    c.updateSnapshot(s);
    expect(names(s)).toEqual(["n1"]);
    expect(s.get("n1")!.requested.milliCPU).toBe(1000);
  });

  it("keeps a removed node's pods until their deletions arrive, outside snapshots", () => {
    const c = cacheWithNodes(makeNode("n1"), makeNode("n2"));
    const p = makePod("p", { nodeName: "n1" });
    c.addPod(p);
    const s = new Snapshot();
    c.updateSnapshot(s);
    c.removeNode(makeNode("n1"));
    c.updateSnapshot(s);
    expect(names(s)).toEqual(["n2"]);
    expect(s.get("n1")).toBeUndefined();
    expect(c.nodeCount()).toBe(2);
    expect(c.podCount()).toBe(1);
    c.removePod(p);
    expect(c.nodeCount()).toBe(1);
    expect(() => c.removeNode(makeNode("n1"))).toThrow(/not in the scheduler cache/);
  });

  it("updateNode changes allocatable in the next snapshot", () => {
    const c = cacheWithNodes(makeNode("n1", { cpu: "2" }));
    const s = new Snapshot();
    c.updateSnapshot(s);
    c.updateNode(makeNode("n1", { cpu: "2" }), makeNode("n1", { cpu: "8" }));
    c.updateSnapshot(s);
    expect(s.get("n1")!.allocatable.milliCPU).toBe(8000);
  });

  it("tracks images per name and on how many nodes each is", () => {
    const app = { names: ["registry.local/app:1", "registry.local/app@sha256:abc"], sizeBytes: 100 };
    const db = { names: ["registry.local/db:1"], sizeBytes: 500 };
    const c = cacheWithNodes(makeNode("n1", { images: [app, db] }), makeNode("n2", { images: [app] }));
    const s = new Snapshot();
    c.updateSnapshot(s);
    expect(s.get("n1")!.imageStates.get("registry.local/app:1")).toEqual({ size: 100, numNodes: 2 });
    expect(s.get("n1")!.imageStates.get("registry.local/app@sha256:abc")).toEqual({ size: 100, numNodes: 2 });
    expect(s.get("n1")!.imageStates.get("registry.local/db:1")).toEqual({ size: 500, numNodes: 1 });
    expect(s.get("n2")!.imageStates.has("registry.local/db:1")).toBe(false);

    c.updateNode(makeNode("n2", { images: [app] }), makeNode("n2", { images: [] }));
    c.updateSnapshot(s);
    expect(s.get("n1")!.imageStates.get("registry.local/app:1")).toEqual({ size: 100, numNodes: 1 });
    expect(s.get("n2")!.imageStates.size).toBe(0);
    c.removeNode(makeNode("n1"));
    c.addNode(makeNode("n3", { images: [db] }));
    c.updateSnapshot(s);
    expect(s.get("n3")!.imageStates.get("registry.local/db:1")).toEqual({ size: 500, numNodes: 1 });
  });
});

describe("NodeTree", () => {
  it("lists nodes zone by zone in turn, stable as long as the nodes are", () => {
    const t = new NodeTree();
    const z = (name: string, zone: string) => makeNode(name, { labels: { "topology.kubernetes.io/zone": zone } });
    for (const n of [z("a1", "a"), z("a2", "a"), z("a3", "a"), z("b1", "b"), z("c1", "c"), z("b2", "b")]) t.add(n);
    expect(t.list()).toEqual(["a1", "b1", "c1", "a2", "b2", "a3"]);
    t.update(z("a1", "c"));
    expect(t.list()).toEqual(["a2", "b1", "c1", "a3", "b2", "a1"]);
    t.remove("b1");
    expect(t.numNodes).toBe(5);
    expect(t.list()).toEqual(["a2", "b2", "c1", "a3", "a1"]);
  });
});

describe("SchedulerCache: snapshots", () => {
  it("copies only changed NodeInfos and keeps the node list when no node came or went", () => {
    const c = cacheWithNodes(makeNode("n1"), makeNode("n2"), makeNode("n3"));
    const s = new Snapshot();
    c.updateSnapshot(s);
    const list = s.nodeInfoList;
    const n3 = s.get("n3")!;
    expect(names(s)).toEqual(["n1", "n2", "n3"]);

    const clone = vi.spyOn(NodeInfo.prototype, "clone");
    c.assumePod(makePod("p", { nodeName: "n3", cpu: "1" }));
    c.updateSnapshot(s);
    expect(clone).toHaveBeenCalledTimes(1);
    expect(s.nodeInfoList).toBe(list);
    expect(s.get("n3")).toBe(n3);
    expect(n3.requested.milliCPU).toBe(1000);

    clone.mockClear();
    c.updateSnapshot(s);
    expect(clone).not.toHaveBeenCalled();
  });

  it("does not let later cache changes leak into an older snapshot", () => {
    const c = cacheWithNodes(makeNode("n1"));
    const s = new Snapshot();
    c.updateSnapshot(s);
    c.addPod(makePod("p", { nodeName: "n1", cpu: "1" }));
    expect(s.get("n1")!.requested.milliCPU).toBe(0);
    expect(s.get("n1")!.pods).toHaveLength(0);
  });

  it("rebuilds the list in node-tree order when nodes are added or removed", () => {
    const c = cacheWithNodes(makeNode("n1"), makeNode("n2"));
    const s = new Snapshot();
    c.updateSnapshot(s);
    c.addNode(makeNode("n3"));
    c.updateSnapshot(s);
    expect(names(s)).toEqual(["n1", "n2", "n3"]);
    c.removeNode(makeNode("n2"));
    c.updateSnapshot(s);
    expect(names(s)).toEqual(["n1", "n3"]);
    expect([...s.nodeInfoMap.keys()].sort()).toEqual(["n1", "n3"]);
    // Removed and another added between two updates.
    c.removeNode(makeNode("n1"));
    c.addNode(makeNode("n4"));
    c.updateSnapshot(s);
    expect(names(s)).toEqual(["n3", "n4"]);
  });

  it("maintains the lists of nodes with (anti-)affinity pods", () => {
    const c = cacheWithNodes(makeNode("n1"), makeNode("n2"));
    const s = new Snapshot();
    c.updateSnapshot(s);
    const p = makePod("web", { nodeName: "n2", labels: { app: "web" }, affinity: antiAffinity });
    c.addPod(p);
    c.updateSnapshot(s);
    expect(s.havePodsWithAffinityList.map((n) => n.name)).toEqual(["n2"]);
    expect(s.havePodsWithRequiredAntiAffinityList.map((n) => n.name)).toEqual(["n2"]);
    c.removePod(p);
    c.updateSnapshot(s);
    expect(s.havePodsWithAffinityList).toEqual([]);
    expect(s.havePodsWithRequiredAntiAffinityList).toEqual([]);
  });

  it("updates one snapshot at a time independently of another", () => {
    const c = cacheWithNodes(makeNode("n1"), makeNode("n2"));
    const a = new Snapshot();
    const b = new Snapshot();
    c.updateSnapshot(a);
    c.addPod(makePod("p", { nodeName: "n1", cpu: "1" }));
    c.updateSnapshot(b);
    c.updateSnapshot(a);
    expect(a.get("n1")!.requested.milliCPU).toBe(1000);
    expect(b.get("n1")!.requested.milliCPU).toBe(1000);
    expect(names(a)).toEqual(names(b));
  });

  it("at 5,000 nodes and 10,000 pods, a snapshot after one assumed pod copies one NodeInfo", () => {
    const c = new SchedulerCache({ clock: new FakeClock() });
    for (let i = 0; i < 5000; i++) c.addNode(makeNode(`n${i}`, { labels: { "topology.kubernetes.io/zone": `z${i % 3}` } }));
    for (let i = 0; i < 10000; i++) c.addPod(makePod(`p${i}`, { nodeName: `n${i % 5000}`, cpu: "100m" }));
    const s = new Snapshot();
    c.updateSnapshot(s);
    expect(s.nodeInfoList).toHaveLength(5000);
    const order = names(s);
    const list = s.nodeInfoList;

    const clone = vi.spyOn(NodeInfo.prototype, "clone");
    const t0 = performance.now();
    c.assumePod(makePod("new", { nodeName: "n4242", cpu: "1" }));
    c.updateSnapshot(s);
    const ms = performance.now() - t0;
    expect(clone).toHaveBeenCalledTimes(1);
    expect(s.nodeInfoList).toBe(list);
    expect(names(s)).toEqual(order);
    expect(s.get("n4242")!.requested.milliCPU).toBe(1200);
    expect(ms).toBeLessThan(50);
  });
});
