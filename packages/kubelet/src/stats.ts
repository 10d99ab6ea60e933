// Book 4.6 and 9.2: what the kubelet's /stats/summary and /metrics report: CPU and memory of the node,
// of each pod and of each container, read from /proc and from the pods' cgroups.
import { readFile } from "node:fs/promises";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { CgroupDriver } from "./cgroups/driver.js";
import { type CgroupNaming, containerCgroupPath, podCgroupPath } from "./cgroups/paths.js";
import { getPodQOS } from "./cgroups/qos.js";
import { parseMeminfo } from "./node/machine.js";
import type { PodWorkers } from "./pods/worker.js";
import { POD_UID_LABEL } from "./pods/worker.js";
import type { LinuxRuntime } from "./runtime/runtime.js";
import type { ContainerStats, CPUStats, StatsSummary } from "./server/types.js";

/** Jiffies (USER_HZ = 100 on Linux) to nanoseconds. */
const NS_PER_JIFFY = 10_000_000;

/** Busy CPU time of the whole machine from /proc/stat's first line, in nanoseconds. */
export function parseProcStatBusyNs(text: string): number {
  const f = (text.split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
  const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
  return busy * NS_PER_JIFFY;
}

/** usageNanoCores from two cumulative samples (undefined for the first one). */
export function nanoCores(prev: { ns: number; at: number } | undefined, ns: number, at: number): number | undefined {
  if (!prev || at <= prev.at || ns < prev.ns) return undefined;
  return Math.round(((ns - prev.ns) / ((at - prev.at) * 1e6)) * 1e9);
}

export class KubeletStats {
  private readonly last = new Map<string, { ns: number; at: number }>();
  private readonly started = new Date().toISOString();
  readonly metrics = new Registry();

  constructor(
    private readonly o: { nodeName: string; workers: () => PodWorkers | undefined; runtime: LinuxRuntime; cgroups?: CgroupDriver; naming?: CgroupNaming },
  ) {
    collectDefaultMetrics({ register: this.metrics });
    const self = this;
    new Gauge({
      name: "kubelet_running_pods",
      help: "Pods this kubelet runs (with a sandbox).",
      registers: [this.metrics],
      async collect() {
        this.set((await self.o.runtime.ListPodSandbox({ state: "SANDBOX_READY" })).length);
      },
    });
    new Gauge({
      name: "kubelet_running_containers",
      help: "Containers by state.",
      labelNames: ["container_state"],
      registers: [this.metrics],
      async collect() {
        const all = await self.o.runtime.ListContainers();
        for (const [state, name] of [
          ["CONTAINER_RUNNING", "running"],
          ["CONTAINER_EXITED", "exited"],
          ["CONTAINER_CREATED", "created"],
        ] as const) {
          this.set({ container_state: name }, all.filter((c) => c.state === state).length);
        }
      },
    });
    new Gauge({ name: "kubelet_node_name", help: "The node's name.", labelNames: ["node"], registers: [this.metrics] }).set({ node: o.nodeName }, 1);
  }

  private cpu(key: string, ns: number, time: string): CPUStats {
    const at = Date.now();
    const rate = nanoCores(this.last.get(key), ns, at);
    this.last.set(key, { ns, at });
    return { time, usageCoreNanoSeconds: ns, ...(rate === undefined ? {} : { usageNanoCores: rate }) };
  }

  async summary(): Promise<StatsSummary> {
    const time = new Date().toISOString();
    const mem = parseMeminfo(await readFile("/proc/meminfo", "utf8"));
    const busy = parseProcStatBusyNs(await readFile("/proc/stat", "utf8"));
    const out: StatsSummary = {
      node: {
        nodeName: this.o.nodeName,
        startTime: this.started,
        cpu: this.cpu("node", busy, time),
        memory: {
          time,
          availableBytes: mem.MemAvailable,
          usageBytes: (mem.MemTotal ?? 0) - (mem.MemFree ?? 0),
          workingSetBytes: (mem.MemTotal ?? 0) - (mem.MemAvailable ?? 0),
        },
      },
      pods: [],
    };
    const cg = this.o.cgroups;
    for (const pod of this.o.workers()?.list() ?? []) {
      const uid = pod.metadata.uid ?? "";
      const podPath = podCgroupPath(uid, getPodQOS(pod), this.o.naming);
      const containers: ContainerStats[] = [];
      for (const c of await this.o.runtime.ListContainers({ labelSelector: { [POD_UID_LABEL]: uid }, state: "CONTAINER_RUNNING" })) {
        const s = cg ? await cg.stats(containerCgroupPath(podPath, `${c.metadata.name}-${c.metadata.attempt ?? 0}`)).catch(() => undefined) : undefined;
        containers.push({
          name: c.metadata.name,
          startTime: c.createdAt,
          ...(s
            ? { cpu: this.cpu(`c/${c.id}`, s.cpuUsageNanos, time), memory: { time, usageBytes: s.memoryUsageBytes, workingSetBytes: s.memoryWorkingSetBytes } }
            : {}),
        });
      }
      const ps = cg ? await cg.stats(podPath).catch(() => undefined) : undefined;
      out.pods.push({
        podRef: { name: pod.metadata.name ?? "", namespace: pod.metadata.namespace ?? "", uid },
        startTime: pod.status?.startTime ?? time,
        containers,
        ...(ps ? { cpu: this.cpu(`p/${uid}`, ps.cpuUsageNanos, time), memory: { time, usageBytes: ps.memoryUsageBytes, workingSetBytes: ps.memoryWorkingSetBytes } } : {}),
      });
    }
    return out;
  }
}
