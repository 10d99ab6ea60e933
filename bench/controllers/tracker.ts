// Book 2.3.3 and 11.3: what the controller-manager benchmark observes, through watches only (as the
// pod-startup SLI says): each Deployment's status and each pod's life, with local arrival times.
import type { KubeObject, Pod, WatchEvent } from "@corekube/api";
import { DEPLOYMENTS, PODS, type ResourceClient, type RestClient } from "@corekube/client";

/** The fields of an apps/v1 Deployment the benchmark reads and writes. */
export interface Deployment extends KubeObject {
  spec: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> }; spec?: Pod["spec"] };
  };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; readyReplicas?: number; availableReplicas?: number };
}

/** The template env var whose value marks a pod's revision in this benchmark. */
export const REV_ENV = "BENCH_REVISION";
/** The pod label naming its Deployment. */
export const APP_LABEL = "bench.corekube.io/deployment";

interface PodRecord {
  deployment: string;
  rev: string;
  firstSeen: number;
  readyAt?: number;
  terminating: boolean;
}

/**
 * Follows one watch, starting again from the last resourceVersion seen whenever the stream ends
 * (server timeout, dropped connection) until stop().
 */
function follow<T extends KubeObject>(rc: ResourceClient<T>, namespace: string, rv: string, signal: AbortSignal, on: (ev: WatchEvent<T>) => void): Promise<void> {
  return (async () => {
    let last = rv;
    while (!signal.aborted) {
      try {
        for await (const ev of rc.watch({ namespace, resourceVersion: last, allowWatchBookmarks: true, timeoutSeconds: 3600, signal })) {
          if (ev.type === "ERROR") throw new Error(`watch ${rc.type.resource}: ${JSON.stringify(ev.object).slice(0, 300)}`);
          last = ev.object.metadata.resourceVersion ?? last;
          if (ev.type !== "BOOKMARK") on(ev);
        }
      } catch (e) {
        if (signal.aborted) return;
        console.error(`  (watch ${rc.type.resource} ended: ${(e as Error).message}; resuming from ${last})`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
}

const isReady = (p: Pod): boolean => p.status?.phase === "Running" && (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

const revOf = (p: Pod): string => {
  const env = p.spec?.containers?.[0]?.env as { name: string; value?: string }[] | undefined;
  return env?.find((e) => e.name === REV_ENV)?.value ?? "";
};

/** Watches the namespace's Deployments and pods and answers "when did each Deployment get there". */
export class Tracker {
  readonly deployments = new Map<string, Deployment>();
  /** Pods still present (DELETED not yet seen), by Deployment. */
  readonly pods = new Map<string, Map<string, PodRecord>>();
  /** Every pod seen in this tracker's life: startup latencies (ms), by revision. */
  readonly startups = new Map<string, number[]>();
  private ac = new AbortController();
  private running: Promise<void>[] = [];
  private goal?: { rev: string; replicas: number; rollout: boolean; reached: Map<string, number> };

  constructor(
    private readonly client: RestClient,
    readonly namespace: string,
  ) {}

  async start(): Promise<void> {
    const deps = this.client.resource<Deployment>(DEPLOYMENTS);
    const pods = this.client.resource<Pod>(PODS);
    const dl = await deps.list({ namespace: this.namespace });
    for (const d of dl.items) this.deployments.set(d.metadata.name!, d);
    const pl = await pods.list({ namespace: this.namespace });
    const now = performance.now();
    for (const p of pl.items) this.onPod({ type: "ADDED", object: p }, now);
    this.running.push(follow(deps, this.namespace, dl.metadata.resourceVersion ?? "0", this.ac.signal, (ev) => this.onDeployment(ev)));
    this.running.push(follow(pods, this.namespace, pl.metadata.resourceVersion ?? "0", this.ac.signal, (ev) => this.onPod(ev, performance.now())));
  }

  /**
   * From now on, records for each Deployment the first moment it has `replicas` available pods of
   * template revision `rev`; with `rollout`, also updatedReplicas == replicas, observedGeneration ==
   * generation and no pod of another revision left (DELETED seen).
   */
  expect(rev: string, replicas: number, rollout: boolean): Map<string, number> {
    const reached = new Map<string, number>();
    this.goal = { rev, replicas, rollout, reached };
    for (const name of this.deployments.keys()) this.check(name, performance.now());
    return reached;
  }

  private onDeployment(ev: WatchEvent<Deployment>): void {
    const name = ev.object.metadata.name!;
    if (ev.type === "DELETED") this.deployments.delete(name);
    else this.deployments.set(name, ev.object);
    this.check(name, performance.now());
  }

  private onPod(ev: WatchEvent<Pod>, t: number): void {
    const p = ev.object;
    const name = p.metadata.name!;
    const dep = p.metadata.labels?.[APP_LABEL];
    if (!dep) return;
    let byName = this.pods.get(dep);
    if (!byName) this.pods.set(dep, (byName = new Map()));
    if (ev.type === "DELETED") {
      byName.delete(name);
    } else {
      let rec = byName.get(name);
      if (!rec) byName.set(name, (rec = { deployment: dep, rev: revOf(p), firstSeen: t, terminating: false }));
      rec.terminating = !!p.metadata.deletionTimestamp;
      if (rec.readyAt === undefined && isReady(p)) {
        rec.readyAt = t;
        let list = this.startups.get(rec.rev);
        if (!list) this.startups.set(rec.rev, (list = []));
        list.push(t - rec.firstSeen);
      }
    }
    this.check(dep, t);
  }

  private check(name: string, t: number): void {
    const g = this.goal;
    if (!g || g.reached.has(name)) return;
    const d = this.deployments.get(name);
    const st = d?.status;
    if (!d || !st || (st.availableReplicas ?? 0) !== g.replicas) return;
    const pods = [...(this.pods.get(name)?.values() ?? [])];
    const current = pods.filter((p) => p.rev === g.rev && !p.terminating && p.readyAt !== undefined).length;
    if (current < g.replicas) return; // the status may be ahead of our pod watch
    if (g.rollout) {
      if ((st.updatedReplicas ?? 0) !== g.replicas || (st.replicas ?? 0) !== g.replicas) return;
      if ((st.observedGeneration ?? 0) !== (d.metadata.generation ?? 0)) return;
      if (pods.some((p) => p.rev !== g.rev)) return; // an old pod is still there (maybe terminating)
    }
    g.reached.set(name, t);
  }

  /** Pods (present, any revision) of every Deployment together. */
  podCount(): number {
    let n = 0;
    for (const m of this.pods.values()) n += m.size;
    return n;
  }

  async stop(): Promise<void> {
    this.ac.abort();
    await Promise.allSettled(this.running);
  }
}
