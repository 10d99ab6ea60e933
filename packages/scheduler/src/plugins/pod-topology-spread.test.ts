// Book 11.2.3-11.2.4: PodTopologySpread tests: hard spreading in Filter (skew, minDomains, node
// inclusion policies, preemption's add/remove) and soft spreading in Score.
import type { Node, Pod, TopologySpreadConstraint } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { PodInfo, Snapshot } from "../framework/node-info.js";
import { Code, CycleState, type NodeScore } from "../framework/types.js";
import { makeNode, makePod } from "../testing/builders.js";
import { FakeHandle } from "../testing/fake-handle.js";
import {
  ERR_REASON_CONSTRAINTS_NOT_MATCH,
  ERR_REASON_NODE_LABEL_NOT_MATCH,
  POD_TOPOLOGY_SPREAD,
  PodTopologySpread,
  newPodTopologySpread,
} from "./pod-topology-spread.js";

const ZONE = "topology.kubernetes.io/zone";
const HOST = "kubernetes.io/hostname";

const zoneNode = (name: string, zone: string, extra: Parameters<typeof makeNode>[1] = {}): Node =>
  makeNode(name, { ...extra, labels: { [ZONE]: zone, ...(extra.labels ?? {}) } });

const web = (name: string, nodeName: string, extra: Parameters<typeof makePod>[1] = {}): Pod =>
  makePod(name, { nodeName, labels: { app: "web" }, ...extra });

const spread = (topologyKey: string, o: Partial<TopologySpreadConstraint> = {}): TopologySpreadConstraint => ({
  maxSkew: 1,
  topologyKey,
  whenUnsatisfiable: "DoNotSchedule",
  labelSelector: { matchLabels: { app: "web" } },
  ...o,
});

function setup(nodes: Node[], pods: Pod[], args: Record<string, unknown> = {}) {
  const snapshot = Snapshot.from(nodes, pods);
  const handle = new FakeHandle(snapshot);
  const plugin = newPodTopologySpread(args, handle) as PodTopologySpread;
  return { snapshot, handle, plugin };
}

/** Runs PreFilter then Filter on every node; returns node name -> status (null = fits). */
function filterAll(plugin: PodTopologySpread, snapshot: Snapshot, pod: Pod, state = new CycleState()) {
  const pre = plugin.preFilter(state, pod, snapshot.nodeInfoList);
  const out: Record<string, ReturnType<PodTopologySpread["filter"]>> = {};
  for (const ni of snapshot.nodeInfoList) out[ni.name] = plugin.filter(state, pod, ni);
  return { pre, out, state };
}

const feasible = (out: Record<string, unknown>) =>
  Object.entries(out)
    .filter(([, s]) => s === null)
    .map(([n]) => n);

