// Book 2.3.2 and 11.2.3-11.2.4: kube-scheduler's main loop: informers feed the cache (nodes, bound
// pods) and the queue (pending pods); each cycle pops the highest-priority pod, picks a node, assumes
// it in the cache, and binds asynchronously; failures become FailedScheduling events and requeues.
import {
  type KubeObject,
  type Node,
  type Pod,
  type PodDisruptionBudget,
  isConflict,
  isNotFound,
  rfc3339,
} from "@corekube/api";
import {
  EventRecorder,
  InformerFactory,
  NAMESPACES,
  NODES,
  POD_DISRUPTION_BUDGETS,
  PODS,
  type RestClient,
  type SharedInformer,
} from "@corekube/client";
import { SchedulerCache } from "./cache/cache.js";
import type { SchedulerConfiguration } from "./config.js";
import { FitError, NodeSearch, schedulePod } from "./core.js";
import { PodInfo, Snapshot, podKey } from "./framework/node-info.js";
import { Framework } from "./framework/runtime.js";
import { Action, Code, CycleState, type ClusterEventWithHint, type PreEnqueuePlugin, type PreemptionClient, type Registry, type Status } from "./framework/types.js";
import { type QueuedPodInfo, PriorityQueue } from "./queue/scheduling-queue.js";

export interface SchedulerOptions {
  client: RestClient;
  config: SchedulerConfiguration;
  registry: Registry;
  /**
   * Events are recorded as this component. Unset (as upstream), each profile records under its own
   * schedulerName, so `kubectl describe` shows which profile placed or refused a pod.
   */
  component?: string;
  log?: (line: string) => void;
}

export interface SchedulerStats {
  scheduled: number;
  failedAttempts: number;
  bindErrors: number;
  pending: { active: number; backoff: number; unschedulable: number; gated: number };
}

const isAssigned = (p: Pod): boolean => !!p.spec.nodeName;

/** Which node changes can help pods that did not fit (upstream's nodeSchedulingPropertiesChange). */
export function nodeUpdateAction(oldNode: Node, newNode: Node): number {
  let action = 0;
  const j = JSON.stringify;
  if (j(oldNode.status?.allocatable) !== j(newNode.status?.allocatable)) action |= Action.UpdateNodeAllocatable;
  if (j(oldNode.metadata.labels) !== j(newNode.metadata.labels)) action |= Action.UpdateNodeLabel;
  if (j(oldNode.spec?.taints) !== j(newNode.spec?.taints) || !!oldNode.spec?.unschedulable !== !!newNode.spec?.unschedulable) {
    action |= Action.UpdateNodeTaint;
  }
  const cond = (n: Node) => j((n.status?.conditions ?? []).map((c) => [c.type, c.status]));
  if (cond(oldNode) !== cond(newNode)) action |= Action.UpdateNodeCondition;
  return action;
}

export class Scheduler {
  readonly cache: SchedulerCache;
  readonly queue: PriorityQueue;
  readonly profiles = new Map<string, Framework>();
  /** One event recorder per profile (by schedulerName). */
  readonly recorders = new Map<string, EventRecorder>();
  readonly factory: InformerFactory;
  private readonly snapshot = new Snapshot();
  private readonly search = new NodeSearch();
  private readonly podInformer: SharedInformer<Pod>;
  private readonly pdbInformer: SharedInformer<PodDisruptionBudget>;
  private readonly nsInformer: SharedInformer<KubeObject>;
  private readonly log: (line: string) => void;
  private readonly client: RestClient;
  private readonly inFlightBinds = new Set<Promise<void>>();
  readonly stats = { scheduled: 0, failedAttempts: 0, bindErrors: 0 };

