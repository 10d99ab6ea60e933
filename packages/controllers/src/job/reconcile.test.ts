// Book 11.3: the Job controller's reconcile, driven round by round against in-memory caches: pods
// created and finished, Indexed completions, backoffLimit, deadlines, completion and suspend.
import { type Pod, rfc3339 } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { readerOf } from "../framework/testing.js";
import { FakeClock, type Action, type ReconcileResult } from "../framework/types.js";
import { formatIndexes, parseIndexes, reconcileJob, type Job, type JobSpec } from "./reconcile.js";

const T0 = new Date("2026-01-01T00:00:00Z");

function makeJob(spec: Partial<JobSpec> = {}, status?: Job["status"]): Job {
  const labels = { "batch.kubernetes.io/controller-uid": "job-uid", "batch.kubernetes.io/job-name": "pi" };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default", uid: "job-uid" },
    spec: {
      parallelism: 1,
      completions: 1,
      backoffLimit: 6,
      completionMode: "NonIndexed",
      suspend: false,
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "job-uid" } },
      template: { metadata: { labels }, spec: { restartPolicy: "Never", containers: [{ name: "pi", image: "perl" }] } },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

/** A little world: a job, its pods, a clock; `step` reconciles once and applies the actions. */
function world(job: Job) {
  const jobs = readerOf<Job>([job]);
  const pods = readerOf<Pod>([]);
  const clock = new FakeClock(T0);
  let seq = 0;
  const state = { jobs, pods, clock };
  const step = (): ReconcileResult & { created: Pod[]; deleted: string[] } => {
    const res = reconcileJob("default/pi", state);
    const created: Pod[] = [];
    const deleted: string[] = [];
    for (const a of res.actions) {
      if (a.verb === "create") {
        const p = structuredClone(a.object) as Pod;
        seq++;
        p.metadata.name = `${p.metadata.generateName ?? ""}${seq}`;
        p.metadata.uid = `pod-uid-${seq}`;
        p.status = { phase: "Pending" };
        pods.objects.push(p);
        created.push(p);
      } else if (a.verb === "delete") {
        const i = pods.objects.findIndex((p) => p.metadata.name === a.name);
        if (i >= 0) pods.objects.splice(i, 1);
        deleted.push(a.name);
      } else if (a.verb === "updateStatus") {
        jobs.objects[0] = structuredClone(a.object) as Job;
      }
    }
    return { ...res, created, deleted };
  };
  const current = (): Job => jobs.objects[0]!;
  const setPhase = (p: Pod, phase: NonNullable<Pod["status"]>["phase"]): void => {
    p.status = { ...(p.status ?? {}), phase };
  };
  const running = () => pods.objects.filter((p) => p.status?.phase === "Pending" || p.status?.phase === "Running");
  return { jobs, pods, clock, step, current, setPhase, running };
}

const cond = (job: Job, type: string) => job.status?.conditions?.find((c) => c.type === type);
const verbs = (actions: Action[]) => actions.map((a) => a.verb);

