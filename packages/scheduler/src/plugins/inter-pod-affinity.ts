// Book 11.2.3-11.2.4: the InterPodAffinity plugin: place a pod near the pods it must or would like to
// sit with, away from those it must avoid, and respect the anti-affinity of pods already running.
import type { Node, Pod, PodAffinity } from "@corekube/api";
import { type AffinityTerm, type NodeInfo, PodInfo, type WeightedAffinityTerm, termMatches } from "../framework/node-info.js";
import {
  Action,
  type ClusterEventWithHint,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type Handle,
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

export const INTER_POD_AFFINITY = "InterPodAffinity";

export const ERR_REASON_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod affinity rules";
export const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod anti-affinity rules";
export const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't satisfy existing pods anti-affinity rules";

const PRE_FILTER_KEY = `PreFilter${INTER_POD_AFFINITY}`;
const PRE_SCORE_KEY = `PreScore${INTER_POD_AFFINITY}`;

export interface InterPodAffinityArgs {
  /** Score weight a node earns when an existing pod's *required* affinity term matches the incoming pod (0-100, default 1). */
  hardPodAffinityWeight?: number;
  /** Score only from the incoming pod's preferred terms, not from those of existing pods (default false). */
  ignorePreferredTermsOfExistingPods?: boolean;
}

export function validateInterPodAffinityArgs(args: InterPodAffinityArgs): void {
  const w = args.hardPodAffinityWeight;
  if (w !== undefined && (!Number.isInteger(w) || w < 0 || w > 100)) {
    throw new Error(`invalid ${INTER_POD_AFFINITY} args: hardPodAffinityWeight: Invalid value: ${w}: not in valid range [0-100]`);
  }
  const ig = args.ignorePreferredTermsOfExistingPods;
  if (ig !== undefined && typeof ig !== "boolean") {
    throw new Error(`invalid ${INTER_POD_AFFINITY} args: ignorePreferredTermsOfExistingPods: Invalid value: ${JSON.stringify(ig)}: must be a boolean`);
  }
}

// ---- counts per topology pair (topologyKey -> value -> count) ----

type TopologyCounts = Map<string, Map<string, number>>;

function bump(m: TopologyCounts, node: Node, key: string, delta: number): void {
  const labels = node.metadata.labels;
  if (!labels || !Object.hasOwn(labels, key)) return;
  const value = labels[key]!;
  let byValue = m.get(key);
  if (!byValue) m.set(key, (byValue = new Map()));
  const n = (byValue.get(value) ?? 0) + delta;
  if (n === 0) {
    byValue.delete(value);
    if (byValue.size === 0) m.delete(key);
  } else byValue.set(value, n);
}

function countAt(m: TopologyCounts, key: string, value: string): number {
  return m.get(key)?.get(value) ?? 0;
}

function cloneCounts(m: TopologyCounts): TopologyCounts {
  const c: TopologyCounts = new Map();
  for (const [k, v] of m) c.set(k, new Map(v));
  return c;
}

/**
 * Namespace labels, looked up once per namespace and only when a term has a namespaceSelector. An
 * unknown namespace counts as one without labels, so an empty namespaceSelector still selects it.
 */
type NamespaceLabels = (namespace: string) => Record<string, string>;

function cachedNamespaceLabels(handle: Handle): NamespaceLabels {
  const cache = new Map<string, Record<string, string>>();
  return (ns) => {
    let l = cache.get(ns);
    if (l === undefined) cache.set(ns, (l = handle.namespaceLabels(ns) ?? {}));
    return l;
  };
}

function nsLabelsFor(terms: readonly AffinityTerm[], pod: Pod, lookup: NamespaceLabels): Record<string, string> | undefined {
  for (const t of terms) if (t.namespaceSelector !== null) return lookup(pod.metadata.namespace ?? "default");
  return undefined;
}

/** True when `pod` matches every term (and there is at least one). */
function matchesAllTerms(terms: readonly AffinityTerm[], pod: Pod, nsLabels: Record<string, string> | undefined): boolean {
  if (terms.length === 0) return false;
  for (const t of terms) if (!termMatches(t, pod, nsLabels)) return false;
  return true;
}

/** Whether the pod's spec has pod affinity or anti-affinity terms of this kind. */
function hasTerms(pod: Pod, kind: keyof PodAffinity): boolean {
  const a = pod.spec.affinity;
  return (a?.podAffinity?.[kind]?.length ?? 0) + (a?.podAntiAffinity?.[kind]?.length ?? 0) > 0;
}

// ---- PreFilter / Filter ----

export class AffinityFilterState {
  constructor(
    readonly podInfo: PodInfo,
    /** Labels of the incoming pod's namespace (for existing pods' namespaceSelector). */
    readonly namespaceLabels: Record<string, string> | undefined,
    readonly lookupNamespace: NamespaceLabels,
    /** Pairs where an existing pod's required anti-affinity term matches the incoming pod. */
    readonly existingAntiAffinityCounts: TopologyCounts,
    /** Pairs holding pods that match all of the incoming pod's required affinity terms. */
    readonly affinityCounts: TopologyCounts,
    /** Pairs holding pods that match one of the incoming pod's required anti-affinity terms. */
    readonly antiAffinityCounts: TopologyCounts,
  ) {}

  clone(): AffinityFilterState {
    return new AffinityFilterState(
      this.podInfo,
      this.namespaceLabels,
      this.lookupNamespace,
      cloneCounts(this.existingAntiAffinityCounts),
      cloneCounts(this.affinityCounts),
      cloneCounts(this.antiAffinityCounts),
    );
  }

  /** Counts `other` (on `node`) in or out, as if it were added to or removed from the cluster. */
  updateWithPod(other: PodInfo, node: Node, delta: number): void {
    const me = this.podInfo;
    for (const t of other.requiredAntiAffinityTerms) {
      if (termMatches(t, me.pod, this.namespaceLabels)) bump(this.existingAntiAffinityCounts, node, t.topologyKey, delta);
    }
    const affinity = me.requiredAffinityTerms;
    if (affinity.length > 0 && matchesAllTerms(affinity, other.pod, nsLabelsFor(affinity, other.pod, this.lookupNamespace))) {
      for (const t of affinity) bump(this.affinityCounts, node, t.topologyKey, delta);
    }
    const anti = me.requiredAntiAffinityTerms;
    if (anti.length > 0) {
      const nsl = nsLabelsFor(anti, other.pod, this.lookupNamespace);
      for (const t of anti) if (termMatches(t, other.pod, nsl)) bump(this.antiAffinityCounts, node, t.topologyKey, delta);
    }
  }
}

function satisfiesPodAffinity(s: AffinityFilterState, labels: Record<string, string>): boolean {
  const terms = s.podInfo.requiredAffinityTerms;
  let podsExist = true;
  for (const t of terms) {
    if (!Object.hasOwn(labels, t.topologyKey)) return false;
    if (countAt(s.affinityCounts, t.topologyKey, labels[t.topologyKey]!) <= 0) podsExist = false;
  }
  if (podsExist) return true;
  // The first pod of a group that must be together: no pod anywhere matches yet, but the pod matches
  // its own terms, so it may start the group on any node that has the topology keys.
  return s.affinityCounts.size === 0 && matchesAllTerms(terms, s.podInfo.pod, s.namespaceLabels);
}

function satisfiesPodAntiAffinity(s: AffinityFilterState, labels: Record<string, string>): boolean {
  if (s.antiAffinityCounts.size === 0) return true;
  for (const t of s.podInfo.requiredAntiAffinityTerms) {
    if (Object.hasOwn(labels, t.topologyKey) && countAt(s.antiAffinityCounts, t.topologyKey, labels[t.topologyKey]!) > 0) return false;
  }
  return true;
}

function satisfiesExistingPodsAntiAffinity(s: AffinityFilterState, labels: Record<string, string>): boolean {
  for (const [key, byValue] of s.existingAntiAffinityCounts) {
    if (Object.hasOwn(labels, key) && (byValue.get(labels[key]!) ?? 0) > 0) return false;
  }
  return true;
}

// ---- PreScore / Score ----

class AffinityScoreState {
  constructor(readonly topologyScore: TopologyCounts) {}
  clone(): AffinityScoreState {
    return this;
  }
}

function addTermScore(m: TopologyCounts, term: AffinityTerm, weight: number, pod: Pod, nsLabels: Record<string, string> | undefined, node: Node): void {
  if (weight !== 0 && termMatches(term, pod, nsLabels)) bump(m, node, term.topologyKey, weight);
}

function addWeightedTerms(
  m: TopologyCounts,
  terms: readonly WeightedAffinityTerm[],
  sign: 1 | -1,
  pod: Pod,
  nsLabels: Record<string, string> | undefined,
  node: Node,
): void {
  for (const t of terms) addTermScore(m, t, sign * t.weight, pod, nsLabels, node);
}

// ---- the plugin ----

export class InterPodAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions {
  readonly name = INTER_POD_AFFINITY;
  private readonly hardPodAffinityWeight: number;
  private readonly ignorePreferredTermsOfExistingPods: boolean;

  constructor(
    args: InterPodAffinityArgs,
    private readonly handle: Handle,
  ) {
    validateInterPodAffinityArgs(args);
    this.hardPodAffinityWeight = args.hardPodAffinityWeight ?? 1;
    this.ignorePreferredTermsOfExistingPods = args.ignorePreferredTermsOfExistingPods ?? false;
  }

  preFilter(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): { result?: PreFilterResult; status: MaybeStatus } {
    const snapshot = this.handle.snapshot();
    // The common case, decided before parsing anything: no required terms and nobody to repel this pod.
    if (!hasTerms(pod, "requiredDuringSchedulingIgnoredDuringExecution") && snapshot.havePodsWithRequiredAntiAffinityList.length === 0) {
      return { status: skipStatus() };
    }
    const podInfo = new PodInfo(pod);
    const lookup = cachedNamespaceLabels(this.handle);
    const nsLabels = lookup(pod.metadata.namespace ?? "default");

    // (c) existing pods whose required anti-affinity rejects this pod: only nodes that hold such pods.
    const existing: TopologyCounts = new Map();
    for (const ni of snapshot.havePodsWithRequiredAntiAffinityList) {
      const node = ni.node;
      if (!node) continue;
      for (const ep of ni.podsWithRequiredAntiAffinity) {
        for (const t of ep.requiredAntiAffinityTerms) if (termMatches(t, pod, nsLabels)) bump(existing, node, t.topologyKey, 1);
      }
    }
    const affinity = podInfo.requiredAffinityTerms;
    const anti = podInfo.requiredAntiAffinityTerms;
    if (existing.size === 0 && affinity.length === 0 && anti.length === 0) return { status: skipStatus() };

    // (a) and (b): pods matching the incoming pod's own required terms, over every node.
    const affinityCounts: TopologyCounts = new Map();
    const antiCounts: TopologyCounts = new Map();
    if (affinity.length > 0 || anti.length > 0) {
      for (const ni of nodes) {
        const node = ni.node;
        if (!node) continue;
        for (const ep of ni.pods) {
          const p = ep.pod;
          if (affinity.length > 0 && matchesAllTerms(affinity, p, nsLabelsFor(affinity, p, lookup))) {
            for (const t of affinity) bump(affinityCounts, node, t.topologyKey, 1);
          }
          if (anti.length > 0) {
            const nsl = nsLabelsFor(anti, p, lookup);
            for (const t of anti) if (termMatches(t, p, nsl)) bump(antiCounts, node, t.topologyKey, 1);
          }
        }
      }
    }
    state.write(PRE_FILTER_KEY, new AffinityFilterState(podInfo, nsLabels, lookup, existing, affinityCounts, antiCounts));
    return { status: null };
  }

  preFilterExtensions(): PreFilterExtensions {
    const update = (state: CycleState, pi: PodInfo, nodeInfo: NodeInfo, delta: number): MaybeStatus => {
      const s = state.read<AffinityFilterState>(PRE_FILTER_KEY);
      if (!s) return errorStatus(new Error(`reading "${PRE_FILTER_KEY}" from cycleState: not found`));
      if (nodeInfo.node) s.updateWithPod(pi, nodeInfo.node, delta);
      return null;
    };
    return {
      addPod: (state, _pod, pi, nodeInfo) => update(state, pi, nodeInfo, 1),
      removePod: (state, _pod, pi, nodeInfo) => update(state, pi, nodeInfo, -1),
    };
  }

  filter(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): MaybeStatus {
    const s = state.read<AffinityFilterState>(PRE_FILTER_KEY);
    if (!s) return errorStatus(new Error(`reading "${PRE_FILTER_KEY}" from cycleState: not found`));
    const labels = nodeInfo.node?.metadata.labels ?? {};
    // Evicting pods cannot create the pods this one wants to join, so preemption will not help here.
    if (!satisfiesPodAffinity(s, labels)) return unresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH);
    if (!satisfiesPodAntiAffinity(s, labels)) return unschedulable(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
    if (!satisfiesExistingPodsAntiAffinity(s, labels)) return unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
    return null;
  }

  preScore(state: CycleState, pod: Pod, _nodes: readonly NodeInfo[]): MaybeStatus {
    const snapshot = this.handle.snapshot();
    const preferred = hasTerms(pod, "preferredDuringSchedulingIgnoredDuringExecution");
    if (!preferred && (this.ignorePreferredTermsOfExistingPods || snapshot.havePodsWithAffinityList.length === 0)) return skipStatus();
    const podInfo = state.read<AffinityFilterState>(PRE_FILTER_KEY)?.podInfo ?? new PodInfo(pod);
    // Without preferred terms of its own, only pods that have affinity terms can change the scores.
    const nodes = preferred ? snapshot.nodeInfoList : snapshot.havePodsWithAffinityList;
    const lookup = cachedNamespaceLabels(this.handle);
    const nsLabels = lookup(pod.metadata.namespace ?? "default");
    const score: TopologyCounts = new Map();
    const prefAff = podInfo.preferredAffinityTerms;
    const prefAnti = podInfo.preferredAntiAffinityTerms;
    const hard = this.hardPodAffinityWeight;

    for (const ni of nodes) {
      const node = ni.node;
      if (!node || !node.metadata.labels || Object.keys(node.metadata.labels).length === 0) continue;
      for (const ep of preferred ? ni.pods : ni.podsWithAffinity) {
        const p = ep.pod;
        if (preferred) {
          addWeightedTerms(score, prefAff, 1, p, nsLabelsFor(prefAff, p, lookup), node);
          addWeightedTerms(score, prefAnti, -1, p, nsLabelsFor(prefAnti, p, lookup), node);
        }
        if (!ep.hasAffinity) continue;
        if (hard > 0) for (const t of ep.requiredAffinityTerms) addTermScore(score, t, hard, pod, nsLabels, node);
        addWeightedTerms(score, ep.preferredAffinityTerms, 1, pod, nsLabels, node);
        addWeightedTerms(score, ep.preferredAntiAffinityTerms, -1, pod, nsLabels, node);
      }
    }
    if (score.size === 0) return skipStatus();
    state.write(PRE_SCORE_KEY, new AffinityScoreState(score));
    return null;
  }

  score(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): number {
    const s = state.read<AffinityScoreState>(PRE_SCORE_KEY);
    if (!s) throw new Error(`reading "${PRE_SCORE_KEY}" from cycleState: not found`);
    const labels = nodeInfo.node?.metadata.labels ?? {};
    let total = 0;
    for (const [key, byValue] of s.topologyScore) {
      if (Object.hasOwn(labels, key)) total += byValue.get(labels[key]!) ?? 0;
    }
    return total;
  }

  /** Stretches raw scores so the lowest becomes 0 and the highest 100 (all 0 when they are equal). */
  normalizeScore(state: CycleState, _pod: Pod, scores: NodeScore[]): MaybeStatus {
    const s = state.read<AffinityScoreState>(PRE_SCORE_KEY);
    if (!s || s.topologyScore.size === 0 || scores.length === 0) return null;
    let min = Infinity;
    let max = -Infinity;
    for (const sc of scores) {
      if (sc.score < min) min = sc.score;
      if (sc.score > max) max = sc.score;
    }
    const diff = max - min;
    for (const sc of scores) sc.score = diff > 0 ? Math.trunc((MAX_NODE_SCORE * (sc.score - min)) / diff) : 0;
    return null;
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      // A matching pod arriving can satisfy affinity; one leaving (or relabelled) can lift anti-affinity.
      { event: { resource: "AssignedPod", action: Action.Add | Action.Delete | Action.UpdatePodLabel }, hint: (pod, o, n) => this.podChangeHint(pod, o, n) },
      // A new node, or new labels on one, can bring the topology domain the pod needs.
      { event: { resource: "Node", action: Action.Add | Action.UpdateNodeLabel }, hint: (pod, o, n) => this.nodeChangeHint(pod, o, n) },
    ];
  }

  private podChangeHint(pod: Pod, oldObj: unknown, newObj: unknown): QueueingHint {
    const me = new PodInfo(pod);
    const lookup = cachedNamespaceLabels(this.handle);
    const oldPod = oldObj as Pod | undefined;
    const newPod = newObj as Pod | undefined;
    const matchesAffinity = (p: Pod | undefined) =>
      p !== undefined && matchesAllTerms(me.requiredAffinityTerms, p, nsLabelsFor(me.requiredAffinityTerms, p, lookup));
    const matchesAnti = (p: Pod | undefined) => {
      if (p === undefined) return false;
      const nsl = nsLabelsFor(me.requiredAntiAffinityTerms, p, lookup);
      return me.requiredAntiAffinityTerms.some((t) => termMatches(t, p, nsl));
    };
    if (oldPod && newPod) {
      if (!matchesAffinity(oldPod) && matchesAffinity(newPod)) return "Queue";
      if (matchesAnti(oldPod) && !matchesAnti(newPod)) return "Queue";
      return "Skip";
    }
    if (newPod) return matchesAffinity(newPod) ? "Queue" : "Skip";
    if (!oldPod) return "Queue";
    if (matchesAnti(oldPod)) return "Queue";
    // The deleted pod's own anti-affinity may have kept this pod away.
    const nsl = lookup(pod.metadata.namespace ?? "default");
    return new PodInfo(oldPod).requiredAntiAffinityTerms.some((t) => termMatches(t, pod, nsl)) ? "Queue" : "Skip";
  }

  private nodeChangeHint(pod: Pod, oldObj: unknown, newObj: unknown): QueueingHint {
    const oldNode = oldObj as Node | undefined;
    const newNode = newObj as Node | undefined;
    if (!newNode) return "Skip";
    // Any new node is a fresh place: it may hold the domain affinity needs or be free of conflicts.
    if (!oldNode) return "Queue";
    const me = new PodInfo(pod);
    const oldLabels = oldNode.metadata.labels ?? {};
    const newLabels = newNode.metadata.labels ?? {};
    const changed = (k: string) => oldLabels[k] !== newLabels[k];
    if (me.requiredAffinityTerms.some((t) => Object.hasOwn(newLabels, t.topologyKey) && changed(t.topologyKey))) return "Queue";
    if (me.requiredAntiAffinityTerms.some((t) => changed(t.topologyKey))) return "Queue";
    if (me.requiredAffinityTerms.length + me.requiredAntiAffinityTerms.length > 0) return "Skip";
    // Rejected by existing pods' anti-affinity, whose topology keys we do not know here.
    return Object.keys({ ...oldLabels, ...newLabels }).some(changed) ? "Queue" : "Skip";
  }
}

export const newInterPodAffinity: PluginFactory = (args, handle) => new InterPodAffinity((args ?? {}) as InterPodAffinityArgs, handle);
