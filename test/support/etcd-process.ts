// Test support (Book 12.10): a real etcd 3.4 (Debian's package) on loopback with a temporary data
// dir, as the reference our kv is compared against; stop() kills it and removes the dir.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { healthy, pickPorts, stopProcess } from "./ports.js";

export interface EtcdProcess {
  endpoints: string[];
  pid: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface StartEtcdOptions {
  /** Extra etcd flags, e.g. ["--max-txn-ops", "8"]. */
  args?: string[];
  /** Ports are drawn from [low, high] (default 24000-24999). */
  portRange?: [number, number];
}

/** True when an `etcd` binary is on PATH. */
export function etcdAvailable(): boolean {
  try {
    execFileSync("etcd", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Start one etcd member; retries on other ports when a port is taken meanwhile. */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdProcess> {
  const range = opts.portRange ?? [24000, 24999];
  let lastLog = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const [clientPort, peerPort] = await pickPorts(2, range);
    const dataDir = mkdtempSync(join(tmpdir(), "corekube-etcd-"));
    const name = `ref-${process.pid}-${Math.floor(Math.random() * 1e9).toString(36)}`;
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const args = [
      "--name", name, "--data-dir", join(dataDir, "data"),
      "--listen-client-urls", client, "--advertise-client-urls", client,
      "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", `${name}=${peer}`,
      "--log-outputs", "stderr", ...(opts.args ?? []),
    ];
    const proc = spawn("etcd", args, { stdio: ["ignore", "ignore", "pipe"] });
    const log: string[] = [];
    proc.stderr!.on("data", (b: Buffer) => {
      log.push(b.toString());
      if (log.length > 200) log.splice(0, 100);
    });
    // Never leave an etcd behind, even when the test process dies in between.
    const onExit = () => proc.kill("SIGKILL");
    process.once("exit", onExit);
    const stop = async () => {
      process.removeListener("exit", onExit);
      await stopProcess(proc);
      rmSync(dataDir, { recursive: true, force: true });
    };
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && proc.exitCode === null) {
      // Healthy *and* ours: if our etcd lost the port race, another test's etcd may answer there.
      if ((await healthy(client)) && (await isMember(client, name)) && proc.exitCode === null) return { endpoints: [client], pid: proc.pid!, dataDir, stop };
      await new Promise((r) => setTimeout(r, 100));
    }
    lastLog = log.join("").slice(-3000);
    await stop();
  }
  throw new Error(`etcd did not become healthy; last log:\n${lastLog}`);
}

/** Whether the etcd answering at `client` has a member called `name` (i.e. is the one we started). */
async function isMember(client: string, name: string): Promise<boolean> {
  try {
    const r = await fetch(`${client}/v3/cluster/member/list`, { method: "POST", body: "{}", signal: AbortSignal.timeout(2_000) });
    const body = (await r.json()) as { members?: { name?: string }[] };
    return (body.members ?? []).some((m) => m.name === name);
  } catch {
    return false;
  }
}
