// Book 11.3: kube-controller-manager in one place: shared informers, and for each controller the
// handlers that turn events into keys, its pure reconcile, and a loop that performs the writes.
import { isNotFound, parseQuantity, type KubeObject, type LabelSelector, type Lease, matches, type Node, type Pod, selectorFromLabelSelector } from "@corekube/api";
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
  NODES,
  PERSISTENT_VOLUME_CLAIMS,
  POD_DISRUPTION_BUDGETS,
  PODS,
  REPLICASETS,
  RESOURCE_QUOTAS,
  type ResourceType,
  type RestClient,
  SECRETS,
  SERVICE_ACCOUNTS,
  SERVICES,
  STATEFULSETS,
  type SharedInformer,
  metaKey,
  splitKey,
} from "@corekube/client";
import { reconcileCronJob } from "./cronjob/reconcile.js";
import { reconcileDaemonSet } from "./daemonset/reconcile.js";
import { reconcileDeployment } from "./deployment/reconcile.js";
import { reconcileDisruption, scaleOfController } from "./disruption/reconcile.js";
import { reconcileEndpoints } from "./endpoints/reconcile.js";
import { Controller, type ControllerOptions } from "./framework/controller.js";
import { CustomResources } from "./framework/custom-resources.js";
import { controllerRef } from "./framework/owners.js";
import { type Action, type Clock, type ReconcileResult, realClock } from "./framework/types.js";
import { UidIndex } from "./garbagecollector/graph.js";
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER, reconcileOwnerGraph } from "./garbagecollector/reconcile.js";
import { allocateNodeCIDRs } from "./nodeipam/reconcile.js";
import { NODE_LEASE_NAMESPACE, reconcileNodeLifecycle } from "./nodelifecycle/reconcile.js";
import { reconcileJob } from "./job/reconcile.js";
import { reconcileNamespace } from "./namespace/reconcile.js";
import { Expectations } from "./replicaset/expectations.js";
import { reconcileReplicaSet } from "./replicaset/reconcile.js";
import { reconcilePodGC } from "./podgc/reconcile.js";
import { reconcileResourceQuota } from "./resourcequota/reconcile.js";
import { ROOT_CA_CONFIGMAP, reconcileRootCACert } from "./rootcacert/reconcile.js";
import { reconcileServiceAccounts } from "./serviceaccount/reconcile.js";
import { reconcileStatefulSet } from "./statefulset/reconcile.js";
import { reconcileTTLAfterFinished } from "./ttlafterfinished/reconcile.js";

const podReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

export const CONTROLLER_NAMES = [
  "deployment",
  "replicaset",
  "daemonset",
  "job",
  "cronjob",
  "namespace",
  "serviceaccount",
  "root-ca-cert-publisher",
  "endpoints",
  "garbagecollector",
  "nodelifecycle",
  "nodeipam",
  "disruption",
  "ttl-after-finished",
  "statefulset",
  "resourcequota",
  "podgc",
] as const;
export type ControllerName = (typeof CONTROLLER_NAMES)[number];

/** Kinds whose dependents are pods: pods come and go as these controllers ask, counted by expectations. */
function watchOwnedPods(pods: SharedInformer<Pod>, kind: string, c: Controller, expectations: Expectations, orphan?: (p: Pod) => void): void {
  const ownerKey = (p: Pod): string | undefined => {
    const ref = controllerRef(p);
    return ref?.kind === kind && p.metadata.namespace ? `${p.metadata.namespace}/${ref.name}` : undefined;
  };
  pods.addEventHandler({
    onAdd: (p) => {
      const k = ownerKey(p);
      if (!k) return orphan?.(p);
      expectations.creationObserved(k);
      c.add(k);
    },
    onUpdate: (o, n) => {
      // Both the old and the new owner look again when a pod changes hands.
      const a = ownerKey(o);
      const b = ownerKey(n);
      if (a) c.add(a);
      if (b && b !== a) c.add(b);
      if (!b) orphan?.(n);
    },
    onDelete: (p) => {
      const k = ownerKey(p);
      if (!k) return;
      expectations.deletionObserved(k);
      c.add(k);
    },
  });
}

