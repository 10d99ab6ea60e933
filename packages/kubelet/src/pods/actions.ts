// Book 9.3 (pod lifecycle) and 9.4: one step of the kubelet's SyncPod, decided from the pod and what
// the runtime shows: (re)create the sandbox, run the next init container, start or restart the app
// containers the restart policy allows, kill what must go. Pure: the pod worker performs the plan.
import type { Pod } from "@corekube/api";
import { type ContainerAttempt, containerHash, latestAttempts, type PodSnapshot } from "./snapshot.js";

export interface ProbeVerdicts {
  /** Containers whose liveness (or startup) probe failed past its threshold: they are restarted. */
  unhealthy: ReadonlySet<string>;
}

export interface PodActions {
  /** Kill every container and the sandbox first (a new sandbox is needed, or nothing may run). */
  killPod: boolean;
  createSandbox: boolean;
  /** The next init container to start, if the init phase is not done. */
  nextInit?: string;
  /** App containers to start now, in spec order. */
  start: string[];
  /** Containers to stop now (by attempt id), with why. */
  kill: { id: string; name: string; reason: string }[];
  /** Containers that would start but are backing off: how long until each may. */
  backingOff: { name: string; waitMs: number; message: string }[];
  /** The init phase failed for good (restartPolicy Never): the pod is Failed. */
  initFailed?: string;
}

type RestartPolicy = "Always" | "OnFailure" | "Never";

/** Whether a container that exited this way runs again under the policy. */
export function shouldRestart(policy: RestartPolicy, exited: ContainerAttempt): boolean {
  if (policy === "Always") return true;
  if (policy === "OnFailure") return (exited.exitCode ?? 1) !== 0;
  return false;
}

/**
 * The plan for one sync. `backoffMs(name)` says how long container `name` must still wait before
 * it may start again (0 when it may now); the caller keeps the CrashLoopBackOff state.
 */
export function computePodActions(pod: Pod, s: PodSnapshot, probes: ProbeVerdicts, backoffMs: (name: string) => number): PodActions {
  const policy = (pod.spec.restartPolicy ?? "Always") as RestartPolicy;
  const latest = latestAttempts(s);
  const sandbox = s.sandboxes[0];
  const plan: PodActions = { killPod: false, createSandbox: false, start: [], kill: [], backingOff: [] };
  const inits = pod.spec.initContainers ?? [];
  const apps = pod.spec.containers;

  // A pod being deleted gets nothing new; the worker stops it.
  if (pod.metadata.deletionTimestamp) {
    plan.killPod = s.sandboxes.length > 0 || s.containers.some((c) => c.state === "running" || c.state === "created");
    return plan;
  }

  const initsDone = inits.every((c) => latest.get(c.name)?.state === "exited" && latest.get(c.name)?.exitCode === 0);
  const anyAppRan = apps.some((c) => latest.has(c.name));
  const allAppsFinishedForGood = apps.every((c) => {
    const l = latest.get(c.name);
    return l?.state === "exited" && !shouldRestart(policy, l);
  });

  // Sandbox: missing or not ready means a new one, unless nothing would ever run in it again.
  if (!sandbox || !sandbox.ready) {
    if (anyAppRan && allAppsFinishedForGood) {
      plan.killPod = Boolean(sandbox);
      return plan;
    }
    plan.killPod = s.sandboxes.length > 0 || s.containers.some((c) => c.state === "running");
    plan.createSandbox = true;
    // With a new sandbox, init containers run again from the first; app containers after them.
    if (inits.length > 0) plan.nextInit = inits[0]!.name;
    else for (const c of apps) if (mayStart(c.name, policy, latest.get(c.name), backoffMs, plan)) plan.start.push(c.name);
    return plan;
  }

  // Init containers, one at a time, each to success.
  if (!initsDone) {
    for (const c of inits) {
      const l = latest.get(c.name);
      if (!l) {
        plan.nextInit = c.name;
        break;
      }
      if (l.state === "running" || l.state === "created") break; // wait for it
      if (l.exitCode === 0) continue;
      // Failed: Never fails the pod; otherwise it is retried after its backoff.
      if (policy === "Never") {
        plan.initFailed = c.name;
        plan.killPod = true;
      } else if (mayStart(c.name, "OnFailure", l, backoffMs, plan)) plan.nextInit = c.name;
      break;
    }
    return plan;
  }

  // App containers.
  let keepRunning = 0;
  for (const c of apps) {
    const l = latest.get(c.name);
    if (l && (l.state === "running" || l.state === "created")) {
      if (l.hash !== containerHash(c)) {
        plan.kill.push({ id: l.id, name: c.name, reason: `Container ${c.name} definition changed, will be restarted` });
        if (mayStart(c.name, "Always", undefined, backoffMs, plan)) plan.start.push(c.name);
      } else if (probes.unhealthy.has(c.name)) {
        plan.kill.push({ id: l.id, name: c.name, reason: `Container ${c.name} failed liveness probe, will be restarted` });
        if (policy !== "Never") keepRunning++;
      } else keepRunning++;
      continue;
    }
    if (mayStart(c.name, policy, l, backoffMs, plan)) {
      plan.start.push(c.name);
      keepRunning++;
    } else if (l && shouldRestart(policy, l)) keepRunning++; // backing off, still part of the pod
  }
  if (keepRunning === 0 && plan.start.length === 0) plan.killPod = true;
  return plan;
}

/** Whether `name` may start now; records a backoff wait when it would but must wait. */
function mayStart(name: string, policy: RestartPolicy, last: ContainerAttempt | undefined, backoffMs: (n: string) => number, plan: PodActions): boolean {
  if (last && last.state === "exited" && !shouldRestart(policy, last)) return false;
  if (!last) return true;
  const wait = backoffMs(name);
  if (wait > 0) {
    plan.backingOff.push({ name, waitMs: wait, message: `back-off ${Math.ceil(wait / 1000)}s restarting failed container=${name}` });
    return false;
  }
  return true;
}