describe("PodTopologySpread PreFilter/Filter", () => {
  it("skips a pod without DoNotSchedule constraints so Filter costs nothing", () => {
    const { plugin, snapshot } = setup([zoneNode("a1", "a")], []);
    const st = new CycleState();
    expect(plugin.preFilter(st, makePod("p"), snapshot.nodeInfoList).status?.code).toBe(Code.Skip);
    const soft = makePod("q", { labels: { app: "web" }, topologySpreadConstraints: [spread(ZONE, { whenUnsatisfiable: "ScheduleAnyway" })] });
    expect(plugin.preFilter(st, soft, snapshot.nodeInfoList).status?.code).toBe(Code.Skip);
  });

  it("rejects domains whose count would exceed the global minimum by more than maxSkew", () => {
    const { plugin, snapshot } = setup(
      [zoneNode("a1", "a"), zoneNode("a2", "a"), zoneNode("b1", "b")],
      [web("w1", "a1"), web("w2", "a2"), web("w3", "b1")],
    );
    const pod = makePod("new", { labels: { app: "web" }, topologySpreadConstraints: [spread(ZONE)] });
    const { pre, out } = filterAll(plugin, snapshot, pod);
    expect(pre.status).toBeNull();
    // zone a holds 2, zone b 1: a would become 3 (skew 2), b becomes 2 (skew 1).
    expect(feasible(out)).toEqual(["b1"]);
    expect(out.a1).toEqual({ code: Code.Unschedulable, reasons: [ERR_REASON_CONSTRAINTS_NOT_MATCH] });
  });

  it("does not count the pod itself when it does not match its own selector", () => {
    const { plugin, snapshot } = setup([zoneNode("a1", "a"), zoneNode("b1", "b")], [web("w1", "a1")]);
    const other = makePod("new", { labels: { app: "other" }, topologySpreadConstraints: [spread(ZONE)] });
    expect(feasible(filterAll(plugin, snapshot, other).out)).toEqual(["a1", "b1"]);
    const same = makePod("new", { labels: { app: "web" }, topologySpreadConstraints: [spread(ZONE)] });
    expect(feasible(filterAll(plugin, snapshot, same).out)).toEqual(["b1"]);
  });

  it("rejects a node without the topology key as unresolvable", () => {
    const { plugin, snapshot } = setup([zoneNode("a1", "a"), makeNode("bare")], []);
    const pod = makePod("new", { labels: { app: "web" }, topologySpreadConstraints: [spread(ZONE)] });
    const { out } = filterAll(plugin, snapshot, pod);
    expect(out.a1).toBeNull();
    expect(out.bare).toEqual({ code: Code.UnschedulableAndUnresolvable, reasons: [ERR_REASON_NODE_LABEL_NOT_MATCH] });
  });

  it("ignores pods in other namespaces, terminating pods and pods the selector does not pick", () => {
    const { plugin, snapshot } = setup(
      [zoneNode("a1", "a"), zoneNode("b1", "b")],
      [
        web("w1", "a1", { namespace: "other" }),
        { ...web("w2", "a1"), metadata: { ...web("w2", "a1").metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } },
        makePod("db", { nodeName: "a1", labels: { app: "db" } }),
        web("w3", "a1"),
      ],
    );
    const pod = makePod("new", { labels: { app: "web" }, topologySpreadConstraints: [spread(ZONE)] });
    // Only w3 counts: zone a = 1, zone b = 0, so a would be at skew 2.
    expect(feasible(filterAll(plugin, snapshot, pod).out)).toEqual(["b1"]);
    const { plugin: p2, snapshot: s2 } = setup([zoneNode("a1", "a"), zoneNode("b1", "b")], [web("w1", "a1", { namespace: "other" })]);
    expect(feasible(filterAll(p2, s2, pod).out)).toEqual(["a1", "b1"]);
  });

  it("treats the global minimum as 0 while there are fewer domains than minDomains", () => {
    const nodes = [zoneNode("a1", "a"), zoneNode("b1", "b")];
    const pods = [web("w1", "a1"), web("w2", "b1")];
    const pod = (minDomains?: number) =>
      makePod("new", { labels: { app: "web" }, topologySpreadConstraints: [spread(ZONE, minDomains ? { minDomains } : {})] });
    const { plugin, snapshot } = setup(nodes, pods);
    expect(feasible(filterAll(plugin, snapshot, pod()).out)).toEqual(["a1", "b1"]);
    // Three domains wanted, two exist: every zone already has 1, so 1 + 1 - 0 > maxSkew.
    expect(feasible(filterAll(plugin, snapshot, pod(3)).out)).toEqual([]);
  });

  it("honours the pod's node affinity when choosing which nodes' domains count (nodeAffinityPolicy)", () => {
    const nodes = [zoneNode("a1", "a", { labels: { disk: "ssd" } }), zoneNode("b1", "b", { labels: { disk: "ssd" } }), zoneNode("c1", "c")];
    const pods = [web("w1", "a1"), web("w2", "b1")];
    const { plugin, snapshot } = setup(nodes, pods);
    const pod = (policy?: "Honor" | "Ignore") =>
      makePod("new", {
        labels: { app: "web" },
        nodeSelector: { disk: "ssd" },
        topologySpreadConstraints: [spread(ZONE, policy ? { nodeAffinityPolicy: policy } : {})],
      });
    // Honor (default): zone c is not eligible, the minimum is 1, a and b are at skew 1.
    expect(feasible(filterAll(plugin, snapshot, pod()).out)).toEqual(["a1", "b1", "c1"]);
    // Ignore: the empty zone c makes the minimum 0, so a and b (skew 2) are rejected.
    expect(feasible(filterAll(plugin, snapshot, pod("Ignore")).out)).toEqual(["c1"]);
  });

  it("leaves out nodes with untolerated taints only when nodeTaintsPolicy is Honor", () => {
    const taint = { key: "dedicated", value: "gpu", effect: "NoSchedule" as const };
    const nodes = [zoneNode("a1", "a"), zoneNode("b1", "b"), zoneNode("c1", "c", { taints: [taint] })];
    const pods = [web("w1", "a1"), web("w2", "b1")];
    const { plugin, snapshot } = setup(nodes, pods);
    const pod = (policy?: "Honor") =>
      makePod("new", { labels: { app: "web" }, topologySpreadConstraints: [spread(ZONE, policy ? { nodeTaintsPolicy: policy } : {})] });
    expect(feasible(filterAll(plugin, snapshot, pod()).out)).toEqual(["c1"]);
    expect(feasible(filterAll(plugin, snapshot, pod("Honor")).out)).toEqual(["a1", "b1", "c1"]);
  });

  it("adds matchLabelKeys to the selector, so only pods of the same revision count", () => {
    const nodes = [zoneNode("a1", "a"), zoneNode("b1", "b")];
    const old = (n: string, node: string) => makePod(n, { nodeName: node, labels: { app: "web", "pod-template-hash": "v1" } });
    const { plugin, snapshot } = setup(nodes, [old("o1", "a1"), old("o2", "a1")]);
    const pod = (keys?: string[]) =>
      makePod("new", {
        labels: { app: "web", "pod-template-hash": "v2" },
        topologySpreadConstraints: [spread(ZONE, keys ? { matchLabelKeys: keys } : {})],
      });
    expect(feasible(filterAll(plugin, snapshot, pod()).out)).toEqual(["b1"]);
    expect(feasible(filterAll(plugin, snapshot, pod(["pod-template-hash"])).out)).toEqual(["a1", "b1"]);
  });

  it("checks every constraint: a node must satisfy both zone and hostname spreading", () => {
    const nodes = [zoneNode("a1", "a"), zoneNode("a2", "a"), zoneNode("b1", "b")];
    const { plugin, snapshot } = setup(nodes, [web("w1", "a1")]);
    const pod = makePod("new", { labels: { app: "web" }, topologySpreadConstraints: [spread(ZONE), spread(HOST)] });
    // Zones: a=1, b=0 so only b passes the zone rule; a2 would pass the hostname rule alone.
    expect(feasible(filterAll(plugin, snapshot, pod).out)).toEqual(["b1"]);
  });

  it("updates counts through PreFilterExtensions on a cloned state only", () => {
    const nodes = [zoneNode("a1", "a"), zoneNode("b1", "b")];
    const w1 = web("w1", "a1");
    const w2 = web("w2", "a1");
    const { plugin, snapshot } = setup(nodes, [w1, w2, web("w3", "b1")]);
    const pod = makePod("new", { labels: { app: "web" }, priority: 100, topologySpreadConstraints: [spread(ZONE)] });
    const { state, out } = filterAll(plugin, snapshot, pod);
    expect(feasible(out)).toEqual(["b1"]);

    const a1 = snapshot.get("a1")!.clone();
    const copy = state.clone();
    const ext = plugin.preFilterExtensions();
    a1.removePod(w1);
    expect(ext.removePod(copy, pod, new PodInfo(w1), a1)).toBeNull();
    // Zone a now holds 1 like zone b: a1 fits in the copy, not in the original.
    expect(plugin.filter(copy, pod, a1)).toBeNull();
    expect(plugin.filter(state, pod, snapshot.get("a1")!)?.code).toBe(Code.Unschedulable);
    // Adding a matching pod to zone b makes b the crowded one in the copy.
    expect(ext.addPod(copy, pod, new PodInfo(web("w4", "b1")), snapshot.get("b1")!)).toBeNull();
    expect(ext.addPod(copy, pod, new PodInfo(web("w5", "b1")), snapshot.get("b1")!)).toBeNull();
    expect(plugin.filter(copy, pod, snapshot.get("b1")!)?.code).toBe(Code.Unschedulable);
    expect(plugin.filter(state, pod, snapshot.get("b1")!)).toBeNull();
    // A pod in another namespace changes nothing.
    expect(ext.addPod(copy, pod, new PodInfo(web("x", "a1", { namespace: "other" })), a1)).toBeNull();
    expect(plugin.filter(copy, pod, a1)).toBeNull();
  });

  it("applies List default constraints to a pod without constraints, selecting pods with its labels", () => {
    const nodes = [zoneNode("a1", "a"), zoneNode("b1", "b")];
    const args = { defaultingType: "List", defaultConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "DoNotSchedule" }] };
    const { plugin, snapshot } = setup(nodes, [web("w1", "a1"), makePod("db", { nodeName: "b1", labels: { app: "db" } })], args);
    expect(feasible(filterAll(plugin, snapshot, makePod("new", { labels: { app: "web" } })).out)).toEqual(["b1"]);
    expect(plugin.preFilter(new CycleState(), makePod("bare"), snapshot.nodeInfoList).status?.code).toBe(Code.Skip);
    // A pod with constraints of its own (even only soft ones) does not get the defaults.
    const own = makePod("own", { labels: { app: "web" }, topologySpreadConstraints: [spread(ZONE, { whenUnsatisfiable: "ScheduleAnyway" })] });
    expect(plugin.preFilter(new CycleState(), own, snapshot.nodeInfoList).status?.code).toBe(Code.Skip);
  });
});

