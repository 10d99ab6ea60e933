// Book 11.2.3: DefaultPreemption tests: choosing victims on a node (PDBs, reprieve order), choosing the
// node, evicting and un-nominating, eligibility, and the message when preemption cannot help.
import type { Node, Pod, PodDisruptionBudget } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { PodInfo, Snapshot } from "../framework/node-info.js";
import { Code, CycleState, type FilterPlugin, type NodeToStatus, type PreFilterPlugin, unresolvable, unschedulable } from "../framework/types.js";
import { makeNode, makePod } from "../testing/builders.js";
import { FakeHandle } from "../testing/fake-handle.js";
import {
  DEFAULT_PREEMPTION,
  DefaultPreemption,
  NOT_ELIGIBLE_NEVER,
  NOT_ELIGIBLE_TERMINATING,
  type Victims,
  newDefaultPreemption,
  pickOneNodeForPreemption,
  selectVictimsOnNode,
} from "./default-preemption.js";
import { InterPodAffinity } from "./inter-pod-affinity.js";

/** A small stand-in for NodeResourcesFit: CPU and pod count only. */
const tinyFit: FilterPlugin = {
  name: "TinyFit",
  filter(_state, pod, nodeInfo) {
    const want = new PodInfo(pod).requests.milliCPU;
    if (nodeInfo.requested.milliCPU + want > nodeInfo.allocatable.milliCPU) return unschedulable("Insufficient cpu");
    if (nodeInfo.pods.length + 1 > nodeInfo.allocatable.allowedPodNumber) return unschedulable("Too many pods");
    return null;
  },
};

/** Rejects the named nodes as preemption cannot fix (like a node selector mismatch). */
const rejectNodes = (...names: string[]): FilterPlugin => ({
  name: "RejectNodes",
  filter: (_s, _p, ni) => (names.includes(ni.name) ? unresolvable("node(s) didn't match Pod's node affinity/selector") : null),
});

const pod = (name: string, nodeName: string, priority: number, cpu: string, extra: Parameters<typeof makePod>[1] = {}): Pod =>
  makePod(name, { nodeName, priority, cpu, ...extra });

const terminating = (p: Pod): Pod => ({ ...p, metadata: { ...p.metadata, deletionTimestamp: "2026-01-01T00:05:00Z" } });

const pdb = (app: string, disruptionsAllowed: number): PodDisruptionBudget => ({
  apiVersion: "policy/v1",
  kind: "PodDisruptionBudget",
  metadata: { name: `${app}-pdb`, namespace: "default" },
  spec: { selector: { matchLabels: { app } } },
  status: { disruptionsAllowed },
});

interface Setup {
  filters?: FilterPlugin[];
  preFilters?: PreFilterPlugin[];
  pdbs?: PodDisruptionBudget[];
  nominatedPods?: Pod[];
  args?: Record<string, unknown>;
  offset?: number;
  /** For plugins that need the handle (e.g. InterPodAffinity reads its snapshot). */
  plugins?: (handle: FakeHandle) => { filters: FilterPlugin[]; preFilters: PreFilterPlugin[] };
}

/** Builds the scene and runs PreFilter and Filter as the scheduler would before calling PostFilter. */
function scene(nodes: Node[], pods: Pod[], preemptor: Pod, o: Setup = {}) {
  const snapshot = Snapshot.from(nodes, pods);
  const handle = new FakeHandle(snapshot, {
    filters: o.filters ?? [tinyFit],
    preFilters: o.preFilters ?? [],
    pdbs: o.pdbs ?? [],
    nominatedPods: o.nominatedPods ?? [],
  });
  if (o.plugins) Object.assign(handle, o.plugins(handle));
  const state = new CycleState();
  expect(handle.runPreFilterPlugins(state, preemptor)).toBeNull();
  const filtered: NodeToStatus = new Map();
  for (const ni of snapshot.nodeInfoList) {
    const s = handle.runFilterPluginsWithNominatedPods(state, preemptor, ni);
    if (s) filtered.set(ni.name, s);
  }
  const plugin = newDefaultPreemption(o.args ?? {}, handle) as DefaultPreemption;
  plugin.randomOffset = () => o.offset ?? 0;
  return { snapshot, handle, state, filtered, plugin, postFilter: () => plugin.postFilter(state, preemptor, filtered) };
}

