// Book 2.3.2, 9.3 and 11.2.3: simulated nodes in the spirit of kwok — one process registers N Nodes,
// renews their Leases and plays the kubelet for the pods bound to them, as seen from the API only.
import { randomUUID } from "node:crypto";
import {
  type Lease,
  type Node,
  type Pod,
  type Taint,
  isAlreadyExists,
  isConflict,
  isNotFound,
  rfc3339Micro,
} from "@corekube/api";
import { LEASES, NODES, PODS, type ResourceClient, type RestClient, SharedInformer } from "@corekube/client";
import { mapLimit, retryTransient } from "./concurrency.js";
import { IPAllocator, nodeIPForNode, podCIDRForNode } from "./ipv4.js";
import { NODE_LEASE_NAMESPACE, SIMULATED_LABEL, buildLease, buildNode, healthyConditions } from "./node-objects.js";
import {
  type PodMemory,
  type PodStep,
  type PodTiming,
  finishedStatus,
  isFinished,
  nextStep,
  restartedStatus,
  runDurationMs,
  runningStatus,
} from "./pod-lifecycle.js";

export interface SimulatedNodesOptions {
  client: RestClient;
  /** How many nodes: `${namePrefix}0` ... `${namePrefix}${count - 1}`. */
  count: number;
  namePrefix?: string;
  /** Capacity (and allocatable) of every node. */
  cpu?: string;
  memory?: string;
  pods?: number;
  ephemeralStorage?: string;
  /** Extra labels and taints for every node. */
  labels?: Record<string, string>;
  taints?: Taint[];
  /** Extra labels and taints for node i (added after the shared ones), e.g. a zone per node. */
  perNode?: (index: number) => { labels?: Record<string, string>; taints?: Taint[] } | undefined;
  /**
   * How often each node renews its Lease (the kubelet: every 10 s, a quarter of its 40 s lease).
   * Each renewal is one request, so N nodes send N / interval writes per second: past ~1,000 nodes
   * raise it (e.g. 20-30 s) so heartbeats do not crowd out the traffic you want to measure, keeping
   * it well below the node-lifecycle controller's grace period.
   */
  heartbeatIntervalMs?: number;
  leaseDurationSeconds?: number;
  /** How often the Ready condition's lastHeartbeatTime is refreshed (the kubelet's nodeStatusReportFrequency). */
  statusIntervalMs?: number;
  /** From seeing a pod bound to one of the nodes to reporting it Running. */
  startDelayMs?: number;
  /** How long containers of Never/OnFailure pods run, unless the pod's sim.corekube.io/run-duration says otherwise. */
  completeAfterMs?: number;
  /** The simulation does not wait a pod's whole termination grace period: at most this long. */
  maxGraceMs?: number;
  /**
   * Pod ranges are /24s counted from this base: node i gets the i-th /24 after <base>.0.0, so
   * 10.244.<i>.0/24 for the first 256 nodes, then 10.245.0.0/24 and on (see podCIDRForNode).
   * A node that already has a podCIDR keeps it.
   */
  podCIDRBase?: string;
  /** InternalIPs: node i is the (i % 254 + 1)-th host of the (i / 254)-th /24 after <base>.0.0. */
  nodeIPBase?: string;
  /** Node registrations in flight at once. */
  registerConcurrency?: number;
  /** On a clean stop, delete the Nodes and their Leases. */
  deleteNodesOnStop?: boolean;
  log?: (message: string) => void;
}

interface SimNode {
  readonly name: string;
  readonly index: number;
  ip: string;
  podCIDR: string;
  uid?: string;
  allocator: IPAllocator;
  failed: boolean;
  /** lastTransitionTime of the node's conditions. */
  readySince: Date;
  lease?: Lease;
  leaseTimer?: NodeJS.Timeout;
  statusTimer?: NodeJS.Timeout;
  /** Heartbeat writes on their way. */
  inflight: Set<Promise<unknown>>;
}

interface PodRecord {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  mem: PodMemory;
  timer?: NodeJS.Timeout;
  step?: PodStep;
  inFlight: boolean;
  /** The pod's IP from our node's range, while it holds one. */
  ip?: string;
  /** The resourceVersion of our last write: older events are stale and ignored. */
  minRV?: bigint;
  failures: number;
  waitingForIP?: boolean;
  warnedDuration?: boolean;
}

const rvNumber = (rv: string | undefined): bigint | undefined => {
  if (!rv || !/^\d+$/.test(rv)) return undefined;
  return BigInt(rv);
};

