// Book 11.2.3: the scheduler cache: nodes and the pods on them (bound, and assumed while binding runs),
// kept up to date by informers, and copied cheaply into each scheduling cycle's Snapshot.
import type { Node, Pod } from "@corekube/api";
import { type ImageStateSummary, NodeInfo, PodInfo, type Snapshot, podKey } from "../framework/node-info.js";
import { type Clock, realClock } from "../queue/clock.js";

export interface SchedulerCacheOptions {
  clock?: Clock;
  /** How long an assumed pod whose binding finished may wait for its informer Add; 0: forever. */
  assumedPodTtlMs?: number;
}

interface PodState {
  pod: Pod;
  /** The assumed pod expires after this time (set when its binding finished, with a TTL). */
  deadline?: number;
  bindingFinished: boolean;
}

/** A NodeInfo in the cache's list, most recently changed first. */
interface NodeItem {
  /** The node's name (the key in SchedulerCache.nodes). */
  name: string;
  info: NodeInfo;
  prev: NodeItem | null;
  next: NodeItem | null;
}

interface ImageState {
  /** Shared by every NodeInfo that has the image, so numNodes stays current everywhere. */
  summary: ImageStateSummary;
  nodes: Set<string>;
}

const ZONE_LABEL = "topology.kubernetes.io/zone";
const REGION_LABEL = "topology.kubernetes.io/region";

function zoneOf(node: Node): string {
  const l = node.metadata.labels ?? {};
  return `${l[REGION_LABEL] ?? ""}:\u0000:${l[ZONE_LABEL] ?? ""}`;
}

/**
 * The order the scheduler walks nodes in: zone by zone, one node from each in turn, so a partial
 * search (percentageOfNodesToScore) still spreads across zones. Stable while the nodes are stable.
 */
export class NodeTree {
  private readonly zones = new Map<string, string[]>();
  private readonly zoneOfNode = new Map<string, string>();

  get numNodes(): number {
    return this.zoneOfNode.size;
  }

  has(name: string): boolean {
    return this.zoneOfNode.has(name);
  }

  add(node: Node): void {
    const name = node.metadata.name ?? "";
    if (this.zoneOfNode.has(name)) return;
    const zone = zoneOf(node);
    this.zoneOfNode.set(name, zone);
    const list = this.zones.get(zone);
    if (list) list.push(name);
    else this.zones.set(zone, [name]);
  }

  remove(name: string): void {
    const zone = this.zoneOfNode.get(name);
    if (zone === undefined) return;
    this.zoneOfNode.delete(name);
    const list = this.zones.get(zone)!;
    list.splice(list.indexOf(name), 1);
    if (list.length === 0) this.zones.delete(zone);
  }

  /** Adds the node, or moves it if its zone changed. */
  update(node: Node): void {
    const name = node.metadata.name ?? "";
    const zone = this.zoneOfNode.get(name);
    if (zone !== undefined && zone === zoneOf(node)) return;
    this.remove(name);
    this.add(node);
  }

  list(): string[] {
    const lists = [...this.zones.values()];
    const out: string[] = [];
    for (let i = 0; out.length < this.zoneOfNode.size; i++) {
      for (const l of lists) if (i < l.length) out.push(l[i]!);
    }
    return out;
  }
}

/**
 * kube-scheduler's cache. Informers feed it nodes and bound pods; the scheduler adds "assumed" pods
 * the moment it picks a node, so the next cycle already counts them while binding runs in the
 * background. Every change moves its NodeInfo to the head of a list ordered by generation, so
 * updateSnapshot visits only the nodes that changed since the snapshot was last brought up to date.
 */
export class SchedulerCache {
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly nodes = new Map<string, NodeItem>();
  private head: NodeItem | null = null;
  private readonly tree = new NodeTree();
  private readonly podStates = new Map<string, PodState>();
  private readonly assumedPods = new Set<string>();
  private readonly imageStates = new Map<string, ImageState>();
  private cleanupTimer: unknown = undefined;

