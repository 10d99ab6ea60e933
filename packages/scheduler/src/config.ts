// Book 11.2.4: the scheduler's configuration file, in the shape of KubeSchedulerConfiguration
// (kubescheduler.config.k8s.io/v1): profiles with enabled/disabled plugins and weights, plugin args,
// percentageOfNodesToScore, backoff and leader election, merged over upstream's defaults.
import { parse } from "yaml";
import { EXTENSION_POINTS, type ExtensionPoint, type PluginEntry, type ResolvedProfile } from "./framework/runtime.js";

export const DEFAULT_SCHEDULER_NAME = "default-scheduler";

/** Upstream's default multi-point plugin set (those corekube has), with their default score weights. */
export const DEFAULT_MULTI_POINT: PluginEntry[] = [
  { name: "SchedulingGates" },
  { name: "NodeUnschedulable" },
  { name: "NodeName" },
  { name: "TaintToleration", weight: 3 },
  { name: "NodeAffinity", weight: 2 },
  { name: "NodePorts" },
  { name: "NodeResourcesFit", weight: 1 },
  { name: "PodTopologySpread", weight: 2 },
  { name: "InterPodAffinity", weight: 2 },
  { name: "DefaultPreemption" },
  { name: "NodeResourcesBalancedAllocation", weight: 1 },
  { name: "ImageLocality", weight: 1 },
  { name: "DefaultBinder" },
];

export interface LeaderElectionConfig {
  leaderElect: boolean;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  resourceNamespace: string;
  resourceName: string;
}

export interface SchedulerConfiguration {
  profiles: ResolvedProfile[];
  /** 0 means adaptive (upstream's default): 50% minus 1% per 125 nodes, at least 5%. */
  percentageOfNodesToScore: number;
  podInitialBackoffSeconds: number;
  podMaxBackoffSeconds: number;
  leaderElection: LeaderElectionConfig;
  clientConnection: { kubeconfig?: string; qps: number; burst: number };
}

const emptyPoints = <T>(make: () => T): Record<ExtensionPoint, T> =>
  Object.fromEntries(EXTENSION_POINTS.map((p) => [p, make()])) as Record<ExtensionPoint, T>;

export function defaultProfile(schedulerName = DEFAULT_SCHEDULER_NAME): ResolvedProfile {
  return {
    schedulerName,
    multiPoint: DEFAULT_MULTI_POINT.map((e) => ({ ...e })),
    points: emptyPoints(() => []),
    disabled: emptyPoints(() => new Set<string>()),
    pluginConfig: {},
  };
}

export function defaultConfiguration(): SchedulerConfiguration {
  return {
    profiles: [defaultProfile()],
    percentageOfNodesToScore: 0,
    podInitialBackoffSeconds: 1,
    podMaxBackoffSeconds: 10,
    leaderElection: {
      leaderElect: true,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      resourceNamespace: "kube-system",
      resourceName: "kube-scheduler",
    },
    clientConnection: { qps: 50, burst: 100 },
  };
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Go durations as the config file writes them: "15s", "1m30s", "500ms". */
export function parseDuration(v: unknown, where: string): number {
  if (typeof v === "number") return v * 1000;
  if (typeof v !== "string" || !/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(v)) throw new ConfigError(`${where}: ${JSON.stringify(v)} is not a duration like "15s" or "1m30s"`);
  let ms = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    const n = Number(m[1]);
    ms += m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : m[2] === "m" ? n * 60_000 : n * 3_600_000;
  }
  return ms;
}

function num(v: unknown, where: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) throw new ConfigError(`${where}: must be a number between ${min} and ${max}, got ${JSON.stringify(v)}`);
  return v;
}

function entries(v: unknown, where: string): PluginEntry[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError(`${where}: must be a list of {name, weight}`);
  return v.map((e, i) => {
    if (!isObj(e) || typeof e.name !== "string" || e.name === "") throw new ConfigError(`${where}[${i}]: each plugin needs a name`);
    const out: PluginEntry = { name: e.name };
    if (e.weight !== undefined) out.weight = num(e.weight, `${where}[${i}].weight`, 1, 100);
    return out;
  });
}