const names = (pods: readonly Pod[]) => pods.map((p) => p.metadata.name);

describe("selectVictimsOnNode", () => {
  const node = makeNode("n1", { cpu: "4" });
  const a = pod("a", "n1", 1, "1", { labels: { app: "a" } });
  const b = pod("b", "n1", 2, "1");
  const c = pod("c", "n1", 3, "2");
  const preemptor = makePod("p", { priority: 10, cpu: "2" });

  function select(pdbs: PodDisruptionBudget[] = [], pods = [a, b, c], p = preemptor) {
    const s = scene([node], pods, p);
    const ni = s.snapshot.get("n1")!.clone();
    return selectVictimsOnNode(s.handle, s.state.clone(), p, ni, pdbs);
  }

  it("spares the most important pods that still leave room", () => {
    // Reprieve order c, b, a: c fits back (2 + 2), then neither b nor a does.
    const r = select();
    expect(r.status).toBeNull();
    expect(names(r.victims)).toEqual(["b", "a"]);
    expect(r.numPDBViolations).toBe(0);
  });

  it("tries to spare PDB-protected pods first", () => {
    // a is protected (no disruptions allowed): a goes back first, then c no longer fits, b does.
    const r = select([pdb("a", 0)]);
    expect(names(r.victims)).toEqual(["c"]);
    expect(r.numPDBViolations).toBe(0);
    // With budget to spare, a is not protected.
    expect(names(select([pdb("a", 1)]).victims)).toEqual(["b", "a"]);
  });

  it("counts the protected pods it must still evict", () => {
    const big = makePod("p", { priority: 10, cpu: "4" });
    const r = select([pdb("a", 0)], [a, b, c], big);
    expect(names(r.victims)).toEqual(["c", "b", "a"]);
    expect(r.numPDBViolations).toBe(1);
  });

  it("reports no victims when no pod on the node has lower priority", () => {
    const r = select([], [pod("hi", "n1", 50, "4")]);
    expect(r.status).toEqual({ code: Code.UnschedulableAndUnresolvable, reasons: ["No preemption victims found for incoming pod"] });
  });

  it("returns the filter's verdict when even an empty node is not enough", () => {
    const r = select([], [a, b, c], makePod("huge", { priority: 10, cpu: "8" }));
    expect(r.status?.code).toBe(Code.Unschedulable);
    expect(r.status?.reasons).toEqual(["Insufficient cpu"]);
  });
});

