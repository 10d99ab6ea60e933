// Book 11.2.3: the DefaultPreemption PostFilter plugin: when no node fits, find the node where evicting
// the fewest and least important lower-priority pods makes room, evict them and nominate that node.
import { type Pod, type PodDisruptionBudget, isEverything, matches, selectorFromLabelSelector } from "@corekube/api";
import type { NodeInfo, PodInfo, Snapshot } from "../framework/node-info.js";
import {
  Code,
  type ClusterEventWithHint,
  type CycleState,
  type EnqueueExtensions,
  type Handle,
  type MaybeStatus,
  type NodeToStatus,
  type PluginFactory,
  type PostFilterPlugin,
  type PostFilterResult,
  type Status,
  errorStatus,
  isSuccess,
  unresolvable,
  unschedulable,
} from "../framework/types.js";

export const DEFAULT_PREEMPTION = "DefaultPreemption";

export const NO_VICTIMS_REASON = "No preemption victims found for incoming pod";
export const NOT_HELPFUL_REASON = "Preemption is not helpful for scheduling";
export const NOT_ELIGIBLE_NEVER = "not eligible due to preemptionPolicy=Never.";
export const NOT_ELIGIBLE_TERMINATING = "not eligible due to a terminating pod on the nominated node.";

export interface DefaultPreemptionArgs {
  /** Dry-run preemption on at least this percentage of the candidate nodes (0-100, default 10). */
  minCandidateNodesPercentage?: number;
  /** ...and on at least this many nodes (default 100). */
  minCandidateNodesAbsolute?: number;
}

export function validateDefaultPreemptionArgs(args: DefaultPreemptionArgs): void {
  const errs: string[] = [];
  const pct = args.minCandidateNodesPercentage ?? 10;
  const abs = args.minCandidateNodesAbsolute ?? 100;
  if (!Number.isInteger(pct) || pct < 0 || pct > 100) errs.push(`minCandidateNodesPercentage: Invalid value: ${pct}: not in valid range [0, 100]`);
  if (!Number.isInteger(abs) || abs < 0) errs.push(`minCandidateNodesAbsolute: Invalid value: ${abs}: not in valid range [0, inf)`);
  if (pct === 0 && abs === 0) errs.push("minCandidateNodesPercentage, minCandidateNodesAbsolute: Invalid value: both cannot be zero");
  if (errs.length > 0) throw new Error(`invalid ${DEFAULT_PREEMPTION} args: ${errs.join("; ")}`);
}

// ---- small pure helpers ----

export const podPriority = (p: Pod): number => p.spec.priority ?? 0;

/** When the pod started (ms since the epoch): status.startTime, else its creation time. */
export function podStartTime(p: Pod): number {
  const t = p.status?.startTime ?? p.metadata.creationTimestamp;
  const ms = t ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? Number.MAX_SAFE_INTEGER : ms;
}

/** Higher priority first; for equal priority, the pod that has run longer is more important. */
export function moreImportantPod(a: Pod, b: Pod): boolean {
  const pa = podPriority(a);
  const pb = podPriority(b);
  if (pa !== pb) return pa > pb;
  return podStartTime(a) < podStartTime(b);
}

const byImportance = (a: PodInfo, b: PodInfo): number => (moreImportantPod(a.pod, b.pod) ? -1 : moreImportantPod(b.pod, a.pod) ? 1 : 0);

/**
 * Splits pods (kept in order) into those whose eviction would take one of their PDBs below zero
 * allowed disruptions, counting the pods before them, and the rest.
 */
export function filterPodsWithPDBViolation(pods: readonly PodInfo[], pdbs: readonly PodDisruptionBudget[]): { violating: PodInfo[]; nonViolating: PodInfo[] } {
  const allowed = pdbs.map((p) => p.status?.disruptionsAllowed ?? 0);
  const selectors = pdbs.map((p) => {
    try {
      const s = selectorFromLabelSelector(p.spec?.selector ?? null);
      return isEverything(s) ? null : s; // an empty selector selects nothing here
    } catch {
      return null;
    }
  });
  const violating: PodInfo[] = [];
  const nonViolating: PodInfo[] = [];
  for (const pi of pods) {
    const pod = pi.pod;
    let violates = false;
    if (pod.metadata.labels && Object.keys(pod.metadata.labels).length > 0) {
      pdbs.forEach((pdb, i) => {
        const sel = selectors[i];
        if (!sel || (pdb.metadata.namespace ?? "default") !== (pod.metadata.namespace ?? "default")) return;
        if (!matches(sel, pod.metadata.labels)) return;
        // Already counted by the disruption controller: evicting it does not spend the budget again.
        if (pod.metadata.name !== undefined && Object.hasOwn(pdb.status?.disruptedPods ?? {}, pod.metadata.name)) return;
        allowed[i]!--;
        if (allowed[i]! < 0) violates = true;
      });
    }
    (violates ? violating : nonViolating).push(pi);
  }
  return { violating, nonViolating };
}

