// Book 3.4.6-3.4.7 and 4.2-4.4: the cgroup v2 driver against a plain directory tree shaped like a
// cgroup2 mount, so the files it writes (subtree_control, cpu.weight, cpu.max, ...) can be checked anywhere.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CgroupV2Driver, newCgroupDriver, podCgroupPath, podResources, sharesToWeight } from "./index.js";

let root: string;
const read = (rel: string) => readFile(join(root, rel), "utf8");
const exists = (rel: string) => stat(join(root, rel)).then(() => true, () => false);

async function fakeMount(controllers: string): Promise<void> {
  root = await mkdtemp(join(tmpdir(), "fake-cgroup2-"));
  await writeFile(join(root, "cgroup.controllers"), `${controllers}\n`);
  await writeFile(join(root, "cgroup.subtree_control"), "");
  await writeFile(join(root, "cgroup.procs"), "");
}

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const burstablePod = {
  metadata: { name: "web", uid: "1111" },
  spec: { containers: [{ name: "c", resources: { requests: { cpu: "250m", memory: "32Mi" }, limits: { cpu: "500m", memory: "64Mi" } } }] },
};

describe("cgroup v2 driver on a stand-in cgroupfs", () => {
  beforeEach(() => fakeMount("cpuset cpu io memory hugetlb pids rdma misc"));

  it("enables controllers on every ancestor and writes the pod's limits", async () => {
    const d = newCgroupDriver({ version: 2, root });
    expect(d).toBeInstanceOf(CgroupV2Driver);
    const path = podCgroupPath("1111", "Burstable");
    await d.create(path, podResources(burstablePod, { podPidsLimit: 100 }));
    for (const parent of ["", "kubepods", "kubepods/burstable"]) {
      expect(await read(join(parent, "cgroup.subtree_control"))).toBe("+cpu +cpuset +memory +pids");
    }
    expect(await exists("kubepods/burstable/pod1111/cgroup.subtree_control")).toBe(false);
    const pod = "kubepods/burstable/pod1111";
    expect(await read(`${pod}/cpu.weight`)).toBe(String(sharesToWeight(256)));
    expect(await read(`${pod}/cpu.weight`)).toBe("10");
    expect(await read(`${pod}/cpu.max`)).toBe("50000 100000");
    expect(await read(`${pod}/memory.max`)).toBe(String(64 * 1024 * 1024));
    expect(await read(`${pod}/pids.max`)).toBe("100");
    expect(await exists(`${pod}/memory.swap.max`)).toBe(false);
  });

  it("updates only what it is given, with max for unlimited", async () => {
    const d = new CgroupV2Driver(root);
    await d.create("kubepods/podx", { cpuQuota: 20_000, cpuPeriod: 50_000, pidsLimit: 10 });
    await d.update("kubepods/podx", { cpuQuota: -1, memoryLimit: -1, memorySwapMax: 0 });
    expect(await read("kubepods/podx/cpu.max")).toBe("max 50000");
    expect(await read("kubepods/podx/memory.max")).toBe("max");
    expect(await read("kubepods/podx/memory.swap.max")).toBe("0");
    expect(await read("kubepods/podx/pids.max")).toBe("10");
    await expect(d.update("kubepods/podx", { pidsLimit: 1.5 })).rejects.toThrow(/whole number/);
  });

  it("puts a process in cgroup.procs, reads stats from the kernel's files and removes the tree", async () => {
    const d = new CgroupV2Driver(root);
    await d.create("kubepods/besteffort/podz/ctr1");
    await d.addProcess("kubepods/besteffort/podz/ctr1", 4242);
    expect(await read("kubepods/besteffort/podz/ctr1/cgroup.procs")).toBe("4242");
    expect(await d.pids("kubepods/besteffort/podz")).toEqual([4242]);
    await writeFile(join(root, "kubepods/besteffort/podz/ctr1/cgroup.procs"), ""); // 4242 is not ours to kill

    const pod = join(root, "kubepods/besteffort/podz");
    await writeFile(join(pod, "cpu.stat"), "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
    await writeFile(join(pod, "memory.current"), "10485760\n");
    await writeFile(join(pod, "memory.stat"), "anon 6291456\nfile 4194304\nactive_file 0\ninactive_file 4194304\n");
    await writeFile(join(pod, "memory.events"), "low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\noom_group_kill 0\n");
    await writeFile(join(pod, "pids.current"), "3\n");
    expect(await d.stats("kubepods/besteffort/podz")).toEqual({
      cpuUsageNanos: 1_500_000,
      memoryUsageBytes: 10485760,
      memoryWorkingSetBytes: 6291456,
      oomKills: 2,
      pids: 3,
    });

    await writeFile(join(pod, "cgroup.events"), "populated 0\nfrozen 1\n");
    await d.freeze("kubepods/besteffort/podz");
    expect(await read("kubepods/besteffort/podz/cgroup.freeze")).toBe("1");

    await d.remove("kubepods/besteffort/podz");
    expect(await exists("kubepods/besteffort/podz")).toBe(false);
    expect(await exists("kubepods/besteffort")).toBe(true);
    await d.remove("kubepods/besteffort/podz"); // idempotent
  });

  it("refuses bad paths, bad pids and the root with clear errors", async () => {
    const d = new CgroupV2Driver(root);
    await expect(d.create("../escape")).rejects.toThrow(/invalid cgroup path/);
    await expect(d.remove("/")).rejects.toThrow(/refusing to remove the root cgroup/);
    await expect(d.addProcess("kubepods", -1)).rejects.toThrow(/positive integer/);
  });
});

describe("cgroup v2 driver when a controller is missing", () => {
  beforeEach(() => fakeMount("cpu pids"));

  it("enables only what the parent offers and says which controller a limit needs", async () => {
    const d = new CgroupV2Driver(root);
    await d.create("kubepods", { cpuShares: 1024 });
    expect(await read("cgroup.subtree_control")).toBe("+cpu +pids");
    expect(await read("kubepods/cpu.weight")).toBe("39");
    await expect(d.update("kubepods", { memoryLimit: 1 << 20 })).rejects.toThrow(/memory controller is not enabled there \(available: cpu pids\)/);
  });
});
