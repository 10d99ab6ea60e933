// Book 9.3 (node lifecycle): the Node a kubelet registers and keeps current: capacity read from the
// machine, allocatable after reservations and hard eviction thresholds, the four conditions, addresses.
import { type Node, type NodeCondition, rfc3339 } from "@corekube/api";
import type { MachineInfo } from "./machine.js";

export const KUBELET_VERSION = "v1.33.0-corekube";
export const KUBELET_PORT = 10250;

export interface Reservations {
  /** kube-reserved + system-reserved. */
  cpuMilli: number;
  memoryBytes: number;
  ephemeralBytes: number;
  /** evictionHard memory.available (default 100Mi). */
  evictionMemoryBytes: number;
  /** evictionHard nodefs.available as a fraction of the disk (default 0.1). */
  evictionNodefsFraction: number;
  /** evictionHard pid.available as a fraction of pid_max (PIDPressure below it). */
  evictionPidFraction: number;
}

export const DEFAULT_RESERVATIONS: Reservations = {
  cpuMilli: 0,
  memoryBytes: 0,
  ephemeralBytes: 0,
  evictionMemoryBytes: 100 * 1024 * 1024,
  evictionNodefsFraction: 0.1,
  evictionPidFraction: 0.1,
};

const ki = (bytes: number) => `${Math.max(0, Math.floor(bytes / 1024))}Ki`;

export function capacityOf(m: MachineInfo, maxPods: number): Record<string, string> {
  return { cpu: String(m.cpus), memory: ki(m.memoryBytes), pods: String(maxPods), "ephemeral-storage": ki(m.fsBytes), "hugepages-2Mi": "0" };
}

/** Capacity minus what is reserved for the system and what eviction keeps free (upstream's formula). */
export function allocatableOf(m: MachineInfo, maxPods: number, r: Reservations): Record<string, string> {
  const cpuMilli = Math.max(0, m.cpus * 1000 - r.cpuMilli);
  return {
    cpu: cpuMilli % 1000 === 0 ? String(cpuMilli / 1000) : `${cpuMilli}m`,
    memory: ki(m.memoryBytes - r.memoryBytes - r.evictionMemoryBytes),
    pods: String(maxPods),
    "ephemeral-storage": ki(m.fsBytes - r.ephemeralBytes - m.fsBytes * r.evictionNodefsFraction),
    "hugepages-2Mi": "0",
  };
}

export interface RuntimeHealth {
  ready: boolean;
  /** Why not, in the kubelet's words (e.g. "container runtime network not ready: ..."). */
  message?: string;
}

/**
 * The four conditions from what the machine shows now. A condition keeps its lastTransitionTime
 * unless its status changed since `previous`.
 */
export function nodeConditions(m: MachineInfo, r: Reservations, health: RuntimeHealth, previous: readonly NodeCondition[], now: Date): NodeCondition[] {
  const memPressure = m.memoryAvailableBytes < r.evictionMemoryBytes;
  const diskPressure = m.fsBytes > 0 && m.fsAvailableBytes < m.fsBytes * r.evictionNodefsFraction;
  const pidPressure = m.pidMax - m.pidsInUse < m.pidMax * r.evictionPidFraction;
  const c = (type: string, status: "True" | "False", reason: string, message: string): NodeCondition => {
    const old = previous.find((x) => x.type === type);
    return {
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: rfc3339(now),
      lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : rfc3339(now),
    };
  };
  return [
    memPressure
      ? c("MemoryPressure", "True", "KubeletHasInsufficientMemory", "kubelet has insufficient memory available")
      : c("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    diskPressure ? c("DiskPressure", "True", "KubeletHasDiskPressure", "kubelet has disk pressure") : c("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    pidPressure
      ? c("PIDPressure", "True", "KubeletHasInsufficientPID", "kubelet has insufficient PID available")
      : c("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    health.ready
      ? c("Ready", "True", "KubeletReady", "kubelet is posting ready status")
      : c("Ready", "False", "KubeletNotReady", health.message ?? "kubelet is not ready"),
  ];
}

export interface NodeIdentity {
  name: string;
  nodeIP: string;
  podCIDR?: string;
  labels?: Record<string, string>;
  maxPods: number;
  reservations: Reservations;
  runtimeVersion: string;
  /** Where the kubelet's HTTPS API listens (daemonEndpoints; default 10250). */
  port?: number;
}

/** The status block the kubelet patches onto its Node. */
export function nodeStatus(id: NodeIdentity, m: MachineInfo, health: RuntimeHealth, previous: readonly NodeCondition[], now: Date): NonNullable<Node["status"]> {
  return {
    capacity: capacityOf(m, id.maxPods),
    allocatable: allocatableOf(m, id.maxPods, id.reservations),
    conditions: nodeConditions(m, id.reservations, health, previous, now),
    addresses: [
      { type: "InternalIP", address: id.nodeIP },
      { type: "Hostname", address: id.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: id.port ?? KUBELET_PORT } },
    nodeInfo: {
      machineID: m.machineID,
      systemUUID: m.systemUUID,
      bootID: m.bootID,
      kernelVersion: m.kernelVersion,
      osImage: m.osImage,
      containerRuntimeVersion: id.runtimeVersion,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: m.architecture,
    },
  };
}

/** The Node as first registered: well-known labels, the pod range if the kubelet was given one. */
export function registrationNode(id: NodeIdentity, m: MachineInfo, health: RuntimeHealth, now: Date): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: id.name,
      labels: {
        "kubernetes.io/hostname": id.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": m.architecture,
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": m.architecture,
        ...(id.labels ?? {}),
      },
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: id.podCIDR ? { podCIDR: id.podCIDR, podCIDRs: [id.podCIDR] } : {},
    status: nodeStatus(id, m, health, [], now),
  };
}

/**
 * Whether `next` differs from what the Node shows in a way worth a write before the report
 * interval (heartbeat times alone are not).
 */
export function statusChanged(current: Node["status"] | undefined, next: NonNullable<Node["status"]>): boolean {
  const strip = (s: Node["status"] | undefined) =>
    JSON.stringify({ ...s, conditions: (s?.conditions ?? []).map(({ lastHeartbeatTime: _h, ...c }) => c) });
  return strip(current) !== strip(next);
}
