// Book 11.2.3-11.2.4: the PodTopologySpread plugin: keep a workload's pods evenly spread over zones,
// hosts or any node label (a hard maxSkew in Filter, a soft preference in Score).
import {
  type LabelSelector,
  type Node,
  type Pod,
  type Selector,
  type TopologySpreadConstraint,
  matches,
  selectorFromLabelSelector,
  selectorFromSet,
} from "@corekube/api";
import type { NodeInfo, PodInfo } from "../framework/node-info.js";
import {
  Action,
  type ClusterEventWithHint,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type MaybeStatus,
  MAX_NODE_SCORE,
  type NodeScore,
  type PluginFactory,
  type PreFilterExtensions,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type QueueingHint,
  type ScorePlugin,
  errorStatus,
  skipStatus,
  unresolvable,
  unschedulable,
} from "../framework/types.js";
import { podMatchesNodeSelectorAndAffinity } from "./helpers/node-selector.js";
import { findUntoleratedTaint } from "./helpers/taints.js";

export const POD_TOPOLOGY_SPREAD = "PodTopologySpread";

export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const ERR_REASON_NODE_LABEL_NOT_MATCH = `${ERR_REASON_CONSTRAINTS_NOT_MATCH} (missing required label)`;

const PRE_FILTER_KEY = `PreFilter${POD_TOPOLOGY_SPREAD}`;
const PRE_SCORE_KEY = `PreScore${POD_TOPOLOGY_SPREAD}`;
const HOSTNAME_LABEL = "kubernetes.io/hostname";
/** Taint effects that keep a pod off a node (NoSchedule, NoExecute); PreferNoSchedule does not. */
const HARD_TAINT_EFFECTS: ReadonlySet<string> = new Set(["NoSchedule", "NoExecute"]);

type SpreadAction = TopologySpreadConstraint["whenUnsatisfiable"];

/**
 * Plugin args. corekube supports only `defaultingType: List`: the upstream "System" defaults build
 * each pod's selector from the Services, ReplicaSets and StatefulSets that select it, and this
 * scheduler has no listers for those. For the same reason a List default constraint selects the
 * pods that carry all of the incoming pod's labels (a pod without labels gets no default constraints).
 */
export interface PodTopologySpreadArgs {
  defaultConstraints?: TopologySpreadConstraint[];
  defaultingType?: "List" | "System";
}

/** A constraint with its selector parsed and its optional fields defaulted. */
export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  selector: Selector;
  minDomains: number;
  nodeAffinityPolicy: "Honor" | "Ignore";
  nodeTaintsPolicy: "Honor" | "Ignore";
}

// ---- args ----

const WHEN_UNSATISFIABLE = new Set(["DoNotSchedule", "ScheduleAnyway"]);
const POLICIES = new Set(["Honor", "Ignore"]);

/** Throws an Error naming every problem in the args, as the scheduler's config validation does. */
export function validatePodTopologySpreadArgs(args: PodTopologySpreadArgs): void {
  const errs: string[] = [];
  const type = args.defaultingType ?? "List";
  if (type !== "List" && type !== "System") {
    errs.push(`defaultingType: Unsupported value: ${JSON.stringify(type)}: supported values: "List", "System"`);
  } else if (type === "System") {
    errs.push(
      'defaultingType: Unsupported value: "System": corekube has no Service/ReplicaSet/StatefulSet listers to build the per-pod selector; use "List"',
    );
  }
  const seen = new Set<string>();
  (args.defaultConstraints ?? []).forEach((c, i) => {
    const path = `defaultConstraints[${i}]`;
    if (!Number.isInteger(c.maxSkew) || c.maxSkew <= 0) errs.push(`${path}.maxSkew: Invalid value: ${c.maxSkew}: must be greater than zero`);
    if (!c.topologyKey) errs.push(`${path}.topologyKey: Required value: can not be empty`);
    if (!WHEN_UNSATISFIABLE.has(c.whenUnsatisfiable)) {
      errs.push(`${path}.whenUnsatisfiable: Unsupported value: ${JSON.stringify(c.whenUnsatisfiable)}: supported values: "DoNotSchedule", "ScheduleAnyway"`);
    }
    if (c.labelSelector !== undefined) {
      errs.push(`${path}.labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod`);
    }
    if (c.minDomains !== undefined) {
      if (!Number.isInteger(c.minDomains) || c.minDomains <= 0) errs.push(`${path}.minDomains: Invalid value: ${c.minDomains}: must be greater than zero`);
      else if (c.whenUnsatisfiable !== "DoNotSchedule") errs.push(`${path}.minDomains: Invalid value: ${c.minDomains}: can only use minDomains if whenUnsatisfiable=DoNotSchedule`);
    }
    if (c.nodeAffinityPolicy !== undefined && !POLICIES.has(c.nodeAffinityPolicy)) errs.push(`${path}.nodeAffinityPolicy: Unsupported value: ${JSON.stringify(c.nodeAffinityPolicy)}`);
    if (c.nodeTaintsPolicy !== undefined && !POLICIES.has(c.nodeTaintsPolicy)) errs.push(`${path}.nodeTaintsPolicy: Unsupported value: ${JSON.stringify(c.nodeTaintsPolicy)}`);
    const pair = `${c.topologyKey}/${c.whenUnsatisfiable}`;
    if (seen.has(pair)) errs.push(`${path}: Duplicate value: {${JSON.stringify(c.topologyKey)}, ${JSON.stringify(c.whenUnsatisfiable)}}`);
    seen.add(pair);
  });
  if (errs.length > 0) throw new Error(`invalid ${POD_TOPOLOGY_SPREAD} args: ${errs.join("; ")}`);
}

