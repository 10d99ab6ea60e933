// Book 9.2: what the kubelet's HTTPS API is fed — the exec source, the Summary API's shape
// (/stats/summary, read by metrics-server) and the errors a source reports.
import type { Readable, Writable } from "node:stream";
import { failure, type StatusError } from "@corekube/api";

/** A command started in a container. */
export interface ExecProcess {
  /** The command's stdin when it was asked for, else null. */
  stdin: Writable | null;
  stdout: Readable;
  /** Null with a tty (its output is all on stdout). */
  stderr: Readable | null;
  /** The exit code; a rejection is reported to the client as a Failure Status. */
  exit: Promise<number>;
  /** Terminal size changes (with a tty). */
  resize?(width: number, height: number): void;
  /**
   * Called once the session is attached and listening for resize messages. A tty command may wait for
   * this (and then briefly for the first resize) before it starts, so it begins at the client's size.
   */
  start?(): void;
  /** Ends the command when the client goes away before it finished. */
  kill?(): void;
}

/**
 * Runs commands in containers. Throw (or reject with) a StatusError for an unknown pod or
 * container (errPodNotFound, errContainerNotFound) or a container that is not running
 * (errContainerNotRunning); the client's upgrade is refused with that Status.
 */
export interface ExecSource {
  exec(
    namespace: string,
    pod: string,
    container: string,
    command: string[],
    opts: { stdin: boolean; tty: boolean },
  ): ExecProcess | Promise<ExecProcess>;
}

/** 404 for a pod this kubelet does not run. */
export function errPodNotFound(namespace: string, pod: string): StatusError {
  return failure(404, "NotFound", `pod "${namespace}/${pod}" does not exist on this node`, { kind: "pods", name: pod });
}

/** 404 for a container name the pod does not have (or, with previous=true, no earlier attempt). */
export function errContainerNotFound(namespace: string, pod: string, container: string, previous = false): StatusError {
  const message = previous
    ? `previous terminated container "${container}" in pod "${namespace}/${pod}" not found`
    : `container "${container}" not found in pod "${namespace}/${pod}"`;
  return failure(404, "NotFound", message, { kind: "pods", name: pod });
}

/** 400 for exec into a container that is not running (waiting or terminated). */
export function errContainerNotRunning(namespace: string, pod: string, container: string): StatusError {
  return failure(400, "BadRequest", `container "${container}" in pod "${namespace}/${pod}" is not running`);
}

// ---------------------------------------------------------------------------------------------
// The Summary API (stats/v1alpha1), as much of it as corekube fills in.

export interface CPUStats {
  /** RFC 3339 time of the sample. */
  time: string;
  /** Average use over the last sampling window, in billionths of a core. */
  usageNanoCores?: number;
  /** Cumulative CPU time since the container (or node) started, in nanoseconds. */
  usageCoreNanoSeconds?: number;
}

export interface MemoryStats {
  time: string;
  availableBytes?: number;
  usageBytes?: number;
  /** Usage minus inactive file pages: what the OOM killer and evictions look at. */
  workingSetBytes?: number;
  rssBytes?: number;
  pageFaults?: number;
  majorPageFaults?: number;
}

export interface ContainerStats {
  name: string;
  startTime: string;
  cpu?: CPUStats;
  memory?: MemoryStats;
}

export interface PodReference {
  name: string;
  namespace: string;
  uid: string;
}

export interface PodStats {
  podRef: PodReference;
  startTime: string;
  containers: ContainerStats[];
  cpu?: CPUStats;
  memory?: MemoryStats;
}

export interface NodeStats {
  nodeName: string;
  startTime?: string;
  cpu?: CPUStats;
  memory?: MemoryStats;
  systemContainers?: ContainerStats[];
}

/** GET /stats/summary */
export interface StatsSummary {
  node: NodeStats;
  pods: PodStats[];
}