export interface SelectedVictims {
  /** Most important first. */
  victims: Pod[];
  numPDBViolations: number;
  /** null when removing `victims` lets the pod fit; else why this node cannot help. */
  status: MaybeStatus;
}

/**
 * The fewest pods to evict from `nodeInfo` so that `pod` fits. Mutates `nodeInfo` and `state`, so
 * pass copies. Removes every lower-priority pod, checks the pod fits, then gives back as many as
 * possible: PDB-protected ones first, each group from the most important down.
 */
export function selectVictimsOnNode(
  handle: Handle,
  state: CycleState,
  pod: Pod,
  nodeInfo: NodeInfo,
  pdbs: readonly PodDisruptionBudget[],
): SelectedVictims {
  const fail = (status: Status): SelectedVictims => ({ victims: [], numPDBViolations: 0, status });
  const remove = (pi: PodInfo): MaybeStatus => {
    nodeInfo.removePod(pi.pod);
    return handle.runPreFilterExtensionRemovePod(state, pod, pi, nodeInfo);
  };
  const add = (pi: PodInfo): MaybeStatus => {
    nodeInfo.addPodInfo(pi);
    return handle.runPreFilterExtensionAddPod(state, pod, pi, nodeInfo);
  };
  const prio = podPriority(pod);
  const potential = nodeInfo.pods.filter((pi) => podPriority(pi.pod) < prio);
  for (const pi of potential) {
    const s = remove(pi);
    if (!isSuccess(s)) return fail(asError(s!));
  }
  if (potential.length === 0) return fail(unresolvable(NO_VICTIMS_REASON));
  const fits = handle.runFilterPluginsWithNominatedPods(state, pod, nodeInfo);
  if (!isSuccess(fits)) return fail(fits!);

  potential.sort(byImportance);
  const { violating, nonViolating } = filterPodsWithPDBViolation(potential, pdbs);
  const victims: PodInfo[] = [];
  /** Puts the pod back; true if the preemptor still fits (the pod is spared). */
  const reprieve = (pi: PodInfo): boolean | Status => {
    const s = add(pi);
    if (!isSuccess(s)) return asError(s!);
    if (isSuccess(handle.runFilterPluginsWithNominatedPods(state, pod, nodeInfo))) return true;
    const r = remove(pi);
    if (!isSuccess(r)) return asError(r!);
    victims.push(pi);
    return false;
  };
  let numPDBViolations = 0;
  for (const pi of violating) {
    const r = reprieve(pi);
    if (typeof r !== "boolean") return fail(r);
    if (!r) numPDBViolations++;
  }
  for (const pi of nonViolating) {
    const r = reprieve(pi);
    if (typeof r !== "boolean") return fail(r);
  }
  if (violating.length > 0 && nonViolating.length > 0) victims.sort(byImportance);
  return { victims: victims.map((pi) => pi.pod), numPDBViolations, status: null };
}

function asError(s: Status): Status {
  return s.code === Code.Error ? s : { ...s, code: Code.Error };
}

export interface Victims {
  /** Most important first. */
  pods: Pod[];
  numPDBViolations: number;
}

/** The earliest start among the victims that share the highest priority. */
function earliestStartOfHighestPriority(pods: readonly Pod[]): number {
  let maxPrio = -Infinity;
  let earliest = Number.MAX_SAFE_INTEGER;
  for (const p of pods) {
    const pr = podPriority(p);
    const st = podStartTime(p);
    if (pr > maxPrio) {
      maxPrio = pr;
      earliest = st;
    } else if (pr === maxPrio && st < earliest) earliest = st;
  }
  return earliest;
}

