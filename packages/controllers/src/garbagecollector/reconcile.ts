// Book 11.3: the garbage collector's decision for one object of the owner graph: delete dependents
// whose owners are gone, delete a foreground-deleted owner's dependents first, or orphan them.
import type { KubeObject, OwnerReference } from "@corekube/api";
import type { ResourceType } from "@corekube/client";
import type { Action, ReconcileResult } from "../framework/types.js";

export const FOREGROUND_FINALIZER = "foregroundDeletion";
export const ORPHAN_FINALIZER = "orphan";

/** What the collector needs to find an owner: its reference, resolved in the dependent's namespace. */
export interface OwnerLookupRef {
  apiVersion: string;
  kind: string;
  /** The dependent's namespace for a namespaced owner; undefined for a cluster-scoped one. */
  namespace?: string;
  uid: string;
  name: string;
}

/**
 * The owner graph as the collector sees it. The wiring builds it from one index by uid over every
 * informer it runs (one per resource that can own or be owned):
 *  - lookup(ref): the cached object with ref.uid, if its kind, name and namespace also agree;
 *    undefined means "absent" (a same-named object with another uid is a different incarnation, so
 *    the owner is absent too). Only ask after the informers have synced.
 *  - dependentsOf(uid): every cached object with an ownerReference carrying that uid (a second index,
 *    kept as objects are added, updated and deleted).
 *  - resourceOf(apiVersion, kind): the resource serving that kind (from discovery), or undefined
 *    when unknown: an owner of an unknown kind is never treated as absent.
 */
export interface OwnerGraph {
  lookup(ref: OwnerLookupRef): KubeObject | undefined;
  dependentsOf(uid: string): KubeObject[];
  resourceOf(apiVersion: string, kind: string): ResourceType | undefined;
}

type OwnerState = "solid" | "absent" | "waiting" | "unknown";

const hasFinalizer = (o: KubeObject, f: string) => o.metadata.finalizers?.includes(f) ?? false;
const refsTo = (dep: KubeObject, uid: string | undefined) => (dep.metadata.ownerReferences ?? []).filter((r) => r.uid === uid);

/** Classify one owner of `obj`: still there, gone, being deleted in the foreground, or of an unknown kind. */
function classifyOwner(obj: KubeObject, ref: OwnerReference, g: OwnerGraph, events: Action[]): OwnerState {
  const rt = g.resourceOf(ref.apiVersion, ref.kind);
  if (!rt) return "unknown";
  const ns = obj.metadata.namespace;
  if (rt.namespaced && !ns) {
    // A cluster-scoped object cannot be owned by a namespaced one: the reference can never resolve.
    events.push({
      verb: "event",
      object: obj,
      type: "Warning",
      reason: "OwnerRefInvalidNamespace",
      message: `ownerRef [${ref.apiVersion}/${ref.kind}, namespace: , name: ${ref.name}, uid: ${ref.uid}] does not exist in namespace ""`,
    });
    return "absent";
  }
  const owner = g.lookup({ apiVersion: ref.apiVersion, kind: ref.kind, namespace: rt.namespaced ? ns : undefined, uid: ref.uid, name: ref.name });
  if (!owner || owner.metadata.uid !== ref.uid) return "absent";
  if (owner.metadata.deletionTimestamp && hasFinalizer(owner, FOREGROUND_FINALIZER)) return "waiting";
  return "solid";
}

/** A JSON patch replacing ownerReferences, guarded by a test that they have not changed meanwhile. */
function replaceOwnerRefs(resource: ResourceType, obj: KubeObject, refs: OwnerReference[]): Action {
  const old = obj.metadata.ownerReferences ?? [];
  return {
    verb: "patch",
    resource,
    namespace: obj.metadata.namespace,
    name: obj.metadata.name ?? "",
    patchType: "json",
    patch: [
      { op: "test", path: "/metadata/uid", value: obj.metadata.uid },
      { op: "test", path: "/metadata/ownerReferences", value: old },
      refs.length > 0 ? { op: "replace", path: "/metadata/ownerReferences", value: refs } : { op: "remove", path: "/metadata/ownerReferences" },
    ],
  };
}

