// Book 11.3: the CronJob controller's reconcile against in-memory caches and a FakeClock: Jobs made at
// the right time, concurrency policies, history limits, suspend, starting deadlines and time zones.
import { describe, expect, it } from "vitest";
import { readerOf } from "../framework/testing.js";
import { FakeClock, type Action } from "../framework/types.js";
import type { Job } from "../job/reconcile.js";
import { CRONJOB_SCHEDULED_TIMESTAMP, reconcileCronJob, type CronJob, type CronJobSpec } from "./reconcile.js";

const CREATED = "2026-01-01T00:00:00Z";

function makeCronJob(spec: Partial<CronJobSpec> = {}, status?: CronJob["status"]): CronJob {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "hello", namespace: "default", uid: "cj-uid", creationTimestamp: CREATED },
    spec: {
      schedule: "*/5 * * * *",
      jobTemplate: {
        metadata: { labels: { app: "hello" } },
        spec: { template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "c", image: "busybox" }] } } },
      },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

function ownedJob(name: string, state: "active" | "Complete" | "Failed", startTime: string, uid = `${name}-uid`): Job {
  const cond = state === "active" ? [] : [{ type: state, status: "True" as const }];
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace: "default",
      uid,
      ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: "hello", uid: "cj-uid", controller: true }],
    },
    spec: { template: { spec: { containers: [] } } },
    status: { startTime, conditions: cond, ...(state === "Complete" ? { completionTime: startTime } : {}) },
  };
}

function run(cj: CronJob, jobs: Job[], now: string) {
  const res = reconcileCronJob("default/hello", { cronJobs: readerOf([cj]), jobs: readerOf(jobs), clock: new FakeClock(new Date(now)) });
  const of = <V extends Action["verb"]>(v: V) => res.actions.filter((a): a is Extract<Action, { verb: V }> => a.verb === v);
  const status = of("updateStatus")[0]?.object.status as CronJob["status"] | undefined;
  return { ...res, created: of("create").map((a) => a.object as Job), deleted: of("delete").map((a) => a.name), events: of("event"), status };
}

const minutes = (iso: string) => Math.floor(Date.parse(iso) / 60000);

