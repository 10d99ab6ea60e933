// Book 11.3 and 9.3.2: the DaemonSet controller's reconcile: one pod per eligible node (nodeSelector,
// required node affinity, taints), pinned there by node affinity; rolling updates a few nodes at a time.
import { isEverything, type KubeObject, type LabelSelector, matches, type Node, type Pod, selectorFromLabelSelector, type Toleration } from "@corekube/api";
import { DAEMONSETS, PODS, splitKey } from "@corekube/client";
import { podMatchesNodeSelectorAndAffinity } from "@corekube/scheduler/plugins/helpers/node-selector";
import { findUntoleratedTaint } from "@corekube/scheduler/plugins/helpers/taints";
import { controllerRef, newControllerRef } from "../framework/owners.js";
import { isPodAvailable, isPodReady, podFromTemplate, type PodTemplateSpec } from "../framework/pods.js";
import type { Action, Clock, ObjectReader, ReconcileResult } from "../framework/types.js";

export interface DaemonSetSpec {
  selector?: LabelSelector;
  template?: PodTemplateSpec;
  minReadySeconds?: number;
  updateStrategy?: { type?: "RollingUpdate" | "OnDelete"; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
  revisionHistoryLimit?: number;
}

export interface DaemonSetStatus {
  desiredNumberScheduled?: number;
  currentNumberScheduled?: number;
  numberMisscheduled?: number;
  numberReady?: number;
  numberAvailable?: number;
  numberUnavailable?: number;
  updatedNumberScheduled?: number;
  observedGeneration?: number;
  collisionCount?: number;
  [key: string]: unknown;
}

export interface DaemonSet extends KubeObject {
  spec: DaemonSetSpec;
  status?: DaemonSetStatus;
}

export interface DaemonSetState {
  daemonSets: ObjectReader;
  nodes: ObjectReader<Node>;
  pods: ObjectReader<Pod>;
  clock: Clock;
}

/** The label that says which template revision a daemon pod was made from. */
export const REVISION_HASH_LABEL = "controller-revision-hash";

/**
 * The tolerations every daemon pod gets on top of its template's, so that node problems the node
 * controller marks with taints do not push the node's own agents off it.
 */
export const DAEMON_POD_TOLERATIONS: readonly Toleration[] = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

const NETWORK_UNAVAILABLE: Toleration = { key: "node.kubernetes.io/network-unavailable", operator: "Exists", effect: "NoSchedule" };

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

// Consonants and digits only, so a hash can never spell a word (the same idea as upstream's encoding).
const HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** A short stable hash of the pod template (and collision count): the current revision's name. */
export function daemonSetTemplateHash(ds: DaemonSet): string {
  const text = canonicalJson({ template: ds.spec.template ?? {}, collisionCount: ds.status?.collisionCount ?? 0 });
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...h.toString(HASH_ALPHABET.length)].map((d) => HASH_ALPHABET[parseInt(d, HASH_ALPHABET.length)]).join("");
}

/** The template daemon pods are stamped from: the daemon tolerations added and the revision label set. */
export function daemonPodTemplate(ds: DaemonSet, hash: string): PodTemplateSpec {
  const t = structuredClone(ds.spec.template ?? { spec: { containers: [] } });
  const tolerations = [...(t.spec.tolerations ?? [])];
  const extra = t.spec.hostNetwork ? [...DAEMON_POD_TOLERATIONS, NETWORK_UNAVAILABLE] : DAEMON_POD_TOLERATIONS;
  for (const tol of extra) {
    if (!tolerations.some((x) => x.key === tol.key && x.effect === tol.effect && (x.operator ?? "Equal") === "Exists")) tolerations.push({ ...tol });
  }
  t.spec.tolerations = tolerations;
  t.metadata = { ...(t.metadata ?? {}), labels: { ...(t.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash } };
  return t;
}

/** Whether a new daemon pod belongs on `node`, and whether one already there may stay. */
export function nodeShouldRunDaemonPod(template: PodTemplateSpec, node: Node): { shouldRun: boolean; shouldContinueRunning: boolean } {
  const name = node.metadata.name ?? "";
  const probe: Pod = { apiVersion: "v1", kind: "Pod", metadata: {}, spec: { ...template.spec, nodeName: name } };
  if (template.spec.nodeName && template.spec.nodeName !== name) return { shouldRun: false, shouldContinueRunning: false };
  if (!podMatchesNodeSelectorAndAffinity(probe, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints = node.spec?.taints;
  if (findUntoleratedTaint(taints, template.spec.tolerations, new Set(["NoSchedule", "NoExecute"])) === undefined) {
    return { shouldRun: true, shouldContinueRunning: true };
  }
  // A NoSchedule taint keeps new pods away; only an untolerated NoExecute taint evicts a running one.
  return { shouldRun: false, shouldContinueRunning: findUntoleratedTaint(taints, template.spec.tolerations, new Set(["NoExecute"])) === undefined };
}

/** The node a daemon pod is for: where it is bound, or where its node affinity pins it. */
export function targetNodeName(pod: Pod): string | undefined {
  if (pod.spec.nodeName) return pod.spec.nodeName;
  const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term.matchFields ?? []) {
      if (f.key === "metadata.name" && f.operator === "In" && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

/** Replaces the required node affinity with one term naming the node, so the scheduler binds it there. */
function pinToNode(template: PodTemplateSpec, nodeName: string): PodTemplateSpec["spec"]["affinity"] {
  const affinity = structuredClone(template.spec.affinity ?? {});
  affinity.nodeAffinity = {
    ...(affinity.nodeAffinity ?? {}),
    requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [nodeName] }] }] },
  };
  return affinity;
}

