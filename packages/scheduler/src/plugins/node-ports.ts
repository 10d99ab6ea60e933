// Book 11.2.3: the NodePorts filter: a host port (protocol and port, on one IP or on all of them)
// can be taken by only one pod per node.
import type { Pod } from "@corekube/api";
import type { HostPort, NodeInfo } from "../framework/node-info.js";
import {
  Action,
  type ClusterEventWithHint,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type MaybeStatus,
  type PluginFactory,
  type PreFilterPlugin,
  type PreFilterResult,
  type QueueingHint,
  errorStatus,
  skipStatus,
  unschedulable,
} from "../framework/types.js";

export const NODE_PORTS = "NodePorts";

export const ERR_REASON_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";

const PRE_FILTER_KEY = `PreFilter${NODE_PORTS}`;
const ALL_IPS = "0.0.0.0";

/**
 * The host ports a pod holds for its whole life: those of its app containers and of its sidecars
 * (init containers with restartPolicy Always); ordinary init containers are gone before the rest start.
 */
export function podHostPorts(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  const collect = (ports: readonly { hostPort?: number; hostIP?: string; protocol?: string }[] | undefined) => {
    for (const p of ports ?? []) {
      if (p.hostPort && p.hostPort > 0) out.push({ ip: p.hostIP || ALL_IPS, protocol: p.protocol || "TCP", port: p.hostPort });
    }
  };
  for (const c of pod.spec.initContainers ?? []) if (c.restartPolicy === "Always") collect(c.ports);
  for (const c of pod.spec.containers ?? []) collect(c.ports);
  return out;
}

/** One wanted port, with the usedPorts keys that would clash with it worked out once per pod. */
interface WantedPort {
  /** On 0.0.0.0: any used key ending in "/protocol/port" clashes. */
  anyIPSuffix: string | null;
  /** On one IP: that IP's key or the 0.0.0.0 key clashes. */
  keys: [string, string] | null;
}

function wanted(ports: readonly HostPort[]): WantedPort[] {
  return ports.map((p) => {
    const suffix = `/${p.protocol}/${p.port}`;
    return p.ip === ALL_IPS ? { anyIPSuffix: suffix, keys: null } : { anyIPSuffix: null, keys: [`${ALL_IPS}${suffix}`, `${p.ip}${suffix}`] };
  });
}

/** Whether all of `want` are free given the node's used "ip/protocol/port" keys. */
function portsFree(want: readonly WantedPort[], used: ReadonlySet<string>): boolean {
  if (used.size === 0) return true;
  for (const w of want) {
    if (w.keys !== null) {
      if (used.has(w.keys[0]) || used.has(w.keys[1])) return false;
    } else {
      for (const k of used) if (k.endsWith(w.anyIPSuffix!)) return false;
    }
  }
  return true;
}

export class NodePorts implements PreFilterPlugin, FilterPlugin, EnqueueExtensions {
  readonly name = NODE_PORTS;

  /** Nothing to check for a pod without host ports. */
  preFilter(state: CycleState, pod: Pod, _nodes: readonly NodeInfo[]): { result?: PreFilterResult; status: MaybeStatus } {
    const ports = podHostPorts(pod);
    if (ports.length === 0) return { status: skipStatus() };
    state.write(PRE_FILTER_KEY, wanted(ports));
    return { status: null };
  }

  filter(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): MaybeStatus {
    const want = state.read<WantedPort[]>(PRE_FILTER_KEY);
    if (!want) return errorStatus(new Error(`reading "${PRE_FILTER_KEY}" from cycle state: not found (PreFilter did not run)`));
    return portsFree(want, nodeInfo.usedPorts) ? null : unschedulable(ERR_REASON_NODE_PORTS);
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      // Container ports cannot change on a pod, so only deletions free a port.
      { event: { resource: "AssignedPod", action: Action.Delete }, hint: isSchedulableAfterPodDeleted },
      { event: { resource: "Node", action: Action.Add } },
    ];
  }
}

/** Queue only when the deleted pod sat on (or was nominated to) a node and held a port this pod wants. */
function isSchedulableAfterPodDeleted(pod: Pod, oldObj: unknown): QueueingHint {
  const deleted = oldObj as Pod | null | undefined;
  if (!deleted) return "Queue";
  if (!deleted.spec.nodeName && !deleted.status?.nominatedNodeName) return "Skip";
  const freed = podHostPorts(deleted);
  if (freed.length === 0) return "Skip";
  const used = new Set(freed.map((p) => `${p.ip}/${p.protocol}/${p.port}`));
  return portsFree(wanted(podHostPorts(pod)), used) ? "Skip" : "Queue";
}

export const newNodePorts: PluginFactory = () => new NodePorts();
