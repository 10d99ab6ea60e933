// Book 11.3: the StatefulSet controller's reconcile: pods with stable names and their own volume
// claims, created in ordinal order and removed from the top, rolled to a new revision from the top down.
import { isEverything, type KubeObject, type LabelSelector, matches, type Pod, type Selector, selectorFromLabelSelector } from "@corekube/api";
import { CONTROLLER_REVISIONS, PERSISTENT_VOLUME_CLAIMS, PODS, STATEFULSETS, splitKey } from "@corekube/client";
import { controllerRef, newControllerRef } from "../framework/owners.js";
import { isPodAvailable, isPodReady, type PodTemplateSpec } from "../framework/pods.js";
import type { Action, Clock, ObjectReader, ReconcileResult } from "../framework/types.js";
import {
  claimsFor,
  identityMatches,
  isMemberOf,
  newStatefulPod,
  ordinalOf,
  type PersistentVolumeClaimTemplate,
  POD_INDEX_LABEL,
  POD_NAME_LABEL,
  REVISION_LABEL,
  storageMatches,
} from "./identity.js";
import { type ControllerRevision, planRevisions, revisionsToPrune, sortRevisions, templateOfRevision } from "./revisions.js";

export { POD_INDEX_LABEL, POD_NAME_LABEL, REVISION_LABEL } from "./identity.js";

export interface StatefulSetSpec {
  replicas?: number;
  selector?: LabelSelector;
  template?: PodTemplateSpec;
  serviceName?: string;
  volumeClaimTemplates?: PersistentVolumeClaimTemplate[];
  podManagementPolicy?: "OrderedReady" | "Parallel";
  updateStrategy?: { type?: "RollingUpdate" | "OnDelete"; rollingUpdate?: { partition?: number; maxUnavailable?: number | string } };
  revisionHistoryLimit?: number;
  minReadySeconds?: number;
  ordinals?: { start?: number };
  persistentVolumeClaimRetentionPolicy?: { whenDeleted?: "Retain" | "Delete"; whenScaled?: "Retain" | "Delete" };
  [key: string]: unknown;
}

export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  currentReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  collisionCount?: number;
  [key: string]: unknown;
}

export interface StatefulSet extends KubeObject {
  spec: StatefulSetSpec;
  status?: StatefulSetStatus;
}

export interface StatefulSetState {
  statefulSets: ObjectReader;
  pods: ObjectReader<Pod>;
  /** PersistentVolumeClaims. */
  pvcs: ObjectReader;
  /** ControllerRevisions. */
  revisions: ObjectReader;
  clock: Clock;
}

/** How long to look again while a claim the next pod needs is still being deleted. */
export const STALE_CLAIM_RETRY_MS = 5_000;

/** Most pods a Parallel set asks to create in one round (upstream's MaxBatchSize); the rest follow. */
export const MAX_BATCH = 500;

const isNonNegativeInt = (v: unknown): boolean => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** A message for a spec this reconcile cannot act on, or undefined when it can. */
function specProblem(set: StatefulSet): string | undefined {
  const spec = set.spec as StatefulSetSpec | undefined;
  if (!spec || typeof spec !== "object") return "spec is missing";
  if (spec.replicas !== undefined && !isNonNegativeInt(spec.replicas)) return `spec.replicas must be a non-negative integer, got ${JSON.stringify(spec.replicas)}`;
  if (spec.ordinals?.start !== undefined && !isNonNegativeInt(spec.ordinals.start)) return `spec.ordinals.start must be a non-negative integer, got ${JSON.stringify(spec.ordinals.start)}`;
  const partition = spec.updateStrategy?.rollingUpdate?.partition;
  if (partition !== undefined && !isNonNegativeInt(partition)) return `spec.updateStrategy.rollingUpdate.partition must be a non-negative integer, got ${JSON.stringify(partition)}`;
  if (spec.minReadySeconds !== undefined && !isNonNegativeInt(spec.minReadySeconds)) return `spec.minReadySeconds must be a non-negative integer, got ${JSON.stringify(spec.minReadySeconds)}`;
  if (!spec.template?.spec || typeof spec.template.spec !== "object") return "spec.template.spec is missing";
  if (!Array.isArray(spec.volumeClaimTemplates ?? []) || (spec.volumeClaimTemplates ?? []).some((t) => !t?.metadata?.name)) {
    return "every spec.volumeClaimTemplates entry needs a metadata.name";
  }
  return undefined;
}

