// Book 11.3 (and 2.3.3): the workload controllers end to end with the real kubectl: Deployment rolling update, undo and scale;
// StatefulSet ordering and claims; a CronJob on an injected clock; a Job's TTL; a DaemonSet on every node.
import { type KubeObject, type Pod, rfc3339 } from "@corekube/api";
import { CRONJOBS, DAEMONSETS, DEPLOYMENTS, JOBS, PERSISTENT_VOLUME_CLAIMS, REPLICASETS, STATEFULSETS } from "@corekube/client";
import { FakeClock } from "@corekube/controllers";
import { type RunningControllerManager, runControllerManager } from "@corekube/controllers/run";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestCluster } from "../scheduler/support.js";
import { eventually } from "../support/eventually.js";
import { type Kubectl, kubectl } from "../support/kubectl.js";

let c: TestCluster;
let cm: RunningControllerManager;
let k: Kubectl;

beforeAll(async () => {
  c = await TestCluster.start();
  await c.addNodes({ namePrefix: "wl-", count: 2 });
  await c.scheduler();
  // The CronJob and Job controllers run in managers the tests start themselves (one on a fake clock).
  cm = await runControllerManager({ kubeconfig: c.kubeconfig, leaderElect: false, controllers: ["*", "-cronjob", "-job"], log: () => undefined });
  await cm.leading;
  k = kubectl("1.33", c.kubeconfig);
}, 120_000);

afterAll(async () => {
  k?.cleanup();
  await cm?.stop();
  await c?.stop();
});

const ready = (p: Pod) => p.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True") ?? false;
const live = (p: Pod) => !p.metadata.deletionTimestamp;
const image = (p: Pod) => p.spec.containers[0]!.image;
/** The first container's image in a workload's pod template. */
const templateImageOf = (o: KubeObject) => (o as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]!.image;
const revision = (o: KubeObject) => (o.metadata.annotations ?? {})["deployment.kubernetes.io/revision"];

interface PodEvent {
  type: string;
  name: string;
  /** The namespace's pods as the watch saw them right after this event. */
  pods: Map<string, Pod>;
}

/**
 * Lists the namespace's pods, then watches from that list's resourceVersion: `onEvent` sees every change
 * together with the whole picture after it. stop() ends the watch and returns what it saw.
 */
async function watchPods(ns: string, onEvent: (e: PodEvent) => void = () => undefined) {
  const list = await c.pods().list({ namespace: ns });
  const pods = new Map(list.items.map((p) => [p.metadata.name!, p]));
  const events: { type: string; name: string; pod: Pod }[] = [];
  const abort = new AbortController();
  let failure: unknown;
  const loop = (async () => {
    try {
      for await (const ev of c.pods().watch({ namespace: ns, resourceVersion: list.metadata.resourceVersion, signal: abort.signal })) {
        const p = ev.object as Pod;
        const name = p.metadata.name!;
        if (ev.type === "DELETED") pods.delete(name);
        else if (ev.type === "ADDED" || ev.type === "MODIFIED") pods.set(name, p);
        else continue;
        events.push({ type: ev.type, name, pod: p });
        onEvent({ type: ev.type, name, pods });
      }
    } catch (e) {
      if (!abort.signal.aborted) failure = e;
    }
  })();
  return {
    pods,
    events,
    check() {
      if (failure) throw failure;
    },
    async stop() {
      abort.abort();
      await loop;
      if (failure) throw failure;
      return events;
    },
  };
}

async function rolloutStatus(kind: string, ns: string): Promise<string> {
  return k.ok(["rollout", "status", `${kind}/web`, "-n", ns, "--timeout=60s"], { timeoutMs: 70_000 });
}

const livePods = async (ns: string) => (await c.pods().list({ namespace: ns })).items.filter(live);

