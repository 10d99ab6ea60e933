// Test support (Book 2.3.2, 11.2.3-11.2.4): a scheduler end to end — a real `corekube apiserver` over
// `corekube kv`, simulated nodes and the scheduler in-process, plus pod builders and polling waits.
import type { CoreEvent, KubeObject, Node, Pod, PodCondition, PriorityClass } from "@corekube/api";
import { EVENTS, NAMESPACES, NODES, PODS, PRIORITY_CLASSES, RestClient } from "@corekube/client";
import { type SchedulerConfiguration, defaultConfiguration } from "@corekube/scheduler/config";
import { type RunSchedulerOptions, type RunningScheduler, runScheduler } from "@corekube/scheduler/run";
import { SimulatedNodes, type SimulatedNodesOptions } from "@corekube/simnodes";
import { type ControlPlane, startControlPlane } from "../support/apiserver-process.js";

import { eventually } from "../support/eventually.js";

export { eventually };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface PodOptions {
  cpu?: string;
  memory?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Anything else for the spec (affinity, tolerations, priorityClassName, schedulerName, ...). */
  spec?: Partial<Pod["spec"]>;
}

/** A one-container pod with optional requests; `spec` fields are laid over the defaults. */
export function pod(namespace: string, name: string, o: PodOptions = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: o.labels, annotations: o.annotations },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: "app", image: "registry.example/app:1", ...(Object.keys(requests).length ? { resources: { requests } } : {}) }],
      ...o.spec,
    },
  };
}

/** Small, quick simulated nodes: heartbeats every second, pods start in 50 ms, nodes deleted on stop. */
export const SIM_DEFAULTS: Partial<SimulatedNodesOptions> = {
  cpu: "4",
  memory: "16Gi",
  pods: 110,
  heartbeatIntervalMs: 1000,
  statusIntervalMs: 5000,
  startDelayMs: 50,
  completeAfterMs: 500,
  maxGraceMs: 200,
  deleteNodesOnStop: true,
};

/** The default configuration with the backoff kept short, so retries in tests come within a few seconds. */
export function testConfiguration(): SchedulerConfiguration {
  const c = defaultConfiguration();
  c.podInitialBackoffSeconds = 1;
  c.podMaxBackoffSeconds = 2;
  return c;
}

/**
 * One control plane for a test file, plus what a test starts on it (simulated nodes, schedulers),
 * stopped by `reset()` after each test and by `stop()` after the file.
 */
export class TestCluster {
  readonly logs: string[] = [];
  private sims: SimulatedNodes[] = [];
  private schedulers: RunningScheduler[] = [];
  private namespaces: string[] = [];

  private constructor(
    readonly cp: ControlPlane,
    readonly client: RestClient,
  ) {}

  static async start(): Promise<TestCluster> {
    const cp = await startControlPlane();
    try {
      const client = await RestClient.fromKubeconfig({ path: cp.kubeconfig, qps: 0 });
      return new TestCluster(cp, client);
    } catch (e) {
      await cp.stop();
      throw e;
    }
  }

  get kubeconfig(): string {
    return this.cp.kubeconfig;
  }

  pods() {
    return this.client.resource<Pod>(PODS);
  }
  nodesApi() {
    return this.client.resource<Node>(NODES);
  }

  private log(source: string) {
    return (line: string) => {
      this.logs.push(`${new Date().toISOString()} ${source}: ${line}`);
      if (this.logs.length > 5000) this.logs.splice(0, 1000);
    };
  }

  /** Registers `count` simulated nodes named `${namePrefix}0..` and waits until they exist. */
  async addNodes(o: Partial<SimulatedNodesOptions> & { namePrefix: string; count: number }): Promise<SimulatedNodes> {
    const sim = new SimulatedNodes({ client: this.client, ...SIM_DEFAULTS, log: this.log(`sim ${o.namePrefix}`), ...o });
    this.sims.push(sim);
    await sim.start();
    return sim;
  }

  /** An in-process scheduler; resolves once it leads (at once without leader election) with synced caches. */
  async scheduler(o: Partial<RunSchedulerOptions> & { waitLeading?: boolean } = {}): Promise<RunningScheduler> {
    const { waitLeading = true, ...rest } = o;
    const s = await runScheduler({
      kubeconfig: this.kubeconfig,
      leaderElect: false,
      config: testConfiguration(),
      log: this.log(`scheduler ${o.identity ?? ""}`.trim()),
      ...rest,
    });
    this.schedulers.push(s);
    if (waitLeading) await s.leading;
    return s;
  }

  /** Stops one scheduler started here (the others keep running). */
  async stopScheduler(s: RunningScheduler): Promise<void> {
    this.schedulers = this.schedulers.filter((x) => x !== s);
    await s.stop();
  }

  async namespace(name: string, labels?: Record<string, string>): Promise<string> {
    await this.client.resource<KubeObject>(NAMESPACES).create({ metadata: { name, labels } });
    this.namespaces.push(name);
    return name;
  }