const isRunningAndReady = (p: Pod): boolean => p.status?.phase === "Running" && isPodReady(p);
const isRunningAndAvailable = (p: Pod, minReadySeconds: number, now: Date): boolean => p.status?.phase === "Running" && isPodAvailable(p, minReadySeconds, now);
const isTerminating = (p: Pod): boolean => !!p.metadata.deletionTimestamp;
const isFinished = (p: Pod): boolean => p.status?.phase === "Failed" || p.status?.phase === "Succeeded";
const revisionOf = (p: Pod): string | undefined => p.metadata.labels?.[REVISION_LABEL];

export function reconcileStatefulSet(key: string, s: StatefulSetState): ReconcileResult {
  const { namespace, name } = splitKey(key);
  const set = s.statefulSets.get(name, namespace) as StatefulSet | undefined;
  if (!set) return { actions: [] };
  const warn = (reason: string, message: string): ReconcileResult => ({ actions: [{ verb: "event", object: set, type: "Warning", reason, message }] });

  const problem = specProblem(set);
  if (problem) return warn("InvalidSpec", `StatefulSet ${key}: ${problem}`);
  let selector: Selector;
  try {
    selector = selectorFromLabelSelector(set.spec.selector);
  } catch (e) {
    return warn("InvalidSelector", `StatefulSet ${key}: invalid selector: ${(e as Error).message}`);
  }
  if (isEverything(selector)) return warn("SelectingAll", "This StatefulSet is selecting all pods. A non-empty selector is required.");

  const now = s.clock.now();
  const ns = set.metadata.namespace;
  const setName = set.metadata.name ?? "";
  const beingDeleted = !!set.metadata.deletionTimestamp;
  const actions: Action[] = [];

  // Claim pods: ours that still match and are named as members; adopt matching orphans; release strays.
  const pods: Pod[] = [];
  for (const pod of s.pods.list({ namespace: ns })) {
    const ref = controllerRef(pod);
    const wanted = matches(selector, pod.metadata.labels) && isMemberOf(setName, pod);
    if (ref) {
      if (ref.uid !== set.metadata.uid) continue;
      if (wanted) pods.push(pod);
      else if (!beingDeleted) actions.push(ownerPatch(pod, [{ $patch: "delete", uid: set.metadata.uid }]));
    } else if (wanted && !beingDeleted && !isTerminating(pod)) {
      actions.push(ownerPatch(pod, [newControllerRef(set, "apps/v1", "StatefulSet")]));
      pods.push(pod);
    }
  }

  // Revisions: the set's history, and which revision is current and which the update target.
  const owned = sortRevisions(
    (s.revisions.list({ namespace: ns }) as ControllerRevision[]).filter((r) => controllerRef(r)?.uid === set.metadata.uid),
  );
  const plan = planRevisions(set, owned, s.revisions);
  if (!plan) return warn("RevisionNameCollision", `StatefulSet ${key}: no free ControllerRevision name found`);
  if (!beingDeleted) actions.push(...plan.actions);
  const currentName = plan.current.metadata.name ?? "";
  const updateName = plan.update.metadata.name ?? "";
  const updateTemplate = set.spec.template!;
  const currentTemplate = templateOfRevision(plan.current) ?? updateTemplate;

  const replicaCount = set.spec.replicas ?? 1;
  const start = set.spec.ordinals?.start ?? 0;
  const minReadySeconds = set.spec.minReadySeconds ?? 0;
  const monotonic = (set.spec.podManagementPolicy ?? "OrderedReady") !== "Parallel";
  const strategy = set.spec.updateStrategy?.type ?? "RollingUpdate";
  const partition = set.spec.updateStrategy?.rollingUpdate?.partition ?? 0;

  // Pods in [start, start+replicas) by index; the rest, with a valid ordinal, are condemned.
  const replicas = new Map<number, Pod>();
  const condemned: Pod[] = [];
  for (const pod of pods) {
    const ord = ordinalOf(pod);
    if (ord >= start && ord < start + replicaCount) replicas.set(ord - start, pod);
    else condemned.push(pod);
  }
  condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));
  const unavailable = (p: Pod) => !isRunningAndAvailable(p, minReadySeconds, now) || isTerminating(p);
  const firstUnavailable =
    [...replicas.entries()].sort(([a], [b]) => a - b).find(([, p]) => unavailable(p))?.[1] ?? [...condemned].reverse().find(unavailable);

  // The indexes to visit in order: every existing pod, and missing ones up to MAX_BATCH creates a round.
  const visit: number[] = [];
  let missing = 0;
  let i = 0;
  for (; i < replicaCount && missing < MAX_BATCH; i++) {
    visit.push(i);
    if (!replicas.has(i)) missing++;
  }
  const reached = i;
  visit.push(...[...replicas.keys()].filter((k) => k >= reached).sort((a, b) => a - b));

  const deleted = new Set<string>();
  const deletePod = (p: Pod) => {
    if (deleted.has(p.metadata.name ?? "")) return;
    deleted.add(p.metadata.name ?? "");
    actions.push({ verb: "delete", resource: PODS, namespace: p.metadata.namespace, name: p.metadata.name ?? "", uid: p.metadata.uid });
  };
  const claimsCreated = new Set<string>();
  let staleClaim = false;
  /** Queues creates for the pod's missing claims; false when one is still being deleted. */
  const ensureClaims = (ordinal: number): boolean => {
    let ok = true;
    for (const claim of claimsFor(set, ordinal)) {
      const claimName = claim.metadata.name ?? "";
      const existing = s.pvcs.get(claimName, ns);
      if (existing) {
        if (existing.metadata.deletionTimestamp) ok = false;
        continue;
      }
      if (claimsCreated.has(claimName)) continue;
      claimsCreated.add(claimName);
      actions.push({ verb: "create", resource: PERSISTENT_VOLUME_CLAIMS, object: claim });
    }
    if (!ok) staleClaim = true;
    return ok;
  };
  /** The pod a missing ordinal gets: below the partition it keeps the current revision. */
  const versionedPod = (ordinal: number): Pod =>
    strategy === "RollingUpdate" && ordinal - start < partition
      ? newStatefulPod(set, currentTemplate, ordinal, currentName)
      : newStatefulPod(set, updateTemplate, ordinal, updateName);

  /** One in-range ordinal; true when an OrderedReady set must stop here this round. */
  const processReplica = (i: number): boolean => {
    const ordinal = start + i;
    const pod = replicas.get(i);
    if (!pod) {
      // Claims first, so the pod never starts without its volumes.
      if (!ensureClaims(ordinal)) return true;
      const fresh = versionedPod(ordinal);
      actions.push({ verb: "create", resource: PODS, object: fresh });
      return monotonic;
    }
    if (isFinished(pod)) {
      // Delete it; the replacement is made once the old one is gone from the store.
      if (!isTerminating(pod)) deletePod(pod);
      return true;
    }
    if (pod.status?.phase === "Pending" && !isTerminating(pod)) ensureClaims(ordinal);
    if (monotonic && (isTerminating(pod) || !isRunningAndAvailable(pod, minReadySeconds, now))) return true;
    if (!isTerminating(pod)) {
      if (!storageMatches(set, pod)) ensureClaims(ordinal);
      if (!identityMatches(set, pod)) {
        // The pod spec is immutable; only the identity labels can be put right.
        const fixed = structuredClone(pod);
        fixed.metadata.labels = { ...(fixed.metadata.labels ?? {}), [POD_NAME_LABEL]: fixed.metadata.name ?? "", [POD_INDEX_LABEL]: String(ordinal) };
        actions.push({ verb: "update", resource: PODS, object: fixed });
      }
    }
    return false;
  };

  const counts = countReplicas(pods, minReadySeconds, now, currentName, updateName);
  if (!beingDeleted) {
    let stop = false;
    for (const i of visit) {
      if (processReplica(i) && monotonic) {
        stop = true;
        break;
      }
    }
    // Scale down from the highest ordinal; OrderedReady waits until every other pod is healthy.
    if (!stop) {
      for (const pod of condemned) {
        if (isTerminating(pod)) {
          if (monotonic) {
            stop = true;
            break;
          }
          continue;
        }
        if (monotonic && pod !== firstUnavailable && !isRunningAndAvailable(pod, minReadySeconds, now)) {
          stop = true;
          break;
        }
        deletePod(pod);
        if (monotonic) {
          stop = true;
          break;
        }
      }
    }
    // Rolling update: from the highest ordinal down to the partition, one pod at a time.
    if (!stop && strategy === "RollingUpdate") {
      for (let i = replicaCount - 1; i >= partition; i--) {
        const pod = replicas.get(i);
        // Not there yet (or only just asked for): it is not available, so the update waits.
        if (!pod) break;
        if (revisionOf(pod) !== updateName && !isTerminating(pod)) {
          deletePod(pod);
          break;
        }
        if (deleted.has(pod.metadata.name ?? "") || unavailable(pod)) break;
      }
    }
  }

  // Status, from the pods as the cache shows them now.
  const status: StatefulSetStatus = {
    observedGeneration: set.metadata.generation,
    replicas: counts.replicas,
    readyReplicas: counts.ready,
    currentReplicas: counts.current,
    updatedReplicas: counts.updated,
    availableReplicas: counts.available,
    currentRevision: currentName,
    updateRevision: updateName,
    collisionCount: plan.collisionCount,
  };
  // Every pod at the update revision and ready: the rollout is done, the update revision becomes current.
  if (strategy === "RollingUpdate" && counts.updated === counts.replicas && counts.ready === counts.replicas) {
    status.currentReplicas = counts.updated;
    status.currentRevision = updateName;
  }
  const old = set.status ?? {};
  const fields = Object.keys(status) as (keyof StatefulSetStatus)[];
  if (fields.some((k) => (old[k] ?? undefined) !== (status[k] ?? undefined))) {
    const next: StatefulSetStatus = { ...old, ...status };
    if (next.observedGeneration === undefined) delete next.observedGeneration;
    actions.push({ verb: "updateStatus", resource: STATEFULSETS, object: { ...set, status: next } });
  }

  // Keep at most revisionHistoryLimit revisions that neither a pod nor the status refers to.
  if (!beingDeleted) {
    const live = new Set<string>([currentName, updateName, status.currentRevision ?? ""]);
    for (const p of pods) {
      const r = revisionOf(p);
      if (r) live.add(r);
    }
    const limit = set.spec.revisionHistoryLimit ?? 10;
    for (const r of revisionsToPrune(owned, live, limit)) {
      actions.push({ verb: "delete", resource: CONTROLLER_REVISIONS, namespace: r.metadata.namespace, name: r.metadata.name ?? "", uid: r.metadata.uid });
    }
  }

  const result: ReconcileResult = { actions };
  let wait = nextAvailableInMs(pods, minReadySeconds, now);
  if (staleClaim && (wait === undefined || wait > STALE_CLAIM_RETRY_MS)) wait = STALE_CLAIM_RETRY_MS;
  if (wait !== undefined) result.requeueAfterMs = wait;
  return result;
}

