// Book 7.3 and 9.3: fsGroup volume ownership: with pod.spec.securityContext.fsGroup set, the kubelet
// gives a volume's files to that group (readable, or read-write for emptyDir) and sets the setgid bit on
// its directories, so files the containers create later land in the group too.
import { chmod, lchown, lstat, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Pod } from "@corekube/api";
import { VolumeError } from "./types.js";

export type FSGroupChangePolicy = "Always" | "OnRootMismatch";

export interface VolumeOwnership {
  /** The pod's fsGroup. */
  gid: number;
  /** Always: walk the whole volume each time; OnRootMismatch: only when the volume's root is off. */
  policy: FSGroupChangePolicy;
}

/** Group bits every entry gets: read for read-only volumes, read and write for writable ones. */
const READ_ONLY_BITS = 0o440;
const READ_WRITE_BITS = 0o660;
/** Directories also get group search and setgid (new entries inherit the directory's group). */
const DIR_BITS = 0o110 | 0o2000;
const MAX_GID = 0xfffffffe; // (uint32)-1 means "unchanged" to chown(2)

const wantBits = (readOnly: boolean, dir: boolean) => (readOnly ? READ_ONLY_BITS : READ_WRITE_BITS) | (dir ? DIR_BITS : 0);

/** The file mode a payload file gets in a read-only volume owned by fsGroup (group-readable added). */
export const fsGroupFileMode = (mode: number): number => mode | READ_ONLY_BITS;

/** The pod's fsGroup and change policy, or undefined when it sets no fsGroup; a bad value is a FailedMount. */
export function podVolumeOwnership(pod: Pod): VolumeOwnership | undefined {
  const psc = (pod.spec as { securityContext?: { fsGroup?: unknown; fsGroupChangePolicy?: unknown } } | undefined)?.securityContext;
  if (!psc || typeof psc !== "object" || psc.fsGroup === undefined || psc.fsGroup === null) return undefined;
  const gid = psc.fsGroup;
  if (typeof gid !== "number" || !Number.isInteger(gid) || gid < 0 || gid > MAX_GID) {
    throw new VolumeError("FailedMount", `invalid securityContext.fsGroup ${JSON.stringify(gid)}: want a group ID from 0 to ${MAX_GID}`);
  }
  const policy = psc.fsGroupChangePolicy ?? "Always";
  if (policy !== "Always" && policy !== "OnRootMismatch") {
    throw new VolumeError("FailedMount", `invalid securityContext.fsGroupChangePolicy ${JSON.stringify(policy)}: want "Always" or "OnRootMismatch"`);
  }
  return { gid, policy };
}

/** Whether the volume's root already looks done: a directory of the group, with the group bits and setgid. */
export async function rootOwnershipMatches(root: string, gid: number, readOnly: boolean): Promise<boolean> {
  try {
    const st = await stat(root);
    const want = wantBits(readOnly, true);
    return st.isDirectory() && st.gid === gid && (st.mode & want) === want;
  } catch {
    return false;
  }
}

const gone = (e: unknown) => (e as NodeJS.ErrnoException).code === "ENOENT";

/**
 * Walks `root` (without following symlinks): every entry goes to group `gid`; files and directories
 * get the group bits added (never taken away), directories also setgid. Symlinks change group only.
 * Entries that vanish during the walk (a container deleting files) are skipped.
 */
export async function changeOwnership(root: string, gid: number, readOnly: boolean): Promise<void> {
  const visit = async (path: string): Promise<void> => {
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(path);
      if (st.gid !== gid) await lchown(path, -1, gid);
      if (st.isSymbolicLink()) return;
      const want = wantBits(readOnly, st.isDirectory());
      // After the chown: chown(2) keeps a directory's setgid bit, and this one is added only here.
      if ((st.mode & want) !== want) await chmod(path, (st.mode & 0o7777) | want);
    } catch (e) {
      if (gone(e)) return;
      throw e;
    }
    if (!st.isDirectory()) return;
    let names: string[];
    try {
      names = await readdir(path);
    } catch (e) {
      if (gone(e)) return;
      throw e;
    }
    for (const n of names) await visit(join(path, n));
  };
  await visit(root);
}

/**
 * Applies the pod's fsGroup to a volume directory as its policy says; resolves true when it walked,
 * false when OnRootMismatch found the root already right.
 */
export async function setVolumeOwnership(root: string, o: VolumeOwnership, readOnly: boolean): Promise<boolean> {
  if (o.policy === "OnRootMismatch" && (await rootOwnershipMatches(root, o.gid, readOnly))) return false;
  await changeOwnership(root, o.gid, readOnly);
  return true;
}
