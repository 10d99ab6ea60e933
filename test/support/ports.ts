// Test support: the plumbing every process-starting helper shares — free loopback ports, a
// /health probe, and stopping a child process (SIGTERM, then SIGKILL after a grace period).
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/** A port the kernel says is free right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** `n` distinct free ports drawn at random from [lo, hi] (so parallel test files rarely collide). */
export async function pickPorts(n: number, [lo, hi]: [number, number], avoid: number[] = []): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < 500 && out.length < n; i++) {
    const p = lo + Math.floor(Math.random() * (hi - lo + 1));
    if (!out.includes(p) && !avoid.includes(p) && (await portFree(p))) out.push(p);
  }
  if (out.length < n) throw new Error(`no ${n} free ports in ${lo}-${hi}`);
  return out;
}

/** True when an etcd-style /health answers {"health":"true"} (etcd and corekube kv alike). */
export async function healthy(url: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    return r.ok && ((await r.json()) as { health?: string }).health === "true";
  } catch {
    return false;
  }
}

export function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once("exit", () => r()));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(p: ChildProcess, graceMs = 5_000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill("SIGTERM");
  const t = setTimeout(() => p.kill("SIGKILL"), graceMs);
  await exited(p);
  clearTimeout(t);
}
