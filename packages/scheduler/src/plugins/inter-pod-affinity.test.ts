// Book 11.2.3-11.2.4: InterPodAffinity tests: required affinity and anti-affinity in Filter (the
// incoming pod's and existing pods'), namespaceSelector, preemption's add/remove, and preferred terms in Score.
import type { Affinity, LabelSelector, Node, Pod, PodAffinityTerm } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { PodInfo, Snapshot } from "../framework/node-info.js";
import { Code, CycleState, type NodeScore } from "../framework/types.js";
import { makeNode, makePod } from "../testing/builders.js";
import { FakeHandle } from "../testing/fake-handle.js";
import {
  ERR_REASON_AFFINITY_RULES_NOT_MATCH,
  ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
  ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH,
  INTER_POD_AFFINITY,
  InterPodAffinity,
  newInterPodAffinity,
} from "./inter-pod-affinity.js";

const ZONE = "topology.kubernetes.io/zone";
const HOST = "kubernetes.io/hostname";

const zoneNode = (name: string, zone: string): Node => makeNode(name, { labels: { [ZONE]: zone } });

const term = (app: string, topologyKey: string, extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm => ({
  labelSelector: { matchLabels: { app } } as LabelSelector,
  topologyKey,
  ...extra,
});

const requiredAffinity = (...terms: PodAffinityTerm[]): Affinity => ({ podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: terms } });
const requiredAnti = (...terms: PodAffinityTerm[]): Affinity => ({ podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: terms } });

function setup(nodes: Node[], pods: Pod[], args: Record<string, unknown> = {}, namespaces: Record<string, Record<string, string>> = {}) {
  const snapshot = Snapshot.from(nodes, pods);
  const handle = new FakeHandle(snapshot, { namespaces });
  const plugin = newInterPodAffinity(args, handle) as InterPodAffinity;
  return { snapshot, handle, plugin };
}

function filterAll(plugin: InterPodAffinity, snapshot: Snapshot, pod: Pod, state = new CycleState()) {
  const pre = plugin.preFilter(state, pod, snapshot.nodeInfoList);
  const out: Record<string, ReturnType<InterPodAffinity["filter"]>> = {};
  if (pre.status === null) for (const ni of snapshot.nodeInfoList) out[ni.name] = plugin.filter(state, pod, ni);
  return { pre, out, state };
}

const feasible = (out: Record<string, unknown>) =>
  Object.entries(out)
    .filter(([, s]) => s === null)
    .map(([n]) => n);

