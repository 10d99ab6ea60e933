// Book 11.2.3: test builders: compact Pods and Nodes for scheduler unit tests (no API server needed).
import type { Affinity, Node, Pod, Taint, Toleration, TopologySpreadConstraint } from "@corekube/api";

export interface NodeOptions {
  cpu?: string;
  memory?: string;
  pods?: number;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  images?: { names: string[]; sizeBytes: number }[];
  extended?: Record<string, string>;
}

/** A Ready node named `name` (its `kubernetes.io/hostname` label set), 4 CPUs / 8Gi / 110 pods by default. */
export function makeNode(name: string, o: NodeOptions = {}): Node {
  const allocatable = { cpu: o.cpu ?? "4", memory: o.memory ?? "8Gi", pods: String(o.pods ?? 110), ...(o.extended ?? {}) };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, uid: `node-${name}`, labels: { "kubernetes.io/hostname": name, ...(o.labels ?? {}) } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: {
      capacity: allocatable,
      allocatable,
      conditions: [{ type: "Ready", status: "True" }],
      ...(o.images ? { images: o.images } : {}),
    },
  };
}

export interface PodOptions {
  namespace?: string;
  uid?: string;
  cpu?: string;
  memory?: string;
  extended?: Record<string, string>;
  nodeName?: string;
  labels?: Record<string, string>;
  priority?: number;
  preemptionPolicy?: "PreemptLowerPriority" | "Never";
  nodeSelector?: Record<string, string>;
  affinity?: Affinity;
  tolerations?: Toleration[];
  topologySpreadConstraints?: TopologySpreadConstraint[];
  hostPorts?: number[];
  images?: string[];
  creationTimestamp?: string;
  schedulingGates?: string[];
  nominatedNodeName?: string;
}

/** A one-container pod (several with `images`); requests only what the options say. */
export function makePod(name: string, o: PodOptions = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  Object.assign(requests, o.extended ?? {});
  const images = o.images ?? ["registry.local/app:1"];
  const namespace = o.namespace ?? "default";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      uid: o.uid ?? `uid-${namespace}-${name}`,
      labels: o.labels ?? {},
      creationTimestamp: o.creationTimestamp ?? "2026-01-01T00:00:00Z",
    },
    spec: {
      containers: images.map((image, i) => ({
        name: `c${i}`,
        image,
        ...(i === 0 && Object.keys(requests).length ? { resources: { requests } } : {}),
        ...(i === 0 && o.hostPorts ? { ports: o.hostPorts.map((p) => ({ containerPort: p, hostPort: p, protocol: "TCP" as const })) } : {}),
      })),
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      priority: o.priority ?? 0,
      ...(o.preemptionPolicy ? { preemptionPolicy: o.preemptionPolicy } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.affinity ? { affinity: o.affinity } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
      ...(o.topologySpreadConstraints ? { topologySpreadConstraints: o.topologySpreadConstraints } : {}),
      ...(o.schedulingGates ? { schedulingGates: o.schedulingGates.map((n) => ({ name: n })) } : {}),
      schedulerName: "default-scheduler",
    },
    status: { phase: "Pending", ...(o.nominatedNodeName ? { nominatedNodeName: o.nominatedNodeName } : {}) },
  };
}
