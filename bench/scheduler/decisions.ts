// Book 11.2.3-11.2.4: the scheduling algorithm alone, in process: the cache, the snapshot and the
// default plugins deciding where each of N pods goes among M nodes (no API server, no binding).
// This is the scheduler's own ceiling; the end-to-end figure adds the API server's writes.
import type { Node, Pod } from "@corekube/api";
import { SchedulerCache } from "@corekube/scheduler/cache/cache";
import { defaultProfile } from "@corekube/scheduler/config";
import { CycleState } from "@corekube/scheduler/framework/types";
import { NodeSearch, schedulePod } from "@corekube/scheduler/core";
import { Snapshot } from "@corekube/scheduler/framework/node-info";
import { Framework } from "@corekube/scheduler/framework/runtime";
import { pureRegistry } from "@corekube/scheduler/plugins/registry";
import { FakeNominator } from "@corekube/scheduler/testing/fake-handle";

export interface DecisionResult {
  pods: number;
  nodes: number;
  seconds: number;
  podsPerSecond: number;
}

/** Schedules `pods` pods made by `makePod` onto `nodes` nodes; returns the decision rate. */
export function measureDecisions(nodes: Node[], pods: Pod[]): DecisionResult {
  const cache = new SchedulerCache();
  for (const n of nodes) cache.addNode(n);
  const snapshot = new Snapshot();
  const nominator = new FakeNominator();
  const registry = { ...pureRegistry(), DefaultBinder: () => ({ name: "DefaultBinder", bind: async () => null }) };
  const fwk = new Framework(registry, defaultProfile(), {
    snapshot: () => snapshot,
    nominator,
    client: { evictVictim: async () => undefined, setNominatedNodeName: async () => undefined },
  });
  const search = new NodeSearch();
  const start = performance.now();
  for (const pod of pods) {
    cache.updateSnapshot(snapshot);
    const { suggestedHost } = schedulePod(fwk, new CycleState(), pod, snapshot, search);
    const assumed = { ...pod, spec: { ...pod.spec, nodeName: suggestedHost } };
    cache.assumePod(assumed);
    cache.finishBinding(assumed);
  }
  const seconds = (performance.now() - start) / 1000;
  return { pods: pods.length, nodes: nodes.length, seconds, podsPerSecond: pods.length / seconds };
}
