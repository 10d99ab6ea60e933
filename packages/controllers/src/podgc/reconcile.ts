// Book 9.3 and 11.3: the pod garbage collector: pods bound to a node that no longer exists (no kubelet
// will ever finish them), unscheduled pods being deleted, and finished pods past a threshold go.
import type { Node, Pod } from "@corekube/api";
import { PODS } from "@corekube/client";
import type { Action, ObjectReader, ReconcileResult } from "../framework/types.js";

/** How long a node must stay missing before its pods are collected (upstream's quarantine). */
export const ORPHAN_QUARANTINE_MS = 40_000;
/** Upstream's --terminated-pod-gc-threshold default. */
export const DEFAULT_TERMINATED_POD_THRESHOLD = 12_500;

export interface PodGCState {
  pods: ObjectReader<Pod>;
  nodes: ObjectReader<Node>;
  /** For how long `node` has been seen missing (0 if it was just noticed); the wiring keeps this memory. */
  missingForMs(node: string): number;
  terminatedThreshold?: number;
  /** Overrides ORPHAN_QUARANTINE_MS (tests). */
  quarantineMs?: number;
}

const forceDelete = (p: Pod): Action => ({ verb: "delete", resource: PODS, namespace: p.metadata.namespace, name: p.metadata.name ?? "", uid: p.metadata.uid, gracePeriodSeconds: 0 });
const finished = (p: Pod) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";

/** One pass over every cached pod; returns the force deletions and when to look again. */
export function reconcilePodGC(s: PodGCState): ReconcileResult {
  const actions: Action[] = [];
  const pods = s.pods.list();
  let waitMs: number | undefined;
  const quarantine = s.quarantineMs ?? ORPHAN_QUARANTINE_MS;

  // Finished pods beyond the threshold: the oldest go first.
  const threshold = s.terminatedThreshold ?? DEFAULT_TERMINATED_POD_THRESHOLD;
  const done = pods.filter((p) => finished(p) && !p.metadata.deletionTimestamp);
  const gone = new Set<Pod>();
  if (threshold > 0 && done.length > threshold) {
    const oldest = [...done].sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""));
    for (const p of oldest.slice(0, done.length - threshold)) {
      gone.add(p);
      actions.push(forceDelete(p));
    }
  }

  for (const p of pods) {
    if (gone.has(p)) continue;
    const node = p.spec.nodeName;
    if (!node) {
      // Never scheduled and being deleted: no kubelet will confirm it, so nothing else would finish it.
      if (p.metadata.deletionTimestamp) actions.push(forceDelete(p));
      continue;
    }
    if (s.nodes.get(node)) continue;
    const missing = s.missingForMs(node);
    if (missing >= quarantine) {
      actions.push({ verb: "event", object: p, type: "Normal", reason: "PodGC", message: `Deleting pod ${p.metadata.namespace}/${p.metadata.name}: its node ${node} no longer exists` });
      actions.push(forceDelete(p));
    } else {
      const left = quarantine - missing;
      waitMs = waitMs === undefined ? left : Math.min(waitMs, left);
    }
  }
  return waitMs === undefined ? { actions } : { actions, requeueAfterMs: waitMs };
}
