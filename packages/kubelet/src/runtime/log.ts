// Book 9.4: the CRI container log format the kubelet's `kubectl logs` reads:
// `<RFC3339Nano> <stdout|stderr> <F|P> <text>`, one line per output line, P for pieces of a line over 16 KiB.

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