function resolveProfile(raw: Obj, i: number, knownPlugins: ReadonlySet<string> | undefined): ResolvedProfile {
  const where = `profiles[${i}]`;
  const name = raw.schedulerName ?? DEFAULT_SCHEDULER_NAME;
  if (typeof name !== "string" || name === "") throw new ConfigError(`${where}.schedulerName: must be a non-empty string`);
  const profile = defaultProfile(name);
  const plugins = raw.plugins ?? {};
  if (!isObj(plugins)) throw new ConfigError(`${where}.plugins: must be a mapping`);
  for (const key of Object.keys(plugins)) {
    if (key !== "multiPoint" && key !== "queueSort" && !(EXTENSION_POINTS as readonly string[]).includes(key)) {
      throw new ConfigError(`${where}.plugins.${key}: unknown extension point (known: multiPoint, ${EXTENSION_POINTS.join(", ")})`);
    }
  }
  const check = (list: PluginEntry[], w: string) => {
    if (!knownPlugins) return;
    for (const e of list) if (e.name !== "*" && !knownPlugins.has(e.name) && e.name !== "PrioritySort") throw new ConfigError(`${w}: unknown plugin ${JSON.stringify(e.name)}`);
  };
  const mp = isObj(plugins.multiPoint) ? plugins.multiPoint : {};
  const mpDisabled = entries(mp.disabled, `${where}.plugins.multiPoint.disabled`);
  const mpEnabled = entries(mp.enabled, `${where}.plugins.multiPoint.enabled`);
  check(mpEnabled, `${where}.plugins.multiPoint.enabled`);
  if (mpDisabled.some((e) => e.name === "*")) profile.multiPoint = [];
  else profile.multiPoint = profile.multiPoint.filter((e) => !mpDisabled.some((d) => d.name === e.name));
  for (const e of mpEnabled) {
    const j = profile.multiPoint.findIndex((x) => x.name === e.name);
    if (j >= 0) profile.multiPoint[j] = { name: e.name, weight: e.weight ?? profile.multiPoint[j]!.weight };
    else profile.multiPoint.push(e);
  }
  for (const point of EXTENSION_POINTS) {
    const set = plugins[point];
    if (set === undefined || set === null) continue;
    if (!isObj(set)) throw new ConfigError(`${where}.plugins.${point}: must be a mapping with enabled/disabled`);
    const enabled = entries(set.enabled, `${where}.plugins.${point}.enabled`);
    check(enabled, `${where}.plugins.${point}.enabled`);
    profile.points[point] = enabled;
    for (const d of entries(set.disabled, `${where}.plugins.${point}.disabled`)) profile.disabled[point].add(d.name);
  }
  const pc = raw.pluginConfig ?? [];
  if (!Array.isArray(pc)) throw new ConfigError(`${where}.pluginConfig: must be a list of {name, args}`);
  pc.forEach((c, j) => {
    if (!isObj(c) || typeof c.name !== "string") throw new ConfigError(`${where}.pluginConfig[${j}]: needs a name`);
    if (c.args !== undefined && !isObj(c.args)) throw new ConfigError(`${where}.pluginConfig[${j}].args: must be a mapping`);
    if (profile.pluginConfig[c.name]) throw new ConfigError(`${where}.pluginConfig[${j}]: args for ${c.name} given twice`);
    profile.pluginConfig[c.name] = (c.args as Obj | undefined) ?? {};
  });
  if (raw.percentageOfNodesToScore !== undefined) profile.percentageOfNodesToScore = num(raw.percentageOfNodesToScore, `${where}.percentageOfNodesToScore`, 0, 100);
  return profile;
}

/**
 * Parses a KubeSchedulerConfiguration (YAML or JSON) over the defaults. `knownPlugins`, when given,
 * makes an unknown plugin name an error that says which one.
 */