  constructor(opts: SchedulerOptions) {
    this.client = opts.client;
    this.log = opts.log ?? (() => undefined);
    this.cache = new SchedulerCache();
    this.factory = new InformerFactory(opts.client);
    this.podInformer = this.factory.forResource<Pod>(PODS, { fieldSelector: "status.phase!=Succeeded,status.phase!=Failed" });
    const nodeInformer = this.factory.forResource<Node>(NODES);
    this.pdbInformer = this.factory.forResource<PodDisruptionBudget>(POD_DISRUPTION_BUDGETS);
    this.nsInformer = this.factory.forResource<KubeObject>(NAMESPACES);

    const preemptionClient: PreemptionClient = {
      evictVictim: (victim, preemptor, nodeName) => this.evictVictim(victim, preemptor, nodeName),
      setNominatedNodeName: (pod, nodeName) => this.patchNominatedNodeName(pod, nodeName),
    };
    // The queue is built after the frameworks (it needs their PreEnqueue plugins and hints), but the
    // frameworks need its nominator: hand them a forwarding one.
    let queue!: PriorityQueue;
    const nominator = {
      addNominatedPod: (pi: PodInfo, n: string) => queue.addNominatedPod(pi, n),
      deleteNominatedPodIfExists: (p: Pod) => queue.deleteNominatedPodIfExists(p),
      updateNominatedPod: (o: Pod, pi: PodInfo) => queue.updateNominatedPod(o, pi),
      nominatedPodsForNode: (n: string) => queue.nominatedPodsForNode(n),
    };
    for (const profile of opts.config.profiles) {
      if (profile.percentageOfNodesToScore === undefined && opts.config.percentageOfNodesToScore > 0) {
        profile.percentageOfNodesToScore = opts.config.percentageOfNodesToScore;
      }
      const fwk = new Framework(opts.registry, profile, {
        snapshot: () => this.snapshot,
        nominator,
        client: preemptionClient,
        podDisruptionBudgets: () => this.pdbInformer.store.list(),
        namespaceLabels: (name) => this.nsInformer.store.getByName(name)?.metadata.labels ?? (this.nsInformer.store.getByName(name) ? {} : undefined),
      });
      this.profiles.set(profile.schedulerName, fwk);
      this.recorders.set(profile.schedulerName, new EventRecorder({ client: opts.client, component: opts.component ?? profile.schedulerName }));
    }
    const preEnqueue = new Map<string, PreEnqueuePlugin>();
    const hints = new Map<string, ClusterEventWithHint[]>();
    for (const fwk of this.profiles.values()) {
      for (const p of fwk.preEnqueuePlugins) preEnqueue.set(p.name, p);
      for (const [name, evs] of fwk.eventsToRegister()) hints.set(name, evs);
    }
    queue = new PriorityQueue({
      podInitialBackoffMs: opts.config.podInitialBackoffSeconds * 1000,
      podMaxBackoffMs: opts.config.podMaxBackoffSeconds * 1000,
      preEnqueuePlugins: [...preEnqueue.values()],
      hints,
    });
    this.queue = queue;
    this.wirePods(this.podInformer);
    this.wireNodes(nodeInformer);
  }

  /** The recorder of the profile that schedules `pod`. */
  private recorderFor(pod: Pod): EventRecorder {
    return this.recorders.get(pod.spec.schedulerName ?? "default-scheduler") ?? this.recorders.values().next().value!;
  }

  private responsibleFor(pod: Pod): boolean {
    return this.profiles.has(pod.spec.schedulerName ?? "default-scheduler");
  }

