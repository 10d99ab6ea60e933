// Book 9.2 and 9.4: how the kubelet answers `kubectl logs` — it reads the container's CRI log file
// (`<RFC3339Nano> <stdout|stderr> <F|P> <text>` per line), applies tail/since/limit, and follows it.
import { watch, type FSWatcher } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";
import type { LogOptions } from "@corekube/api";

/** The log file of one container attempt, as a LogSource hands it out. */
export interface ContainerLogFile {
  /** The CRI-format log file of this attempt. */
  path: string;
  /** Whether the attempt still runs (its log may grow). A follower drains the file and ends once this is false. */
  running(): boolean;
  /** Optional: settles when the attempt ends, so followers notice at once rather than at their next poll. */
  exited?: Promise<unknown>;
}

/**
 * Where the kubelet finds container logs. Throw a StatusError (see errors.ts) for an unknown pod or
 * container, or when previous=true and there is no previous attempt.
 */
export interface LogSource {
  containerLog(namespace: string, pod: string, container: string, previous: boolean): ContainerLogFile | Promise<ContainerLogFile>;
}

/** One parsed line of a CRI log file. */
export interface CriRecord {
  /** The timestamp exactly as written. */
  time: string;
  /** Nanoseconds since the epoch. */
  ns: bigint;
  stream: "stdout" | "stderr";
  /** P: a piece of a longer line, continued by the next record; F: the line ends here. */
  partial: boolean;
  message: Buffer;
}

const TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/** RFC 3339 (any number of fraction digits) to nanoseconds since the epoch; undefined when unparsable. */
export function parseTimeNs(text: string): bigint | undefined {
  const m = TIME.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = (m[2] ?? "").slice(0, 9).padEnd(9, "0");
  return BigInt(ms) * 1_000_000n + BigInt(frac);
}

/**
 * A log time as the kubelet prints it with timestamps=true (Go's RFC3339Nano): trailing zeros of
 * the fraction dropped, a zero offset written as Z.
 */
export function formatLogTime(text: string): string {
  const m = TIME.exec(text);
  if (!m) return text;
  const frac = (m[2] ?? "").slice(0, 9).replace(/0+$/, "");
  const zone = m[3] === "+00:00" || m[3] === "-00:00" ? "Z" : m[3]!;
  return `${m[1]}${frac === "" ? "" : `.${frac}`}${zone}`;
}

/** Parses one CRI log line (without its newline); undefined when it is not in CRI format. */
export function parseCriRecord(line: Buffer): CriRecord | undefined {
  const s1 = line.indexOf(0x20);
  if (s1 <= 0) return undefined;
  const time = line.toString("latin1", 0, s1);
  const ns = parseTimeNs(time);
  if (ns === undefined) return undefined;
  const s2 = line.indexOf(0x20, s1 + 1);
  if (s2 < 0) return undefined;
  const stream = line.toString("latin1", s1 + 1, s2);
  if (stream !== "stdout" && stream !== "stderr") return undefined;
  let s3 = line.indexOf(0x20, s2 + 1);
  if (s3 < 0) s3 = line.length;
  // Tags are colon-separated; the first is F (full) or P (partial).
  const tag = line.toString("latin1", s2 + 1, s3).split(":")[0];
  if (tag !== "F" && tag !== "P") return undefined;
  return { time, ns, stream, partial: tag === "P", message: line.subarray(Math.min(s3 + 1, line.length)) };
}

/** The first bytes of a record are enough to read its tag. */
const HEAD = 96;

function isPartial(head: Buffer): boolean {
  const fields = head.toString("latin1").split(" ");
  return fields.length >= 3 && fields[2]!.split(":")[0] === "P";
}

/**
 * The file offset where the last `lines` log lines begin. A line is a run of P records closed by an
 * F record (upstream counts raw records; joined lines are what a reader sees). An unfinished
 * run at the end counts as a line. Reads backwards in chunks, so a big file costs only its tail.
 */
export async function findTailStart(fh: FileHandle, size: number, lines: number): Promise<number> {
  if (lines <= 0) return size;
  const CHUNK = 64 * 1024;
  const starts: number[] = [];
  let pos = size;
  let head: Buffer = Buffer.alloc(0);
  let nextNewline = -1;
  const consider = (start: number, buf: Buffer, at: number): void => {
    if (start >= size) return;
    const end = nextNewline >= 0 ? nextNewline + 1 : size;
    if (end >= size) return;
    if (!isPartial(buf.subarray(at, at + HEAD))) starts.push(end);
  };
  while (pos > 0) {
    const from = Math.max(0, pos - CHUNK);
    const chunk = Buffer.alloc(pos - from);
    const { bytesRead } = await fh.read(chunk, 0, chunk.length, from);
    const buf = Buffer.concat([chunk.subarray(0, bytesRead), head]);
    for (let i = bytesRead - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) continue;
      consider(from + i + 1, buf, i + 1);
      nextNewline = from + i;
      if (starts.length >= lines) return starts[lines - 1]!;
    }
    head = Buffer.from(buf.subarray(0, Math.min(buf.length, HEAD)));
    pos = from;
  }
  consider(0, head, 0);
  return starts.length >= lines ? starts[lines - 1]! : 0;
}

