// Book 9.1-9.3 and 14.1: what the kubelet reads about its machine before it registers the Node:
// CPUs, memory, disk, PIDs, identity (machine-id, boot id, kernel, OS) and addresses.
import { readFile, statfs } from "node:fs/promises";
import { arch, availableParallelism, networkInterfaces, release } from "node:os";

export interface MachineInfo {
  cpus: number;
  memoryBytes: number;
  /** Free memory as the kernel estimates it (MemAvailable). */
  memoryAvailableBytes: number;
  /** Size and free space of the filesystem holding the kubelet's root directory. */
  fsBytes: number;
  fsAvailableBytes: number;
  pidMax: number;
  pidsInUse: number;
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  architecture: string;
}

const readText = (p: string) => readFile(p, "utf8").then((s) => s.trim(), () => "");

/** "MemTotal:  16384 kB" lines of /proc/meminfo, in bytes. */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(\w+):\s+(\d+)(?:\s+kB)?$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]) * (line.includes("kB") ? 1024 : 1);
  }
  return out;
}

/** PRETTY_NAME of /etc/os-release. */
export function parseOsRelease(text: string): string {
  const m = /^PRETTY_NAME=("?)(.*)\1$/m.exec(text);
  return m?.[2] ?? "Linux";
}

/** Reads the machine now; `rootDir` decides which filesystem counts as the node's disk. */
export async function readMachine(rootDir: string): Promise<MachineInfo> {
  const mem = parseMeminfo(await readText("/proc/meminfo"));
  const fs = await statfs(rootDir).catch(() => statfs("/"));
  const loadavg = await readText("/proc/loadavg"); // "0.1 0.2 0.3 2/345 6789": running/total tasks
  const tasks = Number(loadavg.split(" ")[3]?.split("/")[1] ?? 0);
  const machineID = (await readText("/etc/machine-id")) || (await readText("/var/lib/dbus/machine-id"));
  return {
    cpus: availableParallelism(),
    memoryBytes: mem.MemTotal ?? 0,
    memoryAvailableBytes: mem.MemAvailable ?? mem.MemFree ?? 0,
    fsBytes: fs.blocks * fs.bsize,
    fsAvailableBytes: fs.bavail * fs.bsize,
    pidMax: Number(await readText("/proc/sys/kernel/pid_max")) || 32768,
    pidsInUse: tasks,
    machineID,
    systemUUID: (await readText("/sys/class/dmi/id/product_uuid")) || machineID,
    bootID: await readText("/proc/sys/kernel/random/boot_id"),
    kernelVersion: release(),
    osImage: parseOsRelease(await readText("/etc/os-release")),
    architecture: arch() === "x64" ? "amd64" : arch() === "arm64" ? "arm64" : arch(),
  };
}

/**
 * The node's InternalIP: the one given, else the first non-internal IPv4 address of the machine
 * (skipping bridges and veths corekube makes itself).
 */
export function pickNodeIP(given?: string): string {
  if (given) return given;
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (/^(corekube|cni|veth|docker|br-)/.test(name)) continue;
    const a = (addrs ?? []).find((x) => x.family === "IPv4" && !x.internal);
    if (a) return a.address;
  }
  return "127.0.0.1";
}