  private wirePods(inf: SharedInformer<Pod>): void {
    inf.addEventHandler({
      onAdd: (pod) => {
        if (isAssigned(pod)) {
          this.guard("add pod", () => this.cache.addPod(pod));
          this.queue.assignedPodAdded(pod);
        } else if (this.responsibleFor(pod) && !pod.metadata.deletionTimestamp) {
          this.queue.add(pod);
        }
      },
      onUpdate: (oldPod, newPod) => {
        if (isAssigned(oldPod)) {
          this.guard("update pod", () => this.cache.updatePod(oldPod, newPod));
          this.queue.assignedPodUpdated(oldPod, newPod);
        } else if (isAssigned(newPod)) {
          // Bound (by us or by someone else): it leaves the queue and joins the cache.
          this.queue.delete(newPod);
          this.guard("add pod", () => this.cache.addPod(newPod));
          this.queue.assignedPodAdded(newPod);
        } else if (this.responsibleFor(newPod)) {
          if (newPod.metadata.deletionTimestamp) this.queue.delete(newPod);
          else this.queue.update(oldPod, newPod);
        }
      },
      onDelete: (pod) => {
        if (isAssigned(pod)) {
          this.guard("remove pod", () => this.cache.removePod(pod));
          this.queue.assignedPodDeleted(pod);
        } else {
          this.queue.delete(pod);
        }
      },
    });
  }

  private wireNodes(inf: SharedInformer<Node>): void {
    inf.addEventHandler({
      onAdd: (node) => {
        this.guard("add node", () => this.cache.addNode(node));
        this.queue.moveAllToActiveOrBackoffQueue({ resource: "Node", action: Action.Add, label: "NodeAdd" }, undefined, node);
      },
      onUpdate: (oldNode, newNode) => {
        this.guard("update node", () => this.cache.updateNode(oldNode, newNode));
        const action = nodeUpdateAction(oldNode, newNode);
        if (action !== 0) this.queue.moveAllToActiveOrBackoffQueue({ resource: "Node", action, label: "NodeUpdate" }, oldNode, newNode);
      },
      onDelete: (node) => this.guard("remove node", () => this.cache.removeNode(node)),
    });
  }

  /** The cache refuses impossible transitions (e.g. removing a pod it never saw); log, do not crash. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log(`scheduler: cache: cannot ${what}: ${(e as Error).message}`);
    }
  }

  /** Starts informers and waits for their caches; then `run` may be called. */
  async start(signal?: AbortSignal): Promise<boolean> {
    this.factory.start();
    return this.factory.waitForCacheSync(signal);
  }

