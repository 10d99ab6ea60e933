// Book 10.2 and 3.5.2: the endpoints and endpointslice controllers' reconcile: the pods a Service's
// selector picks, with their IPs, readiness and resolved ports, written as Endpoints and EndpointSlices.
import type { KubeObject, Pod } from "@corekube/api";
import { selectorFromSet } from "@corekube/api";
import { ENDPOINTS, ENDPOINT_SLICES, splitKey } from "@corekube/client";
import { newControllerRef } from "../framework/owners.js";
import { isPodReady } from "../framework/pods.js";
import type { Action, ObjectReader, ReconcileResult } from "../framework/types.js";

export const LABEL_SERVICE_NAME = "kubernetes.io/service-name";
export const LABEL_MANAGED_BY = "endpointslice.kubernetes.io/managed-by";
export const ENDPOINTSLICE_CONTROLLER_NAME = "endpointslice-controller.k8s.io";
export const LABEL_HEADLESS = "service.kubernetes.io/headless";
/** Upstream's default --max-endpoints-per-slice. */
export const MAX_ENDPOINTS_PER_SLICE = 100;

export interface ServicePort {
  name?: string;
  protocol?: string;
  appProtocol?: string;
  port: number;
  targetPort?: number | string;
}

export interface Service extends KubeObject {
  spec?: { selector?: Record<string, string>; ports?: ServicePort[]; clusterIP?: string; publishNotReadyAddresses?: boolean };
}

export interface ObjectRef {
  kind: string;
  namespace?: string;
  name?: string;
  uid?: string;
}

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectRef;
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

export interface Endpoints extends KubeObject {
  subsets?: EndpointSubset[];
}

export interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectRef;
}

export interface SlicePort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface EndpointSlice extends KubeObject {
  addressType: "IPv4" | "IPv6" | "FQDN";
  endpoints?: SliceEndpoint[];
  ports?: SlicePort[];
}

export interface EndpointsState {
  services: ObjectReader;
  pods: ObjectReader<Pod>;
  endpoints: ObjectReader;
  endpointSlices: ObjectReader;
}

/**
 * Reconcile the Service `key` ("namespace/name"): both the Endpoints object (the endpoints
 * controller's job) and the EndpointSlices (the endpointslice controller's), each written only when
 * it differs from what the caches hold.
 */
export function reconcileEndpoints(key: string, s: EndpointsState): ReconcileResult {
  return { actions: [...reconcileEndpointsObject(key, s).actions, ...reconcileEndpointSlices(key, s).actions] };
}

function keyParts(key: string): [string, string] {
  const { namespace, name } = splitKey(key);
  return [namespace ?? "", name];
}

/** Whether the Service has a cluster IP (neither headless nor unallocated). */
const hasClusterIP = (svc: Service): boolean => {
  const ip = svc.spec?.clusterIP ?? "";
  return ip !== "" && ip !== "None";
};

/** A pod that may appear at all: has an IP, has not finished, and (unless allowed) is not being deleted. */
function podBelongs(pod: Pod, includeTerminating: boolean): boolean {
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return false;
  if (!pod.status?.podIP) return false;
  return includeTerminating || !pod.metadata.deletionTimestamp;
}

/** The pod port a Service port sends to: a number, the Service port itself, or a named container port. */
function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const tp = sp.targetPort;
  if (tp === undefined || tp === "" || tp === 0) return sp.port;
  if (typeof tp === "number") return tp;
  const protocol = sp.protocol ?? "TCP";
  for (const c of pod.spec.containers) {
    for (const p of c.ports ?? []) if (p.name === tp && (p.protocol ?? "TCP") === protocol) return p.containerPort;
  }
  return undefined;
}

/** The Service's ports as this pod resolves them, in Service order; unresolvable ones left out. */
function resolvedPorts(pod: Pod, svc: Service): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    out.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? "TCP", ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
  }
  return out;
}

const portsKey = (ports: EndpointPort[]): string =>
  JSON.stringify([...ports].sort(comparePorts).map((p) => [p.name ?? "", p.port, p.protocol, p.appProtocol ?? ""]));
const comparePorts = (a: EndpointPort, b: EndpointPort): number => (a.name ?? "").localeCompare(b.name ?? "") || a.port - b.port;
const podRef = (pod: Pod): ObjectRef => ({ kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid });
const byIP = <T>(ip: (x: T) => string) => (a: T, b: T) => ip(a).localeCompare(ip(b), "en", { numeric: true });

/** The hostname a pod publishes through a (headless) Service that is its subdomain. */
function hostnameFor(pod: Pod, svc: Service): string | undefined {
  const h = pod.spec["hostname"];
  return typeof h === "string" && h !== "" && pod.spec["subdomain"] === svc.metadata.name ? h : undefined;
}

function selectedPods(svc: Service, s: EndpointsState): Pod[] {
  return s.pods.list({ namespace: svc.metadata.namespace, selector: selectorFromSet(svc.spec!.selector!) });
}

// ---------------------------------------------------------------------------------------------
// Endpoints (the endpoints controller).

