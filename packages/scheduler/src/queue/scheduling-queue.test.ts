// Book 11.2.3: tests for the scheduling queue: priority order, backoff, unschedulable pods and the
// cluster events (with queueing hints) that bring them back, gates, and nominated pods.
import { describe, expect, it } from "vitest";
import type { Pod } from "@corekube/api";
import { PodInfo } from "../framework/node-info.js";
import { Action, type ClusterEvent, type ClusterEventWithHint, type PreEnqueuePlugin, unschedulable } from "../framework/types.js";
import { makeNode, makePod } from "../testing/builders.js";
import { FakeClock } from "./clock.js";
import { KeyedHeap, PriorityQueue, type PriorityQueueOptions, type QueuedPodInfo, eventMatches, podUpdateEvent } from "./scheduling-queue.js";

const NODE_ADD: ClusterEvent = { resource: "Node", action: Action.Add, label: "NodeAdd" };
const NODE_TAINT: ClusterEvent = { resource: "Node", action: Action.UpdateNodeTaint, label: "NodeTaintChange" };

/** A PreEnqueue plugin like SchedulingGates: rejects pods that still have gates. */
const schedulingGates: PreEnqueuePlugin = {
  name: "SchedulingGates",
  preEnqueue: (pod) => ((pod.spec.schedulingGates?.length ?? 0) > 0 ? unschedulable("waiting for scheduling gates") : null),
};

function setup(opts: PriorityQueueOptions = {}) {
  const clock = new FakeClock(1_000_000);
  const q = new PriorityQueue({ clock, ...opts });
  return { clock, q };
}

function names(q: PriorityQueue, queue: string): string[] {
  return q
    .podsIn()
    .filter((p) => p.queue === queue)
    .map((p) => p.name);
}

/** Pops a pod and reports it unschedulable because of `plugins`, as the scheduling loop would. */
async function popAndFail(q: PriorityQueue, plugins: string[], opts: { pending?: string[]; between?: () => void } = {}): Promise<QueuedPodInfo> {
  const qpi = (await q.pop())!;
  const cycle = q.schedulingCycle();
  opts.between?.();
  for (const p of plugins) qpi.unschedulablePlugins.add(p);
  for (const p of opts.pending ?? []) qpi.pendingPlugins.add(p);
  q.addUnschedulableIfNotPresent(qpi, cycle);
  return qpi;
}

describe("FakeClock", () => {
  it("fires due timers in time order with now() at their due time, including timers they set", () => {
    const c = new FakeClock(100);
    const fired: string[] = [];
    c.setTimeout(() => fired.push(`b@${c.now()}`), 20);
    c.setTimeout(() => {
      fired.push(`a@${c.now()}`);
      c.setTimeout(() => fired.push(`c@${c.now()}`), 5);
    }, 10);
    const cancelled = c.setTimeout(() => fired.push("x"), 15);
    c.clearTimeout(cancelled);
    c.setTimeout(() => fired.push("late"), 50);
    c.advance(30);
    expect(fired).toEqual(["a@110", "c@115", "b@120"]);
    expect(c.now()).toBe(130);
    expect(c.pendingTimers()).toBe(1);
    c.advance(20);
    expect(fired.at(-1)).toBe("late");
  });
});

describe("KeyedHeap", () => {
  it("pops in order and supports delete and in-place update by key", () => {
    const h = new KeyedHeap<{ k: string; v: number }>(
      (x) => x.k,
      (a, b) => a.v < b.v,
    );
    const values = [5, 3, 9, 1, 7, 2, 8, 6, 4, 0];
    for (const v of values) h.push({ k: `k${v}`, v });
    expect(h.delete("k4")?.v).toBe(4);
    const k9 = h.get("k9")!;
    k9.v = -1;
    h.update("k9");
    h.push({ k: "k3", v: 100 }); // replaces k3
    const out: number[] = [];
    for (let x = h.pop(); x; x = h.pop()) out.push(x.v);
    expect(out).toEqual([-1, 0, 1, 2, 5, 6, 7, 8, 100]);
  });
});

