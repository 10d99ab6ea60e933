// Book 11.2.3-11.2.4: the NodeResourcesFit plugin: a node must have room for the pod's requests
// (Filter), and feasible nodes are ranked by how full they would be with the pod on them (Score).
import type { Node, Pod } from "@corekube/api";
import { NodeInfo, type Resource, podRequests } from "../framework/node-info.js";
import {
  Action,
  Code,
  type ClusterEventWithHint,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type MaybeStatus,
  MAX_NODE_SCORE,
  type PluginFactory,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type QueueingHint,
  type ScorePlugin,
  errorStatus,
} from "../framework/types.js";
import {
  type ResourceScorer,
  type ResourceSpec,
  argsError,
  isExtendedResourceName,
  parseResourceSpecs,
  parseStringList,
  podRequestList,
  scoreNode,
} from "./resource-allocation.js";

export const NODE_RESOURCES_FIT = "NodeResourcesFit";

const PRE_FILTER_KEY = `PreFilter${NODE_RESOURCES_FIT}`;
const PRE_SCORE_KEY = `PreScore${NODE_RESOURCES_FIT}`;

export const REASON_TOO_MANY_PODS = "Too many pods";
export const REASON_INSUFFICIENT_CPU = "Insufficient cpu";
export const REASON_INSUFFICIENT_MEMORY = "Insufficient memory";
export const REASON_INSUFFICIENT_EPHEMERAL_STORAGE = "Insufficient ephemeral-storage";

/** Scores on the RequestedToCapacityRatio shape run 0..10; the scheduler's run 0..100. */
export const MAX_CUSTOM_PRIORITY_SCORE = 10;

export type ScoringStrategyType = "LeastAllocated" | "MostAllocated" | "RequestedToCapacityRatio";
export const SCORING_STRATEGY_TYPES: readonly ScoringStrategyType[] = ["LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"];

export interface UtilizationShapePoint {
  /** Percent of the resource requested, 0..100. */
  utilization: number;
  /** Score at that utilization, 0..10. */
  score: number;
}

export interface ScoringStrategy {
  type: ScoringStrategyType;
  resources: ResourceSpec[];
  requestedToCapacityRatio?: { shape: UtilizationShapePoint[] };
}

/** The plugin's args, as upstream's NodeResourcesFitArgs (after defaulting). */
export interface NodeResourcesFitArgs {
  /** Extended resources (e.g. example.com/foo) the filter does not check. */
  ignoredResources: string[];
  /** Extended resource domains (e.g. example.com) whose resources the filter does not check. */
  ignoredResourceGroups: string[];
  scoringStrategy: ScoringStrategy;
}

/** Defaults and checks raw pluginConfig args; throws an Error that names the bad field. */
export function parseNodeResourcesFitArgs(raw: Record<string, unknown> | undefined): NodeResourcesFitArgs {
  const p = NODE_RESOURCES_FIT;
  const a = raw ?? {};
  const ignoredResources = parseStringList(p, "ignoredResources", a.ignoredResources);
  const ignoredResourceGroups = parseStringList(p, "ignoredResourceGroups", a.ignoredResourceGroups);
  for (const g of ignoredResourceGroups) {
    if (g.includes("/")) throw argsError(p, `ignoredResourceGroups: resource group name "${g}" can't contain '/'`);
  }
  const rawStrategy = a.scoringStrategy ?? {};
  if (typeof rawStrategy !== "object" || rawStrategy === null || Array.isArray(rawStrategy))
    throw argsError(p, "scoringStrategy must be an object {type, resources, requestedToCapacityRatio}");
  const s = rawStrategy as Record<string, unknown>;
  const type = s.type === undefined || s.type === "" ? "LeastAllocated" : s.type;
  if (typeof type !== "string" || !(SCORING_STRATEGY_TYPES as readonly string[]).includes(type)) {
    throw argsError(p, `scoringStrategy.type ${JSON.stringify(type)} is not supported (supported: ${SCORING_STRATEGY_TYPES.join(", ")})`);
  }
  const resources = parseResourceSpecs(p, "scoringStrategy.resources", s.resources);
  resources.forEach((r, i) => {
    if (r.weight <= 0 || r.weight > 100)
      throw argsError(p, `scoringStrategy.resources[${i}].weight: resource weight of ${r.name} not in valid range (0, 100]`);
  });
  const strategy: ScoringStrategy = { type: type as ScoringStrategyType, resources };
  if (s.requestedToCapacityRatio !== undefined && s.requestedToCapacityRatio !== null) {
    strategy.requestedToCapacityRatio = { shape: parseShape(s.requestedToCapacityRatio) };
  } else if (type === "RequestedToCapacityRatio") {
    throw argsError(p, "scoringStrategy.requestedToCapacityRatio is required for type RequestedToCapacityRatio");
  }
  return { ignoredResources, ignoredResourceGroups, scoringStrategy: strategy };
}

