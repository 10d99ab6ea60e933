// Book 11.2 and 12.2: the table of everything the server serves — one ResourceStore per
// group/version/resource, built-ins at start and custom resources added the moment their CRD appears.
import type { SchemaResolver, Schema } from "../schema/types.js";
import type { EtcdStorage } from "../storage/etcd.js";
import type { AdmissionChain } from "../registry/admission.js";
import { ResourceStore, type StoreHooks } from "../registry/store.js";
import type { KubeObject, ResourceDef } from "../registry/types.js";

export interface GroupVersions {
  group: string;
  versions: string[];
}

/** Fixed order of the built-in groups in discovery (Kubernetes lists core first, then by priority). */
const GROUP_ORDER = [
  "",
  "apiregistration.k8s.io",
  "apps",
  "events.k8s.io",
  "authentication.k8s.io",
  "authorization.k8s.io",
  "autoscaling",
  "batch",
  "certificates.k8s.io",
  "networking.k8s.io",
  "policy",
  "rbac.authorization.k8s.io",
  "storage.k8s.io",
  "admissionregistration.k8s.io",
  "apiextensions.k8s.io",
  "scheduling.k8s.io",
  "coordination.k8s.io",
  "node.k8s.io",
  "discovery.k8s.io",
  "flowcontrol.apiserver.k8s.io",
];

const gvrKey = (group: string, version: string, resource: string) => `${group}/${version}/${resource}`;

export interface RegistryOptions {
  storage: EtcdStorage;
  admission: AdmissionChain;
  hooks: StoreHooks;
  builtinSchemas: Record<string, Schema>;
  createResolver(schemas: Record<string, Schema>): SchemaResolver;
  onError?: (e: unknown) => void;
}

export class ApiRegistry {
  private readonly stores = new Map<string, ResourceStore>();
  /** Schemas contributed by each CRD, by CRD name. */
  private readonly crdSchemas = new Map<string, Record<string, Schema>>();
  private resolverCache?: SchemaResolver;
  /** Bumped on every change; discovery and OpenAPI documents are rebuilt when it moves. */
  generation = 0;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly opts: RegistryOptions) {}

  get resolver(): SchemaResolver {
    if (!this.resolverCache) {
      const all = { ...this.opts.builtinSchemas };
      for (const s of this.crdSchemas.values()) Object.assign(all, s);
      this.resolverCache = this.opts.createResolver(all);
    }
    return this.resolverCache;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    this.generation++;
    this.resolverCache = undefined;
    for (const fn of this.listeners) fn();
  }

  add(def: ResourceDef): ResourceStore {
    const key = gvrKey(def.group, def.version, def.resource);
    const existing = this.stores.get(key);
    if (existing) {
      // A CRD update: keep the running cache, swap the definition's behaviour.
      Object.assign(existing.def, def);
      this.changed();
      return existing;
    }
    // Several versions of one resource share storage and so one cache.
    const store = new ResourceStore(def, this.opts.storage, this.opts.admission, this.opts.hooks, { onError: this.opts.onError });
    this.stores.set(key, store);
    this.changed();
    return store;
  }

  /** Replaces the resources of one CRD (defs for its served versions, schemas for explain/validation). */
  setCrd(crdName: string, defs: ResourceDef[], schemas: Record<string, Schema>): void {
    const keep = new Set(defs.map((d) => gvrKey(d.group, d.version, d.resource)));
    for (const [k, s] of this.stores) {
      if (s.def.crd === crdName && !keep.has(k)) {
        this.stores.delete(k);
        void s.stop();
      }
    }
    this.crdSchemas.set(crdName, schemas);
    for (const d of defs) this.add(d);
    this.changed();
  }

  removeCrd(crdName: string): void {
    for (const [k, s] of this.stores) {
      if (s.def.crd === crdName) {
        this.stores.delete(k);
        void s.stop();
      }
    }
    this.crdSchemas.delete(crdName);
    this.changed();
  }

  get(group: string, version: string, resource: string): ResourceStore | undefined {
    return this.stores.get(gvrKey(group, version, resource));
  }

  /** The preferred (first registered) store for a group and resource, any version. */
  byResource(group: string, resource: string): ResourceStore | undefined {
    for (const s of this.stores.values()) if (s.def.group === group && s.def.resource === resource) return s;
    return undefined;
  }

  all(): ResourceStore[] {
    return [...this.stores.values()];
  }

  /** Served groups with their versions, in discovery order (preferred version first). */
  groups(): GroupVersions[] {
    const map = new Map<string, string[]>();
    for (const s of this.stores.values()) {
      const vs = map.get(s.def.group) ?? [];
      if (!vs.includes(s.def.version)) vs.push(s.def.version);
      map.set(s.def.group, vs);
    }
    const rank = (g: string) => {
      const i = GROUP_ORDER.indexOf(g);
      return i < 0 ? GROUP_ORDER.length : i;
    };
    return [...map.entries()]
      .map(([group, versions]) => ({ group, versions: versions.sort(compareVersions) }))
      .sort((a, b) => rank(a.group) - rank(b.group) || a.group.localeCompare(b.group));
  }

  resourcesOf(group: string, version: string): ResourceDef[] {
    return [...this.stores.values()].filter((s) => s.def.group === group && s.def.version === version).map((s) => s.def);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.stores.values()].map((s) => s.stop()));
  }
}

/** Kubernetes' version priority: GA > beta > alpha, higher numbers first (v2 > v1 > v1beta2 > v1beta1 > v1alpha1). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0, v] as const;
    const stage = m[2] === undefined ? 3 : m[2] === "beta" ? 2 : 1;
    return [stage, Number(m[1]), Number(m[3] ?? 0), v] as const;
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa[0] === 0 && pb[0] === 0) return a.localeCompare(b);
  if (pa[0] !== pb[0]) return pb[0] - pa[0];
  if (pa[0] === 3) return pb[1] - pa[1];
  return pb[1] - pa[1] || pb[2] - pa[2];
}

export type { KubeObject };
