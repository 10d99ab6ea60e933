// Book 5.2 and 10.1: running iptables for the proxy: iptables-restore --noflush for the rendered chains,
// iptables-save to find leftovers, and the -C/-I/-D dance for jumps from the built-in chains.
import { spawn } from "node:child_process";
import { isOwnChain, JUMP_RULES, type JumpRule, TABLES, type TableName } from "./render.js";

export type Backend = "auto" | "nft" | "legacy";

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one program with optional stdin; never throws for a non-zero exit (only for a missing binary). */
export type Exec = (cmd: string, args: string[], input?: string) => Promise<ExecResult>;

export const spawnExec: Exec = (cmd, args, input) =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.on("error", () => undefined); // a program that exits early closes its stdin
    child.stdin.end(input ?? "");
  });

export class IptablesError extends Error {
  constructor(
    readonly command: string,
    readonly result: ExecResult,
  ) {
    super(`${command} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

export interface IptablesOptions {
  backend?: Backend;
  /** Prefix for every command, e.g. ["ip", "netns", "exec", "ck-px-1"] to work inside a network namespace. */
  wrap?: string[];
  exec?: Exec;
}

/** The iptables binaries of one backend, and the operations the proxy needs from them. */
export class Iptables {
  private constructor(
    readonly backend: "nft" | "legacy",
    private readonly wrap: string[],
    private readonly exec: Exec,
  ) {}

  /** Picks the backend; `auto` follows what plain `iptables --version` reports, as the node's tools do. */
  static async create(o: IptablesOptions = {}): Promise<Iptables> {
    const exec = o.exec ?? spawnExec;
    const wrap = o.wrap ?? [];
    const backend = o.backend ?? "auto";
    if (backend !== "auto" && backend !== "nft" && backend !== "legacy") throw new Error(`iptables backend ${JSON.stringify(backend)}: want auto, nft or legacy`);
    if (backend !== "auto") return new Iptables(backend, wrap, exec);
    const r = await run(exec, wrap, "iptables", ["--version"]).catch((e: Error) => {
      throw new Error(`cannot run iptables to pick a backend: ${e.message}`);
    });
    if (r.code !== 0) throw new IptablesError("iptables --version", r);
    return new Iptables(/\(legacy\)/.test(r.stdout) ? "legacy" : "nft", wrap, exec);
  }

  private bin(tool: "" | "-restore" | "-save"): string {
    return `iptables-${this.backend}${tool}`;
  }

  private async call(tool: "" | "-restore" | "-save", args: string[], input?: string): Promise<ExecResult> {
    return run(this.exec, this.wrap, this.bin(tool), args, input);
  }

  /** Applies iptables-restore input without flushing the tables (only the chains it declares). */
  async restore(text: string): Promise<void> {
    const r = await this.call("-restore", ["--noflush", "--wait"], text);
    if (r.code !== 0) throw new IptablesError(`${this.bin("-restore")} --noflush`, r);
  }

  /** `iptables-save -t TABLE`. */
  async save(table: TableName): Promise<string> {
    const r = await this.call("-save", ["-t", table]);
    if (r.code !== 0) throw new IptablesError(`${this.bin("-save")} -t ${table}`, r);
    return r.stdout;
  }

  /** Chains of `table` named in iptables-save output. */
  async chains(table: TableName): Promise<string[]> {
    return chainsOf(await this.save(table));
  }

  /** `iptables -t TABLE ARGS`. */
  async run(table: TableName, args: string[]): Promise<ExecResult> {
    return this.call("", ["-w", "5", "-t", table, ...args]);
  }

  /**
   * Puts each jump first in its built-in chain unless it is there (creating the target chain if needed).
   * `saved` (iptables-save output per table, when the caller has it) spares an `iptables -C` per jump.
   */
  async ensureJumps(saved: Partial<Record<TableName, string>> = {}): Promise<void> {
    for (const j of JUMP_RULES) {
      if (saved[j.table]?.split("\n").includes(jumpLine(j))) continue;
      const target = j.args[j.args.length - 1]!;
      const n = await this.run(j.table, ["-N", target]);
      if (n.code !== 0 && !/exists/i.test(n.stderr)) throw new IptablesError(`iptables -t ${j.table} -N ${target}`, n);
      if ((await this.run(j.table, ["-C", j.from, ...j.args])).code === 0) continue;
      const r = await this.run(j.table, ["-I", j.from, ...j.args]);
      if (r.code !== 0) throw new IptablesError(`iptables -t ${j.table} -I ${j.from}`, r);
    }
  }

  /** Deletes every copy of our jumps; missing ones are fine. */
  async removeJumps(): Promise<void> {
    for (const j of JUMP_RULES) {
      for (let i = 0; i < 100; i++) {
        if ((await this.run(j.table, ["-C", j.from, ...j.args])).code !== 0) break;
        const r = await this.run(j.table, ["-D", j.from, ...j.args]);
        if (r.code !== 0) throw new IptablesError(`iptables -t ${j.table} -D ${j.from}`, r);
      }
    }
  }

  /** As `kube-proxy --cleanup`: removes our jumps, then flushes and deletes every chain of ours in nat and filter. */
  async cleanup(): Promise<{ removed: Record<TableName, string[]> }> {
    await this.removeJumps();
    const removed: Record<TableName, string[]> = { nat: [], filter: [] };
    const out: string[] = [];
    for (const t of TABLES) {
      const ours = (await this.chains(t)).filter((c) => isOwnChain(t, c));
      if (ours.length === 0) continue;
      removed[t] = ours;
      out.push(`*${t}`, ...ours.map((c) => `:${c} - [0:0]`), ...ours.map((c) => `-X ${c}`), "COMMIT");
    }
    if (out.length) await this.restore(`${out.join("\n")}\n`);
    return { removed };
  }
}

async function run(exec: Exec, wrap: string[], cmd: string, args: string[], input?: string): Promise<ExecResult> {
  return wrap.length ? exec(wrap[0]!, [...wrap.slice(1), cmd, ...args], input) : exec(cmd, args, input);
}

/** User chains declared in iptables-save output (`:NAME - [p:b]`), built-ins (with a policy) left out. */
export function chainsOf(save: string): string[] {
  const out: string[] = [];
  for (const line of save.split("\n")) {
    const m = /^:(\S+) (\S+) /.exec(line);
    if (m && m[2] === "-") out.push(m[1]!);
  }
  return out;
}

/** A jump as iptables-save prints it. */
export function jumpLine(j: JumpRule): string {
  return ["-A", j.from, ...j.args.map((a) => (/\s/.test(a) ? `"${a}"` : a))].join(" ");
}