describe("pickOneNodeForPreemption", () => {
  const v = (pods: Pod[], numPDBViolations = 0): Victims => ({ pods, numPDBViolations });
  const p = (name: string, priority: number, startTime = "2026-01-01T00:00:00Z") => {
    const x = makePod(name, { priority });
    return { ...x, status: { ...x.status, startTime } };
  };

  it("returns undefined for no candidates", () => {
    expect(pickOneNodeForPreemption(new Map())).toBeUndefined();
  });

  it("prefers fewer PDB violations over everything else", () => {
    expect(pickOneNodeForPreemption(new Map([["n1", v([p("a", 1)], 1)], ["n2", v([p("b", 100), p("c", 90)], 0)]]))).toBe("n2");
  });

  it("then the lowest highest-priority victim", () => {
    expect(pickOneNodeForPreemption(new Map([["n1", v([p("a", 5)])], ["n2", v([p("b", 4), p("c", 4), p("d", 3)])]]))).toBe("n2");
  });

  it("then the smallest sum of priorities, then the fewest victims", () => {
    expect(pickOneNodeForPreemption(new Map([["n1", v([p("a", 5), p("b", 4)])], ["n2", v([p("c", 5), p("d", 3)])]]))).toBe("n2");
    // Negative priorities: two pods at -5 must not beat one pod at -5.
    expect(pickOneNodeForPreemption(new Map([["n1", v([p("a", -5), p("b", -5)])], ["n2", v([p("c", -5)])]]))).toBe("n2");
  });

  it("then the latest start among the highest-priority victims, then the first", () => {
    const early = v([p("a", 5, "2026-01-01T10:00:00Z")]);
    const late = v([p("b", 5, "2026-01-01T11:00:00Z")]);
    expect(pickOneNodeForPreemption(new Map([["n1", early], ["n2", late]]))).toBe("n2");
    expect(pickOneNodeForPreemption(new Map([["n1", late], ["n2", late]]))).toBe("n1");
  });

  it("falls back to creationTimestamp when a pod has no startTime", () => {
    const old = v([makePod("a", { priority: 5, creationTimestamp: "2026-01-01T00:00:00Z" })]);
    const young = v([makePod("b", { priority: 5, creationTimestamp: "2026-02-01T00:00:00Z" })]);
    expect(pickOneNodeForPreemption(new Map([["n1", old], ["n2", young]]))).toBe("n2");
  });
});