export function parseSchedulerConfiguration(text: string, knownPlugins?: ReadonlySet<string>): SchedulerConfiguration {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new ConfigError(`not valid YAML: ${(e as Error).message}`);
  }
  if (!isObj(doc)) throw new ConfigError("the configuration must be a mapping");
  const apiVersion = doc.apiVersion;
  if (apiVersion !== "kubescheduler.config.k8s.io/v1") {
    throw new ConfigError(`apiVersion must be kubescheduler.config.k8s.io/v1, got ${JSON.stringify(apiVersion)}`);
  }
  if (doc.kind !== "KubeSchedulerConfiguration") throw new ConfigError(`kind must be KubeSchedulerConfiguration, got ${JSON.stringify(doc.kind)}`);
  const cfg = defaultConfiguration();
  if (doc.percentageOfNodesToScore !== undefined) cfg.percentageOfNodesToScore = num(doc.percentageOfNodesToScore, "percentageOfNodesToScore", 0, 100);
  if (doc.podInitialBackoffSeconds !== undefined) cfg.podInitialBackoffSeconds = num(doc.podInitialBackoffSeconds, "podInitialBackoffSeconds", 1);
  if (doc.podMaxBackoffSeconds !== undefined) cfg.podMaxBackoffSeconds = num(doc.podMaxBackoffSeconds, "podMaxBackoffSeconds", 1);
  if (cfg.podMaxBackoffSeconds < cfg.podInitialBackoffSeconds) throw new ConfigError("podMaxBackoffSeconds must not be smaller than podInitialBackoffSeconds");
  if (doc.leaderElection !== undefined) {
    if (!isObj(doc.leaderElection)) throw new ConfigError("leaderElection: must be a mapping");
    const le = doc.leaderElection;
    if (le.leaderElect !== undefined) {
      if (typeof le.leaderElect !== "boolean") throw new ConfigError("leaderElection.leaderElect: must be true or false");
      cfg.leaderElection.leaderElect = le.leaderElect;
    }
    if (le.leaseDuration !== undefined) cfg.leaderElection.leaseDurationMs = parseDuration(le.leaseDuration, "leaderElection.leaseDuration");
    if (le.renewDeadline !== undefined) cfg.leaderElection.renewDeadlineMs = parseDuration(le.renewDeadline, "leaderElection.renewDeadline");
    if (le.retryPeriod !== undefined) cfg.leaderElection.retryPeriodMs = parseDuration(le.retryPeriod, "leaderElection.retryPeriod");
    if (typeof le.resourceNamespace === "string" && le.resourceNamespace) cfg.leaderElection.resourceNamespace = le.resourceNamespace;
    if (typeof le.resourceName === "string" && le.resourceName) cfg.leaderElection.resourceName = le.resourceName;
  }
  if (doc.clientConnection !== undefined) {
    if (!isObj(doc.clientConnection)) throw new ConfigError("clientConnection: must be a mapping");
    const cc = doc.clientConnection;
    if (typeof cc.kubeconfig === "string" && cc.kubeconfig) cfg.clientConnection.kubeconfig = cc.kubeconfig;
    if (cc.qps !== undefined) cfg.clientConnection.qps = num(cc.qps, "clientConnection.qps", -1);
    if (cc.burst !== undefined) cfg.clientConnection.burst = num(cc.burst, "clientConnection.burst", 1);
  }
  if (doc.profiles !== undefined) {
    if (!Array.isArray(doc.profiles) || doc.profiles.length === 0) throw new ConfigError("profiles: must be a non-empty list");
    cfg.profiles = doc.profiles.map((p, i) => {
      if (!isObj(p)) throw new ConfigError(`profiles[${i}]: must be a mapping`);
      return resolveProfile(p, i, knownPlugins);
    });
    const names = new Set<string>();
    for (const p of cfg.profiles) {
      if (names.has(p.schedulerName)) throw new ConfigError(`profiles: schedulerName ${JSON.stringify(p.schedulerName)} is used twice`);
      names.add(p.schedulerName);
    }
  }
  return cfg;
}
