// Book 11.2.3: the SchedulingGates plugin: a pod with spec.schedulingGates waits outside the active
// queue until something outside the scheduler removes every gate.
import type { Pod } from "@corekube/api";
import {
  Action,
  type ClusterEventWithHint,
  type EnqueueExtensions,
  type MaybeStatus,
  type PluginFactory,
  type PreEnqueuePlugin,
  type QueueingHint,
  unresolvable,
} from "../framework/types.js";

export const SCHEDULING_GATES = "SchedulingGates";

export class SchedulingGates implements PreEnqueuePlugin, EnqueueExtensions {
  readonly name = SCHEDULING_GATES;

  preEnqueue(pod: Pod): MaybeStatus {
    const gates = pod.spec.schedulingGates ?? [];
    if (gates.length === 0) return null;
    return unresolvable(`waiting for scheduling gates: [${gates.map((g) => g.name).join(" ")}]`);
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [{ event: { resource: "UnscheduledPod", action: Action.UpdatePodSchedulingGatesEliminated }, hint: isSchedulableAfterGatesRemoved }];
  }
}

/** Only the gated pod's own update (its last gate removed) matters. */
function isSchedulableAfterGatesRemoved(pod: Pod, _oldObj: unknown, newObj: unknown): QueueingHint {
  const modified = newObj as Pod | null | undefined;
  return modified && modified.metadata.uid === pod.metadata.uid ? "Queue" : "Skip";
}

export const newSchedulingGates: PluginFactory = () => new SchedulingGates();