describe("reconcileJob: NonIndexed", () => {
  it("runs N completions with parallelism P, creating at most P pods and no more than remain", () => {
    const w = world(makeJob({ completions: 5, parallelism: 2 }));
    const perRound: number[] = [];
    for (let round = 0; round < 6; round++) {
      const r = w.step();
      perRound.push(r.created.length);
      if (cond(w.current(), "Complete")) break;
      for (const p of w.running()) w.setPhase(p, "Succeeded");
    }
    expect(perRound).toEqual([2, 2, 1, 0]);
    const job = w.current();
    expect(job.status?.succeeded).toBe(5);
    expect(job.status?.active).toBeUndefined();
    expect(cond(job, "Complete")).toMatchObject({ status: "True", reason: "CompletionsReached" });
    expect(cond(job, "SuccessCriteriaMet")?.status).toBe("True");
    expect(job.status?.completionTime).toBe(rfc3339(T0));
    // Finished: nothing more to do.
    expect(w.step().actions).toEqual([]);
  });

  it("stamps pods from the template with a controller reference, generateName and restartPolicy", () => {
    const job = makeJob({ completions: 1 });
    job.spec.template.spec.restartPolicy = "OnFailure";
    const w = world(job);
    const [pod] = w.step().created;
    expect(pod?.metadata.generateName).toBe("pi-");
    expect(pod?.metadata.namespace).toBe("default");
    expect(pod?.metadata.labels?.["batch.kubernetes.io/controller-uid"]).toBe("job-uid");
    expect(pod?.metadata.ownerReferences).toEqual([
      { apiVersion: "batch/v1", kind: "Job", name: "pi", uid: "job-uid", controller: true, blockOwnerDeletion: true },
    ]);
    expect(pod?.spec.restartPolicy).toBe("OnFailure");
    expect(pod?.metadata.annotations?.["batch.kubernetes.io/job-completion-index"]).toBeUndefined();
  });

  it("reports active, ready and startTime, and replaces a failed pod", () => {
    const w = world(makeJob({ completions: 2, parallelism: 2 }));
    const first = w.step();
    expect(first.created).toHaveLength(2);
    expect(w.current().status?.startTime).toBe(rfc3339(T0));
    const [a, b] = w.pods.objects;
    w.setPhase(a!, "Running");
    a!.status!.conditions = [{ type: "Ready", status: "True" }];
    w.setPhase(b!, "Failed");
    w.clock.advance(5000);
    const r = w.step();
    expect(r.created).toHaveLength(1);
    const st = w.current().status!;
    expect(st).toMatchObject({ active: 2, failed: 1, ready: 1 });
    expect(st.startTime).toBe(rfc3339(T0));
    // Steady state: a second pass changes nothing.
    expect(w.step().actions).toEqual([]);
  });

  it("ignores pods controlled by something else", () => {
    const w = world(makeJob({ completions: 1 }));
    w.pods.objects.push({
      metadata: { name: "other", namespace: "default", uid: "x", ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "pi", uid: "old-uid", controller: true }] },
      spec: { containers: [] },
      status: { phase: "Succeeded" },
    });
    const r = w.step();
    expect(r.created).toHaveLength(1);
    expect(cond(w.current(), "Complete")).toBeUndefined();
  });

  it("work-queue mode (completions null) completes once a pod succeeded and none are active", () => {
    const w = world(makeJob({ completions: null, parallelism: 3 }));
    expect(w.step().created).toHaveLength(3);
    const [a] = w.pods.objects;
    w.setPhase(a!, "Succeeded");
    const r = w.step();
    expect(r.created).toHaveLength(0); // after a success no replacements are started
    expect(cond(w.current(), "Complete")).toBeUndefined();
    expect(w.current().status).toMatchObject({ succeeded: 1, active: 2 });
    for (const p of w.running()) w.setPhase(p, "Succeeded");
    w.step();
    expect(cond(w.current(), "Complete")?.status).toBe("True");
    expect(w.current().status?.succeeded).toBe(3);
  });
});

