// Book 2.3: Jobs and CronJobs as users meet them — the generated selector, completion defaults,
// restart rules, what an update may change, cron schedules, and their `kubectl get` rows.
import { fieldErrorMessage } from "@corekube/api";
import { describe, expect, it } from "vitest";
import type { KubeObject, RequestContext } from "../registry/types.js";
import { cronJobs, cronScheduleError, jobs } from "./batch.js";

const ctx: RequestContext = { user: { username: "u", groups: [] }, namespace: "default", now: new Date("2024-05-01T12:00:00Z"), dryRun: false, warnings: [] };

function job(spec: Record<string, unknown> = {}): KubeObject {
  return {
    metadata: { name: "pi", namespace: "default", uid: "0000-1111", creationTimestamp: "2024-05-01T11:50:00Z" },
    spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "pi", image: "perl:5" }] } }, ...spec },
  };
}

function create(o: KubeObject): string[] {
  jobs.strategy.defaults!(o);
  jobs.strategy.prepareForCreate!(o, ctx);
  return jobs.strategy.validate!(o, ctx).map(fieldErrorMessage);
}

describe("Job", () => {
  it("is defaulted and selects its pods by its uid", () => {
    const o = job();
    expect(create(o)).toEqual([]);
    expect(o.spec).toMatchObject({
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: "NonIndexed",
      suspend: false,
      manualSelector: false,
      podReplacementPolicy: "TerminatingOrFailed",
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "0000-1111" } },
    });
    const labels = { "batch.kubernetes.io/controller-uid": "0000-1111", "batch.kubernetes.io/job-name": "pi", "controller-uid": "0000-1111", "job-name": "pi" };
    expect((o.spec as any).template.metadata.labels).toEqual(labels);
    expect(o.metadata.labels).toEqual(labels);
  });

  it("keeps user labels on the job itself", () => {
    const o = job({ template: { metadata: { labels: { app: "pi" } }, spec: { restartPolicy: "Never", containers: [{ name: "pi", image: "perl:5" }] } } });
    expect(create(o)).toEqual([]);
    expect(o.metadata.labels).toEqual({ app: "pi" });
  });

  it("leaves parallelism alone without completions", () => {
    const o = job({ parallelism: 3 });
    create(o);
    expect((o.spec as any).completions).toBeUndefined();
    expect(jobs.table!.cells(o, ctx.now)[2]).toBe("0/1 of 3");
  });

  it("refuses restartPolicy Always (the pod-spec default)", () => {
    const o = job({ template: { spec: { containers: [{ name: "pi", image: "perl:5" }] } } });
    expect(create(o)).toEqual(['spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"']);
  });

  it("refuses a hand-written selector unless manualSelector is set", () => {
    const o = job({ selector: { matchLabels: { app: "pi" } } });
    const errs = create(o);
    expect(errs).toContain('spec.selector: Invalid value: {"matchLabels":{"app":"pi","batch.kubernetes.io/controller-uid":"0000-1111"}}: `selector` not auto-generated');
    expect(errs.some((e) => e.startsWith("spec.template.metadata.labels:") && e.endsWith("`selector` does not match template `labels`"))).toBe(true);
    const manual = job({
      manualSelector: true,
      selector: { matchLabels: { app: "pi" } },
      template: { metadata: { labels: { app: "pi" } }, spec: { restartPolicy: "Never", containers: [{ name: "pi", image: "perl:5" }] } },
    });
    expect(create(manual)).toEqual([]);
  });

  it("keeps selector, template and completions once created", () => {
    const old = job();
    create(old);
    const next = structuredClone(old);
    (next.spec as any).template.spec.containers[0].image = "perl:6";
    (next.spec as any).completions = 2;
    jobs.strategy.defaults!(next);
    const errs = jobs.strategy.validateUpdate!(next, old, ctx).map(fieldErrorMessage);
    expect(errs).toContain("spec.completions: Invalid value: 2: field is immutable");
    expect(errs.some((e) => e.startsWith("spec.template: Invalid value:") && e.endsWith("field is immutable"))).toBe(true);
  });

  it("shows status, completions and duration", () => {
    const o = job();
    create(o);
    o.status = { succeeded: 1, startTime: "2024-05-01T11:50:00Z", completionTime: "2024-05-01T11:50:42Z", conditions: [{ type: "Complete", status: "True" }] };
    expect(jobs.table!.cells(o, ctx.now).slice(0, 5)).toEqual(["pi", "Complete", "1/1", "42s", "10m"]);
    o.status = { startTime: "2024-05-01T11:58:00Z" };
    expect(jobs.table!.cells(o, ctx.now).slice(1, 4)).toEqual(["Running", "0/1", "2m"]);
    expect(jobs.fields!(o)).toEqual({ "status.successful": "0" });
  });
});

describe("CronJob", () => {
  const cj = (spec: Record<string, unknown>, name = "nightly"): KubeObject => ({
    metadata: { name, namespace: "default", creationTimestamp: "2024-05-01T11:00:00Z" },
    spec: { schedule: "*/5 * * * *", jobTemplate: { spec: { template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "c", image: "busybox:1" }] } } } }, ...spec },
  });
  const create = (o: KubeObject) => {
    cronJobs.strategy.defaults!(o);
    return cronJobs.strategy.validate!(o, ctx).map(fieldErrorMessage);
  };

  it("is defaulted", () => {
    const o = cj({});
    expect(create(o)).toEqual([]);
    expect(o.spec).toMatchObject({ concurrencyPolicy: "Allow", suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 });
    expect((o.spec as any).jobTemplate.spec.template.spec.dnsPolicy).toBe("ClusterFirst");
  });

  it("parses schedules like the cron controller", () => {
    expect(cronScheduleError("0 3 * * MON-FRI")).toBeUndefined();
    expect(cronScheduleError("@hourly")).toBeUndefined();
    expect(cronScheduleError("@every 1h30m")).toBeUndefined();
    expect(cronScheduleError("* * *")).toBe("expected exactly 5 fields, found 3: [* * *]");
    expect(cronScheduleError("0 25 * * *")).toBe("end of range (25) above maximum (23): 25");
    expect(create(cj({ schedule: "CRON_TZ=UTC 0 * * * *" }))).toEqual([
      'spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
    ]);
  });

  it("checks the time zone, the name length and the job template", () => {
    expect(create(cj({ timeZone: "Mars/Olympus" }))).toEqual(['spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus']);
    expect(create(cj({ timeZone: "Europe/Paris" }))).toEqual([]);
    expect(create(cj({}, "x".repeat(53)))[0]).toMatch(/must be no more than 52 characters$/);
    const withSelector = cj({});
    (withSelector.spec as any).jobTemplate.spec.selector = { matchLabels: { a: "b" } };
    expect(create(withSelector)).toEqual(['spec.jobTemplate.spec.selector: Invalid value: {"matchLabels":{"a":"b"}}: `selector` will be auto-generated']);
  });

  it("shows schedule, suspension and the last run", () => {
    const o = cj({ timeZone: "Etc/UTC" });
    create(o);
    o.status = { active: [{ name: "nightly-1" }], lastScheduleTime: "2024-05-01T11:55:00Z" };
    expect(cronJobs.table!.cells(o, ctx.now).slice(0, 7)).toEqual(["nightly", "*/5 * * * *", "Etc/UTC", "False", 1, "5m", "60m"]);
  });
});