/** Wraps a reconcile so it skips a key while its pod creations and deletions are still unseen. */
function withPodExpectations(expectations: Expectations, reconcile: (key: string) => ReconcileResult): (key: string) => ReconcileResult {
  return (key) => {
    if (!expectations.satisfied(key)) return { actions: [] };
    const r = reconcile(key);
    const adds = r.actions.filter((a) => a.verb === "create" && a.resource === PODS).length;
    const dels = r.actions.filter((a) => a.verb === "delete" && a.resource === PODS).length;
    if (adds + dels > 0) expectations.expect(key, adds, dels);
    return r;
  };
}

function podActionFailed(expectations: Expectations): (key: string, a: Action) => void {
  return (key, a) => {
    if (a.verb === "create" && a.resource === PODS) expectations.creationObserved(key);
    if (a.verb === "delete" && a.resource === PODS) expectations.deletionObserved(key);
  };
}

/** Whether a node changed in a way a DaemonSet cares about (not just its heartbeat). */
function nodeShapeChanged(o: Node, n: Node): boolean {
  const ready = (x: Node) => x.status?.conditions?.find((c) => c.type === "Ready")?.status;
  return (
    JSON.stringify(o.metadata.labels ?? {}) !== JSON.stringify(n.metadata.labels ?? {}) ||
    JSON.stringify(o.spec?.taints ?? []) !== JSON.stringify(n.spec?.taints ?? []) ||
    o.spec?.unschedulable !== n.spec?.unschedulable ||
    ready(o) !== ready(n)
  );
}

/** Built-in namespaced resources the namespace controller empties (custom ones come from CRDs). */
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

/** Workers per controller: upstream's --concurrent-*-syncs defaults (2 where it has no flag). */
const WORKERS: Partial<Record<ControllerName, number>> = {
  deployment: 5,
  replicaset: 5,
  statefulset: 5,
  job: 5,
  cronjob: 5,
  endpoints: 5,
  namespace: 10,
  garbagecollector: 20,
  "ttl-after-finished": 5,
};

const QUOTA_SETTLE_MS = 2000;
const PODGC_PERIOD_MS = 20_000;

/** Whether `next`'s status.used has a smaller amount than `cur`'s for some resource. */
function lowersUsage(cur: KubeObject | undefined, next: KubeObject): boolean {
  const used = (o: KubeObject | undefined) => (o?.status as { used?: Record<string, string> } | undefined)?.used ?? {};
  const before = used(cur);
  const after = used(next);
  for (const [k, v] of Object.entries(before)) {
    const a = after[k];
    if (a === undefined) return true;
    try {
      if (parseQuantity(a).nanos < parseQuantity(v).nanos) return true;
    } catch {
      return true;
    }
  }
  return false;
}

/** What the garbage collector watches: every built-in resource that owns or is owned (not Events). */
const GC_RESOURCES: ResourceType[] = [...NAMESPACED_CONTENT.filter((r) => r !== EVENTS), NODES];

