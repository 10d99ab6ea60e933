// Book 11.2.3-11.2.4: tests for the framework runtime: which plugins run at each extension point
// (multiPoint merged with per-point lists and disabled sets), how it is built, and how each point
// combines its plugins' answers (PreFilter skips and node sets, weighted scores, nominated pods).
import type { Pod } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { defaultProfile } from "../config.js";
import { pureRegistry } from "../plugins/registry.js";
import { makeNode, makePod } from "../testing/builders.js";
import { FakeNominator, RecordingClient } from "../testing/fake-handle.js";
import { type NodeInfo, PodInfo, Snapshot } from "./node-info.js";
import { EXTENSION_POINTS, type ExtensionPoint, Framework, type PluginEntry, type ResolvedProfile, pluginsAt } from "./runtime.js";
import {
  type BindPlugin,
  Code,
  CycleState,
  type Handle,
  type MaybeStatus,
  type NodeScore,
  type Plugin,
  type PluginFactory,
  type Registry,
  skipStatus,
  unresolvable,
  unschedulable,
} from "./types.js";

// ---- helpers ----

const okBinder = (name = "Binder", log?: string[]): BindPlugin => ({
  name,
  bind: async () => {
    log?.push(name);
    return null;
  },
});

/** A factory for a plugin named `name` with the given extension point methods. */
const fake =
  (name: string, methods: Record<string, unknown> = {}): PluginFactory =>
  () =>
    ({ name, ...methods }) as Plugin;

/** A profile named "test" whose multiPoint list is `multiPoint` (Binder added unless told not to). */
function profile(
  multiPoint: (string | PluginEntry)[],
  o: { points?: Partial<Record<ExtensionPoint, PluginEntry[]>>; disabled?: Partial<Record<ExtensionPoint, string[]>>; noBinder?: boolean } = {},
): ResolvedProfile {
  const p = defaultProfile("test");
  p.multiPoint = multiPoint.map((e) => (typeof e === "string" ? { name: e } : e));
  if (!o.noBinder) p.multiPoint.push({ name: "Binder" });
  for (const [k, v] of Object.entries(o.points ?? {})) p.points[k as ExtensionPoint] = v!;
  for (const [k, v] of Object.entries(o.disabled ?? {})) p.disabled[k as ExtensionPoint] = new Set(v);
  return p;
}

function framework(registry: Registry, p: ResolvedProfile, snap = Snapshot.from([makeNode("n1"), makeNode("n2"), makeNode("n3")]), nominator = new FakeNominator()) {
  return new Framework({ Binder: () => okBinder(), ...registry }, p, { snapshot: () => snap, nominator, client: new RecordingClient() });
}

const nodes = (...names: string[]): NodeInfo[] => Snapshot.from(names.map((n) => makeNode(n))).nodeInfoList;

/** A score plugin with fixed raw scores per node (0 for others), optionally normalizing by `normalize`. */
const fixedScore = (name: string, raw: Record<string, number>, normalize?: (s: NodeScore[]) => MaybeStatus) =>
  fake(name, {
    score: (_s: CycleState, _p: Pod, ni: NodeInfo) => raw[ni.name] ?? 0,
    ...(normalize ? { normalizeScore: (_s: CycleState, _p: Pod, scores: NodeScore[]) => normalize(scores) } : {}),
  });

// ---- pluginsAt ----