describe("PodTopologySpread args", () => {
  const handle = new FakeHandle(Snapshot.from([]));
  it("accepts no args and List defaults", () => {
    expect(newPodTopologySpread(undefined, handle).name).toBe(POD_TOPOLOGY_SPREAD);
    expect(() => newPodTopologySpread({ defaultingType: "List", defaultConstraints: [spread(ZONE, { labelSelector: undefined })] }, handle)).not.toThrow();
  });
  it("rejects System defaulting, which needs listers corekube does not have", () => {
    expect(() => newPodTopologySpread({ defaultingType: "System" }, handle)).toThrow(/defaultingType.*System/);
  });
  it("rejects invalid default constraints", () => {
    const bad = (c: Partial<TopologySpreadConstraint>) => () =>
      newPodTopologySpread({ defaultingType: "List", defaultConstraints: [{ ...spread(ZONE, { labelSelector: undefined }), ...c }] }, handle);
    expect(bad({ maxSkew: 0 })).toThrow(/maxSkew/);
    expect(bad({ topologyKey: "" })).toThrow(/topologyKey/);
    expect(bad({ labelSelector: { matchLabels: { a: "b" } } })).toThrow(/must not define a selector/);
    expect(bad({ whenUnsatisfiable: "Sometimes" as never })).toThrow(/whenUnsatisfiable/);
    const dup = spread(ZONE, { labelSelector: undefined });
    expect(() => newPodTopologySpread({ defaultConstraints: [dup, dup] }, handle)).toThrow(/Duplicate/);
  });
});

