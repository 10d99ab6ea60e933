// Book 11.2.3-11.2.4: the framework runtime: one scheduling profile's plugins, instantiated from the
// registry and run at each extension point in order (filters stop at the first "no", scores are
// normalized, weighted and summed).
import type { Pod } from "@corekube/api";
import type { NodeInfo, PodInfo, Snapshot } from "./node-info.js";
import {
  type BindPlugin,
  type ClusterEventWithHint,
  Code,
  CycleState,
  type FilterPlugin,
  type Handle,
  type MaybeStatus,
  MAX_NODE_SCORE,
  type NodeScore,
  type NodeToStatus,
  type PermitPlugin,
  type Plugin,
  type PodNominator,
  type PostBindPlugin,
  type PostFilterPlugin,
  type PostFilterResult,
  type PreBindPlugin,
  type PreEnqueuePlugin,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type PreemptionClient,
  type Registry,
  type ReservePlugin,
  type ScorePlugin,
  type EnqueueExtensions,
  errorStatus,
  isSuccess,
  unresolvable,
} from "./types.js";

export const EXTENSION_POINTS = [
  "preEnqueue",
  "preFilter",
  "filter",
  "postFilter",
  "preScore",
  "score",
  "reserve",
  "permit",
  "preBind",
  "bind",
  "postBind",
] as const;
export type ExtensionPoint = (typeof EXTENSION_POINTS)[number];

export interface PluginEntry {
  name: string;
  /** For score plugins; 1 when unset. */
  weight?: number;
}

/**
 * A profile after defaults were merged: `multiPoint` plugins run at every extension point they
 * implement (unless disabled there); `points` adds plugins at one point (or changes their weight).
 */
export interface ResolvedProfile {
  schedulerName: string;
  multiPoint: PluginEntry[];
  points: Record<ExtensionPoint, PluginEntry[]>;
  disabled: Record<ExtensionPoint, Set<string>>;
  pluginConfig: Record<string, Record<string, unknown>>;
  percentageOfNodesToScore?: number;
}

/** The plugins (name, weight) that run at `point`, in order. */
export function pluginsAt(profile: ResolvedProfile, point: ExtensionPoint, implementsIt: (name: string) => boolean): PluginEntry[] {
  const disabled = profile.disabled[point];
  const out: PluginEntry[] = [];
  const index = new Map<string, number>();
  const put = (e: PluginEntry) => {
    const i = index.get(e.name);
    if (i !== undefined) out[i] = { name: e.name, weight: e.weight ?? out[i]!.weight };
    else {
      index.set(e.name, out.length);
      out.push({ ...e });
    }
  };
  for (const e of profile.multiPoint) if (!disabled.has(e.name) && !disabled.has("*") && implementsIt(e.name)) put(e);
  for (const e of profile.points[point]) put(e);
  return out;
}

/** What the framework needs from the scheduler around it. */
export interface FrameworkDeps {
  snapshot: () => Snapshot;
  nominator: PodNominator;
  client: PreemptionClient;
  podDisruptionBudgets?: Handle["podDisruptionBudgets"];
  priorityClasses?: Handle["priorityClasses"];
  namespaceLabels?: Handle["namespaceLabels"];
}

const implementsPoint = (p: Plugin, point: ExtensionPoint): boolean => typeof (p as unknown as Record<string, unknown>)[point] === "function";

export class Framework implements Handle {
  readonly profileName: string;
  readonly client: PreemptionClient;
  readonly percentageOfNodesToScore: number | undefined;
  private readonly instances = new Map<string, Plugin>();
  readonly preEnqueuePlugins: PreEnqueuePlugin[];
  readonly preFilterPlugins: PreFilterPlugin[];
  readonly filterPlugins: FilterPlugin[];
  readonly postFilterPlugins: PostFilterPlugin[];
  readonly preScorePlugins: PreScorePlugin[];
  readonly scorePlugins: { plugin: ScorePlugin; weight: number }[];
  readonly reservePlugins: ReservePlugin[];
  readonly permitPlugins: PermitPlugin[];
  readonly preBindPlugins: PreBindPlugin[];
  readonly bindPlugins: BindPlugin[];
  readonly postBindPlugins: PostBindPlugin[];

