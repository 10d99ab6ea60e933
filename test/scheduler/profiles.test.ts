// Book 2.3.2 and 11.2.4: running the scheduler as operators do — a KubeSchedulerConfiguration with a
// second profile, and two schedulers with leader election of which only the leader binds pods.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Lease } from "@corekube/api";
import { LEASES } from "@corekube/client";
import { parseSchedulerConfiguration } from "@corekube/scheduler/config";
import { IN_TREE_PLUGIN_NAMES } from "@corekube/scheduler/plugins/registry";
import { TestCluster, eventually, pod, testConfiguration } from "./support.js";

const PROFILES = `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
podInitialBackoffSeconds: 1
podMaxBackoffSeconds: 2
leaderElection:
  leaderElect: false
profiles:
  - schedulerName: default-scheduler
  - schedulerName: packing-scheduler
    pluginConfig:
      - name: NodeResourcesFit
        args:
          scoringStrategy:
            type: MostAllocated
            resources:
              - name: cpu
                weight: 1
              - name: memory
                weight: 1
`;

describe("scheduler: profiles and leader election", () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await TestCluster.start();
  }, 120_000);
  afterEach(async () => c?.reset());
  afterAll(async () => c?.stop());

  it("a second profile (NodeResourcesFit MostAllocated) packs pods that name it; the default spreads them", async () => {
    const ns = await c.namespace("profiles");
    await c.addNodes({ namePrefix: "prof-", count: 2, cpu: "4", memory: "16Gi" });
    // A pod bound by hand fills half of prof-0 before the scheduler starts.
    await c.createPod(pod(ns, "filler", { cpu: "2", memory: "8Gi", spec: { nodeName: "prof-0" } }));
    // Nobody runs a scheduler by this name: the pod just waits, with no events and no condition.
    await c.createPod(pod(ns, "orphan", { cpu: "100m", spec: { schedulerName: "no-such-scheduler" } }));
    const config = parseSchedulerConfiguration(PROFILES, IN_TREE_PLUGIN_NAMES);
    const running = await c.scheduler({ config });
    expect([...running.scheduler()!.profiles.keys()]).toEqual(["default-scheduler", "packing-scheduler"]);

    await c.createPod(pod(ns, "packed", { cpu: "1", memory: "4Gi", spec: { schedulerName: "packing-scheduler" } }));
    expect(await c.waitScheduled(ns, "packed")).toBe("prof-0");
    // Each profile records its events under its own name, as `kubectl describe` shows in "From".
    const ev = await c.waitEvent(ns, "packed", "Scheduled", `Successfully assigned ${ns}/packed to prof-0`);
    expect(ev.source.component).toBe("packing-scheduler");

    await c.createPod(pod(ns, "spread", { cpu: "1", memory: "4Gi" }));
    expect(await c.waitScheduled(ns, "spread")).toBe("prof-1");
    expect((await c.waitEvent(ns, "spread", "Scheduled")).source.component).toBe("default-scheduler");

    // A packing pod that fits nowhere gets a FailedScheduling event from its profile too.
    await c.createPod(pod(ns, "huge", { cpu: "8", spec: { schedulerName: "packing-scheduler" } }));
    const failed = await c.waitEvent(ns, "huge", "FailedScheduling", /^0\/2 nodes are available: 2 Insufficient cpu\./);
    expect(failed.source.component).toBe("packing-scheduler");

    const orphan = await c.getPod(ns, "orphan");
    expect(orphan.spec.nodeName).toBeUndefined();
    expect(orphan.status?.conditions?.find((x) => x.type === "PodScheduled")).toBeUndefined();
    expect(await c.events(ns, "orphan")).toEqual([]);
  });

  it("with leader election only the leader binds; when it stops, the other takes over", async () => {
    const ns = await c.namespace("leader");
    await c.addNodes({ namePrefix: "le-", count: 2 });
    const config = () => {
      const cfg = testConfiguration();
      cfg.leaderElection = { ...cfg.leaderElection, leaderElect: true, leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 };
      return cfg;
    };
    const a = await c.scheduler({ config: config(), leaderElect: undefined, identity: "sched-a" });
    const b = await c.scheduler({ config: config(), leaderElect: undefined, identity: "sched-b", waitLeading: false });
    const lease = () => c.client.resource<Lease>(LEASES).get("kube-scheduler", "kube-system");
    expect((await lease()).spec.holderIdentity).toBe("sched-a");

    for (let i = 0; i < 3; i++) await c.createPod(pod(ns, `first-${i}`, { cpu: "100m" }));
    await c.waitAllScheduled(ns, 3);
    await eventually("three Scheduled events", async () => {
      for (let i = 0; i < 3; i++) if (!(await c.events(ns, `first-${i}`)).some((e) => e.reason === "Scheduled")) return false;
      return true;
    });
    expect(a.scheduler()!.stats.scheduled).toBe(3);
    // The standby never started its scheduler: it could not have bound anything.
    expect(b.scheduler()).toBeUndefined();

    // The leader stops (and gives up its lease): the standby takes over and schedules new pods.
    await c.stopScheduler(a);
    await b.leading;
    expect((await lease()).spec.holderIdentity).toBe("sched-b");
    for (let i = 0; i < 2; i++) await c.createPod(pod(ns, `second-${i}`, { cpu: "100m" }));
    await c.waitAllScheduled(ns, 5);
    expect(b.scheduler()!.stats.scheduled).toBe(2);
  });
});
