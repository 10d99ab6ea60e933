// Book 11.3: the CronJob controller's reconcile: when a scheduled time has come, make a Job from the
// template (one per scheduled time), honour the concurrency policy, and keep only a little history.
import { type KubeObject, rfc3339 } from "@corekube/api";
import { CRONJOBS, JOBS, splitKey } from "@corekube/client";
import { isControlledBy, newControllerRef } from "../framework/owners.js";
import type { Action, Clock, ObjectReader, ReconcileResult } from "../framework/types.js";
import { isJobFinished, type Job, type JobSpec } from "../job/reconcile.js";
import { formatInZone, nextAfter, parseSchedule, type CronSchedule } from "./schedule.js";

/** Annotation on each Job saying which scheduled time it was made for. */
export const CRONJOB_SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp";
export const DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT = 3;
export const DEFAULT_FAILED_JOBS_HISTORY_LIMIT = 1;
/** More missed start times than this earns a warning (only the latest is run either way). */
export const MAX_MISSED_START_TIMES = 100;
/** Requeue a little after the next scheduled time, so the clock has surely passed it. */
export const NEXT_SCHEDULE_DELTA_MS = 100;

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
}

export interface CronJobSpec {
  schedule: string;
  timeZone?: string | null;
  startingDeadlineSeconds?: number | null;
  concurrencyPolicy?: "Allow" | "Forbid" | "Replace";
  suspend?: boolean;
  jobTemplate: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: JobSpec };
  successfulJobsHistoryLimit?: number | null;
  failedJobsHistoryLimit?: number | null;
  [key: string]: unknown;
}

export interface CronJobStatus {
  active?: ObjectReference[];
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
  [key: string]: unknown;
}

export interface CronJob extends KubeObject {
  spec: CronJobSpec;
  status?: CronJobStatus;
}

export interface CronJobState {
  cronJobs: ObjectReader;
  jobs: ObjectReader;
  clock: Clock;
}

/** metav1.Time is whole seconds. */

const conditionTrue = (j: Job, type: string) => j.status?.conditions?.some((c) => c.type === type && c.status === "True") ?? false;

/** The name of the Job for one scheduled time: the CronJob's name and the time in minutes since the epoch. */
export function jobNameFor(cronJob: CronJob, scheduled: Date): string {
  return `${cronJob.metadata.name ?? ""}-${Math.floor(scheduled.getTime() / 60_000)}`;
}

/** A Job for `scheduled`, made from the CronJob's template and owned by it. */
export function jobFromTemplate(cj: CronJob, scheduled: Date, timeZone: string | undefined): Job {
  const tmpl = cj.spec.jobTemplate;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: jobNameFor(cj, scheduled),
      namespace: cj.metadata.namespace,
      labels: { ...(tmpl.metadata?.labels ?? {}) },
      annotations: { ...(tmpl.metadata?.annotations ?? {}), [CRONJOB_SCHEDULED_TIMESTAMP]: formatInZone(scheduled, timeZone ?? "UTC") },
      ownerReferences: [newControllerRef(cj, "batch/v1", "CronJob")],
    },
    spec: structuredClone(tmpl.spec),
  };
}

/**
 * The most recent scheduled time in (earliest, now], how many there were (counting stops a little past
 * MAX_MISSED_START_TIMES), and the next one after now.
 */
export function mostRecentScheduleTime(
  sched: CronSchedule,
  earliest: Date,
  now: Date,
  timeZone: string,
): { mostRecent?: Date; missed: number; next?: Date } {
  const first = nextAfter(sched, earliest, timeZone);
  if (!first || first > now) return { missed: 0, next: first };
  let missed = 0;
  let last = first;
  let t: Date | undefined = first;
  while (t && t <= now && missed <= MAX_MISSED_START_TIMES) {
    missed++;
    last = t;
    t = nextAfter(sched, t, timeZone);
  }
  if (t && t <= now) {
    // Too many to walk one by one: look back from now over a widening window for the latest one.
    const second = nextAfter(sched, first, timeZone)!;
    let window = Math.max(60_000, second.getTime() - first.getTime());
    for (;;) {
      const from = new Date(Math.max(last.getTime(), now.getTime() - window));
      let u = nextAfter(sched, from, timeZone);
      let found: Date | undefined;
      while (u && u <= now) {
        found = u;
        u = nextAfter(sched, u, timeZone);
      }
      if (found) {
        last = found;
        t = u;
        break;
      }
      window *= 2;
    }
  }
  return { mostRecent: last, missed, next: t };
}

