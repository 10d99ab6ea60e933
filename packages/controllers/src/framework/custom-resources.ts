// Book 11.1-11.3: controllers that must see every kind (the namespace controller, the garbage
// collector) learn about custom resources from CustomResourceDefinitions and watch them too.
import type { KubeObject } from "@corekube/api";
import type { InformerFactory, ResourceType, SharedInformer } from "@corekube/client";

export const CUSTOM_RESOURCE_DEFINITIONS: ResourceType = {
  group: "apiextensions.k8s.io",
  version: "v1",
  resource: "customresourcedefinitions",
  kind: "CustomResourceDefinition",
  namespaced: false,
};

interface CrdSpec {
  group?: string;
  scope?: string;
  names?: { plural?: string; kind?: string };
  versions?: { name?: string; served?: boolean; storage?: boolean }[];
}

/** The resource a CRD serves, at its storage version (any served one if none is marked), once Established. */
export function resourceOfCrd(crd: KubeObject): ResourceType | undefined {
  const spec = (crd.spec ?? {}) as CrdSpec;
  const established = ((crd.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some(
    (c) => c.type === "Established" && c.status === "True",
  );
  if (!established || crd.metadata.deletionTimestamp) return undefined;
  const versions = (spec.versions ?? []).filter((v) => v.served && v.name);
  const version = versions.find((v) => v.storage) ?? versions[0];
  if (!spec.group || !spec.names?.plural || !spec.names.kind || !version?.name) return undefined;
  return { group: spec.group, version: version.name, resource: spec.names.plural, kind: spec.names.kind, namespaced: spec.scope !== "Cluster" };
}

/**
 * Starts an informer for each custom resource as its CRD becomes Established, and tells listeners.
 * Informers of removed CRDs are kept: their objects are deleted with the CRD, so the caches empty.
 */
export class CustomResources {
  private readonly known = new Map<string, { rt: ResourceType; informer: SharedInformer }>();
  private readonly listeners: ((rt: ResourceType, informer: SharedInformer) => void)[] = [];

  constructor(factory: InformerFactory) {
    const crds = factory.forResource(CUSTOM_RESOURCE_DEFINITIONS);
    const seen = (crd: KubeObject) => {
      const rt = resourceOfCrd(crd);
      if (!rt) return;
      const key = `${rt.group}/${rt.version}/${rt.resource}`;
      if (this.known.has(key)) return;
      const informer = factory.forResource(rt);
      this.known.set(key, { rt, informer });
      for (const l of this.listeners) l(rt, informer);
    };
    crds.addEventHandler({ onAdd: seen, onUpdate: (_o, n) => seen(n) });
  }

  /** Called for every custom resource known now and found later. */
  onResource(listener: (rt: ResourceType, informer: SharedInformer) => void): void {
    this.listeners.push(listener);
    for (const { rt, informer } of this.known.values()) listener(rt, informer);
  }

  list(): { rt: ResourceType; informer: SharedInformer }[] {
    return [...this.known.values()];
  }

  /** Whether every custom resource informer has its first list (a namespace is only empty once they do). */
  synced(): boolean {
    return [...this.known.values()].every((k) => k.informer.hasSynced());
  }
}