describe("reconcileJob: Indexed", () => {
  it("gives each index one pod, with annotation, label, hostname and env", () => {
    const w = world(makeJob({ completions: 3, parallelism: 2, completionMode: "Indexed" }));
    const r1 = w.step();
    const idx = (p: Pod) => p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"];
    expect(r1.created.map(idx)).toEqual(["0", "1"]);
    const p0 = r1.created[0]!;
    expect(p0.metadata.labels?.["batch.kubernetes.io/job-completion-index"]).toBe("0");
    expect(p0.metadata.generateName).toBe("pi-0-");
    expect(p0.spec.hostname).toBe("pi-0");
    expect(p0.spec.containers[0]?.env).toEqual([
      { name: "JOB_COMPLETION_INDEX", valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
    ]);

    // Index 1 succeeds; index 0 still runs: only index 2 is started.
    w.setPhase(r1.created[1]!, "Succeeded");
    const r2 = w.step();
    expect(r2.created.map(idx)).toEqual(["2"]);
    expect(w.current().status).toMatchObject({ completedIndexes: "1", succeeded: 1, active: 2 });

    // Index 0 fails: it is retried under the same index.
    w.setPhase(p0, "Failed");
    const r3 = w.step();
    expect(r3.created.map(idx)).toEqual(["0"]);

    for (const p of w.running()) w.setPhase(p, "Succeeded");
    w.step();
    const job = w.current();
    expect(job.status).toMatchObject({ completedIndexes: "0-2", succeeded: 3, failed: 1 });
    expect(cond(job, "Complete")?.status).toBe("True");
  });

  it("deletes a second active pod for an index that already has one", () => {
    const w = world(makeJob({ completions: 2, parallelism: 2, completionMode: "Indexed" }));
    const [p0] = w.step().created;
    const dup = structuredClone(p0!);
    dup.metadata.name = "dup";
    dup.metadata.uid = "dup-uid";
    w.pods.objects.push(dup);
    const r = w.step();
    expect(r.deleted).toHaveLength(1);
    expect(r.created).toHaveLength(0);
  });

  it("formats and parses completed indexes as ranges", () => {
    expect(formatIndexes([4, 0, 2, 1])).toBe("0-2,4");
    expect(formatIndexes([3, 5, 6])).toBe("3,5-6");
    expect(formatIndexes([])).toBe("");
    expect([...parseIndexes("0-2,4")]).toEqual([0, 1, 2, 4]);
  });
});

describe("reconcileJob: failure", () => {
  it("fails with BackoffLimitExceeded once failures exceed backoffLimit, deleting active pods", () => {
    const w = world(makeJob({ completions: 3, parallelism: 2, backoffLimit: 1 }));
    w.step();
    const [a, b] = w.pods.objects;
    w.setPhase(a!, "Failed"); // 1 failure: still within the limit
    const r1 = w.step();
    expect(r1.created).toHaveLength(1);
    expect(cond(w.current(), "Failed")).toBeUndefined();

    w.setPhase(b!, "Failed"); // 2 failures > 1
    const r2 = w.step();
    expect(r2.created).toHaveLength(0);
    expect(r2.deleted).toHaveLength(1); // the replacement still running
    const job = w.current();
    expect(cond(job, "Failed")).toMatchObject({ status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" });
    expect(job.status?.failed).toBe(2);
    expect(job.status?.completionTime).toBeUndefined();
    expect(r2.actions).toContainEqual(expect.objectContaining({ verb: "event", type: "Warning", reason: "BackoffLimitExceeded" }));
    expect(w.step().actions).toEqual([]);
  });

  it("counts container restarts toward backoffLimit when restartPolicy is OnFailure", () => {
    const job = makeJob({ backoffLimit: 2 });
    job.spec.template.spec.restartPolicy = "OnFailure";
    const w = world(job);
    const [p] = w.step().created;
    p!.status = { phase: "Running", containerStatuses: [{ name: "pi", ready: false, restartCount: 2, image: "perl", imageID: "" }] };
    const r = w.step();
    expect(r.deleted).toEqual([p!.metadata.name]);
    expect(cond(w.current(), "Failed")?.reason).toBe("BackoffLimitExceeded");
  });

  it("fails with DeadlineExceeded after activeDeadlineSeconds, requeueing until then", () => {
    const w = world(makeJob({ completions: 1, activeDeadlineSeconds: 60 }));
    const r1 = w.step();
    expect(r1.requeueAfterMs).toBe(60_000);
    w.clock.advance(45_000);
    expect(w.step().requeueAfterMs).toBe(15_000);
    expect(cond(w.current(), "Failed")).toBeUndefined();
    w.clock.advance(15_000);
    const r3 = w.step();
    expect(r3.requeueAfterMs).toBeUndefined();
    expect(r3.deleted).toHaveLength(1);
    expect(cond(w.current(), "Failed")).toMatchObject({ status: "True", reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" });
    expect(w.pods.objects).toHaveLength(0);
  });
});

describe("reconcileJob: suspend", () => {
  it("a Job created suspended starts nothing and has no startTime until resumed", () => {
    const w = world(makeJob({ completions: 1, suspend: true, activeDeadlineSeconds: 30 }));
    const r1 = w.step();
    expect(r1.created).toHaveLength(0);
    expect(cond(w.current(), "Suspended")).toMatchObject({ status: "True", reason: "JobSuspended" });
    expect(w.current().status?.startTime).toBeUndefined();

    w.clock.advance(3600_000);
    w.jobs.objects[0] = { ...w.current(), spec: { ...w.current().spec, suspend: false } };
    const r2 = w.step();
    expect(r2.created).toHaveLength(1);
    expect(r2.requeueAfterMs).toBe(30_000);
    expect(cond(w.current(), "Suspended")).toMatchObject({ status: "False", reason: "JobResumed" });
    expect(w.current().status?.startTime).toBe(rfc3339(new Date(T0.getTime() + 3600_000)));
    expect(cond(w.current(), "Failed")).toBeUndefined();
  });

  it("resuming restarts the activeDeadlineSeconds clock", () => {
    const w = world(makeJob({ completions: 1, activeDeadlineSeconds: 60 }));
    w.step();
    w.clock.advance(30_000);
    w.jobs.objects[0] = { ...w.current(), spec: { ...w.current().spec, suspend: true } };
    expect(w.step().requeueAfterMs).toBeUndefined();
    w.clock.advance(600_000);
    w.jobs.objects[0] = { ...w.current(), spec: { ...w.current().spec, suspend: false } };
    const r = w.step();
    expect(cond(w.current(), "Failed")).toBeUndefined();
    expect(r.created).toHaveLength(1);
    expect(r.requeueAfterMs).toBe(60_000);
    expect(r.actions).toContainEqual(expect.objectContaining({ verb: "event", reason: "Resumed" }));
  });

  it("suspending a running Job deletes its active pods", () => {
    const w = world(makeJob({ completions: 4, parallelism: 2 }));
    w.step();
    w.jobs.objects[0] = { ...w.current(), spec: { ...w.current().spec, suspend: true } };
    const r = w.step();
    expect(r.deleted).toHaveLength(2);
    expect(verbs(r.actions)).not.toContain("create");
    expect(cond(w.current(), "Suspended")?.status).toBe("True");
    expect(w.current().status?.active).toBeUndefined();
    expect(w.step().actions).toEqual([]);
  });
});
