// Book 11.2.4: the ImageLocality score: prefer nodes that already hold the pod's container images (less
// to pull), discounting images present on most nodes so pods do not all pile onto the same few.
import type { Container, Pod } from "@corekube/api";
import type { ImageStateSummary, NodeInfo } from "../framework/node-info.js";
import { type CycleState, type Handle, type MaybeStatus, MAX_NODE_SCORE, type PluginFactory, type PreScorePlugin, type ScorePlugin } from "../framework/types.js";

export const IMAGE_LOCALITY = "ImageLocality";

const PRE_SCORE_KEY = `PreScore${IMAGE_LOCALITY}`;

const MB = 1024 * 1024;
/** Below this much (already present, spread-scaled) image data a node scores 0. */
export const MIN_THRESHOLD = 23 * MB;
/** Per container: at or above this much a node scores 100. */
export const MAX_CONTAINER_THRESHOLD = 1000 * MB;

/** An image reference with a tag (or digest): `nginx` becomes `nginx:latest`; `host:5000/app` gets one too. */
export function normalizedImageName(name: string): string {
  return name.lastIndexOf(":") <= name.lastIndexOf("/") ? `${name}:latest` : name;
}

/** Whether the first path component names a registry host (has a dot or a port, or is localhost). */
function hasRegistryHost(name: string): boolean {
  const slash = name.indexOf("/");
  if (slash < 0) return false;
  const first = name.slice(0, slash);
  return first.includes(".") || first.includes(":") || first === "localhost";
}

/**
 * Names under which a node may list the same image. Docker Hub images have a short and a long spelling:
 * `nginx:1.25`, `library/nginx:1.25` and `docker.io/library/nginx:1.25` are one image, as are
 * `me/app:1` and `docker.io/me/app:1`. The normalized name given comes first.
 */
export function imageNameAliases(name: string): string[] {
  const n = normalizedImageName(name);
  let repo: string;
  if (n.startsWith("docker.io/")) repo = n.slice("docker.io/".length);
  else if (n.startsWith("index.docker.io/")) repo = n.slice("index.docker.io/".length);
  else if (!hasRegistryHost(n)) repo = n;
  else return [n];
  const path = repo.includes("/") ? repo : `library/${repo}`;
  const out = [n];
  const add = (a: string) => {
    if (!out.includes(a)) out.push(a);
  };
  add(`docker.io/${path}`);
  if (path.startsWith("library/")) add(path.slice("library/".length));
  add(path);
  return out;
}

/** The node's summary for the first alias it lists. */
function lookup(imageStates: ReadonlyMap<string, ImageStateSummary>, aliases: readonly string[]): ImageStateSummary | undefined {
  for (const a of aliases) {
    const s = imageStates.get(a);
    if (s) return s;
  }
  return undefined;
}

/** The image's size, scaled by the share of nodes that have it. */
export const scaledImageScore = (s: ImageStateSummary, totalNumNodes: number): number => Math.trunc(s.size * (s.numNodes / totalNumNodes));

/** Maps the summed image score onto 0..100 between the thresholds (the top one grows with the container count). */
export function calculatePriority(sumScores: number, numContainers: number): number {
  if (numContainers === 0) return 0;
  const maxThreshold = MAX_CONTAINER_THRESHOLD * numContainers;
  const clamped = Math.min(Math.max(sumScores, MIN_THRESHOLD), maxThreshold);
  return Math.floor((MAX_NODE_SCORE * (clamped - MIN_THRESHOLD)) / (maxThreshold - MIN_THRESHOLD));
}

interface PreScoreState {
  /** Aliases of each container's image (init containers included); containers without an image are left out. */
  images: string[][];
  numContainers: number;
  totalNumNodes: number;
}

export class ImageLocality implements PreScorePlugin, ScorePlugin {
  readonly name = IMAGE_LOCALITY;

  constructor(private readonly handle: Handle) {}

  private prepare(pod: Pod): PreScoreState {
    const containers: Container[] = [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])];
    const images = containers.filter((c) => c.image).map((c) => imageNameAliases(c.image!));
    // Spread is measured against every node in the snapshot, not only the feasible ones.
    return { images, numContainers: containers.length, totalNumNodes: this.handle.snapshot().nodeInfoList.length };
  }

  preScore(state: CycleState, pod: Pod, _nodes: readonly NodeInfo[]): MaybeStatus {
    state.write(PRE_SCORE_KEY, this.prepare(pod));
    return null;
  }

  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): number {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY) ?? this.prepare(pod);
    // A node without images scores 0 (below the minimum threshold); most simulated nodes are so.
    if (s.totalNumNodes === 0 || nodeInfo.imageStates.size === 0) return 0;
    let sum = 0;
    for (const aliases of s.images) {
      const st = lookup(nodeInfo.imageStates, aliases);
      if (st) sum += scaledImageScore(st, s.totalNumNodes);
    }
    return calculatePriority(sum, s.numContainers);
  }
}

export const newImageLocality: PluginFactory = (_args, handle) => new ImageLocality(handle);
