// Book 9.3 (pod lifecycle): the pod status the kubelet reports through pods/status: phase, conditions
// and one containerStatus per container, computed from what the runtime shows. Pure.
import { type Pod, type PodCondition, rfc3339 } from "@corekube/api";
import { type ContainerAttempt, latestAttempts, type PodSnapshot, previousAttempt } from "./snapshot.js";
import { shouldRestart } from "./actions.js";

export interface StatusInputs {
  snapshot: PodSnapshot;
  /** Running containers whose readiness (and startup) probes pass, or that have none. */
  ready: ReadonlySet<string>;
  /** Running containers whose startup probe has passed (or that have none). */
  started: ReadonlySet<string>;
  /** Why a container is not running yet, when the worker knows (ErrImagePull, CreateContainerError...). */
  waiting: ReadonlyMap<string, { reason: string; message?: string }>;
  hostIP: string;
  /** When the kubelet first saw the pod (status.startTime). */
  startTime: Date;
  now: Date;
  /** The init phase failed under restartPolicy Never. */
  initFailed?: boolean;
}

type ContainerStatus = Record<string, unknown>;

const runtimeId = (id: string) => `corekube://${id}`;

function terminated(a: ContainerAttempt): Record<string, unknown> {
  return {
    terminated: {
      exitCode: a.exitCode ?? 0,
      reason: a.reason ?? ((a.exitCode ?? 0) === 0 ? "Completed" : "Error"),
      ...(a.message ? { message: a.message } : {}),
      startedAt: a.startedAt ?? null,
      finishedAt: a.finishedAt ?? null,
      containerID: runtimeId(a.id),
    },
  };
}

function containerStatus(
  spec: { name: string; image?: string },
  a: ContainerAttempt | undefined,
  prev: ContainerAttempt | undefined,
  inputs: StatusInputs,
  defaultWaiting: string,
): ContainerStatus {
  let state: Record<string, unknown>;
  const waiting = inputs.waiting.get(spec.name);
  if (a?.state === "running") state = { running: { startedAt: a.startedAt ?? rfc3339(inputs.now) } };
  else if (waiting) state = { waiting: { reason: waiting.reason, ...(waiting.message ? { message: waiting.message } : {}) } };
  else if (a?.state === "exited") state = terminated(a);
  else state = { waiting: { reason: defaultWaiting } };
  // After a restart is planned the newest attempt is the exited one; it is lastState once a new one exists.
  const last = state.waiting && a?.state === "exited" ? a : prev;
  return {
    name: spec.name,
    state,
    lastState: last?.state === "exited" ? terminated(last) : {},
    ready: a?.state === "running" && inputs.ready.has(spec.name),
    restartCount: a ? a.attempt : 0,
    image: spec.image ?? "",
    imageID: a?.imageID ?? "",
    ...(a ? { containerID: runtimeId(a.id) } : {}),
    started: a?.state === "running" && inputs.started.has(spec.name),
  };
}

/** Upstream's phase rules over the app containers' states. */
export function podPhase(pod: Pod, s: PodSnapshot, initsDone: boolean, initFailed: boolean): "Pending" | "Running" | "Succeeded" | "Failed" {
  if (initFailed) return "Failed";
  if (!initsDone) return "Pending";
  const policy = pod.spec.restartPolicy ?? "Always";
  const latest = latestAttempts(s);
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of pod.spec.containers) {
    const a = latest.get(c.name);
    if (!a || a.state === "created" || a.state === "unknown") waiting++;
    else if (a.state === "running") running++;
    else {
      stopped++;
      if ((a.exitCode ?? 1) === 0) succeeded++;
    }
  }
  if (waiting > 0) return running > 0 || stopped > 0 ? "Running" : "Pending";
  if (running > 0) return "Running";
  if (stopped === 0) return "Pending";
  if (policy === "Always") return "Running";
  if (stopped === succeeded) return "Succeeded";
  if (policy === "OnFailure") return "Running";
  return "Failed";
}

/** The whole status to write (the caller keeps fields it owns elsewhere, like nominatedNodeName). */
export function podStatus(pod: Pod, inputs: StatusInputs): NonNullable<Pod["status"]> {
  const s = inputs.snapshot;
  const latest = latestAttempts(s);
  const inits = pod.spec.initContainers ?? [];
  const initsDone = inits.every((c) => latest.get(c.name)?.state === "exited" && latest.get(c.name)?.exitCode === 0);
  const phase = podPhase(pod, s, initsDone, inputs.initFailed ?? false);
  const sandbox = s.sandboxes[0];
  const now = rfc3339(inputs.now);
  const old = pod.status?.conditions ?? [];
  const cond = (type: string, ok: boolean, reason?: string): PodCondition => {
    const status = ok ? "True" : "False";
    const prev = old.find((c) => c.type === type);
    return {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now,
      ...(ok || !reason ? {} : { reason }),
    } as PodCondition;
  };
  const appStatuses = pod.spec.containers.map((c) => containerStatus(c, latest.get(c.name), previousAttempt(s, c.name), inputs, initsDone ? "ContainerCreating" : "PodInitializing"));
  const initStatuses = inits.map((c) => {
    const st = containerStatus(c, latest.get(c.name), previousAttempt(s, c.name), inputs, "PodInitializing");
    const a = latest.get(c.name);
    // A finished init container is "ready" in the API's sense.
    return { ...st, ready: a?.state === "exited" && a.exitCode === 0 };
  });
  const finished = phase === "Succeeded" || phase === "Failed";
  const allReady = !finished && appStatuses.every((c) => c.ready === true);
  const notReadyNames = appStatuses.filter((c) => c.ready !== true).map((c) => c.name as string);
  const conditions: PodCondition[] = [
    cond("PodReadyToStartContainers", Boolean(sandbox?.ready)),
    cond("Initialized", initsDone, "ContainersNotInitialized"),
    cond("Ready", allReady, finished ? "PodCompleted" : "ContainersNotReady"),
    cond("ContainersReady", allReady, finished ? "PodCompleted" : "ContainersNotReady"),
    ...old.filter((c) => c.type === "PodScheduled"),
  ];
  for (const c of conditions) {
    if (c.status === "False" && (c.type === "Ready" || c.type === "ContainersReady") && !finished) {
      (c as { message?: string }).message = `containers with unready status: [${notReadyNames.join(" ")}]`;
    }
  }
  const status: NonNullable<Pod["status"]> = {
    ...(pod.status ?? {}),
    phase,
    conditions,
    hostIP: inputs.hostIP,
    hostIPs: [{ ip: inputs.hostIP }],
    startTime: pod.status?.startTime ?? rfc3339(inputs.startTime),
    containerStatuses: appStatuses as never,
    ...(inits.length > 0 ? { initContainerStatuses: initStatuses as never } : {}),
  };
  const ip = pod.spec.hostNetwork ? inputs.hostIP : sandbox?.ip;
  if (ip) {
    status.podIP = ip;
    status.podIPs = [{ ip }];
  }
  return status;
}

/** Whether a pod in this phase is done: the worker stops it and never starts anything again. */
export const isTerminalPhase = (phase: string | undefined) => phase === "Succeeded" || phase === "Failed";

export { shouldRestart };
