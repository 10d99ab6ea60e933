// Book 11.3: the Job controller's reconcile: run pods from the Job's template until enough of them
// succeed (or, for Indexed Jobs, every index succeeds once), and give up past backoffLimit or the deadline.
import { type KubeObject, type Pod, rfc3339 } from "@corekube/api";
import { JOBS, PODS, splitKey } from "@corekube/client";
import { isControlledBy, newControllerRef } from "../framework/owners.js";
import { isPodActive, isPodReady, podFromTemplate, type PodTemplateSpec } from "../framework/pods.js";
import type { Action, Clock, ObjectReader, ReconcileResult } from "../framework/types.js";

/** Annotation (and label) carrying an Indexed Job pod's completion index. */
export const JOB_COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index";
/** The environment variable an Indexed Job's containers read their index from. */
export const JOB_COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX";

export const DEFAULT_BACKOFF_LIMIT = 6;

export interface JobCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  lastProbeTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface JobSpec {
  parallelism?: number | null;
  completions?: number | null;
  backoffLimit?: number | null;
  activeDeadlineSeconds?: number | null;
  completionMode?: "NonIndexed" | "Indexed";
  suspend?: boolean;
  template: PodTemplateSpec;
  [key: string]: unknown;
}

export interface JobStatus {
  conditions?: JobCondition[];
  startTime?: string;
  completionTime?: string;
  active?: number;
  succeeded?: number;
  failed?: number;
  ready?: number;
  terminating?: number;
  completedIndexes?: string;
  [key: string]: unknown;
}

export interface Job extends KubeObject {
  spec: JobSpec;
  status?: JobStatus;
}

export interface JobState {
  jobs: ObjectReader;
  pods: ObjectReader<Pod>;
  clock: Clock;
}

const SUCCESS_MESSAGE = "Reached expected number of succeeded pods";
const BACKOFF_MESSAGE = "Job has reached the specified backoff limit";
const DEADLINE_MESSAGE = "Job was active longer than specified deadline";

function conditionTrue(job: Job, type: string): boolean {
  return job.status?.conditions?.some((c) => c.type === type && c.status === "True") ?? false;
}

/** A Job is finished once Complete or Failed is True; nothing more happens to it here. */
export function isJobFinished(job: Job): boolean {
  return conditionTrue(job, "Complete") || conditionTrue(job, "Failed");
}

/**
 * Set condition `type` to `status` (adding it when `addIfMissing`); the transition time moves only
 * when the status changes. Returns the new list and whether anything changed.
 */
function ensureCondition(
  conds: JobCondition[],
  type: string,
  status: JobCondition["status"],
  reason: string,
  message: string,
  now: string,
  addIfMissing: boolean,
): JobCondition[] {
  const i = conds.findIndex((c) => c.type === type);
  if (i < 0) {
    return addIfMissing ? [...conds, { type, status, lastProbeTime: now, lastTransitionTime: now, reason, message }] : conds;
  }
  const c = conds[i]!;
  if (c.status === status && c.reason === reason && c.message === message) return conds;
  const next = [...conds];
  next[i] = { type, status, lastProbeTime: now, lastTransitionTime: c.status === status ? c.lastTransitionTime : now, reason, message };
  return next;
}

/** Parse "0-2,4" into a set of indexes (malformed pieces are ignored). */
export function parseIndexes(s: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (s ?? "").split(",")) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return out;
}

/** Format indexes as sorted ranges: {0,1,2,4} -> "0-2,4". */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((x, y) => x - y);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** An Indexed Job pod's completion index, or undefined if missing or outside [0, completions). */
export function completionIndexOf(pod: Pod, completions: number): number | undefined {
  const raw = pod.metadata.annotations?.[JOB_COMPLETION_INDEX] ?? pod.metadata.labels?.[JOB_COMPLETION_INDEX];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  const i = Number(raw);
  return i < completions ? i : undefined;
}

/** Restarts of containers in still-running pods count as failures when restartPolicy is OnFailure. */
function pastBackoffLimitOnFailure(job: Job, pods: Pod[], backoffLimit: number): boolean {
  if (job.spec.template.spec.restartPolicy !== "OnFailure") return false;
  let restarts = 0;
  for (const p of pods) {
    if (p.status?.phase !== "Running" && p.status?.phase !== "Pending") continue;
    for (const cs of [...(p.status.initContainerStatuses ?? []), ...(p.status.containerStatuses ?? [])]) restarts += cs.restartCount ?? 0;
  }
  return backoffLimit === 0 ? restarts > 0 : restarts >= backoffLimit;
}

