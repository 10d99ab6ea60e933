// Book 9.3: the Node a kubelet reports, from a machine description: capacity, allocatable after
// reservations and eviction thresholds, and conditions that keep their transition times.
import { describe, expect, it } from "vitest";
import type { MachineInfo } from "./machine.js";
import { parseMeminfo, parseOsRelease } from "./machine.js";
import { allocatableOf, capacityOf, DEFAULT_RESERVATIONS, nodeConditions, statusChanged, nodeStatus } from "./status.js";

const GiB = 1024 ** 3;
const machine = (o: Partial<MachineInfo> = {}): MachineInfo => ({
  cpus: 2,
  memoryBytes: 8 * GiB,
  memoryAvailableBytes: 6 * GiB,
  fsBytes: 100 * GiB,
  fsAvailableBytes: 50 * GiB,
  pidMax: 4_194_304,
  pidsInUse: 300,
  machineID: "m",
  systemUUID: "u",
  bootID: "b",
  kernelVersion: "6.1.0",
  osImage: "Debian GNU/Linux 12 (bookworm)",
  architecture: "amd64",
  ...o,
});

describe("node status", () => {
  it("reads /proc/meminfo and /etc/os-release", () => {
    expect(parseMeminfo("MemTotal:       16384 kB\nMemAvailable:    8192 kB\nHugePages_Total:       0\n")).toEqual({ MemTotal: 16384 * 1024, MemAvailable: 8192 * 1024, HugePages_Total: 0 });
    expect(parseOsRelease('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')).toBe("Debian GNU/Linux 12 (bookworm)");
  });

  it("subtracts reservations and hard eviction thresholds from capacity", () => {
    const m = machine();
    expect(capacityOf(m, 110)).toMatchObject({ cpu: "2", memory: `${8 * 1024 * 1024}Ki`, pods: "110", "ephemeral-storage": `${100 * 1024 * 1024}Ki` });
    const a = allocatableOf(m, 110, { ...DEFAULT_RESERVATIONS, cpuMilli: 500, memoryBytes: GiB });
    expect(a.cpu).toBe("1500m");
    expect(a.memory).toBe(`${(7 * GiB - 100 * 1024 * 1024) / 1024}Ki`);
    expect(a["ephemeral-storage"]).toBe(`${(90 * GiB) / 1024}Ki`);
  });

  it("reports pressure below the eviction thresholds and Ready from the runtime's health", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const ok = nodeConditions(machine(), DEFAULT_RESERVATIONS, { ready: true }, [], now);
    expect(ok.map((c) => `${c.type}=${c.status}`)).toEqual(["MemoryPressure=False", "DiskPressure=False", "PIDPressure=False", "Ready=True"]);
    const bad = nodeConditions(machine({ memoryAvailableBytes: 50 * 1024 * 1024, fsAvailableBytes: 5 * GiB }), DEFAULT_RESERVATIONS, { ready: false, message: "network not ready" }, ok, new Date("2026-01-01T00:01:00Z"));
    expect(bad.map((c) => `${c.type}=${c.status}`)).toEqual(["MemoryPressure=True", "DiskPressure=True", "PIDPressure=False", "Ready=False"]);
    expect(bad.find((c) => c.type === "Ready")!.message).toBe("network not ready");
    // PIDPressure did not change: its transition time stays; Ready's moves.
    expect(bad.find((c) => c.type === "PIDPressure")!.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
    expect(bad.find((c) => c.type === "Ready")!.lastTransitionTime).toBe("2026-01-01T00:01:00Z");
  });

  it("does not count a new heartbeat time as a change worth writing", () => {
    const id = { name: "n", nodeIP: "10.0.0.1", maxPods: 110, reservations: DEFAULT_RESERVATIONS, runtimeVersion: "corekube://0.1.0" };
    const a = nodeStatus(id, machine(), { ready: true }, [], new Date("2026-01-01T00:00:00Z"));
    const b = nodeStatus(id, machine(), { ready: true }, a.conditions ?? [], new Date("2026-01-01T00:00:10Z"));
    expect(statusChanged(a, b)).toBe(false);
    const c = nodeStatus(id, machine(), { ready: false }, a.conditions ?? [], new Date("2026-01-01T00:00:20Z"));
    expect(statusChanged(a, c)).toBe(true);
  });
});