  constructor(
    registry: Registry,
    readonly profile: ResolvedProfile,
    private readonly deps: FrameworkDeps,
  ) {
    this.profileName = profile.schedulerName;
    this.client = deps.client;
    this.percentageOfNodesToScore = profile.percentageOfNodesToScore;
    const get = (name: string): Plugin => {
      let p = this.instances.get(name);
      if (!p) {
        const factory = registry[name];
        if (!factory) throw new Error(`profile ${JSON.stringify(profile.schedulerName)}: unknown plugin ${JSON.stringify(name)}`);
        p = factory(profile.pluginConfig[name], this);
        this.instances.set(name, p);
      }
      return p;
    };
    const entries = (point: ExtensionPoint) => {
      const list = pluginsAt(profile, point, (name) => implementsPoint(get(name), point));
      for (const { name } of list) {
        if (!implementsPoint(get(name), point)) throw new Error(`plugin ${JSON.stringify(name)} does not implement the ${point} extension point`);
      }
      return list;
    };
    const at = <T extends Plugin>(point: ExtensionPoint): T[] => entries(point).map(({ name }) => get(name) as T);
    this.preEnqueuePlugins = at("preEnqueue");
    this.preFilterPlugins = at("preFilter");
    this.filterPlugins = at("filter");
    this.postFilterPlugins = at("postFilter");
    this.preScorePlugins = at("preScore");
    this.scorePlugins = entries("score").map(({ name, weight }) => ({ plugin: get(name) as ScorePlugin, weight: weight ?? 1 }));
    this.reservePlugins = at("reserve");
    this.permitPlugins = at("permit");
    this.preBindPlugins = at("preBind");
    this.bindPlugins = at("bind");
    this.postBindPlugins = at("postBind");
    if (this.bindPlugins.length === 0) throw new Error(`profile ${JSON.stringify(profile.schedulerName)}: at least one bind plugin is needed`);
  }

  plugin(name: string): Plugin | undefined {
    return this.instances.get(name);
  }

  // ---- Handle ----
  snapshot(): Snapshot {
    return this.deps.snapshot();
  }
  nominator(): PodNominator {
    return this.deps.nominator;
  }
  podDisruptionBudgets() {
    return this.deps.podDisruptionBudgets?.() ?? [];
  }
  priorityClasses() {
    return this.deps.priorityClasses?.() ?? [];
  }
  namespaceLabels(name: string) {
    return this.deps.namespaceLabels?.(name);
  }

  /** Plugin name -> the cluster events it registered (for the queue's requeueing). */
  eventsToRegister(): Map<string, ClusterEventWithHint[]> {
    const out = new Map<string, ClusterEventWithHint[]>();
    for (const [name, p] of this.instances) {
      const ext = p as Partial<EnqueueExtensions>;
      if (typeof ext.eventsToRegister === "function") out.set(name, ext.eventsToRegister());
    }
    return out;
  }

  // ---- extension points ----

  runPreEnqueuePlugins(pod: Pod): MaybeStatus {
    for (const p of this.preEnqueuePlugins) {
      const s = p.preEnqueue(pod);
      if (!isSuccess(s)) return { ...s!, plugin: p.name };
    }
    return null;
  }

  /** Runs PreFilter plugins; a rejection fails every node. Intersects the node sets plugins return. */
  runPreFilterPlugins(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): { result?: PreFilterResult; status: MaybeStatus } {
    let result: PreFilterResult | undefined;
    const narrowedBy: string[] = [];
    for (const p of this.preFilterPlugins) {
      let r: { result?: PreFilterResult; status: MaybeStatus };
      try {
        r = p.preFilter(state, pod, nodes);
      } catch (e) {
        return { status: { ...errorStatus(e), plugin: p.name } };
      }
      if (r.status?.code === Code.Skip) {
        state.skipFilterPlugins.add(p.name);
        continue;
      }
      if (!isSuccess(r.status)) return { status: { ...r.status!, plugin: p.name } };
      if (r.result?.nodeNames) {
        narrowedBy.push(p.name);
        if (!result?.nodeNames) result = { nodeNames: new Set(r.result.nodeNames) };
        else result = { nodeNames: new Set([...result.nodeNames].filter((n) => r.result!.nodeNames!.has(n))) };
        result.narrowedBy = [...narrowedBy].sort();
        if (result.nodeNames!.size === 0) {
          const msg =
            narrowedBy.length === 1
              ? `node(s) didn't satisfy plugin ${p.name}`
              : `node(s) didn't satisfy plugin(s) [${result.narrowedBy.join(" ")}] simultaneously`;
          return { result, status: { ...unresolvable(msg), plugin: p.name } };
        }
      }
    }
    return { result, status: null };
  }