  /** Creates a PriorityClass and waits until the API server's Priority admission can see it. */
  async priorityClass(name: string, value: number, preemptionPolicy?: PriorityClass["preemptionPolicy"]): Promise<void> {
    const pcs = this.client.resource<PriorityClass>(PRIORITY_CLASSES);
    await pcs.create({ metadata: { name }, value, ...(preemptionPolicy ? { preemptionPolicy } : {}) });
    await eventually(`PriorityClass ${name} in the watch cache`, async () => (await pcs.list({ resourceVersion: "0" })).items.some((c) => c.metadata.name === name));
  }

  /**
   * Stops every scheduler and simulated node started since the last reset (nodes are deleted), then
   * deletes the pods of the namespaces made since, so pods still pending do not land on the next test's nodes.
   */
  async reset(): Promise<void> {
    const schedulers = this.schedulers.splice(0);
    const sims = this.sims.splice(0);
    const results = await Promise.allSettled([...schedulers.map((s) => s.stop()), ...sims.map((s) => s.stop())]);
    for (const ns of this.namespaces.splice(0)) {
      const pods = (await this.pods().list({ namespace: ns })).items;
      await Promise.allSettled(pods.map((p) => this.pods().delete(p.metadata.name!, { namespace: ns, gracePeriodSeconds: 0 })));
    }
    if (process.env.SCHEDULER_TEST_LOG) console.log(this.logs.splice(0).join("\n"));
    else this.logs.splice(0);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  async stop(): Promise<void> {
    await this.reset().catch(() => undefined);
    await this.client.close();
    await this.cp.stop();
  }

  // ---- reading what a user would see ----

  getPod(namespace: string, name: string): Promise<Pod> {
    return this.pods().get(name, namespace);
  }

  async createPod(p: Pod): Promise<Pod> {
    return this.pods().create(p);
  }

  /** The node the pod was bound to, once it is. */
  waitScheduled(namespace: string, name: string, ms?: number): Promise<string> {
    return eventually(`${namespace}/${name} to be scheduled`, async () => (await this.getPod(namespace, name)).spec.nodeName || undefined, ms);
  }

  /** The pod's PodScheduled=False condition once its message matches. */
  waitUnschedulable(namespace: string, name: string, message: RegExp | string, ms?: number): Promise<PodCondition> {
    return eventually(
      `${namespace}/${name} to be unschedulable with ${message}`,
      async () => {
        const p = await this.getPod(namespace, name);
        const c = p.status?.conditions?.find((x) => x.type === "PodScheduled");
        if (p.spec.nodeName) throw new Error(`it was bound to ${p.spec.nodeName}`);
        if (!c || c.status !== "False") throw new Error(`no PodScheduled=False condition yet (conditions: ${JSON.stringify(p.status?.conditions ?? [])})`);
        const ok = typeof message === "string" ? c.message === message : message.test(c.message ?? "");
        if (!ok) throw new Error(`its condition says ${JSON.stringify(c.message)}`);
        return c;
      },
      ms,
    );
  }

  async events(namespace: string, name: string): Promise<CoreEvent[]> {
    const list = await this.client.resource(EVENTS).list({ namespace, fieldSelector: `involvedObject.name=${name}` });
    return list.items as unknown as CoreEvent[];
  }

  waitEvent(namespace: string, name: string, reason: string, message?: RegExp | string, ms?: number): Promise<CoreEvent> {
    return eventually(
      `a ${reason} event on ${namespace}/${name}${message ? ` saying ${message}` : ""}`,
      async () => {
        const evs = (await this.events(namespace, name)).filter((e) => e.reason === reason);
        if (message === undefined) return evs[0];
        const hit = evs.find((e) => (typeof message === "string" ? e.message === message : message.test(e.message)));
        if (!hit && evs.length) throw new Error(`${reason} events say ${JSON.stringify(evs.map((e) => e.message))}`);
        return hit;
      },
      ms,
    );
  }

  /** Bound pods of a namespace, counted per node. */
  async placement(namespace: string, labelSelector?: string): Promise<Map<string, number>> {
    const pods = (await this.pods().list({ namespace, labelSelector })).items;
    const out = new Map<string, number>();
    for (const p of pods) if (p.spec.nodeName) out.set(p.spec.nodeName, (out.get(p.spec.nodeName) ?? 0) + 1);
    return out;
  }

  /** Waits until `count` pods of the namespace (matching the selector) are bound; returns pod name -> node. */
  waitAllScheduled(namespace: string, count: number, labelSelector?: string, ms?: number): Promise<Map<string, string>> {
    return eventually(
      `${count} pods in ${namespace} to be scheduled`,
      async () => {
        const pods = (await this.pods().list({ namespace, labelSelector })).items.filter((p) => p.spec.nodeName);
        if (pods.length > count) throw new Error(`${pods.length} pods were scheduled, more than ${count}`);
        return pods.length === count ? new Map(pods.map((p) => [p.metadata.name!, p.spec.nodeName!])) : undefined;
      },
      ms,
    );
  }
}