export interface ControllerManagerOptions {
  client: RestClient;
  /** Which controllers run ("*" = all). */
  controllers?: readonly string[];
  clock?: Clock;
  log?: (line: string) => void;
  /** Pod range nodes' podCIDRs are cut from (--cluster-cidr); node IPAM runs only with one. */
  clusterCIDR?: string;
  /** Prefix length of each node's podCIDR (--node-cidr-mask-size, default 24). */
  nodeCIDRMaskSize?: number;
  /** How long a node may be silent before it is marked Unknown (--node-monitor-grace-period, default 40 s). */
  nodeMonitorGracePeriodMs?: number;
  /** Finished pods kept before the oldest are deleted (--terminated-pod-gc-threshold, default 12500; 0: never). */
  terminatedPodGCThreshold?: number;
  /** How long a node must be gone before its pods are collected (default 40 s; tests shorten it). */
  podGCQuarantineMs?: number;
  /** tolerationSeconds for pods without their own not-ready/unreachable toleration (default 300). */
  defaultTolerationSeconds?: number;
  /**
   * The CA bundle (PEM) published as kube-root-ca.crt in every namespace (--root-ca-file); without it
   * the client's kubeconfig CA, and with neither the root-ca-cert-publisher stays off.
   */
  rootCA?: string;
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
    // "*" is every controller; "-name" turns one off, as upstream's --controllers.
    const on = (name: ControllerName) => !wanted.has(`-${name}`) && (wanted.has("*") || wanted.has(name)) && (name !== "nodeipam" || opts.clusterCIDR !== undefined);
    if (wanted.has("nodeipam") && opts.clusterCIDR === undefined) throw new Error("the nodeipam controller needs --cluster-cidr");
    for (const w of wanted) if (w !== "*" && !(CONTROLLER_NAMES as readonly string[]).includes(w.replace(/^-/, ""))) throw new Error(`unknown controller ${JSON.stringify(w)} (known: ${CONTROLLER_NAMES.join(", ")})`);
    this.factory = new InformerFactory(client);
    this.recorder = new EventRecorder({ client, component: "controller-manager" });
    const inf = <T extends KubeObject = KubeObject>(rt: ResourceType): SharedInformer<T> => this.factory.forResource<T>(rt);
    const make = (name: ControllerName, reconcile: ControllerOptions["reconcile"], extra: Partial<ControllerOptions> = {}) => {
      const c = new Controller({ name, client, recorder: this.recorder, reconcile, log, workers: WORKERS[name], ...extra });
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
        if (ref?.kind === "Deployment" && rs.metadata.namespace) c.add(`${rs.metadata.namespace}/${ref.name}`);
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
        if (ref?.kind === "CronJob" && j.metadata.namespace) c.add(`${j.metadata.namespace}/${ref.name}`);
      };
      jobs.addEventHandler({ onAdd: owner, onUpdate: (_o, n) => owner(n), onDelete: owner });
    }

    if (on("replicaset")) {
      const rss = inf(REPLICASETS);
      const pods = inf<Pod>(PODS);
      const expectations = new Expectations(clock);
      const c = make("replicaset", (key) => reconcileReplicaSet(key, { replicaSets: rss.lister(), pods: pods.lister(), expectations, clock }), {
        onActionFailed: podActionFailed(expectations),
      });
      rss.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n), onDelete: c.enqueue });
      // An orphan may be adopted by any ReplicaSet of its namespace whose selector matches.
      watchOwnedPods(pods, "ReplicaSet", c, expectations, (p) => {
        for (const rs of rss.lister().list({ namespace: p.metadata.namespace })) c.enqueue(rs);
      });
    }

    if (on("job")) {
      const jobs = inf(JOBS);
      const pods = inf<Pod>(PODS);
      const c = make("job", (key) => reconcileJob(key, { jobs: jobs.lister(), pods: pods.lister(), clock }));
      jobs.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n), onDelete: c.enqueue });
      const owner = (p: Pod) => {
        const ref = controllerRef(p);
        if (ref?.kind === "Job" && p.metadata.namespace) c.add(`${p.metadata.namespace}/${ref.name}`);
      };
      pods.addEventHandler({ onAdd: owner, onUpdate: (_o, n) => owner(n), onDelete: owner });
    }

    const customResources = on("namespace") || on("garbagecollector") ? new CustomResources(this.factory) : undefined;

    if (on("namespace")) {
      const namespaces = inf(NAMESPACES);
      const builtin = NAMESPACED_CONTENT.map((resource) => ({ resource, reader: inf(resource).lister() }));
      // The namespace's finalizer is lifted through namespaces/<name>/finalize, the only path the
      // API server allows for spec.finalizers.
      const c = make("namespace", (name) => {
        // A custom resource whose informer has not listed yet could hide objects: wait for it.
        if (!customResources!.synced() && namespaces.lister().get(name)?.metadata.deletionTimestamp) return { actions: [], requeueAfterMs: 500 };
        const custom = customResources!.list().map(({ rt, informer }) => ({ resource: rt, reader: informer.lister() }));
        const r = reconcileNamespace(name, { namespaces: namespaces.lister(), contents: [...builtin, ...custom], clock });
        return { ...r, actions: r.actions.map((a) => (a.verb === "update" && a.resource === NAMESPACES ? { ...a, subresource: "finalize" } : a)) };
      });
      namespaces.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n) });
    }

    if (on("serviceaccount")) {
      const namespaces = inf(NAMESPACES);
      const sas = inf(SERVICE_ACCOUNTS);
      const c = make("serviceaccount", (ns) => reconcileServiceAccounts(ns, { namespaces: namespaces.lister(), serviceAccounts: sas.lister() }));
      namespaces.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n) });
      sas.addEventHandler({ onDelete: (sa) => sa.metadata.namespace && c.add(sa.metadata.namespace) });
    }

    if (on("root-ca-cert-publisher")) {
      const rootCA = opts.rootCA ?? client.config.caPem;
      if (!rootCA) log("root-ca-cert-publisher: off: no --root-ca-file and the kubeconfig has no certificate-authority");
      else {
        const namespaces = inf(NAMESPACES);
        const configMaps = inf(CONFIGMAPS);
        const c = make("root-ca-cert-publisher", (ns) => reconcileRootCACert(ns, { namespaces: namespaces.lister(), configMaps: configMaps.lister(), rootCA }));
        namespaces.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n) });
        // Only our ConfigMap matters: an edit is undone, a deletion recreated.
        const mine = (cm: KubeObject) => cm.metadata.name === ROOT_CA_CONFIGMAP && cm.metadata.namespace && c.add(cm.metadata.namespace);
        configMaps.addEventHandler({ onUpdate: (_o, n) => mine(n), onDelete: mine });
      }
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

    if (on("daemonset")) {
      const daemonSets = inf(DAEMONSETS);
      const nodes = inf<Node>(NODES);
      const pods = inf<Pod>(PODS);
      const expectations = new Expectations(clock);
      const c = make("daemonset", withPodExpectations(expectations, (key) => reconcileDaemonSet(key, { daemonSets: daemonSets.lister(), nodes: nodes.lister(), pods: pods.lister(), clock })), {
        onActionFailed: podActionFailed(expectations),
      });
      daemonSets.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n), onDelete: c.enqueue });
      // A node's labels, taints or readiness decide whether each DaemonSet wants a pod there.
      const all = () => {
        for (const ds of daemonSets.lister().list()) c.enqueue(ds);
      };
      nodes.addEventHandler({ onAdd: all, onUpdate: (o, n) => (nodeShapeChanged(o, n) ? all() : undefined), onDelete: all });
      watchOwnedPods(pods, "DaemonSet", c, expectations);
    }

    if (on("nodeipam")) {
      const nodes = inf<Node>(NODES);
      const cidr = opts.clusterCIDR!;
      const mask = opts.nodeCIDRMaskSize ?? 24;
      allocateNodeCIDRs([], cidr, mask); // refuses a bad --cluster-cidr now, not on the first node
      // Ranges handed out but not yet seen by the informer: without them a quick second pass could
      // give the same block to another node.
      const assumed = new Map<string, string>();
      const c = make(
        "nodeipam",
        () => {
          const list = nodes.lister().list().sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
          const view = list.map((n) => {
            const a = assumed.get(n.metadata.name ?? "");
            if (!a || n.spec?.podCIDR) return n;
            return { ...n, spec: { ...(n.spec ?? {}), podCIDR: a, podCIDRs: [a] } };
          });
          const r = allocateNodeCIDRs(view, cidr, mask);
          for (const a of r.actions) if (a.verb === "patch") assumed.set(a.name, (a.patch as { spec: { podCIDR: string } }).spec.podCIDR);
          return r;
        },
        { workers: 1, onActionFailed: (_k, a) => (a.verb === "patch" ? assumed.delete(a.name) : undefined) },
      );
      const seen = (n: Node) => {
        if (n.spec?.podCIDR) assumed.delete(n.metadata.name ?? "");
        else c.add("nodes");
      };
      nodes.addEventHandler({ onAdd: seen, onUpdate: (_o, n) => seen(n), onDelete: (n) => assumed.delete(n.metadata.name ?? "") });
    }

    if (on("nodelifecycle")) {
      const nodes = inf<Node>(NODES);
      const leases = inf<Lease>(LEASES);
      const pods = inf<Pod>(PODS);
      const c = make("nodelifecycle", (name) =>
        reconcileNodeLifecycle(name, {
          nodes: nodes.lister(),
          leases: leases.lister(),
          pods: pods.lister(),
          clock,
          gracePeriodMs: opts.nodeMonitorGracePeriodMs,
          evictionDefaultTolerationSeconds: opts.defaultTolerationSeconds,
        }),
      );
      nodes.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n) });
      leases.addEventHandler({
        onAdd: (l) => (l.metadata.namespace === NODE_LEASE_NAMESPACE ? c.add(l.metadata.name ?? "") : undefined),
        onUpdate: (_o, l) => (l.metadata.namespace === NODE_LEASE_NAMESPACE ? c.add(l.metadata.name ?? "") : undefined),
      });
      // A pod bound to a node with NoExecute taints needs its own eviction deadline.
      const podOnNode = (p: Pod) => {
        const n = p.spec.nodeName ? nodes.lister().get(p.spec.nodeName) : undefined;
        if (n?.spec?.taints?.some((t) => t.effect === "NoExecute")) c.enqueue(n);
      };
      pods.addEventHandler({ onAdd: podOnNode, onUpdate: (o, n) => (o.spec.nodeName !== n.spec.nodeName ? podOnNode(n) : undefined) });
    }

    if (on("statefulset")) {
      const sets = inf(STATEFULSETS);
      const pods = inf<Pod>(PODS);
      const pvcs = inf(PERSISTENT_VOLUME_CLAIMS);
      const revisions = inf(CONTROLLER_REVISIONS);
      const c = make("statefulset", (key) => reconcileStatefulSet(key, { statefulSets: sets.lister(), pods: pods.lister(), pvcs: pvcs.lister(), revisions: revisions.lister(), clock }));
      sets.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n), onDelete: c.enqueue });
      const owner = (p: Pod) => {
        const ref = controllerRef(p);
        if (ref?.kind === "StatefulSet" && p.metadata.namespace) c.add(`${p.metadata.namespace}/${ref.name}`);
        else if (!ref) {
          // An orphan named <set>-<ordinal> may be adopted by that set.
          const m = /^(.*)-\d+$/.exec(p.metadata.name ?? "");
          const set = m ? sets.lister().get(m[1]!, p.metadata.namespace) : undefined;
          if (set) c.enqueue(set);
        }
      };
      pods.addEventHandler({ onAdd: owner, onUpdate: (_o, n) => owner(n), onDelete: owner });
    }

    if (on("disruption")) {
      const pdbs = inf(POD_DISRUPTION_BUDGETS);
      const pods = inf<Pod>(PODS);
      const controllers = scaleOfController({ replicaSets: inf(REPLICASETS).lister(), deployments: inf(DEPLOYMENTS).lister(), statefulSets: inf(STATEFULSETS).lister() });
      const c = make("disruption", (key) => reconcileDisruption(key, { pdbs: pdbs.lister(), pods: pods.lister(), controllers, clock }));
      pdbs.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n) });
      // Any budget of the pod's namespace whose selector takes the pod.
      const podChanged = (p: Pod) => {
        for (const b of pdbs.lister().list({ namespace: p.metadata.namespace })) {
          const sel = (b.spec as { selector?: LabelSelector | null } | undefined)?.selector;
          if (sel && matches(selectorFromLabelSelector(sel), p.metadata.labels)) c.enqueue(b);
        }
      };
      pods.addEventHandler({ onAdd: podChanged, onUpdate: (o, n) => (podReady(o) !== podReady(n) || o.metadata.deletionTimestamp !== n.metadata.deletionTimestamp ? podChanged(n) : undefined), onDelete: podChanged });
    }

    if (on("ttl-after-finished")) {
      const jobs = inf(JOBS);
      const c = make("ttl-after-finished", (key) => reconcileTTLAfterFinished(key, { jobs: jobs.lister(), clock }));
      jobs.addEventHandler({ onAdd: c.enqueue, onUpdate: (_o, n) => c.enqueue(n) });
    }

    if (on("resourcequota")) {
      const quotas = inf(RESOURCE_QUOTAS);
      const counted = { pods: inf<Pod>(PODS), services: inf(SERVICES), configmaps: inf(CONFIGMAPS), secrets: inf(SECRETS), pvcs: inf(PERSISTENT_VOLUME_CLAIMS) };
      const others: Record<string, SharedInformer> = {
        "deployments.apps": inf(DEPLOYMENTS),
        "replicasets.apps": inf(REPLICASETS),
        "statefulsets.apps": inf(STATEFULSETS),
        "daemonsets.apps": inf(DAEMONSETS),
        "jobs.batch": inf(JOBS),
        "cronjobs.batch": inf(CRONJOBS),
      };
      // Admission charges status.used before the pod exists; our pod cache sees the pod a moment later.
      // A recount that lowers used right after a charge could be that gap, and would let the next
      // create past the limit: lower only once used has been still for QUOTA_SETTLE_MS.
      const usedChangedAt = new Map<string, number>();
      const recount = (key: string) =>
        reconcileResourceQuota(key, {
          quotas: quotas.lister(),
          pods: counted.pods.lister(),
          services: counted.services.lister(),
          configmaps: counted.configmaps.lister(),
          secrets: counted.secrets.lister(),
          pvcs: counted.pvcs.lister(),
          others: Object.fromEntries(Object.entries(others).map(([k, v]) => [k, v.lister()])),
          clock,
        });
      const c = make("resourcequota", (key) => {
        const r = recount(key);
        const since = clock.now().getTime() - (usedChangedAt.get(key) ?? 0);
        if (since >= QUOTA_SETTLE_MS) return r;
        const { namespace, name } = splitKey(key);
        const cur = quotas.lister().get(name, namespace);
        const lowers = r.actions.some((a) => a.verb === "updateStatus" && lowersUsage(cur, a.object));
        return lowers ? { actions: r.actions.filter((a) => a.verb !== "updateStatus"), requeueAfterMs: QUOTA_SETTLE_MS - since } : r;
      });
      const usedOf = (q: KubeObject) => JSON.stringify((q.status as { used?: unknown } | undefined)?.used ?? {});
      quotas.addEventHandler({
        onAdd: c.enqueue,
        onUpdate: (o, n) => {
          if (usedOf(o) !== usedOf(n)) usedChangedAt.set(metaKey(n), clock.now().getTime());
          if (JSON.stringify(o.spec) !== JSON.stringify(n.spec) || !n.status) c.enqueue(n);
        },
        onDelete: (q) => usedChangedAt.delete(metaKey(q)),
      });
      // Anything counted changed: every quota of its namespace may need a new status.used.
      const touched = (o: KubeObject) => {
        for (const q of quotas.lister().list({ namespace: o.metadata.namespace })) c.enqueue(q);
      };
      for (const i of [...Object.values(counted), ...Object.values(others)] as SharedInformer[]) {
        i.addEventHandler({ onAdd: touched, onUpdate: (_o, n) => touched(n), onDelete: touched });
      }
    }

    if (on("podgc")) {
      const pods = inf<Pod>(PODS);
      const nodes = inf<Node>(NODES);
      // When each missing node was first noticed missing: its pods wait out a quarantine first.
      const missingSince = new Map<string, number>();
      const c = make(
        "podgc",
        () => {
          const now = clock.now().getTime();
          const r = reconcilePodGC({
            pods: pods.lister(),
            nodes: nodes.lister(),
            missingForMs: (n) => {
              if (!missingSince.has(n)) missingSince.set(n, now);
              return now - missingSince.get(n)!;
            },
            terminatedThreshold: opts.terminatedPodGCThreshold,
            quarantineMs: opts.podGCQuarantineMs,
          });
          // Upstream looks every 20 s whatever happens; so do we.
          return { ...r, requeueAfterMs: Math.min(r.requeueAfterMs ?? PODGC_PERIOD_MS, PODGC_PERIOD_MS) };
        },
        { workers: 1 },
      );
      c.add("pods");
      nodes.addEventHandler({ onAdd: (n) => missingSince.delete(n.metadata.name ?? ""), onDelete: () => c.add("pods") });
      const check = (p: Pod) => {
        if ((p.spec.nodeName && !nodes.lister().get(p.spec.nodeName)) || (!p.spec.nodeName && p.metadata.deletionTimestamp)) c.add("pods");
      };
      pods.addEventHandler({ onAdd: check, onUpdate: (_o, n) => check(n) });
    }

    if (on("garbagecollector")) this.wireGarbageCollector(client, make, inf, customResources!);
  }

  /**
   * The garbage collector watches every resource that can own or be owned, keys objects by uid, and
   * before it deletes a dependent whose owner is missing from its caches asks the API server whether
   * the owner really is gone (a cache can be behind).
   */
  private wireGarbageCollector(
    client: RestClient,
    make: (name: ControllerName, reconcile: ControllerOptions["reconcile"], extra?: Partial<ControllerOptions>) => Controller,
    inf: <T extends KubeObject = KubeObject>(rt: ResourceType) => SharedInformer<T>,
    customResources: CustomResources,
  ): void {
    const resources = [...GC_RESOURCES];
    const index = new UidIndex(resources);
    const c = make("garbagecollector", async (uid) => {
      const obj = index.get(uid);
      if (!obj) return { actions: [] };
      const result = reconcileOwnerGraph(obj, index);
      if (obj.metadata.deletionTimestamp || !result.actions.some((a) => a.verb !== "event")) return result;
      // The decision drops or deletes owners the cache says are gone: confirm each with a GET.
      for (const ref of obj.metadata.ownerReferences ?? []) {
        const rt = index.resourceOf(ref.apiVersion, ref.kind);
        if (!rt) continue;
        const ns = rt.namespaced ? obj.metadata.namespace : undefined;
        if (index.lookup({ ...ref, namespace: ns })) continue;
        const live = await client
          .resource(rt)
          .get(ref.name, ns)
          .catch((e) => {
            if (isNotFound(e)) return undefined;
            throw e;
          });
        if (live?.metadata.uid === ref.uid) return { actions: [], requeueAfterMs: 1000 };
      }
      return result;
    });
    const beingCollected = (o: KubeObject) =>
      Boolean(o.metadata.deletionTimestamp) && (o.metadata.finalizers ?? []).some((f) => f === FOREGROUND_FINALIZER || f === ORPHAN_FINALIZER);
    const owners = (o: KubeObject) => (o.metadata.ownerReferences ?? []).map((r) => r.uid);
    const watch = (rt: ResourceType, informer: SharedInformer) => {
      informer.addEventHandler({
        onAdd: (o) => {
          index.observe(rt, o);
          if (owners(o).length > 0 || beingCollected(o)) c.add(o.metadata.uid ?? "");
        },
        onUpdate: (old, o) => {
          index.observe(rt, o);
          const before = owners(old);
          const after = owners(o);
          const refsChanged = before.join() !== after.join();
          if (refsChanged || beingCollected(o) !== beingCollected(old) || (beingCollected(o) && old.metadata.finalizers?.join() !== o.metadata.finalizers?.join())) {
            c.add(o.metadata.uid ?? "");
          }
          // An owner this object let go of may be waiting for it (foreground deletion).
          if (refsChanged) for (const u of before) if (!after.includes(u) && index.get(u)) c.add(u);
          // An owner that started a foreground deletion: look at it, and at its dependents.
          if (!old.metadata.deletionTimestamp && o.metadata.deletionTimestamp) for (const d of index.dependentUids(o.metadata.uid ?? "")) c.add(d);
        },
        onDelete: (o) => {
          index.forget(o);
          for (const d of index.dependentUids(o.metadata.uid ?? "")) c.add(d);
          for (const u of owners(o)) if (index.get(u)) c.add(u);
        },
      });
    };
    for (const rt of resources) watch(rt, inf(rt));
    customResources.onResource((rt, informer) => {
      index.addResource(rt);
      watch(rt, informer);
    });
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
