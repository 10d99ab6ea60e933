// Book 11.2.3-11.2.4: the scheduling framework's contract: the extension points (PreFilter, Filter,
// PostFilter, PreScore, Score, Reserve, Permit, Bind) a plugin can implement, and the Status it returns.
import type { PodDisruptionBudget, Pod, PriorityClass } from "@corekube/api";
import type { NodeInfo, PodInfo, Snapshot } from "./node-info.js";

/** A plugin's verdict, as upstream's framework.Code. */
export enum Code {
  Success = 0,
  /** Something broke (not a property of the pod or node); the pod is retried with backoff. */
  Error = 1,
  /** The pod does not fit this node, but preemption might help. */
  Unschedulable = 2,
  /** The pod does not fit this node and preempting pods there cannot change that. */
  UnschedulableAndUnresolvable = 3,
  /** Permit: hold the pod until allowed or timed out. */
  Wait = 4,
  /** PreFilter/PreScore: this plugin has nothing to say about this pod; skip its Filter/Score. */
  Skip = 5,
  /** The pod waits for something outside the scheduler (not a failure of the pod's spec). */
  Pending = 6,
}

export interface Status {
  code: Code;
  /** Human reasons, e.g. "Insufficient cpu"; the FailedScheduling message counts them by node. */
  reasons: string[];
  /** The plugin that produced it (filled in by the framework). */
  plugin?: string;
  error?: Error;
}

/** Success is `null` everywhere (as upstream's nil *Status), so the hot path allocates nothing. */
export type MaybeStatus = Status | null;

export const isSuccess = (s: MaybeStatus): boolean => s === null || s.code === Code.Success;
export const unschedulable = (...reasons: string[]): Status => ({ code: Code.Unschedulable, reasons });
export const unresolvable = (...reasons: string[]): Status => ({ code: Code.UnschedulableAndUnresolvable, reasons });
export const skipStatus = (): Status => ({ code: Code.Skip, reasons: [] });
export const errorStatus = (err: unknown): Status => {
  const error = err instanceof Error ? err : new Error(String(err));
  return { code: Code.Error, reasons: [error.message], error };
};
export const isRejected = (s: MaybeStatus): boolean =>
  s !== null && (s.code === Code.Unschedulable || s.code === Code.UnschedulableAndUnresolvable);

/** Per-cycle scratch space plugins share between extension points (upstream's CycleState). */
export class CycleState {
  private readonly data = new Map<string, unknown>();
  /** Plugins skipped for this pod because PreFilter/PreScore returned Skip. */
  skipFilterPlugins = new Set<string>();
  skipScorePlugins = new Set<string>();
  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
  write(key: string, value: unknown): void {
    this.data.set(key, value);
  }
  delete(key: string): void {
    this.data.delete(key);
  }
  /** A copy for "what if" runs (preemption); values with a clone() method are cloned. */
  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.data) {
      const cl = (v as { clone?: () => unknown } | null)?.clone;
      c.data.set(k, typeof cl === "function" ? cl.call(v) : v);
    }
    c.skipFilterPlugins = new Set(this.skipFilterPlugins);
    c.skipScorePlugins = new Set(this.skipScorePlugins);
    return c;
  }
}

/** Node scores run from 0 to MAX_NODE_SCORE after normalization; then each is multiplied by the plugin's weight. */
export const MAX_NODE_SCORE = 100;
export const MIN_NODE_SCORE = 0;

export interface NodeScore {
  name: string;
  score: number;
}

export interface Plugin {
  readonly name: string;
}

/** Runs when a pod enters the queue; a rejection keeps it out of the active queue (scheduling gates). */
export interface PreEnqueuePlugin extends Plugin {
  preEnqueue(pod: Pod): MaybeStatus;
}

export interface PreFilterResult {
  /** When set, only these nodes are worth filtering (e.g. NodeAffinity on metadata.name). */
  nodeNames?: Set<string>;
  /** Filled in by the framework: the plugins whose node sets were intersected (sorted). */
  narrowedBy?: string[];
}

/** Lets preemption ask "what if this pod were added to / removed from this node" without recomputing PreFilter. */
export interface PreFilterExtensions {
  addPod(state: CycleState, podToSchedule: Pod, podInfoToAdd: PodInfo, nodeInfo: NodeInfo): MaybeStatus;
  removePod(state: CycleState, podToSchedule: Pod, podInfoToRemove: PodInfo, nodeInfo: NodeInfo): MaybeStatus;
}

export interface PreFilterPlugin extends Plugin {
  preFilter(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): { result?: PreFilterResult; status: MaybeStatus };
  preFilterExtensions?(): PreFilterExtensions | null;
}

export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: Pod, nodeInfo: NodeInfo): MaybeStatus;
}

/** Why each node was rejected in the Filter phase: the input to PostFilter (preemption). */
export type NodeToStatus = Map<string, Status>;

export interface PostFilterResult {
  nominatedNodeName?: string;
}

export interface PostFilterPlugin extends Plugin {
  postFilter(state: CycleState, pod: Pod, filtered: NodeToStatus): Promise<{ result?: PostFilterResult; status: MaybeStatus }>;
}

export interface PreScorePlugin extends Plugin {
  preScore(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): MaybeStatus;
}

