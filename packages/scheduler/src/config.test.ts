// Book 11.2.4: tests for reading a KubeSchedulerConfiguration: defaults, enabling and disabling
// plugins per profile, weights, plugin args, several profiles, durations, and clear errors.
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  DEFAULT_MULTI_POINT,
  DEFAULT_SCHEDULER_NAME,
  defaultProfile,
  parseDuration,
  parseSchedulerConfiguration,
} from "./config.js";
import { Snapshot } from "./framework/node-info.js";
import { Framework, type ResolvedProfile, pluginsAt } from "./framework/runtime.js";
import type { BindPlugin, Registry } from "./framework/types.js";
import { IN_TREE_PLUGIN_NAMES, pureRegistry } from "./plugins/registry.js";
import type { NodeResourcesFit } from "./plugins/node-resources-fit.js";
import { FakeNominator, RecordingClient } from "./testing/fake-handle.js";

const HEAD = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n";
const parse = (body = "") => parseSchedulerConfiguration(HEAD + body, IN_TREE_PLUGIN_NAMES);

const binder: BindPlugin = { name: "DefaultBinder", bind: async () => null };
const registry: Registry = { ...pureRegistry(), DefaultBinder: () => binder };
const build = (profile: ResolvedProfile) =>
  new Framework(registry, profile, { snapshot: () => Snapshot.from([]), nominator: new FakeNominator(), client: new RecordingClient() });

/** The names at one extension point, every plugin implementing every point. */
const namesAt = (p: ResolvedProfile, point: Parameters<typeof pluginsAt>[1]) => pluginsAt(p, point, () => true).map((e) => e.name);

describe("parseSchedulerConfiguration: defaults", () => {
  it("gives upstream's defaults for an empty configuration", () => {
    const cfg = parse();
    expect(cfg.percentageOfNodesToScore).toBe(0);
    expect(cfg.podInitialBackoffSeconds).toBe(1);
    expect(cfg.podMaxBackoffSeconds).toBe(10);
    expect(cfg.leaderElection).toEqual({
      leaderElect: true,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      resourceNamespace: "kube-system",
      resourceName: "kube-scheduler",
    });
    expect(cfg.clientConnection).toEqual({ qps: 50, burst: 100 });
    expect(cfg.profiles).toHaveLength(1);
    const p = cfg.profiles[0]!;
    expect(p.schedulerName).toBe(DEFAULT_SCHEDULER_NAME);
    expect(p.multiPoint).toEqual(DEFAULT_MULTI_POINT);
    expect(p.percentageOfNodesToScore).toBeUndefined();
  });

  it("has upstream's default score weights", () => {
    const w = Object.fromEntries(defaultProfile().multiPoint.filter((e) => e.weight !== undefined).map((e) => [e.name, e.weight]));
    expect(w).toEqual({
      TaintToleration: 3,
      NodeAffinity: 2,
      NodeResourcesFit: 1,
      PodTopologySpread: 2,
      InterPodAffinity: 2,
      NodeResourcesBalancedAllocation: 1,
      ImageLocality: 1,
    });
  });

  it("builds a framework from the default profile with the expected plugins at each point", () => {
    const fwk = build(parse().profiles[0]!);
    expect(fwk.filterPlugins.map((p) => p.name)).toEqual([
      "NodeUnschedulable",
      "NodeName",
      "TaintToleration",
      "NodeAffinity",
      "NodePorts",
      "NodeResourcesFit",
      "PodTopologySpread",
      "InterPodAffinity",
    ]);
    expect(fwk.scorePlugins.map((s) => [s.plugin.name, s.weight])).toEqual([
      ["TaintToleration", 3],
      ["NodeAffinity", 2],
      ["NodeResourcesFit", 1],
      ["PodTopologySpread", 2],
      ["InterPodAffinity", 2],
      ["NodeResourcesBalancedAllocation", 1],
      ["ImageLocality", 1],
    ]);
    expect(fwk.preEnqueuePlugins.map((p) => p.name)).toEqual(["SchedulingGates"]);
    expect(fwk.postFilterPlugins.map((p) => p.name)).toEqual(["DefaultPreemption"]);
    expect(fwk.bindPlugins.map((p) => p.name)).toEqual(["DefaultBinder"]);
  });

  it("reads JSON too, and top-level settings", () => {
    const cfg = parseSchedulerConfiguration(
      JSON.stringify({
        apiVersion: "kubescheduler.config.k8s.io/v1",
        kind: "KubeSchedulerConfiguration",
        percentageOfNodesToScore: 30,
        podInitialBackoffSeconds: 2,
        podMaxBackoffSeconds: 20,
        leaderElection: { leaderElect: false, resourceName: "my-sched", resourceNamespace: "sched" },
        clientConnection: { kubeconfig: "/etc/k.conf", qps: 10, burst: 20 },
      }),
    );
    expect(cfg.percentageOfNodesToScore).toBe(30);
    expect(cfg.podInitialBackoffSeconds).toBe(2);
    expect(cfg.podMaxBackoffSeconds).toBe(20);
    expect(cfg.leaderElection.leaderElect).toBe(false);
    expect(cfg.leaderElection.resourceName).toBe("my-sched");
    expect(cfg.leaderElection.resourceNamespace).toBe("sched");
    expect(cfg.clientConnection).toEqual({ kubeconfig: "/etc/k.conf", qps: 10, burst: 20 });
  });
});