function createdAt(p: Pod): number {
  const t = p.metadata.creationTimestamp ? Date.parse(p.metadata.creationTimestamp) : NaN;
  return Number.isFinite(t) ? t : 0;
}

/** Oldest first; name breaks ties so the choice is stable. */
function oldestFirst(a: Pod, b: Pod): number {
  return createdAt(a) - createdAt(b) || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

/** maxUnavailable as a count of nodes: an integer, or a percentage of desired rounded up; never 0. */
export function resolveMaxUnavailable(v: number | string | undefined, desired: number): number {
  let n: number;
  if (v === undefined) n = 1;
  else if (typeof v === "number") n = v;
  else if (/^\d+%$/.test(v)) n = Math.ceil((Number(v.slice(0, -1)) * desired) / 100);
  else n = Number.isInteger(Number(v)) ? Number(v) : 1;
  // Without surge a zero budget would stall the rollout forever; upstream treats it as one.
  return n > 0 ? n : 1;
}

export function reconcileDaemonSet(key: string, s: DaemonSetState): ReconcileResult {
  const { namespace, name } = splitKey(key);
  const ds = s.daemonSets.get(name, namespace) as DaemonSet | undefined;
  if (!ds) return { actions: [] };
  const now = s.clock.now();
  const selector = selectorFromLabelSelector(ds.spec.selector);
  if (isEverything(selector)) {
    return { actions: [{ verb: "event", object: ds, type: "Warning", reason: "SelectingAll", message: "This daemon set is selecting all pods. A non-empty selector is required." }] };
  }
  const hash = daemonSetTemplateHash(ds);
  const template = daemonPodTemplate(ds, hash);
  const minReadySeconds = ds.spec.minReadySeconds ?? 0;

  // Our pods, grouped by the node each is for (bound or pinned by affinity).
  const byNode = new Map<string, Pod[]>();
  const unplaced: Pod[] = [];
  for (const pod of s.pods.list({ namespace: ds.metadata.namespace })) {
    if (controllerRef(pod)?.uid !== ds.metadata.uid || !matches(selector, pod.metadata.labels)) continue;
    const node = targetNodeName(pod);
    if (node === undefined) unplaced.push(pod);
    else byNode.set(node, [...(byNode.get(node) ?? []), pod]);
  }

  const nodes = [...s.nodes.list()].sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  const nodeNames = new Set(nodes.map((n) => n.metadata.name ?? ""));
  const toCreate: string[] = [];
  const toDelete = new Map<string, Pod>();
  const del = (p: Pod) => toDelete.set(p.metadata.name ?? "", p);
  const status = { desired: 0, current: 0, misscheduled: 0, ready: 0, available: 0, updated: 0 };
  const eligible: { node: string; pods: Pod[] }[] = [];

  for (const node of nodes) {
    const nodeName = node.metadata.name ?? "";
    const pods = byNode.get(nodeName) ?? [];
    const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(template, node);
    const live = pods.filter((p) => !p.metadata.deletionTimestamp);

    // Manage: create where missing; drop failed and extra pods; clear nodes the pod may not stay on.
    if (shouldRun && pods.length === 0) toCreate.push(nodeName);
    else if (shouldContinueRunning) {
      const running: Pod[] = [];
      for (const p of live) {
        if (p.status?.phase === "Failed") del(p);
        else running.push(p);
      }
      running.sort(oldestFirst);
      for (const extra of running.slice(1)) del(extra);
      if (pods.length > 0) eligible.push({ node: nodeName, pods });
    } else {
      for (const p of live) del(p);
    }

    // Status, from the oldest pod on each node as the cache shows it now.
    if (shouldRun) {
      status.desired++;
      if (pods.length === 0) continue;
      status.current++;
      const first = [...pods].sort(oldestFirst)[0]!;
      if (isPodReady(first)) {
        status.ready++;
        if (isPodAvailable(first, minReadySeconds, now)) status.available++;
      }
      if (first.metadata.labels?.[REVISION_HASH_LABEL] === hash) status.updated++;
    } else if (pods.length > 0) {
      status.misscheduled++;
    }
  }
  // Pods pinned to nodes that are gone and never bound will never run; the pod GC handles bound ones.
  for (const [node, pods] of byNode) {
    if (nodeNames.has(node)) continue;
    for (const p of pods) if (!p.spec.nodeName && !p.metadata.deletionTimestamp) del(p);
  }
  for (const p of unplaced) if (!p.metadata.deletionTimestamp) del(p);

  const beingDeleted = !!ds.metadata.deletionTimestamp;
  const actions: Action[] = [];
  if (!beingDeleted) {
    if ((ds.spec.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate") {
      const maxUnavailable = resolveMaxUnavailable(ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable, status.desired);
      for (const p of rollingUpdateDeletions(eligible, hash, maxUnavailable, minReadySeconds, now, toDelete)) del(p);
    }
    const ref = newControllerRef(ds, "apps/v1", "DaemonSet");
    for (const nodeName of toCreate) {
      const pod = podFromTemplate(template, ds, ref, ds.metadata.name ?? "");
      pod.spec.affinity = pinToNode(template, nodeName);
      actions.push({ verb: "create", resource: PODS, object: pod });
    }
    for (const p of toDelete.values()) {
      actions.push({ verb: "delete", resource: PODS, namespace: p.metadata.namespace, name: p.metadata.name ?? "", uid: p.metadata.uid });
    }
  }

  const counts: Partial<DaemonSetStatus> = {
    desiredNumberScheduled: status.desired,
    currentNumberScheduled: status.current,
    numberMisscheduled: status.misscheduled,
    numberReady: status.ready,
    numberAvailable: status.available,
    numberUnavailable: Math.max(0, status.desired - status.available),
    updatedNumberScheduled: status.updated,
    observedGeneration: ds.metadata.generation,
  };
  const old = ds.status ?? {};
  const changed = (Object.keys(counts) as (keyof typeof counts)[]).some((k) => (old[k] ?? 0) !== (counts[k] ?? 0));
  if (changed) {
    const next: DaemonSetStatus = { ...old, ...counts };
    if (next.observedGeneration === undefined) delete next.observedGeneration;
    actions.push({ verb: "updateStatus", resource: DAEMONSETS, object: { ...ds, status: next } });
  }

  const result: ReconcileResult = { actions };
  const wait = nextAvailableInMs(eligible.flatMap((e) => e.pods), minReadySeconds, now);
  if (wait !== undefined) result.requeueAfterMs = wait;
  return result;
}

/**
 * Old pods to delete this round: any old pod that is not available anyway, plus available old pods
 * while the number of unavailable nodes stays within maxUnavailable. Nodes go in name order.
 */
function rollingUpdateDeletions(
  eligible: { node: string; pods: Pod[] }[],
  hash: string,
  maxUnavailable: number,
  minReadySeconds: number,
  now: Date,
  alreadyDeleting: ReadonlyMap<string, Pod>,
): Pod[] {
  let unavailable = 0;
  const replaceNow: Pod[] = [];
  const candidates: Pod[] = [];
  for (const { pods } of eligible) {
    const live = pods.filter((p) => !p.metadata.deletionTimestamp && !alreadyDeleting.has(p.metadata.name ?? ""));
    const fresh = live.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === hash);
    const stale = live.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] !== hash);
    if (fresh.length > 1 || stale.length > 1 || fresh.length === stale.length) {
      // Being created, being cleaned up, or mid-swap: not serving, so it uses up budget.
      unavailable++;
    } else if (fresh.length === 1) {
      if (!isPodAvailable(fresh[0]!, minReadySeconds, now)) unavailable++;
    } else if (!isPodAvailable(stale[0]!, minReadySeconds, now)) {
      replaceNow.push(stale[0]!);
    } else {
      candidates.push(stale[0]!);
    }
  }
  const room = Math.max(0, Math.min(maxUnavailable - unavailable, candidates.length));
  return [...replaceNow, ...candidates.slice(0, room)];
}

/** Milliseconds until the next ready pod becomes available (minReadySeconds), so status catches it. */
function nextAvailableInMs(pods: Pod[], minReadySeconds: number, now: Date): number | undefined {
  if (minReadySeconds <= 0) return undefined;
  let best: number | undefined;
  for (const p of pods) {
    if (!isPodReady(p) || isPodAvailable(p, minReadySeconds, now)) continue;
    const c = p.status?.conditions?.find((x) => x.type === "Ready" && x.status === "True");
    const since = c?.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
    const w = Math.max(1, Number.isFinite(since) ? since + minReadySeconds * 1000 - now.getTime() : minReadySeconds * 1000);
    if (best === undefined || w < best) best = w;
  }
  return best;
}
