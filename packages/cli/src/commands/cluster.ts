// Book 1.6 and 12.1: `corekube up`, `down` and `status` — the whole cluster from one command.
// So far the cluster is its store (one `corekube kv` member), the API server, the controller-manager
// and the scheduler; the kubelet joins the list later.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type FlagSpec, flagValue, parseFlags, usage, UsageError } from "../flags.js";
import { type Component, defaultStateDir, isAlive, logFile, readPid, startComponent, stopComponent, waitHealthy } from "../supervisor.js";

const commonFlags: FlagSpec[] = [{ name: "state-dir", help: "where pids, logs and data live", default: defaultStateDir() }];
const upFlags: FlagSpec[] = [
  ...commonFlags,
  { name: "kv-port", help: "client port of the key-value store", default: "2379" },
  { name: "apiserver-port", help: "HTTPS port of the API server", default: "6443" },
];
const downFlags: FlagSpec[] = [...commonFlags, { name: "purge", help: "also delete the cluster's data", boolean: true }];

export const kubeconfigPath = (stateDir: string) => join(stateDir, "apiserver", "admin.kubeconfig");

function components(stateDir: string, kvPort: string, apiPort = "6443"): Component[] {
  const client = `http://127.0.0.1:${kvPort}`;
  return [
    {
      name: "kv",
      args: ["kv", "--name", "corekube", "--data-dir", join(stateDir, "kv"), "--listen-client-urls", client],
      health: `${client}/health`,
    },
    {
      name: "apiserver",
      args: ["apiserver", "--etcd-servers", client, "--state-dir", join(stateDir, "apiserver"), "--secure-port", apiPort],
      health: `https://127.0.0.1:${apiPort}/readyz`,
      healthCa: join(stateDir, "apiserver", "pki", "ca.crt"),
    },
    {
      name: "controller-manager",
      args: ["controller-manager", "--kubeconfig", kubeconfigPath(stateDir), "--secure-port", "10257", "--cluster-cidr", "10.244.0.0/16"],
      health: "http://127.0.0.1:10257/healthz",
    },
    {
      name: "scheduler",
      args: ["scheduler", "--kubeconfig", kubeconfigPath(stateDir), "--secure-port", "10259"],
      health: "http://127.0.0.1:10259/healthz",
    },
  ];
}

export async function upCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help")) {
    process.stdout.write(usage("up", "Starts a single-node corekube cluster in the background: so far its key-value store (corekube kv), the API server, the controller-manager and the scheduler.", upFlags));
    return 0;
  }
  const p = parseFlags(argv, upFlags);
  if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const stateDir = flagValue(p, upFlags, "state-dir");
  const kvPort = flagValue(p, upFlags, "kv-port");
  const apiPort = flagValue(p, upFlags, "apiserver-port");
  for (const c of components(stateDir, kvPort, apiPort)) {
    const running = readPid(stateDir, c.name);
    if (running && isAlive(running)) {
      console.log(`  ${c.name.padEnd(19)} already running (pid ${running})`);
      continue;
    }
    process.stdout.write(`  ${c.name.padEnd(19)} starting... `);
    const pid = startComponent(stateDir, c);
    try {
      await waitHealthy(c.health, pid, 60_000, c.healthCa);
    } catch (e) {
      console.log("failed");
      console.error(`${c.name} did not become healthy: ${(e as Error).message}. Its log: ${logFile(stateDir, c.name)}`);
      await stopComponent(stateDir, c.name);
      return 1;
    }
    console.log(`ready (pid ${pid}, log ${logFile(stateDir, c.name)})`);
  }
  console.log(
    `\ncorekube is up. Try:\n  export KUBECONFIG=${kubeconfigPath(stateDir)}\n  kubectl get namespaces\n  kubectl api-resources\n` +
      `  pnpm corekube kvctl --endpoints http://127.0.0.1:${kvPort} get --prefix /registry/namespaces --keys-only\n  pnpm corekube status\n  pnpm corekube down`,
  );
  return 0;
}

export async function downCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help")) {
    process.stdout.write(usage("down", "Stops every corekube component started by `corekube up`. Safe to run twice or after a crash.", downFlags));
    return 0;
  }
  const p = parseFlags(argv, downFlags);
  const stateDir = flagValue(p, downFlags, "state-dir");
  for (const c of components(stateDir, "2379").reverse()) console.log(`  ${c.name.padEnd(19)} ${await stopComponent(stateDir, c.name)}`);
  if (p.flags.has("purge")) {
    rmSync(stateDir, { recursive: true, force: true });
    console.log(`  removed ${stateDir}`);
  }
  return 0;
}

export async function statusCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help")) {
    process.stdout.write(usage("status", "Shows which corekube components run and whether they are healthy.", commonFlags));
    return 0;
  }
  const p = parseFlags(argv, commonFlags);
  const stateDir = flagValue(p, commonFlags, "state-dir");
  let ok = true;
  for (const c of components(stateDir, "2379")) {
    const pid = readPid(stateDir, c.name);
    const alive = pid !== undefined && isAlive(pid);
    ok &&= alive;
    console.log(`  ${c.name.padEnd(19)} ${alive ? `running (pid ${pid})` : "not running"}`);
  }
  return ok ? 0 : 1;
}
