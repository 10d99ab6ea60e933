// Book 3.4.6-3.4.7 and 4.2-4.4: the cgroup v1 driver on the node's real hierarchies, with real child
// processes: limits land in each controller's files, usage is read back, OOM kills are counted.
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  CgroupV1Driver,
  containerCgroupPath,
  detectCgroups,
  newCgroupDriver,
  podCgroupPath,
  podResources,
} from "./index.js";
import { startMemoryHog, startSleeper, type TestChild, testCgroupName } from "./testing.js";

const info = process.platform === "linux" ? detectCgroups() : undefined;
const NEEDED = ["cpu", "cpuacct", "memory", "pids", "freezer"];
const usable = process.getuid?.() === 0 && info !== undefined && info.version === 1 && NEEDED.every((c) => info.v1Mounts[c]);

describe.skipIf(!usable)("cgroup v1 driver on the real hierarchies", () => {
  const naming = { kubepodsName: testCgroupName() };
  const driver = (usable ? newCgroupDriver() : undefined) as CgroupV1Driver;
  const children: TestChild[] = [];
  const file = (ctrl: string, path: string, name: string) => readFile(join(info?.v1Mounts[ctrl] ?? "", path, name), "utf8").then((s) => s.trim());
  const gone = (ctrl: string, path: string) => access(join(info?.v1Mounts[ctrl] ?? "", path)).then(() => false, () => true);

  afterAll(async () => {
    for (const c of children) c.child.kill("SIGKILL");
    await driver.remove(naming.kubepodsName);
  });

  it("creates the pod cgroup with its limits in every hierarchy and runs a process in it", async () => {
    expect(driver.version).toBe(1);
    const pod = {
      metadata: { name: "web", uid: "aaaa-1" },
      spec: { containers: [{ name: "c", resources: { requests: { cpu: "250m", memory: "32Mi" }, limits: { cpu: "500m", memory: "64Mi" } } }] },
    };
    const podPath = podCgroupPath("aaaa-1", "Burstable", naming);
    await driver.create(podPath, podResources(pod, { podPidsLimit: 50 }));
    expect(await file("cpu", podPath, "cpu.shares")).toBe("256");
    expect(await file("cpu", podPath, "cpu.cfs_period_us")).toBe("100000");
    expect(await file("cpu", podPath, "cpu.cfs_quota_us")).toBe("50000");
    expect(await file("memory", podPath, "memory.limit_in_bytes")).toBe(String(64 * 1024 * 1024));
    expect(await file("pids", podPath, "pids.max")).toBe("50");
    if (info?.v1Mounts.cpuset) expect(await file("cpuset", podPath, "cpuset.cpus")).not.toBe("");

    const ctr = containerCgroupPath(podPath, "ctr1");
    await driver.create(ctr);
    const sleeper = await startSleeper(driver, ctr);
    children.push(sleeper);
    expect(await driver.pids(podPath)).toEqual([sleeper.pid]);
    const own = await readFile(`/proc/${sleeper.pid}/cgroup`, "utf8");
    for (const ctrl of NEEDED) expect(own).toMatch(new RegExp(`:([a-z_,]*,)?${ctrl}(,[a-z_,]*)?:/${ctr}\\n`));

    const stats = await driver.stats(podPath);
    expect(stats.pids).toBe(1);
    expect(stats.cpuUsageNanos).toBeGreaterThan(0);
    expect(stats.memoryUsageBytes).toBeGreaterThan(0);
    expect(stats.memoryWorkingSetBytes).toBeLessThanOrEqual(stats.memoryUsageBytes);
    expect(stats.oomKills).toBe(0);

    await driver.freeze(podPath);
    expect(await file("freezer", podPath, "freezer.state")).toBe("FROZEN");
    await driver.thaw(podPath);
    expect(await file("freezer", podPath, "freezer.state")).toBe("THAWED");

    await driver.killAll(podPath);
    expect(await sleeper.exited).toEqual({ code: null, signal: "SIGKILL" });
    expect(await driver.pids(podPath)).toEqual([]);
    await driver.remove(podPath);
    for (const ctrl of NEEDED) expect(await gone(ctrl, podPath)).toBe(true);
    await driver.remove(podPath); // a second remove is fine
  });

  it("counts an OOM kill when a process outgrows its memory limit", async () => {
    const ctr = containerCgroupPath(podCgroupPath("oom-1", "Guaranteed", naming), "hog");
    await driver.create(ctr, { memoryLimit: 16 * 1024 * 1024 });
    const hog = await startMemoryHog(driver, ctr, 64);
    children.push(hog);
    const end = await hog.exited;
    expect(hog.stdout()).not.toContain("survived");
    expect(end.signal === "SIGKILL" || (end.code ?? 0) !== 0).toBe(true);
    expect((await driver.stats(ctr)).oomKills).toBeGreaterThan(0);
    await driver.remove(ctr);
    expect(await gone("memory", ctr)).toBe(true);
  });

  it("removes a whole tree with a running process in a deep child", async () => {
    const ctr = containerCgroupPath(podCgroupPath("tree-1", "BestEffort", naming), "c");
    await driver.create(ctr);
    const sleeper = await startSleeper(driver, ctr);
    children.push(sleeper);
    await driver.remove(naming.kubepodsName);
    expect((await sleeper.exited).signal).toBe("SIGKILL");
    for (const ctrl of Object.keys(info?.v1Mounts ?? {})) expect(await gone(ctrl, naming.kubepodsName)).toBe(true);
  });
});
