// Book 11.3: kube-controller-manager in one place: shared informers, and for each controller the
// handlers that turn events into keys, its pure reconcile, and a loop that performs the writes.
import type { KubeObject, Pod } from "@corekube/api";
import {
  CONFIGMAPS,
  CONTROLLER_REVISIONS,
  CRONJOBS,
  DAEMONSETS,
  DEPLOYMENTS,
  ENDPOINT_SLICES,
  ENDPOINTS,
  EVENTS,
  EventRecorder,
  InformerFactory,
  JOBS,
  LEASES,
  NAMESPACES,
  PERSISTENT_VOLUME_CLAIMS,
  POD_DISRUPTION_BUDGETS,
  PODS,
  REPLICASETS,
  type ResourceType,
  type RestClient,
  SECRETS,
  SERVICE_ACCOUNTS,
  SERVICES,
  STATEFULSETS,
  type SharedInformer,
} from "@corekube/client";
import { reconcileCronJob } from "./cronjob/reconcile.js";
import { reconcileDeployment } from "./deployment/reconcile.js";
import { reconcileEndpoints } from "./endpoints/reconcile.js";
import { Controller, type ControllerOptions } from "./framework/controller.js";
import { controllerRef } from "./framework/owners.js";
import { type Clock, realClock } from "./framework/types.js";
import { reconcileJob } from "./job/reconcile.js";
import { reconcileNamespace } from "./namespace/reconcile.js";
import { Expectations } from "./replicaset/expectations.js";
import { reconcileReplicaSet } from "./replicaset/reconcile.js";
import { reconcileServiceAccounts } from "./serviceaccount/reconcile.js";

export const CONTROLLER_NAMES = ["deployment", "replicaset", "job", "cronjob", "namespace", "serviceaccount", "endpoints"] as const;
export type ControllerName = (typeof CONTROLLER_NAMES)[number];

/** Namespaced resources the namespace controller empties (custom resources are not covered yet). */
const NAMESPACED_CONTENT: ResourceType[] = [
  PODS,
  SERVICES,
  ENDPOINTS,
  CONFIGMAPS,
  SECRETS,
  SERVICE_ACCOUNTS,
  PERSISTENT_VOLUME_CLAIMS,
  EVENTS,
  DEPLOYMENTS,
  REPLICASETS,
  STATEFULSETS,
  DAEMONSETS,
  CONTROLLER_REVISIONS,
  JOBS,
  CRONJOBS,
  ENDPOINT_SLICES,
  LEASES,
  POD_DISRUPTION_BUDGETS,
];

export interface ControllerManagerOptions {
  client: RestClient;
  /** Which controllers run ("*" = all). */
  controllers?: readonly string[];
  clock?: Clock;
  log?: (line: string) => void;
}

export class ControllerManager {
  readonly factory: InformerFactory;
  readonly controllers = new Map<ControllerName, Controller>();
  private readonly recorder: EventRecorder;
  private running: Promise<unknown> | undefined;

