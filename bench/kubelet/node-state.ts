// Book 9.4 and 3.4: what the kubelet benchmark reads from the host: CPU and memory of the kubelet and
// of the runtime's per-pod processes (shims, pauses) from /proc, and what a pod leaves behind after it
// is deleted (sandboxes, mounts, processes, cgroups, IP leases, veths).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** utime+stime of a process, and of its children it has reaped (cutime+cstime), in seconds. */
function statTimes(pid: number): { self: number; children: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const tick = 100; // USER_HZ is 100 on every Linux this runs on
    return { self: (Number(f[11]) + Number(f[12])) / tick, children: (Number(f[13]) + Number(f[14])) / tick };
  } catch {
    return { self: 0, children: 0 };
  }
}

/**
 * A process's CPU seconds, and its reaped children's. The kubelet's spawn helper (a live child that starts
 * mount, umount and CNI plugins for it) counts as its children: the helper's own CPU and what it reaped.
 */
export function cpuTimes(pid: number): { self: number; children: number } {
  const own = statTimes(pid);
  let kids = "";
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  } catch {}
  for (const k of kids.split(" ").filter(Boolean).map(Number)) {
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${k}/cmdline`, "utf8");
    } catch {}
    if (!cmd.includes("spawner-child")) continue;
    const h = statTimes(k);
    own.children += h.self + h.children;
  }
  return own;
}

function kibField(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** VmRSS, VmHWM (from status) and Pss (from smaps_rollup: shared pages split between their users), KiB. */
export function memKiB(pid: number): { rss: number; hwm: number; pss: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    let pss = 0;
    try {
      pss = kibField(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"), "Pss");
    } catch {
      // no smaps_rollup (old kernel): Pss stays 0
    }
    return { rss: kibField(status, "VmRSS"), hwm: kibField(status, "VmHWM"), pss };
  } catch {
    return { rss: 0, hwm: 0, pss: 0 };
  }
}

function cmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

/** The runtime's shim processes: `... shim.mjs (or shim.ts) <runtimeDir>/sandboxes/<id>`, found by a /proc scan. */
export function shimPids(runtimeDir: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const cmd = cmdline(d);
    if ((cmd.includes("shim.ts") || cmd.includes("shim.mjs")) && cmd.includes(`${runtimeDir}/sandboxes/`)) out.push(Number(d));
  }
  return out;
}

/** The live pause processes the runtime's sandbox records name (catatonit, one per pod). */
export function pausePids(runtimeDir: string): number[] {
  const out: number[] = [];
  const dir = join(runtimeDir, "sandboxes");
  if (!existsSync(dir)) return out;
  for (const id of readdirSync(dir)) {
    try {
      const rec = JSON.parse(readFileSync(join(dir, id, "sandbox.json"), "utf8")) as { pause?: { pid: number } };
      const pid = rec.pause?.pid;
      if (pid && readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "catatonit") out.push(pid);
    } catch {
      // a record being written or a pause already gone
    }
  }
  return out;
}

/** Sums memKiB over processes. */
export function sumMem(pids: number[]): { rss: number; pss: number } {
  let rss = 0;
  let pss = 0;
  for (const p of pids) {
    const m = memKiB(p);
    rss += m.rss;
    pss += m.pss;
  }
  return { rss, pss };
}

/** Entries of a directory (none when it does not exist). */
export function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** pod<uid> cgroup directories anywhere under <hierarchy>/<kubepods> in every mounted v1 hierarchy and cgroup2. */
export function podCgroups(kubepods: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    for (const e of entries(dir)) {
      const p = join(dir, e);
      let isDir = false;
      try {
        isDir = statSync(p).isDirectory();
      } catch {
        continue;
      }
      if (!isDir) continue;
      if (e.startsWith("pod")) out.push(p);
      if (depth < 3) walk(p, depth + 1);
    }
  };
  for (const h of entries("/sys/fs/cgroup")) walk(join("/sys/fs/cgroup", h, kubepods), 0);
  return out;
}

/** Every cgroup directory named `kubepods` in any hierarchy (for the final cleanup check). */
export function kubepodsDirs(kubepods: string): string[] {
  return entries("/sys/fs/cgroup")
    .map((h) => join("/sys/fs/cgroup", h, kubepods))
    .filter((d) => existsSync(d));
}

export interface LeftoverInput {
  runtimeDir: string;
  workDir: string;
  kubepods: string;
  bridge: string;
  /** <kubelet root>/cni-networks/<network>: the IPAM lease files (named by IP). */
  leaseDir: string;
}

/** What is left of the pods on this host: an empty list means nothing. */
export function podLeftovers(x: LeftoverInput): string[] {
  const left: string[] = [];
  const sandboxes = entries(join(x.runtimeDir, "sandboxes"));
  if (sandboxes.length) left.push(`${sandboxes.length} sandbox dir(s) in ${x.runtimeDir}/sandboxes`);
  const containers = entries(join(x.runtimeDir, "containers"));
  if (containers.length) left.push(`${containers.length} container dir(s) in ${x.runtimeDir}/containers`);
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(x.runtimeDir) || l.includes(x.workDir));
  if (mounts.length) left.push(`${mounts.length} mount(s) under the runtime or work dir`);
  const shims = shimPids(x.runtimeDir);
  if (shims.length) left.push(`${shims.length} shim process(es)`);
  const pauses = pausePids(x.runtimeDir);
  if (pauses.length) left.push(`${pauses.length} pause process(es)`);
  const cgs = podCgroups(x.kubepods);
  if (cgs.length) left.push(`${cgs.length} pod cgroup dir(s) (e.g. ${cgs[0]})`);
  const leases = entries(x.leaseDir).filter((e) => /^\d+\.\d+\.\d+\.\d+$/.test(e));
  if (leases.length) left.push(`${leases.length} IP lease(s) in ${x.leaseDir}`);
  try {
    const veths = execFileSync("ip", ["-o", "link", "show", "master", x.bridge], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    if (veths) left.push(`${veths.split("\n").length} veth(s) on ${x.bridge}`);
  } catch {
    // no such bridge: no veths either
  }
  return left;
}