  constructor(opts: SchedulerCacheOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.ttlMs = opts.assumedPodTtlMs ?? 0;
  }

  /** With a TTL, expires assumed pods every second until stop(). */
  run(): void {
    if (this.ttlMs <= 0 || this.cleanupTimer !== undefined) return;
    const tick = () => {
      this.cleanupAssumedPods(this.clock.now());
      this.cleanupTimer = this.clock.setTimeout(tick, 1000);
    };
    this.cleanupTimer = this.clock.setTimeout(tick, 1000);
  }

  stop(): void {
    if (this.cleanupTimer !== undefined) this.clock.clearTimeout(this.cleanupTimer);
    this.cleanupTimer = undefined;
  }

  // ---- nodes ----

  addNode(node: Node): void {
    const name = node.metadata.name ?? "";
    const item = this.itemFor(name);
    this.removeImageStates(item.info.node);
    this.tree.update(node);
    this.addImageStates(node, item.info);
    item.info.setNode(node);
    this.moveToHead(item);
  }

  updateNode(_oldNode: Node, newNode: Node): void {
    this.addNode(newNode);
  }

  /**
   * The node is gone. Pods still on it (their deletions may arrive later) stay on a NodeInfo
   * without a node, which snapshots skip, until the last of them is removed.
   */
  removeNode(node: Node): void {
    const name = node.metadata.name ?? "";
    const item = this.nodes.get(name);
    if (!item || item.info.node === null) throw new Error(`node ${name} is not in the scheduler cache`);
    this.removeImageStates(item.info.node);
    item.info.imageStates = new Map();
    item.info.removeNode();
    this.tree.remove(name);
    if (item.info.pods.length === 0) this.unlink(item);
    else this.moveToHead(item);
  }

  // ---- pods ----

  /**
   * A bound pod seen by the informer. If the scheduler had assumed it, the assumption is now
   * confirmed (and moved if the pod was bound to another node than assumed).
   */
  addPod(pod: Pod): void {
    const key = podKey(pod);
    const state = this.podStates.get(key);
    if (state && this.assumedPods.has(key)) {
      this.removePodFromNode(state.pod);
      this.addPodToNode(pod, false);
      return;
    }
    if (state) throw new Error(`pod ${podName(pod)} was already added to the scheduler cache`);
    this.addPodToNode(pod, false);
  }

  updatePod(oldPod: Pod, newPod: Pod): void {
    const key = podKey(oldPod);
    const state = this.podStates.get(key);
    if (!state) throw new Error(`pod ${podName(oldPod)} is not in the scheduler cache, so it cannot be updated`);
    // An assumed pod gets an Add before any Update.
    if (this.assumedPods.has(key)) throw new Error(`assumed pod ${podName(oldPod)} should not be updated`);
    this.removePodFromNode(state.pod);
    this.addPodToNode(newPod, false);
  }

  removePod(pod: Pod): void {
    const state = this.podStates.get(podKey(pod));
    if (!state) throw new Error(`pod ${podName(pod)} is not in the scheduler cache, so it cannot be removed`);
    this.removePodFromNode(state.pod);
  }

  /** The scheduler chose `pod.spec.nodeName` for the pod: count it there until binding settles. */
  assumePod(pod: Pod): void {
    if (!pod.spec.nodeName) throw new Error(`pod ${podName(pod)} has no nodeName to be assumed on`);
    if (this.podStates.has(podKey(pod))) throw new Error(`pod ${podName(pod)} is in the scheduler cache, so it cannot be assumed`);
    this.addPodToNode(pod, true);
  }

  /** Binding of an assumed pod returned; with a TTL, its expiry clock starts now. */
  finishBinding(pod: Pod): void {
    const key = podKey(pod);
    const state = this.podStates.get(key);
    if (!state || !this.assumedPods.has(key)) return;
    state.bindingFinished = true;
    if (this.ttlMs > 0) state.deadline = this.clock.now() + this.ttlMs;
  }