describe("PodTopologySpread Score", () => {
  function scoreAll(plugin: PodTopologySpread, snapshot: Snapshot, pod: Pod, filtered = snapshot.nodeInfoList) {
    const state = new CycleState();
    const status = plugin.preScore(state, pod, filtered);
    if (status !== null) return { status, scores: [] as NodeScore[] };
    const scores = filtered.map((ni) => ({ name: ni.name, score: plugin.score(state, pod, ni) }));
    plugin.normalizeScore(state, pod, scores);
    return { status, scores };
  }
  const soft = (key: string, o: Partial<TopologySpreadConstraint> = {}) => spread(key, { whenUnsatisfiable: "ScheduleAnyway", ...o });

  it("skips a pod without ScheduleAnyway constraints", () => {
    const { plugin, snapshot } = setup([zoneNode("a1", "a")], []);
    expect(plugin.preScore(new CycleState(), makePod("p"), snapshot.nodeInfoList)?.code).toBe(Code.Skip);
    const hard = makePod("q", { labels: { app: "web" }, topologySpreadConstraints: [spread(ZONE)] });
    expect(plugin.preScore(new CycleState(), hard, snapshot.nodeInfoList)?.code).toBe(Code.Skip);
  });

  it("prefers hosts with fewer matching pods", () => {
    const { plugin, snapshot } = setup(
      [makeNode("n1"), makeNode("n2"), makeNode("n3")],
      [web("w1", "n1"), web("w2", "n1"), web("w3", "n2")],
    );
    const pod = makePod("new", { labels: { app: "web" }, topologySpreadConstraints: [soft(HOST)] });
    // Raw: count * ln(3 + 2) rounded = 3, 2, 0; normalized 100 * (max + min - s) / max.
    expect(scoreAll(plugin, snapshot, pod).scores).toEqual([
      { name: "n1", score: 0 },
      { name: "n2", score: 33 },
      { name: "n3", score: 100 },
    ]);
  });

  it("counts a zone's pods on every node of the zone, including nodes that were filtered out", () => {
    const { plugin, snapshot } = setup(
      [zoneNode("a1", "a"), zoneNode("a2", "a"), zoneNode("b1", "b"), zoneNode("b2", "b")],
      [web("w1", "a2"), web("w2", "a2"), web("w3", "b2")],
    );
    const pod = makePod("new", { labels: { app: "web" }, topologySpreadConstraints: [soft(ZONE)] });
    const filtered = [snapshot.get("a1")!, snapshot.get("b1")!];
    const { scores } = scoreAll(plugin, snapshot, pod, filtered);
    expect(scores.find((s) => s.name === "b1")!.score).toBe(100);
    expect(scores.find((s) => s.name === "a1")!.score).toBeLessThan(100);
  });

  it("scores nodes that lack a topology key 0 and the others as if alone", () => {
    const { plugin, snapshot } = setup([zoneNode("a1", "a"), zoneNode("b1", "b"), makeNode("bare")], [web("w1", "a1")]);
    const pod = makePod("new", { labels: { app: "web" }, topologySpreadConstraints: [soft(ZONE)] });
    expect(scoreAll(plugin, snapshot, pod).scores).toEqual([
      { name: "a1", score: 0 },
      { name: "b1", score: 100 },
      { name: "bare", score: 0 },
    ]);
  });

  it("gives every node 100 when no node has matching pods", () => {
    const { plugin, snapshot } = setup([zoneNode("a1", "a"), zoneNode("b1", "b")], []);
    const pod = makePod("new", { labels: { app: "web" }, topologySpreadConstraints: [soft(ZONE)] });
    expect(scoreAll(plugin, snapshot, pod).scores.map((s) => s.score)).toEqual([100, 100]);
  });
});

describe("PodTopologySpread events", () => {
  const { plugin } = setup([], []);
  const pod = makePod("new", { labels: { app: "web" }, topologySpreadConstraints: [spread(ZONE)] });
  const [podEvent, nodeEvent] = plugin.eventsToRegister();

  it("requeues for pods the constraints select and skips others", () => {
    expect(podEvent!.hint!(pod, undefined, web("w", "a1"))).toBe("Queue");
    expect(podEvent!.hint!(pod, makePod("db", { labels: { app: "db" } }), undefined)).toBe("Skip");
    expect(podEvent!.hint!(pod, undefined, web("w", "a1", { namespace: "other" }))).toBe("Skip");
  });

  it("requeues for nodes that bring or change a topology domain", () => {
    expect(nodeEvent!.hint!(pod, undefined, zoneNode("c1", "c"))).toBe("Queue");
    expect(nodeEvent!.hint!(pod, undefined, makeNode("bare"))).toBe("Skip");
    expect(nodeEvent!.hint!(pod, makeNode("x"), zoneNode("x", "c"))).toBe("Queue");
    expect(nodeEvent!.hint!(pod, zoneNode("x", "c"), zoneNode("x", "c", { labels: { other: "1" } }))).toBe("Skip");
  });
});