/** The `since` bound of a request in nanoseconds, from sinceSeconds (relative to `nowMs`) or sinceTime. */
export function sinceNs(opts: Pick<LogOptions, "sinceSeconds" | "sinceTime">, nowMs = Date.now()): bigint | undefined {
  if (opts.sinceSeconds !== undefined) return BigInt(nowMs - opts.sinceSeconds * 1000) * 1_000_000n;
  if (opts.sinceTime !== undefined) return parseTimeNs(opts.sinceTime.replace(/^(.{10})t/, "$1T").replace(/z$/, "Z"));
  return undefined;
}

export interface ReadLogOptions {
  follow: boolean;
  timestamps: boolean;
  tailLines?: number;
  /** Only records at or after this time (ns since the epoch). */
  since?: bigint;
  limitBytes?: number;
  /** While following: how often to look at the file and the attempt when no change is reported (default 1000 ms). */
  pollMs?: number;
}

/** Where the reader's output goes; the promise applies backpressure. */
export type LogSink = (chunk: Buffer) => Promise<void> | void;

interface Opened {
  fh: FileHandle;
  ino: number;
}

async function openLog(path: string): Promise<Opened | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return { fh, ino: (await fh.stat()).ino };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/**
 * Streams a container's log to `sink` as the kubelet serves it: each record's text (P pieces
 * joined into one line), optionally prefixed with its time; records before `since` skipped; the
 * last `tailLines` lines only; output cut at `limitBytes`. With follow it keeps reading as the file
 * grows (and after it is rotated) until the attempt has ended and the file is drained, or `signal`
 * aborts. A missing file is an empty log (while following: one that has not appeared yet).
 */
export async function readContainerLog(file: ContainerLogFile, opts: ReadLogOptions, sink: LogSink, signal?: AbortSignal): Promise<void> {
  let cur = await openLog(file.path);
  let pos = 0;
  if (cur && opts.tailLines !== undefined) {
    const { size } = await cur.fh.stat();
    pos = await findTailStart(cur.fh, size, opts.tailLines);
  }
  let carry: Buffer = Buffer.alloc(0);
  let atLineStart = true;
  let remaining = opts.limitBytes ?? Number.POSITIVE_INFINITY;
  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  let dirty = false;
  const poke = (): void => {
    dirty = true;
    wake?.();
  };
  signal?.addEventListener("abort", poke);
  file.exited?.then(poke, poke);

  /** Writes one record; false once limitBytes is spent. */
  const emit = async (line: Buffer): Promise<boolean> => {
    const rec = parseCriRecord(line);
    if (!rec) return true; // not a CRI line: skipped, as upstream does
    const newLine = atLineStart;
    atLineStart = !rec.partial;
    if (opts.since !== undefined && rec.ns < opts.since) return true;
    const parts: Buffer[] = [];
    if (opts.timestamps && newLine) parts.push(Buffer.from(`${formatLogTime(rec.time)} `, "latin1"));
    parts.push(rec.message);
    if (!rec.partial) parts.push(Buffer.from("\n"));
    let out = Buffer.concat(parts);
    if (out.length > remaining) out = out.subarray(0, remaining);
    remaining -= out.length;
    if (out.length > 0) await sink(out);
    return remaining > 0;
  };

  /** Reads what the file has beyond `pos`; false when the output is complete (limit reached or aborted). */
  const drain = async (): Promise<boolean> => {
    if (!cur) return true;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      if (signal?.aborted) return false;
      const { bytesRead } = await cur.fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return true;
      pos += bytesRead;
      let data = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a)) {
        if (!(await emit(data.subarray(0, nl)))) return false;
        data = data.subarray(nl + 1);
      }
      carry = Buffer.from(data);
    }
  };
  /** A record left without its newline at the very end is still shown (upstream does the same). */
  const flushCarry = async (): Promise<void> => {
    if (carry.length > 0) {
      const last = carry;
      carry = Buffer.alloc(0);
      await emit(last);
    }
  };
  const startWatching = (): void => {
    watcher?.close();
    watcher = undefined;
    try {
      watcher = watch(file.path, { persistent: false }, poke);
      watcher.on("error", () => {
        watcher?.close();
        watcher = undefined;
      });
    } catch {
      watcher = undefined; // polling still covers it
    }
  };

  try {
    if (!(await drain())) return;
    if (!opts.follow) {
      await flushCarry();
      return;
    }
    startWatching();
    let ending = false;
    for (;;) {
      if (signal?.aborted) return;
      // Rotated or (re)created? Finish the old file, then read the new one from its start.
      const now = await stat(file.path).catch(() => undefined);
      if (now && (!cur || now.ino !== cur.ino)) {
        if (cur) {
          if (!(await drain())) return;
          await flushCarry();
          await cur.fh.close();
        }
        cur = await openLog(file.path);
        pos = 0;
        startWatching();
        if (!(await drain())) return;
      }
      if (ending) {
        await flushCarry();
        return;
      }
      // Decide before the last read: whatever the attempt wrote before it ended is in the file.
      if (!file.running()) ending = true;
      else if (!dirty) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, opts.pollMs ?? 1000);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
      dirty = false;
      if (!(await drain())) return;
    }
  } finally {
    signal?.removeEventListener("abort", poke);
    watcher?.close();
    await cur?.fh.close().catch(() => undefined);
  }
}
