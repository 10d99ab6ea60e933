// Book 2.3: batch/v1 Job and CronJob — run-to-completion pods and their schedules.
import type { Schema } from "./types.js";
import {
  arr,
  BATCH,
  bool,
  CORE,
  int32,
  int64,
  listOf,
  loose,
  META,
  METADATA_FIELD,
  obj,
  ref,
  root,
  specField,
  statusField,
  str,
  strEnum,
} from "./dsl.js";

/** batch/v1 schemas, keyed by component name. */
export const batchSchemas: Record<string, Schema> = {
  [BATCH + "Job"]: root("batch", "v1", "Job", "Runs pods until a number of them finish successfully.", {
    metadata: METADATA_FIELD,
    spec: specField(BATCH + "JobSpec"),
    status: statusField(BATCH + "JobStatus"),
  }),
  [BATCH + "CronJob"]: root("batch", "v1", "CronJob", "Creates jobs on a repeating schedule.", {
    metadata: METADATA_FIELD,
    spec: specField(BATCH + "CronJobSpec"),
    status: statusField(BATCH + "CronJobStatus"),
  }),
  [BATCH + "JobSpec"]: obj("The desired state of a job.", {
    parallelism: int32("The most pods to run at once."),
    completions: int32("How many successful pods finish the job."),
    activeDeadlineSeconds: int64("Seconds the job may run before it is failed."),
    podFailurePolicy: ref(BATCH + "PodFailurePolicy", "Rules on how pod failures count."),
    successPolicy: ref(BATCH + "SuccessPolicy", "Rules that declare the job successful early."),
    backoffLimit: int32("Retries before the job is failed; 6 by default."),
    backoffLimitPerIndex: int32("Retries per index, for Indexed jobs."),
    maxFailedIndexes: int32("Failed indexes before the job is failed."),
    selector: ref(META + "LabelSelector", "Which pods belong to the job; normally set by the system."),
    manualSelector: bool("Let the user set selector and pod labels by hand."),
    template: ref(CORE + "PodTemplateSpec", "The template for the job's pods."),
    ttlSecondsAfterFinished: int32("Seconds after finishing before the job is deleted."),
    completionMode: strEnum("NonIndexed or Indexed.", ["Indexed", "NonIndexed"]),
    suspend: bool("Stop creating pods and delete running ones."),
    podReplacementPolicy: strEnum(
      "TerminatingOrFailed or Failed: when replacement pods are created.",
      ["Failed", "TerminatingOrFailed"],
    ),
    managedBy: str("The controller that manages the job, if not the built-in one."),
    scheduling: ref(
      BATCH + "JobSchedulingConfiguration",
      "Workload-aware scheduling settings (alpha; not modelled in detail).",
    ),
  }, { required: ["template"] }),
  [BATCH + "JobStatus"]: obj("The observed state of a job.", {
    conditions: arr(
      ref(BATCH + "JobCondition"),
      "The job's conditions, e.g. Complete or Failed.",
      { list: "atomic", merge: "type" },
    ),
    startTime: ref(META + "Time", "When the controller started the job."),
    completionTime: ref(META + "Time", "When the job completed."),
    active: int32("Pending and running pods."),
    succeeded: int32("Pods that succeeded."),
    failed: int32("Pods that failed."),
    terminating: int32("Pods that are terminating."),
    completedIndexes: str("Completed indexes, as ranges, for Indexed jobs."),
    failedIndexes: str("Failed indexes, as ranges."),
    uncountedTerminatedPods: ref(BATCH + "UncountedTerminatedPods", "Finished pods not yet counted."),
    ready: int32("Active pods that are ready."),
  }),
  [BATCH + "CronJobSpec"]: obj("The desired state of a cron job.", {
    schedule: str("The schedule, in cron format, e.g. \"*/5 * * * *\"."),
    timeZone: str("The time zone of the schedule, e.g. Etc/UTC."),
    startingDeadlineSeconds: int64("Seconds after a missed start during which the job may still start."),
    concurrencyPolicy: strEnum(
      "Allow, Forbid or Replace: what to do when a run is still going.",
      ["Allow", "Forbid", "Replace"],
    ),
    suspend: bool("Stop scheduling new runs."),
    jobTemplate: ref(BATCH + "JobTemplateSpec", "The template for the jobs."),
    successfulJobsHistoryLimit: int32("Finished successful jobs to keep."),
    failedJobsHistoryLimit: int32("Failed jobs to keep."),
  }, { required: ["schedule", "jobTemplate"] }),
  [BATCH + "CronJobStatus"]: obj("The observed state of a cron job.", {
    active: arr(ref(CORE + "ObjectReference"), "The jobs now running.", { list: "atomic" }),
    lastScheduleTime: ref(META + "Time", "When a job was last scheduled."),
    lastSuccessfulTime: ref(META + "Time", "When a job last succeeded."),
  }),
  [BATCH + "PodFailurePolicy"]: obj("Rules on how pod failures count.", {
    rules: arr(ref(BATCH + "PodFailurePolicyRule"), "The rules, checked in order.", { list: "atomic" }),
  }, { required: ["rules"] }),
  [BATCH + "SuccessPolicy"]: obj("Rules that declare an Indexed job successful.", {
    rules: arr(ref(BATCH + "SuccessPolicyRule"), "The rules; any one suffices.", { list: "atomic" }),
  }, { required: ["rules"] }),
  [BATCH + "JobSchedulingConfiguration"]: loose(
    "Workload-aware scheduling settings of a job; its fields are not modelled here.",
  ),
  [BATCH + "JobCondition"]: obj("A condition of a job.", {
    type: str("The type of the condition, e.g. Ready or Available."),
    status: str("The condition's status: True, False or Unknown."),
    lastProbeTime: ref(META + "Time", "When the condition was last checked."),
    lastTransitionTime: ref(META + "Time", "When the condition last changed from one status to another."),
    reason: str("A short CamelCase word saying why the condition last changed."),
    message: str("A human-readable explanation of the condition's last change."),
  }, { required: ["type", "status"] }),
  [BATCH + "UncountedTerminatedPods"]: obj("Finished pods the controller has not counted yet.", {
    succeeded: arr(str(), "UIDs of pods that succeeded.", { list: "set" }),
    failed: arr(str(), "UIDs of pods that failed.", { list: "set" }),
  }),
  [BATCH + "JobTemplateSpec"]: obj("A template for jobs.", {
    metadata: ref(META + "ObjectMeta", "Labels and annotations of jobs made from it."),
    spec: ref(BATCH + "JobSpec", "The spec of jobs made from it."),
  }),
  [BATCH + "PodFailurePolicyRule"]: obj("What to do with a pod failure that matches.", {
    action: strEnum("FailJob, FailIndex, Ignore or Count.", ["Count", "FailIndex", "FailJob", "Ignore"]),
    onExitCodes: ref(BATCH + "PodFailurePolicyOnExitCodesRequirement", "A requirement on container exit codes."),
    onPodConditions: arr(
      ref(BATCH + "PodFailurePolicyOnPodConditionsPattern"),
      "Requirements on pod conditions.",
      { list: "atomic" },
    ),
  }, { required: ["action"] }),
  [BATCH + "SuccessPolicyRule"]: obj("A success rule.", {
    succeededIndexes: str("Indexes that must succeed."),
    succeededCount: int32("How many of them must succeed."),
  }),
  [BATCH + "PodFailurePolicyOnExitCodesRequirement"]: obj("A requirement on container exit codes.", {
    containerName: str("The container to check; all when empty."),
    operator: strEnum("In or NotIn.", ["In", "NotIn"]),
    values: arr(int32(), "The exit codes.", { list: "set" }),
  }, { required: ["operator", "values"] }),
  [BATCH + "PodFailurePolicyOnPodConditionsPattern"]: obj("A requirement on a pod condition.", {
    type: str("The pod condition type."),
    status: str("The status it must have."),
  }, { required: ["type"] }),
  [BATCH + "JobList"]: listOf("batch", "v1", "Job", BATCH + "Job"),
  [BATCH + "CronJobList"]: listOf("batch", "v1", "CronJob", BATCH + "CronJob"),
};
