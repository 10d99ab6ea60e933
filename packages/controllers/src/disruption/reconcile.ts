// Book 11.3 (with 13.3's PodDisruptionBudgets): the disruption controller's reconcile: count the healthy
// pods a budget covers and publish how many may be evicted now, which pods/eviction then enforces.
import { type KubeObject, type OwnerReference, type Pod, SelectorError, matches, rfc3339, selectorFromLabelSelector } from "@corekube/api";
import { POD_DISRUPTION_BUDGETS, splitKey } from "@corekube/client";
import { controllerRef } from "../framework/owners.js";
import { isPodReady } from "../framework/pods.js";
import type { Action, Clock, ObjectReader, ReconcileResult } from "../framework/types.js";

/**
 * How long a pod listed in status.disruptedPods (the eviction handler's note that it is about to
 * delete it) counts as already gone; past this the note is dropped and the pod counts again.
 */
export const DISRUPTION_DELETION_TIMEOUT_MS = 2 * 60 * 1000;
/** Retry delay after a failed sync (unknown controller, malformed budget). */
export const DISRUPTION_SYNC_RETRY_MS = 30 * 1000;

export const DISRUPTION_ALLOWED_CONDITION = "DisruptionAllowed";
export const PDB_SUFFICIENT_PODS = "SufficientPods";
export const PDB_INSUFFICIENT_PODS = "InsufficientPods";
export const PDB_SYNC_FAILED = "SyncFailed";

/** A metav1.Condition as PodDisruptionBudget status carries it. */
export interface PDBCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  observedGeneration?: number;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface PDBStatus {
  observedGeneration?: number;
  disruptedPods?: Record<string, string>;
  disruptionsAllowed?: number;
  currentHealthy?: number;
  desiredHealthy?: number;
  expectedPods?: number;
  conditions?: PDBCondition[];
  [key: string]: unknown;
}

export interface PDB extends KubeObject {
  spec?: {
    minAvailable?: number | string | null;
    maxUnavailable?: number | string | null;
    selector?: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | null;
    [key: string]: unknown;
  };
  status?: PDBStatus;
}

/**
 * The scale of the workload controlling a pod: `replicas` (spec.replicas), and `uid`, the identity
 * to count it under (a Deployment's uid for pods of any of its ReplicaSets); the reference's uid
 * when omitted. Undefined when the controller is unknown.
 */
export interface ControllerScale {
  replicas: number;
  uid?: string;
}

export type ControllerScaleLookup = (namespace: string, ref: OwnerReference) => ControllerScale | undefined;

export interface DisruptionState {
  pdbs: ObjectReader;
  pods: ObjectReader<Pod>;
  controllers: ControllerScaleLookup;
  clock: Clock;
}

/** A failure that stops the budget from being computed; its message lands in the SyncFailed condition. */
class BudgetError extends Error {}

export function reconcileDisruption(key: string, s: DisruptionState): ReconcileResult {
  const { namespace, name } = splitKey(key);
  const pdb = s.pdbs.get(name, namespace) as PDB | undefined;
  if (!pdb) return { actions: [] };
  const now = s.clock.now();
  try {
    return sync(pdb, s, now);
  } catch (e) {
    if (e instanceof BudgetError || e instanceof SelectorError) return failSafe(pdb, e.message, now);
    throw e;
  }
}