describe("DefaultPreemption PostFilter", () => {
  const preemptor = makePod("p", { priority: 10, cpu: "2" });

  it("evicts the victims, clears lower-priority nominations on that node and nominates it", async () => {
    const nodes = [makeNode("n1", { cpu: "4" }), makeNode("n2", { cpu: "4" }), makeNode("n3", { cpu: "4" })];
    const pods = [pod("low1", "n1", 1, "1"), pod("low2", "n1", 2, "2"), pod("high", "n2", 100, "4"), pod("x", "n3", 1, "4")];
    const lowerNominee = makePod("nominee-low", { priority: 5, nominatedNodeName: "n1" });
    const otherNominee = makePod("nominee-other", { priority: 5, nominatedNodeName: "n2" });
    const s = scene(nodes, pods, preemptor, { filters: [rejectNodes("n3"), tinyFit], nominatedPods: [lowerNominee, otherNominee] });
    const before = s.snapshot.get("n1")!.pods.length;

    const { result, status } = await s.postFilter();
    expect(status).toBeNull();
    expect(result).toEqual({ nominatedNodeName: "n1" });
    // low2 goes back (2 + 2 fits), low1 does not.
    expect(s.handle.client.evictions.map((e) => [e.victim.metadata.name, e.preemptor.metadata.name, e.nodeName])).toEqual([["low1", "p", "n1"]]);
    expect(s.handle.client.nominations.map((n) => [n.pod.metadata.name, n.nodeName])).toEqual([["nominee-low", undefined]]);
    // The dry run worked on copies.
    expect(s.snapshot.get("n1")!.pods.length).toBe(before);
  });

  it("picks the node whose victims matter least", async () => {
    const nodes = [makeNode("n1", { cpu: "2" }), makeNode("n2", { cpu: "2" })];
    const pods = [pod("mid", "n1", 5, "2"), pod("low", "n2", 1, "2")];
    const s = scene(nodes, pods, preemptor);
    expect((await s.postFilter()).result).toEqual({ nominatedNodeName: "n2" });
    // A PDB on the cheaper victim tips the choice.
    const withPdb = scene(nodes, [pod("mid", "n1", 5, "2"), pod("low", "n2", 1, "2", { labels: { app: "db" } })], preemptor, { pdbs: [pdb("db", 0)] });
    expect((await withPdb.postFilter()).result).toEqual({ nominatedNodeName: "n1" });
  });

  it("dry-runs only as many nodes as needed, starting at the random offset", async () => {
    const nodes = [makeNode("n1", { cpu: "2" }), makeNode("n2", { cpu: "2" }), makeNode("n3", { cpu: "2" })];
    const pods = [pod("a", "n1", 1, "2"), pod("b", "n2", 1, "2"), pod("c", "n3", 5, "2")];
    const bounded = { minCandidateNodesPercentage: 0, minCandidateNodesAbsolute: 1 };
    expect((await scene(nodes, pods, preemptor, { args: bounded, offset: 2 }).postFilter()).result).toEqual({ nominatedNodeName: "n3" });
    expect((await scene(nodes, pods, preemptor, { args: bounded, offset: 1 }).postFilter()).result).toEqual({ nominatedNodeName: "n2" });
    expect((await scene(nodes, pods, preemptor, { offset: 2 }).postFilter()).result).toEqual({ nominatedNodeName: "n1" });
  });

  it("stops the dry run once it has enough candidates", async () => {
    const nodes = ["n1", "n2", "n3", "n4"].map((n) => makeNode(n, { cpu: "2" }));
    const pods = nodes.map((n, i) => pod(`low${i}`, n.metadata.name!, 1, "2"));
    const seen = new Set<string>();
    const counting: FilterPlugin = { name: "Counting", filter: (s, p, ni) => (seen.add(ni.name), tinyFit.filter(s, p, ni)) };
    const s = scene(nodes, pods, preemptor, { filters: [counting], args: { minCandidateNodesPercentage: 0, minCandidateNodesAbsolute: 2 }, offset: 1 });
    seen.clear();
    expect((await s.postFilter()).result).toEqual({ nominatedNodeName: "n2" });
    expect([...seen].sort()).toEqual(["n2", "n3"]);
  });

  it("does not evict a victim that is already terminating", async () => {
    const s = scene([makeNode("n1", { cpu: "2" })], [terminating(pod("going", "n1", 1, "1")), pod("stay", "n1", 1, "1")], preemptor);
    const { result } = await s.postFilter();
    expect(result).toEqual({ nominatedNodeName: "n1" });
    expect(s.handle.client.evictions.map((e) => e.victim.metadata.name)).toEqual(["stay"]);
  });

  it("returns an Error status when an eviction fails", async () => {
    const s = scene([makeNode("n1", { cpu: "2" })], [pod("low", "n1", 1, "2")], preemptor);
    s.handle.client.failEvictionOf = "low";
    const { result, status } = await s.postFilter();
    expect(result).toBeUndefined();
    expect(status?.code).toBe(Code.Error);
  });

  it("uses the PreFilter extensions: evicting a pod the preemptor has anti-affinity to", async () => {
    const nodes = [makeNode("n1"), makeNode("n2")];
    const pods = [makePod("web-low", { nodeName: "n1", priority: 1, labels: { app: "web" } }), makePod("web-high", { nodeName: "n2", priority: 100, labels: { app: "web" } })];
    const antiWeb = makePod("p", {
      priority: 10,
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "web" } }, topologyKey: "kubernetes.io/hostname" }] } },
    });
    const s = scene(nodes, pods, antiWeb, {
      plugins: (h) => {
        const ipa = new InterPodAffinity({}, h);
        return { filters: [ipa, tinyFit], preFilters: [ipa] };
      },
    });
    expect(s.filtered.get("n1")?.code).toBe(Code.Unschedulable);
    const { result, status } = await s.postFilter();
    expect(status).toBeNull();
    expect(result).toEqual({ nominatedNodeName: "n1" });
    expect(s.handle.client.evictions.map((e) => e.victim.metadata.name)).toEqual(["web-low"]);
  });
});

