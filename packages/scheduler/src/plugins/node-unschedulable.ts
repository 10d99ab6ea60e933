// Book 11.2.3: the NodeUnschedulable filter: a cordoned node (spec.unschedulable, `kubectl cordon`)
// takes no new pods, except those tolerating the node.kubernetes.io/unschedulable:NoSchedule taint.
import type { Node, Pod, Taint, Toleration } from "@corekube/api";
import type { NodeInfo } from "../framework/node-info.js";
import {
  Action,
  type ClusterEventWithHint,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type MaybeStatus,
  type PluginFactory,
  type QueueingHint,
  errorStatus,
  unresolvable,
} from "../framework/types.js";
import { toleratesTaint } from "./helpers/taints.js";

export const NODE_UNSCHEDULABLE = "NodeUnschedulable";

export const ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable";

/** The taint a cordoned node is treated as having (the node lifecycle controller also adds it). */
export const TAINT_NODE_UNSCHEDULABLE = "node.kubernetes.io/unschedulable";
const UNSCHEDULABLE_TAINT: Taint = { key: TAINT_NODE_UNSCHEDULABLE, effect: "NoSchedule" };

export const toleratesUnschedulable = (tolerations: readonly Toleration[] | undefined): boolean => toleratesTaint(tolerations, UNSCHEDULABLE_TAINT);

export class NodeUnschedulable implements FilterPlugin, EnqueueExtensions {
  readonly name = NODE_UNSCHEDULABLE;

  filter(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): MaybeStatus {
    const node = nodeInfo.node;
    if (!node) return errorStatus(new Error("node not found"));
    if (!node.spec?.unschedulable) return null;
    return toleratesUnschedulable(pod.spec.tolerations) ? null : unresolvable(ERR_REASON_UNSCHEDULABLE);
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      // Upstream files a change of spec.unschedulable under UpdateNodeTaint.
      { event: { resource: "Node", action: Action.Add | Action.UpdateNodeTaint }, hint: isSchedulableAfterNodeChange },
      { event: { resource: "UnscheduledPod", action: Action.UpdatePodTolerations }, hint: isSchedulableAfterPodTolerationChange },
    ];
  }
}

/** Queue when the node is schedulable now and was not (or is new). */
function isSchedulableAfterNodeChange(_pod: Pod, oldObj: unknown, newObj: unknown): QueueingHint {
  const modified = newObj as Node | null | undefined;
  if (!modified) return "Skip";
  const original = oldObj as Node | null | undefined;
  const wasSchedulable = original ? !original.spec?.unschedulable : false;
  return !wasSchedulable && !modified.spec?.unschedulable ? "Queue" : "Skip";
}

/** Queue when the rejected pod itself gained a toleration for the unschedulable taint. */
function isSchedulableAfterPodTolerationChange(pod: Pod, oldObj: unknown, newObj: unknown): QueueingHint {
  const original = oldObj as Pod | null | undefined;
  const modified = newObj as Pod | null | undefined;
  if (!modified || modified.metadata.uid !== pod.metadata.uid) return "Skip";
  const before = original ? toleratesUnschedulable(original.spec.tolerations) : false;
  return !before && toleratesUnschedulable(modified.spec.tolerations) ? "Queue" : "Skip";
}

export const newNodeUnschedulable: PluginFactory = () => new NodeUnschedulable();
