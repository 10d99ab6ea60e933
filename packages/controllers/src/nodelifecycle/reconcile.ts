// Book 2.4 and 11.3: the node lifecycle controller's reconcile: a node whose kubelet went quiet (no
// Lease renewal, no status heartbeat) is marked Unknown and tainted; its pods leave when tolerance ends.
import { type Lease, NODE_LEASE_NAMESPACE, type Node, type NodeCondition, type Pod, rfc3339, type Taint, type Toleration } from "@corekube/api";
import { NODES, PODS } from "@corekube/client";
import { tolerates } from "@corekube/scheduler/plugins/helpers/taints";
import type { Action, Clock, ObjectReader, ReconcileResult } from "../framework/types.js";

export { NODE_LEASE_NAMESPACE };
export const TAINT_UNREACHABLE = "node.kubernetes.io/unreachable";
export const TAINT_NOT_READY = "node.kubernetes.io/not-ready";

/** The conditions the kubelet owns and this controller marks Unknown when the kubelet stops talking. */
export const KUBELET_CONDITIONS = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] as const;

export interface NodeLifecycleState {
  nodes: ObjectReader<Node>;
  leases: ObjectReader<Lease>;
  pods: ObjectReader<Pod>;
  clock: Clock;
  /** How long a node may stay silent before it is presumed lost (upstream's node-monitor-grace-period). */
  gracePeriodMs?: number;
  /**
   * The tolerationSeconds a pod gets for the not-ready and unreachable NoExecute taints when it has no
   * toleration of its own: what upstream's DefaultTolerationSeconds admission plugin would have added.
   */
  evictionDefaultTolerationSeconds?: number;
}

const time = (s: string | undefined): number => {
  const t = s ? Date.parse(s) : NaN;
  return Number.isFinite(t) ? t : -Infinity;
};

/** The latest sign of life: the Lease's renewTime or the Ready condition's heartbeat (creation if neither). */
export function lastHeartbeat(node: Node, lease: Lease | undefined): number {
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  const seen = Math.max(time(lease?.spec.renewTime), time(ready?.lastHeartbeatTime));
  return seen === -Infinity ? time(node.metadata.creationTimestamp) : seen;
}

/** The node's conditions with the kubelet's ones turned Unknown; `changed` if any was not Unknown yet. */
function markUnknown(node: Node, now: Date): { conditions: NodeCondition[]; changed: boolean } {
  const conditions = (node.status?.conditions ?? []).map((c) => ({ ...c }));
  let changed = false;
  for (const type of KUBELET_CONDITIONS) {
    const c = conditions.find((x) => x.type === type);
    if (!c) {
      changed = true;
      conditions.push({
        type,
        status: "Unknown",
        reason: "NodeStatusNeverUpdated",
        message: "Kubelet never posted node status.",
        lastHeartbeatTime: node.metadata.creationTimestamp,
        lastTransitionTime: rfc3339(now),
      });
    } else if (c.status !== "Unknown") {
      changed = true;
      c.status = "Unknown";
      c.reason = "NodeStatusUnknown";
      c.message = "Kubelet stopped posting node status.";
      c.lastTransitionTime = rfc3339(now);
    }
  }
  return { conditions, changed };
}

/** The taint list for a node whose Ready status is `ready`: unreachable for Unknown, not-ready for False. */
function desiredTaints(current: readonly Taint[], ready: string | undefined, now: Date): Taint[] {
  if (ready === undefined) return [...current];
  const want = ready === "Unknown" ? TAINT_UNREACHABLE : ready === "False" ? TAINT_NOT_READY : undefined;
  const out = current.filter((t) => t.key === want || (t.key !== TAINT_UNREACHABLE && t.key !== TAINT_NOT_READY) || (t.effect !== "NoSchedule" && t.effect !== "NoExecute"));
  if (want) {
    for (const effect of ["NoSchedule", "NoExecute"] as const) {
      if (!out.some((t) => t.key === want && t.effect === effect)) out.push({ key: want, effect, timeAdded: rfc3339(now) });
    }
  }
  return out;
}

