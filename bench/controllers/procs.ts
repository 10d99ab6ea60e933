// Book 11.3: helpers for the controller-manager benchmark: start a `corekube <command>` process and
// keep its log tail, and watch a process's memory (VmRSS sampled, VmHWM read) from /proc.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { CLI } from "../../test/support/kv-process.js";
import { stopProcess } from "../../test/support/ports.js";

export interface Component {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** The last few hundred lines it wrote (stdout and stderr together). */
  log(): string;
  /** Resolves when a line containing `text` has been written (rejects if the process exits first or on timeout). */
  waitFor(text: string, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** Spawns `node --import tsx packages/cli/src/main.ts <args>` as the scheduler benchmark does. */
export function startComponent(name: string, args: string[]): Component {
  const out: string[] = [];
  const proc = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const listeners = new Set<() => void>();
  const keep = (b: Buffer) => {
    out.push(b.toString());
    if (out.length > 400) out.splice(0, 200);
    for (const l of listeners) l();
  };
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
  const log = () => out.join("");
  return {
    name,
    proc,
    pid: proc.pid ?? 0,
    log,
    waitFor(text, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const done = (err?: Error) => {
          listeners.delete(check);
          proc.removeListener("exit", onExit);
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        };
        const check = () => {
          if (log().includes(text)) done();
        };
        const onExit = (code: number | null) => done(new Error(`${name} exited (${code}) before "${text}":\n${log()}`));
        const timer = setTimeout(() => done(new Error(`${name}: no "${text}" after ${timeoutMs} ms:\n${log()}`)), timeoutMs);
        listeners.add(check);
        proc.once("exit", onExit);
        if (proc.exitCode !== null) onExit(proc.exitCode);
        else check();
      });
    },
    stop: () => stopProcess(proc, 15_000),
  };
}

/** One field of /proc/<pid>/status in KiB (VmRSS, VmHWM, ...); 0 when the process is gone. */
export function statusKiB(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Samples a process's VmRSS every `everyMs` and keeps the highest value seen. */
export class RssSampler {
  peakKiB = 0;
  private timer: NodeJS.Timeout;
  constructor(
    private readonly pid: number,
    everyMs = 200,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }
  private sample(): void {
    this.peakKiB = Math.max(this.peakKiB, statusKiB(this.pid, "VmRSS"));
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peakKiB;
  }
}

export const mib = (kib: number): string => `${(kib / 1024).toFixed(0)} MiB`;