describe("eventMatches and podUpdateEvent", () => {
  it("matches resources (Pod covers assigned and unscheduled pods, * covers all) and overlapping actions", () => {
    expect(eventMatches({ resource: "Node", action: Action.Add | Action.UpdateNodeLabel }, NODE_ADD)).toBe(true);
    expect(eventMatches({ resource: "Node", action: Action.UpdateNodeLabel }, NODE_ADD)).toBe(false);
    expect(eventMatches({ resource: "Pod", action: Action.Delete }, { resource: "AssignedPod", action: Action.Delete })).toBe(true);
    expect(eventMatches({ resource: "AssignedPod", action: Action.Delete }, { resource: "UnscheduledPod", action: Action.Delete })).toBe(false);
    expect(eventMatches({ resource: "*", action: Action.Add }, NODE_ADD)).toBe(true);
  });

  it("classifies pod updates", () => {
    const old = makePod("p", { labels: { a: "1" }, cpu: "2", schedulingGates: ["g"] });
    expect(podUpdateEvent(old, makePod("p", { labels: { a: "2" }, cpu: "2", schedulingGates: ["g"] })).action).toBe(Action.UpdatePodLabel);
    expect(podUpdateEvent(old, makePod("p", { labels: { a: "1" }, cpu: "1", schedulingGates: ["g"] })).action).toBe(Action.UpdatePodScaleDown);
    expect(podUpdateEvent(old, makePod("p", { labels: { a: "1" }, cpu: "2" })).action).toBe(Action.UpdatePodSchedulingGatesEliminated);
    const tol = makePod("p", { labels: { a: "1" }, cpu: "2", schedulingGates: ["g"], tolerations: [{ key: "k", operator: "Exists" }] });
    expect(podUpdateEvent(old, tol).action).toBe(Action.UpdatePodTolerations);
    const other = makePod("p", { labels: { a: "1" }, cpu: "3", schedulingGates: ["g"] });
    expect(podUpdateEvent(old, other)).toEqual({ resource: "UnscheduledPod", action: Action.Update, label: "UnscheduledPodUpdate" });
  });
});

describe("PriorityQueue: activeQ and pop", () => {
  it("pops higher priority first, then the pod that was queued earlier", async () => {
    const { clock, q } = setup();
    q.add(makePod("low-old", { priority: 1 }));
    clock.advance(10);
    q.add(makePod("high", { priority: 100 }));
    clock.advance(10);
    q.add(makePod("low-new", { priority: 1 }));
    q.add(makePod("low-newest", { priority: 1 }));
    q.add(makePod("mid", { priority: 50 }));
    const order: string[] = [];
    for (let i = 0; i < 5; i++) order.push((await q.pop())!.podInfo.pod.metadata.name!);
    expect(order).toEqual(["high", "mid", "low-old", "low-new", "low-newest"]);
  });

  it("counts attempts and scheduling cycles, and keeps a popped pod in flight until done", async () => {
    const { q } = setup();
    q.add(makePod("a"));
    q.add(makePod("b"));
    expect(q.schedulingCycle()).toBe(0);
    const a = (await q.pop())!;
    expect(a.attempts).toBe(1);
    expect(q.schedulingCycle()).toBe(1);
    expect(q.podsIn().find((p) => p.name === "a")?.queue).toBe("inFlight");
    q.done(a.podInfo.uid);
    expect(q.podsIn().some((p) => p.name === "a")).toBe(false);
    await q.pop();
    expect(q.schedulingCycle()).toBe(2);
  });

  it("pop waits for a pod, and a waiting pop gets the best pod added in the same tick", async () => {
    const { q } = setup();
    let got: QueuedPodInfo | null | undefined;
    const p = q.pop().then((r) => (got = r));
    await Promise.resolve();
    expect(got).toBeUndefined();
    q.add(makePod("low", { priority: 1 }));
    q.add(makePod("high", { priority: 10 }));
    await p;
    expect(got!.podInfo.pod.metadata.name).toBe("high");
    expect(q.pendingPods().active).toBe(1);
  });

  it("close resolves waiting and later pops with null and stops the timers", async () => {
    const { clock, q } = setup();
    q.run();
    expect(clock.pendingTimers()).toBe(2);
    const waiting = q.pop();
    q.close();
    expect(await waiting).toBeNull();
    q.add(makePod("late"));
    expect(await q.pop()).toBeNull();
    expect(clock.pendingTimers()).toBe(0);
  });

  it("update replaces a pod in activeQ in place; delete removes it", async () => {
    const { q } = setup();
    const v1 = makePod("p", { labels: { v: "1" } });
    const v2 = makePod("p", { labels: { v: "2" } });
    q.add(v1);
    q.add(makePod("other"));
    q.update(v1, v2);
    expect(q.pendingPods().active).toBe(2);
    q.delete(makePod("other"));
    expect(q.pendingPods().active).toBe(1);
    expect((await q.pop())!.podInfo.pod.metadata.labels).toEqual({ v: "2" });
  });

  it("update of a pod the queue does not know adds it", () => {
    const { q } = setup();
    const p = makePod("p");
    q.update(p, p);
    expect(names(q, "active")).toEqual(["p"]);
  });
});

