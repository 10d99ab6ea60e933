// Book 2.3.3 and 11.3: the ReplicaSet controller's reconcile: claim the pods the selector picks
// (adopting orphans, releasing strays), create or delete pods toward spec.replicas, report status.
import { isEverything, type KubeObject, type LabelSelector, matches, type Pod, selectorFromLabelSelector, selectorFromSet } from "@corekube/api";
import { PODS, REPLICASETS, splitKey } from "@corekube/client";
import { controllerRef, newControllerRef } from "../framework/owners.js";
import { isPodActive, isPodAvailable, isPodReady, podFromTemplate, type PodTemplateSpec } from "../framework/pods.js";
import type { Action, Clock, ObjectReader, ReconcileResult } from "../framework/types.js";
import type { Expectations } from "./expectations.js";

export interface ReplicaSetSpec {
  replicas?: number;
  minReadySeconds?: number;
  selector?: LabelSelector;
  template?: PodTemplateSpec;
}

export interface ReplicaSetStatus {
  replicas?: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: unknown[];
  [key: string]: unknown;
}

export interface ReplicaSet extends KubeObject {
  spec: ReplicaSetSpec;
  status?: ReplicaSetStatus;
}

export interface ReplicaSetState {
  replicaSets: ObjectReader;
  pods: ObjectReader<Pod>;
  expectations: Expectations;
  clock: Clock;
  /** Most pods created or deleted in one round (upstream's burstReplicas). */
  burst?: number;
}

export const DEFAULT_BURST = 500;

/** The annotation a user sets to make a pod cheaper (or dearer) to delete on scale-down. */
export const POD_DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost";

export function reconcileReplicaSet(key: string, s: ReplicaSetState): ReconcileResult {
  const { namespace, name } = splitKey(key);
  const rs = s.replicaSets.get(name, namespace) as ReplicaSet | undefined;
  if (!rs) {
    s.expectations.delete(key);
    return { actions: [] };
  }
  const now = s.clock.now();
  const actions: Action[] = [];
  const selector = selectorFromLabelSelector(rs.spec.selector);
  if (isEverything(selector)) {
    // Validation forbids this; never let an empty selector swallow the whole namespace.
    return { actions: [{ verb: "event", object: rs, type: "Warning", reason: "SelectingAll", message: "This ReplicaSet is selecting all pods. A non-empty selector is required." }] };
  }
  const beingDeleted = !!rs.metadata.deletionTimestamp;

  // Claim: keep our matching pods, adopt matching orphans, release ours that no longer match.
  const owned: Pod[] = [];
  for (const pod of s.pods.list({ namespace: rs.metadata.namespace })) {
    if (!isPodActive(pod)) continue;
    const ref = controllerRef(pod);
    const selected = matches(selector, pod.metadata.labels);
    if (ref) {
      if (ref.uid !== rs.metadata.uid) continue;
      if (selected) owned.push(pod);
      else if (!beingDeleted) actions.push(releasePatch(pod, rs));
    } else if (selected && !beingDeleted) {
      actions.push(adoptPatch(pod, rs));
      owned.push(pod);
    }
  }

  // Act on the difference only when the cache has caught up with our last round of writes.
  if (!beingDeleted && s.expectations.satisfied(key)) {
    const burst = s.burst ?? DEFAULT_BURST;
    const want = rs.spec.replicas ?? 1;
    const diff = owned.length - want;
    if (diff < 0) {
      const n = Math.min(-diff, burst);
      s.expectations.expect(key, n, 0);
      const ref = newControllerRef(rs, "apps/v1", "ReplicaSet");
      const template: PodTemplateSpec = rs.spec.template ?? { spec: { containers: [] } };
      for (let i = 0; i < n; i++) {
        actions.push({ verb: "create", resource: PODS, object: podFromTemplate(template, rs, ref, rs.metadata.name ?? "") });
      }
    } else if (diff > 0) {
      const n = Math.min(diff, burst);
      s.expectations.expect(key, 0, n);
      for (const pod of podsToDelete(owned, n)) {
        actions.push({ verb: "delete", resource: PODS, namespace: pod.metadata.namespace, name: pod.metadata.name ?? "", uid: pod.metadata.uid });
      }
    }
  }

  // Status, counted from the pods as they are now (before this round's writes land).
  const minReadySeconds = rs.spec.minReadySeconds ?? 0;
  const templateSelector = selectorFromSet(rs.spec.template?.metadata?.labels ?? {});
  const counts = {
    replicas: owned.length,
    fullyLabeledReplicas: owned.filter((p) => matches(templateSelector, p.metadata.labels)).length,
    readyReplicas: owned.filter(isPodReady).length,
    availableReplicas: owned.filter((p) => isPodAvailable(p, minReadySeconds, now)).length,
    observedGeneration: rs.metadata.generation,
  };
  const old = rs.status ?? {};
  const changed = (Object.keys(counts) as (keyof typeof counts)[]).some((k) => (old[k] ?? 0) !== (counts[k] ?? 0));
  if (changed) {
    const status: ReplicaSetStatus = { ...old, ...counts };
    if (status.observedGeneration === undefined) delete status.observedGeneration;
    actions.push({ verb: "updateStatus", resource: REPLICASETS, object: { ...rs, status } });
  }

  const result: ReconcileResult = { actions };
  const wait = nextAvailableInMs(owned, minReadySeconds, now);
  if (wait !== undefined) result.requeueAfterMs = wait;
  return result;
}

