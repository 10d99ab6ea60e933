// Book 1.6, 9.1 and 12.1: `corekube up`, `down` and `status` — the whole single-node cluster from one
// command: its store (one `corekube kv` member), the API server, the controller-manager, the scheduler
// and a real kubelet with the Service proxy and cluster DNS (as root on Linux), optionally simulated nodes.
import { rmSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Node } from "@corekube/api";
import { NODES, RestClient } from "@corekube/client";
import { pickNodeIP } from "@corekube/kubelet/node/machine";
import { type FlagSpec, flagInt, flagValue, parseFlags, usage, UsageError } from "../flags.js";
import { CLUSTER_DNS_IP, CLUSTER_DNS_PORT, ensureClusterDnsService } from "../cluster-dns.js";
import { cleanNode, CNI_CONF_DIR, ensureBusyboxImage, imageRoot, kubeletRootDir, RUNTIME_STATE_DIR, saveHostNet } from "../node-setup.js";
import { type Component, defaultStateDir, isAlive, logFile, readPid, startComponent, stopComponent, waitHealthy } from "../supervisor.js";

const commonFlags: FlagSpec[] = [{ name: "state-dir", help: "where pids, logs and data live", default: defaultStateDir() }];
const upFlags: FlagSpec[] = [
  ...commonFlags,
  { name: "kv-port", help: "client port of the key-value store", default: "2379" },
  { name: "apiserver-port", help: "HTTPS port of the API server", default: "6443" },
  { name: "control-plane-only", help: "start no kubelet (no root needed)", boolean: true },
  { name: "simulated-nodes", help: "also register N simulated nodes (kwok-style) beside the real one", default: "0" },
  { name: "detach", help: "accepted for clarity: the components always run in the background", boolean: true },
];
const downFlags: FlagSpec[] = [...commonFlags, { name: "purge", help: "also delete the cluster's data", boolean: true }];

/** The pod range node IPAM cuts each node's podCIDR from; the proxy masquerades traffic from outside it. */
const CLUSTER_CIDR = "10.244.0.0/16";

export const kubeconfigPath = (stateDir: string) => join(stateDir, "apiserver", "admin.kubeconfig");

const canRunKubelet = () => process.platform === "linux" && process.getuid?.() === 0;

