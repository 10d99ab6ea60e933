// Book 11.2.4: the in-tree plugin registry: plugin name -> factory. A profile in the configuration
// file picks from these names; the DefaultBinder needs the API client, so the registry is built per scheduler.
import type { RestClient } from "@corekube/client";
import type { Registry } from "../framework/types.js";
import { NODE_RESOURCES_BALANCED_ALLOCATION, newBalancedAllocation } from "./balanced-allocation.js";
import { DEFAULT_BINDER, DefaultBinder } from "./default-binder.js";
import { DEFAULT_PREEMPTION, newDefaultPreemption } from "./default-preemption.js";
import { IMAGE_LOCALITY, newImageLocality } from "./image-locality.js";
import { INTER_POD_AFFINITY, newInterPodAffinity } from "./inter-pod-affinity.js";
import { NODE_AFFINITY, newNodeAffinity } from "./node-affinity.js";
import { NODE_NAME, newNodeName } from "./node-name.js";
import { NODE_PORTS, newNodePorts } from "./node-ports.js";
import { NODE_RESOURCES_FIT, newNodeResourcesFit } from "./node-resources-fit.js";
import { NODE_UNSCHEDULABLE, newNodeUnschedulable } from "./node-unschedulable.js";
import { POD_TOPOLOGY_SPREAD, newPodTopologySpread } from "./pod-topology-spread.js";
import { SCHEDULING_GATES, newSchedulingGates } from "./scheduling-gates.js";
import { TAINT_TOLERATION, newTaintToleration } from "./taint-toleration.js";

/** Every plugin except the binder: pure, usable in tests without an API server. */
export function pureRegistry(): Registry {
  return {
    [SCHEDULING_GATES]: newSchedulingGates,
    [NODE_UNSCHEDULABLE]: newNodeUnschedulable,
    [NODE_NAME]: newNodeName,
    [TAINT_TOLERATION]: newTaintToleration,
    [NODE_AFFINITY]: newNodeAffinity,
    [NODE_PORTS]: newNodePorts,
    [NODE_RESOURCES_FIT]: newNodeResourcesFit,
    [NODE_RESOURCES_BALANCED_ALLOCATION]: newBalancedAllocation,
    [POD_TOPOLOGY_SPREAD]: newPodTopologySpread,
    [INTER_POD_AFFINITY]: newInterPodAffinity,
    [IMAGE_LOCALITY]: newImageLocality,
    [DEFAULT_PREEMPTION]: newDefaultPreemption,
  };
}

export function inTreeRegistry(client: RestClient): Registry {
  return { ...pureRegistry(), [DEFAULT_BINDER]: () => new DefaultBinder(client) };
}

export const IN_TREE_PLUGIN_NAMES: ReadonlySet<string> = new Set([...Object.keys(pureRegistry()), DEFAULT_BINDER]);
