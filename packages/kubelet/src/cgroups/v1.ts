// Book 3.4.6-3.4.7 and 4.2-4.4: the cgroup v1 driver: the same cgroup path made in every controller
// hierarchy (cpu, cpuacct, cpuset, memory, pids, freezer, ...), limits in each controller's own files.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { CgroupResources } from "./convert.js";
import { type CgroupDriver, type CgroupStats, requireNonRoot } from "./driver.js";
import {
  assertPid,
  errCode,
  killPid,
  parseKeyed,
  readNumber,
  readText,
  removeSubtree,
  subtreePids,
  waitFor,
  writeValue,
} from "./fsutil.js";
import { cgroupDir, normalizeCgroupPath } from "./paths.js";

/** The v1 controllers the kubelet places pods in (named hierarchies such as name=systemd are not used). */
export const V1_CONTROLLERS = ["cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "blkio", "devices", "hugetlb"] as const;

const v1Limit = (v: number): string => {
  if (v === -1) return "-1";
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`cgroup limit must be a whole number >= 0 or -1 (unlimited), got ${v}`);
  return String(v);
};

export class CgroupV1Driver implements CgroupDriver {
  readonly version = 1 as const;
  /** Controller → mount point, e.g. memory → /sys/fs/cgroup/memory (co-mounted controllers share one). */
  readonly mounts: ReadonlyMap<string, string>;

  constructor(mounts: Record<string, string> | ReadonlyMap<string, string>) {
    const m = new Map(mounts instanceof Map ? mounts : Object.entries(mounts));
    for (const ctrl of m.keys()) {
      if (!(V1_CONTROLLERS as readonly string[]).includes(ctrl)) m.delete(ctrl);
    }
    if (m.size === 0) throw new Error("cgroup v1 driver needs at least one controller hierarchy");
    this.mounts = m;
  }

  /** Distinct hierarchy mount points (a co-mounted cpu,cpuacct counts once). */
  private hierarchies(): string[] {
    return [...new Set(this.mounts.values())];
  }

  /** The cgroup's directory in a controller's hierarchy, or undefined when that controller is not mounted. */
  dir(controller: string, path: string): string | undefined {
    const mount = this.mounts.get(controller);
    return mount === undefined ? undefined : cgroupDir(mount, path);
  }

  private need(controller: string, path: string, what: string): string {
    const d = this.dir(controller, path);
    if (d === undefined) throw new Error(`cannot set ${what} on cgroup ${path}: the ${controller} controller is not mounted`);
    return d;
  }

  async create(path: string, resources: CgroupResources = {}): Promise<void> {
    const rel = normalizeCgroupPath(path);
    requireNonRoot(rel, "create");
    const cpusetMount = this.mounts.get("cpuset");
    for (const mount of this.hierarchies()) {
      let parent = mount;
      for (const seg of rel.split("/")) {
        const child = join(parent, seg);
        try {
          await mkdir(child);
        } catch (e) {
          if (errCode(e) !== "EEXIST") throw new Error(`cannot create cgroup ${child}: ${(e as Error).message}`);
        }
        // A new cpuset starts with no CPUs and no memory nodes, and refuses tasks until given some.
        if (mount === cpusetMount) await inheritCpuset(parent, child);
        parent = child;
      }
    }
    await this.update(rel, resources);
  }

  async update(path: string, r: CgroupResources): Promise<void> {
    const rel = normalizeCgroupPath(path);
    if (r.cpuShares !== undefined) {
      const d = this.need("cpu", rel, "cpu shares");
      await writeValue(join(d, "cpu.shares"), v1Limit(r.cpuShares));
    }
    if (r.cpuPeriod !== undefined) {
      const d = this.need("cpu", rel, "cpu period");
      await writeValue(join(d, "cpu.cfs_period_us"), v1Limit(r.cpuPeriod));
    }
    if (r.cpuQuota !== undefined) {
      const d = this.need("cpu", rel, "cpu quota");
      await writeValue(join(d, "cpu.cfs_quota_us"), v1Limit(r.cpuQuota));
    }
    if (r.memoryLimit !== undefined) {
      const d = this.need("memory", rel, "memory limit");
      await writeValue(join(d, "memory.limit_in_bytes"), v1Limit(r.memoryLimit));
    }
    // memorySwapMax is a cgroup v2 setting; v1 swap accounting (memsw) is left alone, as upstream does.
    if (r.pidsLimit !== undefined) {
      const d = this.need("pids", rel, "pids limit");
      await writeValue(join(d, "pids.max"), r.pidsLimit === -1 ? "max" : v1Limit(r.pidsLimit));
    }
  }

