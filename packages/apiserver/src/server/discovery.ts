// Book 11.2 (and 1.6.1): discovery — how kubectl learns which groups, versions and resources exist,
// their verbs, short names and categories (`kubectl api-resources`, `kubectl get all`), in both the
// legacy per-group-version form and the aggregated form kubectl 1.27+ asks for first.
import type { ApiRegistry } from "./api-registry.js";
import type { ResourceDef, Verb } from "../registry/types.js";

const ALL_VERBS: Verb[] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

export interface ResourceEntry {
  name: string;
  singularName: string;
  namespaced: boolean;
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
}

/** Subresources beyond status/scale that some built-ins have (served by dedicated handlers). */
const EXTRA_SUBRESOURCES: Record<string, { name: string; kind: string; verbs: string[]; group?: string; version?: string }[]> = {
  "/pods": [
    { name: "attach", kind: "PodAttachOptions", verbs: ["create", "get"] },
    { name: "binding", kind: "Binding", verbs: ["create"] },
    { name: "eviction", kind: "Eviction", verbs: ["create"], group: "policy", version: "v1" },
    { name: "exec", kind: "PodExecOptions", verbs: ["create", "get"] },
    { name: "log", kind: "Pod", verbs: ["get"] },
  ],
  "/namespaces": [{ name: "finalize", kind: "Namespace", verbs: ["update"] }],
  "/serviceaccounts": [{ name: "token", kind: "TokenRequest", verbs: ["create"], group: "authentication.k8s.io", version: "v1" }],
};

export function verbsOf(def: ResourceDef): string[] {
  return [...(def.verbs ?? ALL_VERBS)].sort();
}

export function resourceEntries(def: ResourceDef): ResourceEntry[] {
  const main: ResourceEntry = {
    name: def.resource,
    singularName: def.singular,
    namespaced: def.namespaced,
    kind: def.kind,
    verbs: verbsOf(def),
  };
  if (def.shortNames?.length) main.shortNames = def.shortNames;
  if (def.categories?.length) main.categories = def.categories;
  const out = [main];
  const subs: ResourceEntry[] = [];
  for (const x of EXTRA_SUBRESOURCES[`${def.group}/${def.resource}`] ?? []) {
    const e: ResourceEntry = { name: `${def.resource}/${x.name}`, singularName: "", namespaced: def.namespaced, kind: x.kind, verbs: x.verbs };
    if (x.group !== undefined) {
      e.group = x.group;
      e.version = x.version;
    }
    subs.push(e);
  }
  if (def.subresources?.scale)
    subs.push({ name: `${def.resource}/scale`, singularName: "", namespaced: def.namespaced, group: "autoscaling", version: "v1", kind: "Scale", verbs: ["get", "patch", "update"] });
  if (def.subresources?.status)
    subs.push({ name: `${def.resource}/status`, singularName: "", namespaced: def.namespaced, kind: def.kind, verbs: ["get", "patch", "update"] });
  subs.sort((a, b) => a.name.localeCompare(b.name));
  return [...out, ...subs];
}

export function apiVersions(serverAddress: string) {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

export function apiGroup(group: string, versions: string[]) {
  const vs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(registry: ApiRegistry) {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: registry.groups().filter((g) => g.group !== "").map((g) => apiGroup(g.group, g.versions)),
  };
}

export function apiResourceList(registry: ApiRegistry, group: string, version: string) {
  const defs = registry.resourcesOf(group, version);
  if (defs.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources: defs.sort((a, b) => a.resource.localeCompare(b.resource)).flatMap(resourceEntries),
  };
}

/** Aggregated discovery (apidiscovery.k8s.io v2 / v2beta1): every group-version in one document. */
export function aggregatedDiscovery(registry: ApiRegistry, legacy: boolean, apiVersion: "v2" | "v2beta1") {
  const groups = registry.groups().filter((g) => (legacy ? g.group === "" : g.group !== ""));
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: `apidiscovery.k8s.io/${apiVersion}`,
    metadata: {},
    items: groups.map((g) => ({
      metadata: { name: g.group, creationTimestamp: null },
      versions: g.versions.map((v) => ({
        version: v,
        freshness: "Current",
        resources: registry
          .resourcesOf(g.group, v)
          .sort((a, b) => a.resource.localeCompare(b.resource))
          .map((def) => aggregatedResource(def)),
      })),
    })),
  };
}

function aggregatedResource(def: ResourceDef) {
  const [main, ...subs] = resourceEntries(def);
  const r: Record<string, unknown> = {
    resource: def.resource,
    responseKind: { group: def.group, version: def.version, kind: def.kind },
    scope: def.namespaced ? "Namespaced" : "Cluster",
    singularResource: def.singular,
    verbs: main!.verbs,
  };
  if (main!.shortNames) r.shortNames = main!.shortNames;
  if (main!.categories) r.categories = main!.categories;
  if (subs.length)
    r.subresources = subs.map((s) => ({
      subresource: s.name.slice(def.resource.length + 1),
      responseKind: { group: s.group ?? def.group, version: s.version ?? def.version, kind: s.kind },
      verbs: s.verbs,
    }));
  return r;
}

/**
 * Which aggregated discovery version (if any) the Accept header asks for. kubectl 1.30+ offers v2
 * then v2beta1; 1.27-1.29 only v2beta1; anything else gets the legacy form.
 */
export function aggregatedWanted(accept: string | undefined): "v2" | "v2beta1" | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(",")) {
    const p = part.trim();
    if (!p.includes("as=APIGroupDiscoveryList") || !p.includes("g=apidiscovery.k8s.io")) {
      if (/^application\/json\s*(;|$)/.test(p) || p === "*/*") return undefined;
      continue;
    }
    if (/v=v2beta1/.test(p)) return "v2beta1";
    if (/v=v2(;|$|\s)/.test(p + ";")) return "v2";
  }
  return undefined;
}

export function aggregatedContentType(v: "v2" | "v2beta1"): string {
  return `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`;
}
