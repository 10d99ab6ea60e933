// Book 7.3: the atomic writer behind configMap, secret, downwardAPI and projected volumes: each new
// version is written to a fresh timestamped directory, then a `..data` symlink is swapped to it with one
// rename(2), so a reader sees either the whole old version or the whole new one, never a mix.
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, stat, symlink, unlink, writeFile, chmod } from "node:fs/promises";
import { join } from "node:path";

export const DATA_DIR = "..data";
export const DATA_DIR_TMP = "..data_tmp";

/** One file of a payload: its bytes and permission bits. */
export interface FileProjection {
  data: Buffer;
  mode: number;
}

export type Payload = Map<string, FileProjection>;

const MAX_PATH = 4096;
const MAX_SEGMENT = 255;

/** Why a payload path is unusable, or undefined when it is fine (relative, no `..` element, not starting with `..`). */
export function payloadPathProblem(p: string): string | undefined {
  if (p === "") return "must not be empty";
  if (p.length > MAX_PATH) return `must be at most ${MAX_PATH} characters`;
  if (p.startsWith("/")) return "must be a relative path";
  if (p.startsWith("..")) return "must not start with '..'";
  const parts = p.split("/");
  if (parts.includes("..")) return "must not contain '..'";
  if (parts.some((s) => s.length > MAX_SEGMENT)) return `must not have a path element longer than ${MAX_SEGMENT} characters`;
  return undefined;
}

/** Normalizes a payload path ("a//b/./c" → "a/b/c") after checking it; throws on a bad one. */
export function cleanPayloadPath(p: string): string {
  const problem = payloadPathProblem(p);
  if (problem) throw new Error(`invalid path ${JSON.stringify(p)}: ${problem}`);
  const clean = p.split("/").filter((s) => s !== "" && s !== ".").join("/");
  if (clean === "") throw new Error(`invalid path ${JSON.stringify(p)}: names no file`);
  return clean;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** The timestamped directory prefix upstream uses: `..2026_05_01_09_30_00.` (UTC). */
export function timestampPrefix(d: Date): string {
  return `..${d.getUTCFullYear()}_${pad(d.getUTCMonth() + 1)}_${pad(d.getUTCDate())}_${pad(d.getUTCHours())}_${pad(d.getUTCMinutes())}_${pad(d.getUTCSeconds())}.`;
}

const TS_DIR = /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\./;

const errCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

async function lstatOrUndefined(p: string) {
  try {
    return await lstat(p);
  } catch (e) {
    if (errCode(e) === "ENOENT") return undefined;
    throw e;
  }
}

/** Every regular file below `dir`, as relative paths. */
async function walkFiles(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await readdir(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${ent.name}` : ent.name;
    if (ent.isDirectory()) out.push(...(await walkFiles(dir, r)));
    else out.push(r);
  }
  return out;
}

const topLevel = (paths: Iterable<string>): Set<string> => new Set([...paths].map((p) => p.split("/")[0]!));

export interface WriteHooks {
  /** Called after the new version is complete on disk and before `..data` is swapped to it (tests use it). */
  beforeSwap?: (newDir: string) => void | Promise<void>;
}

/**
 * Writes payloads into one volume directory. Layout after a write:
 *   ..2026_05_01_09_30_00.Ab12Cd/   the current version's files (mode 0755 directory)
 *   ..data -> ..2026_05_01_09_30_00.Ab12Cd
 *   <name> -> ..data/<name>          one symlink per top-level name of the payload
 */
export class AtomicWriter {
  constructor(
    readonly dir: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Writes `payload` unless the current version already matches it; resolves true when it wrote. */
  async write(payload: Payload, hooks: WriteHooks = {}): Promise<boolean> {
    const files = new Map<string, FileProjection>();
    for (const [p, f] of payload) files.set(cleanPayloadPath(p), f);
    for (const p of files.keys()) {
      const parts = p.split("/");
      for (let i = 1; i < parts.length; i++) {
        const prefix = parts.slice(0, i).join("/");
        if (files.has(prefix)) throw new Error(`invalid payload: ${JSON.stringify(prefix)} is both a file and a directory`);
      }
    }

    await mkdir(this.dir, { recursive: true });
    const dataLink = join(this.dir, DATA_DIR);
    let oldName: string | undefined;
    try {
      oldName = await readlink(dataLink);
    } catch (e) {
      if (errCode(e) !== "ENOENT" && errCode(e) !== "EINVAL") throw e;
    }
    const oldDir = oldName ? join(this.dir, oldName) : undefined;
    const oldFiles = oldDir ? await walkFiles(oldDir).catch(() => undefined) : undefined;

    if (oldDir && oldFiles && (await this.unchanged(oldDir, oldFiles, files))) return false;

    // The new version, complete before anyone can see it.
    const newDir = await mkdtemp(join(this.dir, timestampPrefix(this.now())));
    await chmod(newDir, 0o755);
    const newName = newDir.slice(this.dir.length + 1);
    for (const [p, f] of files) {
      const target = join(newDir, p);
      const parent = p.includes("/") ? join(newDir, p.slice(0, p.lastIndexOf("/"))) : newDir;
      await mkdir(parent, { recursive: true, mode: 0o755 });
      await writeFile(target, f.data, { mode: f.mode & 0o7777 });
      await chmod(target, f.mode & 0o7777); // the umask must not change the mode asked for
    }
    await hooks.beforeSwap?.(newDir);

    // The swap: a temporary link renamed over ..data, atomic for readers.
    const tmpLink = join(this.dir, DATA_DIR_TMP);
    await rm(tmpLink, { force: true });
    await symlink(newName, tmpLink);
    await rename(tmpLink, dataLink);

    // User-visible names: one link per top-level name, pointing through ..data.
    const names = topLevel(files.keys());
    for (const name of names) {
      const link = join(this.dir, name);
      const want = `${DATA_DIR}/${name}`;
      const st = await lstatOrUndefined(link);
      if (st?.isSymbolicLink() && (await readlink(link)) === want) continue;
      if (st) await rm(link, { recursive: true, force: true });
      await symlink(want, link);
    }
    for (const name of topLevel(oldFiles ?? [])) {
      if (names.has(name)) continue;
      const st = await lstatOrUndefined(join(this.dir, name));
      if (st?.isSymbolicLink()) await unlink(join(this.dir, name));
    }

    // The old version and any left behind by an interrupted write.
    for (const ent of await readdir(this.dir)) {
      if (ent !== newName && TS_DIR.test(ent)) await rm(join(this.dir, ent), { recursive: true, force: true });
    }
    return true;
  }

  private async unchanged(oldDir: string, oldFiles: string[], files: Map<string, FileProjection>): Promise<boolean> {
    if (oldFiles.length !== files.size) return false;
    for (const [p, f] of files) {
      try {
        const st = await stat(join(oldDir, p));
        if (!st.isFile() || (st.mode & 0o7777) !== (f.mode & 0o7777) || st.size !== f.data.length) return false;
        if (!(await readFile(join(oldDir, p))).equals(f.data)) return false;
      } catch {
        return false;
      }
    }
    for (const name of topLevel(files.keys())) {
      const st = await lstatOrUndefined(join(this.dir, name));
      if (!st?.isSymbolicLink()) return false;
      if ((await readlink(join(this.dir, name))) !== `${DATA_DIR}/${name}`) return false;
    }
    return true;
  }
}
