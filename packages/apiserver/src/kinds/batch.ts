// Book 2.3 and 11.3: batch/v1 — Jobs (pods that run to completion, with a selector generated from
// the Job's uid) and CronJobs (Jobs on a cron schedule) — defaults, validation and Tables.
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { ageOf, humanDuration, parseTime } from "./age.js";
import { clone, ensureObj, get, isObj, num, obj, objects, s, semanticEqual, setDefault, setDefaultStr, strMap, type JsonObject } from "./json.js";
import { validateImmutable, validateLabelSelector } from "./meta.js";
import { defaultPodTemplate } from "./pod-defaults.js";
import { validatePodTemplate } from "./pod-validation.js";
import { age, ageColumn, col, containerCells, containersColumn, formatLabelSelector, imagesColumn, nameColumn, nameOf, selectorColumn } from "./tables.js";
import { nonNegative, oneOf } from "./validation.js";
import { selectorMatches } from "./workload.js";

export const JOB_LABELS = {
  controllerUid: "batch.kubernetes.io/controller-uid",
  legacyControllerUid: "controller-uid",
  jobName: "batch.kubernetes.io/job-name",
  legacyJobName: "job-name",
} as const;

const specOf = (o: KubeObject): JsonObject => ensureObj(o as JsonObject, "spec");
const readSpec = (o: KubeObject): JsonObject => obj(o.spec) ?? {};

/** Job spec defaults shared by Jobs and (for the pod template) CronJob job templates. */
function defaultJobSpec(spec: JsonObject): void {
  if ((spec.completions === undefined || spec.completions === null) && (spec.parallelism === undefined || spec.parallelism === null)) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  setDefault(spec, "parallelism", 1);
  if (spec.backoffLimitPerIndex === undefined || spec.backoffLimitPerIndex === null) setDefault(spec, "backoffLimit", 6);
  else setDefault(spec, "backoffLimit", 2147483647);
  setDefaultStr(spec, "completionMode", "NonIndexed");
  setDefault(spec, "suspend", false);
  setDefault(spec, "manualSelector", false);
  setDefaultStr(spec, "podReplacementPolicy", isObj(spec.podFailurePolicy) ? "Failed" : "TerminatingOrFailed");
  defaultPodTemplate(spec.template);
}

/** A Job without labels takes its pod template's labels. */
function labelsFromTemplate(job: KubeObject): void {
  if (Object.keys(job.metadata.labels ?? {}).length > 0) return;
  const labels = strMap(get(job, "spec", "template", "metadata", "labels"));
  if (Object.keys(labels).length > 0) job.metadata.labels = labels;
}

export function defaultJob(job: KubeObject): void {
  defaultJobSpec(specOf(job));
  labelsFromTemplate(job);
}

/**
 * Unless the user manages the selector, a Job selects its pods by its own uid: the template gets
 * controller-uid and job-name labels (old and batch.kubernetes.io/ forms), the selector the uid.
 */
export function generateJobSelector(job: KubeObject): void {
  const spec = specOf(job);
  const template = ensureObj(spec, "template");
  const labels = ensureObj(ensureObj(template, "metadata"), "labels");
  const name = s(job.metadata.name);
  const uid = s(job.metadata.uid);
  for (const key of [JOB_LABELS.legacyJobName, JOB_LABELS.jobName]) setDefault(labels, key, name);
  for (const key of [JOB_LABELS.legacyControllerUid, JOB_LABELS.controllerUid]) setDefault(labels, key, uid);
  const selector = ensureObj(spec, "selector");
  setDefault(ensureObj(selector, "matchLabels"), JOB_LABELS.controllerUid, uid);
}

function hasLabel(labels: Record<string, string>, key: string, want: string, path: string): FieldError[] {
  if (!Object.hasOwn(labels, key)) return [field.required(`${path}[${key}]`, `must be '${want}'`)];
  return labels[key] === want ? [] : [field.invalid(`${path}[${key}]`, labels, `must be '${want}'`)];
}

/** The checks that a generated selector was not tampered with. */
function validateGeneratedSelector(job: KubeObject): FieldError[] {
  const spec = readSpec(job);
  if (spec.manualSelector === true) return [];
  const errs: FieldError[] = [];
  const rawLabels = get(spec, "template", "metadata", "labels");
  if (!isObj(rawLabels)) errs.push(field.invalid("spec.template.metadata.labels", rawLabels ?? null, "must not be nil"));
  const labels = strMap(rawLabels);
  const uid = s(job.metadata.uid);
  const name = s(job.metadata.name);
  const path = "spec.template.metadata.labels";
  errs.push(...hasLabel(labels, JOB_LABELS.legacyControllerUid, uid, path), ...hasLabel(labels, JOB_LABELS.legacyJobName, name, path));
  errs.push(...hasLabel(labels, JOB_LABELS.controllerUid, uid, path), ...hasLabel(labels, JOB_LABELS.jobName, name, path));
  if (spec.selector === undefined || spec.selector === null) errs.push(field.required("spec.selector", ""));
  else if (selectorMatches(spec.selector, { [JOB_LABELS.controllerUid]: uid }) !== true) {
    errs.push(field.invalid("spec.selector", spec.selector, "`selector` not auto-generated"));
  }
  return errs;
}