function sync(pdb: PDB, s: DisruptionState, now: Date): ReconcileResult {
  const ns = pdb.metadata.namespace ?? "";
  const selector = selectorFromLabelSelector(pdb.spec?.selector as never);
  const pods = s.pods.list({ namespace: ns }).filter((p) => matches(selector, p.metadata.labels));
  const events: Action[] = [];
  if (pods.length === 0) events.push(event(pdb, "Normal", "NoPods", "No matching pods found"));

  const { expected, desired, unmanaged } = expectedAndDesired(pdb, pods, s.controllers);
  if (unmanaged.length > 0) {
    events.push(
      event(
        pdb,
        "Warning",
        "UnmanagedPods",
        `Pods selected by this PodDisruptionBudget were found to be unmanaged (${unmanaged.join(", ")}). ` +
          "As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. " +
          'To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.',
      ),
    );
  }

  // Pods the eviction handler noted as about to go: kept until seen deleting or until the note expires.
  const noted = pdb.status?.disruptedPods ?? {};
  const disrupted: Record<string, string> = {};
  let recheckAt: number | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    const at = noted[pod.metadata.name ?? ""];
    if (at === undefined) continue;
    const expiry = Date.parse(at) + DISRUPTION_DELETION_TIMEOUT_MS;
    if (Number.isFinite(expiry) && expiry > now.getTime()) {
      disrupted[pod.metadata.name ?? ""] = at;
      recheckAt = recheckAt === undefined ? expiry : Math.min(recheckAt, expiry);
    } else {
      events.push(event(pod, "Warning", "NotDeleted", `Pod was expected by PDB ${ns}/${pdb.metadata.name} to be deleted but it wasn't`));
    }
  }

  let healthy = 0;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    if (Object.hasOwn(disrupted, pod.metadata.name ?? "")) continue;
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") continue;
    if (isPodReady(pod)) healthy++;
  }

  // An empty budget allows nothing, so pods that show up before the next sync are protected.
  const allowed = expected <= 0 ? 0 : Math.max(0, healthy - desired);
  const generation = pdb.metadata.generation ?? 0;
  const old = pdb.status ?? {};
  const requeue = recheckAt === undefined ? {} : { requeueAfterMs: Math.max(0, recheckAt - now.getTime()) };
  const upToDate =
    (old.currentHealthy ?? 0) === healthy &&
    (old.desiredHealthy ?? 0) === desired &&
    (old.expectedPods ?? 0) === expected &&
    (old.disruptionsAllowed ?? 0) === allowed &&
    sameStringMap(old.disruptedPods ?? {}, disrupted) &&
    (old.observedGeneration ?? 0) === generation &&
    conditionUpToDate(old.conditions, allowed);
  // Events ride along with a status write only, so resyncs of a steady budget stay quiet.
  if (upToDate) return { actions: [], ...requeue };

  const status: PDBStatus = {
    ...old,
    observedGeneration: generation,
    currentHealthy: healthy,
    desiredHealthy: desired,
    expectedPods: expected,
    disruptionsAllowed: allowed,
    conditions: setCondition(old.conditions ?? [], {
      type: DISRUPTION_ALLOWED_CONDITION,
      status: allowed > 0 ? "True" : "False",
      reason: allowed > 0 ? PDB_SUFFICIENT_PODS : PDB_INSUFFICIENT_PODS,
      message: "",
      observedGeneration: generation,
    }, now),
  };
  if (Object.keys(disrupted).length > 0) status.disruptedPods = disrupted;
  else delete status.disruptedPods;
  return { actions: [{ verb: "updateStatus", resource: POD_DISRUPTION_BUDGETS, object: { ...pdb, status } }, ...events], ...requeue };
}

/**
 * expectedPods and desiredHealthy. An integer minAvailable counts the selected pods; a percentage
 * or any maxUnavailable uses the summed scale of the controllers owning them.
 */
function expectedAndDesired(pdb: PDB, pods: Pod[], lookup: ControllerScaleLookup): { expected: number; desired: number; unmanaged: string[] } {
  const spec = pdb.spec ?? {};
  const maxUnavailable = spec.maxUnavailable;
  const minAvailable = spec.minAvailable;
  if (maxUnavailable !== undefined && maxUnavailable !== null) {
    const { expected, unmanaged } = expectedScale(pdb, pods, lookup);
    const max = scaledValue(maxUnavailable, expected, "maxUnavailable");
    return { expected, desired: Math.max(0, expected - max), unmanaged };
  }
  if (minAvailable !== undefined && minAvailable !== null) {
    if (typeof minAvailable === "number") return { expected: pods.length, desired: scaledValue(minAvailable, pods.length, "minAvailable"), unmanaged: [] };
    const { expected, unmanaged } = expectedScale(pdb, pods, lookup);
    return { expected, desired: scaledValue(minAvailable, expected, "minAvailable"), unmanaged };
  }
  return { expected: 0, desired: 0, unmanaged: [] };
}

/** Sum of spec.replicas over the distinct controllers of `pods`; pods without a controller are listed apart. */
function expectedScale(pdb: PDB, pods: Pod[], lookup: ControllerScaleLookup): { expected: number; unmanaged: string[] } {
  const scales = new Map<string, number>();
  const seenRefs = new Set<string>();
  const unmanaged: string[] = [];
  for (const pod of pods) {
    const ref = controllerRef(pod);
    if (!ref) {
      unmanaged.push(pod.metadata.name ?? "");
      continue;
    }
    if (seenRefs.has(ref.uid)) continue;
    const found = lookup(pod.metadata.namespace ?? pdb.metadata.namespace ?? "", ref);
    if (!found) throw new BudgetError(`found no controllers for pod "${pod.metadata.name}"`);
    seenRefs.add(ref.uid);
    scales.set(found.uid ?? ref.uid, found.replicas);
  }
  let expected = 0;
  for (const n of scales.values()) expected += n;
  return { expected, unmanaged };
}

/** An int-or-percent against `total`; percentages round up. Throws BudgetError on anything else. */
function scaledValue(v: number | string, total: number, field: string): number {
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 0) throw new BudgetError(`invalid value for spec.${field}: ${v} is not a non-negative integer`);
    return v;
  }
  const m = /^(\d+)%$/.exec(v);
  if (!m) throw new BudgetError(`invalid value for spec.${field}: ${JSON.stringify(v)} is not an integer or a percentage`);
  return Math.ceil((Number(m[1]) * total) / 100);
}