const sameTaints = (a: readonly Taint[], b: readonly Taint[]) => a.length === b.length && a.every((t, i) => JSON.stringify(t) === JSON.stringify(b[i]));

/**
 * How long the pod may stay with this NoExecute taint: its tolerationSeconds (none means forever), the
 * default for not-ready/unreachable when it has no toleration, and 0 when nothing tolerates the taint.
 */
export function toleranceSeconds(tolerations: readonly Toleration[] | undefined, taint: Taint, defaultSeconds: number): number {
  const t = (tolerations ?? []).find((x) => tolerates(x, taint));
  if (t) return t.tolerationSeconds == null ? Infinity : Math.max(0, t.tolerationSeconds);
  return taint.key === TAINT_UNREACHABLE || taint.key === TAINT_NOT_READY ? defaultSeconds : 0;
}

export function reconcileNodeLifecycle(nodeName: string, s: NodeLifecycleState): ReconcileResult {
  const node = s.nodes.get(nodeName);
  if (!node) return { actions: [] };
  const now = s.clock.now();
  const grace = s.gracePeriodMs ?? 40_000;
  const defaultSeconds = s.evictionDefaultTolerationSeconds ?? 300;
  const actions: Action[] = [];
  const waits: number[] = [];

  const seen = lastHeartbeat(node, s.leases.get(nodeName, NODE_LEASE_NAMESPACE));
  const silent = now.getTime() - seen > grace;
  const readyNow = node.status?.conditions?.find((c) => c.type === "Ready")?.status;
  let statusWritten = false;
  if (silent) {
    const { conditions, changed } = markUnknown(node, now);
    if (changed) {
      statusWritten = true;
      actions.push({ verb: "updateStatus", resource: NODES, object: { ...node, status: { ...(node.status ?? {}), conditions } } });
      if (readyNow !== "Unknown") actions.push({ verb: "event", object: node, type: "Normal", reason: "NodeNotReady", message: `Node ${nodeName} status is now: NodeNotReady` });
    }
  } else {
    // Look again the moment this node would overstay its grace period.
    waits.push(seen + grace - now.getTime() + 1);
  }

  const current = node.spec?.taints ?? [];
  const taints = desiredTaints(current, silent ? "Unknown" : readyNow, now);
  if (!sameTaints(current, taints)) {
    // The status write changes resourceVersion; the taint update follows on the next pass, from fresh state.
    if (statusWritten) waits.push(1);
    else actions.push({ verb: "update", resource: NODES, object: { ...node, spec: { ...(node.spec ?? {}), taints } } });
  }

  // Evict pods whose tolerance of a NoExecute taint has run out since the taint was added.
  const noExecute = taints.filter((t) => t.effect === "NoExecute");
  if (noExecute.length > 0) {
    for (const pod of s.pods.list()) {
      if (pod.spec.nodeName !== nodeName || pod.metadata.deletionTimestamp) continue;
      let deadline = Infinity;
      for (const taint of noExecute) {
        const added = taint.timeAdded ? time(taint.timeAdded) : now.getTime();
        deadline = Math.min(deadline, added + toleranceSeconds(pod.spec.tolerations, taint, defaultSeconds) * 1000);
      }
      if (deadline <= now.getTime()) {
        const ns = pod.metadata.namespace;
        actions.push({ verb: "event", object: pod, type: "Normal", reason: "TaintManagerEviction", message: `Marking for deletion Pod ${ns}/${pod.metadata.name}` });
        actions.push({ verb: "delete", resource: PODS, namespace: ns, name: pod.metadata.name ?? "", uid: pod.metadata.uid });
      } else if (deadline !== Infinity) {
        waits.push(deadline - now.getTime());
      }
    }
  }

  const result: ReconcileResult = { actions };
  if (waits.length > 0) result.requeueAfterMs = Math.max(1, Math.min(...waits));
  return result;
}