/** The parts of a Job spec checked for Jobs and CronJob templates alike. */
function validateJobSpecCommon(spec: JsonObject, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const k of ["parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished", "backoffLimitPerIndex", "maxFailedIndexes"]) {
    errs.push(...nonNegative(spec[k], `${path}.${k}`));
  }
  errs.push(...oneOf(spec.completionMode, ["NonIndexed", "Indexed"], `${path}.completionMode`, false));
  if (spec.completionMode === "Indexed" && (spec.completions === undefined || spec.completions === null)) {
    errs.push(field.required(`${path}.completions`, "when completion mode is Indexed"));
  }
  errs.push(...oneOf(spec.podReplacementPolicy, ["Failed", "TerminatingOrFailed"], `${path}.podReplacementPolicy`, false));
  errs.push(...validatePodTemplate(spec.template, `${path}.template`));
  const restart = get(spec, "template", "spec", "restartPolicy");
  if (restart === undefined || restart === "") errs.push(field.required(`${path}.template.spec.restartPolicy`, ""));
  else if (restart !== "OnFailure" && restart !== "Never") {
    errs.push(field.notSupported(`${path}.template.spec.restartPolicy`, restart, ["OnFailure", "Never"]));
  }
  return errs;
}

function validateJob(job: KubeObject): FieldError[] {
  const spec = readSpec(job);
  const errs = validateJobSpecCommon(spec, "spec");
  if (spec.selector === undefined || spec.selector === null) {
    if (spec.manualSelector === true) errs.push(field.required("spec.selector", ""));
  } else {
    errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
    const ok = selectorMatches(spec.selector, get(spec, "template", "metadata", "labels"));
    if (ok === false) errs.push(field.invalid("spec.template.metadata.labels", get(spec, "template", "metadata", "labels") ?? {}, "`selector` does not match template `labels`"));
  }
  errs.push(...validateGeneratedSelector(job));
  return errs;
}

/** Before a suspended Job first starts, its pods' scheduling directives may still change. */
function mutableSchedulingDirectives(old: KubeObject): boolean {
  return get(old, "spec", "suspend") === true && s(get(old, "status", "startTime")) === "";
}

function validateJobUpdate(job: KubeObject, old: KubeObject): FieldError[] {
  const spec = readSpec(job);
  const prev = readSpec(old);
  const errs: FieldError[] = [];
  errs.push(...validateImmutable(spec.selector, prev.selector, "spec.selector"));
  if (spec.completionMode === "Indexed") {
    if (!semanticEqual(spec.completions, prev.completions) && spec.completions !== spec.parallelism) {
      errs.push(field.invalid("spec.completions", spec.completions ?? null, "can only be modified in tandem with spec.parallelism"));
    }
  } else {
    errs.push(...validateImmutable(spec.completions, prev.completions, "spec.completions"));
  }
  for (const k of ["completionMode", "podFailurePolicy", "backoffLimitPerIndex", "successPolicy"]) errs.push(...validateImmutable(spec[k], prev[k], `spec.${k}`));
  let oldTemplate = prev.template;
  if (mutableSchedulingDirectives(old) && isObj(prev.template) && isObj(spec.template)) {
    const t = clone(prev.template) as JsonObject;
    const ts = ensureObj(t, "spec");
    const ns = obj(spec.template.spec) ?? {};
    for (const k of ["nodeSelector", "tolerations", "affinity", "schedulingGates"]) ts[k] = ns[k];
    const tm = ensureObj(t, "metadata");
    tm.labels = get(spec.template, "metadata", "labels");
    tm.annotations = get(spec.template, "metadata", "annotations");
    oldTemplate = t;
  }
  errs.push(...validateImmutable(spec.template, oldTemplate, "spec.template"));
  return errs;
}

function jobCondition(job: KubeObject, type: string): boolean {
  const c = objects(get(job, "status", "conditions")).find(([x]) => x.type === type);
  return c !== undefined && c[0].status === "True";
}