  async addProcess(path: string, pid: number): Promise<void> {
    assertPid(pid);
    const rel = normalizeCgroupPath(path);
    for (const mount of this.hierarchies()) await writeValue(join(cgroupDir(mount, rel), "cgroup.procs"), pid);
  }

  pids(path: string): Promise<number[]> {
    const rel = normalizeCgroupPath(path);
    return subtreePids(this.hierarchies().map((m) => cgroupDir(m, rel)));
  }

  async stats(path: string): Promise<CgroupStats> {
    const rel = normalizeCgroupPath(path);
    const acct = this.dir("cpuacct", rel);
    const mem = this.dir("memory", rel);
    const pidsDir = this.dir("pids", rel);
    const usage = mem ? await readNumber(join(mem, "memory.usage_in_bytes")) : 0;
    const stat = mem ? parseKeyed(await readText(join(mem, "memory.stat"))) : new Map<string, number>();
    const oom = mem ? parseKeyed(await readText(join(mem, "memory.oom_control"))) : new Map<string, number>();
    const pidsText = pidsDir ? await readText(join(pidsDir, "pids.current")) : undefined;
    return {
      cpuUsageNanos: acct ? await readNumber(join(acct, "cpuacct.usage")) : 0,
      memoryUsageBytes: usage,
      memoryWorkingSetBytes: Math.max(0, usage - (stat.get("total_inactive_file") ?? 0)),
      oomKills: oom.get("oom_kill") ?? 0,
      pids: pidsText !== undefined ? Number(pidsText.trim()) || 0 : (await this.pids(rel)).length,
    };
  }

  async freeze(path: string): Promise<void> {
    await this.setState(path, "FROZEN");
  }

  async thaw(path: string): Promise<void> {
    await this.setState(path, "THAWED");
  }

  private async setState(path: string, state: "FROZEN" | "THAWED"): Promise<void> {
    const rel = normalizeCgroupPath(path);
    requireNonRoot(rel, state === "FROZEN" ? "freeze" : "thaw");
    const d = this.dir("freezer", rel);
    if (d === undefined) throw new Error(`cannot freeze or thaw cgroup ${rel}: the freezer controller is not mounted`);
    const file = join(d, "freezer.state");
    await writeValue(file, state);
    await waitFor(async () => (await readText(file))?.trim() === state, `cgroup ${rel} to become ${state}`);
  }

  async killAll(path: string): Promise<void> {
    const rel = normalizeCgroupPath(path);
    requireNonRoot(rel, "kill every process in");
    const freezer = this.dir("freezer", rel);
    const canFreeze = freezer !== undefined && (await readText(join(freezer, "freezer.state"))) !== undefined;
    // Freezing first stops a fork loop from outrunning us; SIGKILL is delivered once the tasks thaw.
    if (canFreeze) await this.freeze(rel);
    try {
      for (const pid of await this.pids(rel)) killPid(pid);
    } finally {
      if (canFreeze) await this.thaw(rel);
    }
    await waitFor(async () => {
      const left = await this.pids(rel);
      for (const pid of left) killPid(pid);
      return left.length === 0;
    }, `every process in cgroup ${rel} to exit`);
  }

  async remove(path: string): Promise<void> {
    const rel = normalizeCgroupPath(path);
    requireNonRoot(rel, "remove");
    await this.killAll(rel);
    for (const mount of this.hierarchies()) await removeSubtree(cgroupDir(mount, rel));
  }
}

/** Copies cpuset.cpus and cpuset.mems from the parent when the child's are still empty. */
async function inheritCpuset(parent: string, child: string): Promise<void> {
  for (const file of ["cpuset.cpus", "cpuset.mems"]) {
    const mine = await readText(join(child, file));
    if (mine === undefined || mine.trim() !== "") continue;
    const theirs = (await readText(join(parent, file)))?.trim();
    if (theirs) await writeValue(join(child, file), theirs);
  }
}