export interface ScorePlugin extends Plugin {
  /** A raw score for one node; throw to fail the cycle with an Error status. */
  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): number;
  /** Maps raw scores into [MIN_NODE_SCORE, MAX_NODE_SCORE] in place. */
  normalizeScore?(state: CycleState, pod: Pod, scores: NodeScore[]): MaybeStatus;
}

export interface ReservePlugin extends Plugin {
  reserve(state: CycleState, pod: Pod, nodeName: string): MaybeStatus;
  unreserve(state: CycleState, pod: Pod, nodeName: string): void;
}

export interface PermitPlugin extends Plugin {
  /** Success, a rejection, or Wait with a timeout (the pod then waits for allow/reject). */
  permit(state: CycleState, pod: Pod, nodeName: string): { status: MaybeStatus; timeoutMs?: number };
}

export interface PreBindPlugin extends Plugin {
  preBind(state: CycleState, pod: Pod, nodeName: string): Promise<MaybeStatus>;
}

export interface BindPlugin extends Plugin {
  /** Skip status means "not mine, try the next Bind plugin". */
  bind(state: CycleState, pod: Pod, nodeName: string): Promise<MaybeStatus>;
}

export interface PostBindPlugin extends Plugin {
  postBind(state: CycleState, pod: Pod, nodeName: string): void;
}

// ---- cluster events: which changes could make an unschedulable pod schedulable ----

export type EventResource = "Pod" | "AssignedPod" | "UnscheduledPod" | "Node" | "PriorityClass" | "PodDisruptionBudget" | "Namespace" | "*";

/** Bit flags, like upstream's ActionType. */
export const Action = {
  Add: 1,
  Delete: 2,
  UpdateNodeAllocatable: 4,
  UpdateNodeLabel: 8,
  UpdateNodeTaint: 16,
  UpdateNodeCondition: 32,
  UpdatePodLabel: 64,
  UpdatePodScaleDown: 128,
  UpdatePodTolerations: 256,
  UpdatePodSchedulingGatesEliminated: 512,
  /** Any other update. */
  Update: 1024,
  All: 2047,
} as const;

export interface ClusterEvent {
  resource: EventResource;
  /** One or more Action bits. */
  action: number;
  /** For logs and metrics, e.g. "NodeAdd", "AssignedPodDelete". */
  label: string;
}

export type QueueingHint = "Queue" | "Skip";

/** Given the change, does it possibly make `pod` (rejected by this plugin) schedulable? */
export type QueueingHintFn = (pod: Pod, oldObj: unknown, newObj: unknown) => QueueingHint;

export interface ClusterEventWithHint {
  event: { resource: EventResource; action: number };
  hint?: QueueingHintFn;
}

/** Plugins that can reject a pod say which cluster events can make it schedulable again. */
export interface EnqueueExtensions {
  eventsToRegister(): ClusterEventWithHint[];
}

// ---- the handle a plugin gets from the framework ----

/** Pods the scheduler nominated to run on a node once preempted victims leave (status.nominatedNodeName). */
export interface PodNominator {
  addNominatedPod(podInfo: PodInfo, nodeName: string): void;
  deleteNominatedPodIfExists(pod: Pod): void;
  updateNominatedPod(oldPod: Pod, newPodInfo: PodInfo): void;
  nominatedPodsForNode(nodeName: string): PodInfo[];
}

/** What preemption and other plugins may use outside the pod and node they are given. */
export interface Handle {
  /** The snapshot of nodes and their pods taken at the start of this scheduling cycle. */
  snapshot(): Snapshot;
  nominator(): PodNominator;
  /** Runs every enabled Filter plugin (and PreFilter extensions' view in `state`) against one node. */
  runFilterPlugins(state: CycleState, pod: Pod, nodeInfo: NodeInfo): MaybeStatus;
  /** The same, but first adds the higher-or-equal priority pods nominated to this node (as upstream). */
  runFilterPluginsWithNominatedPods(state: CycleState, pod: Pod, nodeInfo: NodeInfo): MaybeStatus;
  runPreFilterExtensionAddPod(state: CycleState, podToSchedule: Pod, podInfoToAdd: PodInfo, nodeInfo: NodeInfo): MaybeStatus;
  runPreFilterExtensionRemovePod(state: CycleState, podToSchedule: Pod, podInfoToRemove: PodInfo, nodeInfo: NodeInfo): MaybeStatus;
  /** Listers from informers (empty arrays when the scheduler runs without them, as in unit tests). */
  podDisruptionBudgets(): PodDisruptionBudget[];
  priorityClasses(): PriorityClass[];
  /** Labels of a namespace, for namespaceSelector in pod (anti-)affinity; undefined if unknown. */
  namespaceLabels(name: string): Record<string, string> | undefined;
  /** API writes preemption needs. Each resolves when the API server accepted the change. */
  client: PreemptionClient;
  /** The scheduler profile's name (spec.schedulerName), used in Events. */
  profileName: string;
}

export interface PreemptionClient {
  /** Deletes a victim (honouring its grace period) after an Event "Preempted" on it. */
  evictVictim(victim: Pod, preemptor: Pod, nodeName: string): Promise<void>;
  /** Sets or clears status.nominatedNodeName on a pod. */
  setNominatedNodeName(pod: Pod, nodeName: string | undefined): Promise<void>;
}

/** Builds a plugin from its pluginConfig args (already defaulted) and the framework handle. */
export type PluginFactory = (args: Record<string, unknown> | undefined, handle: Handle) => Plugin;

export type Registry = Record<string, PluginFactory>;

