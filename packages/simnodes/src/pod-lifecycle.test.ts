// Book 2.3.2 and 9.3: the simulated kubelet's pod state machine, without an API server.
import type { Pod } from "@corekube/api";
import { describe, expect, it } from "vitest";
import {
  RESULT_ANNOTATION,
  RUN_DURATION_ANNOTATION,
  finishedStatus,
  nextStep,
  restartedStatus,
  runDurationMs,
  runningStatus,
} from "./pod-lifecycle.js";

const timing = { startDelayMs: 200, completeAfterMs: 1000, maxGraceMs: 1000 };
const T0 = Date.parse("2025-01-01T00:00:00Z");

function pod(over: { restartPolicy?: "Always" | "OnFailure" | "Never"; annotations?: Record<string, string>; phase?: "Pending" | "Running" } = {}): Pod {
  return {
    metadata: { name: "p", namespace: "default", uid: "u1", resourceVersion: "5", annotations: over.annotations },
    spec: {
      nodeName: "sim-0",
      restartPolicy: over.restartPolicy ?? "Always",
      initContainers: [{ name: "init", image: "busybox" }],
      containers: [
        { name: "app", image: "nginx:1.27" },
        { name: "side", image: "envoy" },
      ],
    },
    status: {
      phase: over.phase ?? "Pending",
      qosClass: "BestEffort",
      conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: "2024-12-31T23:59:59Z" }],
    },
  };
}

const running = (p: Pod, nowMs = T0 + 200): Pod => ({ ...p, status: runningStatus(p, { hostIP: "172.16.0.1", podIP: "10.244.0.2", nowMs }) });

describe("nextStep", () => {
  it("starts a bound pod startDelayMs after it was first seen", () => {
    expect(nextStep(pod(), { firstSeenMs: T0 }, timing)).toEqual({ action: "start", atMs: T0 + 200 });
  });

  it("leaves a running restartPolicy Always pod alone", () => {
    expect(nextStep(running(pod()), { firstSeenMs: T0, runningSinceMs: T0 + 200 }, timing)).toBeUndefined();
  });

  it("completes Never pods after completeAfterMs, or the run-duration annotation", () => {
    const mem = { firstSeenMs: T0, runningSinceMs: T0 + 200 };
    expect(nextStep(running(pod({ restartPolicy: "Never" })), mem, timing)).toEqual({ action: "succeed", atMs: T0 + 1200 });
    const p = running(pod({ restartPolicy: "Never", annotations: { [RUN_DURATION_ANNOTATION]: "1.5s", [RESULT_ANNOTATION]: "failure" } }));
    expect(nextStep(p, mem, timing)).toEqual({ action: "fail", atMs: T0 + 1700 });
  });

  it("restarts failing OnFailure pods instead of failing them, and completes succeeding ones", () => {
    const mem = { firstSeenMs: T0, runningSinceMs: T0 + 200 };
    expect(nextStep(running(pod({ restartPolicy: "OnFailure", annotations: { [RESULT_ANNOTATION]: "failure" } })), mem, timing)?.action).toBe("restart");
    expect(nextStep(running(pod({ restartPolicy: "OnFailure" })), mem, timing)?.action).toBe("succeed");
  });

  it("restarts Always pods that ask for a run duration (a container that exits is started again)", () => {
    const p = running(pod({ annotations: { [RUN_DURATION_ANNOTATION]: "2m" } }));
    expect(nextStep(p, { firstSeenMs: T0, runningSinceMs: T0 + 200 }, timing)).toEqual({ action: "restart", atMs: T0 + 200 + 120_000 });
  });

  it("does nothing for a finished pod", () => {
    const p = running(pod({ restartPolicy: "Never" }));
    const done = { ...p, status: finishedStatus(p, "success", T0 + 2000) };
    expect(nextStep(done, { firstSeenMs: T0 }, timing)).toBeUndefined();
  });

  it("confirms a deletion after min(grace, maxGraceMs), and never starts a pod being deleted", () => {
    const p = pod();
    p.metadata.deletionTimestamp = "2025-01-01T00:00:30Z";
    p.metadata.deletionGracePeriodSeconds = 30;
    expect(nextStep(p, { firstSeenMs: T0, deletingSinceMs: T0 + 50 }, timing)).toEqual({ action: "delete", atMs: T0 + 1050 });
    p.metadata.deletionGracePeriodSeconds = 0;
    expect(nextStep(p, { firstSeenMs: T0, deletingSinceMs: T0 + 50 }, timing)).toEqual({ action: "delete", atMs: T0 + 50 });
  });

  it("after a restart of the simulator, times a running pod from its containers' startedAt", () => {
    const p = running(pod({ restartPolicy: "Never" }), T0);
    expect(nextStep(p, { firstSeenMs: T0 + 60_000 }, timing)).toEqual({ action: "succeed", atMs: T0 + 1000 });
  });
});

