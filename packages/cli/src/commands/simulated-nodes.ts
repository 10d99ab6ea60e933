// Book 2.3.2 and 11.2.3: `corekube simulated-nodes`, kwok-style fake nodes: N Nodes with Leases and
// a kubelet stand-in for their pods, to explore and load-test the control plane without containers.
import type { Taint } from "@corekube/api";
import { RestClient } from "@corekube/client";
import { type SimulatedNodesOptions, SimulatedNodes, parseTaint } from "@corekube/simnodes";
import { type FlagSpec, flagDurationMs, flagInt, flagList, flagValue, parseFlags, usage, UsageError } from "../flags.js";

export const simulatedNodesFlags: FlagSpec[] = [
  { name: "kubeconfig", help: "the kubeconfig to reach the API server with (default $KUBECONFIG, then ~/.kube/config)" },
  { name: "count", help: "how many nodes to register", default: "1" },
  { name: "name-prefix", help: "node names are <prefix>0 ... <prefix><count-1>", default: "sim-" },
  { name: "cpu", help: "each node's cpu capacity", default: "8" },
  { name: "memory", help: "each node's memory capacity", default: "32Gi" },
  { name: "pods", help: "how many pods each node takes", default: "110" },
  { name: "labels", help: "extra node labels, k=v,k2=v2", list: true },
  { name: "taints", help: "node taints, key=value:Effect or key:Effect, comma separated", list: true },
  { name: "heartbeat-interval", help: "how often each node renews its Lease; raise it past ~1000 nodes", default: "10s" },
  { name: "status-interval", help: "how often each node refreshes its Ready condition", default: "60s" },
  { name: "start-delay", help: "from a pod's binding to its Running status", default: "200ms" },
  { name: "complete-after", help: "how long containers of restartPolicy Never/OnFailure pods run (annotation sim.corekube.io/run-duration overrides)", default: "1s" },
  { name: "max-grace", help: "the longest a deleted pod's grace period is honoured before the deletion is confirmed", default: "1s" },
  { name: "pod-cidr-base", help: "node i gets the i-th /24 from <base>.0.0 as its pod CIDR", default: "10.244" },
  { name: "node-ip-base", help: "the InternalIPs of the nodes are taken from <base>.0.0 on", default: "172.16" },
  { name: "kube-api-qps", help: "client request rate; default: twice what the heartbeats of --count nodes need, at least 100" },
  { name: "delete-on-exit", help: "delete the Nodes and Leases on SIGINT/SIGTERM", boolean: true },
];

const SUMMARY = `Registers --count fake Nodes (like kwok) and plays the kubelet for the pods bound to them, with no
containers and no root: each node renews its Lease in kube-node-lease; a pod bound to one of them is
reported Running and Ready with an IP from the node's pod CIDR after --start-delay; pods with
restartPolicy Never or OnFailure finish after --complete-after (annotation sim.corekube.io/run-duration
sets it per pod, sim.corekube.io/result=failure makes them fail); deleted pods are removed after their
grace period (at most --max-grace). Runs until SIGINT or SIGTERM.`;

const EXAMPLE = `Examples:
  corekube simulated-nodes --kubeconfig ~/.corekube/apiserver/admin.kubeconfig --count 10
  corekube simulated-nodes --count 5000 --heartbeat-interval 30s --labels topology.kubernetes.io/zone=a --delete-on-exit`;

/** The command line as SimulatedNodes options (without the client) plus what the command itself needs. */
export interface SimulatedNodesConfig {
  kubeconfig?: string;
  qps: number;
  deleteOnExit: boolean;
  options: Omit<SimulatedNodesOptions, "client">;
}

