// Book 11.2.3: the NodeName filter: a pod that names its node in spec.nodeName may only go there.
import type { Node, Pod } from "@corekube/api";
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
  unresolvable,
} from "../framework/types.js";

export const NODE_NAME = "NodeName";

export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

/** No nodeName, or the node's own name. */
export const fitsNodeName = (pod: Pod, node: Node | null): boolean => !pod.spec.nodeName || pod.spec.nodeName === node?.metadata.name;

export class NodeName implements FilterPlugin, EnqueueExtensions {
  readonly name = NODE_NAME;

  filter(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): MaybeStatus {
    return fitsNodeName(pod, nodeInfo.node) ? null : unresolvable(ERR_REASON_NODE_NAME);
  }

  eventsToRegister(): ClusterEventWithHint[] {
    // Only the arrival of the named node can help.
    return [{ event: { resource: "Node", action: Action.Add }, hint: isSchedulableAfterNodeAdd }];
  }
}

function isSchedulableAfterNodeAdd(pod: Pod, _oldObj: unknown, newObj: unknown): QueueingHint {
  const node = newObj as Node | null | undefined;
  return node && fitsNodeName(pod, node) ? "Queue" : "Skip";
}

export const newNodeName: PluginFactory = () => new NodeName();