describe("DefaultPreemption when preemption cannot help", () => {
  const preemptor = makePod("p", { priority: 10, cpu: "2" });

  it("refuses a pod with preemptionPolicy Never", async () => {
    const never = makePod("p", { priority: 10, cpu: "2", preemptionPolicy: "Never" });
    const s = scene([makeNode("n1", { cpu: "2" })], [pod("low", "n1", 1, "2")], never);
    expect(await s.postFilter()).toEqual({ status: { code: Code.Unschedulable, reasons: [NOT_ELIGIBLE_NEVER] } });
    expect(s.handle.client.evictions).toEqual([]);
  });

  it("waits while lower-priority pods on its nominated node are still terminating", async () => {
    const nominated = makePod("p", { priority: 10, cpu: "2", nominatedNodeName: "n1" });
    const nodes = [makeNode("n1", { cpu: "2" }), makeNode("n2", { cpu: "2" })];
    const pods = [terminating(pod("going", "n1", 1, "2")), pod("low", "n2", 1, "2")];
    const s = scene(nodes, pods, nominated);
    expect(await s.postFilter()).toEqual({ status: { code: Code.Unschedulable, reasons: [NOT_ELIGIBLE_TERMINATING] } });
    // If the nominated node can no longer take the pod at all, it may preempt elsewhere.
    const moved = scene(nodes, pods, nominated, { filters: [rejectNodes("n1"), tinyFit] });
    expect((await moved.postFilter()).result).toEqual({ nominatedNodeName: "n2" });
  });

  it("counts nodes without lower-priority pods as having no victims", async () => {
    const nodes = ["n1", "n2", "n3"].map((n) => makeNode(n, { cpu: "2" }));
    const s = scene(nodes, [pod("a", "n1", 50, "2"), pod("b", "n2", 50, "2"), pod("c", "n3", 10, "2")], preemptor);
    const { result, status } = await s.postFilter();
    expect(status).toEqual({ code: Code.Unschedulable, reasons: ["0/3 nodes are available: 3 No preemption victims found for incoming pod."] });
    expect(result).toEqual({ nominatedNodeName: "" });
  });

  it("says preemption is not helpful when every node is unresolvable", async () => {
    const s = scene([makeNode("n1"), makeNode("n2")], [pod("low", "n1", 1, "1")], preemptor, { filters: [rejectNodes("n1", "n2")] });
    expect((await s.postFilter()).status?.reasons).toEqual(["0/2 nodes are available: 2 Preemption is not helpful for scheduling."]);
  });

  it("groups mixed reasons with their counts, sorted", async () => {
    const nodes = [makeNode("n1", { cpu: "1" }), makeNode("n2", { cpu: "4" }), makeNode("n3", { cpu: "4" })];
    const pods = [pod("low", "n1", 1, "1"), pod("x", "n2", 1, "1"), pod("y", "n3", 1, "1")];
    const s = scene(nodes, pods, preemptor, { filters: [rejectNodes("n2", "n3"), tinyFit] });
    expect((await s.postFilter()).status?.reasons).toEqual(["0/3 nodes are available: 1 Insufficient cpu, 2 Preemption is not helpful for scheduling."]);
  });
});

describe("DefaultPreemption args", () => {
  const handle = new FakeHandle(Snapshot.from([]));
  it("bounds the candidates by percentage and absolute minimum", () => {
    const pl = newDefaultPreemption(undefined, handle) as DefaultPreemption;
    expect(pl.name).toBe(DEFAULT_PREEMPTION);
    expect(pl.numCandidates(50)).toBe(50);
    expect(pl.numCandidates(500)).toBe(100);
    expect(pl.numCandidates(5000)).toBe(500);
    expect((newDefaultPreemption({ minCandidateNodesPercentage: 50, minCandidateNodesAbsolute: 1 }, handle) as DefaultPreemption).numCandidates(10)).toBe(5);
    expect(pl.eventsToRegister()).toEqual([]);
  });

  it("rejects out-of-range values", () => {
    expect(() => newDefaultPreemption({ minCandidateNodesPercentage: 101 }, handle)).toThrow(/minCandidateNodesPercentage/);
    expect(() => newDefaultPreemption({ minCandidateNodesAbsolute: -1 }, handle)).toThrow(/minCandidateNodesAbsolute/);
    expect(() => newDefaultPreemption({ minCandidateNodesPercentage: 0, minCandidateNodesAbsolute: 0 }, handle)).toThrow(/both cannot be zero/);
  });
});
