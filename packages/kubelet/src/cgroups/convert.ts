// Book 3.4.6-3.4.7 and 4.2-4.4: how the kubelet turns Kubernetes CPU and memory requests and limits
// into cgroup settings: cpu.shares / cpu.weight, CFS quota and period, memory and pids limits.
import { type Container, parseResourceList, podResourceTotals, type Quantity } from "@corekube/api";
import { getPodQOS } from "./qos.js";

/** Smallest cpu.shares the kernel accepts (also what a zero request gets). */
export const MIN_SHARES = 2;
/** Largest cpu.shares the kernel accepts. */
export const MAX_SHARES = 262144;
/** cpu.shares given to one whole CPU of request. */
export const SHARES_PER_CPU = 1024;
/** Default CFS period, in microseconds (100 ms). */
export const QUOTA_PERIOD = 100_000;
/** Smallest CFS quota, in microseconds (1 ms), so a tiny limit still lets the task run. */
export const MIN_QUOTA_PERIOD = 1_000;

/**
 * What to write into one cgroup. A field left undefined is not touched. Values use cgroup v1
 * units; the v2 driver converts (shares → cpu.weight, -1 → "max").
 */
export interface CgroupResources {
  /** Relative CPU weight, 2..262144 (v1 cpu.shares; v2 cpu.weight = sharesToWeight(shares)). */
  cpuShares?: number;
  /** CFS quota in µs per period; -1 = unlimited (v1 cpu.cfs_quota_us; v2 first field of cpu.max). */
  cpuQuota?: number;
  /** CFS period in µs (v1 cpu.cfs_period_us; v2 second field of cpu.max). */
  cpuPeriod?: number;
  /** Hard memory limit in bytes; -1 = unlimited (v1 memory.limit_in_bytes; v2 memory.max). */
  memoryLimit?: number;
  /** v2 only: memory.swap.max in bytes, -1 = "max". Upstream leaves it on pod cgroups. */
  memorySwapMax?: number;
  /** Most tasks (threads) in the cgroup; -1 = unlimited (pids.max). */
  pidsLimit?: number;
}