/**
 * The best node to preempt on: fewest PDB violations, then the lowest highest-priority victim, the
 * smallest sum of priorities, the fewest victims, the latest start of the highest-priority victims,
 * then the first in the map's order. Undefined for an empty map.
 */
export function pickOneNodeForPreemption(nodesToVictims: ReadonlyMap<string, Victims>): string | undefined {
  let candidates = [...nodesToVictims.keys()];
  if (candidates.length === 0) return undefined;
  const v = (n: string) => nodesToVictims.get(n)!;
  const scoreFuncs: ((node: string) => number)[] = [
    (n) => -v(n).numPDBViolations,
    (n) => (v(n).pods.length > 0 ? -podPriority(v(n).pods[0]!) : Number.MAX_SAFE_INTEGER),
    // Offsetting each priority by 2^31 keeps every term positive, so more pods never sum smaller.
    (n) => -v(n).pods.reduce((sum, p) => sum + podPriority(p) + 2 ** 31, 0),
    (n) => -v(n).pods.length,
    (n) => earliestStartOfHighestPriority(v(n).pods),
  ];
  for (const f of scoreFuncs) {
    let best = -Infinity;
    let selected: string[] = [];
    for (const n of candidates) {
      const s = f(n);
      if (s > best) {
        best = s;
        selected = [n];
      } else if (s === best) selected.push(n);
    }
    if (selected.length === 1) return selected[0];
    candidates = selected;
  }
  return candidates[0];
}

/**
 * Whether the pod may preempt: not with preemptionPolicy Never, nor while lower-priority pods on the
 * node it was already nominated to are still terminating (unless that node is now unresolvable).
 */
export function podEligibleToPreemptOthers(pod: Pod, snapshot: Snapshot, nominatedNodeStatus: Status | undefined): { eligible: boolean; reason: string } {
  if (pod.spec.preemptionPolicy === "Never") return { eligible: false, reason: NOT_ELIGIBLE_NEVER };
  const nominated = pod.status?.nominatedNodeName;
  if (nominated) {
    if (nominatedNodeStatus?.code === Code.UnschedulableAndUnresolvable) return { eligible: true, reason: "" };
    const ni = snapshot.get(nominated);
    const prio = podPriority(pod);
    if (ni?.pods.some((pi) => podPriority(pi.pod) < prio && pi.pod.metadata.deletionTimestamp)) {
      return { eligible: false, reason: NOT_ELIGIBLE_TERMINATING };
    }
  }
  return { eligible: true, reason: "" };
}

/** "0/N nodes are available: <count> <reason>, ...." with reasons counted over nodes and sorted. */
export function preemptionFailureMessage(numAllNodes: number, statuses: ReadonlyMap<string, Status>, absentReason = NOT_HELPFUL_REASON): string {
  const counts = new Map<string, number>();
  for (const s of statuses.values()) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  if (statuses.size < numAllNodes) counts.set(absentReason, (counts.get(absentReason) ?? 0) + numAllNodes - statuses.size);
  const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort();
  return `0/${numAllNodes} nodes are available: ${parts.join(", ")}.`;
}

// ---- the plugin ----

interface Candidate {
  nodeName: string;
  victims: Victims;
}

export class DefaultPreemption implements PostFilterPlugin, EnqueueExtensions {
  readonly name = DEFAULT_PREEMPTION;
  private readonly pct: number;
  private readonly abs: number;
  /** Where the dry run starts among the candidate nodes (random, as upstream; tests may replace it). */
  randomOffset: (numNodes: number) => number = (n) => Math.floor(Math.random() * n);

  constructor(
    args: DefaultPreemptionArgs,
    private readonly handle: Handle,
  ) {
    validateDefaultPreemptionArgs(args);
    this.pct = args.minCandidateNodesPercentage ?? 10;
    this.abs = args.minCandidateNodesAbsolute ?? 100;
  }

  /** How many candidates the dry run collects before it stops: max(pct% of nodes, abs), at most all. */
  numCandidates(numNodes: number): number {
    return Math.min(numNodes, Math.max(Math.floor((numNodes * this.pct) / 100), this.abs));
  }