/** An update of `obj` without finalizer `f` (its resourceVersion makes it a compare-and-swap). */
function removeFinalizer(resource: ResourceType, obj: KubeObject, f: string): Action {
  const finalizers = (obj.metadata.finalizers ?? []).filter((x) => x !== f);
  const { finalizers: _old, ...rest } = obj.metadata;
  const metadata = finalizers.length > 0 ? { ...rest, finalizers } : rest;
  return { verb: "update", resource, object: { ...obj, metadata } };
}

function resourceFor(obj: KubeObject, g: OwnerGraph): ResourceType | undefined {
  return obj.apiVersion && obj.kind ? g.resourceOf(obj.apiVersion, obj.kind) : undefined;
}

function deleteAction(resource: ResourceType, obj: KubeObject, propagationPolicy: "Orphan" | "Background" | "Foreground"): Action {
  return { verb: "delete", resource, namespace: obj.metadata.namespace, name: obj.metadata.name ?? "", uid: obj.metadata.uid, propagationPolicy };
}

/**
 * What the garbage collector should do about `obj` now. Pure: reads the graph, returns the writes.
 * Objects must carry apiVersion and kind (informers' objects do), so the collector can address them.
 */
export function reconcileOwnerGraph(obj: KubeObject, g: OwnerGraph): ReconcileResult {
  const rt = resourceFor(obj, g);
  if (!rt) return { actions: [] };
  const uid = obj.metadata.uid;

  if (obj.metadata.deletionTimestamp) {
    // Orphaning: detach every dependent from this owner, then let the owner go.
    if (hasFinalizer(obj, ORPHAN_FINALIZER)) {
      const actions: Action[] = [];
      for (const dep of g.dependentsOf(uid ?? "")) {
        const depRt = resourceFor(dep, g);
        if (!depRt || refsTo(dep, uid).length === 0) continue;
        actions.push(replaceOwnerRefs(depRt, dep, (dep.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid)));
      }
      actions.push(removeFinalizer(rt, obj, ORPHAN_FINALIZER));
      return { actions };
    }
    // Foreground: dependents go first; the owner waits for the ones that block its deletion.
    if (hasFinalizer(obj, FOREGROUND_FINALIZER)) {
      const actions: Action[] = [];
      let blocking = 0;
      for (const dep of g.dependentsOf(uid ?? "")) {
        const refs = refsTo(dep, uid);
        if (refs.length === 0) continue;
        if (refs.some((r) => r.blockOwnerDeletion)) blocking++;
        const depRt = resourceFor(dep, g);
        if (!depRt || dep.metadata.deletionTimestamp) continue;
        // A dependent that still has another owner in good standing is detached instead of deleted.
        const others = (dep.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        if (others.some((r) => classifyOwner(dep, r, g, []) === "solid" || classifyOwner(dep, r, g, []) === "unknown")) {
          actions.push(replaceOwnerRefs(depRt, dep, others));
          if (refs.some((r) => r.blockOwnerDeletion)) blocking--;
          continue;
        }
        actions.push(deleteAction(depRt, dep, "Foreground"));
      }
      if (blocking === 0) actions.push(removeFinalizer(rt, obj, FOREGROUND_FINALIZER));
      return { actions };
    }
    return { actions: [] }; // being deleted already; nothing for the collector to add
  }

  // A dependent: is every owner gone (or itself waiting on its dependents)?
  const refs = obj.metadata.ownerReferences ?? [];
  if (refs.length === 0) return { actions: [] };
  const events: Action[] = [];
  const states = refs.map((r) => classifyOwner(obj, r, g, events));
  const solid = states.filter((s) => s === "solid" || s === "unknown").length;
  if (solid > 0) {
    // Still owned: just drop the references to owners that are gone or going in the foreground.
    const keep = refs.filter((_, i) => states[i] === "solid" || states[i] === "unknown");
    if (keep.length === refs.length) return { actions: events };
    return { actions: [replaceOwnerRefs(rt, obj, keep), ...events] };
  }
  const waiting = states.includes("waiting");
  // With an owner deleted in the foreground, this object's own dependents must go before it does.
  const policy = waiting && g.dependentsOf(uid ?? "").length > 0 ? "Foreground" : hasFinalizer(obj, ORPHAN_FINALIZER) ? "Orphan" : "Background";
  return { actions: [deleteAction(rt, obj, policy), ...events] };
}
