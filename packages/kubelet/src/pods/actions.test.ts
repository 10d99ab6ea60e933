// Book 9.3 and 9.4: SyncPod's decisions: a sandbox first, init containers one by one, restart
// policies, CrashLoopBackOff, liveness failures and changed specs.
import type { Pod } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { computePodActions } from "./actions.js";
import { type ContainerAttempt, containerHash, type PodSnapshot, type SandboxAttempt } from "./snapshot.js";
import { podPhase, podStatus } from "./status.js";

const web = { name: "web", image: "busybox" };
const side = { name: "side", image: "busybox" };
const init = { name: "init", image: "busybox" };
const pod = (o: Partial<Pod["spec"]> = {}): Pod => ({ metadata: { name: "p", namespace: "default", uid: "u" }, spec: { containers: [web], ...o } });
const sandbox = (ready = true): SandboxAttempt => ({ id: "sb1", attempt: 0, ready, ip: "10.244.0.5", createdAt: "2026-01-01T00:00:00Z" });
const attempt = (c: { name: string; image: string }, o: Partial<ContainerAttempt> = {}): ContainerAttempt => ({
  id: `${c.name}-${o.attempt ?? 0}`,
  name: c.name,
  attempt: 0,
  state: "running",
  hash: containerHash(c),
  image: c.image,
  startedAt: "2026-01-01T00:00:01Z",
  ...o,
});
const snap = (sb: SandboxAttempt[], cs: ContainerAttempt[]): PodSnapshot => ({ sandboxes: sb, containers: cs });
const healthy = { unhealthy: new Set<string>() };
const now = () => 0;

describe("computePodActions", () => {
  it("creates the sandbox first, then init containers one at a time, then every app container", () => {
    const p = pod({ initContainers: [init, { ...init, name: "init2" }], containers: [web, side] });
    expect(computePodActions(p, snap([], []), healthy, now)).toMatchObject({ createSandbox: true, nextInit: "init", start: [] });
    const waiting = computePodActions(p, snap([sandbox()], [attempt(init)]), healthy, now);
    expect(waiting).toMatchObject({ createSandbox: false, start: [] });
    expect(waiting.nextInit).toBeUndefined(); // the running init container is waited for
    const initDone = attempt(init, { state: "exited", exitCode: 0 });
    expect(computePodActions(p, snap([sandbox()], [initDone]), healthy, now).nextInit).toBe("init2");
    const both = [initDone, attempt({ ...init, name: "init2" }, { state: "exited", exitCode: 0 })];
    expect(computePodActions(p, snap([sandbox()], both), healthy, now).start).toEqual(["web", "side"]);
  });

  it("follows the restart policy for exited containers, and ends the pod when nothing will run again", () => {
    const ok = attempt(web, { state: "exited", exitCode: 0 });
    const failed = attempt(web, { state: "exited", exitCode: 2 });
    expect(computePodActions(pod({ restartPolicy: "Always" }), snap([sandbox()], [ok]), healthy, now).start).toEqual(["web"]);
    expect(computePodActions(pod({ restartPolicy: "OnFailure" }), snap([sandbox()], [ok]), healthy, now)).toMatchObject({ start: [], killPod: true });
    expect(computePodActions(pod({ restartPolicy: "OnFailure" }), snap([sandbox()], [failed]), healthy, now).start).toEqual(["web"]);
    expect(computePodActions(pod({ restartPolicy: "Never" }), snap([sandbox()], [failed]), healthy, now)).toMatchObject({ start: [], killPod: true });
  });

  it("waits out CrashLoopBackOff instead of restarting at once", () => {
    const failed = attempt(web, { state: "exited", exitCode: 1, attempt: 3 });
    const plan = computePodActions(pod(), snap([sandbox()], [failed]), healthy, () => 40_000);
    expect(plan.start).toEqual([]);
    expect(plan.killPod).toBe(false);
    expect(plan.backingOff).toEqual([{ name: "web", waitMs: 40_000, message: "back-off 40s restarting failed container=web" }]);
  });

  it("restarts a container whose liveness probe failed or whose spec changed", () => {
    const running = attempt(web);
    expect(computePodActions(pod(), snap([sandbox()], [running]), { unhealthy: new Set(["web"]) }, now).kill).toEqual([
      { id: "web-0", name: "web", reason: "Container web failed liveness probe, will be restarted" },
    ]);
    const changed = computePodActions(pod({ containers: [{ ...web, image: "busybox:2" }] }), snap([sandbox()], [running]), healthy, now);
    expect(changed.kill.map((k) => k.name)).toEqual(["web"]);
    expect(changed.start).toEqual(["web"]);
    // Resources and probes are not part of the hash: changing them does not restart.
    const probed = { ...web, readinessProbe: { exec: { command: ["true"] } } };
    expect(computePodActions(pod({ containers: [probed] }), snap([sandbox()], [running]), healthy, now).kill).toEqual([]);
  });

  it("fails the pod when an init container fails under restartPolicy Never", () => {
    const p = pod({ restartPolicy: "Never", initContainers: [init] });
    const plan = computePodActions(p, snap([sandbox()], [attempt(init, { state: "exited", exitCode: 1 })]), healthy, now);
    expect(plan).toMatchObject({ initFailed: "init", killPod: true });
  });

  it("replaces a sandbox that died, and leaves a finished pod's sandbox gone", () => {
    expect(computePodActions(pod(), snap([sandbox(false)], [attempt(web, { state: "exited", exitCode: 137 })]), healthy, now)).toMatchObject({ killPod: true, createSandbox: true });
    const done = snap([sandbox(false)], [attempt(web, { state: "exited", exitCode: 0 })]);
    expect(computePodActions(pod({ restartPolicy: "Never" }), done, healthy, now)).toMatchObject({ createSandbox: false, start: [] });
  });

  it("stops everything for a pod being deleted", () => {
    const p = { ...pod(), metadata: { ...pod().metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } };
    expect(computePodActions(p, snap([sandbox()], [attempt(web)]), healthy, now)).toMatchObject({ killPod: true, start: [] });
  });
});