/** A fleet of simulated nodes and the kubelet stand-in that runs their pods. */
export class SimulatedNodes {
  private readonly client: RestClient;
  private readonly nodesApi: ResourceClient<Node>;
  private readonly leasesApi: ResourceClient<Lease>;
  private readonly podsApi: ResourceClient<Pod>;
  private readonly opts: Required<Omit<SimulatedNodesOptions, "client" | "labels" | "taints" | "perNode" | "log">> &
    Pick<SimulatedNodesOptions, "labels" | "taints" | "perNode">;
  private readonly timing: PodTiming;
  private readonly log: (message: string) => void;
  private readonly nodes = new Map<string, SimNode>();
  private readonly pods = new Map<string, PodRecord>();
  private readonly inflight = new Set<Promise<unknown>>();
  private informer: SharedInformer<Pod> | undefined;
  private readonly bootID = randomUUID();
  private started = false;
  private registering: Promise<void> | undefined;
  private stopped = false;

  constructor(options: SimulatedNodesOptions) {
    if (!Number.isInteger(options.count) || options.count < 0) throw new Error(`count must be a whole number, got ${options.count}`);
    this.client = options.client;
    this.opts = {
      count: options.count,
      namePrefix: options.namePrefix ?? "sim-",
      cpu: options.cpu ?? "8",
      memory: options.memory ?? "32Gi",
      pods: options.pods ?? 110,
      ephemeralStorage: options.ephemeralStorage ?? "100Gi",
      labels: options.labels,
      taints: options.taints,
      perNode: options.perNode,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 10_000,
      leaseDurationSeconds: options.leaseDurationSeconds ?? 40,
      statusIntervalMs: options.statusIntervalMs ?? 60_000,
      startDelayMs: options.startDelayMs ?? 200,
      completeAfterMs: options.completeAfterMs ?? 1000,
      maxGraceMs: options.maxGraceMs ?? 1000,
      podCIDRBase: options.podCIDRBase ?? "10.244",
      nodeIPBase: options.nodeIPBase ?? "172.16",
      registerConcurrency: options.registerConcurrency ?? 32,
      deleteNodesOnStop: options.deleteNodesOnStop ?? false,
    };
    if (this.opts.heartbeatIntervalMs <= 0 || this.opts.statusIntervalMs <= 0) throw new Error("heartbeat and status intervals must be positive");
    this.timing = { startDelayMs: this.opts.startDelayMs, completeAfterMs: this.opts.completeAfterMs, maxGraceMs: this.opts.maxGraceMs };
    this.log = options.log ?? (() => {});
    this.nodesApi = this.client.resource<Node>(NODES);
    this.leasesApi = this.client.resource<Lease>(LEASES);
    this.podsApi = this.client.resource<Pod>(PODS);
  }

  /** The names of the nodes this process plays, in index order. */
  nodeNames(): string[] {
    return Array.from({ length: this.opts.count }, (_, i) => `${this.opts.namePrefix}${i}`);
  }

  /**
   * Registers (or adopts) every node and its Lease, then starts the heartbeats and the pod watch.
   * Rejects, leaving nothing running, if a node cannot be registered.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error("SimulatedNodes already started");
    this.started = true;
    const names = this.nodeNames();
    this.registering = mapLimit(names, this.opts.registerConcurrency, (name, i) => this.register(name, i)).then(() => {});
    try {
      await this.registering;
    } catch (e) {
      await this.stop({ failed: true });
      throw e;
    }
    if (this.stopped) return; // stop() came while we registered
    this.log(`registered ${names.length} simulated node(s)${names.length ? ` (${names[0]} .. ${names[names.length - 1]})` : ""}`);
    const count = this.nodes.size;
    for (const node of this.nodes.values()) {
      // Spread the first heartbeats evenly over one interval, so N nodes do not all write at once.
      const offset = count > 1 ? node.index / count : 0;
      this.scheduleLease(node, offset * this.opts.heartbeatIntervalMs);
      this.scheduleStatus(node, offset * this.opts.statusIntervalMs);
    }
    const informer = SharedInformer.forResource<Pod>(this.client, PODS, {
      fieldSelector: "spec.nodeName!=",
      onError: (err, phase) => this.log(`pod ${phase} failed (will retry): ${(err as Error).message}`),
    });
    this.informer = informer;
    informer.addEventHandler({
      onAdd: (pod) => this.observe(pod),
      onUpdate: (_old, pod) => this.observe(pod),
      onDelete: (pod) => this.forgetPod(pod.metadata.uid ?? ""),
    });
    informer.start();
    await informer.waitForSync();
  }

  /**
   * Stops heartbeats and the pod watch. With `failed`, acts out a node failure: the Nodes and Leases
   * stay and simply stop being renewed (the node-lifecycle controller then marks them NotReady).
   * Otherwise, with deleteNodesOnStop, the Nodes and Leases are deleted.
   */
  async stop(opts: { failed?: boolean } = {}): Promise<void> {
    if (this.stopped) {
      await this.settle();
      return;
    }
    this.stopped = true;
    await this.registering?.catch(() => {});
    for (const node of this.nodes.values()) this.stopHeartbeats(node);
    for (const rec of this.pods.values()) this.cancel(rec);
    await this.informer?.stop();
    await this.settle();
    if (!opts.failed && this.opts.deleteNodesOnStop) {
      const names = [...this.nodes.keys()];
      await mapLimit(names, this.opts.registerConcurrency, async (name) => {
        await this.ignoreNotFound(() => this.leasesApi.delete(name, { namespace: NODE_LEASE_NAMESPACE }));
        await this.ignoreNotFound(() => this.nodesApi.delete(name));
      }).catch((e: unknown) => this.log(`deleting nodes: ${(e as Error).message}`));
      this.log(`deleted ${names.length} simulated node(s)`);
    }
  }