  /** The scheduling loop: runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    this.queue.run();
    const onAbort = () => this.queue.close();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal.aborted) {
        const qpi = await this.queue.pop();
        if (!qpi) break;
        try {
          await this.scheduleOne(qpi);
        } catch (e) {
          // One pod's unexpected failure must not end scheduling for all the others.
          const pod = qpi.podInfo.pod;
          this.log(`scheduler: unexpected error scheduling ${pod.metadata.namespace}/${pod.metadata.name}: ${(e as Error).stack ?? e}`);
          this.queue.done(podKey(pod));
        }
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  async stop(): Promise<void> {
    this.queue.close();
    await Promise.allSettled([...this.inFlightBinds]);
    await this.factory.stop();
    await Promise.all([...this.recorders.values()].map((r) => r.close()));
  }

  statsNow(): SchedulerStats {
    return { ...this.stats, pending: this.queue.pendingPods() };
  }

  /** One scheduling cycle for one pod (the binding cycle continues in the background). */
  async scheduleOne(qpi: QueuedPodInfo): Promise<void> {
    const pod = qpi.podInfo.pod;
    const uid = podKey(pod);
    const fwk = this.profiles.get(pod.spec.schedulerName ?? "default-scheduler");
    if (!fwk || pod.metadata.deletionTimestamp || this.cache.isAssumedPod(pod)) {
      this.queue.done(uid);
      return;
    }
    const cycle = this.queue.schedulingCycle();
    const state = new CycleState();
    this.cache.updateSnapshot(this.snapshot);
    let host: string;
    try {
      host = schedulePod(fwk, state, pod, this.snapshot, this.search).suggestedHost;
    } catch (err) {
      let nominatedNodeName: string | undefined;
      let status: Status;
      if (err instanceof FitError) {
        // PostFilter runs even when no node could be helped by evicting pods: DefaultPreemption then
        // says so ("preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
        // and clears a nomination that can no longer work, as upstream.
        if (fwk.postFilterPlugins.length > 0 && err.numAllNodes > 0) {
          const r = await fwk.runPostFilterPlugins(state, pod, err.diagnosis.nodeToStatus);
          if (r.status === null || r.status.code === Code.Success) nominatedNodeName = r.result?.nominatedNodeName || undefined;
          else if (r.status.code !== Code.Error) err.diagnosis.postFilterMsg = `preemption: ${r.status.reasons.join(" ")}`;
          // An empty nomination means "preemption cannot help any more": forget the old one.
          if (r.result?.nominatedNodeName === "" && pod.status?.nominatedNodeName) {
            this.queue.deleteNominatedPodIfExists(pod);
            void this.patchNominatedNodeName(pod, undefined).catch(() => undefined);
          }
        }
        for (const p of err.diagnosis.unschedulablePlugins) qpi.unschedulablePlugins.add(p);
        status = { code: Code.Unschedulable, reasons: [err.fitMessage()] };
      } else {
        status = { code: Code.Error, reasons: [(err as Error).message], error: err as Error };
      }
      this.handleFailure(qpi, status, cycle, nominatedNodeName);
      this.queue.done(uid);
      return;
    }

    // Assume: the cache counts the pod on the node now, so the next cycle sees it, before the bind lands.
    const assumed: Pod = { ...pod, spec: { ...pod.spec, nodeName: host } };
    try {
      this.cache.assumePod(assumed);
    } catch (e) {
      this.handleFailure(qpi, { code: Code.Error, reasons: [(e as Error).message] }, cycle);
      this.queue.done(uid);
      return;
    }
    this.queue.deleteNominatedPodIfExists(pod);
    // A Reserve or Permit refusal undoes the reservation and the assumption, then requeues.
    const undo = (s: Status) => {
      fwk.runReservePluginsUnreserve(state, assumed, host);
      this.cache.forgetPod(assumed);
      this.handleFailure(qpi, s, cycle);
      this.queue.done(uid);
    };
    const reserve = fwk.runReservePluginsReserve(state, assumed, host);
    if (reserve !== null && reserve.code !== Code.Success) return undo(reserve);
    const permit = fwk.runPermitPlugins(state, assumed, host);
    if (permit.status !== null && permit.status.code !== Code.Success && permit.status.code !== Code.Wait) return undo(permit.status);
    const bind = this.bindingCycle(fwk, state, qpi, assumed, host, cycle, permit.status?.code === Code.Wait ? permit.waitMs : 0)
      .catch((e: unknown) => this.log(`scheduler: unexpected error binding ${assumed.metadata.namespace}/${assumed.metadata.name}: ${(e as Error).stack ?? e}`))
      .finally(() => {
        this.inFlightBinds.delete(bind);
        this.queue.done(uid);
      });
    this.inFlightBinds.add(bind);
  }

  private async bindingCycle(fwk: Framework, state: CycleState, qpi: QueuedPodInfo, assumed: Pod, host: string, cycle: number, waitMs: number): Promise<void> {
    let status: Status | null = null;
    if (waitMs > 0) {
      // No in-tree plugin allows waiting pods early; a Wait ends when its timeout passes.
      await new Promise((r) => setTimeout(r, waitMs));
      status = { code: Code.Unschedulable, reasons: [`rejected due to timeout after waiting ${waitMs}ms at plugin(s) Permit`] };
    }
    if (status === null) status = await fwk.runPreBindPlugins(state, assumed, host);
    if (status === null || status.code === Code.Success) status = await fwk.runBindPlugins(state, assumed, host);
    if (status === null || status.code === Code.Success) {
      this.cache.finishBinding(assumed);
      fwk.runPostBindPlugins(state, assumed, host);
      this.stats.scheduled++;
      this.recorderFor(assumed).eventf(assumed, "Normal", "Scheduled", `Successfully assigned ${assumed.metadata.namespace}/${assumed.metadata.name} to ${host}`);
      return;
    }
    this.stats.bindErrors++;
    fwk.runReservePluginsUnreserve(state, assumed, host);
    this.cache.forgetPod(assumed);
    // Its resources are free again: pods waiting for room may fit now.
    this.queue.moveAllToActiveOrBackoffQueue({ resource: "AssignedPod", action: Action.Delete, label: "AssignedPodDelete" });
    if (status.error && isNotFound(status.error)) return; // the pod is gone
    this.handleFailure(qpi, status, cycle);
  }

