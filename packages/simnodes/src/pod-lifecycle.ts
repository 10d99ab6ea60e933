// Book 2.3.2 and 9.3: the simulated kubelet's pod state machine — when a bound pod starts, finishes,
// restarts or has its deletion confirmed, and the pod status a kubelet would report at each step.
// Pure code: times come in as numbers, nothing is sent anywhere.
import { type ContainerStatus, type Pod, type PodCondition, type PodStatus, rfc3339 } from "@corekube/api";
import { parseGoDuration } from "./duration.js";

/** How long a pod's containers run before they exit, e.g. "5s" (Go duration). */
export const RUN_DURATION_ANNOTATION = "sim.corekube.io/run-duration";
/** "failure" makes the containers exit with code 1 instead of 0. */
export const RESULT_ANNOTATION = "sim.corekube.io/result";

export interface PodTiming {
  /** From first seeing a bound pod to reporting it Running. */
  startDelayMs: number;
  /** How long containers run when the pod has no run-duration annotation. */
  completeAfterMs: number;
  /** Cap on the grace period before a deleted pod's removal is confirmed. */
  maxGraceMs: number;
}

/** What the simulated kubelet remembers about a pod between events (nothing survives a restart). */
export interface PodMemory {
  /** When it first saw the pod bound to one of its nodes. */
  firstSeenMs: number;
  /** When it last reported the containers (re)started. */
  runningSinceMs?: number;
  /** When it first saw the pod's deletionTimestamp. */
  deletingSinceMs?: number;
}

export type PodAction = "start" | "succeed" | "fail" | "restart" | "delete";

export interface PodStep {
  action: PodAction;
  /** When it is due (epoch ms). */
  atMs: number;
}

export const isFinished = (pod: Pod): boolean => pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";

export function wantsFailure(pod: Pod): boolean {
  return pod.metadata.annotations?.[RESULT_ANNOTATION] === "failure";
}

/**
 * How long the pod's containers run: the run-duration annotation, else `fallbackMs`. A value that
 * does not parse falls back too, and comes back as `error` so the caller can report it.
 */
export function runDurationMs(pod: Pod, fallbackMs: number): { ms: number; error?: string } {
  const raw = pod.metadata.annotations?.[RUN_DURATION_ANNOTATION];
  if (raw === undefined) return { ms: fallbackMs };
  try {
    return { ms: parseGoDuration(raw) };
  } catch (e) {
    return { ms: fallbackMs, error: `${RUN_DURATION_ANNOTATION}: ${(e as Error).message}` };
  }
}

