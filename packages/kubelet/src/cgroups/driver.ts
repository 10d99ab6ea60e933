// Book 3.4.6-3.4.7 and 4.2-4.4: the kubelet's cgroup driver contract — create a cgroup with limits,
// put processes in it, read its usage, freeze, kill and remove it — shared by the v1 and v2 drivers.
import type { CgroupResources } from "./convert.js";

/** Usage of one cgroup and its descendants. */
export interface CgroupStats {
  /** CPU time used, in nanoseconds (v2 cpu.stat usage_usec × 1000; v1 cpuacct.usage). */
  cpuUsageNanos: number;
  /** Usage minus inactive file cache: what the kubelet's eviction and `kubectl top` look at. */
  memoryWorkingSetBytes: number;
  /** All memory charged, page cache included (v2 memory.current; v1 memory.usage_in_bytes). */
  memoryUsageBytes: number;
  /** Processes the kernel's OOM killer killed because of this cgroup's limit. */
  oomKills: number;
  /** Tasks in the cgroup (pids.current, or the process count when the pids controller is absent). */
  pids: number;
}

/**
 * One cgroup hierarchy manager. Paths are cgroup paths relative to the hierarchy root, such as
 * "kubepods/burstable/pod<uid>" (see paths.ts); the driver maps them onto its mount point(s).
 */
export interface CgroupDriver {
  readonly version: 1 | 2;
  /** Creates the cgroup and any missing ancestors (idempotent), then applies `resources`. */
  create(path: string, resources?: CgroupResources): Promise<void>;
  /** Writes the given settings; fields left undefined are not touched. */
  update(path: string, resources: CgroupResources): Promise<void>;
  /** Moves a process (all its threads) into the cgroup. */
  addProcess(path: string, pid: number): Promise<void>;
  /** Every process in the cgroup and its descendants, sorted; empty when the cgroup does not exist. */
  pids(path: string): Promise<number[]>;
  stats(path: string): Promise<CgroupStats>;
  /** Stops every task in the subtree and waits until the kernel reports it frozen. */
  freeze(path: string): Promise<void>;
  thaw(path: string): Promise<void>;
  /** SIGKILLs every process in the subtree and waits until none is left. */
  killAll(path: string): Promise<void>;
  /** killAll, then removes the cgroup and its descendants, children first; a missing cgroup is fine. */
  remove(path: string): Promise<void>;
}

/** The cgroup filesystem check refusing the hierarchy root, which no kubelet may remove or freeze. */
export function requireNonRoot(rel: string, op: string): void {
  if (rel === "") throw new Error(`refusing to ${op} the root cgroup`);
}