  /** Undoes assumePod (binding failed). */
  forgetPod(pod: Pod): void {
    const key = podKey(pod);
    const state = this.podStates.get(key);
    if (!state) return;
    if (state.pod.spec.nodeName !== pod.spec.nodeName) {
      throw new Error(`pod ${podName(pod)} was assumed on ${state.pod.spec.nodeName} but forgotten on ${pod.spec.nodeName}`);
    }
    if (!this.assumedPods.has(key)) throw new Error(`pod ${podName(pod)} is not assumed, so it cannot be forgotten`);
    this.removePodFromNode(state.pod);
  }

  isAssumedPod(pod: Pod): boolean {
    return this.assumedPods.has(podKey(pod));
  }

  /** The cached version of the pod (possibly on a node that was removed), or undefined. */
  getPod(pod: Pod): Pod | undefined {
    return this.podStates.get(podKey(pod))?.pod;
  }

  /** Drops assumed pods whose binding finished more than the TTL ago and never showed up as bound. */
  cleanupAssumedPods(now: number): Pod[] {
    if (this.ttlMs <= 0) return [];
    const expired: Pod[] = [];
    for (const key of [...this.assumedPods]) {
      const state = this.podStates.get(key);
      if (!state || !state.bindingFinished || state.deadline === undefined || now <= state.deadline) continue;
      expired.push(state.pod);
      this.removePodFromNode(state.pod);
    }
    return expired;
  }

  // ---- counts and debugging ----

  /** NodeInfos held, including those kept only for pods of unknown or removed nodes (as upstream). */
  nodeCount(): number {
    return this.nodes.size;
  }

  podCount(): number {
    let n = 0;
    for (const item of this.nodes.values()) n += item.info.pods.length;
    return n;
  }

  /** A copy of one node's NodeInfo (tests and debugging). */
  nodeInfo(name: string): NodeInfo | undefined {
    return this.nodes.get(name)?.info.clone();
  }

  dump(): { nodes: Map<string, NodeInfo>; assumedPods: Set<string> } {
    const nodes = new Map<string, NodeInfo>();
    for (const [name, item] of this.nodes) nodes.set(name, item.info.clone());
    return { nodes, assumedPods: new Set(this.assumedPods) };
  }

  // ---- snapshots ----

  /**
   * Brings `snapshot` up to date: NodeInfos changed since its last update are copied into it (into
   * the same objects, so its lists stay valid), removed nodes are dropped, and the lists are rebuilt
   * only when the set of nodes, or which nodes hold pods with (anti-)affinity, changed.
   */
  updateSnapshot(snapshot: Snapshot): void {
    const since = snapshot.generation;
    let rebuildAll = false;
    let rebuildAffinity = false;
    for (let item = this.head; item && item.info.generation > since; item = item.next) {
      const info = item.info;
      if (info.node === null) continue;
      const name = info.name;
      const clone = info.clone();
      const existing = snapshot.nodeInfoMap.get(name);
      if (!existing) {
        snapshot.nodeInfoMap.set(name, clone);
        rebuildAll = true;
        continue;
      }
      if (
        existing.podsWithAffinity.length > 0 !== clone.podsWithAffinity.length > 0 ||
        existing.podsWithRequiredAntiAffinity.length > 0 !== clone.podsWithRequiredAntiAffinity.length > 0
      ) {
        rebuildAffinity = true;
      }
      Object.assign(existing, clone);
    }
    if (this.head) snapshot.generation = Math.max(snapshot.generation, this.head.info.generation);

    if (snapshot.nodeInfoMap.size > this.tree.numNodes) {
      for (const name of [...snapshot.nodeInfoMap.keys()]) {
        if (!this.tree.has(name)) snapshot.nodeInfoMap.delete(name);
      }
      rebuildAll = true;
    }
    if (!rebuildAll && snapshot.nodeInfoList.length !== this.tree.numNodes) rebuildAll = true;

    if (rebuildAll) {
      const list: NodeInfo[] = [];
      for (const name of this.tree.list()) {
        const ni = snapshot.nodeInfoMap.get(name);
        if (ni) list.push(ni);
      }
      snapshot.nodeInfoList = list;
    }
    if (rebuildAll || rebuildAffinity) {
      snapshot.havePodsWithAffinityList = snapshot.nodeInfoList.filter((n) => n.podsWithAffinity.length > 0);
      snapshot.havePodsWithRequiredAntiAffinityList = snapshot.nodeInfoList.filter((n) => n.podsWithRequiredAntiAffinity.length > 0);
    }
  }

