// Book 3.3 and 9.4: the kubelet's side of its spawn helper (spawner-child.ts): short-lived commands (mount,
// umount, CNI plugins) are started by that small process, so the kubelet's event loop never stands still
// while a big process forks. One helper per kubelet process, started on first use; if it cannot run,
// commands are spawned directly.
import { type ChildProcess, spawn } from "node:child_process";
import { bundledNodeCommand } from "./bundled.js";

export interface SpawnResult {
  code: number | null;
  signal: string | null;
  stdout: Buffer;
  stderr: Buffer;
}

export interface SpawnRequest {
  env?: Record<string, string>;
  /** Written to the command's stdin, which is then closed. */
  input?: string | Buffer;
}

type Pending = { resolve: (r: SpawnResult) => void; reject: (e: Error) => void };

/** Runs a command to completion directly (the fallback, and what the helper itself does). */
export function spawnDirect(cmd: string, args: string[], o: SpawnRequest = {}): Promise<SpawnResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: [o.input !== undefined ? "pipe" : "ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (b: Buffer) => out.push(b));
    child.stderr?.on("data", (b: Buffer) => err.push(b));
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
    if (o.input !== undefined) {
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(o.input);
    }
  });
}

export class Spawner {
  private child?: ChildProcess;
  private ready?: Promise<boolean>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buf = "";
  private broken = false;

  constructor(private readonly command: () => string[] = () => bundledNodeCommand("spawner-child.ts")) {}

  /** Runs `cmd` through the helper (or directly when the helper is unavailable). Rejects only when it cannot be started. */
  async run(cmd: string, args: string[], o: SpawnRequest = {}): Promise<SpawnResult> {
    if (this.broken || !(await this.start())) return spawnDirect(cmd, args, o);
    const child = this.child as ChildProcess;
    const id = this.nextId++;
    const msg = { id, cmd, args, env: o.env, input: o.input === undefined ? undefined : Buffer.from(o.input).toString("base64") };
    return new Promise<SpawnResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.holdOpen(true);
      child.stdin?.write(`${JSON.stringify(msg)}\n`);
    });
  }

  /** Stops the helper (it also exits by itself when this process goes away). */
  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
    this.ready = undefined;
  }

  private start(): Promise<boolean> {
    if (this.ready) return this.ready;
    this.ready = new Promise<boolean>((resolveReady) => {
      const [bin, ...args] = this.command() as [string, ...string[]];
      let child: ChildProcess;
      try {
        child = spawn(bin, args, { stdio: ["pipe", "pipe", "inherit"] });
      } catch {
        this.broken = true;
        resolveReady(false);
        return;
      }
      this.child = child;
      // Never keeps the kubelet (or a test run) alive by itself.
      child.unref();
      (child.stdin as unknown as { unref?: () => void })?.unref?.();
      child.stdout?.setEncoding("utf8");
      child.stdout?.on("data", (d: string) => {
        this.buf += d;
        for (let nl = this.buf.indexOf("\n"); nl >= 0; nl = this.buf.indexOf("\n")) {
          const line = this.buf.slice(0, nl);
          this.buf = this.buf.slice(nl + 1);
          this.onLine(line, resolveReady);
        }
      });
      child.stdin?.on("error", () => undefined);
      child.once("error", () => {
        this.broken = true;
        resolveReady(false);
      });
      child.once("exit", () => {
        // Whatever was in flight is lost: those commands are reported as failures; the next call starts a new helper.
        for (const p of this.pending.values()) p.reject(new Error("the spawn helper exited"));
        this.pending.clear();
        if (this.child === child) {
          this.child = undefined;
          this.ready = undefined;
          this.buf = "";
        }
        resolveReady(false);
      });
    });
    return this.ready;
  }

  /** While commands are in flight the helper's pipe keeps this process alive; idle, it does not. */
  private holdOpen(on: boolean): void {
    const out = this.child?.stdout as unknown as { ref?: () => void; unref?: () => void } | undefined;
    if (on) out?.ref?.();
    else out?.unref?.();
  }

  private onLine(line: string, ready: (ok: boolean) => void): void {
    let msg: { id?: number; ready?: boolean; code?: number | null; signal?: string | null; stdout?: string; stderr?: string; error?: string };
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (msg.ready) {
      this.holdOpen(this.pending.size > 0);
      ready(true);
      return;
    }
    const p = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
    if (!p) return;
    this.pending.delete(msg.id as number);
    if (this.pending.size === 0) this.holdOpen(false);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve({ code: msg.code ?? null, signal: msg.signal ?? null, stdout: Buffer.from(msg.stdout ?? "", "base64"), stderr: Buffer.from(msg.stderr ?? "", "base64") });
  }
}

let shared: Spawner | undefined;

/** The process-wide helper the runtime, the volume mounter and the CNI client share. */
export function sharedSpawner(): Spawner {
  shared ??= new Spawner();
  return shared;
}

/** Runs a command and throws, with its stderr, when it fails (execFile's contract, through the helper). */
export async function runCommand(cmd: string, args: string[], o: SpawnRequest = {}): Promise<string> {
  const r = await sharedSpawner().run(cmd, args, o);
  if (r.code !== 0) {
    const why = r.stderr.toString("utf8").trim() || (r.signal ? `killed by ${r.signal}` : `exit status ${r.code}`);
    throw new Error(`${cmd} ${args.join(" ")}: ${why}`);
  }
  return r.stdout.toString("utf8");
}