// ---- constraints ----

/** The constraint's selector with matchLabelKeys turned into "key in (this pod's value)". */
function constraintSelector(c: TopologySpreadConstraint, podLabels: Record<string, string>): Selector {
  let ls: LabelSelector | undefined = c.labelSelector;
  const extra: NonNullable<LabelSelector["matchExpressions"]> = [];
  for (const k of c.matchLabelKeys ?? []) if (podLabels[k] !== undefined) extra.push({ key: k, operator: "In", values: [podLabels[k]!] });
  if (extra.length > 0 && ls) ls = { ...ls, matchExpressions: [...(ls.matchExpressions ?? []), ...extra] };
  return selectorFromLabelSelector(ls ?? null);
}

function toSpreadConstraint(c: TopologySpreadConstraint, selector: Selector): SpreadConstraint {
  return {
    maxSkew: c.maxSkew,
    topologyKey: c.topologyKey,
    selector,
    minDomains: c.minDomains ?? 1,
    nodeAffinityPolicy: c.nodeAffinityPolicy ?? "Honor",
    nodeTaintsPolicy: c.nodeTaintsPolicy ?? "Ignore",
  };
}

/**
 * The pod's constraints for one action (DoNotSchedule for Filter, ScheduleAnyway for Score). A pod
 * with constraints of its own never gets the defaults, even if none of its own has this action.
 * Throws on an invalid label selector.
 */
export function podSpreadConstraints(pod: Pod, action: SpreadAction, defaults: readonly TopologySpreadConstraint[]): SpreadConstraint[] {
  const labels = pod.metadata.labels ?? {};
  const own = pod.spec.topologySpreadConstraints ?? [];
  if (own.length > 0) return own.filter((c) => c.whenUnsatisfiable === action).map((c) => toSpreadConstraint(c, constraintSelector(c, labels)));
  if (defaults.length === 0 || Object.keys(labels).length === 0) return [];
  const selector = selectorFromSet(labels);
  return defaults.filter((c) => c.whenUnsatisfiable === action).map((c) => toSpreadConstraint(c, selector));
}

function nodeHasAllKeys(node: Node, constraints: readonly SpreadConstraint[]): boolean {
  const labels = node.metadata.labels ?? {};
  for (const c of constraints) if (!Object.hasOwn(labels, c.topologyKey)) return false;
  return true;
}

/** Per node, whether it passes the pod's node selector/affinity and taints; computed at most once each. */
class NodeInclusion {
  private affinity: boolean | undefined;
  private taints: boolean | undefined;
  constructor(
    private readonly pod: Pod,
    private readonly node: Node,
  ) {}
  includes(c: SpreadConstraint): boolean {
    if (c.nodeAffinityPolicy === "Honor") {
      this.affinity ??= podMatchesNodeSelectorAndAffinity(this.pod, this.node);
      if (!this.affinity) return false;
    }
    if (c.nodeTaintsPolicy === "Honor") {
      this.taints ??= findUntoleratedTaint(this.node.spec?.taints, this.pod.spec.tolerations, HARD_TAINT_EFFECTS) === undefined;
      if (!this.taints) return false;
    }
    return true;
  }
}