describe("InterPodAffinity PreFilter/Filter", () => {
  it("skips a pod without required terms when no existing pod has required anti-affinity", () => {
    const { plugin, snapshot } = setup([makeNode("n1")], [makePod("web", { nodeName: "n1", labels: { app: "web" } })]);
    expect(plugin.preFilter(new CycleState(), makePod("p", { labels: { app: "web" } }), snapshot.nodeInfoList).status?.code).toBe(Code.Skip);
  });

  it("does not skip when an existing pod's anti-affinity rejects the incoming pod", () => {
    const guard = makePod("guard", { nodeName: "n1", affinity: requiredAnti(term("web", HOST)) });
    const { plugin, snapshot } = setup([makeNode("n1"), makeNode("n2")], [guard]);
    const { pre, out } = filterAll(plugin, snapshot, makePod("p", { labels: { app: "web" } }));
    expect(pre.status).toBeNull();
    expect(out.n1).toEqual({ code: Code.Unschedulable, reasons: [ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH] });
    expect(out.n2).toBeNull();
    // A pod the guard's term does not select is left alone (and needs no Filter at all).
    expect(plugin.preFilter(new CycleState(), makePod("q", { labels: { app: "db" } }), snapshot.nodeInfoList).status?.code).toBe(Code.Skip);
  });

  it("keeps a pod with required affinity in the topology domains holding matching pods", () => {
    const nodes = [zoneNode("a1", "a"), zoneNode("a2", "a"), zoneNode("b1", "b"), makeNode("bare")];
    const { plugin, snapshot } = setup(nodes, [makePod("db", { nodeName: "a1", labels: { app: "db" } })]);
    const pod = makePod("web", { labels: { app: "web" }, affinity: requiredAffinity(term("db", ZONE)) });
    const { out } = filterAll(plugin, snapshot, pod);
    expect(feasible(out)).toEqual(["a1", "a2"]);
    // Preemption cannot create the pods this one wants to join.
    expect(out.b1).toEqual({ code: Code.UnschedulableAndUnresolvable, reasons: [ERR_REASON_AFFINITY_RULES_NOT_MATCH] });
    expect(out.bare?.code).toBe(Code.UnschedulableAndUnresolvable);
  });

  it("requires one pod to match all affinity terms", () => {
    const nodes = [zoneNode("a1", "a"), zoneNode("b1", "b")];
    const pods = [makePod("db", { nodeName: "a1", labels: { app: "db" } }), makePod("cache", { nodeName: "b1", labels: { app: "cache" } })];
    const { plugin, snapshot } = setup(nodes, pods);
    const pod = makePod("web", { labels: { app: "web" }, affinity: requiredAffinity(term("db", ZONE), term("cache", ZONE)) });
    expect(feasible(filterAll(plugin, snapshot, pod).out)).toEqual([]);
  });

  it("lets the first pod of a self-affine group go to any node with the topology key", () => {
    const nodes = [zoneNode("a1", "a"), zoneNode("b1", "b"), makeNode("bare")];
    const { plugin, snapshot } = setup(nodes, []);
    const self = makePod("web", { labels: { app: "web" }, affinity: requiredAffinity(term("web", ZONE)) });
    expect(feasible(filterAll(plugin, snapshot, self).out)).toEqual(["a1", "b1"]);
    // A pod that does not match its own term has nobody to start with.
    const other = makePod("api", { labels: { app: "api" }, affinity: requiredAffinity(term("web", ZONE)) });
    expect(feasible(filterAll(plugin, snapshot, other).out)).toEqual([]);
    // Once a matching pod exists, the exception no longer applies.
    const { plugin: p2, snapshot: s2 } = setup(nodes, [makePod("w0", { nodeName: "b1", labels: { app: "web" } })]);
    expect(feasible(filterAll(p2, s2, self).out)).toEqual(["b1"]);
  });

  it("keeps a pod with required anti-affinity out of domains holding matching pods", () => {
    const nodes = [makeNode("n1"), makeNode("n2"), makeNode("n3")];
    const { plugin, snapshot } = setup(nodes, [makePod("w1", { nodeName: "n1", labels: { app: "web" } })]);
    const pod = makePod("w2", { labels: { app: "web" }, affinity: requiredAnti(term("web", HOST)) });
    const { out } = filterAll(plugin, snapshot, pod);
    expect(out.n1).toEqual({ code: Code.Unschedulable, reasons: [ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH] });
    expect(feasible(out)).toEqual(["n2", "n3"]);
  });

  it("matches terms only in the pod's namespace unless namespaces or namespaceSelector say otherwise", () => {
    const nodes = [makeNode("n1"), makeNode("n2")];
    const pods = [makePod("w1", { nodeName: "n1", namespace: "team-a", labels: { app: "web" } })];
    const namespaces = { "team-a": { team: "a" }, default: {} };
    const { plugin, snapshot } = setup(nodes, pods, {}, namespaces);
    const anti = (extra: Partial<PodAffinityTerm>) => makePod("w2", { labels: { app: "web" }, affinity: requiredAnti(term("web", HOST, extra)) });
    expect(feasible(filterAll(plugin, snapshot, anti({})).out)).toEqual(["n1", "n2"]);
    expect(feasible(filterAll(plugin, snapshot, anti({ namespaces: ["team-a"] })).out)).toEqual(["n2"]);
    expect(feasible(filterAll(plugin, snapshot, anti({ namespaceSelector: { matchLabels: { team: "a" } } })).out)).toEqual(["n2"]);
    expect(feasible(filterAll(plugin, snapshot, anti({ namespaceSelector: { matchLabels: { team: "b" } } })).out)).toEqual(["n1", "n2"]);
    // An empty namespaceSelector means every namespace.
    expect(feasible(filterAll(plugin, snapshot, anti({ namespaceSelector: {} })).out)).toEqual(["n2"]);
  });

  it("uses the incoming pod's namespace labels for existing pods' namespaceSelector", () => {
    const guard = makePod("guard", {
      nodeName: "n1",
      namespace: "infra",
      affinity: requiredAnti(term("web", HOST, { namespaceSelector: { matchLabels: { tier: "frontend" } } })),
    });
    const namespaces = { shop: { tier: "frontend" }, batch: { tier: "backend" } };
    const { plugin, snapshot } = setup([makeNode("n1"), makeNode("n2")], [guard], {}, namespaces);
    const inShop = makePod("w", { namespace: "shop", labels: { app: "web" } });
    expect(feasible(filterAll(plugin, snapshot, inShop).out)).toEqual(["n2"]);
    const inBatch = makePod("w", { namespace: "batch", labels: { app: "web" } });
    expect(plugin.preFilter(new CycleState(), inBatch, snapshot.nodeInfoList).status?.code).toBe(Code.Skip);
  });

  it("updates all three counts through PreFilterExtensions on a cloned state only", () => {
    const nodes = [makeNode("n1"), makeNode("n2")];
    const w1 = makePod("w1", { nodeName: "n1", labels: { app: "web" } });
    const guard = makePod("guard", { nodeName: "n2", affinity: requiredAnti(term("web", HOST)) });
    const { plugin, snapshot } = setup(nodes, [w1, guard]);
    const pod = makePod("w2", { labels: { app: "web" }, affinity: requiredAnti(term("web", HOST)) });
    const { state, out } = filterAll(plugin, snapshot, pod);
    expect(feasible(out)).toEqual([]);

    const ext = plugin.preFilterExtensions();
    const copy = state.clone();
    expect(ext.removePod(copy, pod, new PodInfo(w1), snapshot.get("n1")!)).toBeNull();
    expect(ext.removePod(copy, pod, new PodInfo(guard), snapshot.get("n2")!)).toBeNull();
    expect(plugin.filter(copy, pod, snapshot.get("n1")!)).toBeNull();
    expect(plugin.filter(copy, pod, snapshot.get("n2")!)).toBeNull();
    expect(plugin.filter(state, pod, snapshot.get("n1")!)?.code).toBe(Code.Unschedulable);
    expect(plugin.filter(state, pod, snapshot.get("n2")!)?.code).toBe(Code.Unschedulable);
    expect(ext.addPod(copy, pod, new PodInfo(w1), snapshot.get("n1")!)).toBeNull();
    expect(plugin.filter(copy, pod, snapshot.get("n1")!)?.reasons).toEqual([ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH]);
  });

  it("counts an added pod for required affinity", () => {
    const nodes = [zoneNode("a1", "a"), zoneNode("b1", "b")];
    const db = makePod("db", { nodeName: "a1", labels: { app: "db" } });
    const { plugin, snapshot } = setup(nodes, [db, makePod("db2", { nodeName: "b1", labels: { app: "db" } })]);
    const pod = makePod("web", { labels: { app: "web" }, affinity: requiredAffinity(term("db", ZONE)) });
    const { state } = filterAll(plugin, snapshot, pod);
    const copy = state.clone();
    plugin.preFilterExtensions().removePod(copy, pod, new PodInfo(db), snapshot.get("a1")!);
    expect(plugin.filter(copy, pod, snapshot.get("a1")!)?.code).toBe(Code.UnschedulableAndUnresolvable);
    expect(plugin.filter(copy, pod, snapshot.get("b1")!)).toBeNull();
    plugin.preFilterExtensions().addPod(copy, pod, new PodInfo(db), snapshot.get("a1")!);
    expect(plugin.filter(copy, pod, snapshot.get("a1")!)).toBeNull();
  });
});