/** Key-order-independent equality for JSON-shaped values. */
function sameJson(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (v && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v)
          .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
          .sort()
          .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

/** A new pod for `job`; for Indexed Jobs stamped with its completion index. */
function newJobPod(job: Job, index: number | undefined): Pod {
  const name = job.metadata.name ?? "";
  const prefix = index === undefined ? name : `${name}-${index}`;
  const pod = podFromTemplate(job.spec.template, job, newControllerRef(job, "batch/v1", "Job"), prefix);
  if (index === undefined) return pod;
  const idx = String(index);
  pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [JOB_COMPLETION_INDEX]: idx };
  pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [JOB_COMPLETION_INDEX]: idx };
  if (!pod.spec.hostname) pod.spec.hostname = `${name}-${idx}`;
  const envVar = { name: JOB_COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX}']` } } };
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    const env = (Array.isArray(c.env) ? c.env : []) as { name: string }[];
    if (!env.some((e) => e.name === JOB_COMPLETION_INDEX_ENV)) c.env = [...env, envVar];
  }
  return pod;
}

/** Which active pods to give up first when there are too many: not yet scheduled, then not ready. */
function deletionRank(p: Pod): number {
  if (!p.spec.nodeName) return 0;
  if (p.status?.phase === "Pending") return 1;
  return isPodReady(p) ? 3 : 2;
}

function deletePod(p: Pod): Action {
  return { verb: "delete", resource: PODS, namespace: p.metadata.namespace, name: p.metadata.name ?? "", uid: p.metadata.uid };
}

/**
 * Reconcile the Job at `key` ("namespace/name"): create or delete its pods and report their
 * progress in status. Pure: reads the caches in `s`, returns the writes to make.
 */