function parseShape(raw: unknown): UtilizationShapePoint[] {
  const p = NODE_RESOURCES_FIT;
  const path = "scoringStrategy.requestedToCapacityRatio.shape";
  const shape = (raw as { shape?: unknown }).shape;
  if (!Array.isArray(shape) || shape.length === 0) throw argsError(p, `${path}: at least one point must be specified`);
  const points = shape.map((pt: unknown, i) => {
    const { utilization, score } = (pt ?? {}) as { utilization?: unknown; score?: unknown };
    if (typeof utilization !== "number" || !Number.isInteger(utilization) || utilization < 0 || utilization > 100)
      throw argsError(p, `${path}[${i}].utilization must be an integer in [0, 100]`);
    if (typeof score !== "number" || !Number.isInteger(score) || score < 0 || score > MAX_CUSTOM_PRIORITY_SCORE)
      throw argsError(p, `${path}[${i}].score must be an integer in [0, ${MAX_CUSTOM_PRIORITY_SCORE}]`);
    return { utilization, score };
  });
  for (let i = 1; i < points.length; i++) {
    if (points[i - 1]!.utilization >= points[i]!.utilization)
      throw argsError(p, `${path}[${i}].utilization: utilization values must be sorted in increasing order`);
  }
  return points;
}

// ---- scorers ----

/** Free share of the node once the pod is on it, 0..100 (0 when over-committed). */
export function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.floor(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/** Used share of the node once the pod is on it, 0..100 (capped: default requests can overshoot). */
export function mostRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0) return 0;
  const r = Math.min(requested, capacity);
  return Math.floor((r * MAX_NODE_SCORE) / capacity);
}

function weightedScorer(resources: readonly ResourceSpec[], perResource: (req: number, cap: number) => number): ResourceScorer {
  return (requested, allocatable) => {
    let nodeScore = 0;
    let weightSum = 0;
    for (let i = 0; i < requested.length; i++) {
      if (allocatable[i] === 0) continue;
      const w = resources[i]!.weight;
      nodeScore += perResource(requested[i]!, allocatable[i]!) * w;
      weightSum += w;
    }
    return weightSum === 0 ? 0 : Math.floor(nodeScore / weightSum);
  };
}

/** A piecewise-linear function through the points (flat before the first and after the last), integer maths. */
export function brokenLinearFunction(shape: readonly UtilizationShapePoint[]): (utilization: number) => number {
  return (u) => {
    for (let i = 0; i < shape.length; i++) {
      const pt = shape[i]!;
      if (u <= pt.utilization) {
        if (i === 0) return pt.score;
        const prev = shape[i - 1]!;
        return prev.score + Math.trunc(((pt.score - prev.score) * (u - prev.utilization)) / (pt.utilization - prev.utilization));
      }
    }
    return shape[shape.length - 1]!.score;
  };
}

function requestedToCapacityRatioScorer(resources: readonly ResourceSpec[], shape: readonly UtilizationShapePoint[]): ResourceScorer {
  // Stretch the 0..10 user scores onto the scheduler's 0..100.
  const scaled = shape.map((p) => ({ utilization: p.utilization, score: p.score * (MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE) }));
  const f = brokenLinearFunction(scaled);
  const perResource = (req: number, cap: number): number => (cap === 0 || req > cap ? f(100) : f(Math.floor((req * 100) / cap)));
  return (requested, allocatable) => {
    let nodeScore = 0;
    let weightSum = 0;
    for (let i = 0; i < requested.length; i++) {
      if (allocatable[i] === 0) continue;
      const s = perResource(requested[i]!, allocatable[i]!);
      // As upstream: a resource scoring 0 does not pull the average down.
      if (s > 0) {
        const w = resources[i]!.weight;
        nodeScore += s * w;
        weightSum += w;
      }
    }
    return weightSum === 0 ? 0 : Math.round(nodeScore / weightSum);
  };
}

