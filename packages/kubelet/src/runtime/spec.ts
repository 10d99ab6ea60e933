// Book 4.1, 9.4: turning a CRI container config into Linux primitives: the capability set, the fstab of
// the container's mounts, and the shell script that builds its root and execs the command (pure functions).
import { lstatSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { Capability, MountPropagation } from "./cri.js";

/** Single-quotes a value for /bin/sh so that nothing in it is interpreted. */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw new Error(`value contains a NUL byte: ${JSON.stringify(value)}`);
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Escapes a path for an fstab field (space, tab, newline and backslash as octal, as libmount expects). */
export function fstabEscape(value: string): string {
  if (value.length === 0) throw new Error("empty fstab field");
  return value.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
}

/** All capability names the kernel knows (index = capability number), lowercase as setpriv spells them. */
export const ALL_CAPABILITIES = [
  "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
  "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner",
  "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
  "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write", "audit_control", "setfcap",
  "mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf",
  "checkpoint_restore",
] as const;

/** containerd's default set for non-privileged containers. */
export const DEFAULT_CAPABILITIES = [
  "chown", "dac_override", "fsetid", "fowner", "mknod", "net_raw", "setgid", "setuid", "setfcap", "setpcap",
  "net_bind_service", "sys_chroot", "kill", "audit_write",
];

function capName(raw: string): string | "all" {
  const name = raw.trim().toLowerCase().replace(/^cap_/, "");
  if (name === "all") return "all";
  if (!(ALL_CAPABILITIES as readonly string[]).includes(name)) throw new Error(`unknown capability ${JSON.stringify(raw)}`);
  return name;
}

/** The bounding set of a container: containerd's defaults, then add, then drop ("ALL" allowed in both); all when privileged. */
export function computeCapabilities(caps: Capability | undefined, privileged: boolean): string[] {
  if (privileged) return [...ALL_CAPABILITIES];
  const set = new Set(DEFAULT_CAPABILITIES);
  for (const raw of caps?.add ?? []) {
    const n = capName(raw);
    if (n === "all") for (const c of ALL_CAPABILITIES) set.add(c);
    else set.add(n);
  }
  for (const raw of caps?.drop ?? []) {
    const n = capName(raw);
    if (n === "all") set.clear();
    else set.delete(n);
  }
  return ALL_CAPABILITIES.filter((c) => set.has(c));
}

/** The capability mask (as in /proc/<pid>/status CapBnd) of a list of names. */
export function capabilityMask(names: string[]): bigint {
  let mask = 0n;
  for (const n of names) mask |= 1n << BigInt((ALL_CAPABILITIES as readonly string[]).indexOf(n));
  return mask;
}

/**
 * Resolves `path` inside `root` the way the container will see it: symlinks found in the image are
 * followed relative to `root` (an absolute link target restarts at `root`, ".." stops at it), so a
 * mount target can never land outside the container's root on the host. Missing components are kept.
 */
export function resolveInRoot(root: string, path: string): string {
  const pending = path.split("/").filter((p) => p !== "" && p !== ".");
  let resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    const candidate = join(root, ...resolved, part);
    let isLink = false;
    try {
      isLink = lstatSync(candidate).isSymbolicLink();
    } catch {
      // does not exist (yet): it will be created as a plain directory or file
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (++links > 40) throw new Error(`too many symlinks resolving ${path} in the container root`);
    const target = readlinkSync(candidate);
    if (target.startsWith("/")) resolved = [];
    pending.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
  }
  return join(root, ...resolved);
}

export interface FstabEntry {
  source: string;
  target: string;
  type: string;
  options: string[];
}

export function renderFstab(entries: FstabEntry[]): string {
  return entries
    .map((e) => `${fstabEscape(e.source)} ${fstabEscape(e.target)} ${e.type} ${e.options.join(",")} 0 0\n`)
    .join("");
}

export function propagationOption(p: MountPropagation | undefined): string | undefined {
  switch (p ?? "PROPAGATION_PRIVATE") {
    case "PROPAGATION_PRIVATE":
      return undefined;
    case "PROPAGATION_HOST_TO_CONTAINER":
      return "rslave";
    case "PROPAGATION_BIDIRECTIONAL":
      return "rshared";
    default:
      throw new Error(`unknown mount propagation ${JSON.stringify(p)}`);
  }
}

export interface SetupScriptInput {
  /** Host path of the overlay mount that becomes the container's /. */
  rootfs: string;
  /** fstab file with every mount of the container, in order (one `mount -a -T` call). */
  fstab: string;
  /** util-linux mount on the host. */
  mountBin: string;
  /** Basename of the dynamic loader copied into /.corekube. */
  loaderName: string;
  readonlyRootfs: boolean;
  workingDir: string;
  env: string[];
  uid: number;
  gid: number;
  groups: number[];
  capabilities: string[];
  noNewPrivs: boolean;
  argv: string[];
}

/** In-container path of the helper directory (setpriv, its loader and libraries, static busybox). */
export const HELPER_MOUNT = "/.corekube";
export const OLD_ROOT = ".ck-oldroot";

/**
 * The script a static busybox sh runs (`sh -c`) inside the container's new mount namespace (and pid
 * namespace when it has one). fd 3 is a socket to the shim: the script first blocks on it until the
 * shim says "go" (the pid is in its cgroup by then, so nothing runs outside it), and answers "ok"
 * right before the final exec so that setup failures turn into StartContainer errors.
 * busybox's shell runs its applets (pivot_root, umount, rmdir, env) without a PATH lookup, which
 * keeps working after the pivot, when none of the host's files are reachable any more.
 */
/**
 * The argv prefix, valid inside the container's root, that drops to the container's user, groups and
 * capability bounding set (util-linux setpriv, run by the helper's loader from /.corekube).
 */
export function setprivPrefix(s: { loaderName: string; uid: number; gid: number; groups: number[]; capabilities: string[]; noNewPrivs: boolean }): string[] {
  const h = HELPER_MOUNT;
  return [
    `${h}/${s.loaderName}`, "--library-path", h, `${h}/setpriv`,
    "--reuid", String(s.uid), "--regid", String(s.gid),
    ...(s.groups.length > 0 ? ["--groups", s.groups.join(",")] : ["--clear-groups"]),
    "--bounding-set", s.capabilities.length === ALL_CAPABILITIES.length ? "+all" : ["-all", ...s.capabilities.map((c) => `+${c}`)].join(","),
    "--inh-caps", "-all",
    ...(s.noNewPrivs ? ["--no-new-privs"] : []),
    "--",
  ];
}

export function buildSetupScript(s: SetupScriptInput): string {
  if (s.argv.length === 0) throw new Error("container has no command");
  const q = shellQuote;
  const setprivArgs = [...setprivPrefix(s), ...s.argv];
  const lines = [
    "set -e",
    `read -r go <&3 || exit 125`,
    `[ "$go" = go ] || exit 125`,
    `${q(s.mountBin)} -a -T ${q(s.fstab)}`,
    `cd ${q(s.rootfs)}`,
    `pivot_root . ${OLD_ROOT}`,
    "cd /",
    `umount -l /${OLD_ROOT}`,
    `rmdir /${OLD_ROOT}`,
    ...(s.readonlyRootfs ? ["mount -o remount,bind,ro /"] : []),
    `cd ${q(s.workingDir)}`,
    "echo ok >&3",
    "exec 3>&-",
    `exec env -i ${s.env.map(q).join(" ")} ${setprivArgs.map(q).join(" ")}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** Primary gid and home directory of `uid` from the image's /etc/passwd text. */
export function lookupPasswd(passwd: string, uid: number): { name: string; gid: number; home: string } | undefined {
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    if (f.length >= 7 && Number(f[2]) === uid && f[2] !== "") return { name: f[0] as string, gid: Number(f[3]), home: f[5] as string };
  }
  return undefined;
}

/** Gids of the groups in the image's /etc/group that list `user` as a member. */
export function lookupGroups(group: string, user: string): number[] {
  const out: number[] = [];
  for (const line of group.split("\n")) {
    const f = line.split(":");
    if (f.length >= 4 && (f[3] as string).split(",").includes(user)) out.push(Number(f[2]));
  }
  return out.filter((g) => Number.isInteger(g) && g >= 0);
}

/** Parses the start time (field 22, clock ticks since boot) out of /proc/<pid>/stat text; undefined for zombies. */
export function parseStatStartTime(stat: string): { startTime: string; state: string } | undefined {
  const close = stat.lastIndexOf(")");
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(" ");
  const state = fields[0] as string;
  const startTime = fields[19];
  if (startTime === undefined) return undefined;
  return { startTime, state };
}
