// Book 12.8: the storage anchors' load method on EtcdClient (an undici Pool per endpoint): closed-loop
// clients for puts and linearizable gets with 1 KiB values, and put→event watch latency.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { EtcdClient, prefixEnd } from "../../packages/kv/src/client/index.js";

export interface LoadResult {
  clients: number;
  seconds: number;
  ops: number;
  opsPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  firstError?: string;
  /** CPU cores used on average: this process, and the server processes given. */
  clientCpu: number;
  serverCpu: number;
}

export interface WatchResult {
  events: number;
  received: number;
  p50: number;
  p99: number;
  /** From the put's response to the event (negative: the event came first). */
  afterAckP50: number;
  afterAckP99: number;
  beforeAck: number;
}

/** 1 KiB of random bytes, as a latin1 string (base64 on the wire: 1,368 bytes). */
export const VALUE_1K = randomBytes(1024).toString("latin1");

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** CPU seconds used so far by the given processes (utime + stime from /proc; 0 where unreadable). */
function cpuSeconds(pids: number[]): number {
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

/** `clients` workers each run `op` back to back for `seconds`; latencies in ms. */
export async function closedLoop(clients: number, seconds: number, op: (worker: number, i: number) => Promise<unknown>, serverPids: number[] = []): Promise<LoadResult> {
  const lat: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const deadline = performance.now() + seconds * 1000;
  const cpu0 = process.cpuUsage();
  const s0 = cpuSeconds(serverPids);
  const t0 = performance.now();
  const worker = async (w: number) => {
    for (let i = 0; performance.now() < deadline; i++) {
      const s = performance.now();
      try {
        await op(w, i);
        lat.push(performance.now() - s);
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, w) => worker(w)));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  return {
    clients, seconds: elapsed, ops: lat.length, opsPerSec: lat.length / elapsed,
    p50: percentile(lat, 50), p99: percentile(lat, 99), errors, firstError,
    clientCpu: (cpu.user + cpu.system) / 1e6 / elapsed, serverCpu: (cpuSeconds(serverPids) - s0) / elapsed,
  };
}

/** Puts of 1 KiB values to /bench/put/<worker>/<i mod 1000>. */
export function putLoad(c: EtcdClient, clients: number, seconds: number, pids: number[] = []): Promise<LoadResult> {
  return closedLoop(clients, seconds, (w, i) => c.put({ key: `/bench/put/${w}/${i % 1000}`, value: VALUE_1K }), pids);
}

/** Writes the 1,000 keys that getLoad reads. */
export async function preload(c: EtcdClient, n = 1000): Promise<void> {
  for (let i = 0; i < n; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => c.put({ key: `/bench/get/${i + j}`, value: VALUE_1K })));
  }
}

/** Linearizable gets of a pseudo-random preloaded key. */
export function getLoad(c: EtcdClient, clients: number, seconds: number, pids: number[] = [], n = 1000): Promise<LoadResult> {
  return closedLoop(clients, seconds, async (w, i) => {
    const r = await c.range({ key: `/bench/get/${(w * 7919 + i * 104729) % n}` });
    if (r.kvs.length !== 1) throw new Error("missing key");
  }, pids);
}

/** `n` sequential puts under a fresh prefix with a watch on it: put start → event, and put ack → event. */
export async function watchLatency(c: EtcdClient, n = 500): Promise<WatchResult> {
  const prefix = `/bench/watch/${Date.now()}/`;
  const start: number[] = [];
  const acked: number[] = [];
  const recv = new Map<number, number>();
  const w = c.watch({ key: prefix, rangeEnd: prefixEnd(prefix) });
  await w.created;
  let wake: (() => void) | undefined;
  const reader = (async () => {
    for await (const r of w) {
      const now = performance.now();
      for (const ev of r.events) {
        const idx = Number(ev.kv.key.slice(prefix.length));
        if (!recv.has(idx)) recv.set(idx, now);
      }
      if (recv.size >= n) break;
      wake?.();
    }
  })();
  for (let i = 0; i < n; i++) {
    start[i] = performance.now();
    await c.put({ key: prefix + i, value: VALUE_1K });
    acked[i] = performance.now();
  }
  const deadline = Date.now() + 5000;
  while (recv.size < n && Date.now() < deadline) await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
  w.cancel();
  await reader;
  const fromStart: number[] = [];
  const fromAck: number[] = [];
  for (const [i, t] of recv) {
    fromStart.push(t - start[i]!);
    fromAck.push(t - acked[i]!);
  }
  fromStart.sort((a, b) => a - b);
  fromAck.sort((a, b) => a - b);
  return {
    events: n, received: recv.size, p50: percentile(fromStart, 50), p99: percentile(fromStart, 99),
    afterAckP50: percentile(fromAck, 50), afterAckP99: percentile(fromAck, 99), beforeAck: fromAck.filter((x) => x < 0).length,
  };
}