  /**
   * One node fails: its Lease and status stop being renewed and its pods are left as they are; the
   * others go on. Resolves once the node's writes already in flight have landed, so the Lease seen
   * afterwards is the last one.
   */
  async failNode(name: string): Promise<void> {
    const node = this.mustGet(name);
    if (!node.failed) {
      node.failed = true;
      this.stopHeartbeats(node);
      for (const rec of this.pods.values()) if (rec.node === name) this.cancel(rec);
      this.log(`node ${name}: failed (no more heartbeats)`);
    }
    await Promise.allSettled([...node.inflight]);
  }

  /** A failed node comes back: heartbeats resume at once and its pods are played again. */
  recoverNode(name: string): void {
    const node = this.mustGet(name);
    if (!node.failed || this.stopped) return;
    node.failed = false;
    // The node-lifecycle controller has probably marked it Unknown meanwhile: Ready changes now.
    node.readySince = new Date();
    this.scheduleLease(node, 0);
    this.scheduleStatus(node, 0);
    for (const pod of this.informer?.lister().list() ?? []) if (pod.spec.nodeName === name) this.observe(pod);
    this.log(`node ${name}: recovered`);
  }

  /** The pod CIDR and InternalIP a node was given (undefined for a name that is not ours). */
  nodeAddresses(name: string): { podCIDR: string; internalIP: string } | undefined {
    const n = this.nodes.get(name);
    return n ? { podCIDR: n.podCIDR, internalIP: n.ip } : undefined;
  }

  // ---- registration and heartbeats ----------------------------------------------------------

  private async register(name: string, index: number): Promise<void> {
    if (this.stopped) return;
    const per = this.opts.perNode?.(index) ?? {};
    const podCIDR = podCIDRForNode(this.opts.podCIDRBase, index);
    const nodeIP = nodeIPForNode(this.opts.nodeIPBase, index);
    const now = new Date();
    const desired = buildNode(
      {
        name,
        cpu: this.opts.cpu,
        memory: this.opts.memory,
        pods: this.opts.pods,
        ephemeralStorage: this.opts.ephemeralStorage,
        labels: { ...this.opts.labels, ...per.labels },
        taints: [...(this.opts.taints ?? []), ...(per.taints ?? [])],
        podCIDR,
        nodeIP,
      },
      now,
      this.bootID,
    );
    let node: Node;
    try {
      node = await retryTransient(() => this.nodesApi.create(desired));
    } catch (e) {
      if (!isAlreadyExists(e)) throw new Error(`registering node ${name}: ${(e as Error).message}`);
      node = await this.adopt(desired);
    }
    const cidr = node.spec?.podCIDR || podCIDR;
    const sim: SimNode = {
      name,
      index,
      ip: nodeIP,
      podCIDR: cidr,
      uid: node.metadata.uid,
      allocator: new IPAllocator(cidr),
      failed: false,
      readySince: now,
      inflight: new Set(),
    };
    this.nodes.set(name, sim);
    sim.lease = await this.ensureLease(sim);
  }

