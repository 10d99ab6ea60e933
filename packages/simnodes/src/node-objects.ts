// Book 2.3.2 and 9.3: what a kubelet writes when it registers its node — the Node (labels, pod CIDR,
// capacity, conditions, addresses, nodeInfo) and its heartbeat Lease in kube-node-lease. Pure code.
import { createHash } from "node:crypto";
import { buildNodeLease, NODE_LEASE_NAMESPACE, type Node, type NodeCondition, type Taint, rfc3339 } from "@corekube/api";

export const SIMULATED_LABEL = "corekube.io/simulated";
export { NODE_LEASE_NAMESPACE };
export const KUBELET_VERSION = "v1.33.0-corekube-sim";
export const CONTAINER_RUNTIME_VERSION = "simulated://1";
export const KUBELET_PORT = 10250;

export interface NodeTemplate {
  name: string;
  cpu: string;
  memory: string;
  pods: number | string;
  ephemeralStorage: string;
  /** Added to (and overriding) the well-known labels. */
  labels?: Record<string, string>;
  taints?: Taint[];
  podCIDR: string;
  nodeIP: string;
}

/** The labels a kubelet puts on its node, plus the marker that says it is simulated. */
export function nodeLabels(name: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    "kubernetes.io/hostname": name,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "beta.kubernetes.io/arch": "amd64",
    "node.kubernetes.io/instance-type": "simulated",
    [SIMULATED_LABEL]: "true",
    ...extra,
  };
}

/**
 * The four conditions a healthy kubelet reports. `since` is when they last changed (their
 * lastTransitionTime); `heartbeat` is now.
 */
export function healthyConditions(since: Date, heartbeat: Date): NodeCondition[] {
  const c = (type: string, status: "True" | "False", reason: string, message: string): NodeCondition => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: rfc3339(heartbeat),
    lastTransitionTime: rfc3339(since),
  });
  return [
    c("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    c("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    c("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    c("Ready", "True", "KubeletReady", "kubelet is posting ready status (simulated)"),
  ];
}

/** A stable UUID-shaped id made from a name (systemUUID and machineID of a simulated machine). */
export function uuidFromName(name: string): string {
  const h = createHash("sha256").update(name).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The Node a kubelet would register, with its status filled in (the API server keeps a Node's status on create). */
export function buildNode(t: NodeTemplate, now: Date, bootID: string): Node {
  const resources = { cpu: t.cpu, memory: t.memory, pods: String(t.pods), "ephemeral-storage": t.ephemeralStorage };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: t.name,
      labels: nodeLabels(t.name, t.labels),
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: {
      podCIDR: t.podCIDR,
      podCIDRs: [t.podCIDR],
      ...(t.taints && t.taints.length > 0 ? { taints: t.taints.map((x) => ({ ...x })) } : {}),
    },
    status: {
      capacity: { ...resources },
      allocatable: { ...resources },
      conditions: healthyConditions(now, now),
      addresses: [
        { type: "InternalIP", address: t.nodeIP },
        { type: "Hostname", address: t.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: KUBELET_PORT } },
      nodeInfo: {
        machineID: uuidFromName(`machine/${t.name}`).replace(/-/g, ""),
        systemUUID: uuidFromName(`system/${t.name}`),
        bootID,
        kernelVersion: "6.1.0-simulated",
        osImage: "corekube simulated node",
        containerRuntimeVersion: CONTAINER_RUNTIME_VERSION,
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: "",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    },
  };
}

/** The node's heartbeat Lease (shared with the real kubelet). */
export const buildLease = buildNodeLease;

/** Parses "key=value:Effect" or "key:Effect" (kubectl taint's syntax). */
export function parseTaint(text: string): Taint {
  const colon = text.lastIndexOf(":");
  if (colon <= 0) throw new Error(`taint "${text}" must look like key=value:Effect or key:Effect`);
  const effect = text.slice(colon + 1);
  if (effect !== "NoSchedule" && effect !== "PreferNoSchedule" && effect !== "NoExecute") {
    throw new Error(`taint "${text}": effect must be NoSchedule, PreferNoSchedule or NoExecute, got "${effect}"`);
  }
  const kv = text.slice(0, colon);
  const eq = kv.indexOf("=");
  const key = eq < 0 ? kv : kv.slice(0, eq);
  if (key === "") throw new Error(`taint "${text}" has no key`);
  return eq < 0 ? { key, effect } : { key, value: kv.slice(eq + 1), effect };
}
