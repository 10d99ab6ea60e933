// Book 11.2.3: what the scheduler knows about each node: its allocatable resources, the pods on it
// (bound or assumed) and what they request, host ports in use, images present; plus the snapshot
// of all nodes that one scheduling cycle reads.
import {
  type Affinity,
  type LabelSelector,
  type Node,
  type Pod,
  type PodAffinityTerm,
  type ResourceList,
  type Selector,
  matches,
  parseQuantity,
  selectorFromLabelSelector,
} from "@corekube/api";

// ---- resources ----

/** Requested or allocatable amounts: CPU in millicores, memory and storage in bytes, pods as a count. */
export interface Resource {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  allowedPodNumber: number;
  /** Extended resources (e.g. example.com/gpu, hugepages-2Mi), in their integer unit. */
  scalar: Map<string, number>;
}

export const emptyResource = (): Resource => ({ milliCPU: 0, memory: 0, ephemeralStorage: 0, allowedPodNumber: 0, scalar: new Map() });

export const cloneResource = (r: Resource): Resource => ({ ...r, scalar: new Map(r.scalar) });

/** Scheduling assumes this much for a container that requests no CPU / memory (upstream's non-zero defaults). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

function quantity(v: string | number | undefined, milli: boolean): number {
  if (v === undefined) return 0;
  try {
    const q = parseQuantity(v);
    return milli ? q.milliValue() : q.value();
  } catch {
    return 0;
  }
}

/** Adds a ResourceList (e.g. container requests or node allocatable) into `into`. */
export function addResourceList(into: Resource, list: ResourceList | undefined): void {
  if (!list) return;
  for (const [name, v] of Object.entries(list)) {
    switch (name) {
      case "cpu":
        into.milliCPU += quantity(v, true);
        break;
      case "memory":
        into.memory += quantity(v, false);
        break;
      case "ephemeral-storage":
        into.ephemeralStorage += quantity(v, false);
        break;
      case "pods":
        into.allowedPodNumber += quantity(v, false);
        break;
      default:
        into.scalar.set(name, (into.scalar.get(name) ?? 0) + quantity(v, false));
    }
  }
}

function maxInto(into: Resource, other: Resource): void {
  into.milliCPU = Math.max(into.milliCPU, other.milliCPU);
  into.memory = Math.max(into.memory, other.memory);
  into.ephemeralStorage = Math.max(into.ephemeralStorage, other.ephemeralStorage);
  for (const [k, v] of other.scalar) into.scalar.set(k, Math.max(into.scalar.get(k) ?? 0, v));
}

function addInto(into: Resource, other: Resource): void {
  into.milliCPU += other.milliCPU;
  into.memory += other.memory;
  into.ephemeralStorage += other.ephemeralStorage;
  for (const [k, v] of other.scalar) into.scalar.set(k, (into.scalar.get(k) ?? 0) + v);
}

/**
 * A pod's effective request, as upstream computes it: the sum over app containers (and restartable
 * "sidecar" init containers), at least the largest ordinary init container (which runs alone), plus
 * the pod overhead. With `nonZero`, containers without a CPU or memory request count the defaults.
 */
export function podRequests(pod: Pod, nonZero = false): Resource {
  const sum = emptyResource();
  const containerReq = (requests: ResourceList | undefined): Resource => {
    const r = emptyResource();
    addResourceList(r, requests);
    if (nonZero) {
      if (!requests || requests.cpu === undefined) r.milliCPU = DEFAULT_MILLI_CPU_REQUEST;
      if (!requests || requests.memory === undefined) r.memory = DEFAULT_MEMORY_REQUEST;
    }
    return r;
  };
  for (const c of pod.spec.containers ?? []) addInto(sum, containerReq(c.resources?.requests));
  // Init containers run one at a time, each next to the sidecars started before it; the pod needs
  // the most of that phase's peak and of (app containers + all sidecars).
  const sidecars = emptyResource();
  const initPeak = emptyResource();
  for (const c of pod.spec.initContainers ?? []) {
    const r = containerReq(c.resources?.requests);
    if (c.restartPolicy === "Always") {
      addInto(sidecars, r);
      addInto(sum, r);
      maxInto(initPeak, sidecars);
    } else {
      addInto(r, sidecars);
      maxInto(initPeak, r);
    }
  }
  maxInto(sum, initPeak);
  addResourceList(sum, pod.spec.overhead);
  return sum;
}

// ---- pod affinity terms, parsed once per pod ----

