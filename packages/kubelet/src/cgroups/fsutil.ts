// Book 3.4.6-3.4.7: small helpers the cgroup drivers share for reading and writing cgroupfs files,
// walking a cgroup subtree and waiting for the kernel to catch up.
import { access, readdir, readFile, rmdir, statfs, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

const CGROUP2_MAGIC = 0x63677270;
const CGROUP1_MAGIC = 0x27e0eb;

export const errCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A file's text, or undefined when it does not exist. */
export async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    if (errCode(e) === "ENOENT") return undefined;
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Whether a file exists (for write-only interface files such as cgroup.kill, which cannot be read). */
export function fileExists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Writes one value to a cgroup interface file, turning the kernel's bare errno into a readable error. */
export async function writeValue(file: string, value: string | number): Promise<void> {
  try {
    await writeFile(file, String(value));
  } catch (e) {
    throw new Error(`cannot write ${JSON.stringify(String(value))} to ${file}: ${(e as Error).message}`);
  }
}

/** "key value" lines (cpu.stat, memory.stat, memory.events, memory.oom_control) as numbers. */
export function parseKeyed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? "").split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** A single-number file (memory.current, cpuacct.usage, pids.current); 0 when absent or "max". */
export async function readNumber(file: string): Promise<number> {
  const t = (await readText(file))?.trim();
  return t && /^\d+$/.test(t) ? Number(t) : 0;
}

/** The pids listed in a cgroup.procs file (empty when it is absent). */
export async function readPids(file: string): Promise<number[]> {
  const t = await readText(file);
  return (t ?? "")
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

/** A cgroup directory and all its descendants, parents before children (none when it does not exist). */
export async function subtree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string): Promise<void> => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (e) {
      if (errCode(e) === "ENOENT" || errCode(e) === "ENOTDIR") return;
      throw e;
    }
    out.push(d);
    for (const ent of entries) if (ent.isDirectory()) await visit(join(d, ent.name));
  };
  await visit(dir);
  return out;
}

/** Every pid in a cgroup and its descendants, sorted, no repeats. */
export async function subtreePids(dirs: readonly string[]): Promise<number[]> {
  const all = new Set<number>();
  for (const root of dirs) for (const d of await subtree(root)) for (const p of await readPids(join(d, "cgroup.procs"))) all.add(p);
  return [...all].sort((a, b) => a - b);
}

/** Sends SIGKILL, ignoring processes that are already gone. */
export function killPid(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch (e) {
    if (errCode(e) !== "ESRCH") throw new Error(`cannot kill pid ${pid}: ${(e as Error).message}`);
  }
}

/** Polls `done` every few milliseconds until it holds; throws `what` after `timeoutMs`. */
export async function waitFor(done: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    if (await done()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(delay);
  }
}

async function onCgroupFs(dir: string): Promise<boolean> {
  const { type } = await statfs(dir);
  return type === CGROUP2_MAGIC || type === CGROUP1_MAGIC;
}

/**
 * rmdir of a cgroup subtree, children first; a missing directory is fine. A cgroup that is briefly
 * busy (tasks still exiting) is retried. Outside cgroupfs (a plain directory standing in for it in
 * tests) the plain files are unlinked first, since only cgroupfs lets rmdir remove interface files.
 */
export async function removeSubtree(dir: string, timeoutMs = 10_000): Promise<void> {
  const dirs = (await subtree(dir)).reverse();
  for (const d of dirs) {
    await waitFor(
      async () => {
        try {
          await rmdir(d);
          return true;
        } catch (e) {
          const code = errCode(e);
          if (code === "ENOENT") return true;
          if (code === "ENOTEMPTY" && !(await onCgroupFs(d))) {
            for (const ent of await readdir(d, { withFileTypes: true })) if (!ent.isDirectory()) await unlink(join(d, ent.name));
            return false;
          }
          if (code === "EBUSY") return false;
          throw new Error(`cannot remove cgroup ${d}: ${(e as Error).message}`);
        }
      },
      `cgroup ${d} to become removable`,
      timeoutMs,
    );
  }
}

export function assertPid(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`pid must be a positive integer, got ${pid}`);
}
