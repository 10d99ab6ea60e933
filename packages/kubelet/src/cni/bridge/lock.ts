// Book 5.4: a cross-process file lock for CNI plugins. Several plugin processes run ADD at once on a node,
// so shared state (IPAM leases, the bridge, iptables chains) is changed only while holding this lock.
import { open, readFile, rm, stat } from "node:fs/promises";
import { CniError, CniErrorCode } from "../spec.js";

const STALE_MS = 30_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Breaks a lock whose holder is gone (dead pid) or that is older than any ADD could take. */
async function breakIfStale(path: string): Promise<void> {
  try {
    const [text, st] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    const pid = Number.parseInt(text, 10);
    const dead = Number.isInteger(pid) && pid > 0 && !alive(pid);
    if (dead || Date.now() - st.mtimeMs > STALE_MS) await rm(path, { force: true });
  } catch {
    // vanished meanwhile, or half-written by a holder that is starting: just retry
  }
}

/**
 * Runs fn while holding an exclusive lock file at `path` (created with O_EXCL, holding our pid).
 * Waits up to timeoutMs, then fails with CNI code 11 (try again later).
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let attempt = 0;
  for (;;) {
    try {
      const fh = await open(path, "wx", 0o600);
      try {
        await fh.writeFile(String(process.pid));
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new CniError(CniErrorCode.IoFailure, `cannot create lock ${path}: ${(e as Error).message}`);
      }
    }
    if (Date.now() > deadline) throw new CniError(CniErrorCode.TryAgainLater, `timed out waiting for lock ${path}`);
    if (++attempt % 20 === 0) await breakIfStale(path);
    await new Promise((r) => setTimeout(r, 2 + Math.floor(Math.random() * 4)));
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}