describe("parseSchedulerConfiguration: plugins", () => {
  it("disables every default with multiPoint disabled '*' and keeps only what is enabled", () => {
    const p = parse(`
profiles:
  - plugins:
      multiPoint:
        disabled:
          - name: "*"
        enabled:
          - name: NodeResourcesFit
          - name: DefaultBinder
`).profiles[0]!;
    expect(p.multiPoint).toEqual([{ name: "NodeResourcesFit" }, { name: "DefaultBinder" }]);
    const fwk = build(p);
    expect(fwk.filterPlugins.map((x) => x.name)).toEqual(["NodeResourcesFit"]);
    expect(fwk.scorePlugins.map((s) => [s.plugin.name, s.weight])).toEqual([["NodeResourcesFit", 1]]);
    expect(fwk.postFilterPlugins).toEqual([]);
  });

  it("disables single defaults by name", () => {
    const p = parse(`
profiles:
  - plugins:
      multiPoint:
        disabled: [{ name: ImageLocality }, { name: DefaultPreemption }]
`).profiles[0]!;
    expect(p.multiPoint.map((e) => e.name)).not.toContain("ImageLocality");
    expect(p.multiPoint.map((e) => e.name)).not.toContain("DefaultPreemption");
    expect(p.multiPoint).toHaveLength(DEFAULT_MULTI_POINT.length - 2);
  });

  it("changes a default plugin's weight in place and appends new plugins at the end", () => {
    const p = parse(`
profiles:
  - plugins:
      multiPoint:
        enabled:
          - name: ImageLocality
            weight: 5
          - name: NodeResourcesFit
`).profiles[0]!;
    const names = p.multiPoint.map((e) => e.name);
    expect(names).toEqual(DEFAULT_MULTI_POINT.map((e) => e.name));
    expect(p.multiPoint.find((e) => e.name === "ImageLocality")!.weight).toBe(5);
    // Re-enabling without a weight keeps the default weight.
    expect(p.multiPoint.find((e) => e.name === "NodeResourcesFit")!.weight).toBe(1);
    expect(build(p).scorePlugins.find((s) => s.plugin.name === "ImageLocality")!.weight).toBe(5);
  });

  it("enables a plugin at one extension point with a weight", () => {
    const p = parse(`
profiles:
  - plugins:
      score:
        enabled:
          - name: NodeResourcesBalancedAllocation
            weight: 7
`).profiles[0]!;
    expect(p.points.score).toEqual([{ name: "NodeResourcesBalancedAllocation", weight: 7 }]);
    const fwk = build(p);
    expect(fwk.scorePlugins.filter((s) => s.plugin.name === "NodeResourcesBalancedAllocation").map((s) => s.weight)).toEqual([7]);
  });

  it("disables a multiPoint plugin at one extension point only", () => {
    const p = parse(`
profiles:
  - plugins:
      score:
        disabled:
          - name: NodeResourcesFit
          - name: TaintToleration
`).profiles[0]!;
    expect(p.disabled.score).toEqual(new Set(["NodeResourcesFit", "TaintToleration"]));
    expect(namesAt(p, "score")).not.toContain("NodeResourcesFit");
    const fwk = build(p);
    expect(fwk.scorePlugins.map((s) => s.plugin.name)).not.toContain("NodeResourcesFit");
    expect(fwk.scorePlugins.map((s) => s.plugin.name)).not.toContain("TaintToleration");
    // Still filtering.
    expect(fwk.filterPlugins.map((x) => x.name)).toContain("NodeResourcesFit");
    expect(fwk.filterPlugins.map((x) => x.name)).toContain("TaintToleration");
  });

  it("disables every multiPoint plugin at one point with '*'", () => {
    const p = parse(`
profiles:
  - plugins:
      score:
        disabled: [{ name: "*" }]
        enabled: [{ name: ImageLocality, weight: 4 }]
`).profiles[0]!;
    expect(build(p).scorePlugins.map((s) => [s.plugin.name, s.weight])).toEqual([["ImageLocality", 4]]);
  });

  it("hands pluginConfig args to the plugin", () => {
    const p = parse(`
profiles:
  - pluginConfig:
      - name: NodeResourcesFit
        args:
          scoringStrategy:
            type: MostAllocated
            resources:
              - name: cpu
                weight: 3
`).profiles[0]!;
    expect(p.pluginConfig.NodeResourcesFit).toEqual({ scoringStrategy: { type: "MostAllocated", resources: [{ name: "cpu", weight: 3 }] } });
    const fit = build(p).plugin("NodeResourcesFit") as NodeResourcesFit;
    expect(fit.args.scoringStrategy.type).toBe("MostAllocated");
    expect(fit.args.scoringStrategy.resources).toEqual([{ name: "cpu", weight: 3 }]);
  });

  it("lets the plugin reject bad args when the framework is built", () => {
    const p = parse(`
profiles:
  - pluginConfig:
      - name: NodeResourcesFit
        args: { scoringStrategy: { type: Bogus } }
`).profiles[0]!;
    expect(() => build(p)).toThrow(/scoringStrategy\.type "Bogus" is not supported/);
  });

  it("keeps two profiles apart", () => {
    const cfg = parse(`
profiles:
  - schedulerName: default-scheduler
  - schedulerName: no-scoring
    percentageOfNodesToScore: 50
    plugins:
      multiPoint:
        disabled: [{ name: ImageLocality }]
      score:
        disabled: [{ name: "*" }]
`);
    expect(cfg.profiles.map((p) => p.schedulerName)).toEqual(["default-scheduler", "no-scoring"]);
    const [a, b] = cfg.profiles.map(build);
    expect(a!.scorePlugins).toHaveLength(7);
    expect(b!.scorePlugins).toHaveLength(0);
    expect(b!.profileName).toBe("no-scoring");
    expect(b!.percentageOfNodesToScore).toBe(50);
    expect(a!.percentageOfNodesToScore).toBeUndefined();
    expect(cfg.profiles[0]!.multiPoint.map((e) => e.name)).toContain("ImageLocality");
  });

  it("accepts upstream's queueSort section (PrioritySort is built in)", () => {
    expect(() =>
      parse(`
profiles:
  - plugins:
      queueSort:
        enabled: [{ name: PrioritySort }]
`),
    ).not.toThrow();
  });
});

