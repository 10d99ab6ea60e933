// Book 11.2: leader election over a real Lease on a real `corekube apiserver`: one leader at a time,
// a fast hand-over on release, and a takeover only after leaseDuration when the leader just goes quiet.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaderElector, type LeaderElectorOptions, validateLeaderElectorOptions } from "@corekube/client/leaderelection";
import { RestClient } from "@corekube/client/rest";
import { LEASES } from "@corekube/client/resources";
import type { Lease } from "@corekube/api";
import { startControlPlane, type ControlPlane } from "../support/apiserver-process.js";

const clientFor = (cp: ControlPlane): Promise<RestClient> => RestClient.fromKubeconfig({ path: cp.kubeconfig });

const NS = "default";
const TIMING = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 };

interface Candidate {
  elector: LeaderElector;
  cancel: AbortController;
  done: Promise<void>;
  started: number[];
  stopped: number[];
  leaderSignal?: AbortSignal;
  newLeaders: string[];
}

const until = async (what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("LeaderElector against an API server", () => {
  let cp: ControlPlane;
  let client: RestClient;
  const running: Candidate[] = [];

  beforeAll(async () => {
    cp = await startControlPlane();
    client = await clientFor(cp);
  }, 120_000);

  afterAll(async () => {
    for (const c of running) c.cancel.abort();
    await Promise.allSettled(running.map((c) => c.done));
    await client?.close();
    await cp?.stop();
  });

  const leases = () => client.resource<Lease>(LEASES);

  function candidate(lockName: string, identity: string, extra: Partial<LeaderElectorOptions> = {}): Candidate {
    const c = { cancel: new AbortController(), started: [], stopped: [], newLeaders: [] } as unknown as Candidate;
    c.elector = new LeaderElector({
      client,
      lock: { namespace: NS, name: lockName },
      identity,
      ...TIMING,
      callbacks: {
        onStartedLeading: (signal) => {
          c.started.push(Date.now());
          c.leaderSignal = signal;
        },
        onStoppedLeading: () => c.stopped.push(Date.now()),
        onNewLeader: (id) => c.newLeaders.push(id),
      },
      ...extra,
    });
    c.done = c.elector.run(c.cancel.signal);
    running.push(c);
    return c;
  }

  it("one candidate leads: it creates the Lease with its identity and keeps renewing it", async () => {
    const a = candidate("solo", "a");
    await until("a to lead", () => a.started.length === 1);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.elector.getLeader()).toBe("a");
    expect(a.newLeaders).toEqual(["a"]);

    const first = await leases().get("solo", NS);
    expect(first.spec.holderIdentity).toBe("a");
    expect(first.spec.leaseDurationSeconds).toBe(2); // 1500 ms, rounded up to whole seconds
    expect(first.spec.leaseTransitions).toBe(0);
    expect(first.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(first.spec.acquireTime).toBe(first.spec.renewTime);

    await new Promise((r) => setTimeout(r, 600));
    const later = await leases().get("solo", NS);
    expect(later.spec.holderIdentity).toBe("a");
    expect(Date.parse(later.spec.renewTime!)).toBeGreaterThan(Date.parse(first.spec.renewTime!));
    expect(later.spec.acquireTime).toBe(first.spec.acquireTime);

    a.cancel.abort();
    await a.done;
    expect(a.leaderSignal?.aborted).toBe(true);
    expect(a.stopped).toHaveLength(1);
    expect(a.elector.isLeader()).toBe(false);
    const released = await leases().get("solo", NS);
    expect(released.spec.holderIdentity ?? "").toBe("");
    expect(released.spec.leaseDurationSeconds).toBe(1);
  });

  it("a second candidate waits, then takes over at once when the leader is cancelled and releases", async () => {
    const a = candidate("release", "a");
    await until("a to lead", () => a.started.length === 1);
    const b = candidate("release", "b");
    await new Promise((r) => setTimeout(r, 1000));
    expect(b.started).toHaveLength(0);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.elector.getLeader()).toBe("a");
    expect(b.newLeaders).toEqual(["a"]);

    const cancelledAt = Date.now();
    a.cancel.abort();
    await a.done;
    await until("b to lead", () => b.started.length === 1);
    expect(b.started[0] - cancelledAt).toBeLessThan(1000); // well under leaseDuration
    expect(b.newLeaders).toEqual(["a", "b"]);

    const lease = await leases().get("release", NS);
    expect(lease.spec.holderIdentity).toBe("b");
    expect(lease.spec.leaseTransitions).toBe(1); // a -> (released) -> b
    b.cancel.abort();
    await b.done;
  });

  it("when the leader stops renewing without releasing, the other takes over only after leaseDuration", async () => {
    const a = candidate("silent", "a", { releaseOnCancel: false });
    await until("a to lead", () => a.started.length === 1);
    const b = candidate("silent", "b");
    await new Promise((r) => setTimeout(r, 500));
    expect(b.started).toHaveLength(0);

    const cancelledAt = Date.now();
    a.cancel.abort();
    await a.done;
    expect(a.stopped).toHaveLength(1);
    const left = await leases().get("silent", NS);
    expect(left.spec.holderIdentity).toBe("a"); // not released
    const lastRenew = Date.parse(left.spec.renewTime!);

    await until("b to lead", () => b.started.length === 1);
    // b saw a's last renewal no earlier than it was written, and waits leaseDuration from then.
    expect(b.started[0] - lastRenew).toBeGreaterThanOrEqual(1500);
    expect(b.started[0] - cancelledAt).toBeLessThan(4000);
    const lease = await leases().get("silent", NS);
    expect(lease.spec.holderIdentity).toBe("b");
    expect(lease.spec.leaseTransitions).toBe(1);
    b.cancel.abort();
    await b.done;
  });

  it("times a stale lease from when it first saw it, not from the renewTime written by another clock", async () => {
    const longAgo = "2001-01-01T00:00:00.000000Z";
    await leases().create({
      metadata: { name: "stale", namespace: NS },
      spec: { holderIdentity: "ghost", leaseDurationSeconds: 1, acquireTime: longAgo, renewTime: longAgo, leaseTransitions: 4 },
    });
    const startedAt = Date.now();
    const b = candidate("stale", "b");
    await until("b to lead", () => b.started.length === 1);
    expect(b.started[0] - startedAt).toBeGreaterThanOrEqual(1000);
    expect(b.newLeaders).toEqual(["ghost", "b"]);
    const lease = await leases().get("stale", NS);
    expect(lease.spec.holderIdentity).toBe("b");
    expect(lease.spec.leaseTransitions).toBe(5);
    b.cancel.abort();
    await b.done;
  });

  it("stops leading when it cannot renew within renewDeadline", async () => {
    const a = candidate("lost", "a", { releaseOnCancel: false });
    await until("a to lead", () => a.started.length === 1);
    // Someone else takes the lease by force; a can no longer renew it.
    const current = await leases().get("lost", NS);
    const now = new Date().toISOString();
    await leases().update({ ...current, spec: { ...current.spec, holderIdentity: "usurper", leaseDurationSeconds: 30, renewTime: now } });
    await a.done; // run() returns by itself
    expect(a.stopped).toHaveLength(1);
    expect(a.leaderSignal?.aborted).toBe(true);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.elector.getLeader()).toBe("usurper");
  });

  it("a cancel before the lease is won returns without calling the leading callbacks", async () => {
    await leases().create({
      metadata: { name: "held", namespace: NS },
      spec: { holderIdentity: "other", leaseDurationSeconds: 60, renewTime: new Date().toISOString() },
    });
    const b = candidate("held", "b");
    await new Promise((r) => setTimeout(r, 300));
    b.cancel.abort();
    await b.done;
    expect(b.started).toHaveLength(0);
    expect(b.stopped).toHaveLength(0);
    expect((await leases().get("held", NS)).spec.holderIdentity).toBe("other");
  });

  it("rejects timings client-go rejects, with the reason", () => {
    const base = { client, lock: { namespace: NS, name: "x" }, identity: "a", callbacks: { onStartedLeading() {}, onStoppedLeading() {} } };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 1000, renewDeadlineMs: 1000 })).toThrow(/leaseDurationMs \(1000\) must be greater than renewDeadlineMs/);
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2400, retryPeriodMs: 2000 })).toThrow(/renewDeadlineMs \(2400\) must be greater than retryPeriodMs\*1.2/);
    expect(() => new LeaderElector({ ...base, retryPeriodMs: 0 })).toThrow(/retryPeriodMs must be greater than zero/);
    expect(() => new LeaderElector({ ...base, identity: "" })).toThrow(/identity/);
    expect(validateLeaderElectorOptions(base)).toMatchObject({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, releaseOnCancel: true });
  });
});