function buildScorer(strategy: ScoringStrategy): ResourceScorer {
  switch (strategy.type) {
    case "LeastAllocated":
      return weightedScorer(strategy.resources, leastRequestedScore);
    case "MostAllocated":
      return weightedScorer(strategy.resources, mostRequestedScore);
    case "RequestedToCapacityRatio":
      return requestedToCapacityRatioScorer(strategy.resources, strategy.requestedToCapacityRatio!.shape);
  }
}

// ---- fitting ----

/** Why a pod does not fit: which resource, and the numbers behind it. */
export interface InsufficientResource {
  resourceName: string;
  reason: string;
  requested: number;
  used: number;
  capacity: number;
}

/** What PreFilter computes once per pod: its requests, with extended resources to check listed apart. */
interface PreFilterState {
  request: Resource;
  /** [name, amount, reason] for each non-zero scalar request that is not ignored. */
  scalars: [string, number, string][];
  /** The pod requests nothing countable (only the pod-count check applies). */
  empty: boolean;
}

function computePreFilterState(pod: Pod, ignored: ReadonlySet<string>, ignoredGroups: ReadonlySet<string>): PreFilterState {
  const request = podRequests(pod);
  const scalars: [string, number, string][] = [];
  for (const [name, amount] of request.scalar) {
    if (amount === 0) continue;
    if (isExtendedResourceName(name) && (ignored.has(name) || ignoredGroups.has(name.split("/")[0]!))) continue;
    scalars.push([name, amount, `Insufficient ${name}`]);
  }
  const empty = request.milliCPU === 0 && request.memory === 0 && request.ephemeralStorage === 0 && request.scalar.size === 0;
  return { request, scalars, empty };
}

/** Checks one node: null when the pod fits (nothing allocated), else every resource that is short. */
function checkFit(s: PreFilterState, nodeInfo: NodeInfo): InsufficientResource[] | null {
  const alloc = nodeInfo.allocatable;
  const used = nodeInfo.requested;
  let out: InsufficientResource[] | null = null;
  if (nodeInfo.pods.length + 1 > alloc.allowedPodNumber) {
    (out ??= []).push({ resourceName: "pods", reason: REASON_TOO_MANY_PODS, requested: 1, used: nodeInfo.pods.length, capacity: alloc.allowedPodNumber });
  }
  if (s.empty) return out;
  const req = s.request;
  if (req.milliCPU > 0 && req.milliCPU > alloc.milliCPU - used.milliCPU) {
    (out ??= []).push({ resourceName: "cpu", reason: REASON_INSUFFICIENT_CPU, requested: req.milliCPU, used: used.milliCPU, capacity: alloc.milliCPU });
  }
  if (req.memory > 0 && req.memory > alloc.memory - used.memory) {
    (out ??= []).push({ resourceName: "memory", reason: REASON_INSUFFICIENT_MEMORY, requested: req.memory, used: used.memory, capacity: alloc.memory });
  }
  if (req.ephemeralStorage > 0 && req.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage) {
    (out ??= []).push({
      resourceName: "ephemeral-storage",
      reason: REASON_INSUFFICIENT_EPHEMERAL_STORAGE,
      requested: req.ephemeralStorage,
      used: used.ephemeralStorage,
      capacity: alloc.ephemeralStorage,
    });
  }
  for (const [name, amount, reason] of s.scalars) {
    const capacity = alloc.scalar.get(name) ?? 0;
    const inUse = used.scalar.get(name) ?? 0;
    if (amount > capacity - inUse) (out ??= []).push({ resourceName: name, reason, requested: amount, used: inUse, capacity });
  }
  return out;
}

/** Every resource the node is short of for `pod` (empty when it fits); nothing is ignored. */
export function fits(pod: Pod, nodeInfo: NodeInfo): InsufficientResource[] {
  return checkFit(computePreFilterState(pod, new Set(), new Set()), nodeInfo) ?? [];
}

// ---- the plugin ----

export class NodeResourcesFit implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions {
  readonly name = NODE_RESOURCES_FIT;
  private readonly ignored: ReadonlySet<string>;
  private readonly ignoredGroups: ReadonlySet<string>;
  private readonly resources: readonly ResourceSpec[];
  private readonly scorer: ResourceScorer;