describe("workload controllers, end to end", () => {
  it("`kubectl set image` rolls a Deployment over without dropping below replicas - maxUnavailable available pods", async () => {
    const ns = await c.namespace("wl-rolling");
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: ns },
      spec: {
        replicas: 4,
        minReadySeconds: 0,
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } },
        selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "web", image: "nginx:1" }] } },
      },
    };
    await k.ok(["apply", "-f", "-"], { input: JSON.stringify(deployment) });
    expect(await rolloutStatus("deployment", ns)).toMatch(/successfully rolled out/);
    await eventually("4 ready pods", async () => (await livePods(ns)).filter(ready).length === 4);

    let minAvailable = Number.POSITIVE_INFINITY;
    let mixed = false;
    const available = (pods: Map<string, Pod>) => [...pods.values()].filter((p) => live(p) && ready(p) && p.metadata.labels?.app === "web");
    const w = await watchPods(ns, ({ pods }) => {
      minAvailable = Math.min(minAvailable, available(pods).length);
      const images = new Set([...pods.values()].filter(live).map(image));
      if (images.has("nginx:1") && images.has("nginx:2")) mixed = true;
    });
    minAvailable = Math.min(minAvailable, available(w.pods).length);
    expect(minAvailable).toBe(4);
    try {
      await k.ok(["set", "image", "deployment/web", "web=nginx:2", "-n", ns]);
      expect(await rolloutStatus("deployment", ns)).toMatch(/successfully rolled out/);
      // The old pods finish terminating after rollout status returns: wait for the watch to see them go.
      await eventually("only nginx:2 pods, 4 of them ready", async () => {
        w.check();
        const pods = [...w.pods.values()];
        return pods.length === 4 && pods.every((p) => image(p) === "nginx:2" && ready(p) && live(p));
      }, 30_000);
    } finally {
      await w.stop();
    }
    expect(minAvailable).toBeGreaterThanOrEqual(3);
    expect(mixed).toBe(true); // old and new pods side by side: a rolling update, not a recreate
    expect(w.events.filter((e) => e.type === "ADDED").length).toBe(4); // each new pod made once
    expect(w.events.filter((e) => e.type === "DELETED").length).toBe(4); // each old pod removed
    expect(templateImageOf(await c.client.resource(DEPLOYMENTS).get("web", ns))).toBe("nginx:2");
  }, 90_000);

  it("`kubectl rollout undo` goes back to the previous template under a new revision", async () => {
    const ns = await c.namespace("wl-undo");
    const deployments = c.client.resource(DEPLOYMENTS);
    const templateImage = async () => templateImageOf(await deployments.get("web", ns));
    await k.ok(["create", "deployment", "web", "--image=nginx:1", "--replicas=2", "-n", ns]);
    await rolloutStatus("deployment", ns);
    expect(revision(await deployments.get("web", ns))).toBe("1");

    await k.ok(["set", "image", "deployment/web", "nginx=nginx:2", "-n", ns]);
    await rolloutStatus("deployment", ns);
    await eventually("revision 2", async () => revision(await deployments.get("web", ns)) === "2");
    const history = await k.ok(["rollout", "history", "deployment/web", "-n", ns]);
    expect(history).toMatch(/^1\s/m);
    expect(history).toMatch(/^2\s/m);

    const undo = await k.ok(["rollout", "undo", "deployment/web", "-n", ns]);
    expect(undo).toMatch(/rolled back/);
    expect(await templateImage()).toBe("nginx:1");
    await rolloutStatus("deployment", ns);
    await eventually("revision 3", async () => revision(await deployments.get("web", ns)) === "3");
    const after = await k.ok(["rollout", "history", "deployment/web", "-n", ns]);
    expect(after).toMatch(/^2\s/m);
    expect(after).toMatch(/^3\s/m);
    const detail = await k.ok(["rollout", "history", "deployment/web", "-n", ns, "--revision=3"]);
    expect(detail).toMatch(/nginx:1/);

    await eventually("2 pods, all nginx:1", async () => {
      const pods = (await c.pods().list({ namespace: ns })).items;
      return pods.length === 2 && pods.every((p) => image(p) === "nginx:1" && ready(p) && live(p));
    }, 30_000);
  }, 90_000);

  // kubectl sends the template back with `metadata.creationTimestamp: null`: the controller must
  // still see it as revision 1's template.
  it("`kubectl rollout undo` reuses the first revision's ReplicaSet, renumbered", async () => {
    const ns = await c.namespace("wl-undo-reuse");
    const rss = c.client.resource(REPLICASETS);
    await k.ok(["create", "deployment", "web", "--image=nginx:1", "--replicas=2", "-n", ns]);
    await rolloutStatus("deployment", ns);
    const first = (await rss.list({ namespace: ns })).items;
    expect(first).toHaveLength(1);
    await k.ok(["set", "image", "deployment/web", "nginx=nginx:2", "-n", ns]);
    await rolloutStatus("deployment", ns);
    await k.ok(["rollout", "undo", "deployment/web", "-n", ns]);
    await rolloutStatus("deployment", ns);
    const reused = await eventually("revision 1's ReplicaSet renumbered 3", async () => {
      const r = await rss.get(first[0]!.metadata.name!, ns);
      return revision(r) === "3" ? r : undefined;
    });
    expect((reused.metadata.annotations ?? {})["deployment.kubernetes.io/revision-history"]).toBe("1");
    expect((await rss.list({ namespace: ns })).items).toHaveLength(2);
    const history = await k.ok(["rollout", "history", "deployment/web", "-n", ns]);
    expect(history).not.toMatch(/^1\s/m);
    // The pods of revision 1 are the ones that run again (same pod-template-hash).
    const hash = reused.metadata.labels?.["pod-template-hash"];
    await eventually("2 pods of the reused ReplicaSet", async () => {
      const pods = (await c.pods().list({ namespace: ns })).items;
      return pods.length === 2 && pods.every((p) => p.metadata.labels?.["pod-template-hash"] === hash);
    }, 30_000);
  }, 90_000);

  it("`kubectl scale` grows and shrinks a Deployment", async () => {
    const ns = await c.namespace("wl-scale");
    const deployments = c.client.resource(DEPLOYMENTS);
    const statusReplicas = async () => ((await deployments.get("web", ns)).status as { replicas?: number } | undefined)?.replicas ?? 0;
    await k.ok(["create", "deployment", "web", "--image=nginx:1", "--replicas=2", "-n", ns]);
    await rolloutStatus("deployment", ns);

    await k.ok(["scale", "deployment/web", "--replicas=5", "-n", ns]);
    await eventually("5 ready pods", async () => (await livePods(ns)).filter(ready).length === 5, 30_000);
    await eventually("status.replicas 5", async () => (await statusReplicas()) === 5);
    await rolloutStatus("deployment", ns);
    expect((await c.pods().list({ namespace: ns })).items).toHaveLength(5);

    await k.ok(["scale", "deployment/web", "--replicas=1", "-n", ns]);
    await eventually("1 pod left", async () => (await c.pods().list({ namespace: ns })).items.length === 1, 30_000);
    await eventually("status.replicas 1", async () => (await statusReplicas()) === 1);
    const rs = (await c.client.resource(REPLICASETS).list({ namespace: ns })).items;
    expect(rs.map((r) => (r.spec as { replicas: number }).replicas)).toEqual([1]);
  }, 90_000);

  it("`kubectl rollout pause` holds a template change back until `kubectl rollout resume`", async () => {
    const ns = await c.namespace("wl-pause");
    await k.ok(["create", "deployment", "web", "--image=nginx:1", "--replicas=2", "-n", ns]);
    await rolloutStatus("deployment", ns);
    await k.ok(["rollout", "pause", "deployment/web", "-n", ns]);
    await k.ok(["set", "image", "deployment/web", "nginx=nginx:2", "-n", ns]);
    // The controller sees the change (observedGeneration catches up) but makes no new ReplicaSet.
    await eventually("the paused generation observed", async () => {
      const d = await c.client.resource(DEPLOYMENTS).get("web", ns);
      return (d.status as { observedGeneration?: number } | undefined)?.observedGeneration === d.metadata.generation;
    });
    const d = await c.client.resource(DEPLOYMENTS).get("web", ns);
    const progressing = ((d.status as { conditions?: { type: string; reason?: string }[] }).conditions ?? []).find((x) => x.type === "Progressing");
    expect(progressing?.reason).toBe("DeploymentPaused");
    expect((await c.client.resource(REPLICASETS).list({ namespace: ns })).items).toHaveLength(1);
    expect((await livePods(ns)).every((p) => image(p) === "nginx:1")).toBe(true);

    await k.ok(["rollout", "resume", "deployment/web", "-n", ns]);
    await rolloutStatus("deployment", ns);
    await eventually("2 pods on nginx:2", async () => {
      const pods = await c.pods().list({ namespace: ns });
      return pods.items.length === 2 && pods.items.every((p) => image(p) === "nginx:2" && ready(p));
    }, 30_000);
  }, 90_000);

  it("a StatefulSet starts web-0, web-1, web-2 one at a time with their claims, and scales down from the top", async () => {
    const ns = await c.namespace("wl-sts");
    const manifest = {
      apiVersion: "v1",
      kind: "List",
      items: [
        { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: ns }, spec: { clusterIP: "None", selector: { app: "sts" }, ports: [{ port: 80 }] } },
        {
          apiVersion: "apps/v1",
          kind: "StatefulSet",
          metadata: { name: "web", namespace: ns },
          spec: {
            serviceName: "web",
            replicas: 3,
            podManagementPolicy: "OrderedReady",
            selector: { matchLabels: { app: "sts" } },
            template: {
              metadata: { labels: { app: "sts" } },
              spec: {
                terminationGracePeriodSeconds: 1,
                containers: [{ name: "web", image: "nginx:1", volumeMounts: [{ name: "data", mountPath: "/data" }] }],
              },
            },
            volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }],
          },
        },
      ],
    };
    const added: string[] = [];
    // For each pod web-N (N > 0): was web-(N-1) Ready, as the watch saw it, when web-N appeared?
    const predecessorReady = new Map<string, boolean>();
    const w = await watchPods(ns, ({ type, name, pods }) => {
      if (type !== "ADDED") return;
      added.push(name);
      const n = Number(name.split("-").pop());
      if (n > 0) {
        const prev = pods.get(`web-${n - 1}`);
        predecessorReady.set(name, prev !== undefined && ready(prev) && live(prev));
      }
    });
    try {
      await k.ok(["apply", "-f", "-"], { input: JSON.stringify(manifest) });
      expect(await rolloutStatus("statefulset", ns)).toMatch(/partitioned roll out complete|roll out complete/);
      await eventually("the watch to see 3 ready pods", async () => {
        w.check();
        return [...w.pods.values()].filter(ready).length === 3;
      });
    } catch (e) {
      await w.stop().catch(() => undefined);
      throw e;
    }
    expect(added).toEqual(["web-0", "web-1", "web-2"]);
    expect(Object.fromEntries(predecessorReady)).toEqual({ "web-1": true, "web-2": true });
    // The same from the objects: web-1 was made no earlier than web-0 turned Ready (whole seconds).
    const web0 = await c.getPod(ns, "web-0");
    const web1 = await c.getPod(ns, "web-1");
    const readySince = web0.status!.conditions!.find((x) => x.type === "Ready")!.lastTransitionTime!;
    expect(Date.parse(web1.metadata.creationTimestamp!)).toBeGreaterThanOrEqual(Date.parse(readySince));

    const claims = (await c.client.resource(PERSISTENT_VOLUME_CLAIMS).list({ namespace: ns })).items.map((p) => p.metadata.name).sort();
    expect(claims).toEqual(["data-web-0", "data-web-1", "data-web-2"]);
    for (const i of [0, 1, 2]) {
      const p = await c.getPod(ns, `web-${i}`);
      const volumes = (p.spec as unknown as { volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[] }).volumes ?? [];
      const vol = volumes.find((v) => v.name === "data");
      expect(vol?.persistentVolumeClaim?.claimName).toBe(`data-web-${i}`);
      expect(p.spec.hostname).toBe(`web-${i}`);
      expect(p.spec.subdomain).toBe("web");
    }

    const seenBefore = w.events.length;
    try {
      await k.ok(["scale", "statefulset/web", "--replicas=1", "-n", ns]);
      await eventually("only web-0 left", async () => {
        w.check();
        return [...w.pods.keys()].join() === "web-0";
      }, 30_000);
    } finally {
      await w.stop();
    }
    // What happened to each pod, in order: when its deletion began, and when it was gone.
    const steps: string[] = [];
    for (const e of w.events.slice(seenBefore)) {
      const step = e.type === "DELETED" ? `${e.name} gone` : e.pod.metadata.deletionTimestamp ? `${e.name} terminating` : undefined;
      if (step && !steps.includes(step)) steps.push(step);
    }
    expect(steps).toEqual(["web-2 terminating", "web-2 gone", "web-1 terminating", "web-1 gone"]);
    // The claims stay (the default retention policy keeps them).
    expect((await c.client.resource(PERSISTENT_VOLUME_CLAIMS).list({ namespace: ns })).items).toHaveLength(3);
    await eventually("status.replicas 1", async () => ((await c.client.resource(STATEFULSETS).get("web", ns)).status as { replicas?: number }).replicas === 1);
  }, 120_000);

  it("a CronJob fires when an injected clock passes its schedule, and its Job completes", async () => {
    const ns = await c.namespace("wl-cron");
    const clock = new FakeClock(new Date());
    const cron = await runControllerManager({ kubeconfig: c.kubeconfig, leaderElect: false, controllers: ["cronjob", "job"], clock, log: () => undefined });
    try {
      await cron.leading;
      await k.ok(["create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *", "-n", ns]);
      const cronJobs = c.client.resource(CRONJOBS);
      const created = Date.parse((await cronJobs.get("tick", ns)).metadata.creationTimestamp!);
      const FIVE_MIN = 5 * 60_000;
      const due = new Date((Math.floor(created / FIVE_MIN) + 1) * FIVE_MIN); // the first */5 mark after creation
      // Nothing is due yet on the clock as it stands (it is still before the mark).
      await new Promise((r) => setTimeout(r, 500));
      expect((await c.client.resource(JOBS).list({ namespace: ns })).items).toHaveLength(0);

      clock.set(new Date(due.getTime() + 30_000));
      // The controller's own requeue waits in real time; touching the CronJob makes it look now.
      await k.ok(["label", "cronjob/tick", "nudge=1", "-n", ns]);
      const jobName = `tick-${due.getTime() / 60_000}`;
      const job = await eventually(`Job ${jobName}`, async () => (await c.client.resource(JOBS).list({ namespace: ns })).items.find((j) => j.metadata.name === jobName), 20_000);
      expect(job.metadata.ownerReferences?.[0]).toMatchObject({ kind: "CronJob", name: "tick", controller: true });
      expect((await c.client.resource(JOBS).list({ namespace: ns })).items).toHaveLength(1);
      const lastScheduleTime = await eventually("status.lastScheduleTime", async () => ((await cronJobs.get("tick", ns)).status as { lastScheduleTime?: string } | undefined)?.lastScheduleTime, 10_000);
      expect(lastScheduleTime).toBe(rfc3339(due));

      await eventually("the Job to complete", async () => {
        const j = (await c.client.resource(JOBS).get(jobName, ns)) as { status?: { conditions?: { type: string; status: string }[] } };
        return j.status?.conditions?.some((x) => x.type === "Complete" && x.status === "True");
      }, 30_000);
      await eventually("the CronJob to see it finish", async () => {
        const s = (await cronJobs.get("tick", ns)).status as { active?: unknown[]; lastSuccessfulTime?: string } | undefined;
        return (s?.active ?? []).length === 0 && s?.lastSuccessfulTime !== undefined;
      }, 15_000);
      // No second Job: the next mark has not come on the injected clock.
      expect((await c.client.resource(JOBS).list({ namespace: ns })).items.map((j) => j.metadata.name)).toEqual([jobName]);
    } finally {
      await cron.stop();
    }
  }, 90_000);

  it("the TTL-after-finished controller deletes a finished Job and its pods", async () => {
    const ns = await c.namespace("wl-ttl");
    // A Job controller on the real clock (the shared manager runs without one).
    const jobsCm = await runControllerManager({ kubeconfig: c.kubeconfig, leaderElect: false, controllers: ["job"], log: () => undefined });
    try {
      await jobsCm.leading;
      const jobs = c.client.resource(JOBS);
      // Watch the Job from before it exists: it must be seen Complete, then DELETED.
      const list = await jobs.list({ namespace: ns });
      const abort = new AbortController();
      const seen: string[] = [];
      const watching = (async () => {
        for await (const ev of jobs.watch({ namespace: ns, resourceVersion: list.metadata.resourceVersion, signal: abort.signal })) {
          const conds = (ev.object.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
          if (ev.type === "DELETED") seen.push("deleted");
          else if (conds.some((x) => x.type === "Complete" && x.status === "True") && !seen.includes("complete")) seen.push("complete");
        }
      })();
      try {
        await jobs.create({
          metadata: { name: "brief", namespace: ns },
          spec: { ttlSecondsAfterFinished: 1, template: { spec: { restartPolicy: "Never", terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox" }] } } },
        } as KubeObject);
        await eventually("a pod for the Job", async () => (await c.pods().list({ namespace: ns })).items.length === 1, 20_000);
        await eventually("the Job to go", async () => seen.includes("deleted"), 40_000);
      } finally {
        abort.abort();
        await watching;
      }
      expect(seen).toEqual(["complete", "deleted"]);
      expect((await jobs.list({ namespace: ns })).items).toHaveLength(0);
      await eventually("its pods to go", async () => (await c.pods().list({ namespace: ns })).items.length === 0, 20_000);
    } finally {
      await jobsCm.stop();
    }
  }, 90_000);

  it("a DaemonSet runs one pod per node, including a node that joins later", async () => {
    const ns = await c.namespace("wl-ds");
    const ds = {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent", namespace: ns },
      spec: {
        selector: { matchLabels: { app: "agent" } },
        template: { metadata: { labels: { app: "agent" } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "agent", image: "busybox" }] } },
      },
    };
    await k.ok(["apply", "-f", "-"], { input: JSON.stringify(ds) });
    const perNode = async () => {
      const pods = (await c.pods().list({ namespace: ns })).items.filter(live);
      const m = new Map<string, number>();
      for (const p of pods) m.set(p.spec.nodeName ?? "(unbound)", (m.get(p.spec.nodeName ?? "(unbound)") ?? 0) + 1);
      return m;
    };
    const nodeNames = async () => (await c.nodesApi().list()).items.map((n) => n.metadata.name!).sort();
    const expectOnePerNode = async (what: string) => {
      const nodes = await nodeNames();
      await eventually(what, async () => {
        const m = await perNode();
        const pods = (await c.pods().list({ namespace: ns })).items.filter(live);
        return pods.length === nodes.length && pods.every(ready) && [...m.keys()].sort().join() === nodes.join() && [...m.values()].every((n) => n === 1);
      }, 30_000);
      expect([...(await perNode()).keys()].sort()).toEqual(nodes);
    };
    expect(await nodeNames()).toHaveLength(2);
    await expectOnePerNode("one ready pod on each of the 2 nodes");
    await k.ok(["rollout", "status", "daemonset/agent", "-n", ns, "--timeout=30s"], { timeoutMs: 40_000 });

    await c.addNodes({ namePrefix: "wl-late-", count: 1 });
    expect(await nodeNames()).toHaveLength(3);
    await expectOnePerNode("one ready pod on each of the 3 nodes");
    await eventually("status counts 3", async () => {
      const s = (await c.client.resource(DAEMONSETS).get("agent", ns)).status as { desiredNumberScheduled?: number; currentNumberScheduled?: number; numberReady?: number } | undefined;
      return s?.desiredNumberScheduled === 3 && s.currentNumberScheduled === 3 && s.numberReady === 3;
    });
  }, 90_000);
});
