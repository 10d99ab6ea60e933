// Book 11.2.3: the scheduling queue: pending pods wait in activeQ (by priority), backoffQ (after a
// failed attempt) or unschedulablePods (until a cluster event could make them fit), as kube-scheduler's PriorityQueue.
import type { Pod } from "@corekube/api";
import { PodInfo, podKey, podRequests } from "../framework/node-info.js";
import {
  Action,
  Code,
  type ClusterEvent,
  type ClusterEventWithHint,
  type EventResource,
  type PodNominator,
  type PreEnqueuePlugin,
} from "../framework/types.js";
import { type Clock, realClock } from "./clock.js";

/** A pending pod as the queue tracks it between scheduling attempts. */
export interface QueuedPodInfo {
  podInfo: PodInfo;
  /** When the pod entered the queue, or last came back to it after a failed attempt. */
  timestamp: number;
  /** Scheduling attempts so far (incremented by pop). */
  attempts: number;
  /** When the pod first reached activeQ (for the pod_scheduling_sli metrics). */
  initialAttemptTimestamp?: number;
  /** Plugins that rejected the pod in its last attempt (filled in by the scheduler). */
  unschedulablePlugins: Set<string>;
  /** Plugins that returned Pending in its last attempt: their Queue hint skips backoff. */
  pendingPlugins: Set<string>;
  /** The PreEnqueue plugin that keeps the pod out of activeQ (e.g. SchedulingGates). */
  gatedBy?: string;
}

export interface PriorityQueueOptions {
  clock?: Clock;
  podInitialBackoffMs?: number;
  podMaxBackoffMs?: number;
  podMaxInUnschedulablePodsDurationMs?: number;
  preEnqueuePlugins?: PreEnqueuePlugin[];
  /** Plugin name -> the cluster events that can make a pod it rejected schedulable. */
  hints?: Map<string, ClusterEventWithHint[]>;
}

export type QueueName = "active" | "backoff" | "unschedulable" | "gated" | "inFlight";

export interface QueuedPodSummary {
  namespace: string;
  name: string;
  uid: string;
  queue: QueueName;
  priority: number;
  attempts: number;
  unschedulablePlugins: string[];
  gatedBy?: string;
}

// ---- cluster events ----

/** Moves every unschedulable pod (after its backoff): used when pods sat too long in unschedulablePods. */
export const UNSCHEDULABLE_TIMEOUT: ClusterEvent = { resource: "*", action: Action.All, label: "UnschedulableTimeout" };
/** Moves pods regardless of their rejecting plugins (e.g. a plugin asked to activate them). */
export const FORCE_ACTIVATE: ClusterEvent = { resource: "*", action: Action.All, label: "ForceActivate" };

export const isWildCardEvent = (e: { resource: EventResource; action: number }): boolean => e.resource === "*" && e.action === Action.All;

/**
 * Whether an incoming event is one a plugin registered for: the resources agree ("*" matches any,
 * and "Pod" covers both AssignedPod and UnscheduledPod) and the action bits overlap.
 */
export function eventMatches(registered: { resource: EventResource; action: number }, incoming: { resource: EventResource; action: number }): boolean {
  if (isWildCardEvent(registered)) return true;
  const resourceOk =
    registered.resource === "*" ||
    incoming.resource === "*" ||
    registered.resource === incoming.resource ||
    (registered.resource === "Pod" && (incoming.resource === "AssignedPod" || incoming.resource === "UnscheduledPod"));
  return resourceOk && (registered.action & incoming.action) !== 0;
}

/** Structural equality for API objects (key order and undefined-valued keys do not matter). */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!deepEqual(ao[k], bo[k])) return false;
  return true;
}

/** The parts of a pod that scheduling can depend on: everything but status and bookkeeping metadata. */
function schedulingView(pod: Pod): unknown {
  const metadata: Record<string, unknown> = { ...pod.metadata };
  delete metadata.resourceVersion;
  delete metadata.generation;
  delete metadata.managedFields;
  return { ...pod, metadata, status: undefined };
}

