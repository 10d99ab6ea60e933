// Book 1.6: the processes of a corekube cluster. `corekube up` starts each component as its own
// child process (so `ps` shows a real control plane), records its pid and log in the state dir,
// and `corekube down` stops them.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";

export const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

export interface Component {
  name: string;
  args: string[];
  /** An HTTP(S) URL answering 200 when the component is ready (none: alive after 2 s is ready). */
  health?: string;
  /** For https health URLs: the CA file to trust (it may appear only once the component runs). */
  healthCa?: string;
}

export function defaultStateDir(): string {
  return process.env.COREKUBE_STATE_DIR ?? (process.getuid?.() === 0 ? "/var/lib/corekube" : join(process.env.HOME ?? ".", ".corekube"));
}

const pidFile = (stateDir: string, name: string) => join(stateDir, "run", `${name}.pid`);
export const logFile = (stateDir: string, name: string) => join(stateDir, "logs", `${name}.log`);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readPid(stateDir: string, name: string): number | undefined {
  const f = pidFile(stateDir, name);
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Starts a component detached from this terminal, its output appended to its log file. */
export function startComponent(stateDir: string, c: Component): number {
  mkdirSync(join(stateDir, "run"), { recursive: true });
  mkdirSync(join(stateDir, "logs"), { recursive: true });
  const out = openSync(logFile(stateDir, c.name), "a");
  const child = spawn(process.execPath, [...process.execArgv, MAIN, ...c.args], { detached: true, stdio: ["ignore", out, out] });
  closeSync(out);
  child.unref();
  writeFileSync(pidFile(stateDir, c.name), `${child.pid}\n`);
  return child.pid!;
}

export async function waitHealthy(url: string | undefined, pid: number, timeoutMs: number, caFile?: string): Promise<void> {
  if (url === undefined) {
    await new Promise((r) => setTimeout(r, 2000));
    if (!isAlive(pid)) throw new Error("the process exited");
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) throw new Error("the process exited");
    try {
      if (caFile) {
        if (existsSync(caFile)) {
          const agent = new Agent({ connect: { ca: readFileSync(caFile, "utf8") } });
          try {
            const res = await request(url, { dispatcher: agent, headersTimeout: 2_000, bodyTimeout: 2_000 });
            await res.body.text();
            if (res.statusCode === 200) return;
          } finally {
            await agent.close();
          }
        }
      } else {
        const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        const body = await res.text();
        if (res.ok && !body.includes('"false"')) return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not healthy after ${timeoutMs / 1000}s (${url})`);
}

/** SIGTERM, then SIGKILL after the grace period. Safe to call when nothing runs. */
export async function stopComponent(stateDir: string, name: string, graceMs = 10_000): Promise<"stopped" | "not running"> {
  const pid = readPid(stateDir, name);
  rmSync(pidFile(stateDir, name), { force: true });
  if (pid === undefined || !isAlive(pid)) return "not running";
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  return "stopped";
}
