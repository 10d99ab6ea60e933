// Book 9.3: probe workers on a fake clock: initial delay, period, thresholds, startup gating, restarts,
// the Unhealthy events, and what the manager says about containers without probes.
import type { Container } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { type ContainerStart, type ProbeEvent, ProbeManager } from "./manager.js";
import type { ExecSyncFn } from "./run.js";
import { FakeProbeTimers } from "./timers.js";

/** A fake runtime whose probe commands (by their first word) exit with the code the test sets. */
function harness(opts: { hang?: boolean } = {}) {
  const timers = new FakeProbeTimers(1_000_000);
  const exit: Record<string, number> = { ready: 0, live: 0, start: 0 };
  const calls: { id: string; cmd: string; at: number }[] = [];
  const execSync: ExecSyncFn = (id, cmd) => {
    calls.push({ id, cmd: cmd[0]!, at: timers.now() });
    if (opts.hang) return new Promise(() => {});
    const code = exit[cmd[0]!] ?? 0;
    return Promise.resolve({ exitCode: code, stdout: code === 0 ? "" : `${cmd[0]} is sick`, stderr: "" });
  };
  const events: ProbeEvent[] = [];
  const changes: string[] = [];
  const m = new ProbeManager({ timers, execSync, recordEvent: (e) => events.push(e), onChange: (uid) => changes.push(uid) });
  const count = (cmd: string) => calls.filter((c) => c.cmd === cmd).length;
  return { timers, exit, calls, events, changes, m, count };
}

const pod = { uid: "u1", namespace: "default", name: "web-0", ip: "10.1.0.5" };
const probe = (cmd: string, extra: Record<string, unknown> = {}) => ({ exec: { command: [cmd] }, ...extra });
const start = (container: Container, containerId = "c1", startedAt?: number): ContainerStart => ({
  pod,
  container,
  containerId,
  ...(startedAt !== undefined ? { startedAt } : {}),
});

describe("containers without probes", () => {
  it("are ready and started once running, never unhealthy, and not ready once stopped", () => {
    const { m } = harness();
    expect(m.readiness("u1", "app")).toBe(false);
    m.containerStarted(start({ name: "app" }));
    expect(m.readiness("u1", "app")).toBe(true);
    expect(m.started("u1", "app")).toBe(true);
    expect(m.liveness("u1", "app")).toBe("passed");
    expect(m.startup("u1", "app")).toBe("passed");
    m.containerStopped("u1", "app");
    expect(m.readiness("u1", "app")).toBe(false);
  });
});

describe("readiness", () => {
  it("waits for the initial delay, then probes every period; ready after the first success", async () => {
    const { m, timers, count, changes } = harness();
    m.containerStarted(start({ name: "app", readinessProbe: probe("ready", { initialDelaySeconds: 5, periodSeconds: 3 }) }, "c1", timers.now()));
    await timers.advance(4_999);
    expect(count("ready")).toBe(0);
    expect(m.readiness("u1", "app")).toBe(false);
    await timers.advance(1);
    expect(count("ready")).toBe(1);
    expect(m.readiness("u1", "app")).toBe(true);
    expect(changes).toEqual(["u1"]);
    await timers.advance(9_000);
    expect(count("ready")).toBe(4);
    expect(changes).toEqual(["u1"]); // still ready: no change to report
  });

  it("measures the initial delay from the container's start, not from the call", async () => {
    const { m, timers, count } = harness();
    m.containerStarted(start({ name: "app", readinessProbe: probe("ready", { initialDelaySeconds: 10 }) }, "c1", timers.now() - 8_000));
    await timers.advance(2_000);
    expect(count("ready")).toBe(1);
  });

  it("turns not ready only after failureThreshold failures in a row, with an Unhealthy event for each", async () => {
    const { m, timers, exit, events, changes } = harness();
    m.containerStarted(start({ name: "app", readinessProbe: probe("ready", { periodSeconds: 1, failureThreshold: 3 }) }));
    await timers.advance(0);
    expect(m.readiness("u1", "app")).toBe(true);
    exit.ready = 1;
    await timers.advance(1_000);
    await timers.advance(1_000);
    expect(m.readiness("u1", "app")).toBe(true);
    exit.ready = 0; // a success in between starts the count again
    await timers.advance(1_000);
    exit.ready = 1;
    await timers.advance(2_000);
    expect(m.readiness("u1", "app")).toBe(true);
    await timers.advance(1_000);
    expect(m.readiness("u1", "app")).toBe(false);
    expect(changes).toEqual(["u1", "u1"]);
    expect(events).toHaveLength(5);
    expect(events[0]).toEqual({
      pod: { uid: "u1", namespace: "default", name: "web-0" },
      container: "app",
      probe: "readiness",
      type: "Warning",
      reason: "Unhealthy",
      message: "Readiness probe failed: ready is sick",
    });
    // Readiness keeps probing after failing, and comes back.
    exit.ready = 0;
    await timers.advance(1_000);
    expect(m.readiness("u1", "app")).toBe(true);
  });

  it("needs successThreshold successes in a row to become ready", async () => {
    const { m, timers } = harness();
    m.containerStarted(start({ name: "app", readinessProbe: probe("ready", { periodSeconds: 2, successThreshold: 3 }) }));
    await timers.advance(2_000);
    expect(m.readiness("u1", "app")).toBe(false);
    await timers.advance(2_000);
    expect(m.readiness("u1", "app")).toBe(true);
  });
});

