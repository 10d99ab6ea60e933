// Book 11.3: the TTL-after-finished controller's reconcile: finished Jobs are deleted once their TTL
// runs out, and requeued for the moment it will; unfinished, TTL-less or deleting Jobs are left alone.
import { rfc3339 } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { readerOf } from "../framework/testing.js";
import { FakeClock, type ReconcileResult } from "../framework/types.js";
import type { Job, JobCondition } from "../job/reconcile.js";
import { jobFinishedAt, reconcileTTLAfterFinished } from "./reconcile.js";

const T0 = new Date("2026-01-01T00:00:00Z");
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function job(ttl: unknown, conditions: JobCondition[] = [], extra: { completionTime?: string; deleting?: boolean } = {}): Job {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default", uid: "job-uid", ...(extra.deleting ? { deletionTimestamp: rfc3339(T0) } : {}) },
    spec: {
      ...(ttl === undefined ? {} : { ttlSecondsAfterFinished: ttl }),
      template: { spec: { restartPolicy: "Never", containers: [{ name: "pi", image: "perl" }] } },
    },
    status: { conditions, ...(extra.completionTime ? { completionTime: extra.completionTime } : {}) },
  } as Job;
}

const complete = (when?: Date, type = "Complete"): JobCondition => ({ type, status: "True", ...(when ? { lastTransitionTime: rfc3339(when) } : {}) });

function run(j: Job, now: Date): ReconcileResult {
  return reconcileTTLAfterFinished("default/pi", { jobs: readerOf([j]), clock: new FakeClock(now) });
}

describe("reconcileTTLAfterFinished", () => {
  it("requeues a finished Job for the moment its TTL runs out", () => {
    const r = run(job(100, [complete(T0)]), at(40));
    expect(r.actions).toEqual([]);
    expect(r.requeueAfterMs).toBe(60_000);
  });

  it("deletes a Job whose TTL has passed, for this incarnation only, cascading to its pods", () => {
    const r = run(job(100, [complete(T0)]), at(100));
    expect(r.actions).toEqual([
      { verb: "delete", resource: expect.objectContaining({ resource: "jobs", group: "batch" }), namespace: "default", name: "pi", uid: "job-uid", propagationPolicy: "Foreground" },
    ]);
    expect(r.requeueAfterMs).toBeUndefined();
  });

  it("treats a Failed Job like a Complete one, and a TTL of 0 as right away", () => {
    const r = run(job(0, [{ type: "Failed", status: "True", lastTransitionTime: rfc3339(T0) }]), T0);
    expect(r.actions.map((a) => a.verb)).toEqual(["delete"]);
  });

  it("falls back to status.completionTime when the condition has no transition time", () => {
    const j = job(10, [complete(undefined)], { completionTime: rfc3339(at(5)) });
    expect(jobFinishedAt(j)?.getTime()).toBe(at(5).getTime());
    expect(run(j, at(10)).requeueAfterMs).toBe(5_000);
    expect(run(j, at(15)).actions.map((a) => a.verb)).toEqual(["delete"]);
  });

  it("leaves alone Jobs that are unfinished, have no TTL, or are already being deleted", () => {
    const cases = [
      job(10, []),
      job(10, [{ type: "Complete", status: "False", lastTransitionTime: rfc3339(T0) }]),
      job(10, [{ type: "Suspended", status: "True", lastTransitionTime: rfc3339(T0) }]),
      job(undefined, [complete(T0)]),
      job(null, [complete(T0)]),
      job(10, [complete(T0)], { deleting: true }),
    ];
    for (const j of cases) expect(run(j, at(3600))).toEqual({ actions: [] });
    expect(reconcileTTLAfterFinished("default/absent", { jobs: readerOf([]), clock: new FakeClock(T0) })).toEqual({ actions: [] });
  });

  it("waits out a finish time in the future (clock skew) instead of deleting", () => {
    const r = run(job(10, [complete(at(30))]), T0);
    expect(r.actions).toEqual([]);
    expect(r.requeueAfterMs).toBe(40_000);
  });

  it("warns instead of deleting when the TTL or the finish time is unusable", () => {
    const noTime = run(job(10, [complete(undefined)]), at(3600));
    expect(noTime.actions).toMatchObject([{ verb: "event", type: "Warning", reason: "UnknownFinishTime" }]);
    const badTtl = run(job("ten", [complete(T0)]), at(3600));
    expect(badTtl.actions).toMatchObject([{ verb: "event", type: "Warning", reason: "InvalidTTL" }]);
    expect(run(job(-1, [complete(T0)]), at(3600)).actions.map((a) => a.verb)).toEqual(["event"]);
  });
});