  // ---- internals ----

  private itemFor(nodeName: string): NodeItem {
    let item = this.nodes.get(nodeName);
    if (!item) {
      item = { name: nodeName, info: new NodeInfo(), prev: null, next: null };
      this.nodes.set(nodeName, item);
    }
    return item;
  }

  private addPodToNode(pod: Pod, assumed: boolean): void {
    const nodeName = pod.spec.nodeName ?? "";
    const item = this.itemFor(nodeName);
    item.info.addPodInfo(new PodInfo(pod));
    this.moveToHead(item);
    const key = podKey(pod);
    this.podStates.set(key, { pod, bindingFinished: false });
    if (assumed) this.assumedPods.add(key);
    else this.assumedPods.delete(key);
  }

  private removePodFromNode(pod: Pod): void {
    const key = podKey(pod);
    const item = this.nodes.get(pod.spec.nodeName ?? "");
    if (item) {
      item.info.removePod(pod);
      if (item.info.pods.length === 0 && item.info.node === null) this.unlink(item);
      else this.moveToHead(item);
    }
    this.podStates.delete(key);
    this.assumedPods.delete(key);
  }

  /** Call after every change to item.info, whose generation then is the newest. */
  private moveToHead(item: NodeItem): void {
    if (this.head === item) return;
    if (item.prev) item.prev.next = item.next;
    if (item.next) item.next.prev = item.prev;
    item.prev = null;
    item.next = this.head;
    if (this.head) this.head.prev = item;
    this.head = item;
  }

  private unlink(item: NodeItem): void {
    if (item.prev) item.prev.next = item.next;
    if (item.next) item.next.prev = item.prev;
    if (this.head === item) this.head = item.next;
    item.prev = item.next = null;
    this.nodes.delete(item.name);
  }

  private addImageStates(node: Node, info: NodeInfo): void {
    const name = node.metadata.name ?? "";
    const perNode = new Map<string, ImageStateSummary>();
    for (const image of node.status?.images ?? []) {
      for (const imageName of image.names ?? []) {
        let state = this.imageStates.get(imageName);
        if (!state) {
          state = { summary: { size: image.sizeBytes ?? 0, numNodes: 0 }, nodes: new Set() };
          this.imageStates.set(imageName, state);
        }
        state.nodes.add(name);
        state.summary.numNodes = state.nodes.size;
        perNode.set(imageName, state.summary);
      }
    }
    info.imageStates = perNode;
  }

  private removeImageStates(node: Node | null): void {
    if (!node) return;
    const name = node.metadata.name ?? "";
    for (const image of node.status?.images ?? []) {
      for (const imageName of image.names ?? []) {
        const state = this.imageStates.get(imageName);
        if (!state) continue;
        state.nodes.delete(name);
        state.summary.numNodes = state.nodes.size;
        if (state.nodes.size === 0) this.imageStates.delete(imageName);
      }
    }
  }
}

function podName(pod: Pod): string {
  return `${pod.metadata.namespace ?? "default"}/${pod.metadata.name ?? ""}`;
}
