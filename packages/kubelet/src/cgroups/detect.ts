// Book 3.4.6-3.4.7: finding out which cgroup version a node runs, from /proc/self/mountinfo, and
// making the matching driver: pure cgroup2 at /sys/fs/cgroup is v2; any v1 hierarchy (hybrid too) is v1.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { CgroupDriver } from "./driver.js";
import { V1_CONTROLLERS, CgroupV1Driver } from "./v1.js";
import { CgroupV2Driver } from "./v2.js";

export interface CgroupMount {
  mountPoint: string;
  /** The cgroup this mount shows as its root ("/" unless a subtree was bind-mounted, as in containers). */
  root: string;
  fsType: "cgroup" | "cgroup2";
  /** v1: the controllers of this hierarchy (from the super options); v2: empty. */
  controllers: string[];
}

export interface CgroupInfo {
  /** Which driver controls resources: 2 only when /sys/fs/cgroup itself is cgroup2. */
  version: 1 | 2;
  /** v1 and a cgroup2 mount side by side (the cgroup2 part is then not used for limits). */
  hybrid: boolean;
  /** The cgroup2 mount point, if any (/sys/fs/cgroup on v2, often /sys/fs/cgroup/unified on hybrid). */
  unifiedMount?: string;
  /** v1 controller → its hierarchy's mount point. */
  v1Mounts: Record<string, string>;
  mounts: CgroupMount[];
}

/** mountinfo escapes spaces and the like as \ooo octal. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/** The cgroup and cgroup2 mounts listed in a /proc/<pid>/mountinfo text. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const [fsType, , superOpts = ""] = line.slice(sep + 3).split(" ");
    if ((fsType !== "cgroup" && fsType !== "cgroup2") || left.length < 5) continue;
    const controllers = fsType === "cgroup" ? superOpts.split(",").filter((o) => (V1_CONTROLLERS as readonly string[]).includes(o)) : [];
    out.push({ mountPoint: unescape(left[4] as string), root: unescape(left[3] as string), fsType, controllers });
  }
  return out;
}

/** Classifies a node's cgroup setup from its mountinfo text (default: this process's). */
export function detectCgroups(mountinfo?: string): CgroupInfo {
  const text = mountinfo ?? readFileSync("/proc/self/mountinfo", "utf8");
  const mounts = parseCgroupMounts(text);
  const v1Mounts: Record<string, string> = {};
  for (const m of mounts) for (const c of m.controllers) v1Mounts[c] ??= m.mountPoint;
  const unified = mounts.find((m) => m.fsType === "cgroup2" && m.mountPoint === "/sys/fs/cgroup") ?? mounts.find((m) => m.fsType === "cgroup2");
  const hasV1 = Object.keys(v1Mounts).length > 0;
  if (!hasV1 && !unified) throw new Error("no cgroup filesystem is mounted (looked for cgroup and cgroup2 in mountinfo)");
  const pureV2 = !hasV1 && unified !== undefined;
  return { version: pureV2 ? 2 : 1, hybrid: hasV1 && unified !== undefined, unifiedMount: unified?.mountPoint, v1Mounts, mounts };
}

export interface CgroupDriverOptions {
  /** v2: the cgroup2 mount point; v1: the directory holding one directory per controller. Default: detected. */
  root?: string;
  /** Force a version instead of detecting it (e.g. the v2 driver on a hybrid host's unified mount). */
  version?: 1 | 2;
  /** Detection result to use instead of reading /proc/self/mountinfo. */
  info?: CgroupInfo;
}

/** The driver for this node (or for the given root and version). */
export function newCgroupDriver(opts: CgroupDriverOptions = {}): CgroupDriver {
  const info = opts.info ?? (opts.version !== undefined && opts.root !== undefined ? undefined : detectCgroups());
  const version = opts.version ?? info?.version ?? 2;
  if (version === 2) {
    const root = opts.root ?? info?.unifiedMount;
    if (!root) throw new Error("cgroup v2 driver: no cgroup2 mount found; pass a root");
    return new CgroupV2Driver(root);
  }
  if (opts.root !== undefined) {
    const root = opts.root;
    const ctrls = info ? Object.keys(info.v1Mounts) : ["cpu", "cpuacct", "cpuset", "memory", "pids", "freezer"];
    return new CgroupV1Driver(Object.fromEntries(ctrls.map((c) => [c, join(root, c)])));
  }
  if (!info || Object.keys(info.v1Mounts).length === 0) throw new Error("cgroup v1 driver: no v1 controller hierarchy is mounted");
  return new CgroupV1Driver(info.v1Mounts);
}
