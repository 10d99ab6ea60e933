// Book 11.2.3-11.2.4: the TaintToleration plugin: NoSchedule and NoExecute taints keep out pods that do
// not tolerate them (Filter); untolerated PreferNoSchedule taints only make a node less attractive (Score).
import type { Node, Pod, Taint, Toleration } from "@corekube/api";
import type { NodeInfo } from "../framework/node-info.js";
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
  type PreScorePlugin,
  type QueueingHint,
  type ScorePlugin,
  errorStatus,
  unresolvable,
} from "../framework/types.js";
import { defaultNormalizeScore } from "./helpers/normalize.js";
import { findUntoleratedTaint, toleratesTaint } from "./helpers/taints.js";

export const TAINT_TOLERATION = "TaintToleration";

const PRE_SCORE_KEY = `PreScore${TAINT_TOLERATION}`;

/** The taint effects that keep a pod off a node. */
const DO_NOT_SCHEDULE: ReadonlySet<string> = new Set(["NoSchedule", "NoExecute"]);

/** The Filter reason, e.g. `node(s) had untolerated taint {dedicated: gpu}`. */
export const untoleratedTaintReason = (t: Taint): string => `node(s) had untolerated taint {${t.key}: ${t.value ?? ""}}`;

/** Tolerations that can cover a PreferNoSchedule taint: that effect, or no effect (all effects). */
export const preferNoScheduleTolerations = (tolerations: readonly Toleration[] | undefined): Toleration[] =>
  (tolerations ?? []).filter((t) => !t.effect || t.effect === "PreferNoSchedule");

/** How many of the node's PreferNoSchedule taints none of `tolerations` covers. */
export function countUntoleratedPreferNoSchedule(taints: readonly Taint[] | undefined, tolerations: readonly Toleration[]): number {
  let n = 0;
  for (const taint of taints ?? []) {
    if (taint.effect === "PreferNoSchedule" && !toleratesTaint(tolerations, taint)) n++;
  }
  return n;
}

export class TaintToleration implements FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions {
  readonly name = TAINT_TOLERATION;

  filter(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): MaybeStatus {
    const node = nodeInfo.node;
    if (!node) return errorStatus(new Error("node not found"));
    const taint = findUntoleratedTaint(node.spec?.taints, pod.spec.tolerations, DO_NOT_SCHEDULE);
    return taint ? unresolvable(untoleratedTaintReason(taint)) : null;
  }

  preScore(state: CycleState, pod: Pod, _nodes: readonly NodeInfo[]): MaybeStatus {
    state.write(PRE_SCORE_KEY, preferNoScheduleTolerations(pod.spec.tolerations));
    return null;
  }

  /** The raw score is a count of untolerated soft taints: fewer is better, so normalization reverses it. */
  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): number {
    const node = nodeInfo.node;
    if (!node) throw new Error("node not found");
    const tolerations = state.read<Toleration[]>(PRE_SCORE_KEY) ?? preferNoScheduleTolerations(pod.spec.tolerations);
    return countUntoleratedPreferNoSchedule(node.spec?.taints, tolerations);
  }

  normalizeScore(_state: CycleState, _pod: Pod, scores: NodeScore[]): MaybeStatus {
    defaultNormalizeScore(MAX_NODE_SCORE, true, scores);
    return null;
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      { event: { resource: "Node", action: Action.Add | Action.UpdateNodeTaint }, hint: isSchedulableAfterNodeChange },
      { event: { resource: "UnscheduledPod", action: Action.UpdatePodTolerations }, hint: isSchedulableAfterPodTolerationChange },
    ];
  }
}

/** Queue when the node (new, or changed) no longer repels the pod while it did before. */
function isSchedulableAfterNodeChange(pod: Pod, oldObj: unknown, newObj: unknown): QueueingHint {
  const modified = newObj as Node | null | undefined;
  if (!modified) return "Skip";
  const original = oldObj as Node | null | undefined;
  const wasUntolerated = !original || findUntoleratedTaint(original.spec?.taints, pod.spec.tolerations, DO_NOT_SCHEDULE) !== undefined;
  const isUntolerated = findUntoleratedTaint(modified.spec?.taints, pod.spec.tolerations, DO_NOT_SCHEDULE) !== undefined;
  return wasUntolerated && !isUntolerated ? "Queue" : "Skip";
}

/** Only the rejected pod's own new tolerations can change this plugin's verdict on it. */
function isSchedulableAfterPodTolerationChange(pod: Pod, _oldObj: unknown, newObj: unknown): QueueingHint {
  const modified = newObj as Pod | null | undefined;
  return modified && modified.metadata.uid === pod.metadata.uid ? "Queue" : "Skip";
}

export const newTaintToleration: PluginFactory = () => new TaintToleration();