describe("runDurationMs", () => {
  it("parses Go durations and falls back (with an error) on junk", () => {
    expect(runDurationMs(pod({ annotations: { [RUN_DURATION_ANNOTATION]: "250ms" } }), 1000)).toEqual({ ms: 250 });
    expect(runDurationMs(pod(), 1000)).toEqual({ ms: 1000 });
    const bad = runDurationMs(pod({ annotations: { [RUN_DURATION_ANNOTATION]: "soon" } }), 1000);
    expect(bad.ms).toBe(1000);
    expect(bad.error).toMatch(/invalid duration "soon"/);
  });
});

describe("pod statuses", () => {
  it("reports a started pod Running and Ready with addresses, container and init container statuses", () => {
    const s = runningStatus(pod(), { hostIP: "172.16.0.1", podIP: "10.244.0.2", nowMs: T0 });
    expect(s.phase).toBe("Running");
    expect(s.qosClass).toBe("BestEffort");
    expect(s.hostIPs).toEqual([{ ip: "172.16.0.1" }]);
    expect(s.podIPs).toEqual([{ ip: "10.244.0.2" }]);
    expect(s.startTime).toBe("2025-01-01T00:00:00Z");
    const cond = Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c.status]));
    expect(cond).toEqual({ PodReadyToStartContainers: "True", Initialized: "True", Ready: "True", ContainersReady: "True", PodScheduled: "True" });
    // The scheduler's PodScheduled condition keeps its time.
    expect(s.conditions!.find((c) => c.type === "PodScheduled")!.lastTransitionTime).toBe("2024-12-31T23:59:59Z");
    expect(s.containerStatuses).toEqual([
      {
        name: "app",
        ready: true,
        started: true,
        restartCount: 0,
        image: "nginx:1.27",
        imageID: "simulated://nginx:1.27",
        containerID: "simulated://u1-app",
        state: { running: { startedAt: "2025-01-01T00:00:00Z" } },
        lastState: {},
      },
      expect.objectContaining({ name: "side", ready: true }),
    ]);
    expect(s.initContainerStatuses).toEqual([
      expect.objectContaining({ name: "init", ready: true, state: { terminated: expect.objectContaining({ exitCode: 0, reason: "Completed" }) } }),
    ]);
  });

  it("finishes with exit 0 Completed (Succeeded) or exit 1 Error (Failed)", () => {
    const p = running(pod({ restartPolicy: "Never" }), T0);
    const ok = finishedStatus(p, "success", T0 + 5000);
    expect(ok.phase).toBe("Succeeded");
    expect(ok.containerStatuses![0]!.state).toEqual({
      terminated: { exitCode: 0, reason: "Completed", startedAt: "2025-01-01T00:00:00Z", finishedAt: "2025-01-01T00:00:05Z", containerID: "simulated://u1-app" },
    });
    expect(ok.conditions!.find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "PodCompleted" });
    const bad = finishedStatus(p, "failure", T0 + 5000);
    expect(bad.phase).toBe("Failed");
    expect((bad.containerStatuses![0]!.state!.terminated as { exitCode: number; reason: string })).toMatchObject({ exitCode: 1, reason: "Error" });
    expect(bad.podIP).toBe("10.244.0.2");
  });

  it("counts restarts and keeps the last exit in lastState", () => {
    const p = running(pod({ restartPolicy: "OnFailure", annotations: { [RESULT_ANNOTATION]: "failure" } }), T0);
    const once = { ...p, status: restartedStatus(p, T0 + 1000) };
    const twice = restartedStatus(once, T0 + 2000);
    expect(twice.phase).toBe("Running");
    expect(twice.containerStatuses![0]).toMatchObject({
      restartCount: 2,
      ready: true,
      state: { running: { startedAt: "2025-01-01T00:00:02Z" } },
      lastState: { terminated: { exitCode: 1, reason: "Error", startedAt: "2025-01-01T00:00:01Z", finishedAt: "2025-01-01T00:00:02Z" } },
    });
  });
});
