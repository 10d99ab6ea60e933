// Book 3.4.6-3.4.7 and 4.2-4.4: the kubelet's cgroup v2 driver on a real pure cgroup v2 host
// (/sys/fs/cgroup is cgroup2): pod limits, membership, an OOM kill, freeze, kill and removal.
// Skipped elsewhere (cgroup v1 or hybrid hosts, non-root, read-only /sys/fs/cgroup).
import { accessSync, constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type CgroupV2Driver,
  containerCgroupPath,
  detectCgroups,
  newCgroupDriver,
  podCgroupPath,
  podResources,
  sharesToWeight,
} from "@corekube/kubelet/cgroups/index";
import { startMemoryHog, startSleeper, type TestChild, testCgroupName } from "@corekube/kubelet/cgroups/testing";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = "/sys/fs/cgroup";

function pureV2Host(): boolean {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  try {
    if (detectCgroups().version !== 2 || detectCgroups().unifiedMount !== ROOT) return false;
    accessSync(join(ROOT, "cgroup.subtree_control"), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const usable = pureV2Host();

describe("cgroup v2 driver on this host's /sys/fs/cgroup", () => {
  const naming = { kubepodsName: testCgroupName() };
  const driver = (usable ? newCgroupDriver() : undefined) as CgroupV2Driver;
  const children: TestChild[] = [];
  const file = (path: string, name: string) => readFile(join(ROOT, path, name), "utf8").then((s) => s.trim());
  const exists = (path: string) => access(join(ROOT, path)).then(() => true, () => false);

  afterAll(async () => {
    for (const c of children) c.child.kill("SIGKILL");
    if (usable) await driver.remove(naming.kubepodsName);
  });

  it.skipIf(!usable)("creates a Guaranteed pod's cgroup with cpu.weight, cpu.max, memory.max and pids.max", async () => {
    expect(driver.version).toBe(2);
    const pod = {
      metadata: { name: "g", uid: "g-1" },
      spec: { containers: [{ name: "c", resources: { requests: { cpu: "500m", memory: "32Mi" }, limits: { cpu: "500m", memory: "32Mi" } } }] },
    };
    const podPath = podCgroupPath("g-1", "Guaranteed", naming);
    expect(podPath).toBe(`${naming.kubepodsName}/podg-1`);
    await driver.create(podPath, podResources(pod, { podPidsLimit: 64 }));
    for (const ctrl of ["cpu", "memory", "pids"]) expect((await file(naming.kubepodsName, "cgroup.controllers")).split(" ")).toContain(ctrl);
    expect(await file(podPath, "cpu.weight")).toBe(String(sharesToWeight(512)));
    expect(await file(podPath, "cpu.max")).toBe("50000 100000");
    expect(await file(podPath, "memory.max")).toBe(String(32 * 1024 * 1024));
    expect(await file(podPath, "pids.max")).toBe("64");

    const ctr = containerCgroupPath(podPath, "c1");
    await driver.create(ctr);
    const sleeper = await startSleeper(driver, ctr);
    children.push(sleeper);
    expect(await driver.pids(podPath)).toEqual([sleeper.pid]);
    expect(await readFile(`/proc/${sleeper.pid}/cgroup`, "utf8")).toContain(`0::/${ctr}\n`);
    const stats = await driver.stats(podPath);
    expect(stats.pids).toBe(1);
    expect(stats.cpuUsageNanos).toBeGreaterThan(0);
    expect(stats.memoryUsageBytes).toBeGreaterThan(0);
    expect(stats.memoryWorkingSetBytes).toBeLessThanOrEqual(stats.memoryUsageBytes);

    await driver.freeze(podPath);
    expect(await file(podPath, "cgroup.events")).toContain("frozen 1");
    await driver.thaw(podPath);
    expect(await file(podPath, "cgroup.events")).toContain("frozen 0");

    await driver.killAll(podPath);
    expect(await sleeper.exited).toEqual({ code: null, signal: "SIGKILL" });
    expect(await file(podPath, "cgroup.events")).toContain("populated 0");
    await driver.remove(podPath);
    expect(await exists(podPath)).toBe(false);
  });

  it.skipIf(!usable)("counts an OOM kill in memory.events when a container outgrows memory.max", async () => {
    const ctr = containerCgroupPath(podCgroupPath("oom-1", "Burstable", naming), "hog");
    await driver.create(ctr, { memoryLimit: 16 * 1024 * 1024 });
    // With swap on, the hog would page out instead of dying; no swap for it, as the kubelet's NoSwap does.
    if (await exists(join(ctr, "memory.swap.max"))) await driver.update(ctr, { memorySwapMax: 0 });
    expect(await file(ctr, "memory.max")).toBe(String(16 * 1024 * 1024));
    const hog = await startMemoryHog(driver, ctr, 64);
    children.push(hog);
    const end = await hog.exited;
    expect(hog.stdout()).not.toContain("survived");
    expect(end.signal === "SIGKILL" || (end.code ?? 0) !== 0).toBe(true);
    expect((await driver.stats(ctr)).oomKills).toBeGreaterThan(0);
    await driver.remove(ctr);
    expect(await exists(ctr)).toBe(false);
  });

  it.skipIf(!usable)("removes the whole tree, killing a process deep inside it", async () => {
    const ctr = containerCgroupPath(podCgroupPath("tree-1", "BestEffort", naming), "c");
    await driver.create(ctr);
    const sleeper = await startSleeper(driver, ctr);
    children.push(sleeper);
    await driver.remove(naming.kubepodsName);
    expect((await sleeper.exited).signal).toBe("SIGKILL");
    expect(await exists(naming.kubepodsName)).toBe(false);
  });
});