/** Pods on the node in `namespace` that the selector picks; terminating pods do not count. */
function countMatching(pods: readonly PodInfo[], selector: Selector, namespace: string): number {
  let n = 0;
  for (const pi of pods) {
    const p = pi.pod;
    if (p.metadata.deletionTimestamp || (p.metadata.namespace ?? "default") !== namespace) continue;
    if (matches(selector, p.metadata.labels)) n++;
  }
  return n;
}

// ---- PreFilter / Filter state ----

/** Matching pods per domain, one map per DoNotSchedule constraint; the global minimum is cached. */
export class SpreadFilterState {
  private mins: (number | undefined)[];
  constructor(
    readonly constraints: readonly SpreadConstraint[],
    readonly domainCounts: Map<string, number>[],
  ) {
    this.mins = constraints.map(() => undefined);
  }

  clone(): SpreadFilterState {
    return new SpreadFilterState(
      this.constraints,
      this.domainCounts.map((m) => new Map(m)),
    );
  }

  /** The smallest count over the eligible domains, or 0 when there are fewer domains than minDomains. */
  minMatch(i: number): number {
    const counts = this.domainCounts[i]!;
    if (counts.size < this.constraints[i]!.minDomains) return 0;
    let min = this.mins[i];
    if (min === undefined) {
      min = Number.MAX_SAFE_INTEGER;
      for (const v of counts.values()) if (v < min) min = v;
      this.mins[i] = min;
    }
    return min;
  }

  add(i: number, domain: string, delta: number): void {
    const counts = this.domainCounts[i]!;
    counts.set(domain, (counts.get(domain) ?? 0) + delta);
    this.mins[i] = undefined;
  }
}

/** Counts matching pods per domain over the nodes eligible for each constraint. */
export function computeSpreadFilterState(pod: Pod, constraints: readonly SpreadConstraint[], nodes: readonly NodeInfo[]): SpreadFilterState {
  const counts = constraints.map(() => new Map<string, number>());
  const ns = pod.metadata.namespace ?? "default";
  for (const ni of nodes) {
    const node = ni.node;
    if (!node || !nodeHasAllKeys(node, constraints)) continue;
    const inclusion = new NodeInclusion(pod, node);
    const labels = node.metadata.labels!;
    for (let i = 0; i < constraints.length; i++) {
      const c = constraints[i]!;
      if (!inclusion.includes(c)) continue;
      const domain = labels[c.topologyKey]!;
      const m = counts[i]!;
      m.set(domain, (m.get(domain) ?? 0) + countMatching(ni.pods, c.selector, ns));
    }
  }
  return new SpreadFilterState(constraints, counts);
}

// ---- PreScore / Score state ----

class SpreadScoreState {
  constructor(
    readonly constraints: readonly SpreadConstraint[],
    /** Filtered nodes that lack one of the topology keys: they score 0. */
    readonly ignoredNodes: Set<string>,
    /** Matching pods per domain (not filled for the hostname key, which Score counts per node). */
    readonly domainCounts: Map<string, number>[],
    /** log(domains + 2): a constraint over few domains weighs less than one over many. */
    readonly weights: number[],
  ) {}
  /** Read-only during Score, so a clone can share it. */
  clone(): SpreadScoreState {
    return this;
  }
}

function scoreForCount(count: number, maxSkew: number, weight: number): number {
  return count * weight + (maxSkew - 1);
}

// ---- the plugin ----

export class PodTopologySpread implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions {
  readonly name = POD_TOPOLOGY_SPREAD;
  private readonly defaults: readonly TopologySpreadConstraint[];

  constructor(
    args: PodTopologySpreadArgs,
    private readonly allNodes: () => readonly NodeInfo[],
  ) {
    validatePodTopologySpreadArgs(args);
    this.defaults = args.defaultConstraints ?? [];
  }

  preFilter(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): { result?: PreFilterResult; status: MaybeStatus } {
    let constraints: SpreadConstraint[];
    try {
      constraints = podSpreadConstraints(pod, "DoNotSchedule", this.defaults);
    } catch (err) {
      return { status: errorStatus(err) };
    }
    if (constraints.length === 0) return { status: skipStatus() };
    state.write(PRE_FILTER_KEY, computeSpreadFilterState(pod, constraints, nodes));
    return { status: null };
  }

