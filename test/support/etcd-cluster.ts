// Test support (Book 12.5, 12.10): real etcd 3.4 on loopback — one member (via etcd-process.ts) or a
// three-member cluster via --initial-cluster — each with temporary data dirs that stop() removes.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEtcd } from "./etcd-process.js";
import { healthy, pickPorts, stopProcess } from "./ports.js";

export { etcdAvailable } from "./etcd-process.js";

export interface EtcdCluster {
  endpoints: string[];
  pids: number[];
  stop(): Promise<void>;
}

export interface EtcdClusterOptions {
  members?: 1 | 3;
  /** Ports are drawn from here (default 25000-25999). */
  portRange?: [number, number];
  args?: string[];
}

async function startThree(range: [number, number], extra: string[]): Promise<{ cluster?: EtcdCluster; log: string }> {
  const ports = await pickPorts(6, range);
  const dataDir = mkdtempSync(join(tmpdir(), "corekube-etcd3-"));
  const names = ["e1", "e2", "e3"];
  const client = names.map((_, i) => `http://127.0.0.1:${ports[2 * i]}`);
  const peer = names.map((_, i) => `http://127.0.0.1:${ports[2 * i + 1]}`);
  const initial = names.map((n, i) => `${n}=${peer[i]}`).join(",");
  const log: string[] = [];
  const procs = names.map((name, i) => {
    const p = spawn("etcd", [
      "--name", name, "--data-dir", join(dataDir, name),
      "--listen-client-urls", client[i]!, "--advertise-client-urls", client[i]!,
      "--listen-peer-urls", peer[i]!, "--initial-advertise-peer-urls", peer[i]!,
      "--initial-cluster", initial, "--initial-cluster-state", "new",
      "--initial-cluster-token", `corekube-${ports[0]}`, "--log-outputs", "stderr", ...extra,
    ], { stdio: ["ignore", "ignore", "pipe"] });
    p.stderr!.on("data", (b: Buffer) => {
      log.push(`[${name}] ${b.toString()}`);
      if (log.length > 300) log.splice(0, 150);
    });
    return p;
  });
  const onExit = () => procs.forEach((p) => p.kill("SIGKILL"));
  process.once("exit", onExit);
  const stop = async () => {
    process.removeListener("exit", onExit);
    // a stopping leader may wait for peers that are stopping too: a short grace period
    await Promise.all(procs.map((p) => stopProcess(p, 1_000)));
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && procs.every((p) => p.exitCode === null)) {
    if ((await Promise.all(client.map((u) => healthy(u)))).every(Boolean)) {
      return { cluster: { endpoints: client, pids: procs.map((p) => p.pid!), stop }, log: "" };
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  await stop();
  return { log: log.join("").slice(-4000) };
}

/** Starts 1 or 3 etcd members on loopback and waits until every member reports healthy. */
export async function startEtcdCluster(opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const range = opts.portRange ?? [25000, 25999];
  if ((opts.members ?? 1) === 1) {
    const e = await startEtcd({ portRange: range, args: opts.args });
    return { endpoints: e.endpoints, pids: [e.pid], stop: e.stop };
  }
  let last = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await startThree(range, opts.args ?? []);
    if (r.cluster) return r.cluster;
    last = r.log;
  }
  throw new Error(`3-member etcd did not become healthy; last log:\n${last}`);
}
