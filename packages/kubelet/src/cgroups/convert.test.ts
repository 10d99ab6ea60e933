// Book 4.2-4.5: tests for QoS classes, request/limit → cgroup value conversions, the kubepods naming
// and cgroup version detection — all pure, no cgroupfs needed.
import { describe, expect, it } from "vitest";
import {
  computePodQOS,
  containerCgroupPath,
  containerResources,
  detectCgroups,
  getPodQOS,
  MAX_SHARES,
  milliCPUToQuota,
  milliCPUToShares,
  newCgroupDriver,
  normalizeCgroupPath,
  parseCgroupMounts,
  podCgroupPath,
  podResources,
  qosCgroupPath,
  qosCgroupShares,
  sharesToWeight,
} from "./index.js";

type Res = { requests?: Record<string, string>; limits?: Record<string, string> };
const ctr = (name: string, resources: Res = {}, extra: Record<string, unknown> = {}) => ({ name, resources, ...extra });
const pod = (containers: unknown[], initContainers: unknown[] = [], more: Record<string, unknown> = {}) => ({
  metadata: { name: "p", uid: "u1" },
  spec: { containers, initContainers, ...more },
});

describe("QoS class", () => {
  it("is BestEffort without cpu/memory requests or limits (other resources do not count)", () => {
    expect(computePodQOS(pod([ctr("a"), ctr("b", { requests: { "ephemeral-storage": "1Gi" } })]))).toBe("BestEffort");
  });
  it("is Guaranteed when every container's limits equal its requests", () => {
    const g = { requests: { cpu: "500m", memory: "64Mi" }, limits: { cpu: "0.5", memory: "64Mi" } };
    expect(computePodQOS(pod([ctr("a", g), ctr("b", { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } })]))).toBe("Guaranteed");
    // Limits alone count as requests only once the API server has defaulted them; the raw spec is Burstable.
    expect(computePodQOS(pod([ctr("a", g), ctr("b", { limits: { cpu: "1", memory: "1Gi" } })]))).toBe("Burstable");
  });
  it("is Burstable when a container lacks a memory limit or a request differs from its limit", () => {
    expect(computePodQOS(pod([ctr("a", { limits: { cpu: "1", memory: "1Gi" } }), ctr("b", { limits: { cpu: "1" } })]))).toBe("Burstable");
    expect(computePodQOS(pod([ctr("a", { requests: { cpu: "100m" }, limits: { cpu: "1", memory: "1Gi" } })]))).toBe("Burstable");
  });
  it("counts init containers and ignores zero quantities", () => {
    expect(computePodQOS(pod([ctr("a", { limits: { cpu: "1", memory: "1Gi" } })], [ctr("i")]))).toBe("Burstable");
    expect(computePodQOS(pod([ctr("a", { requests: { cpu: "0" }, limits: { memory: "0" } })]))).toBe("BestEffort");
  });
  it("uses pod-level resources when the pod has them", () => {
    expect(computePodQOS(pod([ctr("a")], [], { resources: { limits: { cpu: "1", memory: "1Gi" } } }))).toBe("Burstable");
    const p = pod([ctr("a")], [], { resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } } });
    expect(computePodQOS(p)).toBe("Guaranteed");
  });
  it("keeps a recorded status.qosClass and survives malformed specs", () => {
    expect(getPodQOS({ ...pod([ctr("a")]), status: { qosClass: "Burstable" } })).toBe("Burstable");
    expect(computePodQOS({ spec: { containers: "nope" } })).toBe("BestEffort");
    expect(computePodQOS({ spec: { containers: [ctr("a", { limits: { cpu: "lots" } })] } })).toBe("BestEffort");
  });
});

describe("CPU conversions", () => {
  it("turns milliCPU into cpu.shares with the kernel's bounds", () => {
    expect(milliCPUToShares(0)).toBe(2);
    expect(milliCPUToShares(1)).toBe(2);
    expect(milliCPUToShares(250)).toBe(256);
    expect(milliCPUToShares(1000)).toBe(1024);
    expect(milliCPUToShares(1_000_000)).toBe(MAX_SHARES);
  });
  it("maps shares onto cpu.weight", () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(256)).toBe(10);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(sharesToWeight(0)).toBe(0);
  });
  it("turns a CPU limit into a CFS quota of at least 1 ms", () => {
    expect(milliCPUToQuota(500)).toBe(50_000);
    expect(milliCPUToQuota(1500, 50_000)).toBe(75_000);
    expect(milliCPUToQuota(1)).toBe(1000);
    expect(milliCPUToQuota(0)).toBe(0);
  });
  it("rejects nonsense numbers with a clear error", () => {
    expect(() => milliCPUToShares(-1)).toThrow(/milliCPU must be/);
    expect(() => milliCPUToQuota(100, 10)).toThrow(/CFS period/);
    expect(() => sharesToWeight(Number.NaN)).toThrow(/cpu shares/);
  });
});