/** The Job's STATUS column: Complete, Failed, Terminating, Suspended, FailureTarget or Running. */
export function jobStatusText(job: KubeObject): string {
  if (jobCondition(job, "Complete")) return "Complete";
  if (jobCondition(job, "Failed")) return "Failed";
  if (s(job.metadata.deletionTimestamp) !== "") return "Terminating";
  if (jobCondition(job, "Suspended")) return "Suspended";
  if (jobCondition(job, "FailureTarget")) return "FailureTarget";
  return "Running";
}

export const jobs: ResourceDef = {
  group: "batch",
  version: "v1",
  resource: "jobs",
  kind: "Job",
  listKind: "JobList",
  singular: "job",
  namespaced: true,
  categories: ["all"],
  schemaName: "io.k8s.api.batch.v1.Job",
  subresources: { status: true },
  strategy: {
    defaults: defaultJob,
    prepareForCreate(job) {
      if (get(job, "spec", "manualSelector") !== true) generateJobSelector(job);
      labelsFromTemplate(job);
    },
    validate: validateJob,
    validateUpdate: validateJobUpdate,
    validateStatusUpdate: (job) => {
      const errs: FieldError[] = [];
      for (const k of ["active", "succeeded", "failed", "ready", "terminating"]) errs.push(...nonNegative(get(job, "status", k), `status.${k}`));
      return errs;
    },
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [
      nameColumn(),
      col("Status", "string", "Running, Complete, Failed, Suspended or Terminating."),
      col("Completions", "string", "Succeeded pods out of the completions wanted."),
      col("Duration", "string", "How long the job has run (or took)."),
      ageColumn(),
      containersColumn(),
      imagesColumn(),
      selectorColumn("The label selector of the job's pods."),
    ],
    cells(job, now) {
      const spec = readSpec(job);
      const succeeded = num(get(job, "status", "succeeded")) ?? 0;
      let completions: string;
      if (typeof spec.completions === "number") completions = `${succeeded}/${spec.completions}`;
      else {
        const parallelism = num(spec.parallelism) ?? 0;
        completions = parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
      }
      const start = parseTime(get(job, "status", "startTime"));
      const end = parseTime(get(job, "status", "completionTime"));
      const duration = start === undefined ? "" : humanDuration((end ?? now.getTime()) - start);
      const [names, images] = containerCells(get(spec, "template", "spec", "containers"));
      return [nameOf(job), jobStatusText(job), completions, duration, age(job, now), names, images, formatLabelSelector(spec.selector)];
    },
  },
  fields: (job) => ({ "status.successful": String(num(get(job, "status", "succeeded")) ?? 0) }),
};

// ---------------------------------------------------------------------------------------------
// CronJob.

const MACROS = new Set(["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]);
const FIELD_RANGES: Array<[string, number, number, string[]?]> = [
  ["minute", 0, 59],
  ["hour", 0, 23],
  ["day of month", 1, 31],
  ["month", 1, 12, ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]],
  ["day of week", 0, 6, ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]],
];

function cronValue(text: string, min: number, names: string[] | undefined): number | undefined {
  const named = names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + min;
  if (!/^\d+$/.test(text)) return undefined;
  return Number(text);
}

