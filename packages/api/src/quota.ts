// Book 4.3-4.5 and 14.4: what an object costs a ResourceQuota — a pod its count, requests and limits,
// a Service its node ports and load balancers, anything else its `count/<resource>.<group>` — as pure
// functions shared by the quota admission plugin and the resource quota controller.
import type { Container, KubeObject, ResourceList } from "./core-types.js";
import { parseQuantity, Quantity } from "./quantity.js";
import type { GroupResource } from "./status.js";

/** Amounts by resource name ("pods", "requests.cpu", "count/deployments.apps", ...). */
export type ResourceUsage = Map<string, Quantity>;

export type QuotaScope = "Terminating" | "NotTerminating" | "BestEffort" | "NotBestEffort" | "PriorityClass" | "CrossNamespacePodAffinity" | (string & {});

export interface ScopedResourceSelectorRequirement {
  scopeName: QuotaScope;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

export interface ResourceQuota extends KubeObject {
  spec?: {
    hard?: ResourceList;
    scopes?: QuotaScope[];
    scopeSelector?: { matchExpressions?: ScopedResourceSelectorRequirement[] };
  };
  status?: { hard?: ResourceList; used?: ResourceList };
}

/**
 * An object as these functions read it: any API object (the server's or a client's type). Fields
 * are checked for shape as they are read, so malformed input counts as absent, never a crash.
 */
export interface QuotaSubject {
  metadata: { name?: string; deletionTimestamp?: string; deletionGracePeriodSeconds?: number; [k: string]: unknown };
  [field: string]: unknown;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function toQuantity(v: unknown): Quantity | undefined {
  if (typeof v !== "string" && typeof v !== "number") return undefined;
  try {
    return parseQuantity(v);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Resource lists as exact quantities.

/** A ResourceList as quantities; entries that are not quantities are left out (validation reports them). */
export function parseResourceList(list: unknown): ResourceUsage {
  const out: ResourceUsage = new Map();
  if (!isRecord(list)) return out;
  for (const [name, raw] of Object.entries(list)) {
    const q = toQuantity(raw);
    if (q) out.set(name, q);
  }
  return out;
}

/** Back to wire form, names in sorted order. */
export function resourceListOf(u: ResourceUsage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [...u.keys()].sort()) out[name] = u.get(name)!.toString();
  return out;
}

/** `a=1,b=2` with sorted names: how quota errors show amounts. */
export function formatResourceList(u: ResourceUsage): string {
  return [...u.keys()]
    .sort()
    .map((name) => `${name}=${u.get(name)!.toString()}`)
    .join(",");
}

export function addUsage(a: ResourceUsage, b: ResourceUsage): ResourceUsage {
  const out = new Map(a);
  for (const [name, q] of b) {
    const cur = out.get(name);
    out.set(name, cur ? cur.add(q) : q);
  }
  return out;
}

/** a - b, name by name; names only in b come out negative. */
export function subtractUsage(a: ResourceUsage, b: ResourceUsage): ResourceUsage {
  const out = new Map(a);
  for (const [name, q] of b) {
    const cur = out.get(name);
    out.set(name, cur ? cur.sub(q) : q.neg());
  }
  return out;
}

/** Only the given names. */
export function maskUsage(u: ResourceUsage, names: Iterable<string>): ResourceUsage {
  const out: ResourceUsage = new Map();
  for (const name of names) {
    const q = u.get(name);
    if (q) out.set(name, q);
  }
  return out;
}

/** Same names with the same amounts (formats aside: 1Ki equals 1024). */
export function usageEquals(a: ResourceUsage, b: ResourceUsage): boolean {
  if (a.size !== b.size) return false;
  for (const [name, q] of a) {
    const other = b.get(name);
    if (!other || !other.equals(q)) return false;
  }
  return true;
}

/** Names of `usage` that go over `hard` (names hard does not list are not limited), sorted. */
export function exceededResources(usage: ResourceUsage, hard: ResourceUsage): string[] {
  const out: string[] = [];
  for (const [name, q] of usage) {
    const limit = hard.get(name);
    if (limit && q.cmp(limit) > 0) out.push(name);
  }
  return out.sort();
}

// ---------------------------------------------------------------------------------------------
// What objects use.

/** The object-count name of a resource: `count/pods`, `count/deployments.apps`. */
export function objectCountName(gr: GroupResource): string {
  return gr.group ? `count/${gr.resource}.${gr.group}` : `count/${gr.resource}`;
}

/** Core resources that also have a plain count name from before `count/...` existed. */
const LEGACY_COUNTED = new Set(["pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims"]);

/** The resources whose compute amounts a quota on `cpu` or `memory` makes every container state. */
export const QUOTA_COMPUTE_RESOURCES = ["cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"];

const POD_RESOURCES = new Set([
  "count/pods",
  "pods",
  "cpu",
  "memory",
  "ephemeral-storage",
  "requests.cpu",
  "requests.memory",
  "requests.ephemeral-storage",
  "limits.cpu",
  "limits.memory",
  "limits.ephemeral-storage",
]);

const one = () => Quantity.fromInt(1);

/** A resource outside kubernetes.io's names that a node advertises (example.com/gpu). */
function isExtendedResource(name: string): boolean {
  return name.includes("/") && !name.startsWith("kubernetes.io/") && !name.startsWith("requests.") && !name.startsWith("limits.");
}

function containerList(c: unknown, key: "requests" | "limits"): ResourceUsage {
  return isRecord(c) ? parseResourceList(isRecord(c.resources) ? c.resources[key] : undefined) : new Map();
}

function maxInto(into: ResourceUsage, u: ResourceUsage): void {
  for (const [name, q] of u) {
    const cur = into.get(name);
    if (!cur || q.cmp(cur) > 0) into.set(name, q);
  }
}

const containersOf = (pod: QuotaSubject, key: "containers" | "initContainers"): Container[] => {
  const spec = pod.spec;
  if (!isRecord(spec) || !Array.isArray(spec[key])) return [];
  return (spec[key] as unknown[]).filter(isRecord) as Container[];
};

/**
 * A pod's effective requests or limits: its containers add up; an init container runs alone (beside
 * the sidecars started before it), so only the largest counts when it is more; sidecars (init
 * containers with restartPolicy Always) add to the rest. Overhead is added when asked.
 */
export function podResourceTotals(pod: QuotaSubject, key: "requests" | "limits", withOverhead = true): ResourceUsage {
  let total: ResourceUsage = new Map();
  for (const c of containersOf(pod, "containers")) total = addUsage(total, containerList(c, key));
  let sidecars: ResourceUsage = new Map();
  const initPeak: ResourceUsage = new Map();
  for (const c of containersOf(pod, "initContainers")) {
    const own = containerList(c, key);
    if (c.restartPolicy === "Always") {
      total = addUsage(total, own);
      sidecars = addUsage(sidecars, own);
      maxInto(initPeak, sidecars);
    } else {
      maxInto(initPeak, addUsage(own, sidecars));
    }
  }
  maxInto(total, initPeak);
  if (withOverhead && isRecord(pod.spec)) {
    for (const [name, q] of parseResourceList(pod.spec.overhead)) {
      // Overhead raises a limit only where there is one to raise.
      if (key === "limits" && !total.has(name)) continue;
      total.set(name, (total.get(name) ?? Quantity.zero()).add(q));
    }
  }
  return total;
}

/** The quota names a set of requests and limits uses (one pod's worth). */
function computeUsage(requests: ResourceUsage, limits: ResourceUsage): ResourceUsage {
  const out: ResourceUsage = new Map([["pods", one()]]);
  for (const name of ["cpu", "memory", "ephemeral-storage"]) {
    const req = requests.get(name);
    if (req) {
      out.set(name, req);
      out.set(`requests.${name}`, req);
    }
    const lim = limits.get(name);
    if (lim) out.set(`limits.${name}`, lim);
  }
  for (const [name, req] of requests) {
    if (name.startsWith("hugepages-")) {
      out.set(name, req);
      out.set(`requests.${name}`, req);
    } else if (isExtendedResource(name)) {
      out.set(`requests.${name}`, req);
    }
  }
  return out;
}

/**
 * Whether a pod still costs compute quota at `now`: not Succeeded or Failed, and not stuck in
 * deletion past its grace period (a lost node must not keep a namespace from replacing its pods).
 */
export function podChargesQuota(pod: QuotaSubject, now: Date): boolean {
  const phase = isRecord(pod.status) ? pod.status.phase : undefined;
  if (phase === "Succeeded" || phase === "Failed") return false;
  const deletedAt = pod.metadata.deletionTimestamp ? Date.parse(pod.metadata.deletionTimestamp) : NaN;
  const grace = pod.metadata.deletionGracePeriodSeconds;
  if (Number.isFinite(deletedAt) && typeof grace === "number" && now.getTime() > deletedAt + grace * 1000) return false;
  return true;
}

/** A pod's usage: `count/pods` always (it is in storage); the rest only while it charges quota. */
export function podUsage(pod: QuotaSubject, now: Date): ResourceUsage {
  const countOnly: ResourceUsage = new Map([["count/pods", one()]]);
  if (!podChargesQuota(pod, now)) return countOnly;
  return addUsage(countOnly, computeUsage(podResourceTotals(pod, "requests"), podResourceTotals(pod, "limits")));
}

/** A Service's usage: one service, and node ports / a load balancer by its type. */
export function serviceUsage(svc: QuotaSubject): ResourceUsage {
  const spec = isRecord(svc.spec) ? svc.spec : {};
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  const out: ResourceUsage = new Map([
    ["count/services", one()],
    ["services", one()],
    ["services.nodeports", Quantity.zero()],
    ["services.loadbalancers", Quantity.zero()],
  ]);
  if (spec.type === "NodePort") out.set("services.nodeports", Quantity.fromInt(ports.length));
  if (spec.type === "LoadBalancer") {
    // Without node ports for the balancer, only ports that name one explicitly take one.
    const n = spec.allocateLoadBalancerNodePorts === false ? ports.filter((p) => isRecord(p) && typeof p.nodePort === "number" && p.nodePort > 0).length : ports.length;
    out.set("services.nodeports", Quantity.fromInt(n));
    out.set("services.loadbalancers", one());
  }
  return out;
}

const STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/";

/** A claim's usage: one claim and its requested storage, also under its storage class's names. */
export function persistentVolumeClaimUsage(pvc: QuotaSubject): ResourceUsage {
  const spec = isRecord(pvc.spec) ? pvc.spec : {};
  const out: ResourceUsage = new Map([
    ["count/persistentvolumeclaims", one()],
    ["persistentvolumeclaims", one()],
  ]);
  const storage = parseResourceList(isRecord(spec.resources) ? spec.resources.requests : undefined).get("storage");
  if (storage) out.set("requests.storage", storage);
  const cls = typeof spec.storageClassName === "string" ? spec.storageClassName : "";
  if (cls !== "") {
    out.set(`${cls}${STORAGE_CLASS_SUFFIX}persistentvolumeclaims`, one());
    if (storage) out.set(`${cls}${STORAGE_CLASS_SUFFIX}requests.storage`, storage);
  }
  return out;
}

const isCore = (gr: GroupResource, resource: string) => (gr.group ?? "") === "" && gr.resource === resource;

/** What one object of resource `gr` uses, at `now` (only pods depend on time). */
export function objectUsage(gr: GroupResource, obj: QuotaSubject, now: Date): ResourceUsage {
  if (isCore(gr, "pods")) return podUsage(obj, now);
  if (isCore(gr, "services")) return serviceUsage(obj);
  if (isCore(gr, "persistentvolumeclaims")) return persistentVolumeClaimUsage(obj);
  const out: ResourceUsage = new Map([[objectCountName(gr), one()]]);
  if ((gr.group ?? "") === "" && LEGACY_COUNTED.has(gr.resource)) out.set(gr.resource, one());
  return out;
}

/** Whether objects of `gr` can use the quota resource `name` (upstream: an evaluator's matching resources). */
export function resourceTracks(gr: GroupResource, name: string): boolean {
  if (name === objectCountName({ group: gr.group ?? "", resource: gr.resource })) return true;
  if (isCore(gr, "pods")) {
    if (POD_RESOURCES.has(name) || name.startsWith("hugepages-") || name.startsWith("requests.hugepages-")) return true;
    return name.startsWith("requests.") && isExtendedResource(name.slice("requests.".length));
  }
  if (isCore(gr, "services")) return name === "services" || name === "services.nodeports" || name === "services.loadbalancers";
  if (isCore(gr, "persistentvolumeclaims"))
    return (
      name === "persistentvolumeclaims" ||
      name === "requests.storage" ||
      (name.includes(STORAGE_CLASS_SUFFIX) && (name.endsWith("/persistentvolumeclaims") || name.endsWith("/requests.storage")))
    );
  return (gr.group ?? "") === "" && LEGACY_COUNTED.has(gr.resource) && name === gr.resource;
}

// ---------------------------------------------------------------------------------------------
// Quotas: limits, scopes, constraints.

/** The limits a quota enforces: status.hard once the controller has copied it, spec.hard before. */
export function quotaHard(q: ResourceQuota): ResourceUsage {
  const status = isRecord(q.status) ? q.status : {};
  if (isRecord(status.hard)) return parseResourceList(status.hard);
  return parseResourceList(isRecord(q.spec) ? q.spec.hard : undefined);
}

/** What the quota records as used; a name it has not counted yet is 0. */
export function quotaUsed(q: ResourceQuota): ResourceUsage {
  return parseResourceList(isRecord(q.status) ? q.status.used : undefined);
}

/** spec.scopes (each an Exists) and spec.scopeSelector's expressions, together. */
export function quotaScopeSelectors(q: ResourceQuota): ScopedResourceSelectorRequirement[] {
  const spec = isRecord(q.spec) ? q.spec : {};
  const out: ScopedResourceSelectorRequirement[] = [];
  if (Array.isArray(spec.scopes)) for (const s of spec.scopes) if (typeof s === "string") out.push({ scopeName: s, operator: "Exists" });
  const exprs = isRecord(spec.scopeSelector) ? spec.scopeSelector.matchExpressions : undefined;
  if (Array.isArray(exprs)) for (const e of exprs) if (isRecord(e) && typeof e.scopeName === "string") out.push(e as unknown as ScopedResourceSelectorRequirement);
  return out;
}

/** BestEffort QoS: no container asks for or caps CPU or memory. */
export function isBestEffortPod(pod: QuotaSubject): boolean {
  for (const c of [...containersOf(pod, "containers"), ...containersOf(pod, "initContainers")]) {
    for (const key of ["requests", "limits"] as const) {
      for (const [name, q] of containerList(c, key)) if ((name === "cpu" || name === "memory") && !q.isZero()) return false;
    }
  }
  return true;
}

/** Terminating scope: the pod has an activeDeadlineSeconds, so it ends on its own. */
export function isTerminatingPod(pod: QuotaSubject): boolean {
  const ads = isRecord(pod.spec) ? pod.spec.activeDeadlineSeconds : undefined;
  return typeof ads === "number" && ads >= 0;
}

function usesCrossNamespaceAffinity(pod: QuotaSubject): boolean {
  const affinity = isRecord(pod.spec) && isRecord(pod.spec.affinity) ? pod.spec.affinity : {};
  for (const kind of ["podAffinity", "podAntiAffinity"]) {
    const a = affinity[kind];
    if (!isRecord(a)) continue;
    const req = Array.isArray(a.requiredDuringSchedulingIgnoredDuringExecution) ? a.requiredDuringSchedulingIgnoredDuringExecution : [];
    const pref = Array.isArray(a.preferredDuringSchedulingIgnoredDuringExecution) ? a.preferredDuringSchedulingIgnoredDuringExecution : [];
    const terms = [...req, ...pref.map((w) => (isRecord(w) ? w.podAffinityTerm : undefined))];
    for (const t of terms) if (isRecord(t) && ((Array.isArray(t.namespaces) && t.namespaces.length > 0) || t.namespaceSelector != null)) return true;
  }
  return false;
}

/** Whether a pod falls in one scope selector of a quota. */
export function podMatchesScope(sel: ScopedResourceSelectorRequirement, pod: QuotaSubject): boolean {
  switch (sel.scopeName) {
    case "Terminating":
      return isTerminatingPod(pod);
    case "NotTerminating":
      return !isTerminatingPod(pod);
    case "BestEffort":
      return isBestEffortPod(pod);
    case "NotBestEffort":
      return !isBestEffortPod(pod);
    case "CrossNamespacePodAffinity":
      return usesCrossNamespaceAffinity(pod);
    case "PriorityClass": {
      const cls = isRecord(pod.spec) && typeof pod.spec.priorityClassName === "string" ? pod.spec.priorityClassName : "";
      const values = Array.isArray(sel.values) ? sel.values : [];
      if (sel.operator === "Exists") return cls !== "";
      if (sel.operator === "DoesNotExist") return cls === "";
      if (sel.operator === "In") return values.includes(cls);
      if (sel.operator === "NotIn") return !values.includes(cls);
      return false;
    }
    default:
      return false;
  }
}

/** The quota's resource names objects of `gr` can use, sorted. */
export function quotaTrackedNames(q: ResourceQuota, gr: GroupResource): string[] {
  return [...quotaHard(q).keys()].filter((name) => resourceTracks(gr, name)).sort();
}

/**
 * Whether the quota covers this object: it limits something the object can use, and the object is
 * in every scope it names (scopes describe pods: a scoped quota covers nothing else).
 */
export function quotaMatches(q: ResourceQuota, gr: GroupResource, obj: QuotaSubject): boolean {
  if (quotaTrackedNames(q, gr).length === 0) return false;
  const selectors = quotaScopeSelectors(q);
  if (selectors.length === 0) return true;
  if (!isCore(gr, "pods")) return false;
  return selectors.every((s) => podMatchesScope(s, obj));
}

/**
 * A pod must state every compute amount a quota limits (quota on `limits.cpu` needs a CPU limit on
 * each container): "must specify limits.cpu for: a,b; requests.memory for: a", or undefined.
 */
export function podQuotaConstraintError(required: readonly string[], pod: QuotaSubject): string | undefined {
  const needed = required.filter((r) => QUOTA_COMPUTE_RESOURCES.includes(r));
  if (needed.length === 0) return undefined;
  const missing = new Map<string, Set<string>>();
  for (const c of [...containersOf(pod, "containers"), ...containersOf(pod, "initContainers")]) {
    const has = computeUsage(containerList(c, "requests"), containerList(c, "limits"));
    for (const r of needed) {
      if (has.has(r)) continue;
      if (!missing.has(r)) missing.set(r, new Set());
      missing.get(r)!.add(typeof c.name === "string" ? c.name : "");
    }
  }
  if (missing.size === 0) return undefined;
  const parts = [...missing.keys()].sort().map((r) => `${r} for: ${[...missing.get(r)!].sort().join(",")}`);
  return `must specify ${parts.join("; ")}`;
}

/** Only pods carry constraints (the compute rule above). */
export function quotaConstraintError(required: readonly string[], gr: GroupResource, obj: QuotaSubject): string | undefined {
  return isCore(gr, "pods") ? podQuotaConstraintError(required, obj) : undefined;
}