/** When the budget cannot be computed: allow no disruptions and say why in the condition. */
function failSafe(pdb: PDB, message: string, now: Date): ReconcileResult {
  const old = pdb.status ?? {};
  const conditions = setCondition(old.conditions ?? [], {
    type: DISRUPTION_ALLOWED_CONDITION,
    status: "False",
    reason: PDB_SYNC_FAILED,
    message,
    observedGeneration: old.observedGeneration ?? 0,
  }, now);
  // Written (and reported) only when something changes, so a broken budget does not spam events.
  if ((old.disruptionsAllowed ?? 0) === 0 && JSON.stringify(conditions) === JSON.stringify(old.conditions ?? [])) {
    return { actions: [], requeueAfterMs: DISRUPTION_SYNC_RETRY_MS };
  }
  return {
    actions: [
      { verb: "updateStatus", resource: POD_DISRUPTION_BUDGETS, object: { ...pdb, status: { ...old, disruptionsAllowed: 0, conditions } } },
      event(pdb, "Warning", "CalculateExpectedPodCountFailed", `Failed to calculate the number of expected pods: ${message}`),
    ],
    requeueAfterMs: DISRUPTION_SYNC_RETRY_MS,
  };
}

/** Whether the DisruptionAllowed condition already matches `allowed` (status and reason). */
function conditionUpToDate(conds: PDBCondition[] | undefined, allowed: number): boolean {
  const c = conds?.find((x) => x.type === DISRUPTION_ALLOWED_CONDITION);
  if (!c) return false;
  return allowed > 0 ? c.status === "True" && c.reason === PDB_SUFFICIENT_PODS : c.status === "False" && c.reason === PDB_INSUFFICIENT_PODS;
}

/** Set a condition by type; lastTransitionTime moves only when the status changes. */
function setCondition(conds: PDBCondition[], c: Omit<PDBCondition, "lastTransitionTime">, now: Date): PDBCondition[] {
  const i = conds.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? conds[i] : undefined;
  const next: PDBCondition = {
    ...c,
    lastTransitionTime: prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : rfc3339(now),
  };
  if (i < 0) return [...conds, next];
  const out = [...conds];
  out[i] = next;
  return out;
}

function sameStringMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

function event(object: KubeObject, type: "Normal" | "Warning", reason: string, message: string): Action {
  return { verb: "event", object, type, reason, message };
}

// ---------------------------------------------------------------------------------------------
// Finding a pod's controller and its scale from the workload informers.

/** Readers for the workloads whose spec.replicas a budget may count. */
export interface WorkloadReaders {
  replicaSets: ObjectReader;
  deployments: ObjectReader;
  statefulSets: ObjectReader;
  replicationControllers?: ObjectReader;
}

const groupOf = (apiVersion: string | undefined): string => {
  const v = apiVersion ?? "";
  const slash = v.indexOf("/");
  return slash < 0 ? "" : v.slice(0, slash);
};

/** spec.replicas with the API's default of 1. */
const replicasOf = (o: KubeObject): number => {
  const r = (o.spec as { replicas?: unknown } | undefined)?.replicas;
  return typeof r === "number" && Number.isInteger(r) && r >= 0 ? r : 1;
};

/** The cached object named by `ref` in `ns`, only if its uid agrees (else a different incarnation). */
function resolve(reader: ObjectReader | undefined, ns: string, ref: OwnerReference): KubeObject | undefined {
  const o = reader?.get(ref.name, ns);
  return o && o.metadata.uid === ref.uid ? o : undefined;
}

/**
 * A `controllers` lookup over workload caches. A ReplicaSet controlled by a Deployment counts as
 * that Deployment (so two ReplicaSets of one rollout are one controller); a ReplicaSet whose
 * Deployment is not in the cache is unknown. StatefulSets and ReplicationControllers count as
 * themselves. Other kinds are unknown (upstream would ask their scale subresource).
 */
export function scaleOfController(readers: WorkloadReaders): ControllerScaleLookup {
  return (ns, ref) => {
    const group = groupOf(ref.apiVersion);
    if (ref.kind === "ReplicaSet" && (group === "apps" || group === "extensions")) {
      const rs = resolve(readers.replicaSets, ns, ref);
      if (!rs) return undefined;
      const owner = controllerRef(rs);
      if (owner && owner.kind === "Deployment") {
        const og = groupOf(owner.apiVersion);
        if (og !== "apps" && og !== "extensions") return undefined;
        const d = resolve(readers.deployments, ns, owner);
        return d ? { replicas: replicasOf(d), uid: owner.uid } : undefined;
      }
      return { replicas: replicasOf(rs), uid: ref.uid };
    }
    if (ref.kind === "StatefulSet" && group === "apps") {
      const ss = resolve(readers.statefulSets, ns, ref);
      return ss ? { replicas: replicasOf(ss), uid: ref.uid } : undefined;
    }
    if (ref.kind === "ReplicationController" && group === "") {
      const rc = resolve(readers.replicationControllers, ns, ref);
      return rc ? { replicas: replicasOf(rc), uid: ref.uid } : undefined;
    }
    return undefined;
  };
}
