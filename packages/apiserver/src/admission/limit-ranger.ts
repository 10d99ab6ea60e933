// Book 4.3-4.5 and 11.2: the LimitRanger admission plugin — a namespace's LimitRanges give new pods'
// containers default requests and limits, then hold pods (and claims) to their min, max and ratio.
import { forbidden, parseResourceList, podResourceTotals, type ResourceList, type ResourceUsage } from "@corekube/api";
import { podQOSClass } from "../kinds/qos.js";
import type { KubeObject } from "../registry/types.js";
import type { AdmissionPlugin, AdmissionRequest } from "../registry/admission.js";

export const LIMIT_RANGER_ANNOTATION = "kubernetes.io/limit-ranger";

export interface LimitRangeItem {
  type?: string;
  max?: ResourceList;
  min?: ResourceList;
  default?: ResourceList;
  defaultRequest?: ResourceList;
  maxLimitRequestRatio?: ResourceList;
}

export interface LimitRange extends KubeObject {
  spec?: { limits?: LimitRangeItem[] };
}

export interface LimitRangeLookup {
  /** The LimitRanges of a namespace (an informer's view, as upstream's lister). */
  list(namespace: string): Promise<LimitRange[]>;
}

const PODS = { group: "", resource: "pods" };
const PVCS = { group: "", resource: "persistentvolumeclaims" };

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function itemsOf(lr: LimitRange): LimitRangeItem[] {
  const limits = isRecord(lr.spec) ? lr.spec.limits : undefined;
  return Array.isArray(limits) ? (limits.filter(isRecord) as LimitRangeItem[]) : [];
}

/** Sorted names of a ResourceList, so errors come in a stable order. */
const namesOf = (u: ResourceUsage) => [...u.keys()].sort();

// ---------------------------------------------------------------------------------------------
// Defaults.

interface ContainerLike {
  name?: unknown;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
}

/** The container defaults of one LimitRange: every Container item's default and defaultRequest. */
function containerDefaults(lr: LimitRange): { requests: Record<string, unknown>; limits: Record<string, unknown> } {
  const requests: Record<string, unknown> = {};
  const limits: Record<string, unknown> = {};
  for (const item of itemsOf(lr)) {
    if (item.type !== "Container") continue;
    if (isRecord(item.defaultRequest)) Object.assign(requests, item.defaultRequest);
    if (isRecord(item.default)) Object.assign(limits, item.default);
  }
  return { requests, limits };
}

/** Fills what a container leaves out, adding its part of the annotation ("cpu, memory request for container web") to notes. */
function defaultContainer(c: ContainerLike, defaults: ReturnType<typeof containerDefaults>, label: string, notes: string[]): void {
  // Malformed resources are left as they are, for validation to refuse.
  if (c.resources != null && !isRecord(c.resources)) return;
  const res = (c.resources ??= {});
  if ((res.requests != null && !isRecord(res.requests)) || (res.limits != null && !isRecord(res.limits))) return;
  res.requests ??= {};
  res.limits ??= {};
  const requests = res.requests;
  const limits = res.limits;
  // A limit without a request means a request of the limit (pod defaulting already did this for
  // pods that went through the store; a plugin test's pod may not have).
  for (const [name, v] of Object.entries(limits)) if (requests[name] === undefined) requests[name] = v;
  const setLimits: string[] = [];
  const setRequests: string[] = [];
  for (const [name, v] of Object.entries(defaults.limits)) {
    if (limits[name] !== undefined) continue;
    limits[name] = v;
    setLimits.push(name);
  }
  for (const [name, v] of Object.entries(defaults.requests)) {
    if (requests[name] !== undefined) continue;
    requests[name] = v;
    setRequests.push(name);
  }
  const who = `${label} ${typeof c.name === "string" ? c.name : ""}`;
  if (setRequests.length) notes.push(`${setRequests.sort().join(", ")} request for ${who}`);
  if (setLimits.length) notes.push(`${setLimits.sort().join(", ")} limit for ${who}`);
  // Empty maps are left out on the wire.
  if (Object.keys(requests).length === 0) delete res.requests;
  if (Object.keys(limits).length === 0) delete res.limits;
  if (Object.keys(res).length === 0) delete c.resources;
}