  preFilterExtensions(): PreFilterExtensions {
    return {
      addPod: (state, podToSchedule, podInfo, nodeInfo) => this.updateWithPod(state, podToSchedule, podInfo, nodeInfo, 1),
      removePod: (state, podToSchedule, podInfo, nodeInfo) => this.updateWithPod(state, podToSchedule, podInfo, nodeInfo, -1),
    };
  }

  private updateWithPod(state: CycleState, preemptor: Pod, pi: PodInfo, nodeInfo: NodeInfo, delta: number): MaybeStatus {
    const s = state.read<SpreadFilterState>(PRE_FILTER_KEY);
    if (!s) return errorStatus(new Error(`reading "${PRE_FILTER_KEY}" from cycleState: not found`));
    const node = nodeInfo.node;
    const p = pi.pod;
    if (!node || p.metadata.deletionTimestamp) return null;
    if ((p.metadata.namespace ?? "default") !== (preemptor.metadata.namespace ?? "default")) return null;
    if (!nodeHasAllKeys(node, s.constraints)) return null;
    const inclusion = new NodeInclusion(preemptor, node);
    s.constraints.forEach((c, i) => {
      if (!matches(c.selector, p.metadata.labels) || !inclusion.includes(c)) return;
      s.add(i, node.metadata.labels![c.topologyKey]!, delta);
    });
    return null;
  }