function assertCount(name: string, v: number): void {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${v}`);
}

/** milliCPU of request → cpu.shares: 1024 per CPU, clamped to [2, 262144]; 0 gives 2. */
export function milliCPUToShares(milliCPU: number): number {
  assertCount("milliCPU", milliCPU);
  const shares = Math.floor((milliCPU * SHARES_PER_CPU) / 1000);
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, shares));
}

/** cgroup v1 cpu.shares → cgroup v2 cpu.weight (maps [2, 262144] linearly onto [1, 10000]); 0 stays 0 (unset). */
export function sharesToWeight(shares: number): number {
  assertCount("cpu shares", shares);
  if (shares === 0) return 0;
  const clamped = Math.min(MAX_SHARES, Math.max(MIN_SHARES, Math.floor(shares)));
  return 1 + Math.floor(((clamped - 2) * 9999) / 262142);
}

/** milliCPU of limit → CFS quota (µs per `period`); 0 means no limit and gives 0; at least 1000 µs otherwise. */
export function milliCPUToQuota(milliCPU: number, period: number = QUOTA_PERIOD): number {
  assertCount("milliCPU", milliCPU);
  if (!Number.isInteger(period) || period < MIN_QUOTA_PERIOD || period > 1_000_000) {
    throw new RangeError(`CFS period must be an integer between 1000 and 1000000 µs, got ${period}`);
  }
  if (milliCPU === 0) return 0;
  return Math.max(MIN_QUOTA_PERIOD, Math.floor((milliCPU * period) / 1000));
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function listOf(c: unknown, key: "requests" | "limits"): Map<string, Quantity> {
  const res = isRecord(c) && isRecord(c.resources) ? c.resources : {};
  return parseResourceList(res[key]);
}

const milli = (q: Quantity | undefined): number => (q && q.sign() > 0 ? q.milliValue() : 0);
const whole = (q: Quantity | undefined): number => (q && q.sign() > 0 ? q.value() : 0);

export interface ConvertOptions {
  /** CFS period in µs (kubelet --cpu-cfs-quota-period); default 100000. */
  cpuPeriod?: number;
  /** kubelet --cpu-cfs-quota; false turns CPU limits off (quota -1). Default true. */
  enforceCPULimits?: boolean;
}

/**
 * One container's cgroup settings, as the kubelet hands them to the runtime: shares from the CPU
 * request (or the limit when only a limit is set), a quota when there is a CPU limit, and the memory
 * limit when there is one.
 */
export function containerResources(container: Pick<Container, "resources">, opts: ConvertOptions = {}): CgroupResources {
  const period = opts.cpuPeriod ?? QUOTA_PERIOD;
  const req = listOf(container, "requests");
  const lim = listOf(container, "limits");
  const cpuReq = milli(req.get("cpu"));
  const cpuLim = milli(lim.get("cpu"));
  const out: CgroupResources = { cpuShares: milliCPUToShares(cpuReq === 0 && cpuLim > 0 ? cpuLim : cpuReq) };
  const memLim = whole(lim.get("memory"));
  if (memLim > 0) out.memoryLimit = memLim;
  if (opts.enforceCPULimits === false) {
    out.cpuQuota = -1;
  } else {
    const quota = milliCPUToQuota(cpuLim, period);
    if (quota > 0) {
      out.cpuQuota = quota;
      out.cpuPeriod = period;
    }
  }
  return out;
}

export interface PodConvertOptions extends ConvertOptions {
  /** kubelet podPidsLimit; applied when > 0. */
  podPidsLimit?: number;
}

/**
 * A pod cgroup's settings. Requests and limits are the pod's effective totals: containers add up,
 * an init container counts only where it is larger than the rest (sidecars add), overhead is added;
 * pod-level spec.resources replace the container sums for cpu and memory. Then by QoS class:
 * Guaranteed gets shares, quota and memory limit; Burstable gets shares, plus a quota (memory
 * limit) only if every container declares a CPU (memory) limit; BestEffort gets the minimum shares.
 */
export function podResources(pod: { spec?: unknown; status?: unknown; metadata?: unknown }, opts: PodConvertOptions = {}): CgroupResources {
  const period = opts.cpuPeriod ?? QUOTA_PERIOD;
  const subject = { metadata: {}, ...pod } as Parameters<typeof podResourceTotals>[0];
  const requests = podResourceTotals(subject, "requests");
  const limits = podResourceTotals(subject, "limits");
  const spec = isRecord(pod.spec) ? pod.spec : {};

  let cpuLimitsDeclared = true;
  let memoryLimitsDeclared = true;
  for (const key of ["containers", "initContainers"]) {
    for (const c of Array.isArray(spec[key]) ? (spec[key] as unknown[]) : []) {
      const lim = listOf(c, "limits");
      if (milli(lim.get("cpu")) === 0) cpuLimitsDeclared = false;
      if (whole(lim.get("memory")) === 0) memoryLimitsDeclared = false;
    }
  }
  const podLevel = isRecord(spec.resources) ? spec.resources : undefined;
  if (podLevel) {
    const overhead = parseResourceList(spec.overhead);
    const preq = parseResourceList(podLevel.requests);
    const plim = parseResourceList(podLevel.limits);
    for (const name of ["cpu", "memory"]) {
      const r = preq.get(name);
      if (r) requests.set(name, overhead.has(name) ? r.add(overhead.get(name) as Quantity) : r);
      const l = plim.get(name);
      if (l) limits.set(name, overhead.has(name) ? l.add(overhead.get(name) as Quantity) : l);
    }
    if (milli(plim.get("cpu")) > 0) cpuLimitsDeclared = true;
    if (whole(plim.get("memory")) > 0) memoryLimitsDeclared = true;
  }

  const shares = milliCPUToShares(milli(requests.get("cpu")));
  const quota = opts.enforceCPULimits === false ? -1 : milliCPUToQuota(milli(limits.get("cpu")), period);
  const memory = whole(limits.get("memory"));
  const out: CgroupResources = {};
  switch (getPodQOS(pod)) {
    case "Guaranteed":
      Object.assign(out, { cpuShares: shares, cpuQuota: quota, cpuPeriod: period, memoryLimit: memory });
      break;
    case "Burstable":
      out.cpuShares = shares;
      if (cpuLimitsDeclared) Object.assign(out, { cpuQuota: quota, cpuPeriod: period });
      if (memoryLimitsDeclared) out.memoryLimit = memory;
      break;
    case "BestEffort":
      out.cpuShares = MIN_SHARES;
      break;
  }
  if (out.cpuQuota === 0) {
    delete out.cpuQuota;
    delete out.cpuPeriod;
  }
  if (out.memoryLimit === 0) delete out.memoryLimit;
  if (opts.podPidsLimit !== undefined && opts.podPidsLimit > 0) out.pidsLimit = opts.podPidsLimit;
  return out;
}

/**
 * The QoS-level cgroups' CPU shares: kubepods/besteffort always gets the minimum; kubepods/burstable
 * gets the summed CPU requests of the Burstable pods on the node (so they cannot starve Guaranteed ones).
 */
export function qosCgroupShares(pods: readonly { spec?: unknown; status?: unknown }[]): { burstable: number; besteffort: number } {
  let burstableMilli = 0;
  for (const pod of pods) {
    if (getPodQOS(pod) !== "Burstable") continue;
    const req = podResourceTotals({ metadata: {}, ...pod } as Parameters<typeof podResourceTotals>[0], "requests");
    burstableMilli += milli(req.get("cpu"));
  }
  return { burstable: milliCPUToShares(burstableMilli), besteffort: MIN_SHARES };
}