  constructor(opts: ControllerManagerOptions) {
    const client = opts.client;
    const clock = opts.clock ?? realClock;
    const log = opts.log ?? (() => undefined);
    const wanted = new Set(opts.controllers ?? ["*"]);
    const on = (name: ControllerName) => wanted.has("*") || wanted.has(name);
    for (const w of wanted) if (w !== "*" && !(CONTROLLER_NAMES as readonly string[]).includes(w)) throw new Error(`unknown controller ${JSON.stringify(w)} (known: ${CONTROLLER_NAMES.join(", ")})`);
    this.factory = new InformerFactory(client);
    this.recorder = new EventRecorder({ client, component: "controller-manager" });
    const inf = <T extends KubeObject = KubeObject>(rt: ResourceType): SharedInformer<T> => this.factory.forResource<T>(rt);
    const make = (name: ControllerName, reconcile: ControllerOptions["reconcile"], extra: Partial<ControllerOptions> = {}) => {
      const c = new Controller({ name, client, recorder: this.recorder, reconcile, log, ...extra });
      this.controllers.set(name, c);
      return c;
    };

    if (on("deployment")) {
      const deployments = inf(DEPLOYMENTS);
      const rss = inf(REPLICASETS);
      const pods = inf<Pod>(PODS);
      const c = make("deployment", (key) => reconcileDeployment(key, { deployments: deployments.lister(), replicaSets: rss.lister(), pods: pods.lister(), clock }));
      deployments.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n), onDelete: c.enqueue });
      const owner = (rs: KubeObject) => {
        const ref = controllerRef(rs);
        if (ref?.kind === "Deployment" && rs.metadata.namespace) c.queue.add(`${rs.metadata.namespace}/${ref.name}`);
        // An orphan ReplicaSet may be adopted by a Deployment of its namespace.
        else if (!ref) for (const d of deployments.lister().list({ namespace: rs.metadata.namespace })) c.enqueue(d);
      };
      rss.addEventHandler({ onAdd: owner, onUpdate: (_o, n) => owner(n), onDelete: owner });
      // Recreate waits for the old pods to be gone: a deleted pod may unblock its Deployment.
      pods.addEventHandler({
        onDelete: (p) => {
          const ref = controllerRef(p);
          if (ref?.kind !== "ReplicaSet") return;
          const rs = rss.lister().get(ref.name, p.metadata.namespace);
          if (rs) owner(rs);
        },
      });
    }

    if (on("cronjob")) {
      const cronJobs = inf(CRONJOBS);
      const jobs = inf(JOBS);
      const c = make("cronjob", (key) => reconcileCronJob(key, { cronJobs: cronJobs.lister(), jobs: jobs.lister(), clock }));
      cronJobs.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n) });
      const owner = (j: KubeObject) => {
        const ref = controllerRef(j);
        if (ref?.kind === "CronJob" && j.metadata.namespace) c.queue.add(`${j.metadata.namespace}/${ref.name}`);
      };
      jobs.addEventHandler({ onAdd: owner, onUpdate: (_o, n) => owner(n), onDelete: owner });
    }

    if (on("replicaset")) {
      const rss = inf(REPLICASETS);
      const pods = inf<Pod>(PODS);
      const expectations = new Expectations(clock);
      const c = make("replicaset", (key) => reconcileReplicaSet(key, { replicaSets: rss.lister(), pods: pods.lister(), expectations, clock }), {
        onActionFailed: (key, a) => {
          if (a.verb === "create" && a.resource === PODS) expectations.creationObserved(key);
          if (a.verb === "delete" && a.resource === PODS) expectations.deletionObserved(key);
        },
      });
      rss.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n), onDelete: c.enqueue });
      const ownerKey = (p: Pod): string | undefined => {
        const ref = controllerRef(p);
        return ref?.kind === "ReplicaSet" && p.metadata.namespace ? `${p.metadata.namespace}/${ref.name}` : undefined;
      };
      // An orphan may be adopted by any ReplicaSet of its namespace whose selector matches.
      const orphan = (p: Pod) => {
        for (const rs of rss.lister().list({ namespace: p.metadata.namespace })) c.enqueue(rs);
      };
      pods.addEventHandler({
        onAdd: (p) => {
          const k = ownerKey(p);
          if (k) {
            expectations.creationObserved(k);
            c.queue.add(k);
          } else orphan(p);
        },
        onUpdate: (o, n) => {
          const a = ownerKey(o);
          const b = ownerKey(n);
          if (a) c.queue.add(a);
          if (b && b !== a) c.queue.add(b);
          if (!b) orphan(n);
        },
        onDelete: (p) => {
          const k = ownerKey(p);
          if (k) {
            expectations.deletionObserved(k);
            c.queue.add(k);
          }
        },
      });
    }

    if (on("job")) {
      const jobs = inf(JOBS);
      const pods = inf<Pod>(PODS);
      const c = make("job", (key) => reconcileJob(key, { jobs: jobs.lister(), pods: pods.lister(), clock }));
      jobs.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n), onDelete: c.enqueue });
      const owner = (p: Pod) => {
        const ref = controllerRef(p);
        if (ref?.kind === "Job" && p.metadata.namespace) c.queue.add(`${p.metadata.namespace}/${ref.name}`);
      };
      pods.addEventHandler({ onAdd: owner, onUpdate: (_o, n) => owner(n), onDelete: owner });
    }

    if (on("namespace")) {
      const namespaces = inf(NAMESPACES);
      const contents = NAMESPACED_CONTENT.map((resource) => ({ resource, reader: inf(resource).lister() }));
      // The namespace's finalizer is lifted through namespaces/<name>/finalize, the only path the
      // API server allows for spec.finalizers.
      const c = make("namespace", (name) => {
        const r = reconcileNamespace(name, { namespaces: namespaces.lister(), contents, clock });
        return { ...r, actions: r.actions.map((a) => (a.verb === "update" && a.resource === NAMESPACES ? { ...a, subresource: "finalize" } : a)) };
      });
      namespaces.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n) });
    }

    if (on("serviceaccount")) {
      const namespaces = inf(NAMESPACES);
      const sas = inf(SERVICE_ACCOUNTS);
      const c = make("serviceaccount", (ns) => reconcileServiceAccounts(ns, { namespaces: namespaces.lister(), serviceAccounts: sas.lister() }));
      namespaces.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n) });
      sas.addEventHandler({ onDelete: (sa) => sa.metadata.namespace && c.queue.add(sa.metadata.namespace) });
    }

    if (on("endpoints")) {
      const services = inf(SERVICES);
      const pods = inf<Pod>(PODS);
      const endpoints = inf(ENDPOINTS);
      const slices = inf(ENDPOINT_SLICES);
      const c = make("endpoints", (key) =>
        reconcileEndpoints(key, { services: services.lister(), pods: pods.lister(), endpoints: endpoints.lister(), endpointSlices: slices.lister() }),
      );
      services.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n), onDelete: c.enqueue });
      // A pod change may matter to any Service of its namespace.
      const podChanged = (p: Pod) => {
        for (const s of services.lister().list({ namespace: p.metadata.namespace })) c.enqueue(s);
      };
      pods.addEventHandler({ onAdd: podChanged, onUpdate: (_o, n) => podChanged(n), onDelete: podChanged });
    }
  }

  /** Starts informers, waits for their caches, then runs every controller until stop(). */
  async start(signal?: AbortSignal): Promise<boolean> {
    this.factory.start();
    if (!(await this.factory.waitForCacheSync(signal))) return false;
    this.running = Promise.all([...this.controllers.values()].map((c) => c.run()));
    return true;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.controllers.values()].map((c) => c.stop()));
    await this.running;
    await this.factory.stop();
    await this.recorder.close();
  }
}