/** Why a cron schedule cannot be parsed, or undefined when it can (5 fields, or a @macro). */
export function cronScheduleError(schedule: string): string | undefined {
  const text = schedule.trim();
  if (text.startsWith("@")) {
    if (MACROS.has(text)) return undefined;
    if (text.startsWith("@every ")) return /^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))*$/.test(text.slice(7).trim()) ? undefined : `failed to parse duration ${text}`;
    return `unrecognized descriptor: ${text}`;
  }
  const fields = text.split(/\s+/).filter((f) => f !== "");
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`;
  for (let i = 0; i < 5; i++) {
    const [, min, max, names] = FIELD_RANGES[i]!;
    for (const part of fields[i]!.split(",")) {
      const [range, step] = part.split("/") as [string, string | undefined];
      if (step !== undefined && !/^\d+$/.test(step)) return `failed to parse int from ${step}: strconv.Atoi: parsing "${step}": invalid syntax`;
      if (range === "*" || (range === "?" && (i === 2 || i === 4))) continue;
      const [lo, hi] = range.split("-") as [string, string | undefined];
      const a = cronValue(lo, min, names);
      const b = hi === undefined ? a : cronValue(hi, min, names);
      if (a === undefined) return `failed to parse int from ${lo}: strconv.Atoi: parsing "${lo}": invalid syntax`;
      if (b === undefined) return `failed to parse int from ${hi}: strconv.Atoi: parsing "${hi}": invalid syntax`;
      if (a < min) return `beginning of range (${a}) below minimum (${min}): ${part}`;
      if (b > max) return `end of range (${b}) above maximum (${max}): ${part}`;
      if (a > b) return `beginning of range (${a}) beyond end of range (${b}): ${part}`;
    }
  }
  return undefined;
}

function isKnownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function validateCronJob(cj: KubeObject): FieldError[] {
  const spec = readSpec(cj);
  const errs: FieldError[] = [];
  const name = s(cj.metadata.name);
  // Job names are the CronJob's name plus an 11-character suffix and must stay under 63.
  if (name.length > 52) errs.push(field.invalid("metadata.name", name, "must be no more than 52 characters"));
  const schedule = s(spec.schedule);
  if (schedule === "") errs.push(field.required("spec.schedule", ""));
  else if (schedule.includes("TZ")) errs.push(field.invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"));
  else {
    const problem = cronScheduleError(schedule);
    if (problem) errs.push(field.invalid("spec.schedule", schedule, problem));
  }
  if (spec.timeZone !== undefined && spec.timeZone !== null) {
    const tz = s(spec.timeZone);
    if (tz === "") errs.push(field.invalid("spec.timeZone", spec.timeZone, "timeZone must be nil or non-empty string"));
    else if (tz.toLowerCase() === "local") errs.push(field.invalid("spec.timeZone", tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"));
    else if (!isKnownTimeZone(tz)) errs.push(field.invalid("spec.timeZone", tz, `unknown time zone ${tz}`));
  }
  errs.push(...oneOf(spec.concurrencyPolicy, ["Allow", "Forbid", "Replace"], "spec.concurrencyPolicy"));
  for (const k of ["startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"]) errs.push(...nonNegative(spec[k], `spec.${k}`));
  const jobSpec = obj(get(spec, "jobTemplate", "spec"));
  if (!jobSpec) errs.push(field.required("spec.jobTemplate.spec.template", ""));
  else {
    errs.push(...validateJobSpecCommon(jobSpec, "spec.jobTemplate.spec"));
    if (jobSpec.selector !== undefined && jobSpec.selector !== null) {
      errs.push(field.invalid("spec.jobTemplate.spec.selector", jobSpec.selector, "`selector` will be auto-generated"));
    }
    if (jobSpec.manualSelector === true) errs.push(field.notSupported("spec.jobTemplate.spec.manualSelector", true, ["nil", "false"]));
  }
  return errs;
}

export function defaultCronJob(cj: KubeObject): void {
  const spec = specOf(cj);
  setDefaultStr(spec, "concurrencyPolicy", "Allow");
  setDefault(spec, "suspend", false);
  setDefault(spec, "successfulJobsHistoryLimit", 3);
  setDefault(spec, "failedJobsHistoryLimit", 1);
  const jobSpec = obj(get(spec, "jobTemplate", "spec"));
  if (jobSpec) defaultPodTemplate(jobSpec.template);
}

export const cronJobs: ResourceDef = {
  group: "batch",
  version: "v1",
  resource: "cronjobs",
  kind: "CronJob",
  listKind: "CronJobList",
  singular: "cronjob",
  namespaced: true,
  shortNames: ["cj"],
  categories: ["all"],
  schemaName: "io.k8s.api.batch.v1.CronJob",
  subresources: { status: true },
  strategy: {
    defaults: defaultCronJob,
    validate: validateCronJob,
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [
      nameColumn(),
      col("Schedule", "string", "The cron schedule."),
      col("Timezone", "string", "The time zone the schedule is read in."),
      col("Suspend", "boolean", "Whether new runs are held back."),
      col("Active", "integer", "How many of its jobs are running."),
      col("Last Schedule", "string", "How long ago a job was last started."),
      ageColumn(),
      containersColumn(),
      imagesColumn(),
      selectorColumn("The label selector of the job template."),
    ],
    cells(cj, now) {
      const spec = readSpec(cj);
      const last = get(cj, "status", "lastScheduleTime");
      const suspend = spec.suspend;
      const jobSpec = obj(get(spec, "jobTemplate", "spec")) ?? {};
      const [names, images] = containerCells(get(jobSpec, "template", "spec", "containers"));
      return [
        nameOf(cj),
        s(spec.schedule),
        s(spec.timeZone) || "<none>",
        typeof suspend === "boolean" ? (suspend ? "True" : "False") : "<unset>",
        objects(get(cj, "status", "active")).length,
        s(last) === "" ? "<none>" : ageOf(last, now),
        age(cj, now),
        names,
        images,
        formatLabelSelector(jobSpec.selector),
      ];
    },
  },
};
