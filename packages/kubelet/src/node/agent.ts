// Book 9.3 (node lifecycle; leases and locks): the kubelet's side of being a node: register the Node,
// renew its Lease every 10 s, and patch its status when something changed (or every 5 minutes).
import { buildNodeLease, isAlreadyExists, isConflict, isNotFound, type Lease, NODE_LEASE_NAMESPACE, type Node } from "@corekube/api";
import { LEASES, NODES, type RestClient } from "@corekube/client";
import { readMachine } from "./machine.js";
import { type NodeIdentity, nodeStatus, registrationNode, type RuntimeHealth, statusChanged } from "./status.js";

export interface NodeAgentOptions {
  client: RestClient;
  identity: NodeIdentity;
  /** The kubelet's root directory (its filesystem is the node's disk). */
  rootDir: string;
  /** Whether the runtime and network are ready (the Ready condition). */
  health: () => RuntimeHealth;
  /** How often status is computed and written if it changed (nodeStatusUpdateFrequency). */
  statusIntervalMs?: number;
  /** How often status is written even if unchanged (nodeStatusReportFrequency). */
  reportIntervalMs?: number;
  leaseDurationSeconds?: number;
  /** How often the Lease is renewed (a quarter of its duration upstream). */
  leaseRenewMs?: number;
  log?: (line: string) => void;
}

export class NodeAgent {
  private node: Node | undefined;
  private lastReport = 0;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private readonly log: (line: string) => void;

  constructor(private readonly o: NodeAgentOptions) {
    this.log = o.log ?? (() => undefined);
  }

  get name(): string {
    return this.o.identity.name;
  }

  /** The Node as last written or read. */
  current(): Node | undefined {
    return this.node;
  }

  /** Creates the Node, or adopts an existing one of the same name (its status is rewritten). */
  async register(): Promise<Node> {
    const nodes = this.o.client.resource<Node>(NODES);
    const m = await readMachine(this.o.rootDir);
    const now = new Date();
    try {
      this.node = await nodes.create(registrationNode(this.o.identity, m, this.o.health(), now));
      this.log(`node ${this.name} registered`);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const wanted = registrationNode(this.o.identity, m, this.o.health(), now);
      await nodes.patch(this.name, { metadata: { labels: wanted.metadata.labels } }, "strategic");
      this.node = await nodes.get(this.name);
      await this.syncStatus(true);
      this.log(`node ${this.name} already registered; adopted`);
    }
    this.lastReport = Date.now();
    return this.node!;
  }

  /** Starts the Lease and status loops (after register()). */
  start(): void {
    const every = (ms: number, fn: () => Promise<void>) => {
      const tick = async () => {
        if (this.stopped) return;
        await fn().catch((e) => this.log(`node ${this.name}: ${(e as Error).message}`));
        if (!this.stopped) this.timers.push(setTimeout(tick, ms));
      };
      void tick();
    };
    every(this.o.leaseRenewMs ?? 10_000, () => this.renewLease());
    every(this.o.statusIntervalMs ?? 10_000, () => this.syncStatus(false));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  /** Writes status if it changed, or if the report interval passed, or when forced. */
  async syncStatus(force: boolean): Promise<void> {
    const nodes = this.o.client.resource<Node>(NODES);
    const m = await readMachine(this.o.rootDir);
    const cur = this.node;
    const next = nodeStatus(this.o.identity, m, this.o.health(), cur?.status?.conditions ?? [], new Date());
    const due = Date.now() - this.lastReport >= (this.o.reportIntervalMs ?? 5 * 60_000);
    if (!force && !due && !statusChanged(cur?.status, next)) return;
    this.node = await nodes.patch(this.name, { status: next }, "strategic", { subresource: "status" });
    this.lastReport = Date.now();
  }

  /** Renews (or creates) the node's Lease in kube-node-lease. */
  async renewLease(): Promise<void> {
    const leases = this.o.client.resource<Lease>(LEASES);
    const want = buildNodeLease({ name: this.name, uid: this.node?.metadata.uid }, this.o.leaseDurationSeconds ?? 40, new Date());
    try {
      const cur = await leases.get(this.name, NODE_LEASE_NAMESPACE);
      await leases.update({ ...cur, spec: { ...cur.spec, ...want.spec } });
    } catch (e) {
      if (isNotFound(e)) await leases.create(want).catch((err) => (isAlreadyExists(err) ? undefined : Promise.reject(err)));
      else if (!isConflict(e)) throw e;
    }
  }
}