/** The subsets the Service's pods call for: one per distinct set of resolved ports, sorted. */
export function desiredSubsets(svc: Service, pods: Pod[]): EndpointSubset[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const headless = (svc.spec?.clusterIP ?? "") === "None";
  const groups = new Map<string, { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }>();
  for (const pod of pods) {
    if (!podBelongs(pod, publishNotReady)) continue;
    const ports = resolvedPorts(pod, svc);
    // A Service with ports sends nowhere on a pod that resolves none; only a headless one may be portless.
    if (ports.length === 0 && ((svc.spec?.ports ?? []).length > 0 || !headless)) continue;
    const hostname = hostnameFor(pod, svc);
    const addr: EndpointAddress = {
      ip: pod.status!.podIP!,
      ...(hostname ? { hostname } : {}),
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      targetRef: podRef(pod),
    };
    const key = portsKey(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports: [...ports].sort(comparePorts), ready: [], notReady: [] }));
    (publishNotReady || isPodReady(pod) ? g.ready : g.notReady).push(addr);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]) => ({
      ...(g.ready.length ? { addresses: g.ready.sort(byIP((a) => a.ip)) } : {}),
      ...(g.notReady.length ? { notReadyAddresses: g.notReady.sort(byIP((a) => a.ip)) } : {}),
      ...(g.ports.length ? { ports: g.ports } : {}),
    }));
}

/** Endpoints labels: the Service's, plus the headless marker when it has no cluster IP. */
function endpointsLabels(svc: Service): Record<string, string> {
  const labels = { ...(svc.metadata.labels ?? {}) };
  if (hasClusterIP(svc)) delete labels[LABEL_HEADLESS];
  else labels[LABEL_HEADLESS] = "";
  return labels;
}

/**
 * The endpoints controller: create or update the Endpoints object named like the Service. Services
 * without a selector are left alone (their Endpoints are written by users). When the Service is gone
 * its Endpoints are deleted, as upstream does: Endpoints carry no owner reference for the garbage
 * collector to follow.
 */
export function reconcileEndpointsObject(key: string, s: EndpointsState): ReconcileResult {
  const [namespace, name] = keyParts(key);
  const svc = s.services.get(name, namespace) as Service | undefined;
  const current = s.endpoints.get(name, namespace) as Endpoints | undefined;
  if (!svc) {
    if (!current) return { actions: [] };
    return { actions: [{ verb: "delete", resource: ENDPOINTS, namespace, name, ...(current.metadata.uid ? { uid: current.metadata.uid } : {}) }] };
  }
  if (!svc.spec?.selector) return { actions: [] };

  const subsets = desiredSubsets(svc, selectedPods(svc, s));
  const labels = endpointsLabels(svc);
  if (current) {
    if (canonical(normalizeSubsets(current.subsets)) === canonical(subsets) && canonical(current.metadata.labels ?? {}) === canonical(labels)) {
      return { actions: [] };
    }
    const next = structuredClone(current);
    next.metadata.labels = labels;
    next.subsets = subsets;
    return { actions: [{ verb: "update", resource: ENDPOINTS, object: next }] };
  }
  const created: Endpoints = { apiVersion: "v1", kind: "Endpoints", metadata: { name, namespace, labels }, subsets };
  return { actions: [{ verb: "create", resource: ENDPOINTS, object: created }] };
}

/** Subsets as stored, with empty lists dropped, so they compare with desiredSubsets' output. */
function normalizeSubsets(subsets: EndpointSubset[] | undefined): EndpointSubset[] {
  return (subsets ?? []).map((ss) => ({
    ...(ss.addresses?.length ? { addresses: ss.addresses.map(stripRefVersion) } : {}),
    ...(ss.notReadyAddresses?.length ? { notReadyAddresses: ss.notReadyAddresses.map(stripRefVersion) } : {}),
    ...(ss.ports?.length ? { ports: ss.ports } : {}),
  }));
}

/** A pod's resourceVersion in a targetRef is not worth an update (upstream ignores it too). */
function stripRefVersion(a: EndpointAddress): EndpointAddress {
  if (!a.targetRef || !("resourceVersion" in a.targetRef)) return a;
  const { resourceVersion: _rv, ...ref } = a.targetRef as ObjectRef & { resourceVersion?: string };
  return { ...a, targetRef: ref };
}