describe("pluginsAt", () => {
  const all = () => true;

  it("runs multiPoint plugins at the points they implement, in order", () => {
    const p = profile(["A", "B", "C"], { noBinder: true });
    expect(pluginsAt(p, "filter", (n) => n !== "B").map((e) => e.name)).toEqual(["A", "C"]);
    expect(pluginsAt(p, "score", all)).toEqual([{ name: "A" }, { name: "B" }, { name: "C" }]);
  });

  it("adds per-point plugins after the multiPoint ones", () => {
    const p = profile(["A"], { noBinder: true, points: { score: [{ name: "X", weight: 4 }] } });
    expect(pluginsAt(p, "score", all)).toEqual([{ name: "A" }, { name: "X", weight: 4 }]);
    expect(pluginsAt(p, "filter", all)).toEqual([{ name: "A" }]);
  });

  it("lets a per-point entry change a multiPoint plugin's weight without running it twice", () => {
    const p = profile([{ name: "A", weight: 2 }, { name: "B", weight: 3 }], { noBinder: true, points: { score: [{ name: "A", weight: 9 }, { name: "B" }] } });
    expect(pluginsAt(p, "score", all)).toEqual([
      { name: "A", weight: 9 },
      { name: "B", weight: 3 },
    ]);
  });

  it("drops disabled multiPoint plugins at that point only", () => {
    const p = profile(["A", "B"], { noBinder: true, disabled: { score: ["A"] } });
    expect(pluginsAt(p, "score", all).map((e) => e.name)).toEqual(["B"]);
    expect(pluginsAt(p, "filter", all).map((e) => e.name)).toEqual(["A", "B"]);
  });

  it("drops every multiPoint plugin with '*', keeping the ones enabled at that point", () => {
    const p = profile(["A", "B"], { noBinder: true, disabled: { score: ["*"] }, points: { score: [{ name: "B", weight: 5 }] } });
    expect(pluginsAt(p, "score", all)).toEqual([{ name: "B", weight: 5 }]);
  });

  it("checks only multiPoint plugins against what they implement", () => {
    // A per-point entry is the user's explicit wish; the framework rejects it if it does not fit.
    const p = profile([], { noBinder: true, points: { filter: [{ name: "Y" }] } });
    expect(pluginsAt(p, "filter", () => false)).toEqual([{ name: "Y" }]);
  });

  it("knows every extension point of the framework", () => {
    expect(EXTENSION_POINTS).toEqual(["preEnqueue", "preFilter", "filter", "postFilter", "preScore", "score", "reserve", "permit", "preBind", "bind", "postBind"]);
  });
});

// ---- construction ----

describe("Framework construction", () => {
  it("fails on an unknown plugin, naming it and the profile", () => {
    expect(() => framework({}, profile(["Nope"]))).toThrow('profile "test": unknown plugin "Nope"');
  });

  it("fails when a plugin is enabled at a point it does not implement", () => {
    const p = profile([], { points: { filter: [{ name: "ImageLocality" }] } });
    expect(() => framework(pureRegistry(), p)).toThrow('plugin "ImageLocality" does not implement the filter extension point');
  });

  it("fails without a bind plugin", () => {
    expect(() => framework(pureRegistry(), profile(["NodeResourcesFit"], { noBinder: true }))).toThrow(
      'profile "test": at least one bind plugin is needed',
    );
    // The default profile's DefaultBinder is not in the pure registry.
    expect(() => framework(pureRegistry(), defaultProfile())).toThrow('unknown plugin "DefaultBinder"');
  });

  it("builds each plugin once, with its pluginConfig args and the framework as handle", () => {
    const calls: { args: unknown; handle: Handle }[] = [];
    const factory: PluginFactory = (args, handle) => {
      calls.push({ args, handle });
      return { name: "Multi", filter: () => null, score: () => 0, reserve: () => null, unreserve: () => {} } as Plugin;
    };
    const p = profile(["Multi"]);
    p.pluginConfig.Multi = { depth: 3 };
    const fwk = framework({ Multi: factory }, p);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args).toEqual({ depth: 3 });
    expect(calls[0]!.handle).toBe(fwk);
    expect(fwk.filterPlugins.map((x) => x.name)).toEqual(["Multi"]);
    expect(fwk.reservePlugins.map((x) => x.name)).toEqual(["Multi"]);
    expect(fwk.plugin("Multi")).toBe(fwk.filterPlugins[0]);
    expect(fwk.profileName).toBe("test");
  });

  it("defaults a score plugin's weight to 1", () => {
    const fwk = framework({ S: fixedScore("S", {}) }, profile(["S"]));
    expect(fwk.scorePlugins.map((s) => s.weight)).toEqual([1]);
  });

  it("collects the cluster events its plugins register", () => {
    const fwk = framework(pureRegistry(), profile(["NodeResourcesFit", "ImageLocality"]));
    const events = fwk.eventsToRegister();
    expect(events.has("NodeResourcesFit")).toBe(true);
    expect(events.get("NodeResourcesFit")!.map((e) => e.event.resource)).toEqual(["AssignedPod", "Node"]);
  });
});