describe("PriorityQueue: backoff", () => {
  it("doubles the backoff per attempt up to the maximum", () => {
    const { q } = setup({ podInitialBackoffMs: 1000, podMaxBackoffMs: 10000 });
    expect([0, 1, 2, 3, 4, 5, 10].map((a) => q.backoffDurationMs(a))).toEqual([0, 1000, 2000, 4000, 8000, 10000, 10000]);
  });

  it("a pod that failed with an Error waits out its backoff, then the 1 s flush moves it to activeQ", async () => {
    const { clock, q } = setup();
    q.run();
    q.add(makePod("p"));
    await popAndFail(q, []); // no rejecting plugin: an Error
    expect(q.pendingPods()).toEqual({ active: 0, backoff: 1, unschedulable: 0, gated: 0 });
    clock.advance(999);
    expect(q.pendingPods().backoff).toBe(1);
    clock.advance(1);
    expect(q.pendingPods()).toEqual({ active: 1, backoff: 0, unschedulable: 0, gated: 0 });
    const again = (await q.pop())!;
    expect(again.attempts).toBe(2);
    // Second failure: 2 s of backoff.
    q.addUnschedulableIfNotPresent(again, q.schedulingCycle());
    clock.advance(1000);
    expect(q.pendingPods().backoff).toBe(1);
    clock.advance(1000);
    expect(q.pendingPods().active).toBe(1);
  });

  it("backoffQ releases pods in order of backoff expiry", async () => {
    const { clock, q } = setup();
    q.add(makePod("a"));
    const a = (await q.pop())!;
    a.attempts = 3; // 4 s backoff
    q.addUnschedulableIfNotPresent(a, q.schedulingCycle());
    q.add(makePod("b"));
    await popAndFail(q, []); // 1 s backoff
    expect(names(q, "backoff")).toEqual(["b", "a"]);
    clock.advance(1000);
    q.flushBackoffQCompleted();
    expect(names(q, "active")).toEqual(["b"]);
    expect(names(q, "backoff")).toEqual(["a"]);
  });
});