describe("container and pod resources", () => {
  it("gives a container shares from its request, or its limit when it has no request", () => {
    expect(containerResources(ctr("a", { requests: { cpu: "250m" }, limits: { cpu: "500m", memory: "64Mi" } }))).toEqual({
      cpuShares: 256,
      cpuQuota: 50_000,
      cpuPeriod: 100_000,
      memoryLimit: 64 * 1024 * 1024,
    });
    expect(containerResources(ctr("a", { limits: { cpu: "2" } }))).toEqual({ cpuShares: 2048, cpuQuota: 200_000, cpuPeriod: 100_000 });
    expect(containerResources(ctr("a"))).toEqual({ cpuShares: 2 });
    expect(containerResources(ctr("a", { limits: { cpu: "1" } }), { enforceCPULimits: false })).toEqual({ cpuShares: 1024, cpuQuota: -1 });
  });

  it("sums a Guaranteed pod's containers and takes the larger init container", () => {
    const g = (cpu: string, mem: string) => ({ requests: { cpu, memory: mem }, limits: { cpu, memory: mem } });
    const p = pod([ctr("a", g("250m", "64Mi")), ctr("b", g("250m", "64Mi"))], [ctr("init", g("2", "32Mi"))]);
    expect(podResources(p, { podPidsLimit: 100 })).toEqual({
      cpuShares: 2048,
      cpuQuota: 200_000,
      cpuPeriod: 100_000,
      memoryLimit: 128 * 1024 * 1024,
      pidsLimit: 100,
    });
  });

  it("adds sidecars (restartPolicy Always init containers) and pod overhead", () => {
    const g = (cpu: string) => ({ requests: { cpu, memory: "10Mi" }, limits: { cpu, memory: "10Mi" } });
    const p = pod([ctr("a", g("500m"))], [ctr("side", g("100m"), { restartPolicy: "Always" })], { overhead: { cpu: "50m", memory: "1Mi" } });
    expect(podResources(p)).toMatchObject({ cpuShares: milliCPUToShares(650), cpuQuota: 65_000, memoryLimit: 21 * 1024 * 1024 });
  });

  it("gives a Burstable pod a quota or memory limit only when every container declares one", () => {
    const p = pod([ctr("a", { requests: { cpu: "100m" }, limits: { cpu: "1", memory: "1Gi" } }), ctr("b", { limits: { memory: "1Gi" } })]);
    expect(podResources(p)).toEqual({ cpuShares: 102, memoryLimit: 2 * 1024 * 1024 * 1024 });
  });

  it("gives a BestEffort pod the minimum shares and nothing else", () => {
    expect(podResources(pod([ctr("a")]))).toEqual({ cpuShares: 2 });
  });

  it("sums Burstable requests for kubepods/burstable", () => {
    const b = pod([ctr("a", { requests: { cpu: "300m" } })]);
    const g = pod([ctr("a", { limits: { cpu: "1", memory: "1Gi" } })]);
    expect(qosCgroupShares([b, b, g, pod([ctr("x")])])).toEqual({ burstable: 614, besteffort: 2 });
  });
});

describe("cgroup paths", () => {
  it("places pods under their QoS cgroup with the cgroupfs names", () => {
    expect(qosCgroupPath("Guaranteed")).toBe("kubepods");
    expect(qosCgroupPath("Burstable")).toBe("kubepods/burstable");
    expect(podCgroupPath("1234-ab", "BestEffort")).toBe("kubepods/besteffort/pod1234-ab");
    expect(podCgroupPath("u", "Guaranteed", { cgroupRoot: "/", kubepodsName: "kubepods-test-1" })).toBe("kubepods-test-1/podu");
    expect(containerCgroupPath("kubepods/podu", "abc123")).toBe("kubepods/podu/abc123");
    expect(podCgroupPath("u", "Burstable", { cgroupRoot: "/node" })).toBe("node/kubepods/burstable/podu");
  });
  it("rejects paths that could escape the hierarchy", () => {
    expect(() => normalizeCgroupPath("kubepods/../etc")).toThrow(/bad segment/);
    expect(() => containerCgroupPath("kubepods", "a/b")).toThrow(/container id/);
    expect(() => podCgroupPath("", "Burstable")).toThrow(/uid is required/);
    expect(() => qosCgroupPath("Platinum" as never)).toThrow(/unknown QoS class/);
  });
});

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const PURE_V2 = `25 30 0:22 / /sys rw,nosuid - sysfs sysfs rw
35 25 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

describe("cgroup detection", () => {
  it("treats a hybrid host as v1 and maps co-mounted controllers", () => {
    const info = detectCgroups(HYBRID);
    expect(info).toMatchObject({ version: 1, hybrid: true, unifiedMount: "/sys/fs/cgroup/unified" });
    expect(info.v1Mounts).toEqual({ cpu: "/sys/fs/cgroup/cpu,cpuacct", cpuacct: "/sys/fs/cgroup/cpu,cpuacct", memory: "/sys/fs/cgroup/memory" });
    expect(newCgroupDriver({ info }).version).toBe(1);
  });
  it("treats cgroup2 at /sys/fs/cgroup alone as v2", () => {
    const info = detectCgroups(PURE_V2);
    expect(info).toMatchObject({ version: 2, hybrid: false, unifiedMount: "/sys/fs/cgroup", v1Mounts: {} });
    expect(newCgroupDriver({ info }).version).toBe(2);
  });
  it("unescapes mount points and fails clearly without any cgroup mount", () => {
    expect(parseCgroupMounts("1 2 0:1 / /mnt/a\\040b rw - cgroup2 none rw\n")[0]?.mountPoint).toBe("/mnt/a b");
    expect(() => detectCgroups("1 2 0:1 / /proc rw - proc proc rw\n")).toThrow(/no cgroup filesystem/);
  });
  it("reads this process's own mountinfo", () => {
    expect([1, 2]).toContain(detectCgroups().version);
  });
});