function containersOf(pod: KubeObject, key: "containers" | "initContainers"): ContainerLike[] {
  const spec = pod.spec;
  if (!isRecord(spec) || !Array.isArray(spec[key])) return [];
  return spec[key].filter(isRecord) as ContainerLike[];
}

/** Applies one LimitRange's container defaults to a pod, recording what it set in the annotation. */
export function applyLimitRangeDefaults(lr: LimitRange, pod: KubeObject): void {
  const defaults = containerDefaults(lr);
  const notes: string[] = [];
  for (const c of containersOf(pod, "containers")) defaultContainer(c, defaults, "container", notes);
  for (const c of containersOf(pod, "initContainers")) defaultContainer(c, defaults, "init container", notes);
  if (notes.length === 0) return;
  pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${notes.join("; ")}` };
}

// ---------------------------------------------------------------------------------------------
// Checks (each returns the problem, or undefined).

function minProblem(type: string, name: string, enforced: unknown, requests: ResourceUsage, limits: ResourceUsage): string | undefined {
  const min = parseResourceList({ [name]: enforced }).get(name);
  if (!min) return undefined;
  const req = requests.get(name);
  const lim = limits.get(name);
  if (!req) return `minimum ${name} usage per ${type} is ${min}.  No request is specified`;
  if (req.cmp(min) < 0) return `minimum ${name} usage per ${type} is ${min}, but request is ${req}`;
  if (lim && lim.cmp(min) < 0) return `minimum ${name} usage per ${type} is ${min}, but limit is ${lim}`;
  return undefined;
}

function maxProblem(type: string, name: string, enforced: unknown, requests: ResourceUsage, limits: ResourceUsage): string | undefined {
  const max = parseResourceList({ [name]: enforced }).get(name);
  if (!max) return undefined;
  const req = requests.get(name);
  const lim = limits.get(name);
  if (!lim) return `maximum ${name} usage per ${type} is ${max}.  No limit is specified`;
  if (lim.cmp(max) > 0) return `maximum ${name} usage per ${type} is ${max}, but limit is ${lim}`;
  if (req && req.cmp(max) > 0) return `maximum ${name} usage per ${type} is ${max}, but request is ${req}`;
  return undefined;
}

/** A claim has no limits: its max is held against what it requests. */
function maxRequestProblem(type: string, name: string, enforced: unknown, requests: ResourceUsage): string | undefined {
  const max = parseResourceList({ [name]: enforced }).get(name);
  if (!max) return undefined;
  const req = requests.get(name);
  if (!req) return `maximum ${name} usage per ${type} is ${max}.  No request is specified`;
  if (req.cmp(max) > 0) return `maximum ${name} usage per ${type} is ${max}, but request is ${req}`;
  return undefined;
}

function ratioProblem(type: string, name: string, enforced: unknown, requests: ResourceUsage, limits: ResourceUsage): string | undefined {
  const ratio = parseResourceList({ [name]: enforced }).get(name);
  if (!ratio) return undefined;
  const req = requests.get(name);
  const lim = limits.get(name);
  if (!req || req.isZero()) return `${name} max limit to request ratio per ${type} is ${ratio}, but no request is specified or request is 0`;
  if (!lim || lim.isZero()) return `${name} max limit to request ratio per ${type} is ${ratio}, but no limit is specified or limit is 0`;
  // limit / request > ratio, exactly: limit > ratio × request, all in nano-units.
  if (lim.nanos * 1_000_000_000n > ratio.nanos * req.nanos) {
    const observed = Number(lim.nanos) / Number(req.nanos);
    return `${name} max limit to request ratio per ${type} is ${ratio}, but provided ratio is ${observed.toFixed(6)}`;
  }
  return undefined;
}

function checkAll(type: string, item: LimitRangeItem, requests: ResourceUsage, limits: ResourceUsage, errs: string[]): void {
  const push = (e: string | undefined) => {
    if (e !== undefined) errs.push(e);
  };
  for (const name of namesOf(parseResourceList(item.min))) push(minProblem(type, name, item.min![name], requests, limits));
  for (const name of namesOf(parseResourceList(item.max))) push(maxProblem(type, name, item.max![name], requests, limits));
  for (const name of namesOf(parseResourceList(item.maxLimitRequestRatio))) push(ratioProblem(type, name, item.maxLimitRequestRatio![name], requests, limits));
}

const containerList = (c: ContainerLike, key: "requests" | "limits") => parseResourceList(isRecord(c.resources) ? c.resources[key] : undefined);

/** Every way a pod breaks one LimitRange (Container items per container, Pod items on the pod's totals). */
export function podLimitRangeProblems(lr: LimitRange, pod: KubeObject): string[] {
  const errs: string[] = [];
  for (const item of itemsOf(lr)) {
    if (item.type === "Container") {
      for (const c of [...containersOf(pod, "containers"), ...containersOf(pod, "initContainers")])
        checkAll("Container", item, containerList(c, "requests"), containerList(c, "limits"), errs);
    } else if (item.type === "Pod") {
      checkAll("Pod", item, podResourceTotals(pod, "requests", false), podResourceTotals(pod, "limits", false), errs);
    }
  }
  return errs;
}

/** Every way a claim breaks one LimitRange: its requested storage against min and max. */
export function claimLimitRangeProblems(lr: LimitRange, pvc: KubeObject): string[] {
  const errs: string[] = [];
  const spec = isRecord(pvc.spec) ? pvc.spec : {};
  const requests = parseResourceList(isRecord(spec.resources) ? spec.resources.requests : undefined);
  for (const item of itemsOf(lr)) {
    if (item.type !== "PersistentVolumeClaim") continue;
    for (const name of namesOf(parseResourceList(item.min))) {
      const e = minProblem("PersistentVolumeClaim", name, item.min![name], requests, new Map());
      if (e) errs.push(e);
    }
    for (const name of namesOf(parseResourceList(item.max))) {
      const e = maxRequestProblem("PersistentVolumeClaim", name, item.max![name], requests);
      if (e) errs.push(e);
    }
  }
  return errs;
}

/** Several problems read as one, `[a, b]`, repeats dropped (as a Go error aggregate prints). */
function aggregate(errs: string[]): string {
  const unique = [...new Set(errs)];
  return unique.length === 1 ? unique[0]! : `[${unique.join(", ")}]`;
}

const byName = (a: LimitRange, b: LimitRange) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
const isCore = (req: AdmissionRequest, resource: string) => req.def.group === "" && req.def.resource === resource;

export function limitRanger(lookup: LimitRangeLookup): AdmissionPlugin {
  const rangesFor = async (req: AdmissionRequest) => (await lookup.list(req.namespace)).slice().sort(byName);
  return {
    name: "LimitRanger",
    async mutate(req: AdmissionRequest) {
      // Containers cannot change after creation, so only new pods are defaulted and checked.
      if (req.operation !== "CREATE" || req.subresource !== "" || !isCore(req, "pods") || !req.obj) return;
      const pod = req.obj;
      // Leave a malformed spec for validation to refuse.
      if (!isRecord(pod.spec)) return;
      const ranges = await rangesFor(req);
      if (ranges.length === 0) return;
      for (const lr of ranges) applyLimitRangeDefaults(lr, pod);
      // The pod's QoS class was worked out before admission; defaults can change it.
      if (isRecord(pod.status) && pod.status.qosClass !== undefined) pod.status.qosClass = podQOSClass(pod);
    },
    async validate(req: AdmissionRequest) {
      if (req.operation !== "CREATE" || req.subresource !== "" || !req.obj) return;
      const pods = isCore(req, "pods");
      if (!pods && !isCore(req, "persistentvolumeclaims")) return;
      if (!isRecord(req.obj.spec)) return;
      for (const lr of await rangesFor(req)) {
        const errs = pods ? podLimitRangeProblems(lr, req.obj) : claimLimitRangeProblems(lr, req.obj);
        if (errs.length) throw forbidden(pods ? PODS : PVCS, req.name, aggregate(errs));
      }
    },
  };
}