describe("reconcileCronJob", () => {
  it("waits until the first scheduled time, then creates one Job for it", () => {
    const cj = makeCronJob();
    const early = run(cj, [], "2026-01-01T00:03:00Z");
    expect(early.created).toEqual([]);
    expect(early.requeueAfterMs).toBe(2 * 60_000 + 100);

    const due = run(cj, [], "2026-01-01T00:05:10Z");
    expect(due.created).toHaveLength(1);
    const job = due.created[0]!;
    expect(job.metadata.name).toBe(`hello-${minutes("2026-01-01T00:05:00Z")}`);
    expect(job.metadata.annotations?.[CRONJOB_SCHEDULED_TIMESTAMP]).toBe("2026-01-01T00:05:00Z");
    expect(job.metadata.labels).toEqual({ app: "hello" });
    expect(job.metadata.ownerReferences?.[0]).toMatchObject({ kind: "CronJob", uid: "cj-uid", controller: true });
    expect(job.spec.template.spec.containers[0]?.image).toBe("busybox");
    expect(due.status?.lastScheduleTime).toBe("2026-01-01T00:05:00Z");
    expect(due.status?.active?.map((r) => r.name)).toEqual([job.metadata.name]);
    expect(due.requeueAfterMs).toBe(4 * 60_000 + 50_000 + 100);
    expect(due.events.map((e) => e.reason)).toEqual(["SuccessfulCreate"]);
  });

  it("does not create the same scheduled Job twice", () => {
    const cj = makeCronJob({}, { lastScheduleTime: "2026-01-01T00:05:00Z", active: [{ name: `hello-${minutes("2026-01-01T00:05:00Z")}`, namespace: "default" }] });
    const res = run(cj, [], "2026-01-01T00:06:00Z");
    expect(res.created).toEqual([]);
    expect(res.requeueAfterMs).toBe(4 * 60_000 + 100);
  });

  it("fills in the uid of a Job it created and drops it from active once finished, recording success", () => {
    const name = `hello-${minutes("2026-01-01T00:05:00Z")}`;
    const cj = makeCronJob({}, { lastScheduleTime: "2026-01-01T00:05:00Z", active: [{ name, namespace: "default" }] });
    const seen = run(cj, [ownedJob(name, "active", "2026-01-01T00:05:01Z")], "2026-01-01T00:06:00Z");
    expect(seen.status?.active).toEqual([expect.objectContaining({ name, uid: `${name}-uid` })]);

    const cj2 = makeCronJob({}, seen.status);
    const done = run(cj2, [ownedJob(name, "Complete", "2026-01-01T00:05:30Z")], "2026-01-01T00:07:00Z");
    expect(done.status?.active).toBeUndefined();
    expect(done.status?.lastSuccessfulTime).toBe("2026-01-01T00:05:30Z");
    expect(done.events.map((e) => e.reason)).toContain("SawCompletedJob");
  });

  it("Forbid skips a run while one is active; Allow runs them side by side", () => {
    const prev = ownedJob("hello-old", "active", "2026-01-01T00:05:00Z");
    const status = { lastScheduleTime: "2026-01-01T00:05:00Z", active: [{ name: "hello-old", namespace: "default", uid: "hello-old-uid" }] };
    const forbid = run(makeCronJob({ concurrencyPolicy: "Forbid" }, status), [prev], "2026-01-01T00:10:00Z");
    expect(forbid.created).toEqual([]);
    expect(forbid.events.map((e) => e.reason)).toEqual(["JobAlreadyActive"]);
    expect(forbid.requeueAfterMs).toBe(5 * 60_000 + 100);

    const allow = run(makeCronJob({ concurrencyPolicy: "Allow" }, status), [prev], "2026-01-01T00:10:00Z");
    expect(allow.created).toHaveLength(1);
    expect(allow.deleted).toEqual([]);
    expect(allow.status?.active?.map((r) => r.name)).toEqual(["hello-old", allow.created[0]!.metadata.name]);
  });

  it("Replace deletes the active Job before creating the new one", () => {
    const prev = ownedJob("hello-old", "active", "2026-01-01T00:05:00Z");
    const status = { lastScheduleTime: "2026-01-01T00:05:00Z", active: [{ name: "hello-old", namespace: "default", uid: "hello-old-uid" }] };
    const res = run(makeCronJob({ concurrencyPolicy: "Replace" }, status), [prev], "2026-01-01T00:10:00Z");
    const verbs = res.actions.filter((a) => a.verb === "delete" || a.verb === "create").map((a) => a.verb);
    expect(verbs).toEqual(["delete", "create"]);
    expect(res.deleted).toEqual(["hello-old"]);
    expect(res.status?.active?.map((r) => r.name)).toEqual([res.created[0]!.metadata.name]);
  });

  it("keeps 3 successful and 1 failed finished Jobs by default, deleting the oldest", () => {
    const jobs = [
      ownedJob("s1", "Complete", "2026-01-01T00:05:00Z"),
      ownedJob("s2", "Complete", "2026-01-01T00:10:00Z"),
      ownedJob("s3", "Complete", "2026-01-01T00:15:00Z"),
      ownedJob("s4", "Complete", "2026-01-01T00:20:00Z"),
      ownedJob("s5", "Complete", "2026-01-01T00:25:00Z"),
      ownedJob("f1", "Failed", "2026-01-01T00:01:00Z"),
      ownedJob("f2", "Failed", "2026-01-01T00:02:00Z"),
      { ...ownedJob("other", "Complete", "2026-01-01T00:00:00Z"), metadata: { name: "other", namespace: "default", uid: "x" } },
    ];
    const cj = makeCronJob({}, { lastScheduleTime: "2026-01-01T00:25:00Z" });
    expect(run(cj, jobs, "2026-01-01T00:26:00Z").deleted.sort()).toEqual(["f1", "s1", "s2"]);
    const limited = makeCronJob({ successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 0 }, { lastScheduleTime: "2026-01-01T00:25:00Z" });
    expect(run(limited, jobs, "2026-01-01T00:26:00Z").deleted.sort()).toEqual(["f1", "f2", "s1", "s2", "s3", "s4"]);
  });

  it("creates nothing while suspended and catches up with only the latest time when resumed", () => {
    const suspended = run(makeCronJob({ suspend: true }), [], "2026-01-01T00:30:00Z");
    expect(suspended.created).toEqual([]);
    expect(suspended.requeueAfterMs).toBeUndefined();

    const resumed = run(makeCronJob({ suspend: false }), [], "2026-01-01T00:32:00Z");
    expect(resumed.created.map((j) => j.metadata.name)).toEqual([`hello-${minutes("2026-01-01T00:30:00Z")}`]);
  });

  it("does not start a Job whose scheduled time is past the starting deadline", () => {
    const cj = makeCronJob({ schedule: "0 * * * *", startingDeadlineSeconds: 60 });
    const late = run(cj, [], "2026-01-01T01:02:00Z");
    expect(late.created).toEqual([]);
    expect(late.requeueAfterMs).toBe(58 * 60_000 + 100);
    const inTime = run(cj, [], "2026-01-01T01:00:40Z");
    expect(inTime.created).toHaveLength(1);
  });

  it("warns about too many missed start times and runs only the latest", () => {
    const cj = makeCronJob({ schedule: "* * * * *" });
    const res = run(cj, [], "2026-01-03T00:00:30Z");
    expect(res.created.map((j) => j.metadata.name)).toEqual([`hello-${minutes("2026-01-03T00:00:00Z")}`]);
    expect(res.events.find((e) => e.reason === "TooManyMissedTimes")?.type).toBe("Warning");
    const few = run(cj, [], "2026-01-01T01:00:30Z");
    expect(few.events.map((e) => e.reason)).not.toContain("TooManyMissedTimes");
  });

  it("reads the schedule in spec.timeZone and stamps the Job in that zone", () => {
    const cj = makeCronJob({ schedule: "0 9 * * *", timeZone: "America/New_York" });
    expect(run(cj, [], "2026-01-01T13:59:00Z").created).toEqual([]);
    const res = run(cj, [], "2026-01-01T14:00:05Z");
    expect(res.created[0]?.metadata.annotations?.[CRONJOB_SCHEDULED_TIMESTAMP]).toBe("2026-01-01T09:00:00-05:00");
    expect(res.status?.lastScheduleTime).toBe("2026-01-01T14:00:00Z");
    expect(res.requeueAfterMs).toBe(24 * 3600_000 - 5_000 + 100);
  });

  it("reports a bad schedule or time zone as a Warning event and does nothing else", () => {
    const bad = run(makeCronJob({ schedule: "61 * * * *" }), [], "2026-01-01T01:00:00Z");
    expect(bad.created).toEqual([]);
    expect(bad.events[0]).toMatchObject({ type: "Warning", reason: "UnparseableSchedule" });
    expect(bad.events[0]?.message).toMatch(/minute field: value 61/);
    const tz = run(makeCronJob({ timeZone: "Nowhere/Land" }), [], "2026-01-01T01:00:00Z");
    expect(tz.events[0]).toMatchObject({ type: "Warning", reason: "UnknownTimeZone" });
  });

  it("fires at the right moment as the clock advances", () => {
    const cjs = readerOf<CronJob>([makeCronJob({ schedule: "30 * * * *" })]);
    const jobs = readerOf<Job>([]);
    const clock = new FakeClock(new Date(CREATED));
    const state = { cronJobs: cjs, jobs, clock };
    let res = reconcileCronJob("default/hello", state);
    expect(res.actions.filter((a) => a.verb === "create")).toEqual([]);
    clock.advance(res.requeueAfterMs!);
    res = reconcileCronJob("default/hello", state);
    const create = res.actions.find((a) => a.verb === "create");
    expect(create && create.verb === "create" && create.object.metadata.name).toBe(`hello-${minutes("2026-01-01T00:30:00Z")}`);
  });
});
