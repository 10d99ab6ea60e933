// Book 11.3: the TTL-after-finished controller's reconcile: once a Job has finished and its
// spec.ttlSecondsAfterFinished has run out, delete it (and, through the garbage collector, its pods).
import { JOBS, splitKey } from "@corekube/client";
import type { Job } from "../job/reconcile.js";
import type { Clock, ObjectReader, ReconcileResult } from "../framework/types.js";

export interface TTLAfterFinishedState {
  jobs: ObjectReader;
  clock: Clock;
}

/**
 * How a finished Job is deleted. Upstream's TTL controller uses Foreground, so the Job stays
 * (with a deletionTimestamp) until the garbage collector has removed its pods.
 */
export const TTL_DELETE_PROPAGATION = "Foreground" as const;

/** When the Job finished: the True Complete or Failed condition's transition time, else status.completionTime. */
export function jobFinishedAt(job: Job): Date | undefined {
  const done = job.status?.conditions?.find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
  if (!done) return undefined;
  for (const t of [done.lastTransitionTime, job.status?.completionTime]) {
    const ms = t ? Date.parse(t) : Number.NaN;
    if (Number.isFinite(ms)) return new Date(ms);
  }
  return undefined;
}

export function reconcileTTLAfterFinished(key: string, s: TTLAfterFinishedState): ReconcileResult {
  const { namespace, name } = splitKey(key);
  const job = s.jobs.get(name, namespace) as Job | undefined;
  if (!job || job.metadata.deletionTimestamp) return { actions: [] };
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (ttl === undefined || ttl === null) return { actions: [] };
  const finished = job.status?.conditions?.some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True") ?? false;
  if (!finished) return { actions: [] };
  if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 0) {
    return { actions: [{ verb: "event", object: job, type: "Warning", reason: "InvalidTTL", message: `spec.ttlSecondsAfterFinished must be a non-negative integer, not ${JSON.stringify(ttl)}` }] };
  }
  const finishedAt = jobFinishedAt(job);
  if (!finishedAt) {
    return {
      actions: [{ verb: "event", object: job, type: "Warning", reason: "UnknownFinishTime", message: `unable to find the time when the Job ${key} finished` }],
    };
  }
  // A finish time in the future (clock skew) only pushes the deadline out.
  const left = finishedAt.getTime() + ttl * 1000 - s.clock.now().getTime();
  if (left > 0) return { actions: [], requeueAfterMs: left };
  return {
    actions: [
      {
        verb: "delete",
        resource: JOBS,
        namespace: job.metadata.namespace,
        name: job.metadata.name ?? name,
        ...(job.metadata.uid ? { uid: job.metadata.uid } : {}),
        propagationPolicy: TTL_DELETE_PROPAGATION,
      },
    ],
  };
}