/** Whether an update changed more than status and bookkeeping (only then can it change a scheduling result). */
export function isPodUpdated(oldPod: Pod, newPod: Pod): boolean {
  return !deepEqual(schedulingView(oldPod), schedulingView(newPod));
}

function requestsScaledDown(oldPod: Pod, newPod: Pod): boolean {
  const o = podRequests(oldPod);
  const n = podRequests(newPod);
  if (n.milliCPU < o.milliCPU || n.memory < o.memory || n.ephemeralStorage < o.ephemeralStorage) return true;
  for (const [k, v] of o.scalar) if ((n.scalar.get(k) ?? 0) < v) return true;
  return false;
}

/**
 * The cluster event a pod update amounts to, its action bits saying what changed (labels,
 * tolerations, gates removed, requests scaled down; plain Update when none of those).
 */
export function podUpdateEvent(oldPod: Pod, newPod: Pod): ClusterEvent {
  const resource: EventResource = newPod.spec.nodeName ? "AssignedPod" : "UnscheduledPod";
  let action = 0;
  if (!deepEqual(oldPod.metadata.labels ?? {}, newPod.metadata.labels ?? {})) action |= Action.UpdatePodLabel;
  if (requestsScaledDown(oldPod, newPod)) action |= Action.UpdatePodScaleDown;
  if ((oldPod.spec.schedulingGates?.length ?? 0) > 0 && (newPod.spec.schedulingGates?.length ?? 0) === 0) {
    action |= Action.UpdatePodSchedulingGatesEliminated;
  }
  if (!deepEqual(oldPod.spec.tolerations ?? [], newPod.spec.tolerations ?? [])) action |= Action.UpdatePodTolerations;
  if (action === 0) action = Action.Update;
  return { resource, action, label: `${resource}Update` };
}

// ---- an indexed binary heap ----

/** A binary min-heap (by `less`) whose items can be found, replaced and removed by key. */
export class KeyedHeap<T> {
  private readonly items: T[] = [];
  private readonly index = new Map<string, number>();

  constructor(
    private readonly keyOf: (item: T) => string,
    private readonly less: (a: T, b: T) => boolean,
  ) {}

  get length(): number {
    return this.items.length;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get(key: string): T | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.items[i];
  }

  /** Adds the item, or replaces the one with the same key. */
  push(item: T): void {
    const key = this.keyOf(item);
    const i = this.index.get(key);
    if (i !== undefined) {
      this.items[i] = item;
      this.fix(i);
      return;
    }
    this.items.push(item);
    this.index.set(key, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  peek(): T | undefined {
    return this.items[0];
  }

  pop(): T | undefined {
    if (this.items.length === 0) return undefined;
    return this.removeAt(0);
  }

  delete(key: string): T | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.removeAt(i);
  }

  /** Restores the order after the item with this key changed in place. */
  update(key: string): void {
    const i = this.index.get(key);
    if (i !== undefined) this.fix(i);
  }

  /** The items in no particular order. */
  list(): readonly T[] {
    return this.items;
  }

  /** The items in pop order (a copy; the heap is unchanged). */
  sorted(): T[] {
    return [...this.items].sort((a, b) => (this.less(a, b) ? -1 : this.less(b, a) ? 1 : 0));
  }

  private removeAt(i: number): T {
    const item = this.items[i]!;
    const last = this.items.pop()!;
    this.index.delete(this.keyOf(item));
    if (i < this.items.length) {
      this.items[i] = last;
      this.index.set(this.keyOf(last), i);
      this.fix(i);
    }
    return item;
  }

  private fix(i: number): void {
    if (!this.up(i)) this.down(i);
  }

  private swap(i: number, j: number): void {
    const a = this.items[i]!;
    const b = this.items[j]!;
    this.items[i] = b;
    this.items[j] = a;
    this.index.set(this.keyOf(b), i);
    this.index.set(this.keyOf(a), j);
  }

  private up(i: number): boolean {
    const start = i;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(this.items[i]!, this.items[parent]!)) break;
      this.swap(i, parent);
      i = parent;
    }
    return i !== start;
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      const child = r < n && this.less(this.items[r]!, this.items[l]!) ? r : l;
      if (!this.less(this.items[child]!, this.items[i]!)) return;
      this.swap(i, child);
      i = child;
    }
  }
}