  async postFilter(state: CycleState, pod: Pod, filtered: NodeToStatus): Promise<{ result?: PostFilterResult; status: MaybeStatus }> {
    const snapshot = this.handle.snapshot();
    const nominated = pod.status?.nominatedNodeName;
    const { eligible, reason } = podEligibleToPreemptOthers(pod, snapshot, nominated ? filtered.get(nominated) : undefined);
    if (!eligible) return { status: unschedulable(reason) };

    const allNodes = snapshot.nodeInfoList;
    if (allNodes.length === 0) return { status: errorStatus(new Error("no nodes available")) };
    // Only nodes a Filter called Unschedulable can change by losing pods; Unresolvable ones cannot.
    const potential = allNodes.filter((ni) => filtered.get(ni.name)?.code === Code.Unschedulable);
    const { candidates, statuses, errors } =
      potential.length === 0 ? { candidates: [], statuses: new Map<string, Status>(), errors: [] } : this.dryRun(state, pod, potential);
    if (candidates.length === 0) {
      if (errors.length > 0) return { status: errorStatus(new Error(errors.join("; "))) };
      // An empty nomination tells the scheduler to clear any nomination the pod had.
      return { result: { nominatedNodeName: "" }, status: unschedulable(preemptionFailureMessage(allNodes.length, statuses)) };
    }

    const byNode = new Map(candidates.map((c) => [c.nodeName, c.victims]));
    const best = candidates.length === 1 ? candidates[0]!.nodeName : pickOneNodeForPreemption(byNode);
    if (!best) return { status: unschedulable("no candidate node for preemption") };

    const prepared = await this.prepareCandidate(best, byNode.get(best)!, pod);
    if (prepared) return { status: prepared };
    return { result: { nominatedNodeName: best }, status: null };
  }

  /** Tries nodes from a random offset until enough candidates are found (at least one without PDB violations). */
  private dryRun(state: CycleState, pod: Pod, potential: readonly NodeInfo[]): { candidates: Candidate[]; statuses: Map<string, Status>; errors: string[] } {
    const want = this.numCandidates(potential.length);
    const offset = this.randomOffset(potential.length);
    const pdbs = this.handle.podDisruptionBudgets();
    const nonViolating: Candidate[] = [];
    const violating: Candidate[] = [];
    const statuses = new Map<string, Status>();
    const errors: string[] = [];
    for (let i = 0; i < potential.length; i++) {
      const nodeInfo = potential[(offset + i) % potential.length]!.clone();
      const r = selectVictimsOnNode(this.handle, state.clone(), pod, nodeInfo, pdbs);
      if (r.status === null && r.victims.length > 0) {
        const list = r.numPDBViolations === 0 ? nonViolating : violating;
        if (list.length < want) list.push({ nodeName: nodeInfo.name, victims: { pods: r.victims, numPDBViolations: r.numPDBViolations } });
        if (nonViolating.length > 0 && nonViolating.length + violating.length >= want) break;
        continue;
      }
      const status = r.status ?? errorStatus(new Error(`expected at least one victim pod on node "${nodeInfo.name}"`));
      if (status.code === Code.Error) errors.push(status.reasons.join(", "));
      statuses.set(nodeInfo.name, status);
    }
    return { candidates: [...nonViolating, ...violating], statuses, errors };
  }

  /** Evicts the victims, then clears the nomination of lower-priority pods nominated to the node. */
  private async prepareCandidate(nodeName: string, victims: Victims, pod: Pod): Promise<MaybeStatus> {
    const client = this.handle.client;
    try {
      // A victim already terminating needs no second delete.
      await Promise.all(victims.pods.filter((v) => !v.metadata.deletionTimestamp).map((v) => client.evictVictim(v, pod, nodeName)));
    } catch (err) {
      return errorStatus(err);
    }
    const prio = podPriority(pod);
    const lower = this.handle
      .nominator()
      .nominatedPodsForNode(nodeName)
      .filter((pi) => podPriority(pi.pod) < prio);
    // They may no longer fit there; clearing the nomination sends them back to find another node.
    await Promise.all(lower.map((pi) => client.setNominatedNodeName(pi.pod, undefined).catch(() => undefined)));
    return null;
  }

  /** This plugin never keeps a pod out of the queue, so no event needs to bring one back. */
  eventsToRegister(): ClusterEventWithHint[] {
    return [];
  }
}

export const newDefaultPreemption: PluginFactory = (args, handle) => new DefaultPreemption((args ?? {}) as DefaultPreemptionArgs, handle);