  runFilterPlugins(state: CycleState, pod: Pod, nodeInfo: NodeInfo): MaybeStatus {
    for (const p of this.filterPlugins) {
      if (state.skipFilterPlugins.size > 0 && state.skipFilterPlugins.has(p.name)) continue;
      let s: MaybeStatus;
      try {
        s = p.filter(state, pod, nodeInfo);
      } catch (e) {
        s = errorStatus(e);
      }
      if (s !== null && s.code !== Code.Success) {
        s.plugin = p.name;
        return s;
      }
    }
    return null;
  }

  /**
   * Filters one node as if the pods nominated to it with at least the incoming pod's priority were
   * already there (they will be soon); the node must pass both with and without them, as upstream.
   */
  runFilterPluginsWithNominatedPods(state: CycleState, pod: Pod, nodeInfo: NodeInfo): MaybeStatus {
    const nominated = this.deps.nominator.nominatedPodsForNode(nodeInfo.name);
    if (nominated.length === 0) return this.runFilterPlugins(state, pod, nodeInfo);
    const prio = pod.spec.priority ?? 0;
    const uid = pod.metadata.uid;
    const relevant = nominated.filter((pi) => pi.pod.metadata.uid !== uid && (pi.pod.spec.priority ?? 0) >= prio);
    if (relevant.length > 0) {
      const s2 = state.clone();
      const n2 = nodeInfo.clone();
      for (const pi of relevant) {
        n2.addPodInfo(pi);
        const s = this.runPreFilterExtensionAddPod(s2, pod, pi, n2);
        if (!isSuccess(s)) return s;
      }
      const withNominated = this.runFilterPlugins(s2, pod, n2);
      if (!isSuccess(withNominated)) return withNominated;
    }
    return this.runFilterPlugins(state, pod, nodeInfo);
  }

  runPreFilterExtensionAddPod(state: CycleState, podToSchedule: Pod, podInfoToAdd: PodInfo, nodeInfo: NodeInfo): MaybeStatus {
    for (const p of this.preFilterPlugins) {
      if (state.skipFilterPlugins.has(p.name)) continue;
      const ext = p.preFilterExtensions?.();
      if (!ext) continue;
      const s = ext.addPod(state, podToSchedule, podInfoToAdd, nodeInfo);
      if (!isSuccess(s)) return { ...s!, plugin: p.name };
    }
    return null;
  }

  runPreFilterExtensionRemovePod(state: CycleState, podToSchedule: Pod, podInfoToRemove: PodInfo, nodeInfo: NodeInfo): MaybeStatus {
    for (const p of this.preFilterPlugins) {
      if (state.skipFilterPlugins.has(p.name)) continue;
      const ext = p.preFilterExtensions?.();
      if (!ext) continue;
      const s = ext.removePod(state, podToSchedule, podInfoToRemove, nodeInfo);
      if (!isSuccess(s)) return { ...s!, plugin: p.name };
    }
    return null;
  }

  /** PostFilter (preemption): the first plugin that finds a way wins. */
  async runPostFilterPlugins(state: CycleState, pod: Pod, filtered: NodeToStatus): Promise<{ result?: PostFilterResult; status: MaybeStatus }> {
    const reasons: string[] = [];
    let code = Code.Unschedulable;
    for (const p of this.postFilterPlugins) {
      let r: { result?: PostFilterResult; status: MaybeStatus };
      try {
        r = await p.postFilter(state, pod, filtered);
      } catch (e) {
        return { status: { ...errorStatus(e), plugin: p.name } };
      }
      if (isSuccess(r.status)) return r;
      if (r.status!.code === Code.Error) return { status: { ...r.status!, plugin: p.name } };
      if (r.status!.code === Code.UnschedulableAndUnresolvable) code = r.status!.code;
      reasons.push(...r.status!.reasons);
    }
    return { status: { code, reasons } };
  }

  runPreScorePlugins(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): MaybeStatus {
    for (const p of this.preScorePlugins) {
      let s: MaybeStatus;
      try {
        s = p.preScore(state, pod, nodes);
      } catch (e) {
        s = errorStatus(e);
      }
      if (s?.code === Code.Skip) {
        state.skipScorePlugins.add(p.name);
        continue;
      }
      if (!isSuccess(s)) return { ...s!, plugin: p.name };
    }
    return null;
  }