describe("InterPodAffinity Score", () => {
  function scoreAll(plugin: InterPodAffinity, snapshot: Snapshot, pod: Pod) {
    const state = new CycleState();
    const status = plugin.preScore(state, pod, snapshot.nodeInfoList);
    if (status !== null) return { status, scores: [] as NodeScore[] };
    const scores = snapshot.nodeInfoList.map((ni) => ({ name: ni.name, score: plugin.score(state, pod, ni) }));
    plugin.normalizeScore(state, pod, scores);
    return { status, scores };
  }
  const preferred = (weight: number, t: PodAffinityTerm) => [{ weight, podAffinityTerm: t }];

  it("skips when neither the pod nor any existing pod has terms", () => {
    const { plugin, snapshot } = setup([makeNode("n1")], [makePod("x", { nodeName: "n1", labels: { app: "db" } })]);
    expect(plugin.preScore(new CycleState(), makePod("p"), snapshot.nodeInfoList)?.code).toBe(Code.Skip);
  });

  it("prefers zones with pods the preferred affinity selects, and avoids preferred anti-affinity", () => {
    const nodes = [zoneNode("a1", "a"), zoneNode("a2", "a"), zoneNode("b1", "b"), zoneNode("c1", "c")];
    const pods = [makePod("cache", { nodeName: "a2", labels: { app: "cache" } }), makePod("batch", { nodeName: "c1", labels: { app: "batch" } })];
    const { plugin, snapshot } = setup(nodes, pods);
    const pod = makePod("web", {
      labels: { app: "web" },
      affinity: {
        podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: preferred(10, term("cache", ZONE)) },
        podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: preferred(5, term("batch", ZONE)) },
      },
    });
    // Raw: a = +10, b = 0, c = -5; normalized between min (-5) and max (10).
    expect(scoreAll(plugin, snapshot, pod).scores).toEqual([
      { name: "a1", score: 100 },
      { name: "a2", score: 100 },
      { name: "b1", score: 33 },
      { name: "c1", score: 0 },
    ]);
  });

  it("adds existing pods' terms: required affinity at hardPodAffinityWeight, preferred at their weights", () => {
    const nodes = [makeNode("n1"), makeNode("n2"), makeNode("n3")];
    const pods = [
      makePod("likes-web", { nodeName: "n1", affinity: requiredAffinity(term("web", HOST)) }),
      makePod("prefers-web", {
        nodeName: "n2",
        affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: preferred(3, term("web", HOST)) } },
      }),
      makePod("avoids-web", {
        nodeName: "n3",
        affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: preferred(2, term("web", HOST)) } },
      }),
    ];
    const pod = makePod("web", { labels: { app: "web" } });
    // Default hardPodAffinityWeight 1: raw n1 = 1, n2 = 3, n3 = -2.
    const d = setup(nodes, pods);
    expect(scoreAll(d.plugin, d.snapshot, pod).scores.map((s) => s.score)).toEqual([60, 100, 0]);
    // Weight 5: raw n1 = 5 becomes the best.
    const h = setup(nodes, pods, { hardPodAffinityWeight: 5 });
    expect(scoreAll(h.plugin, h.snapshot, pod).scores.map((s) => s.score)).toEqual([100, 71, 0]);
    // Existing pods' preferred terms can be switched off; a pod without terms then skips scoring.
    const ig = setup(nodes, pods, { ignorePreferredTermsOfExistingPods: true });
    expect(ig.plugin.preScore(new CycleState(), pod, ig.snapshot.nodeInfoList)?.code).toBe(Code.Skip);
  });

  it("gives every node 0 when all raw scores are equal", () => {
    const nodes = [zoneNode("a1", "a"), zoneNode("a2", "a")];
    const { plugin, snapshot } = setup(nodes, [makePod("cache", { nodeName: "a1", labels: { app: "cache" } })]);
    const pod = makePod("web", { affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: preferred(10, term("cache", ZONE)) } } });
    expect(scoreAll(plugin, snapshot, pod).scores.map((s) => s.score)).toEqual([0, 0]);
  });
});