  /** Requeue, record FailedScheduling, and write the PodScheduled=False condition (and nomination). */
  private handleFailure(qpi: QueuedPodInfo, status: Status, cycle: number, nominatedNodeName?: string): void {
    this.stats.failedAttempts++;
    const pod = qpi.podInfo.pod;
    const current = this.podInformer.store.getByName(pod.metadata.name!, pod.metadata.namespace);
    if (!current || current.metadata.uid !== pod.metadata.uid || isAssigned(current)) return;
    const message = status.reasons.join(", ");
    const reason = status.code === Code.Error ? "SchedulerError" : "Unschedulable";
    if (status.code === Code.Error) this.log(`scheduler: error scheduling ${pod.metadata.namespace}/${pod.metadata.name}: ${message}`);
    qpi.podInfo = new PodInfo(current);
    try {
      this.queue.addUnschedulableIfNotPresent(qpi, cycle);
    } catch (e) {
      // Already back in the queue (an add raced with this attempt): it will be retried from there.
      this.log(`scheduler: ${(e as Error).message}`);
    }
    if (nominatedNodeName) this.queue.addNominatedPod(qpi.podInfo, nominatedNodeName);
    this.recorderFor(current).eventf(current, "Warning", "FailedScheduling", message);
    void this.patchPodScheduledCondition(current, reason, message, nominatedNodeName);
  }

  private async patchPodScheduledCondition(pod: Pod, reason: string, message: string, nominatedNodeName?: string): Promise<void> {
    const existing = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
    const sameCondition = existing?.status === "False" && existing.reason === reason && existing.message === message;
    const sameNomination = (pod.status?.nominatedNodeName ?? undefined) === nominatedNodeName || nominatedNodeName === undefined;
    if (sameCondition && sameNomination) return;
    const status: Record<string, unknown> = {
      conditions: [{ type: "PodScheduled", status: "False", reason, message, lastProbeTime: null, lastTransitionTime: rfc3339() }],
    };
    if (nominatedNodeName) status.nominatedNodeName = nominatedNodeName;
    try {
      await this.client.resource<Pod>(PODS).patch(pod.metadata.name!, { status }, "strategic", { namespace: pod.metadata.namespace, subresource: "status" });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) this.log(`scheduler: cannot update status of ${pod.metadata.namespace}/${pod.metadata.name}: ${(e as Error).message}`);
    }
  }

  private async patchNominatedNodeName(pod: Pod, nodeName: string | undefined): Promise<void> {
    try {
      await this.client
        .resource<Pod>(PODS)
        .patch(pod.metadata.name!, { status: { nominatedNodeName: nodeName ?? null } }, "merge", { namespace: pod.metadata.namespace, subresource: "status" });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async evictVictim(victim: Pod, preemptor: Pod, nodeName: string): Promise<void> {
    // Recorded by the preemptor's profile, which made the decision.
    this.recorderFor(preemptor).eventf(
      victim,
      "Normal",
      "Preempted",
      `Preempted by pod ${preemptor.metadata.uid} on node ${nodeName}`,
    );
    try {
      await this.client.resource<Pod>(PODS).delete(victim.metadata.name!, {
        namespace: victim.metadata.namespace,
        preconditions: victim.metadata.uid ? { uid: victim.metadata.uid } : undefined,
      });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }
}

