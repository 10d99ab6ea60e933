// Book 11.2.4: the NodeResourcesBalancedAllocation score: prefer nodes whose cpu and memory would be
// used in similar proportions once the pod lands, so no node runs out of one while the other sits idle.
import type { Pod } from "@corekube/api";
import type { NodeInfo } from "../framework/node-info.js";
import {
  type CycleState,
  type MaybeStatus,
  MAX_NODE_SCORE,
  type PluginFactory,
  type PreScorePlugin,
  type ScorePlugin,
  skipStatus,
} from "../framework/types.js";
import { type ResourceSpec, argsError, parseResourceSpecs, podRequestList, scoreNode } from "./resource-allocation.js";

export const NODE_RESOURCES_BALANCED_ALLOCATION = "NodeResourcesBalancedAllocation";

const PRE_SCORE_KEY = `PreScore${NODE_RESOURCES_BALANCED_ALLOCATION}`;

/** The plugin's args, as upstream's NodeResourcesBalancedAllocationArgs: which resources to balance (weights must be 1). */
export interface NodeResourcesBalancedAllocationArgs {
  resources: ResourceSpec[];
}

export function parseBalancedAllocationArgs(raw: Record<string, unknown> | undefined): NodeResourcesBalancedAllocationArgs {
  const p = NODE_RESOURCES_BALANCED_ALLOCATION;
  const resources = parseResourceSpecs(p, "resources", raw?.resources);
  const seen = new Set<string>();
  resources.forEach((r, i) => {
    if (seen.has(r.name)) throw argsError(p, `resources[${i}].name: duplicate value "${r.name}"`);
    seen.add(r.name);
    if (r.weight !== 1) throw argsError(p, `resources[${i}].weight: must be 1, got ${r.weight}`);
  });
  return { resources };
}

/**
 * (1 - standard deviation of the used fractions) * 100. Each fraction is requested/allocatable,
 * capped at 1; resources the node does not offer are left out. With two resources the deviation is
 * simply half their difference.
 */
export function balancedResourceScorer(requested: readonly number[], allocatable: readonly number[]): number {
  let count = 0;
  let total = 0;
  let first = 0;
  let second = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    const f = Math.min(requested[i]! / allocatable[i]!, 1);
    if (count === 0) first = f;
    else if (count === 1) second = f;
    total += f;
    count++;
  }
  let std = 0;
  if (count === 2) {
    std = Math.abs((first - second) / 2);
  } else if (count > 2) {
    const mean = total / count;
    let sum = 0;
    for (let i = 0; i < requested.length; i++) {
      if (allocatable[i] === 0) continue;
      const d = Math.min(requested[i]! / allocatable[i]!, 1) - mean;
      sum += d * d;
    }
    std = Math.sqrt(sum / count);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}

export class BalancedAllocation implements PreScorePlugin, ScorePlugin {
  readonly name = NODE_RESOURCES_BALANCED_ALLOCATION;
  private readonly resources: readonly ResourceSpec[];

  constructor(readonly args: NodeResourcesBalancedAllocationArgs) {
    this.resources = args.resources;
  }

  /**
   * A pod that requests none of the resources (best effort) is skipped, as upstream does now: it
   * would not change any node's balance, and scoring it would pile such pods onto one node.
   */
  preScore(state: CycleState, pod: Pod, _nodes: readonly NodeInfo[]): MaybeStatus {
    const req = podRequestList(pod, this.resources, true);
    if (req.every((v) => v === 0)) return skipStatus();
    state.write(PRE_SCORE_KEY, req);
    return null;
  }

  /** Uses the real requests (not the non-zero defaults) of the node's pods and of this pod. */
  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): number {
    if (!nodeInfo.node) throw new Error("node not found");
    const req = state.read<number[]>(PRE_SCORE_KEY) ?? podRequestList(pod, this.resources, true);
    return scoreNode(nodeInfo, this.resources, req, true, balancedResourceScorer);
  }
}

export const newBalancedAllocation: PluginFactory = (args) => new BalancedAllocation(parseBalancedAllocationArgs(args));
