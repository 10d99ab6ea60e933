// Book 2.3.2 and 11.2.3: simulated nodes' pod ranges, node addresses and pod IP allocation.
import { describe, expect, it } from "vitest";
import { parseGoDuration } from "./duration.js";
import { IPAllocator, nodeIPForNode, podCIDRForNode } from "./ipv4.js";
import { buildLease, buildNode, parseTaint } from "./node-objects.js";

describe("node address plan", () => {
  it("gives node i the i-th /24 from the base, carrying past .255", () => {
    expect(podCIDRForNode("10.244", 0)).toBe("10.244.0.0/24");
    expect(podCIDRForNode("10.244", 255)).toBe("10.244.255.0/24");
    expect(podCIDRForNode("10.244", 256)).toBe("10.245.0.0/24");
    expect(podCIDRForNode("10.244", 4999)).toBe("11.7.135.0/24");
    expect(() => podCIDRForNode("255.255", 256)).toThrow(/no \/24 left/);
  });

  it("gives nodes distinct InternalIPs, never .0 or .255", () => {
    expect(nodeIPForNode("172.16", 0)).toBe("172.16.0.1");
    expect(nodeIPForNode("172.16", 253)).toBe("172.16.0.254");
    expect(nodeIPForNode("172.16", 254)).toBe("172.16.1.1");
    const all = new Set(Array.from({ length: 5000 }, (_, i) => nodeIPForNode("172.16", i)));
    expect(all.size).toBe(5000);
    expect([...all].some((ip) => /\.(0|255)$/.test(ip))).toBe(false);
  });
});

describe("IPAllocator", () => {
  it("hands out .2 to .254 of a /24, then none, and round-robins after a release", () => {
    const a = new IPAllocator("10.244.3.0/24");
    expect(a.capacity).toBe(253);
    const got = Array.from({ length: 253 }, () => a.allocate());
    expect(got[0]).toBe("10.244.3.2");
    expect(got[252]).toBe("10.244.3.254");
    expect(a.allocate()).toBeUndefined();
    a.release("10.244.3.7");
    expect(a.allocate()).toBe("10.244.3.7");
  });

  it("does not reuse a freed address at once, and reserves addresses found after a restart", () => {
    const a = new IPAllocator("10.244.0.0/24");
    expect(a.reserve("10.244.0.2")).toBe(true);
    expect(a.reserve("10.245.0.2")).toBe(false);
    expect(a.allocate()).toBe("10.244.0.3");
    a.release("10.244.0.3");
    expect(a.allocate()).toBe("10.244.0.4");
  });
});

describe("parseGoDuration", () => {
  it("reads Go durations into milliseconds", () => {
    expect(parseGoDuration("5s")).toBe(5000);
    expect(parseGoDuration("1.5s")).toBe(1500);
    expect(parseGoDuration("2m")).toBe(120_000);
    expect(parseGoDuration("1h30m")).toBe(5_400_000);
    expect(parseGoDuration("300ms")).toBe(300);
    expect(parseGoDuration("0")).toBe(0);
    for (const bad of ["", "5", "-1s", "1d", "s", "1.5 s"]) expect(() => parseGoDuration(bad), bad).toThrow();
  });
});

describe("node objects", () => {
  it("registers a node the way a kubelet does, marked as simulated", () => {
    const now = new Date("2025-01-01T00:00:00Z");
    const n = buildNode(
      { name: "sim-3", cpu: "8", memory: "32Gi", pods: 110, ephemeralStorage: "100Gi", labels: { zone: "a" }, taints: [{ key: "k", effect: "NoSchedule" }], podCIDR: "10.244.3.0/24", nodeIP: "172.16.0.4" },
      now,
      "boot",
    );
    expect(n.metadata.labels).toMatchObject({ "kubernetes.io/hostname": "sim-3", "kubernetes.io/os": "linux", "corekube.io/simulated": "true", zone: "a" });
    expect(n.spec).toEqual({ podCIDR: "10.244.3.0/24", podCIDRs: ["10.244.3.0/24"], taints: [{ key: "k", effect: "NoSchedule" }] });
    expect(n.status!.capacity).toEqual({ cpu: "8", memory: "32Gi", pods: "110", "ephemeral-storage": "100Gi" });
    expect(n.status!.allocatable).toEqual(n.status!.capacity);
    expect(n.status!.conditions!.map((c) => `${c.type}=${c.status}`)).toEqual(["MemoryPressure=False", "DiskPressure=False", "PIDPressure=False", "Ready=True"]);
    expect(n.status!.nodeInfo).toMatchObject({ kubeletVersion: "v1.33.0-corekube-sim", containerRuntimeVersion: "simulated://1", operatingSystem: "linux", architecture: "amd64" });
    expect(n.status!.addresses).toContainEqual({ type: "InternalIP", address: "172.16.0.4" });
    const lease = buildLease({ name: "sim-3", uid: "n-uid" }, 40, now);
    expect(lease.metadata).toMatchObject({ namespace: "kube-node-lease", ownerReferences: [{ kind: "Node", name: "sim-3", uid: "n-uid" }] });
    expect(lease.spec).toEqual({ holderIdentity: "sim-3", leaseDurationSeconds: 40, renewTime: "2025-01-01T00:00:00.000000Z" });
  });

  it("parses taints as kubectl writes them", () => {
    expect(parseTaint("dedicated=gpu:NoSchedule")).toEqual({ key: "dedicated", value: "gpu", effect: "NoSchedule" });
    expect(parseTaint("spot:PreferNoSchedule")).toEqual({ key: "spot", effect: "PreferNoSchedule" });
    expect(() => parseTaint("a=b")).toThrow(/key=value:Effect/);
    expect(() => parseTaint("a=b:Sometimes")).toThrow(/effect must be/);
  });
});