// ---- the queue ----

/** How a cluster event (or a failed attempt) sends an unschedulable pod back. */
type QueueingStrategy = "skip" | "afterBackoff" | "immediate";

interface InFlight {
  qpi: QueuedPodInfo;
  cycle: number;
  /** The newest version of the pod seen while it was being scheduled. */
  latest?: Pod;
  /** The pod was deleted while being scheduled: do not queue it again. */
  deleted: boolean;
}

interface RecordedEvent {
  cycle: number;
  event: ClusterEvent;
  oldObj: unknown;
  newObj: unknown;
  preCheck?: (pod: Pod) => boolean;
}

const priorityOf = (q: QueuedPodInfo): number => q.podInfo.pod.spec.priority ?? 0;
const keyOf = (q: QueuedPodInfo): string => q.podInfo.uid;

/**
 * kube-scheduler's PriorityQueue. The scheduling loop pops the highest-priority pod from activeQ;
 * a pod that fails goes back through addUnschedulableIfNotPresent, and cluster events (through
 * moveAllToActiveOrBackoffQueue and the plugins' queueing hints) decide when it is worth another try.
 * It also remembers which pods were nominated to which node (preemption).
 */
const NO_PODS: PodInfo[] = Object.freeze([]) as unknown as PodInfo[];

export class PriorityQueue implements PodNominator {
  private readonly clock: Clock;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxInUnschedulableMs: number;
  private readonly preEnqueuePlugins: PreEnqueuePlugin[];
  private readonly hints: Map<string, ClusterEventWithHint[]>;

  private readonly activeQ: KeyedHeap<QueuedPodInfo>;
  private readonly backoffQ: KeyedHeap<QueuedPodInfo>;
  /** Pods rejected by every node, and pods held back by a PreEnqueue plugin (gatedBy set). */
  private readonly unschedulablePods = new Map<string, QueuedPodInfo>();
  private readonly inFlight = new Map<string, InFlight>();
  /** Cluster events seen while some pod was in flight: they decide where a failed pod goes. */
  private inFlightEvents: RecordedEvent[] = [];
  /** Creation order, the last tie-breaker of both heaps. */
  private readonly seqs = new WeakMap<QueuedPodInfo, number>();
  private seq = 0;

  private cycle = 0;
  private moveRequestCycle = -1;
  private closed = false;
  private readonly waiters: ((q: QueuedPodInfo | null) => void)[] = [];
  private wakeScheduled = false;
  private backoffTimer: unknown = undefined;
  private unschedulableTimer: unknown = undefined;

  private readonly nominatedPods = new Map<string, PodInfo[]>();
  private readonly nominatedPodToNode = new Map<string, string>();

  constructor(opts: PriorityQueueOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.initialBackoffMs = opts.podInitialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.podMaxBackoffMs ?? 10000;
    this.maxInUnschedulableMs = opts.podMaxInUnschedulablePodsDurationMs ?? 300000;
    this.preEnqueuePlugins = opts.preEnqueuePlugins ?? [];
    this.hints = opts.hints ?? new Map();
    const seqOf = (q: QueuedPodInfo) => this.seqs.get(q) ?? 0;
    // PrioritySort: higher priority first, then the pod that has waited longer.
    this.activeQ = new KeyedHeap(keyOf, (a, b) => {
      const pa = priorityOf(a);
      const pb = priorityOf(b);
      if (pa !== pb) return pa > pb;
      if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp;
      return seqOf(a) < seqOf(b);
    });
    // The pod whose backoff ends first is at the top.
    this.backoffQ = new KeyedHeap(keyOf, (a, b) => {
      const ea = this.backoffExpiry(a);
      const eb = this.backoffExpiry(b);
      if (ea !== eb) return ea < eb;
      const pa = priorityOf(a);
      const pb = priorityOf(b);
      if (pa !== pb) return pa > pb;
      return seqOf(a) < seqOf(b);
    });
  }