  constructor(readonly args: NodeResourcesFitArgs) {
    this.ignored = new Set(args.ignoredResources);
    this.ignoredGroups = new Set(args.ignoredResourceGroups);
    this.resources = args.scoringStrategy.resources;
    this.scorer = buildScorer(args.scoringStrategy);
  }

  preFilter(state: CycleState, pod: Pod, _nodes: readonly NodeInfo[]): { result?: PreFilterResult; status: MaybeStatus } {
    state.write(PRE_FILTER_KEY, computePreFilterState(pod, this.ignored, this.ignoredGroups));
    return { status: null };
  }

  filter(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): MaybeStatus {
    const s = state.read<PreFilterState>(PRE_FILTER_KEY);
    if (!s) return errorStatus(new Error(`reading "${PRE_FILTER_KEY}" from cycle state: not found (PreFilter did not run)`));
    const short = checkFit(s, nodeInfo);
    return short === null ? null : { code: Code.Unschedulable, reasons: short.map((r) => r.reason) };
  }

  preScore(state: CycleState, pod: Pod, _nodes: readonly NodeInfo[]): MaybeStatus {
    state.write(PRE_SCORE_KEY, podRequestList(pod, this.resources, false));
    return null;
  }

  /** Scores use non-zero requests (defaults for containers without cpu/memory requests), pod included. */
  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): number {
    if (!nodeInfo.node) throw new Error("node not found");
    const podReq = state.read<number[]>(PRE_SCORE_KEY) ?? podRequestList(pod, this.resources, false);
    return scoreNode(nodeInfo, this.resources, podReq, false, this.scorer);
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      // A pod leaving (or shrinking) frees room on its node.
      { event: { resource: "AssignedPod", action: Action.Delete | Action.UpdatePodScaleDown }, hint: isSchedulableAfterPodChange },
      // A new node, or one that now offers more.
      { event: { resource: "Node", action: Action.Add | Action.UpdateNodeAllocatable }, hint: isSchedulableAfterNodeChange },
    ];
  }
}

function isSchedulableAfterPodChange(pod: Pod, oldObj: unknown, newObj: unknown): QueueingHint {
  const original = oldObj as Pod | null | undefined;
  const modified = newObj as Pod | null | undefined;
  if (!modified) {
    // Deleted: only a pod that was on a node freed anything.
    return original?.spec.nodeName ? "Queue" : "Skip";
  }
  if (modified.metadata.uid !== undefined && modified.metadata.uid === pod.metadata.uid) return "Queue";
  if (!modified.spec.nodeName || !original) return "Skip";
  const before = podRequests(original);
  const after = podRequests(modified);
  const want = podRequests(pod);
  if (want.milliCPU > 0 && before.milliCPU > after.milliCPU) return "Queue";
  if (want.memory > 0 && before.memory > after.memory) return "Queue";
  if (want.ephemeralStorage > 0 && before.ephemeralStorage > after.ephemeralStorage) return "Queue";
  for (const [name, amount] of want.scalar) {
    if (amount > 0 && (before.scalar.get(name) ?? 0) > (after.scalar.get(name) ?? 0)) return "Queue";
  }
  return "Skip";
}

function isSchedulableAfterNodeChange(pod: Pod, oldObj: unknown, newObj: unknown): QueueingHint {
  const modified = newObj as Node | null | undefined;
  if (!modified) return "Skip";
  const after = new NodeInfo(modified);
  // Even an empty node of this size could not take the pod.
  if (fits(pod, after).length > 0) return "Skip";
  const original = oldObj as Node | null | undefined;
  if (!original) return "Queue";
  const before = new NodeInfo(original).allocatable;
  const now = after.allocatable;
  if (now.allowedPodNumber > before.allowedPodNumber) return "Queue";
  const want = podRequests(pod);
  if (want.milliCPU > 0 && now.milliCPU > before.milliCPU) return "Queue";
  if (want.memory > 0 && now.memory > before.memory) return "Queue";
  if (want.ephemeralStorage > 0 && now.ephemeralStorage > before.ephemeralStorage) return "Queue";
  for (const [name, amount] of want.scalar) {
    if (amount > 0 && (now.scalar.get(name) ?? 0) > (before.scalar.get(name) ?? 0)) return "Queue";
  }
  // It fits an empty node, but nothing it asks for grew: the verdict cannot have changed.
  return "Skip";
}

export const newNodeResourcesFit: PluginFactory = (args) => new NodeResourcesFit(parseNodeResourcesFitArgs(args));