/** JSON with sorted keys and undefined members dropped: equality that ignores key order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}

// ---------------------------------------------------------------------------------------------
// EndpointSlices (the endpointslice controller).

interface SliceGroup {
  key: string;
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
}

/** IPv4 slice contents: endpoints grouped by resolved ports, at most MAX_ENDPOINTS_PER_SLICE each. */
export function desiredSliceGroups(svc: Service, pods: Pod[]): SliceGroup[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, SliceGroup>();
  for (const pod of pods) {
    // Slices keep terminating pods, marked so, for graceful connection draining.
    if (!podBelongs(pod, true)) continue;
    const ip = pod.status!.podIP!;
    if (ip.includes(":")) continue; // this controller writes IPv4 slices only
    const ports = resolvedPorts(pod, svc);
    const key = portsKey(ports);
    let g = groups.get(key);
    if (!g) {
      const slicePorts = [...ports].sort(comparePorts).map((p) => ({ name: p.name ?? "", port: p.port, protocol: p.protocol, ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) }));
      groups.set(key, (g = { key, ports: slicePorts, endpoints: [] }));
    }
    const terminating = !!pod.metadata.deletionTimestamp;
    const serving = publishNotReady || isPodReady(pod);
    const hostname = hostnameFor(pod, svc);
    g.endpoints.push({
      addresses: [ip],
      conditions: { ready: publishNotReady || (serving && !terminating), serving, terminating },
      ...(hostname ? { hostname } : {}),
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      targetRef: podRef(pod),
    });
  }
  const out: SliceGroup[] = [];
  for (const g of [...groups.values()].sort((a, b) => a.key.localeCompare(b.key))) {
    g.endpoints.sort(byIP((e) => e.addresses[0]!));
    for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) {
      out.push({ key: g.key, ports: g.ports, endpoints: g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE) });
    }
  }
  return out;
}

function sliceLabels(svc: Service): Record<string, string> {
  const labels = { ...(svc.metadata.labels ?? {}) };
  delete labels[LABEL_HEADLESS];
  labels[LABEL_SERVICE_NAME] = svc.metadata.name ?? "";
  labels[LABEL_MANAGED_BY] = ENDPOINTSLICE_CONTROLLER_NAME;
  if (!hasClusterIP(svc)) labels[LABEL_HEADLESS] = "";
  return labels;
}

const slicePortsKey = (ports: SlicePort[] | undefined): string =>
  portsKey((ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol ?? "TCP", ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })));

/**
 * The endpointslice controller: the Service's ready, serving and terminating pods as IPv4
 * EndpointSlices named `<service>-<random>`, owned by the Service (so the garbage collector removes
 * them with it). Existing slices with the same ports are updated in place when they differ; slices
 * no longer needed are deleted. A Service with no endpoints keeps one empty placeholder slice.
 */
export function reconcileEndpointSlices(key: string, s: EndpointsState): ReconcileResult {
  const [namespace, name] = keyParts(key);
  const svc = s.services.get(name, namespace) as Service | undefined;
  if (!svc || !svc.spec?.selector || svc.metadata.deletionTimestamp) return { actions: [] };

  const groups = desiredSliceGroups(svc, selectedPods(svc, s));
  if (groups.length === 0) groups.push({ key: portsKey([]), ports: [], endpoints: [] });
  const labels = sliceLabels(svc);
  const ownerRef = newControllerRef(svc, "v1", "Service");

  const existing = (
    s.endpointSlices.list({
      namespace,
      selector: selectorFromSet({ [LABEL_SERVICE_NAME]: name, [LABEL_MANAGED_BY]: ENDPOINTSLICE_CONTROLLER_NAME }),
    }) as EndpointSlice[]
  )
    .filter((sl) => sl.addressType === "IPv4")
    .sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  const unused = new Set(existing);

  const actions: Action[] = [];
  for (const g of groups) {
    const match = existing.find((sl) => unused.has(sl) && slicePortsKey(sl.ports) === g.key);
    if (!match) {
      const created: EndpointSlice = {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { generateName: `${name}-`, namespace, labels, ownerReferences: [ownerRef] },
        addressType: "IPv4",
        endpoints: g.endpoints,
        ports: g.ports,
      };
      actions.push({ verb: "create", resource: ENDPOINT_SLICES, object: created });
      continue;
    }
    unused.delete(match);
    const refs = match.metadata.ownerReferences ?? [];
    const owned = refs.some((r) => r.controller === true && r.uid === svc.metadata.uid);
    const same =
      owned &&
      canonical(match.metadata.labels ?? {}) === canonical(labels) &&
      canonical(match.ports ?? []) === canonical(g.ports) &&
      canonical((match.endpoints ?? []).map(stripSliceRefVersion)) === canonical(g.endpoints);
    if (same) continue;
    const next = structuredClone(match);
    next.metadata.labels = labels;
    if (!owned) next.metadata.ownerReferences = [...refs.filter((r) => r.controller !== true), ownerRef];
    next.endpoints = g.endpoints;
    next.ports = g.ports;
    actions.push({ verb: "update", resource: ENDPOINT_SLICES, object: next });
  }
  for (const sl of unused) {
    actions.push({
      verb: "delete",
      resource: ENDPOINT_SLICES,
      namespace,
      name: sl.metadata.name ?? "",
      ...(sl.metadata.uid ? { uid: sl.metadata.uid } : {}),
    });
  }
  return { actions };
}

function stripSliceRefVersion(e: SliceEndpoint): SliceEndpoint {
  if (!e.targetRef || !("resourceVersion" in e.targetRef)) return e;
  const { resourceVersion: _rv, ...ref } = e.targetRef as ObjectRef & { resourceVersion?: string };
  return { ...e, targetRef: ref };
}