  // ---- lifecycle ----

  /** Starts the periodic flushes: finished backoffs every second, long-unschedulable pods every 30 s. */
  run(): void {
    if (this.closed || this.backoffTimer !== undefined) return;
    const every = (ms: number, fn: () => void, set: (h: unknown) => void) => {
      const tick = () => {
        if (this.closed) return;
        fn();
        set(this.clock.setTimeout(tick, ms));
      };
      set(this.clock.setTimeout(tick, ms));
    };
    every(1000, () => this.flushBackoffQCompleted(), (h) => (this.backoffTimer = h));
    every(30000, () => this.flushUnschedulablePodsLeftover(), (h) => (this.unschedulableTimer = h));
  }

  /** Stops the flushes; pop() then resolves null (pending calls too). */
  close(): void {
    this.closed = true;
    if (this.backoffTimer !== undefined) this.clock.clearTimeout(this.backoffTimer);
    if (this.unschedulableTimer !== undefined) this.clock.clearTimeout(this.unschedulableTimer);
    this.backoffTimer = this.unschedulableTimer = undefined;
    for (const w of this.waiters.splice(0)) w(null);
  }

  /** How many pods have been popped so far. */
  schedulingCycle(): number {
    return this.cycle;
  }

  // ---- adding, updating, deleting ----

  /** A new pending pod: it goes to activeQ unless a PreEnqueue plugin gates it. */
  add(pod: Pod): void {
    const uid = podKey(pod);
    this.activeQ.delete(uid);
    this.backoffQ.delete(uid);
    this.unschedulablePods.delete(uid);
    const q = this.newQueuedPodInfo(pod);
    if (this.moveToActiveQ(q)) this.addNominatedPod(q.podInfo, "");
  }

  /**
   * A pending pod changed. In activeQ or backoffQ it is replaced in place; in unschedulablePods it
   * moves on if the change could make it schedulable (gates removed, or a change a rejecting plugin's
   * hint accepts); while it is being scheduled, the change is remembered for when it comes back.
   */
  update(oldPod: Pod, newPod: Pod): void {
    const uid = podKey(newPod);
    for (const heap of [this.activeQ, this.backoffQ]) {
      const q = heap.get(uid);
      if (q) {
        q.podInfo = new PodInfo(newPod);
        heap.update(uid);
        this.updateNominatedPod(oldPod, q.podInfo);
        return;
      }
    }
    const q = this.unschedulablePods.get(uid);
    if (q) {
      q.podInfo = new PodInfo(newPod);
      this.updateNominatedPod(oldPod, q.podInfo);
      if (!isPodUpdated(oldPod, newPod)) return;
      if (q.gatedBy !== undefined) {
        // A gated pod never ran a scheduling attempt: re-run PreEnqueue on any change.
        this.requeue(q, "afterBackoff");
        return;
      }
      const event = podUpdateEvent(oldPod, newPod);
      const strategy = this.isPodWorthRequeuing(q, event, oldPod, newPod);
      if (strategy !== "skip") this.requeue(q, strategy);
      return;
    }
    const flight = this.inFlight.get(uid);
    if (flight) {
      flight.latest = newPod;
      if (isPodUpdated(oldPod, newPod)) this.recordInFlightEvent(podUpdateEvent(oldPod, newPod), oldPod, newPod);
      return;
    }
    this.add(newPod);
  }

