// Book 3.4.6-3.4.7 and 4.2-4.4: the cgroup v2 (unified hierarchy) driver: controllers enabled down the
// tree via cgroup.subtree_control, limits in cpu.weight / cpu.max / memory.max / pids.max.
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type CgroupResources, QUOTA_PERIOD, sharesToWeight } from "./convert.js";
import { type CgroupDriver, type CgroupStats, requireNonRoot } from "./driver.js";
import {
  assertPid,
  errCode,
  fileExists,
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

/** Controllers the kubelet turns on for its cgroups, where the parent offers them. */
export const V2_CONTROLLERS = ["cpu", "cpuset", "memory", "pids"] as const;

const words = (t: string | undefined): string[] => (t ?? "").split(/\s+/).map((w) => w.replace(/^[+]/, "")).filter(Boolean);

const limit = (v: number): string => {
  if (v === -1) return "max";
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`cgroup limit must be a whole number >= 0 or -1 (unlimited), got ${v}`);
  return String(v);
};

export class CgroupV2Driver implements CgroupDriver {
  readonly version = 2 as const;
  /** @param root the cgroup2 mount point (/sys/fs/cgroup on a pure v2 host). */
  constructor(readonly root: string = "/sys/fs/cgroup") {}

  dir(path: string): string {
    return cgroupDir(this.root, path);
  }

  /**
   * Controllers usable in a cgroup: its cgroup.controllers, which the kernel derives from the parent's
   * cgroup.subtree_control (read that when the file is missing, as in a stand-in directory tree).
   */
  async controllers(dir: string): Promise<string[]> {
    const own = await readText(join(dir, "cgroup.controllers"));
    if (own !== undefined || dir === this.root) return words(own);
    return words(await readText(join(dirname(dir), "cgroup.subtree_control")));
  }

  async create(path: string, resources: CgroupResources = {}): Promise<void> {
    const rel = normalizeCgroupPath(path);
    requireNonRoot(rel, "create");
    let parent = this.root;
    for (const seg of rel.split("/")) {
      await this.enableControllers(parent);
      const child = join(parent, seg);
      try {
        await mkdir(child);
      } catch (e) {
        if (errCode(e) !== "EEXIST") throw new Error(`cannot create cgroup ${child}: ${(e as Error).message}`);
      }
      parent = child;
    }
    await this.update(rel, resources);
  }

  private async enableControllers(dir: string): Promise<void> {
    const available = await this.controllers(dir);
    const enabled = words(await readText(join(dir, "cgroup.subtree_control")));
    const missing = V2_CONTROLLERS.filter((c) => available.includes(c) && !enabled.includes(c));
    if (missing.length === 0) return;
    await writeValue(join(dir, "cgroup.subtree_control"), missing.map((c) => `+${c}`).join(" "));
  }

  async update(path: string, r: CgroupResources): Promise<void> {
    const rel = normalizeCgroupPath(path);
    const dir = this.dir(rel);
    const have = await this.controllers(dir);
    const need = (ctrl: string, what: string) => {
      if (!have.includes(ctrl)) {
        throw new Error(`cannot set ${what} on cgroup ${rel}: the ${ctrl} controller is not enabled there (available: ${have.join(" ") || "none"})`);
      }
    };
    if (r.cpuShares !== undefined) {
      need("cpu", "cpu weight");
      const weight = sharesToWeight(r.cpuShares);
      if (weight > 0) await writeValue(join(dir, "cpu.weight"), weight);
    }
    if (r.cpuQuota !== undefined || r.cpuPeriod !== undefined) {
      need("cpu", "cpu.max");
      const [curQuota = "max", curPeriod = String(QUOTA_PERIOD)] = words(await readText(join(dir, "cpu.max")));
      const quota = r.cpuQuota !== undefined ? limit(r.cpuQuota) : curQuota;
      const period = r.cpuPeriod !== undefined ? limit(r.cpuPeriod) : curPeriod;
      await writeValue(join(dir, "cpu.max"), `${quota} ${period}`);
    }
    if (r.memoryLimit !== undefined) {
      need("memory", "memory limit");
      await writeValue(join(dir, "memory.max"), limit(r.memoryLimit));
    }
    if (r.memorySwapMax !== undefined) {
      need("memory", "swap limit");
      await writeValue(join(dir, "memory.swap.max"), limit(r.memorySwapMax));
    }
    if (r.pidsLimit !== undefined) {
      need("pids", "pids limit");
      await writeValue(join(dir, "pids.max"), limit(r.pidsLimit));
    }
  }

  async addProcess(path: string, pid: number): Promise<void> {
    assertPid(pid);
    await writeValue(join(this.dir(path), "cgroup.procs"), pid);
  }

  pids(path: string): Promise<number[]> {
    return subtreePids([this.dir(path)]);
  }

  async stats(path: string): Promise<CgroupStats> {
    const dir = this.dir(path);
    const cpu = parseKeyed(await readText(join(dir, "cpu.stat")));
    const usage = await readNumber(join(dir, "memory.current"));
    const inactive = parseKeyed(await readText(join(dir, "memory.stat"))).get("inactive_file") ?? 0;
    const events = parseKeyed(await readText(join(dir, "memory.events")));
    const pidsFile = await readText(join(dir, "pids.current"));
    return {
      cpuUsageNanos: (cpu.get("usage_usec") ?? 0) * 1000,
      memoryUsageBytes: usage,
      memoryWorkingSetBytes: Math.max(0, usage - inactive),
      oomKills: events.get("oom_kill") ?? 0,
      pids: pidsFile !== undefined ? Number(pidsFile.trim()) || 0 : (await this.pids(path)).length,
    };
  }

  private async events(dir: string): Promise<Map<string, number> | undefined> {
    const t = await readText(join(dir, "cgroup.events"));
    return t === undefined ? undefined : parseKeyed(t);
  }

  async freeze(path: string): Promise<void> {
    await this.setFrozen(path, true);
  }

  async thaw(path: string): Promise<void> {
    await this.setFrozen(path, false);
  }

  private async setFrozen(path: string, frozen: boolean): Promise<void> {
    const rel = normalizeCgroupPath(path);
    requireNonRoot(rel, frozen ? "freeze" : "thaw");
    const dir = this.dir(rel);
    await writeValue(join(dir, "cgroup.freeze"), frozen ? 1 : 0);
    await waitFor(async () => {
      const ev = await this.events(dir);
      return ev === undefined || ev.get("frozen") === (frozen ? 1 : 0);
    }, `cgroup ${rel} to report frozen ${frozen ? 1 : 0}`);
  }

  async killAll(path: string): Promise<void> {
    const rel = normalizeCgroupPath(path);
    requireNonRoot(rel, "kill every process in");
    const dir = this.dir(rel);
    if (!(await fileExists(join(dir, "cgroup.procs")))) return; // no such cgroup
    const hasKill = await fileExists(join(dir, "cgroup.kill"));
    if (hasKill) await writeValue(join(dir, "cgroup.kill"), 1);
    await waitFor(async () => {
      const ev = await this.events(dir);
      const left = await this.pids(rel);
      if (left.length === 0 && (ev === undefined || ev.get("populated") !== 1)) return true;
      if (!hasKill) for (const pid of left) killPid(pid);
      return false;
    }, `every process in cgroup ${rel} to exit`);
  }

  async remove(path: string): Promise<void> {
    const rel = normalizeCgroupPath(path);
    requireNonRoot(rel, "remove");
    await this.killAll(rel);
    await removeSubtree(this.dir(rel));
  }
}
