// Book 2.3.2 and 11.2.3: `corekube scheduler`, started with kube-scheduler's flag names: a kubeconfig,
// an optional KubeSchedulerConfiguration file, and leader election so two schedulers can run.
import { readFile } from "node:fs/promises";
import { ConfigError, defaultConfiguration, parseSchedulerConfiguration } from "@corekube/scheduler/config";
import { IN_TREE_PLUGIN_NAMES } from "@corekube/scheduler/plugins/registry";
import { runScheduler } from "@corekube/scheduler/run";
import { type FlagSpec, flagInt, flagValue, parseFlags, usage, UsageError } from "../flags.js";

export const schedulerFlags: FlagSpec[] = [
  { name: "kubeconfig", help: "the kubeconfig with the API server's address and credentials (default $KUBECONFIG, then ~/.kube/config)" },
  { name: "config", help: "a KubeSchedulerConfiguration file (kubescheduler.config.k8s.io/v1): profiles, plugins, weights" },
  { name: "leader-elect", help: "take the kube-system/kube-scheduler Lease before scheduling (true/false; default from --config, else true)" },
  { name: "secure-port", help: "port for /healthz and /metrics on 127.0.0.1 (plain HTTP here; 0 turns it off)", default: "10259" },
  { name: "kube-api-qps", help: "requests per second to the API server (overrides the config file)" },
  { name: "kube-api-burst", help: "request burst to the API server (overrides the config file)" },
];

const SUMMARY = `Runs the scheduler: it watches pods that have no node, filters and scores the nodes for each
(resources, affinity, taints, topology spread, ...), and binds the pod to the best one. Pods that fit
nowhere get a FailedScheduling event ("0/3 nodes are available: 3 Insufficient cpu.") that
kubectl describe pod shows; higher-priority pods may preempt lower-priority ones.`;

const EXAMPLE = `Examples:
  corekube scheduler --kubeconfig /var/lib/corekube/apiserver/admin.kubeconfig
  corekube scheduler --kubeconfig admin.kubeconfig --config my-scheduler.yaml --leader-elect=false`;

export async function schedulerCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage("scheduler", SUMMARY, schedulerFlags, EXAMPLE));
    return 0;
  }
  const p = parseFlags(argv, schedulerFlags);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const configPath = flagValue(p, schedulerFlags, "config");
  let config = defaultConfiguration();
  if (configPath) {
    let text: string;
    try {
      text = await readFile(configPath, "utf8");
    } catch (e) {
      throw new UsageError(`--config: cannot read ${configPath}: ${(e as Error).message}`);
    }
    try {
      config = parseSchedulerConfiguration(text, IN_TREE_PLUGIN_NAMES);
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(`--config ${configPath}: ${e.message}`);
      throw e;
    }
  }
  const le = flagValue(p, schedulerFlags, "leader-elect");
  if (le !== "" && le !== "true" && le !== "false") throw new UsageError(`--leader-elect must be true or false, got "${le}"`);
  if (flagValue(p, schedulerFlags, "kube-api-qps") !== "") {
    const qps = Number(flagValue(p, schedulerFlags, "kube-api-qps"));
    if (!Number.isFinite(qps)) throw new UsageError("--kube-api-qps must be a number");
    config.clientConnection.qps = qps;
  }
  if (flagValue(p, schedulerFlags, "kube-api-burst") !== "") config.clientConnection.burst = Math.max(1, flagInt(p, schedulerFlags, "kube-api-burst"));
  const port = flagInt(p, schedulerFlags, "secure-port");
  const running = await runScheduler({
    kubeconfig: flagValue(p, schedulerFlags, "kubeconfig") || undefined,
    config,
    leaderElect: le === "" ? undefined : le === "true",
    healthPort: port === 0 ? undefined : port,
  });
  process.stderr.write(`scheduler: running${running.healthUrl ? `; health at ${running.healthUrl}/healthz` : ""}\n`);
  const why = await new Promise<"signal" | "lost">((resolve) => {
    process.once("SIGINT", () => resolve("signal"));
    process.once("SIGTERM", () => resolve("signal"));
    void running.lost.then(() => resolve("lost"));
  });
  await running.stop();
  if (why === "lost") {
    process.stderr.write("scheduler: leader election lost; exiting so that only one scheduler acts\n");
    return 1;
  }
  return 0;
}