  /** The pod was deleted (or bound by someone else): forget it everywhere. */
  delete(pod: Pod): void {
    const uid = podKey(pod);
    this.activeQ.delete(uid);
    this.backoffQ.delete(uid);
    this.unschedulablePods.delete(uid);
    this.deleteNominatedPodIfExists(pod);
    const flight = this.inFlight.get(uid);
    if (flight) flight.deleted = true;
  }

  /** Moves these pods from unschedulablePods or backoffQ straight to activeQ (a plugin asked for it). */
  activate(pods: Pod[]): void {
    for (const pod of pods) {
      const uid = podKey(pod);
      const q = this.unschedulablePods.get(uid) ?? this.backoffQ.get(uid);
      if (q) this.moveToActiveQ(q);
    }
  }

  // ---- the scheduling loop's side ----

  /** Waits for the highest-priority pod in activeQ; null once the queue is closed. */
  pop(): Promise<QueuedPodInfo | null> {
    if (this.closed) return Promise.resolve(null);
    if (this.waiters.length === 0 && this.activeQ.length > 0) return Promise.resolve(this.popNow());
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.wake();
    });
  }

  /** The scheduler is done with a popped pod (bound, or back in the queue). */
  done(uid: string): void {
    if (!this.inFlight.delete(uid)) return;
    if (this.inFlight.size === 0) {
      this.inFlightEvents = [];
      return;
    }
    let oldest = Infinity;
    for (const f of this.inFlight.values()) oldest = Math.min(oldest, f.cycle);
    let drop = 0;
    while (drop < this.inFlightEvents.length && this.inFlightEvents[drop]!.cycle < oldest) drop++;
    if (drop > 0) this.inFlightEvents = this.inFlightEvents.slice(drop);
  }

  /**
   * A popped pod failed (its unschedulablePlugins / pendingPlugins say who rejected it; empty means
   * an Error). If a cluster event that could help it arrived since `podSchedulingCycle`, or it failed
   * with an Error, it is retried after its backoff; otherwise it waits in unschedulablePods.
   */
  addUnschedulableIfNotPresent(qpi: QueuedPodInfo, podSchedulingCycle: number): void {
    const uid = keyOf(qpi);
    const flight = this.inFlight.get(uid);
    try {
      if (this.activeQ.has(uid) || this.backoffQ.has(uid) || this.unschedulablePods.has(uid)) {
        throw new Error(`pod ${podName(qpi.podInfo.pod)} is already present in the scheduling queue`);
      }
      if (flight?.deleted) return;
      if (flight?.latest) qpi.podInfo = new PodInfo(flight.latest);
      if (!this.seqs.has(qpi)) this.seqs.set(qpi, ++this.seq);
      qpi.timestamp = this.clock.now();
      qpi.gatedBy = undefined;

      let strategy: QueueingStrategy = "skip";
      if (qpi.unschedulablePlugins.size === 0 && qpi.pendingPlugins.size === 0) {
        strategy = "afterBackoff";
      } else if (flight) {
        for (const e of this.inFlightEvents) {
          if (e.cycle < podSchedulingCycle) continue;
          if (e.preCheck && !e.preCheck(qpi.podInfo.pod)) continue;
          const s = this.isPodWorthRequeuing(qpi, e.event, e.oldObj, e.newObj);
          if (s === "immediate") {
            strategy = s;
            break;
          }
          if (s === "afterBackoff") strategy = s;
        }
      } else if (this.moveRequestCycle >= podSchedulingCycle) {
        strategy = "afterBackoff";
      }

      if (strategy === "skip") this.unschedulablePods.set(uid, qpi);
      else this.requeue(qpi, strategy);
      this.updateNominatedPod(qpi.podInfo.pod, qpi.podInfo);
    } finally {
      this.done(uid);
    }
  }

  // ---- cluster events ----

  /**
   * Something changed in the cluster: every unschedulable (or gated) pod whose rejecting plugin
   * registered a matching event, and whose hint says Queue, goes to backoffQ or activeQ.
   * `preCheck` narrows the pods considered (e.g. only pods the new node could fit at all).
   */
  moveAllToActiveOrBackoffQueue(event: ClusterEvent, oldObj?: unknown, newObj?: unknown, preCheck?: (pod: Pod) => boolean): void {
    const pods: QueuedPodInfo[] = [];
    for (const q of this.unschedulablePods.values()) if (!preCheck || preCheck(q.podInfo.pod)) pods.push(q);
    this.movePodsToActiveOrBackoffQueue(pods, event, oldObj, newObj, preCheck);
  }

  /** A pod was bound (seen by the informer): pods waiting for pod-related changes may fit now. */
  assignedPodAdded(pod: Pod): void {
    this.moveAllToActiveOrBackoffQueue({ resource: "AssignedPod", action: Action.Add, label: "AssignedPodAdd" }, undefined, pod);
  }

  assignedPodUpdated(oldPod: Pod, newPod: Pod): void {
    const e = podUpdateEvent(oldPod, newPod);
    this.moveAllToActiveOrBackoffQueue({ ...e, resource: "AssignedPod", label: "AssignedPodUpdate" }, oldPod, newPod);
  }

  assignedPodDeleted(pod: Pod): void {
    this.moveAllToActiveOrBackoffQueue({ resource: "AssignedPod", action: Action.Delete, label: "AssignedPodDelete" }, pod, undefined);
  }

  /** Moves pods whose backoff has ended from backoffQ to activeQ (run() does it every second). */
  flushBackoffQCompleted(): void {
    const now = this.clock.now();
    for (;;) {
      const top = this.backoffQ.peek();
      if (!top || this.backoffExpiry(top) > now) break;
      this.backoffQ.pop();
      this.pushActive(top);
    }
  }

  /** Gives pods that sat in unschedulablePods longer than the limit another try (run() does it every 30 s). */
  flushUnschedulablePodsLeftover(): void {
    const now = this.clock.now();
    const pods = [...this.unschedulablePods.values()].filter((q) => now - q.timestamp > this.maxInUnschedulableMs);
    if (pods.length > 0) this.movePodsToActiveOrBackoffQueue(pods, UNSCHEDULABLE_TIMEOUT, undefined, undefined);
  }

  // ---- the nominator ----

  /** Records that `podInfo` is to run on `nodeName` (empty: the node in its status.nominatedNodeName). */
  addNominatedPod(podInfo: PodInfo, nodeName: string): void {
    this.deleteNominatedPodIfExists(podInfo.pod);
    const node = nodeName || podInfo.pod.status?.nominatedNodeName;
    if (!node || podInfo.pod.spec.nodeName) return;
    this.nominatedPodToNode.set(podInfo.uid, node);
    const list = this.nominatedPods.get(node);
    if (list) list.push(podInfo);
    else this.nominatedPods.set(node, [podInfo]);
  }

  deleteNominatedPodIfExists(pod: Pod): void {
    const uid = podKey(pod);
    const node = this.nominatedPodToNode.get(uid);
    if (node === undefined) return;
    this.nominatedPodToNode.delete(uid);
    const list = this.nominatedPods.get(node);
    if (!list) return;
    const rest = list.filter((p) => p.uid !== uid);
    if (rest.length > 0) this.nominatedPods.set(node, rest);
    else this.nominatedPods.delete(node);
  }

  /**
   * Refreshes the stored pod. When neither version carries status.nominatedNodeName, a nomination
   * made in memory (preemption that has not reached the API yet) is kept.
   */
  updateNominatedPod(oldPod: Pod, newPodInfo: PodInfo): void {
    let keep = "";
    if (!oldPod.status?.nominatedNodeName && !newPodInfo.pod.status?.nominatedNodeName) {
      keep = this.nominatedPodToNode.get(podKey(oldPod)) ?? "";
    }
    this.deleteNominatedPodIfExists(oldPod);
    this.addNominatedPod(newPodInfo, keep);
  }

  nominatedPodsForNode(nodeName: string): PodInfo[] {
    // Called for every node the filters visit: answer "none" without allocating.
    const list = this.nominatedPods.get(nodeName);
    return list === undefined || list.length === 0 ? NO_PODS : [...list];
  }

  // ---- introspection ----

  pendingPods(): { active: number; backoff: number; unschedulable: number; gated: number } {
    let gated = 0;
    for (const q of this.unschedulablePods.values()) if (q.gatedBy !== undefined) gated++;
    return { active: this.activeQ.length, backoff: this.backoffQ.length, unschedulable: this.unschedulablePods.size - gated, gated };
  }

  /** Every pod the queue knows, and where it is (activeQ listed in pop order). */
  podsIn(): QueuedPodSummary[] {
    const out: QueuedPodSummary[] = [];
    const summary = (q: QueuedPodInfo, queue: QueueName): QueuedPodSummary => ({
      namespace: q.podInfo.pod.metadata.namespace ?? "default",
      name: q.podInfo.pod.metadata.name ?? "",
      uid: q.podInfo.uid,
      queue,
      priority: priorityOf(q),
      attempts: q.attempts,
      unschedulablePlugins: [...q.unschedulablePlugins],
      ...(q.gatedBy !== undefined ? { gatedBy: q.gatedBy } : {}),
    });
    for (const q of this.activeQ.sorted()) out.push(summary(q, "active"));
    for (const q of this.backoffQ.sorted()) out.push(summary(q, "backoff"));
    for (const q of this.unschedulablePods.values()) out.push(summary(q, q.gatedBy !== undefined ? "gated" : "unschedulable"));
    for (const f of this.inFlight.values()) out.push(summary(f.qpi, "inFlight"));
    return out;
  }

  // ---- internals ----

  private newQueuedPodInfo(pod: Pod): QueuedPodInfo {
    const q: QueuedPodInfo = {
      podInfo: new PodInfo(pod),
      timestamp: this.clock.now(),
      attempts: 0,
      unschedulablePlugins: new Set(),
      pendingPlugins: new Set(),
    };
    this.seqs.set(q, ++this.seq);
    return q;
  }

  /** initial * 2^(attempts-1), capped at the maximum; no backoff before the first attempt. */
  backoffDurationMs(attempts: number): number {
    if (attempts <= 0 || this.initialBackoffMs <= 0) return 0;
    let d = this.initialBackoffMs;
    for (let i = 1; i < attempts; i++) {
      if (d >= this.maxBackoffMs - d) return this.maxBackoffMs;
      d += d;
    }
    return Math.min(d, this.maxBackoffMs);
  }

  private backoffExpiry(q: QueuedPodInfo): number {
    return q.timestamp + this.backoffDurationMs(q.attempts);
  }

  private isBackingOff(q: QueuedPodInfo): boolean {
    return this.backoffExpiry(q) > this.clock.now();
  }

  /** Runs the PreEnqueue plugins; the first rejection gates the pod. */
  private runPreEnqueue(q: QueuedPodInfo): boolean {
    q.gatedBy = undefined;
    for (const p of this.preEnqueuePlugins) {
      let ok: boolean;
      try {
        const s = p.preEnqueue(q.podInfo.pod);
        ok = s === null || s.code === Code.Success;
      } catch {
        ok = false;
      }
      if (!ok) {
        q.gatedBy = p.name;
        return false;
      }
    }
    return true;
  }

  /** PreEnqueue, then activeQ; a gated pod is parked in unschedulablePods instead. */
  private moveToActiveQ(q: QueuedPodInfo): boolean {
    const uid = keyOf(q);
    if (!this.runPreEnqueue(q)) {
      this.activeQ.delete(uid);
      this.backoffQ.delete(uid);
      this.unschedulablePods.set(uid, q);
      return false;
    }
    this.pushActive(q);
    return true;
  }

  private pushActive(q: QueuedPodInfo): void {
    const uid = keyOf(q);
    q.initialAttemptTimestamp ??= this.clock.now();
    this.unschedulablePods.delete(uid);
    this.backoffQ.delete(uid);
    this.activeQ.push(q);
    this.wake();
  }

  /** Sends a pod on: gated again, backoffQ while its backoff runs, else activeQ. */
  private requeue(q: QueuedPodInfo, strategy: Exclude<QueueingStrategy, "skip">): void {
    const uid = keyOf(q);
    if (!this.runPreEnqueue(q)) {
      this.backoffQ.delete(uid);
      this.unschedulablePods.set(uid, q);
      return;
    }
    if (strategy === "afterBackoff" && this.isBackingOff(q)) {
      this.unschedulablePods.delete(uid);
      this.backoffQ.push(q);
      return;
    }
    this.pushActive(q);
  }

  /**
   * Upstream's isPodWorthRequeuing: a pod with no rejecting plugin, or a wildcard event, always
   * moves; otherwise some rejecting plugin must have registered a matching event whose hint (if
   * any) says Queue. A Queue from a plugin that returned Pending skips the backoff.
   */
  private isPodWorthRequeuing(q: QueuedPodInfo, event: ClusterEvent, oldObj: unknown, newObj: unknown): QueueingStrategy {
    const rejectors = q.gatedBy !== undefined ? new Set([q.gatedBy]) : new Set([...q.unschedulablePlugins, ...q.pendingPlugins]);
    if (rejectors.size === 0 || isWildCardEvent(event)) return "afterBackoff";
    let strategy: QueueingStrategy = "skip";
    for (const plugin of rejectors) {
      for (const reg of this.hints.get(plugin) ?? []) {
        if (!eventMatches(reg.event, event)) continue;
        let hint = "Queue";
        if (reg.hint) {
          try {
            hint = reg.hint(q.podInfo.pod, oldObj, newObj);
          } catch {
            hint = "Queue";
          }
        }
        if (hint === "Skip") continue;
        if (q.pendingPlugins.has(plugin)) return "immediate";
        strategy = "afterBackoff";
        if (q.pendingPlugins.size === 0) return strategy;
      }
    }
    return strategy;
  }

  private movePodsToActiveOrBackoffQueue(
    pods: QueuedPodInfo[],
    event: ClusterEvent,
    oldObj: unknown,
    newObj: unknown,
    preCheck?: (pod: Pod) => boolean,
  ): void {
    for (const q of pods) {
      const strategy = this.isPodWorthRequeuing(q, event, oldObj, newObj);
      if (strategy !== "skip") this.requeue(q, strategy);
    }
    this.moveRequestCycle = this.cycle;
    this.recordInFlightEvent(event, oldObj, newObj, preCheck);
  }

  private recordInFlightEvent(event: ClusterEvent, oldObj: unknown, newObj: unknown, preCheck?: (pod: Pod) => boolean): void {
    if (this.inFlight.size === 0) return;
    this.inFlightEvents.push({ cycle: this.cycle, event, oldObj, newObj, ...(preCheck ? { preCheck } : {}) });
  }

  private popNow(): QueuedPodInfo {
    const q = this.activeQ.pop()!;
    q.attempts++;
    this.cycle++;
    q.unschedulablePlugins.clear();
    q.pendingPlugins.clear();
    this.inFlight.set(keyOf(q), { qpi: q, cycle: this.cycle, deleted: false });
    return q;
  }

  /** Hands activeQ's best pods to waiting pop() calls, once the current synchronous work is done. */
  private wake(): void {
    if (this.wakeScheduled || this.waiters.length === 0 || this.activeQ.length === 0) return;
    this.wakeScheduled = true;
    queueMicrotask(() => {
      this.wakeScheduled = false;
      while (!this.closed && this.waiters.length > 0 && this.activeQ.length > 0) this.waiters.shift()!(this.popNow());
    });
  }
}

function podName(pod: Pod): string {
  return `${pod.metadata.namespace ?? "default"}/${pod.metadata.name ?? ""}`;
}
