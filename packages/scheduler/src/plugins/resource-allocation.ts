// Book 11.2.4: the shared scoring machinery of NodeResourcesFit and NodeResourcesBalancedAllocation:
// for each configured resource, how much a node would have requested (pod included) against what it can give.
import type { Pod } from "@corekube/api";
import { type NodeInfo, type Resource, podRequests } from "../framework/node-info.js";

/** One resource a scoring strategy looks at, and how much it counts. */
export interface ResourceSpec {
  name: string;
  weight: number;
}

/** cpu and memory, weight 1 each: what upstream scores when the config names no resources. */
export const defaultResourceSpecs = (): ResourceSpec[] => [
  { name: "cpu", weight: 1 },
  { name: "memory", weight: 1 },
];

/**
 * An extended resource is a vendor-named one (`example.com/gpu`): it has a domain prefix outside
 * kubernetes.io and is not a quota "requests." name. Only these may be ignored by NodeResourcesFit.
 */
export const isExtendedResourceName = (name: string): boolean =>
  name.includes("/") && !name.includes("kubernetes.io/") && !name.startsWith("requests.");

/** One amount out of a Resource by its API name (0 when the name is not one the scheduler tracks). */
export function resourceAmount(r: Resource, name: string): number {
  switch (name) {
    case "cpu":
      return r.milliCPU;
    case "memory":
      return r.memory;
    case "ephemeral-storage":
      return r.ephemeralStorage;
    case "pods":
      return r.allowedPodNumber;
    default:
      return r.scalar.get(name) ?? 0;
  }
}

/**
 * The pod's request for each resource in `resources`, in the same order. With `useRequested` false,
 * containers that name no cpu / memory request count the scheduler's defaults (100m, 200Mi), so a
 * node full of request-less pods does not look empty.
 */
export function podRequestList(pod: Pod, resources: readonly ResourceSpec[], useRequested: boolean): number[] {
  const r = podRequests(pod, !useRequested);
  return resources.map((spec) => resourceAmount(r, spec.name));
}

/** Given per-resource requested and allocatable amounts (same order as the specs), a raw node score. */
export type ResourceScorer = (requested: readonly number[], allocatable: readonly number[]) => number;

/**
 * Fills `requested` / `allocatable` for one node (pod included) and asks `scorer`. A resource the
 * node does not offer (allocatable 0), or an extended resource the pod does not ask for, stays 0 in
 * both and scorers skip it.
 */
const scratchArrays: number[][][] = [[], []];

function scratch(which: 0 | 1, length: number): number[] {
  const byLength = scratchArrays[which]!;
  let a = byLength[length];
  if (!a) byLength[length] = a = Array.from({ length }, () => 0);
  else a.fill(0);
  return a;
}

export function scoreNode(
  nodeInfo: NodeInfo,
  resources: readonly ResourceSpec[],
  podRequestAmounts: readonly number[],
  useRequested: boolean,
  scorer: ResourceScorer,
): number {
  // Scratch arrays, reused across calls (scoring is synchronous and scorers do not keep them).
  const requested = scratch(0, resources.length);
  const allocatable = scratch(1, resources.length);
  const onNode = useRequested ? nodeInfo.requested : nodeInfo.nonZeroRequested;
  for (let i = 0; i < resources.length; i++) {
    const name = resources[i]!.name;
    const podRequest = podRequestAmounts[i] ?? 0;
    let alloc = 0;
    let req = 0;
    switch (name) {
      case "cpu":
        alloc = nodeInfo.allocatable.milliCPU;
        req = onNode.milliCPU + podRequest;
        break;
      case "memory":
        alloc = nodeInfo.allocatable.memory;
        req = onNode.memory + podRequest;
        break;
      case "ephemeral-storage":
        // No defaults exist for storage, so the plain requested sum is the right one either way.
        alloc = nodeInfo.allocatable.ephemeralStorage;
        req = nodeInfo.requested.ephemeralStorage + podRequest;
        break;
      case "pods":
        break;
      default:
        if (podRequest !== 0 && nodeInfo.allocatable.scalar.has(name)) {
          alloc = nodeInfo.allocatable.scalar.get(name)!;
          req = (nodeInfo.requested.scalar.get(name) ?? 0) + podRequest;
        }
    }
    if (alloc === 0) continue;
    allocatable[i] = alloc;
    requested[i] = req;
  }
  return scorer(requested, allocatable);
}

// ---- argument checking shared by the two resource plugins ----

export function argsError(plugin: string, msg: string): Error {
  return new Error(`${plugin} args: ${msg}`);
}

/** Reads `resources` ([{name, weight}]) from args; missing weights become 1; an empty list becomes the defaults. */
export function parseResourceSpecs(plugin: string, path: string, raw: unknown): ResourceSpec[] {
  if (raw === undefined || raw === null) return defaultResourceSpecs();
  if (!Array.isArray(raw)) throw argsError(plugin, `${path} must be a list of {name, weight}`);
  if (raw.length === 0) return defaultResourceSpecs();
  return raw.map((item: unknown, i) => {
    if (typeof item !== "object" || item === null) throw argsError(plugin, `${path}[${i}] must be an object {name, weight}`);
    const { name, weight } = item as { name?: unknown; weight?: unknown };
    if (typeof name !== "string" || name === "") throw argsError(plugin, `${path}[${i}].name must be a non-empty string`);
    if (weight !== undefined && (typeof weight !== "number" || !Number.isInteger(weight)))
      throw argsError(plugin, `${path}[${i}].weight must be an integer`);
    return { name, weight: weight === undefined || weight === 0 ? 1 : weight };
  });
}

/** A list of strings, or an error naming the field. */
export function parseStringList(plugin: string, path: string, raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.some((v) => typeof v !== "string" || v === ""))
    throw argsError(plugin, `${path} must be a list of non-empty strings`);
  return raw as string[];
}
