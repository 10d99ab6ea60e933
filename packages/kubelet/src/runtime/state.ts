// Book 9.3: the runtime's on-disk state: one directory per sandbox and per container with a JSON file
// written atomically, so a restarted kubelet re-adopts what runs; pids are checked with their start time.
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { ContainerConfig, Mount, NamespaceMode, PodSandboxConfig } from "./cri.js";
import { parseStatStartTime } from "./spec.js";
import type { LogRotation } from "./log.js";

export interface ProcessRef {
  pid: number;
  /** Field 22 of /proc/<pid>/stat when it was recorded: tells a live process from a reused pid. */
  startTime: string;
}

export interface SandboxRecord {
  version: 1;
  id: string;
  config: PodSandboxConfig;
  createdAt: string;
  state: "ready" | "notready";
  hostname: string;
  namespaces: { network: NamespaceMode; pid: NamespaceMode; ipc: NamespaceMode };
  /** Bind-mounted namespace files (absent for NODE modes). */
  nsPaths: { net?: string; ipc?: string; uts?: string; pid?: string };
  pause?: ProcessRef;
  shim?: ProcessRef;
  /** hostname, hosts and resolv.conf files bind-mounted into every container. */
  files: { hostname: string; hosts: string; resolvConf: string };
}

export interface ProcessIdentity {
  uid: number;
  gid: number;
  groups: number[];
  capabilities: string[];
  noNewPrivs: boolean;
  /** KEY=value, as the container's process got them. */
  env: string[];
  /** The helper's dynamic loader file name (setpriv runs through it from /.corekube). */
  loaderName: string;
}

export interface ContainerRecord {
  version: 1;
  id: string;
  sandboxId: string;
  config: Omit<ContainerConfig, "linux"> & { linux?: Omit<NonNullable<ContainerConfig["linux"]>, "placeInCgroup"> };
  createdAt: string;
  state: "created" | "running" | "exited";
  rootfs: string;
  logPath?: string;
  /** Size-based rotation of logPath, done by the shim. */
  logRotation?: LogRotation;
  mounts: Mount[];
  /** Who the container's process is, so `kubectl exec` runs the same way (user, groups, capabilities, env). */
  identity?: ProcessIdentity;
  /** The exec chain the shim starts (nsenter ... unshare ... busybox sh -c <setup script>). */
  exec: string[];
  /** Whether the chain forks once (pid namespace entered or created), making the container a grandchild of the shim. */
  forks: boolean;
  process?: ProcessRef;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  signal?: string;
  reason?: string;
  message?: string;
}

/** Writes JSON to `path` atomically (temp file in the same directory, then rename). */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 1)}\n`);
  renameSync(tmp, path);
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`corrupt runtime state file ${path}: ${(err as Error).message}`);
  }
}

/** The start time of a live (non-zombie) process, or undefined. */
export function processStartTime(pid: number): string | undefined {
  try {
    const parsed = parseStatStartTime(readFileSync(`/proc/${pid}/stat`, "utf8"));
    if (!parsed || parsed.state === "Z" || parsed.state === "X") return undefined;
    return parsed.startTime;
  } catch {
    return undefined;
  }
}

export function processRef(pid: number): ProcessRef | undefined {
  const startTime = processStartTime(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

/** True when the recorded process still runs (same pid and same start time). */
export function isAlive(ref: ProcessRef | undefined): ref is ProcessRef {
  return ref !== undefined && processStartTime(ref.pid) === ref.startTime;
}

export function nowRfc3339(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
}

export const newId = (): string => randomBytes(16).toString("hex");