  /**
   * Takes over a Node that already exists (say, from an earlier run that stopped without deleting):
   * only nodes with the simulated label, so a real node is never taken over. Its labels are added
   * to, its pod CIDR kept if it has one, and its status replaced by ours.
   */
  private async adopt(desired: Node): Promise<Node> {
    const name = desired.metadata.name!;
    const existing = await retryTransient(() => this.nodesApi.get(name));
    if (existing.metadata.labels?.[SIMULATED_LABEL] !== "true") {
      throw new Error(`node ${name} already exists and is not a simulated node (no ${SIMULATED_LABEL}=true label): refusing to take it over`);
    }
    const spec: Record<string, unknown> = {};
    if (!existing.spec?.podCIDR) Object.assign(spec, { podCIDR: desired.spec!.podCIDR, podCIDRs: desired.spec!.podCIDRs });
    const patched = await retryTransient(() =>
      this.nodesApi.patch(name, { metadata: { labels: desired.metadata.labels }, ...(Object.keys(spec).length ? { spec } : {}) }, "merge"),
    );
    await retryTransient(() => this.nodesApi.patch(name, { status: desired.status }, "merge", { subresource: "status" }));
    return patched;
  }

  private async ensureLease(node: SimNode): Promise<Lease> {
    const lease = buildLease({ name: node.name, uid: node.uid }, this.opts.leaseDurationSeconds, new Date());
    try {
      return await retryTransient(() => this.leasesApi.create(lease));
    } catch (e) {
      if (!isAlreadyExists(e)) throw new Error(`creating the lease of node ${node.name}: ${(e as Error).message}`);
    }
    const existing = await retryTransient(() => this.leasesApi.get(node.name, NODE_LEASE_NAMESPACE));
    const spec = existing.spec ?? {};
    const next: Lease = {
      ...existing,
      metadata: { ...existing.metadata, ownerReferences: lease.metadata.ownerReferences },
      spec: {
        ...lease.spec,
        acquireTime: spec.holderIdentity === node.name ? spec.acquireTime : lease.spec.renewTime,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (spec.holderIdentity && spec.holderIdentity !== node.name ? 1 : 0),
      },
    };
    return retryTransient(() => this.leasesApi.update(next));
  }

  private scheduleLease(node: SimNode, delayMs: number): void {
    clearTimeout(node.leaseTimer);
    node.leaseTimer = setTimeout(() => {
      node.leaseTimer = undefined;
      const t0 = Date.now();
      void this.trackNode(node, this.renewLease(node)).finally(() => {
        if (this.stopped || node.failed || node.leaseTimer) return;
        this.scheduleLease(node, Math.max(0, this.opts.heartbeatIntervalMs - (Date.now() - t0)));
      });
    }, delayMs);
  }

  private scheduleStatus(node: SimNode, delayMs: number): void {
    clearTimeout(node.statusTimer);
    node.statusTimer = setTimeout(() => {
      node.statusTimer = undefined;
      const t0 = Date.now();
      void this.trackNode(node, this.reportStatus(node)).finally(() => {
        if (this.stopped || node.failed || node.statusTimer) return;
        this.scheduleStatus(node, Math.max(0, this.opts.statusIntervalMs - (Date.now() - t0)));
      });
    }, delayMs);
  }

  private stopHeartbeats(node: SimNode): void {
    clearTimeout(node.leaseTimer);
    clearTimeout(node.statusTimer);
    node.leaseTimer = undefined;
    node.statusTimer = undefined;
  }