describe("PriorityQueue: unschedulable pods and cluster events", () => {
  const hints = new Map<string, ClusterEventWithHint[]>([
    ["NodeResourcesFit", [{ event: { resource: "Node", action: Action.Add | Action.UpdateNodeAllocatable } }]],
    [
      "TaintToleration",
      [
        {
          event: { resource: "Node", action: Action.Add | Action.UpdateNodeTaint },
          // Only a node without taints helps in this test.
          hint: (_pod, _old, newObj) => (((newObj as { spec?: { taints?: unknown[] } })?.spec?.taints?.length ?? 0) === 0 ? "Queue" : "Skip"),
        },
      ],
    ],
    ["InterPodAffinity", [{ event: { resource: "Pod", action: Action.Add | Action.UpdatePodLabel | Action.Delete } }]],
    ["VolumeBinding", [{ event: { resource: "*", action: Action.Add } }]],
    ["Pending", [{ event: { resource: "Node", action: Action.Add } }]],
    ["Labels", [{ event: { resource: "UnscheduledPod", action: Action.UpdatePodLabel } }]],
  ]);

  it("a rejected pod waits in unschedulablePods when nothing happened during its attempt", async () => {
    const { q } = setup({ hints });
    q.add(makePod("p"));
    await popAndFail(q, ["NodeResourcesFit"]);
    expect(q.pendingPods()).toEqual({ active: 0, backoff: 0, unschedulable: 1, gated: 0 });
  });

  it("a relevant event during the attempt sends the rejected pod to backoffQ; an irrelevant one does not", async () => {
    const { q } = setup({ hints });
    q.add(makePod("relevant"));
    await popAndFail(q, ["NodeResourcesFit"], { between: () => q.moveAllToActiveOrBackoffQueue(NODE_ADD, undefined, makeNode("n1")) });
    expect(names(q, "backoff")).toEqual(["relevant"]);

    q.add(makePod("irrelevant"));
    await popAndFail(q, ["NodeResourcesFit"], { between: () => q.moveAllToActiveOrBackoffQueue(NODE_TAINT, undefined, makeNode("n1")) });
    expect(names(q, "unschedulable")).toEqual(["irrelevant"]);
  });

  it("an event before the pod was popped does not count for its attempt", async () => {
    const { q } = setup({ hints });
    q.add(makePod("p"));
    q.moveAllToActiveOrBackoffQueue(NODE_ADD, undefined, makeNode("n"));
    await popAndFail(q, ["NodeResourcesFit"]);
    expect(names(q, "unschedulable")).toEqual(["p"]);
  });

  it("for a pod no longer tracked in flight, any move request since its cycle counts", async () => {
    const { q } = setup({ hints });
    q.add(makePod("p"));
    const qpi = (await q.pop())!;
    const cycle = q.schedulingCycle();
    q.done(qpi.podInfo.uid);
    q.moveAllToActiveOrBackoffQueue(NODE_TAINT);
    qpi.unschedulablePlugins.add("NodeResourcesFit");
    q.addUnschedulableIfNotPresent(qpi, cycle);
    expect(names(q, "backoff")).toEqual(["p"]);
  });

  it("a failed pod whose backoff already ended when an event came goes straight to activeQ", async () => {
    const { q } = setup({ hints, podInitialBackoffMs: 0 });
    q.add(makePod("p"));
    await popAndFail(q, ["NodeResourcesFit"], { between: () => q.moveAllToActiveOrBackoffQueue(NODE_ADD, undefined, makeNode("n")) });
    expect(names(q, "active")).toEqual(["p"]);
  });

  it("moveAll moves pods whose rejecting plugin registered the event, after their backoff", async () => {
    const { clock, q } = setup({ hints });
    for (const [name, plugin] of [
      ["fit", "NodeResourcesFit"],
      ["affinity", "InterPodAffinity"],
    ] as const) {
      q.add(makePod(name));
      await popAndFail(q, [plugin]);
    }
    q.moveAllToActiveOrBackoffQueue(NODE_ADD, undefined, makeNode("n"));
    // Just failed: still backing off.
    expect(names(q, "backoff")).toEqual(["fit"]);
    expect(names(q, "unschedulable")).toEqual(["affinity"]);

    clock.advance(2000);
    q.assignedPodAdded(makePod("bound", { nodeName: "n" }));
    // Backoff over: straight to activeQ.
    expect(names(q, "active")).toEqual(["affinity"]);
  });

  it("asks the plugin's queueing hint before moving a pod", async () => {
    const { clock, q } = setup({ hints });
    q.add(makePod("p"));
    await popAndFail(q, ["TaintToleration"]);
    clock.advance(5000);
    const tainted = makeNode("n", { taints: [{ key: "k", effect: "NoSchedule" }] });
    q.moveAllToActiveOrBackoffQueue(NODE_TAINT, makeNode("n"), tainted);
    expect(names(q, "unschedulable")).toEqual(["p"]);
    q.moveAllToActiveOrBackoffQueue(NODE_TAINT, tainted, makeNode("n"));
    expect(names(q, "active")).toEqual(["p"]);
  });

  it("a wildcard registration matches any resource", async () => {
    const { clock, q } = setup({ hints });
    q.add(makePod("volume"));
    await popAndFail(q, ["VolumeBinding"]);
    clock.advance(5000);
    q.moveAllToActiveOrBackoffQueue({ resource: "PodDisruptionBudget", action: Action.Add, label: "PDBAdd" });
    expect(names(q, "active")).toEqual(["volume"]);

  });

  it("preCheck narrows the pods an event may move", async () => {
    const { clock, q } = setup({ hints });
    for (const name of ["a", "b"]) {
      q.add(makePod(name));
      await popAndFail(q, ["NodeResourcesFit"]);
    }
    clock.advance(5000);
    q.moveAllToActiveOrBackoffQueue(NODE_ADD, undefined, makeNode("n"), (pod: Pod) => pod.metadata.name === "b");
    expect(names(q, "active")).toEqual(["b"]);
    expect(names(q, "unschedulable")).toEqual(["a"]);
  });

  it("a Queue hint from a plugin that returned Pending skips the backoff", async () => {
    const { q } = setup({ hints });
    q.add(makePod("p"));
    await popAndFail(q, [], { pending: ["Pending"] });
    expect(names(q, "unschedulable")).toEqual(["p"]);
    q.moveAllToActiveOrBackoffQueue(NODE_ADD, undefined, makeNode("n"));
    expect(names(q, "active")).toEqual(["p"]);
  });

  it("pods left in unschedulablePods longer than the limit are retried by the 30 s flush", async () => {
    const { clock, q } = setup({ hints, podMaxInUnschedulablePodsDurationMs: 60_000 });
    q.run();
    q.add(makePod("p"));
    await popAndFail(q, ["NodeResourcesFit"]);
    clock.advance(60_000);
    expect(names(q, "unschedulable")).toEqual(["p"]);
    clock.advance(30_000);
    expect(names(q, "active")).toEqual(["p"]);
    q.close();
  });

  it("an update to an unschedulable pod moves it only when a rejecting plugin's event matches", async () => {
    const { clock, q } = setup({ hints });
    const v1 = makePod("p", { labels: { v: "1" } });
    q.add(v1);
    await popAndFail(q, ["Labels"]);
    clock.advance(5000);
    const statusOnly = { ...v1, status: { ...v1.status, conditions: [{ type: "PodScheduled", status: "False" as const }] } };
    q.update(v1, statusOnly);
    expect(names(q, "unschedulable")).toEqual(["p"]);
    const v2 = makePod("p", { labels: { v: "2" } });
    q.update(statusOnly, v2);
    expect(names(q, "active")).toEqual(["p"]);
    expect((await q.pop())!.podInfo.pod.metadata.labels).toEqual({ v: "2" });
  });

  it("an update while the pod is being scheduled is kept and counts as an event for it", async () => {
    const { q } = setup({ hints, podInitialBackoffMs: 0 });
    const v1 = makePod("p", { labels: { v: "1" } });
    q.add(v1);
    const qpi = (await q.pop())!;
    const v2 = makePod("p", { labels: { v: "2" } });
    q.update(v1, v2);
    expect(q.pendingPods().active).toBe(0);
    qpi.unschedulablePlugins.add("Labels");
    q.addUnschedulableIfNotPresent(qpi, q.schedulingCycle());
    expect(names(q, "active")).toEqual(["p"]);
    expect((await q.pop())!.podInfo.pod.metadata.labels).toEqual({ v: "2" });
  });

  it("a pod deleted while being scheduled is not queued again", async () => {
    const { q } = setup();
    const p = makePod("p");
    q.add(p);
    const qpi = (await q.pop())!;
    q.delete(p);
    q.addUnschedulableIfNotPresent(qpi, q.schedulingCycle());
    expect(q.podsIn()).toEqual([]);
  });

  it("refuses to add a pod that is already queued", async () => {
    const { q } = setup();
    const p = makePod("p");
    q.add(p);
    const qpi = (await q.pop())!;
    q.add(p);
    expect(() => q.addUnschedulableIfNotPresent(qpi, q.schedulingCycle())).toThrow(/already present/);
  });

  it("delete removes a pod from backoffQ and unschedulablePods", async () => {
    const { q } = setup({ hints });
    q.add(makePod("a"));
    await popAndFail(q, []);
    q.add(makePod("b"));
    await popAndFail(q, ["NodeResourcesFit"]);
    expect(q.pendingPods()).toMatchObject({ backoff: 1, unschedulable: 1 });
    q.delete(makePod("a"));
    q.delete(makePod("b"));
    expect(q.pendingPods()).toEqual({ active: 0, backoff: 0, unschedulable: 0, gated: 0 });
  });

  it("activate moves pods to activeQ regardless of backoff", async () => {
    const { q } = setup({ hints });
    q.add(makePod("a"));
    await popAndFail(q, []);
    q.add(makePod("b"));
    await popAndFail(q, ["NodeResourcesFit"]);
    q.activate([makePod("a"), makePod("b")]);
    expect(names(q, "active").sort()).toEqual(["a", "b"]);
  });
});