/** The sort key for history: when the Job started (else was created), then its name. */
function byStart(a: Job, b: Job): number {
  const ta = a.status?.startTime ?? a.metadata.creationTimestamp ?? "";
  const tb = b.status?.startTime ?? b.metadata.creationTimestamp ?? "";
  const d = (Date.parse(ta) || 0) - (Date.parse(tb) || 0);
  return d !== 0 ? d : (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

function deleteJob(j: Job): Action {
  return { verb: "delete", resource: JOBS, namespace: j.metadata.namespace, name: j.metadata.name ?? "", uid: j.metadata.uid, propagationPolicy: "Background" };
}

function refTo(j: Job): ObjectReference {
  return { apiVersion: "batch/v1", kind: "Job", namespace: j.metadata.namespace, name: j.metadata.name, uid: j.metadata.uid, resourceVersion: j.metadata.resourceVersion };
}

/**
 * Reconcile the CronJob at `key` ("namespace/name"). Pure: reads the caches in `s`, returns the
 * writes to make and when to look again (just after the next scheduled time).
 */
export function reconcileCronJob(key: string, s: CronJobState): ReconcileResult {
  const { namespace, name } = splitKey(key);
  const cj = s.cronJobs.get(name, namespace) as CronJob | undefined;
  if (!cj || cj.metadata.deletionTimestamp) return { actions: [] };

  const now = s.clock.now();
  const actions: Action[] = [];
  const events: Action[] = [];
  const event = (type: "Normal" | "Warning", reason: string, message: string) => events.push({ verb: "event", object: cj, type, reason, message });
  const old: CronJobStatus = cj.status ?? {};
  let active: ObjectReference[] = [...(old.active ?? [])];
  let lastSuccessfulTime = old.lastSuccessfulTime;
  let lastScheduleTime = old.lastScheduleTime;

  // 1. Bring status.active up to date with the Jobs this CronJob owns.
  const jobs = (s.jobs.list({ namespace: cj.metadata.namespace }) as Job[]).filter((j) => isControlledBy(j, cj));
  const refIndex = (j: Job) => active.findIndex((r) => (r.uid ? r.uid === j.metadata.uid : r.name === j.metadata.name));
  for (const j of jobs) {
    const i = refIndex(j);
    const finished = isJobFinished(j);
    if (i >= 0 && finished) {
      active.splice(i, 1);
      const cond = conditionTrue(j, "Complete") ? "Complete" : "Failed";
      event("Normal", "SawCompletedJob", `Saw completed job: ${j.metadata.name}, condition: ${cond}`);
    } else if (i >= 0 && !active[i]!.uid) {
      active[i] = refTo(j); // a Job we created, now seen with its uid
    } else if (i < 0 && !finished) {
      event("Warning", "UnexpectedJob", `Saw a job that the controller did not create or forgot: ${j.metadata.name}`);
    }
    const done = j.status?.completionTime;
    if (conditionTrue(j, "Complete") && done && (!lastSuccessfulTime || Date.parse(done) > Date.parse(lastSuccessfulTime))) {
      lastSuccessfulTime = done;
    }
  }
  // References to Jobs that are gone (a reference without a uid is one we just created: keep it).
  active = active.filter((r) => !r.uid || jobs.some((j) => j.metadata.uid === r.uid));

  // 2. Delete the oldest finished Jobs beyond the history limits.
  const finished = jobs.filter(isJobFinished);
  const prune = (list: Job[], limit: number) => {
    if (list.length > limit) actions.push(...[...list].sort(byStart).slice(0, list.length - limit).map(deleteJob));
  };
  prune(finished.filter((j) => conditionTrue(j, "Complete")), cj.spec.successfulJobsHistoryLimit ?? DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT);
  prune(finished.filter((j) => conditionTrue(j, "Failed")), cj.spec.failedJobsHistoryLimit ?? DEFAULT_FAILED_JOBS_HISTORY_LIMIT);

  const finish = (requeueAfterMs?: number): ReconcileResult => {
    const status: CronJobStatus = { ...old, active: active.length > 0 ? active : undefined, lastScheduleTime, lastSuccessfulTime };
    for (const k of Object.keys(status)) if (status[k] === undefined) delete status[k];
    if (JSON.stringify(status) !== JSON.stringify(old)) actions.push({ verb: "updateStatus", resource: CRONJOBS, object: { ...cj, status } });
    actions.push(...events);
    return requeueAfterMs === undefined ? { actions } : { actions, requeueAfterMs };
  };

  // 3. Understand the schedule.
  const timeZone = cj.spec.timeZone ?? undefined;
  const tz = timeZone ?? "UTC";
  let sched: CronSchedule;
  try {
    if (timeZone !== undefined) formatInZone(now, timeZone);
  } catch {
    event("Warning", "UnknownTimeZone", `invalid timeZone: "${timeZone}"`);
    return finish();
  }
  try {
    sched = parseSchedule(cj.spec.schedule);
  } catch (e) {
    event("Warning", "UnparseableSchedule", `unparseable schedule: ${(e as Error).message}`);
    return finish();
  }

  if (cj.spec.suspend) return finish();

  // 4. Which scheduled time, if any, is due? Never look further back than the starting deadline.
  const since = lastScheduleTime ?? cj.metadata.creationTimestamp;
  let earliest = since ? new Date(Date.parse(since)) : now;
  const deadline = cj.spec.startingDeadlineSeconds;
  if (deadline != null) {
    const bound = new Date(now.getTime() - deadline * 1000);
    if (bound > earliest) earliest = bound;
  }
  const { mostRecent: scheduled, missed, next } = mostRecentScheduleTime(sched, earliest, now, tz);
  const requeue = (): number | undefined => {
    const n = nextAfter(sched, now, tz);
    return n ? n.getTime() - now.getTime() + NEXT_SCHEDULE_DELTA_MS : undefined;
  };
  if (!scheduled) return finish(next ? next.getTime() - now.getTime() + NEXT_SCHEDULE_DELTA_MS : undefined);
  if (missed > MAX_MISSED_START_TIMES) {
    event(
      "Warning",
      "TooManyMissedTimes",
      `too many missed start times: ${missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`,
    );
  }

  if (deadline != null && scheduled.getTime() + deadline * 1000 < now.getTime()) {
    event("Warning", "MissSchedule", `Missed scheduled time to start a job: ${scheduled.toUTCString()}`);
    return finish(requeue());
  }

  const jobName = jobNameFor(cj, scheduled);
  if (active.some((r) => r.name === jobName) || (lastScheduleTime && Date.parse(lastScheduleTime) === scheduled.getTime())) {
    return finish(requeue());
  }

  // 5. The concurrency policy.
  const policy = cj.spec.concurrencyPolicy ?? "Allow";
  if (policy === "Forbid" && active.length > 0) {
    event("Normal", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid");
    return finish(requeue());
  }
  if (policy === "Replace") {
    for (const r of active) {
      actions.push({ verb: "delete", resource: JOBS, namespace: r.namespace ?? cj.metadata.namespace, name: r.name ?? "", uid: r.uid, propagationPolicy: "Background" });
      event("Normal", "SuccessfulDelete", `Deleted job ${r.name}`);
    }
    active = [];
  }

  // 6. Create the Job for this scheduled time and remember it.
  const job = jobFromTemplate(cj, scheduled, timeZone);
  actions.push({ verb: "create", resource: JOBS, object: job });
  event("Normal", "SuccessfulCreate", `Created job ${jobName}`);
  active = [...active, { apiVersion: "batch/v1", kind: "Job", namespace: job.metadata.namespace, name: jobName }];
  lastScheduleTime = rfc3339(scheduled);
  return finish(requeue());
}
