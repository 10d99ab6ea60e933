// Book 3.4.6-3.4.7: the cgroup v2 driver on the node's real cgroup2 mount (the hybrid host's
// /sys/fs/cgroup/unified, or /sys/fs/cgroup itself): membership, freezing and cgroup.kill.
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CgroupV2Driver, detectCgroups } from "./index.js";
import { startSleeper, type TestChild, testCgroupName } from "./testing.js";

const info = process.platform === "linux" ? detectCgroups() : undefined;
const mount = info?.unifiedMount;
const usable = process.getuid?.() === 0 && mount !== undefined;

describe.skipIf(!usable)("cgroup v2 driver on the real cgroup2 mount", () => {
  const name = testCgroupName();
  const driver = new CgroupV2Driver(mount ?? "/nonexistent");
  const children: TestChild[] = [];
  const events = async (path: string) => readFile(join(mount ?? "", path, "cgroup.events"), "utf8");

  afterAll(async () => {
    for (const c of children) c.child.kill("SIGKILL");
    await driver.remove(name);
  });

  it("moves a process in, freezes and thaws it, kills it with cgroup.kill and removes the tree", async () => {
    const ctr = `${name}/pod1/ctr1`;
    await driver.create(ctr);
    const sleeper = await startSleeper(driver, ctr);
    children.push(sleeper);
    expect(await driver.pids(name)).toEqual([sleeper.pid]);
    expect(await readFile(`/proc/${sleeper.pid}/cgroup`, "utf8")).toContain(`0::/${ctr}\n`);
    expect(await events(`${name}/pod1`)).toContain("populated 1");
    const stats = await driver.stats(`${name}/pod1`);
    expect(stats.pids).toBe(1);
    expect(stats.cpuUsageNanos).toBeGreaterThan(0);

    await driver.freeze(`${name}/pod1`);
    expect(await events(`${name}/pod1`)).toContain("frozen 1");
    await driver.thaw(`${name}/pod1`);
    expect(await events(`${name}/pod1`)).toContain("frozen 0");

    await driver.killAll(`${name}/pod1`);
    expect(await sleeper.exited).toEqual({ code: null, signal: "SIGKILL" });
    expect(await events(`${name}/pod1`)).toContain("populated 0");
    await driver.remove(`${name}/pod1`);
    expect(await access(join(mount ?? "", name, "pod1")).then(() => true, () => false)).toBe(false);
  });

  it("kills a frozen cgroup's processes too", async () => {
    const ctr = `${name}/pod2`;
    await driver.create(ctr);
    const sleeper = await startSleeper(driver, ctr);
    children.push(sleeper);
    await driver.freeze(ctr);
    await driver.remove(ctr);
    expect((await sleeper.exited).signal).toBe("SIGKILL");
  });
});
