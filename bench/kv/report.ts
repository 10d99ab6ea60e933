// Book 12.8: printing benchmark figures — one line per measured point as it finishes, then a table
// comparing etcd and corekube point by point, with the ratio and the targets.
import type { LoadResult, WatchResult } from "./load.js";

export type Figure = LoadResult | WatchResult;

export interface Point {
  id: string;
  label: string;
}

const n0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "-");
const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "-");

export function isWatch(f: Figure): f is WatchResult {
  return "received" in f;
}

export function line(target: string, p: Point, f: Figure): string {
  if (isWatch(f)) {
    return `${target.padEnd(9)} ${p.label.padEnd(30)} put→event p50 ${ms(f.p50)} ms, p99 ${ms(f.p99)} ms; ` +
      `after the put's ack p50 ${ms(f.afterAckP50)} ms, p99 ${ms(f.afterAckP99)} ms; ${f.beforeAck}/${f.received} events before the ack (of ${f.events})`;
  }
  const err = f.errors ? `, ${f.errors} errors (first: ${f.firstError})` : "";
  return `${target.padEnd(9)} ${p.label.padEnd(30)} ${n0(f.opsPerSec).padStart(7)} ops/s  p50 ${ms(f.p50).padStart(7)} ms  p99 ${ms(f.p99).padStart(7)} ms  ` +
    `(client ${f.clientCpu.toFixed(2)}, server ${f.serverCpu.toFixed(2)} cores${err})`;
}

/** The headline number of a figure and whether bigger is better. */
function headline(f: Figure): { value: number; higherBetter: boolean } {
  return isWatch(f) ? { value: f.p99, higherBetter: false } : { value: f.opsPerSec, higherBetter: true };
}

export function ratio(etcd: Figure | undefined, ours: Figure | undefined): number {
  if (!etcd || !ours) return NaN;
  return headline(ours).value / headline(etcd).value;
}

export function comparison(points: Point[], etcd: Map<string, Figure>, ours: Map<string, Figure>, oursName: string): string {
  const head = ["point", "etcd ops/s", "p50 ms", "p99 ms", `${oursName} ops/s`, "p50 ms", "p99 ms", `${oursName}/etcd`];
  const rows = points.map((p) => {
    const e = etcd.get(p.id);
    const o = ours.get(p.id);
    const cells = (f: Figure | undefined) => (!f ? ["-", "-", "-"] : isWatch(f) ? ["(watch)", ms(f.p50), ms(f.p99)] : [n0(f.opsPerSec), ms(f.p50), ms(f.p99)]);
    const r = ratio(e, o);
    const rText = Number.isFinite(r) ? `${r.toFixed(2)}×${e && isWatch(e) ? " (p99)" : ""}` : "-";
    return [p.label, ...cells(e), ...cells(o), rText];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ");
  return [fmt(head), widths.map((w) => "-".repeat(w)).join("-+-"), ...rows.map(fmt)].join("\n");
}