  /** Each node's weighted total over the score plugins (normalized to 0..100 per plugin first). */
  runScorePlugins(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): NodeScore[] {
    const totals: NodeScore[] = nodes.map((n) => ({ name: n.name, score: 0 }));
    // One scratch list of per-plugin scores, refilled for each plugin (normalizeScore edits it in place).
    const scores: NodeScore[] = nodes.map((n) => ({ name: n.name, score: 0 }));
    for (const { plugin, weight } of this.scorePlugins) {
      if (state.skipScorePlugins.has(plugin.name)) continue;
      for (let i = 0; i < nodes.length; i++) {
        const s = scores[i]!;
        s.name = nodes[i]!.name;
        s.score = plugin.score(state, pod, nodes[i]!);
      }
      if (plugin.normalizeScore) {
        const s = plugin.normalizeScore(state, pod, scores);
        if (!isSuccess(s)) throw new Error(`plugin ${plugin.name} failed to normalize scores: ${s!.reasons.join(", ")}`);
      }
      for (let i = 0; i < scores.length; i++) {
        const v = scores[i]!.score;
        if (v > MAX_NODE_SCORE || v < 0 || !Number.isFinite(v)) {
          throw new Error(`plugin ${plugin.name} returned an invalid score ${v} for node ${scores[i]!.name}; scores must be in [0, ${MAX_NODE_SCORE}]`);
        }
        totals[i]!.score += v * weight;
      }
    }
    return totals;
  }

  runReservePluginsReserve(state: CycleState, pod: Pod, nodeName: string): MaybeStatus {
    for (const p of this.reservePlugins) {
      let s: MaybeStatus;
      try {
        s = p.reserve(state, pod, nodeName);
      } catch (e) {
        s = errorStatus(e);
      }
      if (!isSuccess(s)) return { ...s!, plugin: p.name };
    }
    return null;
  }

  runReservePluginsUnreserve(state: CycleState, pod: Pod, nodeName: string): void {
    for (const p of [...this.reservePlugins].reverse()) {
      try {
        p.unreserve(state, pod, nodeName);
      } catch {
        // Unreserve must not fail the cleanup of the others.
      }
    }
  }

  /** Success, a rejection, or Wait with the longest requested timeout. */
  runPermitPlugins(state: CycleState, pod: Pod, nodeName: string): { status: MaybeStatus; waitMs: number; waitingOn: string[] } {
    let waitMs = 0;
    const waitingOn: string[] = [];
    for (const p of this.permitPlugins) {
      const r = p.permit(state, pod, nodeName);
      if (r.status?.code === Code.Wait) {
        waitMs = Math.max(waitMs, r.timeoutMs ?? 0);
        waitingOn.push(p.name);
        continue;
      }
      if (!isSuccess(r.status)) return { status: { ...r.status!, plugin: p.name }, waitMs: 0, waitingOn: [] };
    }
    return { status: waitingOn.length ? { code: Code.Wait, reasons: [] } : null, waitMs, waitingOn };
  }

  async runPreBindPlugins(state: CycleState, pod: Pod, nodeName: string): Promise<MaybeStatus> {
    for (const p of this.preBindPlugins) {
      let s: MaybeStatus;
      try {
        s = await p.preBind(state, pod, nodeName);
      } catch (e) {
        s = errorStatus(e);
      }
      if (!isSuccess(s)) return { ...s!, plugin: p.name };
    }
    return null;
  }

  async runBindPlugins(state: CycleState, pod: Pod, nodeName: string): Promise<MaybeStatus> {
    for (const p of this.bindPlugins) {
      let s: MaybeStatus;
      try {
        s = await p.bind(state, pod, nodeName);
      } catch (e) {
        s = errorStatus(e);
      }
      if (s?.code === Code.Skip) continue;
      if (!isSuccess(s)) return { ...s!, plugin: p.name };
      return null;
    }
    return { code: Code.Error, reasons: ["no bind plugin bound the pod"] };
  }

  runPostBindPlugins(state: CycleState, pod: Pod, nodeName: string): void {
    for (const p of this.postBindPlugins) {
      try {
        p.postBind(state, pod, nodeName);
      } catch {
        // informational only
      }
    }
  }
}