/** Status counts over the set's pods (terminating pods count as replicas but not as current or updated). */
function countReplicas(pods: Pod[], minReadySeconds: number, now: Date, currentName: string, updateName: string) {
  const c = { replicas: 0, ready: 0, available: 0, current: 0, updated: 0 };
  for (const p of pods) {
    c.replicas++;
    if (isRunningAndReady(p)) {
      c.ready++;
      if (isRunningAndAvailable(p, minReadySeconds, now)) c.available++;
    }
    if (!isTerminating(p)) {
      if (revisionOf(p) === currentName) c.current++;
      if (revisionOf(p) === updateName) c.updated++;
    }
  }
  return c;
}

/** A strategic merge patch of the pod's owner references; the uid guards against a recreated pod. */
function ownerPatch(pod: Pod, ownerReferences: unknown[]): Action {
  return {
    verb: "patch",
    resource: PODS,
    namespace: pod.metadata.namespace,
    name: pod.metadata.name ?? "",
    patchType: "strategic",
    patch: { metadata: { ownerReferences, uid: pod.metadata.uid } },
  };
}

/** Milliseconds until the next running, ready pod passes minReadySeconds, if any is waiting. */
function nextAvailableInMs(pods: Pod[], minReadySeconds: number, now: Date): number | undefined {
  if (minReadySeconds <= 0) return undefined;
  let best: number | undefined;
  for (const p of pods) {
    if (!isRunningAndReady(p) || isPodAvailable(p, minReadySeconds, now)) continue;
    const c = p.status?.conditions?.find((x) => x.type === "Ready" && x.status === "True");
    const since = c?.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
    const w = Math.max(1, Number.isFinite(since) ? since + minReadySeconds * 1000 - now.getTime() : minReadySeconds * 1000);
    if (best === undefined || w < best) best = w;
  }
  return best;
}