describe("PriorityQueue: PreEnqueue gates", () => {
  const gateHints = new Map<string, ClusterEventWithHint[]>([
    ["SchedulingGates", [{ event: { resource: "UnscheduledPod", action: Action.UpdatePodSchedulingGatesEliminated } }]],
  ]);

  it("keeps a gated pod out of activeQ until an update removes the gates", async () => {
    const { q } = setup({ preEnqueuePlugins: [schedulingGates], hints: gateHints });
    const gated = makePod("p", { schedulingGates: ["a", "b"] });
    q.add(gated);
    expect(q.pendingPods()).toEqual({ active: 0, backoff: 0, unschedulable: 0, gated: 1 });
    expect(q.podsIn()[0]).toMatchObject({ queue: "gated", gatedBy: "SchedulingGates" });

    const oneLeft = makePod("p", { schedulingGates: ["b"] });
    q.update(gated, oneLeft);
    expect(q.pendingPods().gated).toBe(1);

    const open = makePod("p");
    q.update(oneLeft, open);
    expect(q.pendingPods()).toEqual({ active: 1, backoff: 0, unschedulable: 0, gated: 0 });
    const popped = (await q.pop())!;
    expect(popped.attempts).toBe(1);
    expect(popped.gatedBy).toBeUndefined();
  });

  it("cluster events do not release a pod its PreEnqueue plugin still rejects", () => {
    const { clock, q } = setup({ preEnqueuePlugins: [schedulingGates], hints: gateHints });
    q.add(makePod("p", { schedulingGates: ["a"] }));
    q.moveAllToActiveOrBackoffQueue({ resource: "*", action: Action.All, label: "ForceActivate" });
    clock.advance(600_000);
    q.flushUnschedulablePodsLeftover();
    expect(q.pendingPods().gated).toBe(1);
  });

  it("re-checks a gated pod when its plugin's event arrives", () => {
    let open = false;
    const external: PreEnqueuePlugin = { name: "External", preEnqueue: () => (open ? null : unschedulable("closed")) };
    const hints = new Map<string, ClusterEventWithHint[]>([["External", [{ event: { resource: "Namespace", action: Action.Update } }]]]);
    const { q } = setup({ preEnqueuePlugins: [external], hints });
    q.add(makePod("p"));
    expect(q.pendingPods().gated).toBe(1);
    open = true;
    q.moveAllToActiveOrBackoffQueue(NODE_ADD);
    expect(q.pendingPods().gated).toBe(1);
    q.moveAllToActiveOrBackoffQueue({ resource: "Namespace", action: Action.Update, label: "NamespaceUpdate" });
    expect(q.pendingPods().active).toBe(1);
  });
});