describe("liveness", () => {
  it("fails after failureThreshold failures, says so in events, then waits for a restart", async () => {
    const { m, timers, exit, events, changes, count } = harness();
    const c = { name: "app", livenessProbe: probe("live", { periodSeconds: 10, failureThreshold: 2 }) };
    m.containerStarted(start(c));
    await timers.advance(0);
    expect(m.liveness("u1", "app")).toBe("passed");
    expect(m.readiness("u1", "app")).toBe(true); // no readiness probe: ready once started
    exit.live = 1;
    await timers.advance(10_000);
    expect(m.liveness("u1", "app")).toBe("passed");
    await timers.advance(10_000);
    expect(m.liveness("u1", "app")).toBe("failed");
    expect(changes).toEqual(["u1", "u1"]);
    expect(events.map((e) => e.message)).toEqual(["Liveness probe failed: live is sick", "Liveness probe failed: live is sick"]);
    const probesSoFar = count("live");
    await timers.advance(60_000);
    expect(count("live")).toBe(probesSoFar); // on hold: the kubelet is expected to restart the container

    // The container restarted: a new id resets the worker.
    exit.live = 0;
    m.containerStarted(start(c, "c2", timers.now()));
    expect(m.liveness("u1", "app")).toBe("pending");
    await timers.advance(0);
    expect(m.liveness("u1", "app")).toBe("passed");
    expect(m.containerId("u1", "app")).toBe("c2");
  });

  it("a restart resets the failure count", async () => {
    const { m, timers, exit } = harness();
    const c = { name: "app", livenessProbe: probe("live", { periodSeconds: 1, failureThreshold: 3 }) };
    exit.live = 1;
    m.containerStarted(start(c, "c1", timers.now()));
    await timers.advance(1_000); // two failures
    m.containerStarted(start(c, "c2", timers.now()));
    await timers.advance(1_000); // two more, on the new container
    expect(m.liveness("u1", "app")).toBe("pending");
    await timers.advance(1_000);
    expect(m.liveness("u1", "app")).toBe("failed");
  });

  it("reporting the same container again changes nothing", async () => {
    const { m, timers, exit } = harness();
    const c = { name: "app", livenessProbe: probe("live", { periodSeconds: 1, failureThreshold: 2 }) };
    exit.live = 1;
    m.containerStarted(start(c));
    await timers.advance(0);
    m.containerStarted(start(c));
    await timers.advance(1_000);
    expect(m.liveness("u1", "app")).toBe("failed");
  });

  it("a command that times out counts as a failure", async () => {
    const { m, timers, events } = harness({ hang: true });
    m.containerStarted(start({ name: "app", livenessProbe: probe("live", { periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 1 }) }));
    await timers.advance(1_999);
    expect(m.liveness("u1", "app")).toBe("pending");
    await timers.advance(1);
    expect(m.liveness("u1", "app")).toBe("failed");
    expect(events[0]!.message).toBe(`Liveness probe failed: command "live" timed out`);
  });
});

