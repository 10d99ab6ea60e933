// Book 7.2 and 8.2: how the volume manager mounts tmpfs for memory-backed volumes and finds what is
// mounted under a pod's directory after a restart: /proc/self/mountinfo, mount(8) and umount(8).
import { runCommand } from "../runtime/spawner.js";
import { readFile } from "node:fs/promises";

export interface MountInfo {
  mountPoint: string;
  fsType: string;
  source: string;
  /** Per-superblock options, e.g. "rw,size=8192k". */
  superOptions: string;
}

/** The mount operations the manager needs; a fake stands in for it in unit tests. */
export interface Mounter {
  /** Everything mounted in this process's mount namespace. */
  list(): Promise<MountInfo[]>;
  /** Mounts a fresh tmpfs on `dir`, limited to `sizeBytes` when given. */
  mountTmpfs(dir: string, sizeBytes?: bigint): Promise<void>;
  unmount(dir: string): Promise<void>;
}

/** Undoes mountinfo's octal escapes (\040 for a space, \011, \012, \134). */
export function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/** Parses /proc/<pid>/mountinfo text (see proc(5)). Lines it cannot read are skipped. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (dash < 6 || fields.length < dash + 3) continue;
    out.push({
      mountPoint: unescapeMountPath(fields[4]!),
      fsType: fields[dash + 1]!,
      source: unescapeMountPath(fields[dash + 2]!),
      superOptions: fields[dash + 3] ?? "",
    });
  }
  return out;
}

async function run(bin: string, args: string[]): Promise<void> {
  await runCommand(bin, args);
}

export interface SystemMounterOptions {
  mountBin?: string;
  umountBin?: string;
  mountInfoPath?: string;
}

/** The real thing: mount(8)/umount(8) from PATH and /proc/self/mountinfo. Needs root. */
export class SystemMounter implements Mounter {
  private readonly mountBin: string;
  private readonly umountBin: string;
  private readonly mountInfoPath: string;

  constructor(o: SystemMounterOptions = {}) {
    this.mountBin = o.mountBin ?? "mount";
    this.umountBin = o.umountBin ?? "umount";
    this.mountInfoPath = o.mountInfoPath ?? "/proc/self/mountinfo";
  }

  async list(): Promise<MountInfo[]> {
    return parseMountInfo(await readFile(this.mountInfoPath, "utf8"));
  }

  mountTmpfs(dir: string, sizeBytes?: bigint): Promise<void> {
    const opts = ["nosuid", "nodev", ...(sizeBytes !== undefined && sizeBytes > 0n ? [`size=${sizeBytes}`] : [])];
    return run(this.mountBin, ["-t", "tmpfs", "-o", opts.join(","), "tmpfs", dir]);
  }

  unmount(dir: string): Promise<void> {
    return run(this.umountBin, [dir]);
  }
}

/** Mount points at or below `dir` (an already resolved path), deepest first, one entry per stacked mount. */
export function mountsUnder(mounts: MountInfo[], dir: string): MountInfo[] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return mounts
    .map((m, i) => ({ m, i }))
    .filter(({ m }) => m.mountPoint === dir || m.mountPoint.startsWith(prefix))
    .sort((a, b) => b.m.mountPoint.length - a.m.mountPoint.length || b.i - a.i)
    .map(({ m }) => m);
}
