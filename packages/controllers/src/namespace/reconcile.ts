// Book 11.3: the namespace controller's reconcile: when a namespace is deleted it empties it, object by
// object, and only then lifts the "kubernetes" finalizer so the API server can remove the namespace.
import type { KubeObject } from "@corekube/api";
import { rfc3339 } from "@corekube/api";
import { NAMESPACES, type ResourceType } from "@corekube/client";
import { type Action, type Clock, type ObjectReader, type ReconcileResult, nothingToDo, realClock } from "../framework/types.js";

/** The spec.finalizers entry the namespace controller owns. */
export const KUBERNETES_FINALIZER = "kubernetes";
/** How soon to look again while content remains. */
export const CONTENT_REMAINING_REQUEUE_MS = 1000;

export interface NamespaceCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface Namespace extends KubeObject {
  spec?: { finalizers?: string[] };
  status?: { phase?: "Active" | "Terminating"; conditions?: NamespaceCondition[] };
}

export interface NamespaceState {
  namespaces: ObjectReader;
  /** Every namespaced resource the controller empties, with the informer cache that lists it. */
  contents: { resource: ResourceType; reader: ObjectReader }[];
  clock?: Clock;
}

const groupResource = (rt: ResourceType): string => (rt.group === "" ? rt.resource : `${rt.resource}.${rt.group}`);

/**
 * Reconcile the namespace `name`. Live namespaces need nothing. A deleted one (deletionTimestamp set)
 * gets a delete for each object still in it, conditions saying what remains, and a requeue; once it is
 * empty the result ends with an `update` of the namespace whose spec.finalizers lacks "kubernetes".
 * The wiring must send that update to the namespaces/<name>/finalize subresource (PUT), the only path
 * through which the API server lets spec.finalizers change.
 */
export function reconcileNamespace(name: string, s: NamespaceState): ReconcileResult {
  const ns = s.namespaces.get(name) as Namespace | undefined;
  if (!ns || !ns.metadata.deletionTimestamp) return nothingToDo();
  const finalizers = ns.spec?.finalizers ?? [];
  if (!finalizers.includes(KUBERNETES_FINALIZER)) return nothingToDo();
  const now = rfc3339((s.clock ?? realClock).now());

  const actions: Action[] = [];
  const remaining: string[] = [];
  const finalizerCounts = new Map<string, number>();
  for (const { resource, reader } of s.contents) {
    if (!resource.namespaced) continue;
    const objs = reader.list({ namespace: name });
    if (objs.length === 0) continue;
    remaining.push(`${groupResource(resource)} has ${objs.length} resource instances`);
    for (const o of objs) {
      for (const f of o.metadata.finalizers ?? []) finalizerCounts.set(f, (finalizerCounts.get(f) ?? 0) + 1);
      // Already on its way out (graceful pod termination, finalizers): asking again changes nothing.
      if (o.metadata.deletionTimestamp) continue;
      actions.push({
        verb: "delete",
        resource,
        namespace: name,
        name: o.metadata.name ?? "",
        ...(o.metadata.uid ? { uid: o.metadata.uid } : {}),
        propagationPolicy: "Background",
      });
    }
  }

  const finalizerMsgs = [...finalizerCounts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([f, n]) => `${f} in ${n} resource instances`);
  const wanted: NamespaceCondition[] = [
    remaining.length > 0
      ? { type: "NamespaceContentRemaining", status: "True", reason: "SomeResourcesRemain", message: `Some resources are remaining: ${remaining.join(", ")}` }
      : { type: "NamespaceContentRemaining", status: "False", reason: "ContentRemoved", message: "All content successfully removed" },
    finalizerMsgs.length > 0
      ? {
          type: "NamespaceFinalizersRemaining",
          status: "True",
          reason: "SomeFinalizersRemain",
          message: `Some content in the namespace has finalizers remaining: ${finalizerMsgs.join(", ")}`,
        }
      : { type: "NamespaceFinalizersRemaining", status: "False", reason: "ContentHasNoFinalizers", message: "All content-preserving finalizers finished" },
  ];
  const statusUpdate = withConditions(ns, wanted, now);
  // Status first: once finalized, the namespace may vanish and a later status write would fail.
  if (statusUpdate) actions.unshift({ verb: "updateStatus", resource: NAMESPACES, object: statusUpdate });

  if (remaining.length > 0) return { actions, requeueAfterMs: CONTENT_REMAINING_REQUEUE_MS };

  const finalized = structuredClone(statusUpdate ?? ns) as Namespace;
  finalized.spec = { ...(finalized.spec ?? {}), finalizers: finalizers.filter((f) => f !== KUBERNETES_FINALIZER) };
  actions.push({ verb: "update", resource: NAMESPACES, object: finalized });
  return { actions };
}

/**
 * A copy of `ns` with phase Terminating and `wanted` merged into its conditions, or undefined when that
 * changes nothing. A condition's lastTransitionTime moves only when its status does.
 */
function withConditions(ns: Namespace, wanted: NamespaceCondition[], now: string): Namespace | undefined {
  const current = ns.status?.conditions ?? [];
  let changed = ns.status?.phase !== "Terminating";
  const next = current.filter((c) => !wanted.some((w) => w.type === c.type));
  for (const w of wanted) {
    const old = current.find((c) => c.type === w.type);
    if (!old || old.status !== w.status || old.reason !== w.reason || old.message !== w.message) changed = true;
    next.push({ ...w, lastTransitionTime: old && old.status === w.status && old.lastTransitionTime ? old.lastTransitionTime : now });
  }
  if (!changed) return undefined;
  const copy = structuredClone(ns);
  copy.status = { ...(copy.status ?? {}), phase: "Terminating", conditions: next };
  return copy;
}