describe("startup probes", () => {
  it("hold liveness and readiness back until they pass, then readiness runs at once", async () => {
    const { m, timers, exit, count } = harness();
    exit.start = 1;
    m.containerStarted(
      start({
        name: "app",
        startupProbe: probe("start", { periodSeconds: 2, failureThreshold: 30 }),
        livenessProbe: probe("live", { periodSeconds: 10 }),
        readinessProbe: probe("ready", { periodSeconds: 10 }),
      }),
    );
    await timers.advance(12_000);
    expect(count("start")).toBe(7);
    expect(count("live") + count("ready")).toBe(0);
    expect(m.started("u1", "app")).toBe(false);
    expect(m.startup("u1", "app")).toBe("pending");
    expect(m.readiness("u1", "app")).toBe(false);
    exit.start = 0;
    await timers.advance(2_000);
    expect(m.startup("u1", "app")).toBe("passed");
    expect(m.started("u1", "app")).toBe(true);
    expect(count("ready")).toBe(1); // triggered by the startup success
    expect(m.readiness("u1", "app")).toBe(true);
    await timers.advance(10_000);
    expect(count("start")).toBe(8); // done once passed
    expect(count("live")).toBe(1);
  });

  it("fail the container after failureThreshold failures; readiness never ran", async () => {
    const { m, timers, exit, events, count } = harness();
    exit.start = 1;
    m.containerStarted(start({ name: "app", startupProbe: probe("start", { periodSeconds: 1, failureThreshold: 3 }), readinessProbe: probe("ready") }));
    await timers.advance(2_000);
    expect(m.startup("u1", "app")).toBe("failed");
    expect(m.readiness("u1", "app")).toBe(false);
    expect(events.at(-1)!.message).toBe("Startup probe failed: start is sick");
    expect(count("ready")).toBe(0);
  });
});

describe("stopping and bad specs", () => {
  it("containerStopped and removePod stop the workers", async () => {
    const { m, timers, count } = harness();
    m.containerStarted(start({ name: "a", readinessProbe: probe("ready", { periodSeconds: 1 }) }));
    m.containerStarted(start({ name: "b", livenessProbe: probe("live", { periodSeconds: 1 }) }));
    await timers.advance(0);
    m.containerStopped("u1", "a");
    await timers.advance(3_000);
    expect(count("ready")).toBe(1);
    expect(count("live")).toBe(4);
    m.removePod("u1");
    await timers.advance(3_000);
    expect(count("live")).toBe(4);
    expect(timers.size).toBe(0);
    expect(m.liveness("u1", "b")).toBe("passed");
  });

  it("a probe that cannot run reports errors but neither readies nor kills the container", async () => {
    const { m, timers, events } = harness();
    m.containerStarted(
      start({
        name: "app",
        readinessProbe: { httpGet: { port: "admin" } },
        livenessProbe: { tcpSocket: { port: 80 }, successThreshold: 2 },
      }),
    );
    await timers.advance(60_000);
    expect(m.readiness("u1", "app")).toBe(false);
    expect(m.liveness("u1", "app")).toBe("pending");
    const messages = new Set(events.map((e) => e.message));
    expect(messages).toEqual(
      new Set([
        `Readiness probe errored: couldn't find port "admin" among the ports of container "app"`,
        "Liveness probe errored: livenessProbe.successThreshold: must be 1 for liveness probes, not 2",
      ]),
    );
  });

  it("a redirect to another host is a success with a ProbeWarning event", async () => {
    const timers = new FakeProbeTimers();
    const events: ProbeEvent[] = [];
    const m = new ProbeManager({
      timers,
      recordEvent: (e) => events.push(e),
      runProbe: async () => ({ result: "success", warning: true, output: "Probe terminated redirects, Response body: " }),
    });
    m.containerStarted(start({ name: "app", readinessProbe: { httpGet: { port: 80 } } }));
    await timers.advance(0);
    expect(m.readiness("u1", "app")).toBe(true);
    expect(events.map((e) => [e.reason, e.message])).toEqual([["ProbeWarning", "Readiness probe warning: Probe terminated redirects, Response body: "]]);
  });
});
