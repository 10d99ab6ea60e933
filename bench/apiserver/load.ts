// Book 11.2 and 12.8: load shapes for the API server benchmark — closed-loop clients, an open-loop
// steady rate (latency measured from each request's planned start, so a stall is not hidden),
// percentiles, and the CPU the server processes used meanwhile.
import { readdirSync, readFileSync } from "node:fs";
import { Agent, request } from "undici";

/** Epoch milliseconds with sub-millisecond precision, comparable between threads (see watchers.mjs). */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** What each watchers.mjs worker is given. */
export interface WatcherConfig {
  url: string;
  tls: { ca: string; cert: string; key: string };
  path: string;
  count: number;
}

export interface Client {
  url: string;
  agent: Agent;
}

export interface Answer {
  status: number;
  text: string;
}

export async function call(c: Client, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await request(c.url + path, {
    method: method as never,
    dispatcher: c.agent,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  return { status: r.statusCode, text: await r.body.text() };
}

/** Throws unless the answer has the expected status. */
export function expectOk(a: Answer, want: number | number[], what: string): Answer {
  const ok = Array.isArray(want) ? want.includes(a.status) : a.status === want;
  if (!ok) throw new Error(`${what}: HTTP ${a.status}: ${a.text.slice(0, 300)}`);
  return a;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** CPU seconds used so far by the given processes (utime + stime from /proc; 0 where unreadable). */
export function cpuSeconds(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      // the process is gone or /proc is not there
    }
  }
  return total;
}

/** Pids of processes whose command line contains every one of `parts` (to read their CPU time). */
export function pidsWith(...parts: string[]): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ");
      if (parts.every((p) => cmd.includes(p))) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export interface LoadResult {
  ops: number;
  seconds: number;
  opsPerSec: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  firstError?: string;
  /** Cores used on average by the server processes (apiserver + storage) and by this process. */
  serverCpu: number;
  clientCpu: number;
}

function result(lat: number[], seconds: number, errors: number, firstError: string | undefined, server0: number, client0: NodeJS.CpuUsage, pids: number[]): LoadResult {
  lat.sort((a, b) => a - b);
  const cpu = process.cpuUsage(client0);
  return {
    ops: lat.length,
    seconds,
    opsPerSec: lat.length / seconds,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: lat[lat.length - 1] ?? NaN,
    errors,
    firstError,
    serverCpu: (cpuSeconds(pids) - server0) / seconds,
    clientCpu: (cpu.user + cpu.system) / 1e6 / seconds,
  };
}

/** `clients` workers share `total` operations, each running them back to back; latencies in ms. */
export async function closedLoop(clients: number, total: number, op: (i: number) => Promise<void>, pids: number[]): Promise<LoadResult> {
  const lat: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const server0 = cpuSeconds(pids);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const s = performance.now();
      try {
        await op(i);
        lat.push(performance.now() - s);
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  return result(lat, (performance.now() - t0) / 1000, errors, firstError, server0, client0, pids);
}

/**
 * Open loop: operation i is due at start + i/rate, whatever happened before; its latency runs from
 * that planned time to its answer, so a server stall shows up in the percentiles.
 */
export async function steadyRate(rate: number, seconds: number, op: (i: number) => Promise<void>, pids: number[]): Promise<LoadResult & { lateStarts: number }> {
  const lat: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let lateStarts = 0;
  const total = Math.round(rate * seconds);
  const server0 = cpuSeconds(pids);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; ) {
    const now = performance.now();
    while (i < total && t0 + (i * 1000) / rate <= now) {
      const planned = t0 + (i * 1000) / rate;
      if (now - planned > 10) lateStarts++;
      const k = i;
      pending.push(
        op(k).then(
          () => void lat.push(performance.now() - planned),
          (e: Error) => {
            errors++;
            firstError ??= e.message;
          },
        ),
      );
      i++;
    }
    const wait = t0 + (i * 1000) / rate - performance.now();
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(wait, 5))));
  }
  await Promise.all(pending);
  return { ...result(lat, (performance.now() - t0) / 1000, errors, firstError, server0, client0, pids), lateStarts };
}
