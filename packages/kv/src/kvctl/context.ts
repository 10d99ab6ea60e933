// Book 12.10: what every kvctl command is given — parsed flags, the output format, its IO, and an
// EtcdClient made on first use from --endpoints and --command-timeout.
import { EtcdClient } from "../client/index.js";
import type { Bytes, KeyValue } from "../types.js";
import { type FlagSpec, type Flags, UsageError } from "./args.js";
import { hexBytes } from "./format.js";
import { type JsonOut, stringify } from "./json.js";

export interface KvctlIo {
  stdout(chunk: string | Uint8Array): void;
  stderr(text: string): void;
  /** Ends long-running commands (watch, lease keep-alive); SIGINT by default. */
  signal?: AbortSignal;
  /** Reads all of stdin (for `put KEY` with the value piped in). */
  stdin?: () => Promise<string>;
}

export type Format = "simple" | "json" | "table";

export interface Command {
  /** e.g. ["get"] or ["lease", "grant"]. */
  path: string[];
  usage: string;
  summary: string;
  flags: FlagSpec[];
  run(ctx: Ctx, args: string[]): Promise<number>;
}

export class Ctx {
  private made?: EtcdClient;

  constructor(
    readonly io: KvctlIo,
    readonly flags: Flags,
    readonly endpoints: string[],
    readonly format: Format,
    readonly timeoutMs: number,
    readonly dialTimeoutMs: number,
  ) {}

  get client(): EtcdClient {
    this.made ??= new EtcdClient({ endpoints: this.endpoints, timeoutMs: this.timeoutMs, connectTimeoutMs: this.dialTimeoutMs, connections: 4 });
    return this.made;
  }

  get hex(): boolean {
    return this.flags.bool("hex");
  }

  out(text: string): void {
    this.io.stdout(text);
  }

  /** Raw key/value bytes, exactly as stored (or \xNN with --hex). */
  outBytes(s: Bytes): void {
    if (this.hex) this.io.stdout(hexBytes(s));
    else this.io.stdout(Buffer.from(s, "latin1"));
  }

  /** etcdctl's printKV: the key on one line (unless valueOnly), the value on the next. */
  printKv(kv: KeyValue, valueOnly = false): void {
    if (!valueOnly) {
      this.outBytes(kv.key);
      this.out("\n");
    }
    this.outBytes(kv.value);
    this.out("\n");
  }

  json(v: JsonOut): void {
    this.out(stringify(v) + "\n");
  }

  /** For commands that have no table form (as in etcdctl). */
  noTable(): void {
    if (this.format === "table") throw new UsageError("this command has no table output; use simple or json");
  }

  async close(): Promise<void> {
    await this.made?.close();
  }
}

export function needArgs(args: string[], min: number, max: number, usage: string): void {
  if (args.length < min || args.length > max) {
    const want = min === max ? `${min} argument${min === 1 ? "" : "s"}` : `${min} to ${max} arguments`;
    throw new UsageError(`expected ${want}, got ${args.length}; usage: kvctl ${usage}`);
  }
}