export function reconcileJob(key: string, s: JobState): ReconcileResult {
  const { namespace, name } = splitKey(key);
  const job = s.jobs.get(name, namespace) as Job | undefined;
  if (!job || job.metadata.deletionTimestamp || isJobFinished(job)) return { actions: [] };

  const now = s.clock.now();
  const nowStr = rfc3339(now);
  const spec = job.spec;
  const indexed = spec.completionMode === "Indexed";
  const completions = spec.completions ?? null;
  const parallelism = Math.max(0, spec.parallelism ?? 1);
  const backoffLimit = spec.backoffLimit ?? DEFAULT_BACKOFF_LIMIT;
  const suspended = spec.suspend === true;
  const old: JobStatus = job.status ?? {};

  const pods = s.pods.list({ namespace: job.metadata.namespace }).filter((p) => isControlledBy(p, job));
  let active = pods.filter(isPodActive);
  const terminating = pods.filter((p) => p.metadata.deletionTimestamp && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
  const succeededPods = pods.filter((p) => p.status?.phase === "Succeeded");
  const failedPods = pods.filter((p) => p.status?.phase === "Failed");

  // Finished pods may be garbage collected, so the counts never go backwards.
  const failed = Math.max(old.failed ?? 0, failedPods.length);
  const hasNewFailure = failed > (old.failed ?? 0);
  let completed = new Set<number>();
  let succeeded: number;
  if (indexed && completions !== null) {
    completed = parseIndexes(old.completedIndexes);
    for (const i of [...completed]) if (i >= completions) completed.delete(i);
    for (const p of succeededPods) {
      const i = completionIndexOf(p, completions);
      if (i !== undefined) completed.add(i);
    }
    succeeded = completed.size;
  } else {
    succeeded = Math.max(old.succeeded ?? 0, succeededPods.length);
  }

  const actions: Action[] = [];
  const events: Action[] = [];
  const status: JobStatus = structuredClone(old);
  let conds = old.conditions ?? [];
  let requeueAfterMs: number | undefined;
  let created = 0;

  if (!status.startTime && !suspended) status.startTime = nowStr;
  // The deadline counts time spent running, so resuming a suspended Job restarts its clock.
  const resuming = !suspended && conditionTrue(job, "Suspended");
  if (resuming) status.startTime = nowStr;

  // Has the Job failed? Too many pod failures, or running past its deadline.
  let failure: { reason: string; message: string } | undefined;
  if ((hasNewFailure && failed > backoffLimit) || pastBackoffLimitOnFailure(job, active, backoffLimit)) {
    failure = { reason: "BackoffLimitExceeded", message: BACKOFF_MESSAGE };
  } else if (!suspended && spec.activeDeadlineSeconds != null && status.startTime) {
    const left = Date.parse(status.startTime) + spec.activeDeadlineSeconds * 1000 - now.getTime();
    if (left <= 0) failure = { reason: "DeadlineExceeded", message: DEADLINE_MESSAGE };
    else requeueAfterMs = left;
  }

  // Has it succeeded?
  const complete = !failure && (completions === null ? succeeded > 0 && active.length === 0 : succeeded >= completions);

  if (failure) {
    actions.push(...active.map(deletePod));
    active = [];
    requeueAfterMs = undefined;
    conds = ensureCondition(conds, "FailureTarget", "True", failure.reason, failure.message, nowStr, true);
    conds = ensureCondition(conds, "Failed", "True", failure.reason, failure.message, nowStr, true);
    events.push({ verb: "event", object: job, type: "Warning", reason: failure.reason, message: failure.message });
  } else if (complete) {
    actions.push(...active.map(deletePod));
    active = [];
    requeueAfterMs = undefined;
    conds = ensureCondition(conds, "SuccessCriteriaMet", "True", "CompletionsReached", SUCCESS_MESSAGE, nowStr, true);
    conds = ensureCondition(conds, "Complete", "True", "CompletionsReached", SUCCESS_MESSAGE, nowStr, true);
    status.completionTime = nowStr;
    events.push({ verb: "event", object: job, type: "Normal", reason: "Completed", message: "Job completed" });
  } else if (suspended) {
    actions.push(...active.map(deletePod));
    active = [];
    requeueAfterMs = undefined;
    const next = ensureCondition(conds, "Suspended", "True", "JobSuspended", "Job suspended", nowStr, true);
    if (next !== conds) events.push({ verb: "event", object: job, type: "Normal", reason: "Suspended", message: "Job suspended" });
    conds = next;
  } else {
    conds = ensureCondition(conds, "Suspended", "False", "JobResumed", "Job resumed", nowStr, false);
    if (resuming) events.push({ verb: "event", object: job, type: "Normal", reason: "Resumed", message: "Job resumed" });
    const kept = managePods(job, active, succeeded, completed, completions, parallelism, indexed, actions);
    created = actions.filter((a) => a.verb === "create").length;
    active = kept;
  }

  status.conditions = conds.length > 0 ? conds : undefined;
  status.active = active.length + created || undefined;
  status.succeeded = succeeded || undefined;
  status.failed = failed || undefined;
  status.ready = active.filter(isPodReady).length;
  status.terminating = terminating.length;
  if (indexed) status.completedIndexes = formatIndexes(completed);

  for (const k of Object.keys(status)) if (status[k] === undefined) delete status[k];
  if (!sameJson(status, old)) {
    actions.push({ verb: "updateStatus", resource: JOBS, object: { ...job, status } });
  }
  actions.push(...events);
  return requeueAfterMs === undefined ? { actions } : { actions, requeueAfterMs };
}

/**
 * Bring the number of active pods to what the Job wants now; returns the existing active pods that
 * remain. Pods asked for here count as active in status too, as upstream counts pods it just created.
 */
function managePods(
  job: Job,
  active: Pod[],
  succeeded: number,
  completed: Set<number>,
  completions: number | null,
  parallelism: number,
  indexed: boolean,
  actions: Action[],
): Pod[] {
  let want: number;
  if (completions === null) want = succeeded > 0 ? active.length : parallelism;
  else want = Math.max(0, Math.min(parallelism, completions - succeeded));

  let keep = active;
  if (indexed && completions !== null) {
    // One active pod per unfinished index; pods for finished, duplicate or invalid indexes go.
    const seen = new Set<number>();
    keep = [];
    for (const p of [...active].sort((a, b) => deletionRank(b) - deletionRank(a))) {
      const i = completionIndexOf(p, completions);
      if (i === undefined || completed.has(i) || seen.has(i)) actions.push(deletePod(p));
      else {
        seen.add(i);
        keep.push(p);
      }
    }
    if (keep.length > want) {
      const sorted = [...keep].sort((a, b) => deletionRank(a) - deletionRank(b));
      const extra = sorted.slice(0, keep.length - want);
      actions.push(...extra.map(deletePod));
      keep = sorted.slice(keep.length - want);
    }
    let toCreate = want - keep.length;
    const held = new Set(keep.map((p) => completionIndexOf(p, completions)));
    for (let i = 0; i < completions && toCreate > 0; i++) {
      if (completed.has(i) || held.has(i)) continue;
      actions.push({ verb: "create", resource: PODS, object: newJobPod(job, i) });
      toCreate--;
    }
    return keep;
  }

  if (keep.length > want) {
    const sorted = [...keep].sort((a, b) => deletionRank(a) - deletionRank(b));
    actions.push(...sorted.slice(0, keep.length - want).map(deletePod));
    return sorted.slice(keep.length - want);
  }
  for (let n = keep.length; n < want; n++) actions.push({ verb: "create", resource: PODS, object: newJobPod(job, undefined) });
  return keep;
}