describe("InterPodAffinity args and events", () => {
  const handle = new FakeHandle(Snapshot.from([]));
  it("validates hardPodAffinityWeight", () => {
    expect(newInterPodAffinity(undefined, handle).name).toBe(INTER_POD_AFFINITY);
    expect(() => newInterPodAffinity({ hardPodAffinityWeight: 101 }, handle)).toThrow(/hardPodAffinityWeight/);
    expect(() => newInterPodAffinity({ hardPodAffinityWeight: -1 }, handle)).toThrow(/hardPodAffinityWeight/);
  });

  it("requeues on pod events that can satisfy affinity or lift anti-affinity", () => {
    const plugin = newInterPodAffinity({}, handle) as InterPodAffinity;
    const [podEvent] = plugin.eventsToRegister();
    const wantsDb = makePod("web", { affinity: requiredAffinity(term("db", ZONE)) });
    expect(podEvent!.hint!(wantsDb, undefined, makePod("db", { labels: { app: "db" } }))).toBe("Queue");
    expect(podEvent!.hint!(wantsDb, undefined, makePod("x", { labels: { app: "x" } }))).toBe("Skip");
    const avoidsWeb = makePod("w2", { labels: { app: "web" }, affinity: requiredAnti(term("web", HOST)) });
    expect(podEvent!.hint!(avoidsWeb, makePod("w1", { labels: { app: "web" } }), undefined)).toBe("Queue");
    expect(podEvent!.hint!(avoidsWeb, makePod("db", { labels: { app: "db" } }), undefined)).toBe("Skip");
    // The deleted pod's own anti-affinity kept this one away.
    const guard = makePod("guard", { affinity: requiredAnti(term("web", HOST)) });
    expect(podEvent!.hint!(makePod("w", { labels: { app: "web" } }), guard, undefined)).toBe("Queue");
  });
});
