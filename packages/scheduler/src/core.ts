// Book 11.2.3-11.2.4: one scheduling decision, as pure code: filter the nodes (stopping once enough
// feasible ones are found, rotating where the search starts), score the feasible ones, pick the best;
// or explain why none fits ("0/3 nodes are available: 3 Insufficient cpu.").
import type { Pod } from "@corekube/api";
import type { Framework } from "./framework/runtime.js";
import type { NodeInfo, Snapshot } from "./framework/node-info.js";
import { Code, type CycleState, type NodeScore, type NodeToStatus, unresolvable } from "./framework/types.js";

export const MIN_FEASIBLE_NODES_TO_FIND = 100;
export const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

/**
 * How many feasible nodes to look for before scoring: all of them on small clusters; on large ones
 * a percentage (adaptive when unset: 50% minus 1% per 125 nodes, at least 5%), never under 100.
 */
export function numFeasibleNodesToFind(percentageOfNodesToScore: number | undefined, numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let pct = percentageOfNodesToScore ?? 0;
  if (pct <= 0) {
    pct = 50 - Math.floor(numAllNodes / 125);
    if (pct < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) pct = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  if (pct >= 100) return numAllNodes;
  const n = Math.floor((numAllNodes * pct) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

/** Why a pod fits nowhere: each node's status, the plugins that said no, and messages for the event. */
export interface Diagnosis {
  nodeToStatus: NodeToStatus;
  unschedulablePlugins: Set<string>;
  preFilterMsg: string;
  postFilterMsg: string;
}

export const NO_NODES_AVAILABLE = "no nodes available to schedule pods";

export class FitError extends Error {
  override name = "FitError";
  constructor(
    readonly pod: Pod,
    readonly numAllNodes: number,
    readonly diagnosis: Diagnosis,
  ) {
    super();
    this.message = this.fitMessage();
  }

  /** Upstream's message: "0/N nodes are available: <prefilter msg>. <count reason, ...>. <postfilter msg>." */
  fitMessage(): string {
    if (this.numAllNodes === 0) return NO_NODES_AVAILABLE;
    let msg = `0/${this.numAllNodes} nodes are available:`;
    if (this.diagnosis.preFilterMsg) msg += ` ${this.diagnosis.preFilterMsg}.`;
    const histogram = new Map<string, number>();
    for (const s of this.diagnosis.nodeToStatus.values()) for (const r of s.reasons) histogram.set(r, (histogram.get(r) ?? 0) + 1);
    if (histogram.size > 0) {
      const parts = [...histogram].map(([r, n]) => `${n} ${r}`).sort();
      msg += ` ${parts.join(", ")}.`;
    }
    if (this.diagnosis.postFilterMsg) msg += ` ${this.diagnosis.postFilterMsg}`;
    return msg;
  }
}

export interface ScheduleResult {
  suggestedHost: string;
  evaluatedNodes: number;
  feasibleNodes: number;
}

/** The scheduler's search state: where the next filter pass starts (it rotates across cycles). */
export class NodeSearch {
  nextStartNodeIndex = 0;
  /** Nodes the last search filtered out (not counting nodes a PreFilter result excluded). */
  lastRejected = 0;
}

export function newDiagnosis(): Diagnosis {
  return { nodeToStatus: new Map(), unschedulablePlugins: new Set(), preFilterMsg: "", postFilterMsg: "" };
}

/** Runs PreFilter and Filter; returns the feasible nodes or throws FitError / an Error. */
export function findNodesThatFitPod(
  fwk: Framework,
  state: CycleState,
  pod: Pod,
  snapshot: Snapshot,
  search: NodeSearch,
  diagnosis: Diagnosis,
): NodeInfo[] {
  const all = snapshot.nodeInfoList;
  const pre = fwk.runPreFilterPlugins(state, pod, all);
  if (pre.status !== null && pre.status.code !== Code.Success) {
    if (pre.status.code === Code.Error) throw pre.status.error ?? new Error(pre.status.reasons.join(", "));
    diagnosis.preFilterMsg = pre.status.reasons.join(", ");
    if (pre.status.plugin) diagnosis.unschedulablePlugins.add(pre.status.plugin);
    return [];
  }
  let nodes: readonly NodeInfo[] = all;
  if (pre.result?.nodeNames) {
    const names = pre.result.nodeNames;
    nodes = all.filter((n) => names.has(n.name));
    // The nodes left out still count in the message, as upstream: they cannot be made to fit.
    const why = unresolvable(`node(s) didn't satisfy plugin(s) [${(pre.result.narrowedBy ?? []).join(" ")}]`);
    for (const n of all) if (!names.has(n.name)) diagnosis.nodeToStatus.set(n.name, why);
    for (const p of pre.result.narrowedBy ?? []) diagnosis.unschedulablePlugins.add(p);
  }
  // A pod that preempted others was nominated a node: try that one first.
  const nominated = pod.status?.nominatedNodeName;
  if (nominated) {
    const ni = snapshot.get(nominated);
    if (ni && ni.node && (!pre.result?.nodeNames || pre.result.nodeNames.has(nominated))) {
      const s = fwk.runFilterPluginsWithNominatedPods(state, pod, ni);
      if (s === null || s.code === Code.Success) return [ni];
    }
  }
  search.lastRejected = 0;
  const n = nodes.length;
  if (n === 0) return [];
  const want = numFeasibleNodesToFind(fwk.percentageOfNodesToScore, n);
  const feasible: NodeInfo[] = [];
  const start = search.nextStartNodeIndex % n;
  let processed = 0;
  for (let i = 0; i < n; i++) {
    const ni = nodes[(start + i) % n]!;
    processed++;
    const s = fwk.runFilterPluginsWithNominatedPods(state, pod, ni);
    if (s === null || s.code === Code.Success) {
      feasible.push(ni);
      if (feasible.length >= want) break;
      continue;
    }
    if (s.code === Code.Error) throw s.error ?? new Error(s.reasons.join(", "));
    diagnosis.nodeToStatus.set(ni.name, s);
    search.lastRejected++;
    if (s.plugin) diagnosis.unschedulablePlugins.add(s.plugin);
  }
  search.nextStartNodeIndex = (start + processed) % n;
  return feasible;
}

/** Weighted total scores for the feasible nodes (all 1 when the profile has no score plugins). */
export function prioritizeNodes(fwk: Framework, state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): NodeScore[] {
  if (fwk.scorePlugins.length === 0) return nodes.map((n) => ({ name: n.name, score: 1 }));
  const s = fwk.runPreScorePlugins(state, pod, nodes);
  if (s !== null && s.code !== Code.Success) throw s.error ?? new Error(`${s.plugin}: ${s.reasons.join(", ")}`);
  return fwk.runScorePlugins(state, pod, nodes);
}

/** The highest score; ties broken uniformly at random (reservoir sampling), as upstream. */
export function selectHost(scores: readonly NodeScore[], random: () => number = Math.random): string {
  if (scores.length === 0) throw new Error("empty priority list");
  let best = scores[0]!;
  let ties = 1;
  for (let i = 1; i < scores.length; i++) {
    const s = scores[i]!;
    if (s.score > best.score) {
      best = s;
      ties = 1;
    } else if (s.score === best.score) {
      ties++;
      if (random() * ties < 1) best = s;
    }
  }
  return best.name;
}

/** One scheduling decision for `pod` against `snapshot`; throws FitError when nothing fits. */
export function schedulePod(fwk: Framework, state: CycleState, pod: Pod, snapshot: Snapshot, search: NodeSearch): ScheduleResult {
  const numAll = snapshot.nodeInfoList.length;
  const diagnosis = newDiagnosis();
  if (numAll === 0) throw new FitError(pod, 0, diagnosis);
  const feasible = findNodesThatFitPod(fwk, state, pod, snapshot, search, diagnosis);
  if (feasible.length === 0) throw new FitError(pod, numAll, diagnosis);
  const evaluatedNodes = feasible.length + search.lastRejected;
  if (feasible.length === 1) return { suggestedHost: feasible[0]!.name, evaluatedNodes, feasibleNodes: 1 };
  const scores = prioritizeNodes(fwk, state, pod, feasible);
  return { suggestedHost: selectHost(scores), evaluatedNodes, feasibleNodes: feasible.length };
}

/** Only Unschedulable nodes (not UnschedulableAndUnresolvable ones) may become feasible by preempting. */
export function preemptionMightHelp(diagnosis: Diagnosis): boolean {
  for (const s of diagnosis.nodeToStatus.values()) if (s.code === Code.Unschedulable) return true;
  return false;
}