describe("PriorityQueue: nominated pods", () => {
  it("records status.nominatedNodeName of pods it adds and forgets them on delete", () => {
    const { q } = setup();
    const p = makePod("p", { nominatedNodeName: "n1" });
    q.add(p);
    expect(q.nominatedPodsForNode("n1").map((pi) => pi.pod.metadata.name)).toEqual(["p"]);
    q.delete(p);
    expect(q.nominatedPodsForNode("n1")).toEqual([]);
  });

  it("an explicit nomination overrides the status and moves between nodes", () => {
    const { q } = setup();
    const pi = new PodInfo(makePod("p"));
    q.addNominatedPod(pi, "n1");
    q.addNominatedPod(new PodInfo(makePod("other")), "n1");
    q.addNominatedPod(pi, "n2");
    expect(q.nominatedPodsForNode("n1").map((x) => x.pod.metadata.name)).toEqual(["other"]);
    expect(q.nominatedPodsForNode("n2").map((x) => x.pod.metadata.name)).toEqual(["p"]);
    q.deleteNominatedPodIfExists(makePod("other"));
    expect(q.nominatedPodsForNode("n1")).toEqual([]);
  });

  it("an update without nominatedNodeName keeps a nomination made in memory; one with it follows the status", () => {
    const { q } = setup();
    const v1 = makePod("p");
    q.addNominatedPod(new PodInfo(v1), "n1");
    const v2 = makePod("p", { labels: { x: "y" } });
    q.updateNominatedPod(v1, new PodInfo(v2));
    expect(q.nominatedPodsForNode("n1").map((x) => x.pod.metadata.labels)).toEqual([{ x: "y" }]);
    const v3 = makePod("p", { nominatedNodeName: "n2" });
    q.updateNominatedPod(v2, new PodInfo(v3));
    expect(q.nominatedPodsForNode("n1")).toEqual([]);
    expect(q.nominatedPodsForNode("n2")).toHaveLength(1);
  });

  it("does not nominate a pod that is already bound", () => {
    const { q } = setup();
    q.addNominatedPod(new PodInfo(makePod("p", { nodeName: "n1" })), "n2");
    expect(q.nominatedPodsForNode("n2")).toEqual([]);
  });
});