describe("podStatus", () => {
  const inputs = (s: PodSnapshot, o: Partial<Parameters<typeof podStatus>[1]> = {}) => ({
    snapshot: s,
    ready: new Set<string>(),
    started: new Set<string>(),
    waiting: new Map(),
    hostIP: "192.0.2.2",
    startTime: new Date("2026-01-01T00:00:00Z"),
    now: new Date("2026-01-01T00:00:05Z"),
    ...o,
  });

  it("reports phases as upstream: Pending, Running, Succeeded, Failed", () => {
    expect(podPhase(pod(), snap([sandbox()], []), true, false)).toBe("Pending");
    expect(podPhase(pod(), snap([sandbox()], [attempt(web)]), true, false)).toBe("Running");
    expect(podPhase(pod({ restartPolicy: "Never" }), snap([sandbox()], [attempt(web, { state: "exited", exitCode: 0 })]), true, false)).toBe("Succeeded");
    expect(podPhase(pod({ restartPolicy: "Never" }), snap([sandbox()], [attempt(web, { state: "exited", exitCode: 1 })]), true, false)).toBe("Failed");
    expect(podPhase(pod({ restartPolicy: "Always" }), snap([sandbox()], [attempt(web, { state: "exited", exitCode: 1 })]), true, false)).toBe("Running");
    expect(podPhase(pod(), snap([sandbox()], []), false, false)).toBe("Pending");
  });

  it("fills container statuses, readiness conditions, IPs and lastState after a restart", () => {
    const s = snap([sandbox()], [attempt(web, { attempt: 1, id: "web-1" }), attempt(web, { attempt: 0, id: "web-0", state: "exited", exitCode: 137, reason: "OOMKilled" })]);
    const st = podStatus(pod(), inputs(s, { ready: new Set(["web"]), started: new Set(["web"]) }));
    expect(st.phase).toBe("Running");
    expect(st.podIP).toBe("10.244.0.5");
    expect(st.conditions!.find((c) => c.type === "Ready")!.status).toBe("True");
    const cs = (st.containerStatuses as unknown as Record<string, unknown>[])[0]!;
    expect(cs).toMatchObject({ name: "web", ready: true, restartCount: 1, containerID: "corekube://web-1", started: true });
    expect(cs.lastState).toMatchObject({ terminated: { exitCode: 137, reason: "OOMKilled" } });
  });

  it("shows a waiting reason from the worker (CrashLoopBackOff, ErrImagePull) and ContainersNotReady", () => {
    const s = snap([sandbox()], [attempt(web, { state: "exited", exitCode: 1 })]);
    const st = podStatus(pod(), inputs(s, { waiting: new Map([["web", { reason: "CrashLoopBackOff", message: "back-off 10s restarting failed container=web" }]]) }));
    const cs = (st.containerStatuses as unknown as Record<string, unknown>[])[0]!;
    expect(cs.state).toEqual({ waiting: { reason: "CrashLoopBackOff", message: "back-off 10s restarting failed container=web" } });
    expect(cs.lastState).toMatchObject({ terminated: { exitCode: 1, reason: "Error" } });
    const ready = st.conditions!.find((c) => c.type === "Ready")!;
    expect(ready).toMatchObject({ status: "False", reason: "ContainersNotReady", message: "containers with unready status: [web]" });
  });
});
