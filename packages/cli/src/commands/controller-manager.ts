// Book 11.3: `corekube controller-manager`, with kube-controller-manager's flag names: the
// controllers that turn ReplicaSets, Jobs, Services and namespaces into pods, endpoints and cleanup.
import { CONTROLLER_NAMES } from "@corekube/controllers/manager";
import { runControllerManager } from "@corekube/controllers/run";
import { type FlagSpec, flagDurationMs, flagInt, flagList, flagValue, parseFlags, usage, UsageError } from "../flags.js";

export const controllerManagerFlags: FlagSpec[] = [
  { name: "kubeconfig", help: "the kubeconfig with the API server's address and credentials (default $KUBECONFIG, then ~/.kube/config)" },
  { name: "controllers", help: `controllers to run, comma separated, "*" for all (${CONTROLLER_NAMES.join(", ")})`, default: "*", list: true },
  { name: "leader-elect", help: "take the kube-system/kube-controller-manager Lease before acting (true/false)", default: "true" },
  { name: "secure-port", help: "port for /healthz and /metrics on 127.0.0.1 (plain HTTP here; 0 turns it off)", default: "10257" },
  { name: "kube-api-qps", help: "requests per second to the API server, averaged (0: no limit)", default: "100" },
  { name: "kube-api-burst", help: "requests allowed at once above --kube-api-qps", default: "200" },
  { name: "cluster-cidr", help: "the pod range; with it the nodeipam controller gives each node a spec.podCIDR from it (e.g. 10.244.0.0/16)", default: "" },
  { name: "node-cidr-mask-size", help: "prefix length of each node's podCIDR", default: "24" },
  { name: "node-monitor-grace-period", help: "how long a node may stop renewing its Lease before it is marked Unknown and tainted", default: "40s" },
  { name: "terminated-pod-gc-threshold", help: "finished pods kept before the pod garbage collector deletes the oldest (0: never)", default: "12500" },
  { name: "root-ca-file", help: "PEM CA bundle published as ConfigMap kube-root-ca.crt in every namespace (default: the kubeconfig's certificate authority)", default: "" },
  { name: "default-not-ready-toleration-seconds", help: "how long pods without their own toleration stay on an unreachable or not-ready node", default: "300" },
];

const SUMMARY = `Runs the controllers: each watches its objects and makes the world match them (Deployments
roll out ReplicaSets, ReplicaSets, StatefulSets and DaemonSets get pods, CronJobs start Jobs, Jobs run to
completion, Services get Endpoints, new namespaces a default ServiceAccount and the cluster CA in
ConfigMap kube-root-ca.crt, deleted namespaces are emptied, the garbage collector follows
ownerReferences, silent nodes are tainted and their pods evicted, nodes get pod ranges). "-name" in --controllers turns one controller off.`;

export async function controllerManagerCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage("controller-manager", SUMMARY, controllerManagerFlags));
    return 0;
  }
  const p = parseFlags(argv, controllerManagerFlags);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const controllers = flagList(p, controllerManagerFlags, "controllers");
  for (const c of controllers) {
    if (c !== "*" && !(CONTROLLER_NAMES as readonly string[]).includes(c.replace(/^-/, ""))) throw new UsageError(`--controllers: unknown controller "${c}" (known: ${CONTROLLER_NAMES.join(", ")})`);
  }
  const le = flagValue(p, controllerManagerFlags, "leader-elect");
  if (le !== "true" && le !== "false") throw new UsageError(`--leader-elect must be true or false, got "${le}"`);
  const port = flagInt(p, controllerManagerFlags, "secure-port");
  const clusterCIDR = flagValue(p, controllerManagerFlags, "cluster-cidr") || undefined;
  if (clusterCIDR !== undefined && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(clusterCIDR)) throw new UsageError(`--cluster-cidr must be an IPv4 range like 10.244.0.0/16, got "${clusterCIDR}"`);
  const mask = flagInt(p, controllerManagerFlags, "node-cidr-mask-size");
  if (clusterCIDR && (mask > 30 || mask < Number(clusterCIDR.split("/")[1]))) throw new UsageError(`--node-cidr-mask-size ${mask} must lie between the --cluster-cidr prefix and 30`);
  if (controllers.includes("nodeipam") && !clusterCIDR) throw new UsageError("the nodeipam controller needs --cluster-cidr");
  const running = await runControllerManager({
    clusterCIDR,
    kubeApiQps: flagInt(p, controllerManagerFlags, "kube-api-qps"),
    kubeApiBurst: flagInt(p, controllerManagerFlags, "kube-api-burst"),
    nodeCIDRMaskSize: mask,
    nodeMonitorGracePeriodMs: flagDurationMs(p, controllerManagerFlags, "node-monitor-grace-period"),
    defaultTolerationSeconds: flagInt(p, controllerManagerFlags, "default-not-ready-toleration-seconds"),
    terminatedPodGCThreshold: flagInt(p, controllerManagerFlags, "terminated-pod-gc-threshold"),
    kubeconfig: flagValue(p, controllerManagerFlags, "kubeconfig") || undefined,
    rootCAFile: flagValue(p, controllerManagerFlags, "root-ca-file") || undefined,
    controllers,
    leaderElect: le === "true",
    healthPort: port === 0 ? undefined : port,
  });
  process.stderr.write(`controller-manager: running${running.healthUrl ? `; health at ${running.healthUrl}/healthz` : ""}\n`);
  const why = await new Promise<"signal" | "lost">((resolve) => {
    process.once("SIGINT", () => resolve("signal"));
    process.once("SIGTERM", () => resolve("signal"));
    void running.lost.then(() => resolve("lost"));
  });
  await running.stop();
  if (why === "lost") {
    process.stderr.write("controller-manager: leader election lost; exiting\n");
    return 1;
  }
  return 0;
}