// ---- PreFilter and Filter ----

describe("PreFilter and Filter", () => {
  it("skips the Filter of a plugin whose PreFilter returned Skip", () => {
    const fwk = framework(
      { Rejector: fake("Rejector", { preFilter: () => ({ status: skipStatus() }), filter: () => unschedulable("never") }) },
      profile(["Rejector"]),
    );
    const state = new CycleState();
    expect(fwk.runPreFilterPlugins(state, makePod("p"), nodes("n1")).status).toBeNull();
    expect(state.skipFilterPlugins.has("Rejector")).toBe(true);
    expect(fwk.runFilterPlugins(state, makePod("p"), nodes("n1")[0]!)).toBeNull();
    // Without the PreFilter's Skip, the Filter runs and rejects.
    expect(fwk.runFilterPlugins(new CycleState(), makePod("p"), nodes("n1")[0]!)?.reasons).toEqual(["never"]);
  });

  it("skips NodeAffinity's Filter for a pod without node constraints", () => {
    const fwk = framework(pureRegistry(), profile(["NodeAffinity"]));
    const state = new CycleState();
    fwk.runPreFilterPlugins(state, makePod("p"), nodes("n1"));
    expect(state.skipFilterPlugins.has("NodeAffinity")).toBe(true);
    const s2 = new CycleState();
    fwk.runPreFilterPlugins(s2, makePod("p", { nodeSelector: { zone: "a" } }), nodes("n1"));
    expect(s2.skipFilterPlugins.has("NodeAffinity")).toBe(false);
  });

  it("stops at the first PreFilter rejection and names the plugin", () => {
    const ran: string[] = [];
    const fwk = framework(
      {
        A: fake("A", { preFilter: () => (ran.push("A"), { status: unresolvable("no way") }) }),
        B: fake("B", { preFilter: () => (ran.push("B"), { status: null }) }),
      },
      profile(["A", "B"]),
    );
    expect(fwk.runPreFilterPlugins(new CycleState(), makePod("p"), nodes("n1")).status).toEqual({
      code: Code.UnschedulableAndUnresolvable,
      reasons: ["no way"],
      plugin: "A",
    });
    expect(ran).toEqual(["A"]);
  });

  it("turns a PreFilter that throws into an Error status", () => {
    const fwk = framework(
      {
        A: fake("A", {
          preFilter: () => {
            throw new Error("boom");
          },
        }),
      },
      profile(["A"]),
    );
    const s = fwk.runPreFilterPlugins(new CycleState(), makePod("p"), nodes("n1")).status!;
    expect(s.code).toBe(Code.Error);
    expect(s.reasons).toEqual(["boom"]);
    expect(s.plugin).toBe("A");
  });

  it("intersects the node sets PreFilter plugins return", () => {
    const fwk = framework(
      {
        A: fake("A", { preFilter: () => ({ result: { nodeNames: new Set(["n1", "n2"]) }, status: null }) }),
        Any: fake("Any", { preFilter: () => ({ status: null }) }),
        B: fake("B", { preFilter: () => ({ result: { nodeNames: new Set(["n2", "n3"]) }, status: null }) }),
      },
      profile(["A", "Any", "B"]),
    );
    const r = fwk.runPreFilterPlugins(new CycleState(), makePod("p"), nodes("n1", "n2", "n3"));
    expect(r.status).toBeNull();
    expect(r.result?.nodeNames).toEqual(new Set(["n2"]));
  });

  it("returns no node set when no plugin narrows the nodes", () => {
    const fwk = framework({ Any: fake("Any", { preFilter: () => ({ status: null }) }) }, profile(["Any"]));
    expect(fwk.runPreFilterPlugins(new CycleState(), makePod("p"), nodes("n1")).result).toBeUndefined();
  });

  it("rejects as unresolvable when the node sets have nothing in common", () => {
    const fwk = framework(
      {
        A: fake("A", { preFilter: () => ({ result: { nodeNames: new Set(["n1"]) }, status: null }) }),
        B: fake("B", { preFilter: () => ({ result: { nodeNames: new Set(["n2"]) }, status: null }) }),
      },
      profile(["A", "B"]),
    );
    const s = fwk.runPreFilterPlugins(new CycleState(), makePod("p"), nodes("n1", "n2")).status!;
    expect(s.code).toBe(Code.UnschedulableAndUnresolvable);
    expect(s.reasons[0]).toMatch(/^node\(s\) didn't satisfy plugin/);
  });

  // Upstream (framework/runtime RunPreFilterPlugins) names every plugin that narrowed the node set,
  // sorted: "node(s) didn't satisfy plugin(s) [A B] simultaneously". runtime.ts (the empty
  // intersection branch of runPreFilterPlugins) names only the plugin that emptied it: "[B]".
  it("names every plugin whose node sets had nothing in common, as upstream", () => {
    const fwk = framework(
      {
        A: fake("A", { preFilter: () => ({ result: { nodeNames: new Set(["n1"]) }, status: null }) }),
        B: fake("B", { preFilter: () => ({ result: { nodeNames: new Set(["n2"]) }, status: null }) }),
      },
      profile(["A", "B"]),
    );
    const s = fwk.runPreFilterPlugins(new CycleState(), makePod("p"), nodes("n1", "n2")).status!;
    expect(s.reasons).toEqual(["node(s) didn't satisfy plugin(s) [A B] simultaneously"]);
  });

  // Upstream words the one-plugin case "node(s) didn't satisfy plugin A"; runtime.ts says
  // "node(s) didn't satisfy plugin(s) [A] simultaneously".
  it("words an empty node set from a single plugin as upstream does", () => {
    const fwk = framework({ A: fake("A", { preFilter: () => ({ result: { nodeNames: new Set<string>() }, status: null }) }) }, profile(["A"]));
    const s = fwk.runPreFilterPlugins(new CycleState(), makePod("p"), nodes("n1")).status!;
    expect(s.reasons).toEqual(["node(s) didn't satisfy plugin A"]);
  });

  it("stops filtering at the first rejection and names the plugin", () => {
    const ran: string[] = [];
    const fwk = framework(
      {
        Rejector: fake("Rejector", { filter: () => (ran.push("Rejector"), unschedulable("full", "also full")) }),
        Later: fake("Later", { filter: () => (ran.push("Later"), null) }),
      },
      profile(["Rejector", "Later"]),
    );
    expect(fwk.runFilterPlugins(new CycleState(), makePod("p"), nodes("n1")[0]!)).toEqual({
      code: Code.Unschedulable,
      reasons: ["full", "also full"],
      plugin: "Rejector",
    });
    expect(ran).toEqual(["Rejector"]);
  });

  it("turns a Filter that throws into an Error status", () => {
    const fwk = framework(
      {
        F: fake("F", {
          filter: () => {
            throw new Error("lost the node");
          },
        }),
      },
      profile(["F"]),
    );
    const s = fwk.runFilterPlugins(new CycleState(), makePod("p"), nodes("n1")[0]!)!;
    expect(s).toMatchObject({ code: Code.Error, reasons: ["lost the node"], plugin: "F" });
  });
});

// ---- nominated pods ----

describe("runFilterPluginsWithNominatedPods", () => {
  function setup() {
    const snap = Snapshot.from([makeNode("n1", { cpu: "4" })]);
    const nominator = new FakeNominator();
    const fwk = framework(pureRegistry(), profile(["NodeResourcesFit"]), snap, nominator);
    const filter = (pod: Pod) => {
      const state = new CycleState();
      fwk.runPreFilterPlugins(state, pod, snap.nodeInfoList);
      return fwk.runFilterPluginsWithNominatedPods(state, pod, snap.get("n1")!);
    };
    return { snap, nominator, filter };
  }

  it("counts pods nominated to the node with equal or higher priority", () => {
    const { nominator, filter, snap } = setup();
    nominator.addNominatedPod(new PodInfo(makePod("big", { cpu: "3", priority: 10, nominatedNodeName: "n1" })), "n1");
    expect(filter(makePod("p", { cpu: "2", priority: 10 }))).toMatchObject({ code: Code.Unschedulable, reasons: ["Insufficient cpu"], plugin: "NodeResourcesFit" });
    expect(filter(makePod("p", { cpu: "2", priority: 5 }))?.reasons).toEqual(["Insufficient cpu"]);
    // The node itself was not changed by the what-if.
    expect(snap.get("n1")!.pods).toEqual([]);
    expect(snap.get("n1")!.requested.milliCPU).toBe(0);
  });

  it("ignores nominated pods of lower priority, and the pod itself", () => {
    const { nominator, filter } = setup();
    nominator.addNominatedPod(new PodInfo(makePod("small-prio", { cpu: "3", priority: 1, nominatedNodeName: "n1" })), "n1");
    expect(filter(makePod("p", { cpu: "2", priority: 5 }))).toBeNull();
    const me = makePod("me", { cpu: "3", priority: 100, nominatedNodeName: "n1" });
    nominator.addNominatedPod(new PodInfo(me), "n1");
    expect(filter(me)).toBeNull();
  });

  it("requires the node to pass with and without the nominated pods", () => {
    // A filter that wants company: it passes only once some pod is on the node.
    const snap = Snapshot.from([makeNode("n1")]);
    const nominator = new FakeNominator();
    const fwk = framework({ Company: fake("Company", { filter: (_s: CycleState, _p: Pod, ni: NodeInfo) => (ni.pods.length > 0 ? null : unschedulable("lonely")) }) }, profile(["Company"]), snap, nominator);
    nominator.addNominatedPod(new PodInfo(makePod("friend", { priority: 10, nominatedNodeName: "n1" })), "n1");
    expect(fwk.runFilterPluginsWithNominatedPods(new CycleState(), makePod("p"), snap.get("n1")!)?.reasons).toEqual(["lonely"]);
  });
});

// ---- scoring ----

describe("Score", () => {
  const run = (fwk: Framework, names = ["n1", "n2", "n3"]) => fwk.runScorePlugins(new CycleState(), makePod("p"), nodes(...names));

  it("multiplies each plugin's normalized score by its weight and sums them", () => {
    const fwk = framework(
      {
        A: fixedScore("A", { n1: 100, n2: 50 }),
        B: fixedScore("B", { n2: 10, n3: 100 }),
      },
      profile([
        { name: "A", weight: 1 },
        { name: "B", weight: 3 },
      ]),
    );
    expect(run(fwk)).toEqual([
      { name: "n1", score: 100 },
      { name: "n2", score: 50 + 30 },
      { name: "n3", score: 300 },
    ]);
  });

  it("normalizes before weighting", () => {
    // Raw scores 0..10 scaled to 0..100.
    const scale = (s: NodeScore[]) => {
      for (const x of s) x.score *= 10;
      return null;
    };
    const fwk = framework({ A: fixedScore("A", { n1: 10, n2: 5 }, scale) }, profile([{ name: "A", weight: 2 }]));
    expect(run(fwk).map((s) => s.score)).toEqual([200, 100, 0]);
  });

  it("fails with a clear error when a plugin scores above 100", () => {
    const fwk = framework({ Big: fixedScore("Big", { n2: 150 }) }, profile(["Big"]));
    expect(() => run(fwk)).toThrow("plugin Big returned an invalid score 150 for node n2; scores must be in [0, 100]");
  });

  it("fails on negative or non-finite scores too", () => {
    expect(() => run(framework({ Neg: fixedScore("Neg", { n1: -1 }) }, profile(["Neg"])))).toThrow(/plugin Neg returned an invalid score -1 for node n1/);
    expect(() => run(framework({ NaNs: fixedScore("NaNs", { n1: Number.NaN }) }, profile(["NaNs"])))).toThrow(/invalid score NaN/);
  });

  it("checks the range after normalization, so raw scores may exceed 100", () => {
    const shrink = (s: NodeScore[]) => {
      for (const x of s) x.score = Math.floor(x.score / 10);
      return null;
    };
    const fwk = framework({ A: fixedScore("A", { n1: 1000 }, shrink) }, profile(["A"]));
    expect(run(fwk)[0]!.score).toBe(100);
  });

  it("fails when normalization fails", () => {
    const fwk = framework({ A: fixedScore("A", {}, () => ({ code: Code.Error, reasons: ["bad spread"] })) }, profile(["A"]));
    expect(() => run(fwk)).toThrow("plugin A failed to normalize scores: bad spread");
  });

  it("leaves out score plugins whose PreScore returned Skip", () => {
    const fwk = framework(
      {
        A: fake("A", { preScore: () => skipStatus(), score: () => 100 }),
        B: fixedScore("B", { n1: 7 }),
      },
      profile(["A", "B"]),
    );
    const state = new CycleState();
    expect(fwk.runPreScorePlugins(state, makePod("p"), nodes("n1"))).toBeNull();
    expect(state.skipScorePlugins.has("A")).toBe(true);
    expect(fwk.runScorePlugins(state, makePod("p"), nodes("n1"))).toEqual([{ name: "n1", score: 7 }]);
  });

  it("reports a failing PreScore with the plugin's name", () => {
    const fwk = framework({ A: fake("A", { preScore: () => ({ code: Code.Error, reasons: ["no data"] }), score: () => 0 }) }, profile(["A"]));
    expect(fwk.runPreScorePlugins(new CycleState(), makePod("p"), nodes("n1"))).toMatchObject({ code: Code.Error, plugin: "A" });
  });
});

// ---- the other extension points ----

describe("other extension points", () => {
  it("PreEnqueue: SchedulingGates keeps a gated pod out, naming itself", () => {
    const fwk = framework(pureRegistry(), profile(["SchedulingGates"]));
    expect(fwk.runPreEnqueuePlugins(makePod("p"))).toBeNull();
    expect(fwk.runPreEnqueuePlugins(makePod("p", { schedulingGates: ["example.com/wait"] }))).toMatchObject({
      code: Code.UnschedulableAndUnresolvable,
      plugin: "SchedulingGates",
    });
  });

  it("PostFilter: the first plugin that finds a way wins; otherwise the reasons are collected", async () => {
    const ran: string[] = [];
    const no = (name: string, code: Code) =>
      fake(name, { postFilter: async () => (ran.push(name), { status: { code, reasons: [`${name} cannot`] } }) });
    const yes = fake("Yes", { postFilter: async () => (ran.push("Yes"), { result: { nominatedNodeName: "n2" }, status: null }) });
    const f1 = framework({ No: no("No", Code.Unschedulable), Yes: yes, Late: no("Late", Code.Unschedulable) }, profile(["No", "Yes", "Late"]));
    expect(await f1.runPostFilterPlugins(new CycleState(), makePod("p"), new Map())).toEqual({ result: { nominatedNodeName: "n2" }, status: null });
    expect(ran).toEqual(["No", "Yes"]);

    const f2 = framework({ No: no("No", Code.Unschedulable), Never: no("Never", Code.UnschedulableAndUnresolvable) }, profile(["No", "Never"]));
    expect((await f2.runPostFilterPlugins(new CycleState(), makePod("p"), new Map())).status).toEqual({
      code: Code.UnschedulableAndUnresolvable,
      reasons: ["No cannot", "Never cannot"],
    });
  });

  it("Reserve runs in order and Unreserve in reverse; a failing Reserve names its plugin", () => {
    const log: string[] = [];
    const r = (name: string, fail = false) =>
      fake(name, {
        reserve: () => (log.push(`reserve ${name}`), fail ? unschedulable("taken") : null),
        unreserve: () => log.push(`unreserve ${name}`),
      });
    const fwk = framework({ R1: r("R1"), R2: r("R2", true), R3: r("R3") }, profile(["R1", "R2", "R3"]));
    expect(fwk.runReservePluginsReserve(new CycleState(), makePod("p"), "n1")).toMatchObject({ code: Code.Unschedulable, plugin: "R2" });
    fwk.runReservePluginsUnreserve(new CycleState(), makePod("p"), "n1");
    expect(log).toEqual(["reserve R1", "reserve R2", "unreserve R3", "unreserve R2", "unreserve R1"]);
  });

  it("Permit: waits for the longest timeout asked for, unless one plugin rejects", () => {
    const wait = (name: string, ms: number) => fake(name, { permit: () => ({ status: { code: Code.Wait, reasons: [] }, timeoutMs: ms }) });
    const fwk = framework({ W1: wait("W1", 500), W2: wait("W2", 2000) }, profile(["W1", "W2"]));
    const r = fwk.runPermitPlugins(new CycleState(), makePod("p"), "n1");
    expect(r.status?.code).toBe(Code.Wait);
    expect(r.waitMs).toBe(2000);
    expect(r.waitingOn).toEqual(["W1", "W2"]);

    const no = fake("No", { permit: () => ({ status: unschedulable("not now") }) });
    const f2 = framework({ W1: wait("W1", 500), No: no }, profile(["W1", "No"]));
    expect(f2.runPermitPlugins(new CycleState(), makePod("p"), "n1")).toEqual({
      status: { code: Code.Unschedulable, reasons: ["not now"], plugin: "No" },
      waitMs: 0,
      waitingOn: [],
    });
  });

  it("Bind: a plugin that returns Skip passes the pod to the next one", async () => {
    const log: string[] = [];
    const skipper = fake("Skipper", { bind: async () => (log.push("Skipper"), skipStatus()) });
    const fwk = new Framework({ Skipper: skipper, Real: () => okBinder("Real", log) }, profile(["Skipper", "Real"], { noBinder: true }), {
      snapshot: () => Snapshot.from([]),
      nominator: new FakeNominator(),
      client: new RecordingClient(),
    });
    expect(await fwk.runBindPlugins(new CycleState(), makePod("p"), "n1")).toBeNull();
    expect(log).toEqual(["Skipper", "Real"]);
  });

  it("Bind: an error from the binder is returned with its name; all skipping is an error", async () => {
    const failing = fake("Failing", {
      bind: async () => {
        throw new Error("connection refused");
      },
    });
    const deps = { snapshot: () => Snapshot.from([]), nominator: new FakeNominator(), client: new RecordingClient() };
    const f1 = new Framework({ Failing: failing }, profile(["Failing"], { noBinder: true }), deps);
    expect(await f1.runBindPlugins(new CycleState(), makePod("p"), "n1")).toMatchObject({ code: Code.Error, reasons: ["connection refused"], plugin: "Failing" });
    const f2 = new Framework({ Skipper: fake("Skipper", { bind: async () => skipStatus() }) }, profile(["Skipper"], { noBinder: true }), deps);
    expect(await f2.runBindPlugins(new CycleState(), makePod("p"), "n1")).toEqual({ code: Code.Error, reasons: ["no bind plugin bound the pod"] });
  });

  it("serves the handle from its dependencies", () => {
    const snap = Snapshot.from([makeNode("n1")]);
    const nominator = new FakeNominator();
    const fwk = new Framework({ Binder: () => okBinder() }, profile([]), {
      snapshot: () => snap,
      nominator,
      client: new RecordingClient(),
      namespaceLabels: (n) => (n === "shop" ? { team: "a" } : undefined),
    });
    expect(fwk.snapshot()).toBe(snap);
    expect(fwk.nominator()).toBe(nominator);
    expect(fwk.podDisruptionBudgets()).toEqual([]);
    expect(fwk.priorityClasses()).toEqual([]);
    expect(fwk.namespaceLabels("shop")).toEqual({ team: "a" });
    expect(fwk.namespaceLabels("other")).toBeUndefined();
  });
});