export interface AffinityTerm {
  /** Namespaces the term looks in (the pod's own when neither namespaces nor namespaceSelector is set). */
  namespaces: Set<string>;
  /** Also every namespace whose labels match this (null: none; an empty selector: all namespaces). */
  namespaceSelector: Selector | null;
  selector: Selector;
  topologyKey: string;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

function parseTerm(pod: Pod, t: PodAffinityTerm): AffinityTerm {
  const ns = pod.metadata.namespace ?? "default";
  let ls: LabelSelector | undefined = t.labelSelector;
  // matchLabelKeys / mismatchLabelKeys: add "key in (my value)" / "key notin (my value)" for this pod's labels.
  const labels = pod.metadata.labels ?? {};
  const extra: NonNullable<LabelSelector["matchExpressions"]> = [];
  for (const k of t.matchLabelKeys ?? []) if (labels[k] !== undefined) extra.push({ key: k, operator: "In", values: [labels[k]!] });
  for (const k of t.mismatchLabelKeys ?? []) if (labels[k] !== undefined) extra.push({ key: k, operator: "NotIn", values: [labels[k]!] });
  if (extra.length > 0 && ls) ls = { ...ls, matchExpressions: [...(ls.matchExpressions ?? []), ...extra] };
  let selector: Selector;
  try {
    selector = selectorFromLabelSelector(ls ?? null);
  } catch {
    selector = selectorFromLabelSelector(null);
  }
  let namespaceSelector: Selector | null = null;
  if (t.namespaceSelector) {
    try {
      namespaceSelector = selectorFromLabelSelector(t.namespaceSelector);
    } catch {
      namespaceSelector = null;
    }
  }
  const namespaces = new Set(t.namespaces ?? []);
  if (namespaces.size === 0 && !t.namespaceSelector) namespaces.add(ns);
  return { namespaces, namespaceSelector, selector, topologyKey: t.topologyKey };
}

/** Whether `pod` (in a namespace with `nsLabels`) is one that `term` selects. */
export function termMatches(term: AffinityTerm, pod: Pod, nsLabels: Record<string, string> | undefined): boolean {
  const ns = pod.metadata.namespace ?? "default";
  const inNs = term.namespaces.has(ns) || (term.namespaceSelector !== null && nsLabels !== undefined && matches(term.namespaceSelector, nsLabels));
  return inNs && matches(term.selector, pod.metadata.labels);
}

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

/** A pod plus what the scheduler derives from its spec once (requests, affinity terms, host ports). */
export class PodInfo {
  readonly requests: Resource;
  readonly nonZeroRequests: Resource;
  readonly requiredAffinityTerms: AffinityTerm[];
  readonly requiredAntiAffinityTerms: AffinityTerm[];
  readonly preferredAffinityTerms: WeightedAffinityTerm[];
  readonly preferredAntiAffinityTerms: WeightedAffinityTerm[];
  readonly hostPorts: HostPort[];

  constructor(readonly pod: Pod) {
    this.requests = podRequests(pod);
    this.nonZeroRequests = podRequests(pod, true);
    const a: Affinity = pod.spec.affinity ?? {};
    this.requiredAffinityTerms = (a.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => parseTerm(pod, t));
    this.requiredAntiAffinityTerms = (a.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => parseTerm(pod, t));
    this.preferredAffinityTerms = (a.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w) => ({
      ...parseTerm(pod, w.podAffinityTerm),
      weight: w.weight,
    }));
    this.preferredAntiAffinityTerms = (a.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w) => ({
      ...parseTerm(pod, w.podAffinityTerm),
      weight: w.weight,
    }));
    this.hostPorts = [];
    // Ordinary init containers have exited before the app starts; only sidecars keep their ports.
    const sidecars = (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
    for (const c of [...sidecars, ...(pod.spec.containers ?? [])]) {
      for (const p of c.ports ?? []) {
        if (p.hostPort && p.hostPort > 0) this.hostPorts.push({ ip: p.hostIP || "0.0.0.0", protocol: p.protocol ?? "TCP", port: p.hostPort });
      }
    }
  }

  get hasAffinity(): boolean {
    return (
      this.requiredAffinityTerms.length + this.requiredAntiAffinityTerms.length + this.preferredAffinityTerms.length + this.preferredAntiAffinityTerms.length >
      0
    );
  }

  get uid(): string {
    return podKey(this.pod);
  }
}

/** The cache's identity for a pod: its uid, or namespace/name when it has none (tests). */
export function podKey(pod: Pod): string {
  return pod.metadata.uid ?? `${pod.metadata.namespace ?? "default"}/${pod.metadata.name ?? ""}`;
}

// ---- node info ----

export interface ImageStateSummary {
  size: number;
  /** On how many nodes the image is present (spreads ImageLocality's score). */
  numNodes: number;
}

let generationCounter = 0;
export const nextGeneration = (): number => ++generationCounter;

