// Book 2.3.3 and 11.3: the Deployment controller's reconcile: own one ReplicaSet per template version,
// roll pods from the old ones to the new one (Recreate or RollingUpdate), keep history, report status.
import { isEverything, type KubeObject, type LabelSelector, matches, type Pod, rfc3339, selectorFromLabelSelector } from "@corekube/api";
import { DEPLOYMENTS, REPLICASETS, splitKey } from "@corekube/client";
import { controllerRef, newControllerRef } from "../framework/owners.js";
import type { PodTemplateSpec } from "../framework/pods.js";
import type { Action, Clock, ObjectReader, ReconcileResult } from "../framework/types.js";
import type { ReplicaSet } from "../replicaset/reconcile.js";
import { canonicalJSON, equalIgnoringHash, POD_TEMPLATE_HASH_LABEL, podTemplateHash } from "./hash.js";

// Note on rollback: the old extensions/v1beta1 spec.rollbackTo is not modelled. `kubectl rollout undo`
// copies an old ReplicaSet's template into the Deployment, so a rollback is an ordinary template change
// whose "new" ReplicaSet already exists; it gets a fresh revision number below.

export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
export const REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history";
export const DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas";

/** Deployment annotations that are not copied onto its ReplicaSets. */
const NOT_COPIED = new Set([
  "kubectl.kubernetes.io/last-applied-configuration",
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  "deprecated.deployment.rollback.to",
]);

export const DEFAULT_REVISION_HISTORY_LIMIT = 10;
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
/** progressDeadlineSeconds at this value means "no deadline". */
const NO_DEADLINE = 2147483647;

export interface RollingUpdateParams {
  maxSurge?: number | string;
  maxUnavailable?: number | string;
}

export interface DeploymentSpec {
  replicas?: number;
  selector?: LabelSelector;
  template?: PodTemplateSpec;
  strategy?: { type?: "RollingUpdate" | "Recreate"; rollingUpdate?: RollingUpdateParams };
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  paused?: boolean;
  progressDeadlineSeconds?: number;
}

export interface DeploymentCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  collisionCount?: number;
  conditions?: DeploymentCondition[];
  [key: string]: unknown;
}

export interface Deployment extends KubeObject {
  spec: DeploymentSpec;
  status?: DeploymentStatus;
}

export interface DeploymentState {
  deployments: ObjectReader;
  replicaSets: ObjectReader;
  pods: ObjectReader<Pod>;
  clock: Clock;
}

// Condition reasons, as kubectl and users see them.
export const REASON = {
  minimumAvailable: "MinimumReplicasAvailable",
  minimumUnavailable: "MinimumReplicasUnavailable",
  newRSCreated: "NewReplicaSetCreated",
  foundNewRS: "FoundNewReplicaSet",
  rsUpdated: "ReplicaSetUpdated",
  newRSAvailable: "NewReplicaSetAvailable",
  timedOut: "ProgressDeadlineExceeded",
  paused: "DeploymentPaused",
  resumed: "DeploymentResumed",
} as const;

// ---------------------------------------------------------------------------------------------
// Arithmetic of a rollout.