describe("parseSchedulerConfiguration: errors", () => {
  const fails = (text: string, re: RegExp) => {
    let err: unknown;
    try {
      parseSchedulerConfiguration(text, IN_TREE_PLUGIN_NAMES);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(re);
  };

  it("rejects another apiVersion or kind", () => {
    fails("apiVersion: kubescheduler.config.k8s.io/v1beta3\nkind: KubeSchedulerConfiguration\n", /^apiVersion must be kubescheduler\.config\.k8s\.io\/v1, got "kubescheduler\.config\.k8s\.io\/v1beta3"$/);
    fails("kind: KubeSchedulerConfiguration\n", /apiVersion must be kubescheduler\.config\.k8s\.io\/v1, got undefined/);
    fails("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeProxyConfiguration\n", /^kind must be KubeSchedulerConfiguration, got "KubeProxyConfiguration"$/);
  });

  it("rejects text that is not a YAML mapping", () => {
    fails("apiVersion: [unclosed", /^not valid YAML/);
    fails("- a\n- b\n", /must be a mapping/);
  });

  it("names an unknown extension point", () => {
    fails(HEAD + "profiles:\n  - plugins:\n      sort:\n        enabled: [{ name: NodeName }]\n", /profiles\[0\]\.plugins\.sort: unknown extension point/);
  });

  it("names an unknown plugin and where it is", () => {
    fails(HEAD + "profiles:\n  - plugins:\n      multiPoint:\n        enabled: [{ name: NodeFoo }]\n", /profiles\[0\]\.plugins\.multiPoint\.enabled: unknown plugin "NodeFoo"/);
    fails(HEAD + "profiles:\n  - plugins:\n      filter:\n        enabled: [{ name: NodeFoo }]\n", /profiles\[0\]\.plugins\.filter\.enabled: unknown plugin "NodeFoo"/);
  });

  it("leaves unknown plugins to the framework when no plugin list is given", () => {
    const cfg = parseSchedulerConfiguration(HEAD + "profiles:\n  - plugins:\n      multiPoint:\n        enabled: [{ name: NodeFoo }]\n");
    expect(() => build(cfg.profiles[0]!)).toThrow(/unknown plugin "NodeFoo"/);
  });

  it("rejects a schedulerName used twice", () => {
    fails(HEAD + "profiles:\n  - schedulerName: a\n  - schedulerName: b\n  - schedulerName: a\n", /schedulerName "a" is used twice/);
    fails(HEAD + "profiles:\n  - {}\n  - {}\n", /schedulerName "default-scheduler" is used twice/);
  });

  it("rejects an empty profile list", () => {
    fails(HEAD + "profiles: []\n", /profiles: must be a non-empty list/);
  });

  it("rejects a weight outside 1..100 and a plugin without a name", () => {
    fails(HEAD + "profiles:\n  - plugins:\n      score:\n        enabled: [{ name: ImageLocality, weight: 0 }]\n", /plugins\.score\.enabled\[0\]\.weight/);
    fails(HEAD + "profiles:\n  - plugins:\n      score:\n        enabled: [{ name: ImageLocality, weight: 101 }]\n", /weight/);
    fails(HEAD + "profiles:\n  - plugins:\n      score:\n        enabled: [{ weight: 2 }]\n", /plugins\.score\.enabled\[0\]: each plugin needs a name/);
  });

  it("rejects args for the same plugin twice", () => {
    fails(HEAD + "profiles:\n  - pluginConfig:\n      - name: NodeAffinity\n      - name: NodeAffinity\n", /args for NodeAffinity given twice/);
  });

  it("rejects percentageOfNodesToScore outside 0..100", () => {
    fails(HEAD + "percentageOfNodesToScore: 101\n", /percentageOfNodesToScore/);
    fails(HEAD + "profiles:\n  - percentageOfNodesToScore: -1\n", /profiles\[0\]\.percentageOfNodesToScore/);
  });

  it("rejects podMaxBackoffSeconds smaller than podInitialBackoffSeconds", () => {
    fails(HEAD + "podInitialBackoffSeconds: 5\npodMaxBackoffSeconds: 2\n", /podMaxBackoffSeconds must not be smaller than podInitialBackoffSeconds/);
    // Raising only the initial backoff above the default maximum (10) is the same mistake.
    fails(HEAD + "podInitialBackoffSeconds: 11\n", /podMaxBackoffSeconds must not be smaller/);
    expect(parse("podInitialBackoffSeconds: 5\npodMaxBackoffSeconds: 5\n").podMaxBackoffSeconds).toBe(5);
  });
});

describe("durations", () => {
  it("reads Go durations in the leader election settings", () => {
    const cfg = parse("leaderElection:\n  leaseDuration: 15s\n  renewDeadline: 1m30s\n  retryPeriod: 500ms\n");
    expect(cfg.leaderElection.leaseDurationMs).toBe(15_000);
    expect(cfg.leaderElection.renewDeadlineMs).toBe(90_000);
    expect(cfg.leaderElection.retryPeriodMs).toBe(500);
  });

  it("parses units, fractions and plain numbers of seconds", () => {
    expect(parseDuration("15s", "x")).toBe(15_000);
    expect(parseDuration("1m30s", "x")).toBe(90_000);
    expect(parseDuration("1h", "x")).toBe(3_600_000);
    expect(parseDuration("1.5s", "x")).toBe(1_500);
    expect(parseDuration("250ms", "x")).toBe(250);
    expect(parseDuration(2, "x")).toBe(2_000);
  });

  it("names the field of a bad duration", () => {
    expect(() => parseDuration("15 seconds", "leaderElection.leaseDuration")).toThrow(
      /^leaderElection\.leaseDuration: "15 seconds" is not a duration like "15s" or "1m30s"$/,
    );
    expect(() => parseDuration("", "x")).toThrow(ConfigError);
    expect(() => parse("leaderElection:\n  retryPeriod: soon\n")).toThrow(/leaderElection\.retryPeriod: "soon" is not a duration/);
  });
});