function parseTime(t: unknown): number | undefined {
  if (typeof t !== "string") return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** When the running containers started: what we remember, else what the status says (after a restart of ours). */
export function runningSince(pod: Pod, mem: PodMemory): number {
  if (mem.runningSinceMs !== undefined) return mem.runningSinceMs;
  for (const cs of pod.status?.containerStatuses ?? []) {
    const at = parseTime((cs.state?.running as { startedAt?: string } | undefined)?.startedAt);
    if (at !== undefined) return at;
  }
  return parseTime(pod.status?.startTime) ?? mem.firstSeenMs;
}

/**
 * The next thing to do for a pod bound to one of our nodes, or undefined when nothing will happen
 * until the pod changes:
 * - being deleted: confirm the deletion once min(grace period, maxGraceMs) has passed since it was
 *   first seen (a pod being deleted is never started);
 * - finished (Succeeded/Failed): nothing;
 * - not yet Running: start after startDelayMs;
 * - Running with restartPolicy Never: succeed, or fail with the failure annotation, after the run
 *   duration;
 * - OnFailure: succeed after the run duration, or with the failure annotation restart (the count
 *   goes up, the pod stays Running);
 * - Always: keep running, unless the pod asks for a run duration or failure, in which case the
 *   containers exit and are restarted every run duration, as a real kubelet restarts them.
 */
export function nextStep(pod: Pod, mem: PodMemory, timing: PodTiming): PodStep | undefined {
  if (pod.metadata.deletionTimestamp) {
    const graceMs = Math.max(0, (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000);
    return { action: "delete", atMs: (mem.deletingSinceMs ?? mem.firstSeenMs) + Math.min(graceMs, timing.maxGraceMs) };
  }
  if (isFinished(pod)) return undefined;
  if (pod.status?.phase !== "Running") return { action: "start", atMs: mem.firstSeenMs + timing.startDelayMs };
  const policy = pod.spec.restartPolicy ?? "Always";
  const failure = wantsFailure(pod);
  if (policy === "Always" && !failure && pod.metadata.annotations?.[RUN_DURATION_ANNOTATION] === undefined) return undefined;
  const at = runningSince(pod, mem) + runDurationMs(pod, timing.completeAfterMs).ms;
  if (policy === "Never") return { action: failure ? "fail" : "succeed", atMs: at };
  if (policy === "OnFailure") return { action: failure ? "restart" : "succeed", atMs: at };
  return { action: "restart", atMs: at };
}

export interface StartInfo {
  hostIP: string;
  /** The pod's own address; the node's for hostNetwork pods. */
  podIP: string;
  nowMs: number;
}

/** Containers of a pod keyed by name, in spec order, with their previous statuses. */
function previous(statuses: ContainerStatus[] | undefined): Map<string, ContainerStatus> {
  return new Map((statuses ?? []).map((s) => [s.name, s]));
}

export const imageID = (image: string | undefined): string => `simulated://${image ?? ""}`;
export const containerID = (pod: Pod, name: string): string => `simulated://${pod.metadata.uid ?? ""}-${name}`;

function condition(pod: Pod, type: string, status: "True" | "False", now: string, reason?: string, message?: string): PodCondition {
  const before = pod.status?.conditions?.find((c) => c.type === type);
  const since = before && before.status === status && before.lastTransitionTime ? before.lastTransitionTime : now;
  const c: PodCondition = { type, status, lastProbeTime: null, lastTransitionTime: since };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

function runningContainer(pod: Pod, c: { name: string; image?: string }, startedAt: string, restartCount: number, lastState?: Record<string, unknown>): ContainerStatus {
  return {
    name: c.name,
    ready: true,
    started: true,
    restartCount,
    image: c.image ?? "",
    imageID: imageID(c.image),
    containerID: containerID(pod, c.name),
    state: { running: { startedAt } },
    lastState: lastState ?? {},
  };
}

function terminated(exitCode: number, reason: string, startedAt: string, finishedAt: string, id: string): Record<string, unknown> {
  return { terminated: { exitCode, reason, startedAt, finishedAt, containerID: id } };
}

/** The status a kubelet reports once a pod's sandbox and containers are up: Running and Ready. */
export function runningStatus(pod: Pod, info: StartInfo): PodStatus {
  const now = rfc3339(new Date(info.nowMs));
  const started = pod.status?.startTime ?? now;
  const initStatuses = (pod.spec.initContainers ?? []).map((c): ContainerStatus => {
    // A sidecar (an init container that always restarts) keeps running beside the app containers.
    if (c.restartPolicy === "Always") return runningContainer(pod, c, now, 0);
    return {
      name: c.name,
      ready: true,
      started: false,
      restartCount: 0,
      image: c.image ?? "",
      imageID: imageID(c.image),
      containerID: containerID(pod, c.name),
      state: terminated(0, "Completed", now, now, containerID(pod, c.name)),
      lastState: {},
    };
  });
  const status: PodStatus = {
    ...pod.status,
    phase: "Running",
    conditions: [
      condition(pod, "PodReadyToStartContainers", "True", now),
      condition(pod, "Initialized", "True", now),
      condition(pod, "Ready", "True", now),
      condition(pod, "ContainersReady", "True", now),
      condition(pod, "PodScheduled", "True", now),
    ],
    hostIP: info.hostIP,
    hostIPs: [{ ip: info.hostIP }],
    podIP: info.podIP,
    podIPs: [{ ip: info.podIP }],
    startTime: started,
    containerStatuses: pod.spec.containers.map((c) => runningContainer(pod, c, now, 0)),
  };
  if (initStatuses.length > 0) status.initContainerStatuses = initStatuses;
  else delete status.initContainerStatuses;
  return status;
}

/** The status once every container has exited: Succeeded (exit 0, Completed) or Failed (exit 1, Error). */
export function finishedStatus(pod: Pod, result: "success" | "failure", nowMs: number): PodStatus {
  const now = rfc3339(new Date(nowMs));
  const old = previous(pod.status?.containerStatuses);
  const [exitCode, reason] = result === "success" ? [0, "Completed"] : [1, "Error"];
  const containerStatuses = pod.spec.containers.map((c): ContainerStatus => {
    const before = old.get(c.name);
    const startedAt = (before?.state?.running as { startedAt?: string } | undefined)?.startedAt ?? pod.status?.startTime ?? now;
    return {
      name: c.name,
      ready: false,
      started: false,
      restartCount: before?.restartCount ?? 0,
      image: c.image ?? "",
      imageID: imageID(c.image),
      containerID: containerID(pod, c.name),
      state: terminated(exitCode, reason, startedAt, now, containerID(pod, c.name)),
      lastState: before?.lastState ?? {},
    };
  });
  const names = pod.spec.containers.map((c) => c.name).join(" ");
  const [readyReason, readyMessage] = result === "success" ? ["PodCompleted", undefined] : ["ContainersNotReady", `containers with unready status: [${names}]`];
  // Sidecars are stopped once the app containers are done.
  const initContainerStatuses = pod.status?.initContainerStatuses?.map((s): ContainerStatus => {
    const startedAt = (s.state?.running as { startedAt?: string } | undefined)?.startedAt;
    if (!startedAt) return s;
    return { ...s, ready: false, started: false, state: terminated(0, "Completed", startedAt, now, s.containerID ?? "") };
  });
  return {
    ...pod.status,
    phase: result === "success" ? "Succeeded" : "Failed",
    conditions: [
      condition(pod, "PodReadyToStartContainers", "False", now),
      condition(pod, "Initialized", "True", now, result === "success" ? "PodCompleted" : undefined),
      condition(pod, "Ready", "False", now, readyReason, readyMessage),
      condition(pod, "ContainersReady", "False", now, readyReason, readyMessage),
      condition(pod, "PodScheduled", "True", now),
    ],
    containerStatuses,
    ...(initContainerStatuses ? { initContainerStatuses } : {}),
  };
}

/**
 * The status after the containers exited and were started again: restartCount + 1, the exit in
 * lastState (code 1 "Error" for the failure annotation, else 0 "Completed"), the pod still Running.
 */
export function restartedStatus(pod: Pod, nowMs: number): PodStatus {
  const now = rfc3339(new Date(nowMs));
  const old = previous(pod.status?.containerStatuses);
  const [exitCode, reason] = wantsFailure(pod) ? [1, "Error"] : [0, "Completed"];
  return {
    ...pod.status,
    phase: "Running",
    containerStatuses: pod.spec.containers.map((c) => {
      const before = old.get(c.name);
      const startedAt = (before?.state?.running as { startedAt?: string } | undefined)?.startedAt ?? now;
      return runningContainer(pod, c, now, (before?.restartCount ?? 0) + 1, terminated(exitCode, reason, startedAt, now, containerID(pod, c.name)));
    }),
  };
}