function parseLabels(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--labels: "${item}" must look like key=value`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function parseTaints(items: string[]): Taint[] {
  return items.map((t) => {
    try {
      return parseTaint(t);
    } catch (e) {
      throw new UsageError(`--taints: ${(e as Error).message}`);
    }
  });
}

function positiveMs(p: ReturnType<typeof parseFlags>, name: string): number {
  const ms = flagDurationMs(p, simulatedNodesFlags, name);
  if (ms <= 0) throw new UsageError(`--${name} must be longer than 0`);
  return ms;
}

/** Parses and checks the flags (no I/O), so they can be tested. */
export function parseSimulatedNodesFlags(argv: string[]): SimulatedNodesConfig {
  const p = parseFlags(argv, simulatedNodesFlags);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const count = flagInt(p, simulatedNodesFlags, "count");
  const pods = flagInt(p, simulatedNodesFlags, "pods");
  const prefix = flagValue(p, simulatedNodesFlags, "name-prefix");
  if (!/^[a-z0-9]([-a-z0-9.]*)?$/.test(prefix)) throw new UsageError(`--name-prefix "${prefix}" must be lower-case letters, digits, "-" or "." and start with a letter or digit`);
  for (const name of ["cpu", "memory"]) {
    if (!/^\d+(\.\d+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.test(flagValue(p, simulatedNodesFlags, name))) {
      throw new UsageError(`--${name} must be a quantity like 8, 500m or 32Gi, got "${flagValue(p, simulatedNodesFlags, name)}"`);
    }
  }
  const heartbeatIntervalMs = positiveMs(p, "heartbeat-interval");
  const statusIntervalMs = positiveMs(p, "status-interval");
  const qpsRaw = flagValue(p, simulatedNodesFlags, "kube-api-qps");
  let qps: number;
  if (qpsRaw === "") {
    // Lease renewals plus status refreshes, with room for the pods' own writes.
    const heartbeats = count * (1000 / heartbeatIntervalMs + 1000 / statusIntervalMs);
    qps = Math.max(100, Math.ceil(heartbeats * 2));
  } else {
    qps = Number(qpsRaw);
    if (!Number.isFinite(qps) || qps <= 0) throw new UsageError(`--kube-api-qps must be a number above 0, got "${qpsRaw}"`);
  }
  for (const name of ["pod-cidr-base", "node-ip-base"]) {
    const v = flagValue(p, simulatedNodesFlags, name);
    if (!/^\d{1,3}(\.\d{1,3}){0,3}$/.test(v) || v.split(".").some((o) => Number(o) > 255)) throw new UsageError(`--${name} must be leading octets like 10.244, got "${v}"`);
  }
  return {
    kubeconfig: flagValue(p, simulatedNodesFlags, "kubeconfig") || undefined,
    qps,
    deleteOnExit: flagValue(p, simulatedNodesFlags, "delete-on-exit") === "true",
    options: {
      count,
      namePrefix: prefix,
      cpu: flagValue(p, simulatedNodesFlags, "cpu"),
      memory: flagValue(p, simulatedNodesFlags, "memory"),
      pods,
      labels: parseLabels(flagList(p, simulatedNodesFlags, "labels")),
      taints: parseTaints(flagList(p, simulatedNodesFlags, "taints")),
      heartbeatIntervalMs,
      statusIntervalMs,
      startDelayMs: flagDurationMs(p, simulatedNodesFlags, "start-delay"),
      completeAfterMs: flagDurationMs(p, simulatedNodesFlags, "complete-after"),
      maxGraceMs: flagDurationMs(p, simulatedNodesFlags, "max-grace"),
      podCIDRBase: flagValue(p, simulatedNodesFlags, "pod-cidr-base"),
      nodeIPBase: flagValue(p, simulatedNodesFlags, "node-ip-base"),
    },
  };
}

export async function simulatedNodesCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage("simulated-nodes", SUMMARY, simulatedNodesFlags, EXAMPLE));
    return 0;
  }
  const cfg = parseSimulatedNodesFlags(argv);
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} simulated-nodes ${line}\n`);
  if (cfg.options.count > 1000 && (cfg.options.heartbeatIntervalMs ?? 10_000) < 20_000) {
    log(`note: ${cfg.options.count} nodes renewing every ${cfg.options.heartbeatIntervalMs} ms is ${Math.round((cfg.options.count * 1000) / cfg.options.heartbeatIntervalMs!)} lease writes/s; consider --heartbeat-interval 20s or 30s`);
  }
  const client = await RestClient.fromKubeconfig({ path: cfg.kubeconfig, qps: cfg.qps, burst: cfg.qps * 2, userAgent: "corekube-simulated-nodes" });
  const sim = new SimulatedNodes({ ...cfg.options, client, deleteNodesOnStop: cfg.deleteOnExit, log });
  let signalled = false;
  const done = new Promise<void>((resolve) => {
    const stop = () => {
      signalled = true;
      resolve();
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  try {
    await Promise.race([sim.start(), done]);
    if (!signalled) log(`running ${cfg.options.count} node(s); Ctrl-C to stop`);
    await done;
  } finally {
    await sim.stop();
    await client.close();
  }
  return 0;
}