/** A strategic merge patch that makes `rs` the pod's controller; the uid guards against a recreated pod. */
function adoptPatch(pod: Pod, rs: ReplicaSet): Action {
  return {
    verb: "patch",
    resource: PODS,
    namespace: pod.metadata.namespace,
    name: pod.metadata.name ?? "",
    patchType: "strategic",
    patch: { metadata: { ownerReferences: [newControllerRef(rs, "apps/v1", "ReplicaSet")], uid: pod.metadata.uid } },
  };
}

/** A strategic merge patch that removes `rs`'s owner reference from the pod, leaving it an orphan. */
function releasePatch(pod: Pod, rs: ReplicaSet): Action {
  return {
    verb: "patch",
    resource: PODS,
    namespace: pod.metadata.namespace,
    name: pod.metadata.name ?? "",
    patchType: "strategic",
    patch: { metadata: { ownerReferences: [{ $patch: "delete", uid: rs.metadata.uid }], uid: pod.metadata.uid } },
  };
}

/** Milliseconds until the next ready-but-not-yet-available pod crosses minReadySeconds, if any. */
function nextAvailableInMs(pods: Pod[], minReadySeconds: number, now: Date): number | undefined {
  if (minReadySeconds <= 0) return undefined;
  let best: number | undefined;
  for (const p of pods) {
    if (!isPodReady(p) || isPodAvailable(p, minReadySeconds, now)) continue;
    const since = readySince(p);
    const wait = since === undefined ? minReadySeconds * 1000 : since + minReadySeconds * 1000 - now.getTime();
    const w = Math.max(1, wait);
    if (best === undefined || w < best) best = w;
  }
  return best;
}

function readySince(p: Pod): number | undefined {
  const c = p.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True");
  const t = c?.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  return Number.isFinite(t) ? t : undefined;
}

const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function deletionCost(p: Pod): number {
  const v = p.metadata.annotations?.[POD_DELETION_COST_ANNOTATION];
  const n = v === undefined ? 0 : Number(v);
  return Number.isInteger(n) ? n : 0;
}

function maxRestarts(p: Pod): number {
  return Math.max(0, ...(p.status?.containerStatuses ?? []).map((c) => c.restartCount ?? 0));
}

function created(p: Pod): number {
  const t = p.metadata.creationTimestamp ? Date.parse(p.metadata.creationTimestamp) : NaN;
  return Number.isFinite(t) ? t : 0;
}

/**
 * Negative when `a` should go before `b` on scale-down: unscheduled before scheduled, Pending before
 * Unknown before Running, not ready before ready, lower deletion cost first, more siblings on the same
 * node first, ready more recently first, more restarts first, newer first.
 */
export function compareForDeletion(a: Pod, b: Pod, podsOnNode: ReadonlyMap<string, number> = new Map()): number {
  const na = a.spec.nodeName ?? "";
  const nb = b.spec.nodeName ?? "";
  if (na !== nb && (na === "" || nb === "")) return na === "" ? -1 : 1;
  const pa = PHASE_ORDER[a.status?.phase ?? ""] ?? 0;
  const pb = PHASE_ORDER[b.status?.phase ?? ""] ?? 0;
  if (pa !== pb) return pa - pb;
  const ra = isPodReady(a);
  const rb = isPodReady(b);
  if (ra !== rb) return ra ? 1 : -1;
  const ca = deletionCost(a);
  const cb = deletionCost(b);
  if (ca !== cb) return ca - cb;
  const ka = podsOnNode.get(na) ?? 0;
  const kb = podsOnNode.get(nb) ?? 0;
  if (ka !== kb) return kb - ka;
  if (ra && rb) {
    const ta = readySince(a) ?? 0;
    const tb = readySince(b) ?? 0;
    if (ta !== tb) return tb - ta;
  }
  const xa = maxRestarts(a);
  const xb = maxRestarts(b);
  if (xa !== xb) return xb - xa;
  return created(b) - created(a);
}

/** The `n` pods to delete first, by the order above. */
export function podsToDelete(pods: Pod[], n: number): Pod[] {
  if (n >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of pods) {
    const node = p.spec.nodeName ?? "";
    if (node) onNode.set(node, (onNode.get(node) ?? 0) + 1);
  }
  return [...pods].sort((a, b) => compareForDeletion(a, b, onNode)).slice(0, n);
}
