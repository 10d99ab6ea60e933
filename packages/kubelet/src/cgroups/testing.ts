// Book 3.4.6-3.4.7: helpers for the cgroup tests: real child processes placed in a cgroup before they
// do any work (they wait on stdin), and unique test cgroup names that cannot clash with a real kubelet.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { CgroupDriver } from "./driver.js";
import { waitFor } from "./fsutil.js";

export interface TestChild {
  pid: number;
  child: ChildProcess;
  /** Resolves when the process ends, with its exit code or the signal that killed it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
}

/** A name such as kubepods-test-1a2b3c4d for a test's own kubepods tree. */
export const testCgroupName = (): string => `kubepods-test-${randomBytes(4).toString("hex")}`;

function start(script: string): TestChild {
  const child = spawn("/bin/sh", ["-c", script], { stdio: ["pipe", "pipe", "ignore"] });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  if (child.pid === undefined) throw new Error("could not start /bin/sh");
  return { pid: child.pid, child, exited, stdout: () => out };
}

/** Starts `script` after the shell has been moved into `path` (the shell waits for a line on stdin). */
export async function startInCgroup(driver: CgroupDriver, path: string, script: string): Promise<TestChild> {
  const t = start(`read go; ${script}`);
  try {
    await driver.addProcess(path, t.pid);
  } catch (e) {
    t.child.kill("SIGKILL");
    throw e;
  }
  t.child.stdin?.end("go\n");
  return t;
}

/** A `sleep 300` inside the cgroup; returns once the exec has happened (its memory is charged there). */
export async function startSleeper(driver: CgroupDriver, path: string): Promise<TestChild> {
  const t = await startInCgroup(driver, path, "exec sleep 300");
  await waitFor(async () => (await readFile(`/proc/${t.pid}/comm`, "utf8").catch(() => "")).trim() === "sleep", "the child to exec sleep");
  return t;
}

/** A shell that tries to hold `mib` MiB in a variable and prints "survived" if it managed to. */
export function startMemoryHog(driver: CgroupDriver, path: string, mib: number): Promise<TestChild> {
  return startInCgroup(driver, path, `x=$(head -c ${mib}m /dev/zero | tr "\\0" a); echo survived \${#x}`);
}
