// Book 12.10: how etcdctl writes things, so kvctl's output reads the same: ids in hex, sizes like
// "25 kB", Go durations like "1.5ms", and ASCII tables with centered headers.
import type { Id } from "../types.js";
import { UsageError } from "./args.js";

/** Decimal uint64 id → hex, as etcdctl prints member ids (%x). */
export function hexId(id: Id): string {
  return BigInt(id).toString(16);
}

/** Lease ids: %016x. */
export function leaseHex(id: Id): string {
  return hexId(id).padStart(16, "0");
}

/** Hex (as etcdctl prints and accepts ids, optional 0x) → decimal uint64 string. */
export function parseHexId(s: string, what: string): Id {
  const t = s.trim().replace(/^0x/i, "");
  if (!/^[0-9a-f]{1,16}$/i.test(t)) throw new UsageError(`${what} id "${s}" is not a hex number`);
  return BigInt(`0x${t}`).toString();
}

/** go-humanize's Bytes: SI units, e.g. 24576 → "25 kB". */
export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${val < 10 ? val.toFixed(1) : val.toFixed(0)} ${units[e]}`;
}

/** Go's time.Duration String() for a span in milliseconds, e.g. "1.509144ms", "2s". */
export function goDuration(ms: number): string {
  const ns = Math.round(ms * 1e6);
  const trim = (v: number, digits: number) => v.toFixed(digits).replace(/\.?0+$/, "");
  if (ns < 1000) return `${ns}ns`;
  if (ns < 1e6) return `${trim(ns / 1e3, 3)}µs`;
  if (ns < 1e9) return `${trim(ns / 1e6, 6)}ms`;
  return `${trim(ns / 1e9, 9)}s`;
}

/** Go duration flag values ("5s", "500ms", "1m30s"); a bare number means seconds. */
export function parseDuration(s: string, flag: string): number {
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = s;
  while (rest !== "") {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) throw new UsageError(`invalid argument "${s}" for "--${flag}" flag: not a duration (e.g. 5s, 500ms)`);
    total += Number(m[1]) * unit[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** etcdctl's --hex: every byte as \xNN. */
export function hexBytes(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += `\\x${s.charCodeAt(i).toString(16).padStart(2, "0")}`;
  return out;
}

/** An ASCII table like etcdctl's (tablewriter): centered headers, right-aligned cells. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = "+" + widths.map((w) => "-".repeat(w + 2)).join("+") + "+";
  const center = (s: string, w: number) => {
    const gap = w - s.length;
    const left = Math.floor(gap / 2);
    return " ".repeat(left) + s + " ".repeat(gap - left);
  };
  const out = [line, "| " + header.map((h, i) => center(h, widths[i]!)).join(" | ") + " |", line];
  for (const r of rows) out.push("| " + widths.map((w, i) => (r[i] ?? "").padStart(w)).join(" | ") + " |");
  out.push(line);
  return out.join("\n") + "\n";
}