/** One node and the pods the scheduler places on it (bound and assumed). */
export class NodeInfo {
  node: Node | null = null;
  pods: PodInfo[] = [];
  podsWithAffinity: PodInfo[] = [];
  podsWithRequiredAntiAffinity: PodInfo[] = [];
  /** "ip/protocol/port" of every host port in use. */
  usedPorts = new Set<string>();
  requested: Resource = emptyResource();
  nonZeroRequested: Resource = emptyResource();
  allocatable: Resource = emptyResource();
  /** Image name -> summary, for images present on this node. */
  imageStates = new Map<string, ImageStateSummary>();
  /** Bumped on every change, so a snapshot can copy only nodes that changed. */
  generation = nextGeneration();

  constructor(node?: Node) {
    if (node) this.setNode(node);
  }

  get name(): string {
    return this.node?.metadata.name ?? "";
  }

  setNode(node: Node): void {
    this.node = node;
    this.allocatable = emptyResource();
    addResourceList(this.allocatable, node.status?.allocatable ?? node.status?.capacity);
    this.generation = nextGeneration();
  }

  removeNode(): void {
    this.node = null;
    this.generation = nextGeneration();
  }

  addPodInfo(pi: PodInfo): void {
    this.pods.push(pi);
    if (pi.hasAffinity) this.podsWithAffinity.push(pi);
    if (pi.requiredAntiAffinityTerms.length > 0) this.podsWithRequiredAntiAffinity.push(pi);
    this.update(pi, 1);
  }

  addPod(pod: Pod): void {
    this.addPodInfo(new PodInfo(pod));
  }

  /** Removes the pod with the same key; false if it was not here. */
  removePod(pod: Pod): boolean {
    const key = podKey(pod);
    const i = this.pods.findIndex((p) => p.uid === key);
    if (i < 0) return false;
    const pi = this.pods[i]!;
    this.pods.splice(i, 1);
    const drop = (list: PodInfo[]) => {
      const j = list.findIndex((p) => p.uid === key);
      if (j >= 0) list.splice(j, 1);
    };
    drop(this.podsWithAffinity);
    drop(this.podsWithRequiredAntiAffinity);
    this.update(pi, -1);
    return true;
  }

  private update(pi: PodInfo, sign: 1 | -1): void {
    const add = (into: Resource, r: Resource) => {
      into.milliCPU += sign * r.milliCPU;
      into.memory += sign * r.memory;
      into.ephemeralStorage += sign * r.ephemeralStorage;
      for (const [k, v] of r.scalar) into.scalar.set(k, (into.scalar.get(k) ?? 0) + sign * v);
    };
    add(this.requested, pi.requests);
    add(this.nonZeroRequested, pi.nonZeroRequests);
    for (const hp of pi.hostPorts) {
      const k = `${hp.ip}/${hp.protocol}/${hp.port}`;
      if (sign > 0) this.usedPorts.add(k);
      else this.usedPorts.delete(k);
    }
    this.generation = nextGeneration();
  }

  /** A copy whose lists and sums can change without touching this one (pods themselves are shared). */
  clone(): NodeInfo {
    const c = new NodeInfo();
    c.node = this.node;
    c.pods = [...this.pods];
    c.podsWithAffinity = [...this.podsWithAffinity];
    c.podsWithRequiredAntiAffinity = [...this.podsWithRequiredAntiAffinity];
    c.usedPorts = new Set(this.usedPorts);
    c.requested = cloneResource(this.requested);
    c.nonZeroRequested = cloneResource(this.nonZeroRequested);
    c.allocatable = cloneResource(this.allocatable);
    c.imageStates = this.imageStates;
    c.generation = this.generation;
    return c;
  }
}

/** The nodes one scheduling cycle sees; taken from the cache at the cycle's start. */
export class Snapshot {
  nodeInfoMap = new Map<string, NodeInfo>();
  nodeInfoList: NodeInfo[] = [];
  havePodsWithAffinityList: NodeInfo[] = [];
  havePodsWithRequiredAntiAffinityList: NodeInfo[] = [];
  generation = 0;

  /** A snapshot built straight from nodes and pods (tests, and preemption dry-runs). */
  static from(nodes: Node[], pods: Pod[] = []): Snapshot {
    const s = new Snapshot();
    for (const n of nodes) s.nodeInfoMap.set(n.metadata.name!, new NodeInfo(n));
    for (const p of pods) {
      const ni = p.spec.nodeName ? s.nodeInfoMap.get(p.spec.nodeName) : undefined;
      if (ni) ni.addPod(p);
    }
    s.rebuildLists();
    return s;
  }

  get(name: string): NodeInfo | undefined {
    return this.nodeInfoMap.get(name);
  }

  /** Recomputes the lists from the map (after the cache changed it). */
  rebuildLists(): void {
    this.nodeInfoList = [...this.nodeInfoMap.values()].filter((n) => n.node !== null);
    this.havePodsWithAffinityList = this.nodeInfoList.filter((n) => n.podsWithAffinity.length > 0);
    this.havePodsWithRequiredAntiAffinityList = this.nodeInfoList.filter((n) => n.podsWithRequiredAntiAffinity.length > 0);
  }
}
