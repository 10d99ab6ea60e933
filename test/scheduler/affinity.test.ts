// Book 11.2.3: pods placed relative to other pods, end to end — inter-pod anti-affinity spreads
// replicas over hosts, affinity co-locates them, and topology spread balances zones.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Node, Pod } from "@corekube/api";
import { TestCluster, pod } from "./support.js";

const ZONE = "topology.kubernetes.io/zone";
const HOSTNAME = "kubernetes.io/hostname";

describe("scheduler: pods relative to pods", () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await TestCluster.start();
  }, 120_000);
  afterEach(async () => c?.reset());
  afterAll(async () => c?.stop());

  it("anti-affinity on the hostname puts 3 replicas on 3 nodes; the 4th waits", async () => {
    const ns = await c.namespace("anti");
    await c.addNodes({ namePrefix: "anti-", count: 3 });
    await c.scheduler();
    const replica = (i: number): Pod =>
      pod(ns, `web-${i}`, {
        labels: { app: "web" },
        spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "web" } }, topologyKey: HOSTNAME }] } } },
      });
    for (let i = 0; i < 4; i++) await c.createPod(replica(i));

    const placed = await c.waitAllScheduled(ns, 3);
    expect(new Set(placed.values()).size).toBe(3);
    const pending = ["web-0", "web-1", "web-2", "web-3"].filter((n) => !placed.has(n));
    expect(pending).toHaveLength(1);
    const cond = await c.waitUnschedulable(ns, pending[0]!, /^0\/3 nodes are available: 3 node\(s\) didn't match pod anti-affinity rules\./);
    // All replicas have the same priority: nobody can be preempted for it.
    expect(cond.message).toBe(
      "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
    );
    await c.waitEvent(ns, pending[0]!, "FailedScheduling", cond.message);

    // A pod without the label is not repelled.
    await c.createPod(pod(ns, "other"));
    await c.waitScheduled(ns, "other");

    // Deleting a replica frees its host for the waiting one.
    const gone = [...placed.keys()][0]!;
    await c.pods().delete(gone, { namespace: ns, gracePeriodSeconds: 0 });
    expect(await c.waitScheduled(ns, pending[0]!)).toBe(placed.get(gone));
  });

  it("an existing pod's anti-affinity keeps matching newcomers off its node", async () => {
    const ns = await c.namespace("symmetry");
    await c.addNodes({ namePrefix: "sym-", count: 2 });
    await c.scheduler();
    await c.createPod(
      pod(ns, "loner", {
        spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "web" } }, topologyKey: HOSTNAME }] } } },
      }),
    );
    const lonerNode = await c.waitScheduled(ns, "loner");
    // The web pods say nothing about the loner, yet they may not join it.
    for (let i = 0; i < 3; i++) await c.createPod(pod(ns, `web-${i}`, { labels: { app: "web" } }));
    const placed = await c.waitAllScheduled(ns, 3, "app=web");
    for (const node of placed.values()) expect(node).not.toBe(lonerNode);
  });

  it("affinity co-locates pods with a labelled pod, and waits while there is none", async () => {
    const ns = await c.namespace("affinity");
    await c.addNodes({ namePrefix: "co-", count: 3, perNode: (i) => ({ labels: { [ZONE]: `zone-${i}` } }) });
    await c.scheduler();
    const near = (app: string, key = HOSTNAME) => ({
      affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app } }, topologyKey: key }] } },
    });

    await c.createPod(pod(ns, "cache-orphan", { spec: near("db") }));
    await c.waitUnschedulable(
      ns,
      "cache-orphan",
      "0/3 nodes are available: 3 node(s) didn't match pod affinity rules. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    );

    await c.createPod(pod(ns, "db", { labels: { app: "db" }, cpu: "100m" }));
    const dbNode = await c.waitScheduled(ns, "db");
    // The waiting pod follows the db as soon as it is placed.
    expect(await c.waitScheduled(ns, "cache-orphan")).toBe(dbNode);
    for (let i = 0; i < 3; i++) await c.createPod(pod(ns, `cache-${i}`, { cpu: "100m", spec: near("db") }));
    for (let i = 0; i < 3; i++) expect(await c.waitScheduled(ns, `cache-${i}`)).toBe(dbNode);

    // Zone affinity: same zone as the db; here one node per zone, so the same node.
    await c.createPod(pod(ns, "same-zone", { spec: near("db", ZONE) }));
    expect(await c.waitScheduled(ns, "same-zone")).toBe(dbNode);
  });

  it("topology spread keeps zones within maxSkew 1, although one zone has 3 nodes and the other 1", async () => {
    const ns = await c.namespace("spread");
    const sim = await c.addNodes({ namePrefix: "spread-", count: 4, perNode: (i) => ({ labels: { [ZONE]: i < 3 ? "zone-a" : "zone-b" } }) });
    await c.scheduler();
    const zoneOf = new Map<string, string>();
    for (const name of sim.nodeNames()) zoneOf.set(name, ((await c.nodesApi().get(name)) as Node).metadata.labels![ZONE]!);

    const spread = (i: number): Pod =>
      pod(ns, `api-${i}`, {
        labels: { app: "api" },
        cpu: "100m",
        spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { app: "api" } } }] },
      });
    for (let i = 0; i < 6; i++) await c.createPod(spread(i));
    const placed = await c.waitAllScheduled(ns, 6, "app=api");
    const perZone = new Map<string, number>();
    for (const node of placed.values()) perZone.set(zoneOf.get(node)!, (perZone.get(zoneOf.get(node)!) ?? 0) + 1);
    expect(Object.fromEntries(perZone)).toEqual({ "zone-a": 3, "zone-b": 3 });

    // With zone-b's only node cordoned, a 7th pod may still go to zone-a (4 vs 3)...
    await c.nodesApi().patch("spread-3", { spec: { unschedulable: true } }, "strategic");
    await c.createPod(spread(6));
    expect(zoneOf.get(await c.waitScheduled(ns, "api-6"))).toBe("zone-a");
    // ...but an 8th would make the skew 2: it waits for zone-b.
    await c.createPod(spread(7));
    await c.waitUnschedulable(ns, "api-7", /^0\/4 nodes are available: 1 node\(s\) were unschedulable, 3 node\(s\) didn't match pod topology spread constraints\./);
    await c.nodesApi().patch("spread-3", { spec: { unschedulable: false } }, "strategic");
    expect(await c.waitScheduled(ns, "api-7")).toBe("spread-3");
  });
});
