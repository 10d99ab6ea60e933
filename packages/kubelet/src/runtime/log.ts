// Book 9.4: the CRI container log format the kubelet's `kubectl logs` reads:
// `<RFC3339Nano> <stdout|stderr> <F|P> <text>`, one line per output line, P for pieces of a line over 16 KiB;
// and the rotation of those files by size (containerLogMaxSize, containerLogMaxFiles).
import { closeSync, fstatSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { gzipSync } from "node:zlib";

/** Longest piece written as one log line; longer lines are split into P pieces plus a final F. */
export const MAX_LOG_LINE = 16 * 1024;

export type LogStream = "stdout" | "stderr";

/** A clock for log timestamps with nanosecond digits (wall clock at start + monotonic offset). */
export function nanoClock(): () => string {
  const wallNs = BigInt(Date.now()) * 1_000_000n;
  const mono0 = process.hrtime.bigint();
  return () => rfc3339Nano(wallNs + (process.hrtime.bigint() - mono0));
}

/** Formats nanoseconds since the epoch as RFC 3339 with 9 fraction digits, UTC. */
export function rfc3339Nano(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2024-01-02T03:04:05.678Z
  const frac = (ns % 1_000_000_000n).toString().padStart(9, "0");
  return `${iso.slice(0, 19)}.${frac}Z`;
}

/**
 * Splits one stream's bytes into CRI log lines. `push` returns the complete lines ready to write;
 * `end` flushes a trailing line that had no newline (written as F, as containerd does at EOF).
 */
export class CriLineSplitter {
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    private readonly stream: LogStream,
    private readonly now: () => string,
  ) {}

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      const nl = data.indexOf(0x0a);
      if (nl >= 0 && nl <= MAX_LOG_LINE) {
        out.push(this.line("F", data.subarray(0, nl)));
        data = data.subarray(nl + 1);
      } else if (data.length > MAX_LOG_LINE) {
        out.push(this.line("P", data.subarray(0, MAX_LOG_LINE)));
        data = data.subarray(MAX_LOG_LINE);
      } else break;
    }
    this.pending = Buffer.from(data);
    return out;
  }

  end(): Buffer[] {
    if (this.pending.length === 0) return [];
    const last = this.line("F", this.pending);
    this.pending = Buffer.alloc(0);
    return [last];
  }

  private line(tag: "F" | "P", body: Buffer): Buffer {
    return Buffer.concat([Buffer.from(`${this.now()} ${this.stream} ${tag} `), body, Buffer.from("\n")]);
  }
}

export interface CriLogLine {
  time: string;
  stream: LogStream;
  tag: "F" | "P";
  text: string;
}

/** Parses CRI log file text into records (the reading side, for tests and `kubectl logs`). */
export function parseCriLog(text: string): CriLogLine[] {
  const out: CriLogLine[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/s.exec(line);
    if (!m) throw new Error(`not a CRI log line: ${JSON.stringify(line.slice(0, 80))}`);
    out.push({ time: m[1] as string, stream: m[2] as LogStream, tag: m[3] as "F" | "P", text: m[4] as string });
  }
  return out;
}

/** Joins P pieces with their final F: the lines the program printed, per stream, in order. */
export function logMessages(lines: CriLogLine[], stream?: LogStream): string[] {
  const out: string[] = [];
  const partial: Record<LogStream, string> = { stdout: "", stderr: "" };
  for (const l of lines) {
    if (stream && l.stream !== stream) continue;
    partial[l.stream] += l.text;
    if (l.tag === "F") {
      out.push(partial[l.stream]);
      partial[l.stream] = "";
    }
  }
  return out;
}

/** Log rotation as the kubelet's containerLogMaxSize / containerLogMaxFiles (upstream defaults 10Mi and 5). */
export interface LogRotation {
  /** Rotate once the current file reaches this many bytes. */
  maxBytes: number;
  /** Files kept per container, the current one included (at least 2). */
  maxFiles: number;
}

export const DEFAULT_LOG_ROTATION: LogRotation = { maxBytes: 10 * 1024 * 1024, maxFiles: 5 };

/** `0.log.20240102-030405` (upstream's suffix layout), plus `.gz` once compressed. */
function rotatedSuffix(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** The rotated files of `path`, oldest first (the names sort by their timestamp). */
export function rotatedLogs(path: string): string[] {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && /^\d{8}-\d{6}(-\d+)?(\.gz)?$/.test(n.slice(prefix.length)) && !n.endsWith(".tmp"))
    .sort((a, b) => a.replace(/\.gz$/, "").localeCompare(b.replace(/\.gz$/, ""), "en", { numeric: true }))
    .map((n) => join(dir, n));
}

/**
 * A container's CRI log file, written by the shim. With a rotation policy, a file that has grown to
 * maxBytes is renamed to `<path>.<UTC time>`, the rotated files older than that one are gzipped, the
 * oldest are removed so at most maxFiles remain, and writing goes on in a new `<path>`. `kubectl logs`
 * reads the current file, as upstream's does.
 */
export class RotatingLogFile {
  private fd: number;
  private size: number;

  constructor(
    readonly path: string,
    private readonly rotation?: LogRotation,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.fd = openSync(path, "a");
    this.size = fstatSync(this.fd).size;
  }

  write(buf: Buffer): void {
    writeSync(this.fd, buf);
    this.size += buf.length;
    if (this.rotation && this.size >= this.rotation.maxBytes) this.rotate();
  }

  close(): void {
    closeSync(this.fd);
  }

  private rotate(): void {
    const { maxFiles } = this.rotation as LogRotation;
    // Several rotations within one second get -1, -2, ... after the newest name already used, so the
    // names keep sorting oldest first even after the oldest ones were removed.
    const stamp = `${this.path}.${rotatedSuffix(this.now())}`;
    let next = 0;
    for (const f of rotatedLogs(this.path)) {
      const rest = f.replace(/\.gz$/, "");
      if (rest === stamp) next = Math.max(next, 1);
      else if (rest.startsWith(`${stamp}-`)) next = Math.max(next, Number(rest.slice(stamp.length + 1)) + 1);
    }
    const target = next === 0 ? stamp : `${stamp}-${next}`;
    closeSync(this.fd);
    renameSync(this.path, target);
    this.fd = openSync(this.path, "a");
    this.size = 0;
    const rotated = rotatedLogs(this.path);
    // Compress all but the newest rotated file (it may still be read by a slow log reader).
    for (const f of rotated) {
      if (f === target || f.endsWith(".gz")) continue;
      try {
        const tmp = `${f}.gz.tmp`;
        writeFileSync(tmp, gzipSync(readFileSync(f)));
        renameSync(tmp, `${f}.gz`);
        unlinkSync(f);
      } catch {
        // left uncompressed: still counted and removed in turn
      }
    }
    const now = rotatedLogs(this.path);
    for (const f of now.slice(0, Math.max(0, now.length - (Math.max(2, maxFiles) - 1)))) {
      try {
        unlinkSync(f);
      } catch {}
    }
  }
}

/** Parses a Kubernetes quantity for the log size flag: 10Mi, 500Ki, 1G, 1048576. */
export function parseLogSize(text: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(text.trim());
  if (!m) throw new Error(`invalid log size ${JSON.stringify(text)}: use a quantity such as 10Mi, 512Ki or 1048576`);
  const mult: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 };
  const bytes = Number(m[1]) * (m[2] ? (mult[m[2]] as number) : 1);
  if (bytes < 1024) throw new Error(`log size ${text} is too small: at least 1Ki`);
  return bytes;
}