/** An int, or a "N%" of `total` rounded up or down; undefined for anything else. */
export function scaledValue(v: number | string, total: number, roundUp: boolean): number | undefined {
  if (typeof v === "number") return Number.isInteger(v) ? v : undefined;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return undefined;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

const isRolling = (d: Deployment) => (d.spec.strategy?.type ?? "RollingUpdate") === "RollingUpdate";
const desiredReplicas = (d: Deployment) => d.spec.replicas ?? 1;

/**
 * maxSurge and maxUnavailable as pod counts for `replicas`: defaults 25%/25%, surge rounded up,
 * unavailability rounded down; if both come to zero, one pod may be unavailable so the rollout can move.
 */
export function resolveFenceposts(ru: RollingUpdateParams | undefined, replicas: number): { surge: number; unavailable: number } {
  const surge = scaledValue(ru?.maxSurge ?? "25%", replicas, true) ?? 0;
  let unavailable = scaledValue(ru?.maxUnavailable ?? "25%", replicas, false) ?? 0;
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export function maxSurge(d: Deployment): number {
  if (!isRolling(d)) return 0;
  return resolveFenceposts(d.spec.strategy?.rollingUpdate, desiredReplicas(d)).surge;
}

export function maxUnavailable(d: Deployment): number {
  const replicas = desiredReplicas(d);
  if (!isRolling(d) || replicas === 0) return 0;
  return Math.min(replicas, resolveFenceposts(d.spec.strategy?.rollingUpdate, replicas).unavailable);
}

const specReplicas = (rs: ReplicaSet | undefined) => (rs ? (rs.spec.replicas ?? 1) : 0);
const statusOf = (rs: ReplicaSet | undefined, k: "replicas" | "readyReplicas" | "availableReplicas") => (rs?.status?.[k] as number | undefined) ?? 0;
const sum = (rss: (ReplicaSet | undefined)[], f: (rs: ReplicaSet | undefined) => number) => rss.reduce((n, rs) => n + f(rs), 0);
const isActive = (rs: ReplicaSet | undefined): rs is ReplicaSet => !!rs && specReplicas(rs) > 0;

function revisionOf(rs: ReplicaSet): number {
  const v = rs.metadata.annotations?.[REVISION_ANNOTATION];
  const n = v === undefined ? 0 : Number(v);
  return Number.isInteger(n) ? n : 0;
}

function intAnnotation(rs: ReplicaSet, key: string): number | undefined {
  const v = rs.metadata.annotations?.[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

function createdAt(rs: ReplicaSet): number {
  const t = rs.metadata.creationTimestamp ? Date.parse(rs.metadata.creationTimestamp) : NaN;
  return Number.isFinite(t) ? t : 0;
}

/** Oldest first; ties by name. */
function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  return createdAt(a) - createdAt(b) || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

/**
 * How many pods the new ReplicaSet should have in a rolling update: grow into the room that
 * replicas + maxSurge leaves above every ReplicaSet's current size, never past replicas.
 */
export function newReplicaSetReplicas(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet): number {
  const want = desiredReplicas(d);
  if (!isRolling(d)) return want;
  const current = sum(all, specReplicas);
  const maxTotal = want + maxSurge(d);
  if (current >= maxTotal) return specReplicas(newRS);
  return specReplicas(newRS) + Math.min(maxTotal - current, want - specReplicas(newRS));
}

// ---------------------------------------------------------------------------------------------
// Conditions.


function getCondition(st: DeploymentStatus, type: string): DeploymentCondition | undefined {
  return st.conditions?.find((c) => c.type === type);
}

/** Set a condition; unchanged if status and reason already match; the transition time survives a same-status change. */
function setCondition(st: DeploymentStatus, c: DeploymentCondition): void {
  const conds = st.conditions ?? [];
  const i = conds.findIndex((x) => x.type === c.type);
  const old = conds[i];
  if (old && old.status === c.status && old.reason === c.reason) return;
  if (old && old.status === c.status) c.lastTransitionTime = old.lastTransitionTime;
  st.conditions = i >= 0 ? conds.map((x, j) => (j === i ? c : x)) : [...conds, c];
}

function removeCondition(st: DeploymentStatus, type: string): void {
  if (st.conditions) st.conditions = st.conditions.filter((c) => c.type !== type);
}

function condition(type: string, status: DeploymentCondition["status"], reason: string, message: string, now: Date): DeploymentCondition {
  const t = rfc3339(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

const hasProgressDeadline = (d: Deployment) => (d.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS) !== NO_DEADLINE;
const deadlineMs = (d: Deployment) => (d.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS) * 1000;

/** Every pod updated, present and available, and the status is about the current spec. */
export function deploymentComplete(d: Deployment, st: DeploymentStatus): boolean {
  const want = desiredReplicas(d);
  return (
    (st.updatedReplicas ?? 0) === want &&
    (st.replicas ?? 0) === want &&
    (st.availableReplicas ?? 0) === want &&
    (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

/** Whether `next` shows the rollout moved since `prev`. */
function progressed(prev: DeploymentStatus, next: DeploymentStatus): boolean {
  const oldPrev = (prev.replicas ?? 0) - (prev.updatedReplicas ?? 0);
  const oldNext = (next.replicas ?? 0) - (next.updatedReplicas ?? 0);
  return (
    (next.updatedReplicas ?? 0) > (prev.updatedReplicas ?? 0) ||
    oldNext < oldPrev ||
    (next.readyReplicas ?? 0) > (prev.readyReplicas ?? 0) ||
    (next.availableReplicas ?? 0) > (prev.availableReplicas ?? 0)
  );
}

// ---------------------------------------------------------------------------------------------
// One reconcile round: working copies of the ReplicaSets and status, turned into actions at the end.

class Round {
  readonly patches: Action[] = [];
  readonly events: Action[] = [];
  readonly deletes: Action[] = [];
  created: ReplicaSet | undefined;
  readonly dirty = new Set<ReplicaSet>();
  readonly status: DeploymentStatus;
  revision: string | undefined;
  requeueAfterMs: number | undefined;

  constructor(
    readonly d: Deployment,
    readonly now: Date,
  ) {
    this.status = structuredClone(d.status ?? {});
  }

  event(type: "Normal" | "Warning", reason: string, message: string): void {
    this.events.push({ verb: "event", object: this.d, type, reason, message });
  }

  /** Set a ReplicaSet's size (and the replica annotations); one event when the size changes. */
  scale(rs: ReplicaSet, to: number): boolean {
    const from = specReplicas(rs);
    const annotated = setReplicasAnnotations(rs, desiredReplicas(this.d), desiredReplicas(this.d) + maxSurge(this.d));
    if (from === to && !annotated) return false;
    rs.spec.replicas = to;
    if (rs !== this.created) this.dirty.add(rs);
    if (from !== to) this.event("Normal", "ScalingReplicaSet", `Scaled ${to > from ? "up" : "down"} replica set ${rs.metadata.name} from ${from} to ${to}`);
    return from !== to;
  }

  result(): ReconcileResult {
    const d = this.d;
    const actions: Action[] = [...this.patches];
    if (this.created) actions.push({ verb: "create", resource: REPLICASETS, object: this.created });
    for (const rs of this.dirty) actions.push({ verb: "update", resource: REPLICASETS, object: rs });
    actions.push(...this.deletes, ...this.events);
    if (this.revision !== undefined && d.metadata.annotations?.[REVISION_ANNOTATION] !== this.revision) {
      // Upstream carries this annotation on a status write; here /status keeps metadata, so patch it.
      actions.push({
        verb: "patch",
        resource: DEPLOYMENTS,
        namespace: d.metadata.namespace,
        name: d.metadata.name ?? "",
        patchType: "merge",
        patch: { metadata: { annotations: { [REVISION_ANNOTATION]: this.revision } } },
      });
    }
    if (canonicalJSON(this.status) !== canonicalJSON(d.status ?? {})) {
      actions.push({ verb: "updateStatus", resource: DEPLOYMENTS, object: { ...d, status: this.status } });
    }
    const out: ReconcileResult = { actions };
    if (this.requeueAfterMs !== undefined) out.requeueAfterMs = this.requeueAfterMs;
    return out;
  }
}

function setAnnotation(rs: ReplicaSet, key: string, value: string): boolean {
  if (rs.metadata.annotations?.[key] === value) return false;
  rs.metadata.annotations = { ...(rs.metadata.annotations ?? {}), [key]: value };
  return true;
}

function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  const a = setAnnotation(rs, DESIRED_REPLICAS_ANNOTATION, String(desired));
  const b = setAnnotation(rs, MAX_REPLICAS_ANNOTATION, String(max));
  return a || b;
}

/** Copy the Deployment's own annotations (not the rollout bookkeeping ones) onto `rs`. */
function copyAnnotations(d: Deployment, rs: ReplicaSet): boolean {
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (NOT_COPIED.has(k)) continue;
    changed = setAnnotation(rs, k, v) || changed;
  }
  return changed;
}

// ---------------------------------------------------------------------------------------------
// The reconcile.

export function reconcileDeployment(key: string, s: DeploymentState): ReconcileResult {
  const { namespace, name } = splitKey(key);
  const d = s.deployments.get(name, namespace) as Deployment | undefined;
  if (!d) return { actions: [] };
  const r = new Round(d, s.clock.now());

  const selector = selectorFromLabelSelector(d.spec.selector);
  if (isEverything(selector)) {
    r.event("Warning", "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.");
    if (d.metadata.generation !== undefined) r.status.observedGeneration = d.metadata.generation;
    return r.result();
  }
  const beingDeleted = !!d.metadata.deletionTimestamp;

  // Claim ReplicaSets: ours that match, orphans that match (adopted), ours that stopped matching (released).
  const owned: ReplicaSet[] = [];
  for (const cached of s.replicaSets.list({ namespace: d.metadata.namespace }) as ReplicaSet[]) {
    const ref = controllerRef(cached);
    const selected = matches(selector, cached.metadata.labels);
    if (ref) {
      if (ref.uid !== d.metadata.uid) continue;
      if (selected) owned.push(structuredClone(cached));
      else if (!beingDeleted) r.patches.push(ownerPatch(cached, { $patch: "delete", uid: d.metadata.uid }));
    } else if (selected && !beingDeleted && !cached.metadata.deletionTimestamp) {
      const ours = newControllerRef(d, "apps/v1", "Deployment");
      r.patches.push(ownerPatch(cached, ours));
      const copy = structuredClone(cached);
      copy.metadata.ownerReferences = [...(copy.metadata.ownerReferences ?? []), ours];
      owned.push(copy);
    }
  }

  // The new ReplicaSet runs the current template; the oldest such wins if there are several.
  owned.sort(byCreation);
  let newRS = owned.find((rs) => equalIgnoringHash(rs.spec.template, d.spec.template));
  const oldRSs = owned.filter((rs) => rs !== newRS);

  if (beingDeleted) {
    r.status.observedGeneration = d.metadata.generation;
    Object.assign(r.status, counts(d, [...oldRSs, newRS], newRS));
    return r.result();
  }

  syncPausedCondition(r);
  const nextRevision = String(Math.max(0, ...oldRSs.map(revisionOf)) + 1);
  if (newRS) syncExistingNewRS(r, newRS, nextRevision);

  if (d.spec.paused || isScalingEvent(d, [...oldRSs, newRS])) {
    // Only keep sizes in line with spec.replicas; no rollout progress while paused.
    scaleProportionally(r, newRS, oldRSs);
    if (d.spec.paused) cleanupHistory(r, oldRSs);
    syncStatus(r, [...oldRSs, newRS], newRS);
    return r.result();
  }

  if (!isRolling(d)) {
    // Recreate: every old pod gone first, then the new ReplicaSet at full size.
    let scaledDown = false;
    for (const rs of oldRSs.filter(isActive)) scaledDown = r.scale(rs, 0) || scaledDown;
    if (scaledDown || oldPodsRunning(s, d, selector, newRS, oldRSs)) return rolloutStatus(r, [...oldRSs, newRS], newRS);
    if (!newRS) {
      newRS = createNewRS(r, s, oldRSs, nextRevision);
      if (!newRS) return r.result();
    }
    r.scale(newRS, desiredReplicas(d));
    if (deploymentComplete(d, d.status ?? {})) cleanupHistory(r, oldRSs);
    return rolloutStatus(r, [...oldRSs, newRS], newRS);
  }

  // RollingUpdate.
  if (!newRS) {
    newRS = createNewRS(r, s, oldRSs, nextRevision);
    if (!newRS) return r.result();
  }
  const all = [...oldRSs, newRS];
  if (scaleNewRS(r, all, newRS)) return rolloutStatus(r, all, newRS);
  if (scaleDownOld(r, all, oldRSs, newRS)) return rolloutStatus(r, all, newRS);
  if (deploymentComplete(d, d.status ?? {})) cleanupHistory(r, oldRSs);
  return rolloutStatus(r, all, newRS);
}

function ownerPatch(rs: ReplicaSet, ref: unknown): Action {
  return {
    verb: "patch",
    resource: REPLICASETS,
    namespace: rs.metadata.namespace,
    name: rs.metadata.name ?? "",
    patchType: "strategic",
    patch: { metadata: { ownerReferences: [ref], uid: rs.metadata.uid } },
  };
}

/** Record a pause or resume in the Progressing condition (never over a reported timeout). */
function syncPausedCondition(r: Round): void {
  const d = r.d;
  if (!hasProgressDeadline(d)) return;
  const cond = getCondition(r.status, "Progressing");
  if (cond?.reason === REASON.timedOut) return;
  const pausedNoted = cond?.reason === REASON.paused;
  if (d.spec.paused && !pausedNoted) setCondition(r.status, condition("Progressing", "Unknown", REASON.paused, "Deployment is paused", r.now));
  else if (!d.spec.paused && pausedNoted) setCondition(r.status, condition("Progressing", "Unknown", REASON.resumed, "Deployment is resumed", r.now));
}

/** The existing new ReplicaSet gets the newest revision (a rollback re-uses an old one), annotations and minReadySeconds. */
function syncExistingNewRS(r: Round, rs: ReplicaSet, nextRevision: string): void {
  const d = r.d;
  let changed = copyAnnotations(d, rs);
  const old = rs.metadata.annotations?.[REVISION_ANNOTATION];
  if (revisionOf(rs) < Number(nextRevision)) {
    if (old !== undefined && old !== "") {
      const hist = rs.metadata.annotations?.[REVISION_HISTORY_ANNOTATION];
      setAnnotation(rs, REVISION_HISTORY_ANNOTATION, hist ? `${hist},${old}` : old);
    }
    changed = setAnnotation(rs, REVISION_ANNOTATION, nextRevision) || changed;
  }
  if ((rs.spec.minReadySeconds ?? 0) !== (d.spec.minReadySeconds ?? 0)) {
    rs.spec.minReadySeconds = d.spec.minReadySeconds ?? 0;
    changed = true;
  }
  if (changed) r.dirty.add(rs);
  r.revision = rs.metadata.annotations?.[REVISION_ANNOTATION];
  if (hasProgressDeadline(d) && !getCondition(r.status, "Progressing")) {
    setCondition(r.status, condition("Progressing", "True", REASON.foundNewRS, `Found new replica set "${rs.metadata.name}"`, r.now));
  }
}

/**
 * Create the ReplicaSet for the current template, named `<deployment>-<hash>`. If that name is held
 * by a ReplicaSet that is not ours for this template, bump status.collisionCount (a new hash next round).
 */
function createNewRS(r: Round, s: DeploymentState, oldRSs: ReplicaSet[], revision: string): ReplicaSet | undefined {
  const d = r.d;
  const hash = podTemplateHash(d.spec.template, d.status?.collisionCount);
  const rsName = `${d.metadata.name}-${hash}`;
  const clash = s.replicaSets.get(rsName, d.metadata.namespace) as ReplicaSet | undefined;
  if (clash) {
    const ours = controllerRef(clash)?.uid === d.metadata.uid && equalIgnoringHash(clash.spec.template, d.spec.template);
    // Ours but not claimed above (it is being deleted, or its labels were changed): wait for it.
    if (!ours) r.status.collisionCount = (d.status?.collisionCount ?? 0) + 1;
    return undefined;
  }
  const template = structuredClone(d.spec.template ?? { spec: { containers: [] } });
  const labels = { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  template.metadata = { ...(template.metadata ?? {}), labels };
  const selector: LabelSelector = structuredClone(d.spec.selector ?? {});
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const rs: ReplicaSet = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: rsName,
      namespace: d.metadata.namespace,
      labels: { ...labels },
      annotations: {},
      ownerReferences: [newControllerRef(d, "apps/v1", "Deployment")],
    },
    spec: { replicas: 0, minReadySeconds: d.spec.minReadySeconds ?? 0, selector, template },
  };
  rs.spec.replicas = newReplicaSetReplicas(d, [...oldRSs, rs], rs);
  copyAnnotations(d, rs);
  setAnnotation(rs, REVISION_ANNOTATION, revision);
  setReplicasAnnotations(rs, desiredReplicas(d), desiredReplicas(d) + maxSurge(d));
  r.created = rs;
  if (specReplicas(rs) > 0) r.event("Normal", "ScalingReplicaSet", `Scaled up replica set ${rsName} from 0 to ${specReplicas(rs)}`);
  r.revision = revision;
  if (hasProgressDeadline(d)) setCondition(r.status, condition("Progressing", "True", REASON.newRSCreated, `Created new replica set "${rsName}"`, r.now));
  return rs;
}

/** spec.replicas changed under a ReplicaSet whose desired-replicas annotation still has the old value. */
function isScalingEvent(d: Deployment, all: (ReplicaSet | undefined)[]): boolean {
  return all.filter(isActive).some((rs) => {
    const desired = intAnnotation(rs, DESIRED_REPLICAS_ANNOTATION);
    return desired !== undefined && desired !== desiredReplicas(d);
  });
}

/**
 * Resize for a change of spec.replicas mid-rollout: a single active ReplicaSet takes the whole size;
 * a saturated new one lets the old ones go to 0; otherwise (rolling only) every active ReplicaSet
 * grows or shrinks in proportion to its share, leftovers going to the largest.
 */
function scaleProportionally(r: Round, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): void {
  const d = r.d;
  const want = desiredReplicas(d);
  const newestFirst = [...oldRSs].sort((a, b) => byCreation(b, a));
  const active = [...newestFirst, newRS].filter(isActive);
  if (newRS || oldRSs.length > 0) {
    const only = active.length === 0 ? (newRS ?? newestFirst[0]) : active.length === 1 ? active[0] : undefined;
    if (only) {
      r.scale(only, want);
      return;
    }
  }
  if (
    newRS &&
    intAnnotation(newRS, DESIRED_REPLICAS_ANNOTATION) === want &&
    specReplicas(newRS) === want &&
    statusOf(newRS, "availableReplicas") === want
  ) {
    for (const rs of oldRSs.filter(isActive)) r.scale(rs, 0);
    return;
  }
  if (!isRolling(d)) return;

  const current = sum(active, specReplicas);
  const allowed = want > 0 ? want + maxSurge(d) : 0;
  const toAdd = allowed - current;
  if (toAdd === 0) return;
  // Largest first; among equals, the newer first when growing and the older first when shrinking.
  active.sort((a, b) => specReplicas(b) - specReplicas(a) || (toAdd > 0 ? byCreation(b, a) : byCreation(a, b)));
  const sizes = new Map<ReplicaSet, number>();
  let added = 0;
  for (const rs of active) {
    const share = proportion(d, rs, toAdd, added);
    sizes.set(rs, specReplicas(rs) + share);
    added += share;
  }
  const first = active[0];
  if (first) sizes.set(first, Math.max(0, (sizes.get(first) ?? 0) + toAdd - added));
  for (const rs of active) r.scale(rs, sizes.get(rs) ?? specReplicas(rs));
}

/** This ReplicaSet's share of `toAdd` pods, from its size against the max-replicas it was sized for. */
function proportion(d: Deployment, rs: ReplicaSet, toAdd: number, added: number): number {
  if (specReplicas(rs) === 0 || toAdd === added) return 0;
  let fraction: number;
  if (desiredReplicas(d) === 0) fraction = -specReplicas(rs);
  else {
    const target = desiredReplicas(d) + maxSurge(d);
    const annotated = intAnnotation(rs, MAX_REPLICAS_ANNOTATION) ?? d.status?.replicas ?? 0;
    fraction = annotated > 0 ? Math.round((specReplicas(rs) * target) / annotated) - specReplicas(rs) : 0;
  }
  const left = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, left) : Math.max(fraction, left);
}

/** Grow (or trim) the new ReplicaSet toward spec.replicas within the surge budget. */
function scaleNewRS(r: Round, all: ReplicaSet[], newRS: ReplicaSet): boolean {
  const want = desiredReplicas(r.d);
  const have = specReplicas(newRS);
  if (have === want) return false;
  if (have > want) return r.scale(newRS, want);
  return r.scale(newRS, newReplicaSetReplicas(r.d, all, newRS));
}

/**
 * Shrink old ReplicaSets without dropping availability below replicas - maxUnavailable: first the
 * pods that are not available anyway (oldest ReplicaSet first), then available ones.
 */
function scaleDownOld(r: Round, all: ReplicaSet[], oldRSs: ReplicaSet[], newRS: ReplicaSet): boolean {
  const d = r.d;
  if (sum(oldRSs, specReplicas) === 0) return false;
  const minAvailable = desiredReplicas(d) - maxUnavailable(d);
  const newUnavailable = specReplicas(newRS) - statusOf(newRS, "availableReplicas");
  const budget = sum(all, specReplicas) - minAvailable - newUnavailable;
  if (budget <= 0) return false;
  const oldest = oldRSs.filter(isActive).sort(byCreation);

  let cleaned = 0;
  for (const rs of oldest) {
    if (cleaned >= budget) break;
    const unhealthy = specReplicas(rs) - statusOf(rs, "availableReplicas");
    if (specReplicas(rs) === 0 || unhealthy <= 0) continue;
    const n = Math.min(budget - cleaned, unhealthy);
    r.scale(rs, specReplicas(rs) - n);
    cleaned += n;
  }

  // A ReplicaSet just scaled down still reports its old availableReplicas until the ReplicaSet controller
  // catches up: no ReplicaSet counts for more available pods than it is asked to keep, or a second round
  // on that stale status would take availability below the minimum.
  let scaled = 0;
  const available = sum(all, (rs) => Math.min(statusOf(rs, "availableReplicas"), specReplicas(rs)));
  if (available > minAvailable) {
    const total = available - minAvailable;
    for (const rs of oldest) {
      if (scaled >= total) break;
      if (specReplicas(rs) === 0) continue;
      const n = Math.min(specReplicas(rs), total - scaled);
      r.scale(rs, specReplicas(rs) - n);
      scaled += n;
    }
  }
  return cleaned + scaled > 0;
}

/** Recreate waits while any old ReplicaSet reports pods, or any pod of an old one is still not finished. */
function oldPodsRunning(
  s: DeploymentState,
  d: Deployment,
  selector: ReturnType<typeof selectorFromLabelSelector>,
  newRS: ReplicaSet | undefined,
  oldRSs: ReplicaSet[],
): boolean {
  if (sum(oldRSs, (rs) => statusOf(rs, "replicas")) > 0) return true;
  const oldUids = new Set(oldRSs.map((rs) => rs.metadata.uid));
  return s.pods.list({ namespace: d.metadata.namespace, selector }).some((p) => {
    const uid = controllerRef(p)?.uid;
    if (!uid || !oldUids.has(uid) || uid === newRS?.metadata.uid) return false;
    const phase = p.status?.phase;
    return phase !== "Succeeded" && phase !== "Failed";
  });
}

/** Delete the oldest-revision old ReplicaSets beyond revisionHistoryLimit, if they are empty and settled. */
function cleanupHistory(r: Round, oldRSs: ReplicaSet[]): void {
  const limit = r.d.spec.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT;
  if (limit === NO_DEADLINE) return;
  const alive = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
  const excess = alive.length - limit;
  if (excess <= 0) return;
  alive.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
  for (const rs of alive.slice(0, excess)) {
    const settled = (rs.metadata.generation ?? 0) <= ((rs.status?.observedGeneration as number | undefined) ?? 0);
    if (statusOf(rs, "replicas") !== 0 || specReplicas(rs) !== 0 || !settled) continue;
    r.deletes.push({ verb: "delete", resource: REPLICASETS, namespace: rs.metadata.namespace, name: rs.metadata.name ?? "", uid: rs.metadata.uid });
  }
}

/** The counts and the Available condition, from the ReplicaSets as this round leaves them. */
function counts(d: Deployment, all: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): DeploymentStatus {
  const available = sum(all, (rs) => statusOf(rs, "availableReplicas"));
  return {
    replicas: sum(all, (rs) => statusOf(rs, "replicas")),
    updatedReplicas: statusOf(newRS, "replicas"),
    readyReplicas: sum(all, (rs) => statusOf(rs, "readyReplicas")),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, sum(all, (rs) => (rs ? specReplicas(rs) : 0)) - available),
  };
}

function syncStatus(r: Round, all: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): DeploymentStatus {
  const d = r.d;
  if (d.metadata.generation !== undefined) r.status.observedGeneration = d.metadata.generation;
  const c = counts(d, all, newRS);
  Object.assign(r.status, c);
  const minAvailable = desiredReplicas(d) - maxUnavailable(d);
  if ((c.availableReplicas ?? 0) >= minAvailable) {
    setCondition(r.status, condition("Available", "True", REASON.minimumAvailable, "Deployment has minimum availability.", r.now));
  } else {
    setCondition(r.status, condition("Available", "False", REASON.minimumUnavailable, "Deployment does not have minimum availability.", r.now));
  }
  return r.status;
}

/** Status plus the Progressing condition: complete, progressing, or past its deadline. */
function rolloutStatus(r: Round, all: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): ReconcileResult {
  const d = r.d;
  const st = syncStatus(r, all, newRS);
  if (!hasProgressDeadline(d)) {
    removeCondition(st, "Progressing");
    return r.result();
  }
  const current = getCondition(st, "Progressing");
  const done = (st.replicas ?? 0) === (st.updatedReplicas ?? 0) && current?.reason === REASON.newRSAvailable;
  const what = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${d.metadata.name}"`;
  if (!done) {
    if (deploymentComplete(d, st)) {
      setCondition(st, condition("Progressing", "True", REASON.newRSAvailable, `${what} has successfully progressed.`, r.now));
    } else if (progressed(d.status ?? {}, st)) {
      // Progress refreshes lastUpdateTime, which is what the deadline is measured from.
      const c = condition("Progressing", "True", REASON.rsUpdated, `${what} is progressing.`, r.now);
      if (current?.status === "True") c.lastTransitionTime = current.lastTransitionTime;
      removeCondition(st, "Progressing");
      setCondition(st, c);
    } else if (timedOut(d, st, r.now)) {
      setCondition(st, condition("Progressing", "False", REASON.timedOut, `${what} has timed out progressing.`, r.now));
    }
  }
  // No sign of progress yet: look again when the deadline would pass.
  const cond = getCondition(st, "Progressing");
  if (cond && !deploymentComplete(d, st) && cond.reason !== REASON.timedOut && cond.reason !== REASON.newRSAvailable) {
    const from = cond.lastUpdateTime ? Date.parse(cond.lastUpdateTime) : NaN;
    if (Number.isFinite(from)) r.requeueAfterMs = Math.max(1, from + deadlineMs(d) - r.now.getTime());
  }
  return r.result();
}

function timedOut(d: Deployment, st: DeploymentStatus, now: Date): boolean {
  const c = getCondition(st, "Progressing");
  if (!c || c.reason === REASON.newRSAvailable) return false;
  if (c.reason === REASON.timedOut) return true;
  const from = c.lastUpdateTime ? Date.parse(c.lastUpdateTime) : NaN;
  return Number.isFinite(from) && from + deadlineMs(d) < now.getTime();
}