function nodeComponents(stateDir: string, simulated: number, kubelet: boolean): Component[] {
  const out: Component[] = [];
  if (kubelet) {
    out.push({
      name: "proxy",
      args: ["proxy", "--kubeconfig", kubeconfigPath(stateDir), "--cluster-cidr", CLUSTER_CIDR, "--healthz-bind-address", "127.0.0.1:10256", "--metrics-bind-address", "127.0.0.1:10249"],
      health: "http://127.0.0.1:10256/healthz",
    });
    out.push({
      name: "dns",
      // On the node's address (pods reach it through the kube-dns Service's rules), not on port 53 of
      // every interface, where a host resolver may already listen.
      args: ["dns", "--kubeconfig", kubeconfigPath(stateDir), "--listen", `${pickNodeIP()}:${CLUSTER_DNS_PORT}`, "--health-address", "127.0.0.1:10054", "--metrics-address", "127.0.0.1:9153"],
      health: "http://127.0.0.1:10054/health",
    });
    out.push({
      name: "kubelet",
      args: [
        "kubelet",
        "--kubeconfig",
        kubeconfigPath(stateDir),
        "--pki-dir",
        join(stateDir, "apiserver", "pki"),
        "--root-dir",
        kubeletRootDir(stateDir),
        "--image-root",
        imageRoot(stateDir),
        "--cni-conf-dir",
        CNI_CONF_DIR,
        "--port",
        "10250",
        "--cluster-dns",
        CLUSTER_DNS_IP,
      ],
      health: "https://127.0.0.1:10250/healthz",
      healthCa: join(stateDir, "apiserver", "pki", "ca.crt"),
    });
  }
  if (simulated > 0) {
    out.push({
      name: "simulated-nodes",
      // Their pod ranges stay clear of the real node's, which node IPAM cuts from 10.244.0.0/16.
      args: ["simulated-nodes", "--kubeconfig", kubeconfigPath(stateDir), "--count", String(simulated), "--pod-cidr-base", "10.250", "--delete-on-exit"],
    });
  }
  return out;
}

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
      // On every address, advertised at the node's: the kubernetes Service (10.96.0.1:443) then leads
      // pods to it, so in-cluster clients with a ServiceAccount token reach the API as in any cluster.
      args: ["apiserver", "--etcd-servers", client, "--state-dir", join(stateDir, "apiserver"), "--secure-port", apiPort, "--bind-address", "0.0.0.0", "--advertise-address", pickNodeIP()],
      health: `https://127.0.0.1:${apiPort}/readyz`,
      healthCa: join(stateDir, "apiserver", "pki", "ca.crt"),
    },
    {
      name: "controller-manager",
      args: ["controller-manager", "--kubeconfig", kubeconfigPath(stateDir), "--secure-port", "10257", "--cluster-cidr", CLUSTER_CIDR],
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
    process.stdout.write(
      usage(
        "up",
        "Starts a single-node corekube cluster in the background: its key-value store (corekube kv), the API server, the controller-manager, the scheduler and (as root on Linux) a kubelet that runs real pods; waits until the node is Ready.",
        upFlags,
      ),
    );
    return 0;
  }
  const p = parseFlags(argv, upFlags);
  if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const stateDir = flagValue(p, upFlags, "state-dir");
  const kvPort = flagValue(p, upFlags, "kv-port");
  const apiPort = flagValue(p, upFlags, "apiserver-port");
  const simulated = flagInt(p, upFlags, "simulated-nodes");
  let kubelet = !p.flags.has("control-plane-only");
  if (kubelet && !canRunKubelet()) {
    console.log("  kubelet             skipped: it needs root on Linux (run as root, or pass --control-plane-only)");
    kubelet = false;
  }
  const started = Date.now();
  const secs = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)} s`;
  const launch = async (c: Component): Promise<boolean> => {
    const running = readPid(stateDir, c.name);
    if (running && isAlive(running)) {
      console.log(`  ${c.name.padEnd(19)} already running (pid ${running})`);
      return true;
    }
    const t = Date.now();
    process.stdout.write(`  ${c.name.padEnd(19)} starting... `);
    const pid = startComponent(stateDir, c);
    try {
      await waitHealthy(c.health, pid, 90_000, c.healthCa);
    } catch (e) {
      console.log("failed");
      console.error(`${c.name} did not become healthy: ${(e as Error).message}. Its log: ${logFile(stateDir, c.name)}`);
      await stopComponent(stateDir, c.name);
      return false;
    }
    console.log(`ready in ${secs(t)} (pid ${pid}, log ${logFile(stateDir, c.name)})`);
    return true;
  };
  for (const c of components(stateDir, kvPort, apiPort)) if (!(await launch(c))) return 1;
  if (kubelet) {
    const client = await RestClient.fromKubeconfig({ path: kubeconfigPath(stateDir) });
    try {
      await ensureClusterDnsService(client, pickNodeIP());
      console.log(`  kube-dns Service     ${CLUSTER_DNS_IP}:53 → ${pickNodeIP()}:${CLUSTER_DNS_PORT}`);
    } finally {
      await client.close();
    }
  }
  if (kubelet) {
    const t = Date.now();
    process.stdout.write("  images              ");
    console.log(`${await ensureBusyboxImage(stateDir)} (${secs(t)})`);
    saveHostNet(stateDir);
  }
  for (const c of nodeComponents(stateDir, simulated, kubelet)) if (!(await launch(c))) return 1;
  if (kubelet) {
    const t = Date.now();
    process.stdout.write(`  node ${hostname().toLowerCase().padEnd(14)} waiting for Ready... `);
    const ready = await waitNodeReady(stateDir, hostname().toLowerCase(), 90_000);
    console.log(ready ? `Ready in ${secs(t)}` : `not Ready after 90 s (see ${logFile(stateDir, "kubelet")})`);
    if (!ready) return 1;
  }
  console.log(
    `\ncorekube is up in ${secs(started)}. Try:\n  export KUBECONFIG=${kubeconfigPath(stateDir)}\n  kubectl get nodes -o wide\n` +
      (kubelet
        ? `  kubectl run hello --image=busybox:1.35 --restart=Never -- sh -c 'echo hello from a corekube pod'\n  kubectl logs hello\n  kubectl run web --image=busybox:1.35 -- sh -c 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www'\n  kubectl exec web -- ps\n` +
          `  kubectl expose pod web --port 80 --target-port 8080\n  kubectl run client --image=busybox:1.35 -- sleep 3600\n  kubectl exec client -- wget -qO- http://web   (the proxy's rules and the cluster DNS)\n  iptables-save -t nat | grep KUBE-SVC\n`
        : "") +
      `  pnpm corekube kvctl --endpoints http://127.0.0.1:${kvPort} get --prefix /registry/namespaces --keys-only\n  pnpm corekube status\n  pnpm corekube down`,
  );
  return 0;
}

export async function downCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help")) {
    process.stdout.write(
      usage(
        "down",
        "Stops every corekube component started by `corekube up`, then removes every pod, shim, mount, cgroup, veth, bridge, iptables rule and IPAM lease the kubelet made. Safe to run twice or after a crash.",
        downFlags,
      ),
    );
    return 0;
  }
  const p = parseFlags(argv, downFlags);
  const stateDir = flagValue(p, downFlags, "state-dir");
  for (const c of [...components(stateDir, "2379"), ...nodeComponents(stateDir, 1, true)].reverse()) console.log(`  ${c.name.padEnd(19)} ${await stopComponent(stateDir, c.name)}`);
  if (canRunKubelet()) await cleanNode(stateDir, (l) => console.log(l));
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
  for (const c of [...components(stateDir, "2379"), ...nodeComponents(stateDir, 1, true)]) {
    const pid = readPid(stateDir, c.name);
    if (pid === undefined && ["kubelet", "proxy", "dns", "simulated-nodes"].includes(c.name)) continue;
    const alive = pid !== undefined && isAlive(pid);
    ok &&= alive;
    console.log(`  ${c.name.padEnd(19)} ${alive ? `running (pid ${pid})` : "not running"}`);
  }
  return ok ? 0 : 1;
}

/** Polls the Node until its Ready condition is True. */
async function waitNodeReady(stateDir: string, name: string, timeoutMs: number): Promise<boolean> {
  const client = await RestClient.fromKubeconfig({ path: kubeconfigPath(stateDir) });
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const n = await client.resource<Node>(NODES).get(name).catch(() => undefined);
      if (n?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) return true;
      await new Promise((r) => setTimeout(r, 500));
    }
    return false;
  } finally {
    await client.close();
  }
}

export { RUNTIME_STATE_DIR };
