// Test support (Book 11.2): a real control plane for end-to-end tests — a storage process
// (`corekube kv` or Debian's etcd) plus a `corekube apiserver` process with its own state dir,
// certificates and admin kubeconfig; stop() ends both and removes every directory.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { startEtcd } from "./etcd-process.js";
import { CLI, startKv } from "./kv-process.js";
import { freePort, stopProcess } from "./ports.js";

export type Backend = "kv" | "etcd";

export interface ControlPlane {
  backend: Backend;
  url: string;
  port: number;
  stateDir: string;
  kubeconfig: string;
  etcdServers: string[];
  /** CA, admin cert and key (PEM) for clients of our own. */
  tls: { ca: string; cert: string; key: string };
  log(): string;
  /** Stop and start the apiserver process only (storage keeps running). */
  restartApiserver(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartControlPlaneOptions {
  backend?: Backend;
  extraArgs?: string[];
}

export async function waitReady(url: string, ca: string, timeoutMs = 60_000): Promise<void> {
  const agent = new Agent({ connect: { ca, rejectUnauthorized: true } });
  const deadline = Date.now() + timeoutMs;
  let last = "";
  try {
    while (Date.now() < deadline) {
      try {
        const r = await request(`${url}/readyz`, { dispatcher: agent, headersTimeout: 2_000, bodyTimeout: 2_000 });
        last = await r.body.text();
        if (r.statusCode === 200) return;
      } catch (e) {
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await agent.close();
  }
  throw new Error(`apiserver at ${url} not ready after ${timeoutMs} ms: ${last}`);
}

export async function startControlPlane(opts: StartControlPlaneOptions = {}): Promise<ControlPlane> {
  const backend = opts.backend ?? "kv";
  const storage = backend === "kv" ? await startKv() : await startEtcd();
  const etcdServers = storage.endpoints;
  const stateDir = mkdtempSync(join(tmpdir(), "corekube-apiserver-"));
  const port = await freePort();
  const logs: string[] = [];
  let proc: ChildProcess | undefined;
  const onExit = () => proc?.kill("SIGKILL");
  process.once("exit", onExit);
  const args = [
    "--import", "tsx", CLI, "apiserver",
    "--etcd-servers", etcdServers.join(","),
    "--state-dir", stateDir,
    "--secure-port", String(port),
    "--bind-address", "127.0.0.1",
    ...(opts.extraArgs ?? []),
  ];
  const launch = async () => {
    proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    const keep = (b: Buffer) => {
      logs.push(b.toString());
      if (logs.length > 500) logs.splice(0, 250);
    };
    proc.stdout!.on("data", keep);
    proc.stderr!.on("data", keep);
    const url = `https://127.0.0.1:${port}`;
    const started = Date.now();
    // The CA appears on first start; wait for it, then for /readyz.
    for (;;) {
      try {
        const ca = readFileSync(join(stateDir, "pki", "ca.crt"), "utf8");
        await waitReady(url, ca, 60_000 - (Date.now() - started));
        return;
      } catch (e) {
        if (proc.exitCode !== null) throw new Error(`apiserver exited (${proc.exitCode}):\n${logs.join("")}`);
        if (Date.now() - started > 60_000) throw new Error(`apiserver did not start: ${(e as Error).message}\n${logs.join("")}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  try {
    await launch();
  } catch (e) {
    if (proc) await stopProcess(proc);
    await storage.stop();
    rmSync(stateDir, { recursive: true, force: true });
    process.removeListener("exit", onExit);
    throw e;
  }
  const pem = (f: string) => readFileSync(join(stateDir, "pki", f), "utf8");
  return {
    backend,
    url: `https://127.0.0.1:${port}`,
    port,
    stateDir,
    kubeconfig: join(stateDir, "admin.kubeconfig"),
    etcdServers,
    tls: { ca: pem("ca.crt"), cert: pem("admin.crt"), key: pem("admin.key") },
    log: () => logs.join(""),
    async restartApiserver() {
      if (proc) await stopProcess(proc);
      await launch();
    },
    async stop() {
      process.removeListener("exit", onExit);
      if (proc) await stopProcess(proc);
      await storage.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