  filter(state: CycleState, pod: Pod, nodeInfo: NodeInfo): MaybeStatus {
    const s = state.read<SpreadFilterState>(PRE_FILTER_KEY);
    if (!s) return errorStatus(new Error(`reading "${PRE_FILTER_KEY}" from cycleState: not found`));
    const labels = nodeInfo.node?.metadata.labels ?? {};
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i]!;
      if (!Object.hasOwn(labels, c.topologyKey)) return unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH);
      const self = matches(c.selector, pod.metadata.labels) ? 1 : 0;
      const skew = (s.domainCounts[i]!.get(labels[c.topologyKey]!) ?? 0) + self - s.minMatch(i);
      if (skew > c.maxSkew) return unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH);
    }
    return null;
  }

  preScore(state: CycleState, pod: Pod, filteredNodes: readonly NodeInfo[]): MaybeStatus {
    const allNodes = this.allNodes();
    if (allNodes.length === 0) return skipStatus();
    let constraints: SpreadConstraint[];
    try {
      constraints = podSpreadConstraints(pod, "ScheduleAnyway", this.defaults);
    } catch (err) {
      return errorStatus(err);
    }
    if (constraints.length === 0) return skipStatus();

    const ignored = new Set<string>();
    const counts = constraints.map(() => new Map<string, number>());
    for (const ni of filteredNodes) {
      const node = ni.node;
      if (!node) continue;
      if (!nodeHasAllKeys(node, constraints)) {
        ignored.add(ni.name);
        continue;
      }
      constraints.forEach((c, i) => {
        if (c.topologyKey !== HOSTNAME_LABEL) counts[i]!.set(node.metadata.labels![c.topologyKey]!, 0);
      });
    }
    const weights = constraints.map((c, i) =>
      Math.log((c.topologyKey === HOSTNAME_LABEL ? filteredNodes.length - ignored.size : counts[i]!.size) + 2),
    );

    // Count matching pods in every domain that holds a candidate node, over all nodes of the cluster.
    const ns = pod.metadata.namespace ?? "default";
    for (const ni of allNodes) {
      const node = ni.node;
      if (!node || !nodeHasAllKeys(node, constraints)) continue;
      const inclusion = new NodeInclusion(pod, node);
      constraints.forEach((c, i) => {
        if (c.topologyKey === HOSTNAME_LABEL || !inclusion.includes(c)) return;
        const domain = node.metadata.labels![c.topologyKey]!;
        const m = counts[i]!;
        const cur = m.get(domain);
        if (cur === undefined) return;
        m.set(domain, cur + countMatching(ni.pods, c.selector, ns));
      });
    }
    state.write(PRE_SCORE_KEY, new SpreadScoreState(constraints, ignored, counts, weights));
    return null;
  }

  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): number {
    const s = state.read<SpreadScoreState>(PRE_SCORE_KEY);
    if (!s) throw new Error(`reading "${PRE_SCORE_KEY}" from cycleState: not found`);
    if (s.ignoredNodes.has(nodeInfo.name)) return 0;
    const labels = nodeInfo.node?.metadata.labels ?? {};
    const ns = pod.metadata.namespace ?? "default";
    let score = 0;
    s.constraints.forEach((c, i) => {
      if (!Object.hasOwn(labels, c.topologyKey)) return;
      const count =
        c.topologyKey === HOSTNAME_LABEL ? countMatching(nodeInfo.pods, c.selector, ns) : (s.domainCounts[i]!.get(labels[c.topologyKey]!) ?? 0);
      score += scoreForCount(count, c.maxSkew, s.weights[i]!);
    });
    return Math.round(score);
  }

  /** Fewer matching pods is better: the node with the fewest gets 100; ignored nodes get 0. */
  normalizeScore(state: CycleState, _pod: Pod, scores: NodeScore[]): MaybeStatus {
    const s = state.read<SpreadScoreState>(PRE_SCORE_KEY);
    if (!s) return null;
    let min = Number.MAX_SAFE_INTEGER;
    let max = 0;
    for (const sc of scores) {
      if (s.ignoredNodes.has(sc.name)) continue;
      if (sc.score < min) min = sc.score;
      if (sc.score > max) max = sc.score;
    }
    for (const sc of scores) {
      if (s.ignoredNodes.has(sc.name)) sc.score = 0;
      else if (max === 0) sc.score = MAX_NODE_SCORE;
      else sc.score = Math.trunc((MAX_NODE_SCORE * (max + min - sc.score)) / max);
    }
    return null;
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      // A pod that matches a selector arriving, leaving or relabelled changes the domain counts.
      { event: { resource: "AssignedPod", action: Action.Add | Action.Delete | Action.UpdatePodLabel }, hint: (pod, o, n) => this.podChangeHint(pod, o, n) },
      // A node can bring a new domain, change its topology labels, or (with nodeTaintsPolicy Honor) its taints.
      {
        event: { resource: "Node", action: Action.Add | Action.Delete | Action.UpdateNodeLabel | Action.UpdateNodeTaint },
        hint: (pod, o, n) => this.nodeChangeHint(pod, o, n),
      },
    ];
  }

  private allConstraints(pod: Pod): SpreadConstraint[] | undefined {
    try {
      return [...podSpreadConstraints(pod, "DoNotSchedule", this.defaults), ...podSpreadConstraints(pod, "ScheduleAnyway", this.defaults)];
    } catch {
      return undefined;
    }
  }

  private podChangeHint(pod: Pod, oldObj: unknown, newObj: unknown): QueueingHint {
    const constraints = this.allConstraints(pod);
    if (constraints === undefined) return "Queue";
    const ns = pod.metadata.namespace ?? "default";
    const relevant = (o: unknown): boolean => {
      const p = o as Pod | undefined;
      if (!p?.metadata || (p.metadata.namespace ?? "default") !== ns) return false;
      return constraints.some((c) => matches(c.selector, p.metadata.labels));
    };
    return relevant(oldObj) || relevant(newObj) ? "Queue" : "Skip";
  }

  private nodeChangeHint(pod: Pod, oldObj: unknown, newObj: unknown): QueueingHint {
    const constraints = this.allConstraints(pod);
    if (constraints === undefined) return "Queue";
    const oldNode = oldObj as Node | undefined;
    const newNode = newObj as Node | undefined;
    if (!oldNode || !newNode) {
      const n = oldNode ?? newNode;
      return n && nodeHasAllKeys(n, constraints) ? "Queue" : "Skip";
    }
    const oldLabels = oldNode.metadata.labels ?? {};
    const newLabels = newNode.metadata.labels ?? {};
    if (constraints.some((c) => oldLabels[c.topologyKey] !== newLabels[c.topologyKey])) return "Queue";
    const taintsMatter = constraints.some((c) => c.nodeTaintsPolicy === "Honor");
    if (taintsMatter && JSON.stringify(oldNode.spec?.taints ?? []) !== JSON.stringify(newNode.spec?.taints ?? [])) return "Queue";
    return "Skip";
  }
}

export const newPodTopologySpread: PluginFactory = (args, handle) =>
  new PodTopologySpread((args ?? {}) as PodTopologySpreadArgs, () => handle.snapshot().nodeInfoList);
