// Book 2.3 and 9.3: the pod row of `kubectl get pods` — READY counts, the STATUS a user sees
// (Init:1/2, CrashLoopBackOff, Completed, Terminating...) and RESTARTS with the last restart's age.
import type { KubeObject, TableColumn } from "../registry/types.js";
import { humanDuration, parseTime } from "./age.js";
import { get, isObj, num, obj, objects, s, type JsonObject } from "./json.js";
import { age, ageColumn, col, nameColumn, nameOf } from "./tables.js";

export const podColumns: TableColumn[] = [
  nameColumn(),
  col("Ready", "string", "How many of the pod's containers are ready to serve."),
  col("Status", "string", "The pod's overall state as users see it, from its phase and container states."),
  col("Restarts", "string", "How often the pod's containers restarted, and how long ago the last restart was."),
  ageColumn(),
  col("IP", "string", "The pod's IP address.", 1),
  col("Node", "string", "The node the pod is bound to.", 1),
  col("Nominated Node", "string", "The node the scheduler expects to run the pod after preemption.", 1),
  col("Readiness Gates", "string", "How many of the pod's readiness gates are true.", 1),
];

function isSidecar(c: JsonObject | undefined): boolean {
  return c?.restartPolicy === "Always";
}

function conditionTrue(pod: KubeObject, type: string): boolean {
  return objects(get(pod, "status", "conditions")).some(([c]) => c.type === type && c.status === "True");
}

function finishedAt(cs: JsonObject): number | undefined {
  return parseTime(get(cs, "lastState", "terminated", "finishedAt"));
}

/** The reason text for a terminated container with no reason of its own. */
function exitText(term: JsonObject, prefix: string): string {
  const signal = num(term.signal) ?? 0;
  return signal !== 0 ? `${prefix}Signal:${signal}` : `${prefix}ExitCode:${num(term.exitCode) ?? 0}`;
}

export interface PodSummary {
  ready: string;
  status: string;
  restarts: number;
  /** When the most recent counted restart happened (ms since the epoch), if known. */
  lastRestart?: number;
}

/** READY, STATUS and RESTARTS as kubectl shows them for a pod. */
export function summarizePod(pod: KubeObject): PodSummary {
  const spec = obj(pod.spec) ?? {};
  const status = obj(pod.status) ?? {};
  const phase = s(status.phase);
  let reason = s(status.reason) !== "" ? s(status.reason) : phase;
  for (const [c] of objects(status.conditions)) {
    if (c.type === "PodScheduled" && c.reason === "SchedulingGated") reason = "SchedulingGated";
  }

  const initSpecs = new Map<string, JsonObject>();
  let total = objects(spec.containers).length;
  for (const [c] of objects(spec.initContainers)) {
    initSpecs.set(s(c.name), c);
    if (isSidecar(c)) total++;
  }
  const initCount = objects(spec.initContainers).length;

  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart: number | undefined;
  let lastSidecarRestart: number | undefined;
  let ready = 0;
  let initializing = false;

  const initStatuses = objects(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i]![0];
    const count = num(cs.restartCount) ?? 0;
    restarts += count;
    const fin = finishedAt(cs);
    if (fin !== undefined && (lastRestart === undefined || fin > lastRestart)) lastRestart = fin;
    const sidecar = isSidecar(initSpecs.get(s(cs.name)));
    if (sidecar) {
      sidecarRestarts += count;
      if (fin !== undefined && (lastSidecarRestart === undefined || fin > lastSidecarRestart)) lastSidecarRestart = fin;
    }
    const terminated = obj(get(cs, "state", "terminated"));
    const waiting = obj(get(cs, "state", "waiting"));
    if (terminated && (num(terminated.exitCode) ?? 0) === 0) continue;
    if (sidecar && cs.started === true) {
      if (cs.ready === true) ready++;
      continue;
    }
    if (terminated) reason = s(terminated.reason) === "" ? exitText(terminated, "Init:") : `Init:${s(terminated.reason)}`;
    else if (waiting && s(waiting.reason) !== "" && waiting.reason !== "PodInitializing") reason = `Init:${s(waiting.reason)}`;
    else reason = `Init:${i}/${initCount}`;
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(pod, "Initialized")) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = objects(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i]![0];
      restarts += num(cs.restartCount) ?? 0;
      const fin = finishedAt(cs);
      if (fin !== undefined && (lastRestart === undefined || fin > lastRestart)) lastRestart = fin;
      const waiting = obj(get(cs, "state", "waiting"));
      const terminated = obj(get(cs, "state", "terminated"));
      if (waiting && s(waiting.reason) !== "") reason = s(waiting.reason);
      else if (terminated && s(terminated.reason) !== "") reason = s(terminated.reason);
      else if (terminated) reason = exitText(terminated, "");
      else if (cs.ready === true && isObj(get(cs, "state", "running"))) {
        hasRunning = true;
        ready++;
      }
    }
    // A finished container beside a running one: the pod as a whole still runs.
    if (reason === "Completed" && hasRunning) reason = conditionTrue(pod, "Ready") ? "Running" : "NotReady";
  }

  const deleting = s(pod.metadata?.deletionTimestamp) !== "";
  if (deleting && status.reason === "NodeLost") reason = "Unknown";
  else if (deleting && phase !== "Succeeded" && phase !== "Failed") reason = "Terminating";

  const out: PodSummary = { ready: `${ready}/${total}`, status: reason, restarts };
  if (lastRestart !== undefined) out.lastRestart = lastRestart;
  return out;
}

function restartsCell(sum: PodSummary, now: Date): string {
  if (sum.restarts !== 0 && sum.lastRestart !== undefined) return `${sum.restarts} (${humanDuration(now.getTime() - sum.lastRestart)} ago)`;
  return String(sum.restarts);
}

function orNone(v: string): string {
  return v === "" ? "<none>" : v;
}

export function podCells(pod: KubeObject, now: Date): unknown[] {
  const sum = summarizePod(pod);
  const status = obj(pod.status) ?? {};
  const firstIP = objects(status.podIPs)[0]?.[0];
  const ip = firstIP ? s(firstIP.ip) : s(status.podIP);
  const gates = objects(get(pod, "spec", "readinessGates"));
  let readinessGates = "<none>";
  if (gates.length > 0) {
    const conditions = objects(status.conditions).map(([c]) => c);
    let trueCount = 0;
    for (const [g] of gates) {
      const c = conditions.find((x) => x.type === g.conditionType);
      if (c?.status === "True") trueCount++;
    }
    readinessGates = `${trueCount}/${gates.length}`;
  }
  return [
    nameOf(pod),
    sum.ready,
    sum.status,
    restartsCell(sum, now),
    age(pod, now),
    orNone(ip),
    orNone(s(get(pod, "spec", "nodeName"))),
    orNone(s(status.nominatedNodeName)),
    readinessGates,
  ];
}
