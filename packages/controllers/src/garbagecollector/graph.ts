// Book 11.3: the garbage collector's view of the cluster: one index by uid over every informer it
// runs, and a second one from each owner's uid to the objects that name it in their ownerReferences.
import type { KubeObject } from "@corekube/api";
import { apiVersionOf, type ResourceType } from "@corekube/client";
import type { OwnerGraph, OwnerLookupRef } from "./reconcile.js";

interface Entry {
  obj: KubeObject;
  rt: ResourceType;
}

/** Fed by informer handlers (observe/forget); read by the pure reconcile through OwnerGraph. */
export class UidIndex implements OwnerGraph {
  private readonly byUid = new Map<string, Entry>();
  /** owner uid -> uids of objects that reference it. */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly byKind = new Map<string, ResourceType>();

  constructor(resources: readonly ResourceType[]) {
    for (const rt of resources) this.byKind.set(`${apiVersionOf(rt)}|${rt.kind}`, rt);
  }

  /** Makes another resource known (a custom resource found later). */
  addResource(rt: ResourceType): void {
    this.byKind.set(`${apiVersionOf(rt)}|${rt.kind}`, rt);
  }

  /** The object with apiVersion and kind filled in from its resource (list items may lack them). */
  private typed(e: Entry): KubeObject {
    if (e.obj.apiVersion && e.obj.kind) return e.obj;
    return { ...e.obj, apiVersion: apiVersionOf(e.rt), kind: e.rt.kind };
  }

  observe(rt: ResourceType, obj: KubeObject): void {
    const uid = obj.metadata.uid;
    if (!uid) return;
    const old = this.byUid.get(uid);
    if (old) this.unlinkOwners(uid, old.obj);
    this.byUid.set(uid, { obj, rt });
    for (const r of obj.metadata.ownerReferences ?? []) {
      let set = this.dependents.get(r.uid);
      if (!set) this.dependents.set(r.uid, (set = new Set()));
      set.add(uid);
    }
  }

  forget(obj: KubeObject): void {
    const uid = obj.metadata.uid;
    if (!uid) return;
    const old = this.byUid.get(uid);
    if (!old) return;
    this.unlinkOwners(uid, old.obj);
    this.byUid.delete(uid);
  }

  private unlinkOwners(uid: string, obj: KubeObject): void {
    for (const r of obj.metadata.ownerReferences ?? []) {
      const set = this.dependents.get(r.uid);
      set?.delete(uid);
      if (set?.size === 0) this.dependents.delete(r.uid);
    }
  }

  /** The cached object with this uid, typed. */
  get(uid: string): KubeObject | undefined {
    const e = this.byUid.get(uid);
    return e ? this.typed(e) : undefined;
  }

  resourceOfUid(uid: string): ResourceType | undefined {
    return this.byUid.get(uid)?.rt;
  }

  lookup(ref: OwnerLookupRef): KubeObject | undefined {
    const e = this.byUid.get(ref.uid);
    if (!e) return undefined;
    const o = this.typed(e);
    if (o.kind !== ref.kind || o.metadata.name !== ref.name || (o.metadata.namespace ?? undefined) !== (ref.namespace ?? undefined)) return undefined;
    return o;
  }

  dependentsOf(uid: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const d of this.dependents.get(uid) ?? []) {
      const e = this.byUid.get(d);
      if (e) out.push(this.typed(e));
    }
    return out;
  }

  /** Uids of the objects that name `uid` as an owner. */
  dependentUids(uid: string): string[] {
    return [...(this.dependents.get(uid) ?? [])];
  }

  resourceOf(apiVersion: string, kind: string): ResourceType | undefined {
    return this.byKind.get(`${apiVersion}|${kind}`);
  }

  get size(): number {
    return this.byUid.size;
  }
}