  /** Renews the node's Lease: an update of our last copy; on Conflict re-read once, on NotFound create it again. */
  private async renewLease(node: SimNode): Promise<void> {
    if (this.stopped || node.failed) return;
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        const base = node.lease ?? buildLease({ name: node.name, uid: node.uid }, this.opts.leaseDurationSeconds, new Date());
        const next: Lease = { ...base, spec: { ...base.spec, holderIdentity: node.name, renewTime: rfc3339Micro(new Date()) } };
        try {
          node.lease = next.metadata.resourceVersion ? await this.leasesApi.update(next) : await this.leasesApi.create(next);
          return;
        } catch (e) {
          if (isConflict(e)) node.lease = await this.leasesApi.get(node.name, NODE_LEASE_NAMESPACE);
          else if (isNotFound(e)) node.lease = undefined;
          else throw e;
        }
      }
    } catch (e) {
      this.log(`node ${node.name}: renewing lease: ${(e as Error).message}`);
    }
  }

  /** Refreshes the conditions' lastHeartbeatTime (a merge patch of status.conditions). */
  private async reportStatus(node: SimNode): Promise<void> {
    if (this.stopped || node.failed) return;
    try {
      const conditions = healthyConditions(node.readySince, new Date());
      await this.nodesApi.patch(node.name, { status: { conditions } }, "merge", { subresource: "status" });
    } catch (e) {
      this.log(`node ${node.name}: updating status: ${(e as Error).message}`);
    }
  }

  // ---- pods ----------------------------------------------------------------------------------

  private observe(pod: Pod): void {
    const node = this.nodes.get(pod.spec.nodeName ?? "");
    const uid = pod.metadata.uid;
    if (!node || !uid || this.stopped) return;
    let rec = this.pods.get(uid);
    if (!rec) {
      rec = { uid, namespace: pod.metadata.namespace ?? "default", name: pod.metadata.name ?? "", node: node.name, mem: { firstSeenMs: Date.now() }, inFlight: false, failures: 0 };
      this.pods.set(uid, rec);
      // A pod we started before a restart of ours keeps its address.
      const ip = pod.status?.podIP;
      if (ip && !isFinished(pod) && !pod.spec.hostNetwork && node.allocator.reserve(ip)) rec.ip = ip;
    }
    const rv = rvNumber(pod.metadata.resourceVersion);
    if (rec.minRV !== undefined && rv !== undefined && rv < rec.minRV) return;
    if (node.failed) return;
    this.schedule(rec, pod);
  }

  private schedule(rec: PodRecord, pod: Pod): void {
    if (rec.inFlight || this.stopped) return;
    if (pod.metadata.deletionTimestamp && rec.mem.deletingSinceMs === undefined) rec.mem.deletingSinceMs = Date.now();
    if (isFinished(pod)) this.releaseIP(rec);
    const step = nextStep(pod, rec.mem, this.timing);
    if (!step) {
      this.cancel(rec);
      return;
    }
    if (step.action === "start" && rec.waitingForIP && !rec.ip) return;
    if (rec.timer && rec.step && rec.step.action === step.action && rec.step.atMs === step.atMs) return;
    this.cancel(rec);
    rec.step = step;
    rec.timer = setTimeout(() => {
      rec.timer = undefined;
      void this.trackPod(rec, this.fire(rec));
    }, Math.max(0, step.atMs - Date.now()));
  }

  private cancel(rec: PodRecord): void {
    clearTimeout(rec.timer);
    rec.timer = undefined;
    rec.step = undefined;
  }

  /** The informer's copy of the pod, if it is still the same pod. */
  private cached(rec: PodRecord): Pod | undefined {
    const pod = this.informer?.lister().get(rec.name, rec.namespace);
    return pod && pod.metadata.uid === rec.uid ? pod : undefined;
  }

  private async fire(rec: PodRecord): Promise<void> {
    const node = this.nodes.get(rec.node);
    const pod = this.cached(rec);
    if (!pod || !node || node.failed || this.stopped || this.pods.get(rec.uid) !== rec) return;
    rec.inFlight = true;
    let latest: Pod | undefined;
    let retryMs: number | undefined;
    try {
      const out = await this.perform(rec, node, pod);
      if (out === "gone") {
        this.forgetPod(rec.uid);
        return;
      }
      latest = out;
      rec.failures = 0;
    } catch (e) {
      rec.failures++;
      retryMs = Math.min(30_000, 250 * 2 ** Math.min(rec.failures, 7));
      this.log(`pod ${rec.namespace}/${rec.name} on ${rec.node}: ${(e as Error).message} (retrying in ${retryMs} ms)`);
    } finally {
      rec.inFlight = false;
    }
    if (this.stopped || node.failed || this.pods.get(rec.uid) !== rec) return;
    if (retryMs !== undefined) {
      this.cancel(rec);
      rec.timer = setTimeout(() => {
        rec.timer = undefined;
        void this.trackPod(rec, this.fire(rec));
      }, retryMs);
      return;
    }
    // Go on from whichever copy is newer: our write's answer or what the informer has seen since.
    const cached = this.cached(rec);
    const a = rvNumber(latest?.metadata.resourceVersion);
    const b = rvNumber(cached?.metadata.resourceVersion);
    const pick = latest && (!cached || (a !== undefined && b !== undefined && a >= b)) ? latest : cached;
    if (pick) this.schedule(rec, pick);
  }

  /**
   * Carries out the step that is due, on a fresh copy after a Conflict. Returns the pod as written
   * (or as read, when nothing was due), or "gone" when the pod no longer exists.
   */
  private async perform(rec: PodRecord, node: SimNode, pod: Pod): Promise<Pod | "gone"> {
    let current = pod;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (current.metadata.deletionTimestamp && rec.mem.deletingSinceMs === undefined) rec.mem.deletingSinceMs = Date.now();
      const step = nextStep(current, rec.mem, this.timing);
      if (!step || step.atMs > Date.now() + 5) return current;
      try {
        const written = await this.act(rec, node, current, step);
        if (written === "gone" || written === "waiting") return written === "gone" ? "gone" : current;
        const rv = rvNumber(written.metadata.resourceVersion);
        if (rv !== undefined) rec.minRV = rv;
        return written;
      } catch (e) {
        if (isNotFound(e)) return "gone";
        if (!isConflict(e)) throw e;
        // Someone else wrote the pod (or, for a delete, it is a new pod with the same name): re-read.
        try {
          current = await this.podsApi.get(rec.name, rec.namespace);
        } catch (e2) {
          if (isNotFound(e2)) return "gone";
          throw e2;
        }
        if (current.metadata.uid !== rec.uid) return "gone";
      }
    }
    throw new Error("gave up after repeated conflicts");
  }

  private async act(rec: PodRecord, node: SimNode, pod: Pod, step: PodStep): Promise<Pod | "gone" | "waiting"> {
    const now = Date.now();
    const dur = runDurationMs(pod, this.opts.completeAfterMs);
    if (dur.error && !rec.warnedDuration) {
      rec.warnedDuration = true;
      this.log(`pod ${rec.namespace}/${rec.name}: ${dur.error}; using ${this.opts.completeAfterMs} ms`);
    }
    switch (step.action) {
      case "delete":
        // The kubelet confirms that the containers are gone: delete at once, only this very pod.
        await this.podsApi.delete(rec.name, { namespace: rec.namespace, gracePeriodSeconds: 0, preconditions: { uid: rec.uid } });
        return "gone";
      case "start": {
        let podIP: string;
        if (pod.spec.hostNetwork) podIP = node.ip;
        else {
          rec.ip ??= node.allocator.allocate();
          if (!rec.ip) {
            if (!rec.waitingForIP) this.log(`pod ${rec.namespace}/${rec.name}: no free pod IP left in ${node.podCIDR}; it stays Pending`);
            rec.waitingForIP = true;
            return "waiting";
          }
          podIP = rec.ip;
        }
        rec.waitingForIP = false;
        const written = await this.podsApi.updateStatus({ ...pod, status: runningStatus(pod, { hostIP: node.ip, podIP, nowMs: now }) });
        rec.mem.runningSinceMs = now;
        return written;
      }
      case "succeed":
      case "fail": {
        const written = await this.podsApi.updateStatus({ ...pod, status: finishedStatus(pod, step.action === "succeed" ? "success" : "failure", now) });
        this.releaseIP(rec);
        return written;
      }
      case "restart": {
        const written = await this.podsApi.updateStatus({ ...pod, status: restartedStatus(pod, now) });
        rec.mem.runningSinceMs = now;
        return written;
      }
    }
  }

  private releaseIP(rec: PodRecord): void {
    if (!rec.ip) return;
    const node = this.nodes.get(rec.node);
    node?.allocator.release(rec.ip);
    rec.ip = undefined;
    // A pod that waited for an address may go now.
    if (node && !node.failed) {
      for (const other of this.pods.values()) {
        if (other.node !== node.name || !other.waitingForIP) continue;
        other.waitingForIP = false;
        const p = this.cached(other);
        if (p) this.schedule(other, p);
        break;
      }
    }
  }

  private forgetPod(uid: string): void {
    const rec = this.pods.get(uid);
    if (!rec) return;
    this.cancel(rec);
    this.pods.delete(uid);
    this.releaseIP(rec);
  }

  // ---- helpers -------------------------------------------------------------------------------

  private mustGet(name: string): SimNode {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`${name} is not one of these simulated nodes`);
    return node;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => {});
    return p;
  }

  private trackPod<T>(rec: PodRecord, p: Promise<T>): Promise<T> {
    const node = this.nodes.get(rec.node);
    return node ? this.trackNode(node, p) : this.track(p);
  }

  private trackNode<T>(node: SimNode, p: Promise<T>): Promise<T> {
    node.inflight.add(p);
    void p.finally(() => node.inflight.delete(p)).catch(() => {});
    return this.track(p);
  }

  private async settle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  private async ignoreNotFound(fn: () => Promise<unknown>): Promise<void> {
    try {
      await retryTransient(fn);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
