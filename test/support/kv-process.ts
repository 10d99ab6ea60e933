// Test support: real `corekube kv` processes on loopback (one member or a cluster), each with a
// temporary data dir; stop() kills them and removes every dir, also after a failed test.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exited, freePort, healthy, stopProcess } from "./ports.js";

export const CLI = fileURLToPath(new URL("../../packages/cli/src/main.ts", import.meta.url));

export interface KvMember {
  name: string;
  clientURL: string;
  peerURL: string;
  dataDir: string;
  args: string[];
  proc?: ChildProcess;
  log: string[];
}

export interface KvCluster {
  endpoints: string[];
  members: KvMember[];
  pids: number[];
  /** SIGKILL one member (as a crash would). */
  kill(i: number): Promise<void>;
  /** Start a stopped member again on the same data dir. */
  restart(i: number): Promise<void>;
  waitHealthy(i: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartKvOptions {
  members?: number;
  dataDir?: string;
  extraArgs?: string[];
  snapshotCount?: number;
}

function spawnMember(m: KvMember): void {
  const proc = spawn(process.execPath, ["--import", "tsx", CLI, ...m.args], { stdio: ["ignore", "pipe", "pipe"] });
  m.proc = proc;
  const keep = (b: Buffer) => {
    m.log.push(b.toString());
    if (m.log.length > 400) m.log.splice(0, 200);
  };
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
}

export async function startKv(opts: StartKvOptions = {}): Promise<KvCluster> {
  const n = opts.members ?? 1;
  const base = opts.dataDir ?? mkdtempSync(join(tmpdir(), "corekube-kv-"));
  const members: KvMember[] = [];
  for (let i = 0; i < n; i++) {
    const name = `m${i + 1}`;
    members.push({ name, clientURL: `http://127.0.0.1:${await freePort()}`, peerURL: `http://127.0.0.1:${await freePort()}`, dataDir: join(base, name), args: [], log: [] });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerURL}`).join(",");
  for (const m of members) {
    m.args = ["kv", "--name", m.name, "--data-dir", m.dataDir, "--listen-client-urls", m.clientURL, "--advertise-client-urls", m.clientURL];
    if (n > 1) m.args.push("--listen-peer-urls", m.peerURL, "--initial-advertise-peer-urls", m.peerURL, "--initial-cluster", initialCluster);
    if (opts.snapshotCount) m.args.push("--snapshot-count", String(opts.snapshotCount));
    m.args.push(...(opts.extraArgs ?? []));
  }
  const cluster: KvCluster = {
    endpoints: members.map((m) => m.clientURL),
    members,
    get pids() {
      return members.map((m) => m.proc?.pid ?? 0);
    },
    async kill(i) {
      const p = members[i]!.proc;
      if (!p) return;
      p.kill("SIGKILL");
      await exited(p);
      members[i]!.proc = undefined;
    },
    async restart(i) {
      if (members[i]!.proc) await cluster.kill(i);
      spawnMember(members[i]!);
    },
    async waitHealthy(i, timeoutMs = 30_000) {
      const m = members[i]!;
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (await healthy(m.clientURL)) return;
        if (m.proc && m.proc.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 150));
      }
      throw new Error(`kv member ${m.name} not healthy; its log:\n${m.log.join("").slice(-4000)}`);
    },
    async stop() {
      await Promise.all(
        members.map(async (m) => {
          if (!m.proc) return;
          await stopProcess(m.proc);
          m.proc = undefined;
        }),
      );
      if (!opts.dataDir) rmSync(base, { recursive: true, force: true });
    },
  };
  try {
    for (const m of members) spawnMember(m);
    await Promise.all(members.map((_, i) => cluster.waitHealthy(i)));
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
