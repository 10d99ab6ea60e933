// Book 11.3: `corekube controller-manager`, with kube-controller-manager's flag names: the
// controllers that turn ReplicaSets, Jobs, Services and namespaces into pods, endpoints and cleanup.
import { CONTROLLER_NAMES } from "@corekube/controllers/manager";
import { runControllerManager } from "@corekube/controllers/run";
import { type FlagSpec, flagInt, flagList, flagValue, parseFlags, usage, UsageError } from "../flags.js";

export const controllerManagerFlags: FlagSpec[] = [
  { name: "kubeconfig", help: "the kubeconfig with the API server's address and credentials (default $KUBECONFIG, then ~/.kube/config)" },
  { name: "controllers", help: `controllers to run, comma separated, "*" for all (${CONTROLLER_NAMES.join(", ")})`, default: "*", list: true },
  { name: "leader-elect", help: "take the kube-system/kube-controller-manager Lease before acting (true/false)", default: "true" },
  { name: "secure-port", help: "port for /healthz on 127.0.0.1 (plain HTTP here; 0 turns it off)", default: "10257" },
];

const SUMMARY = `Runs the controllers: each watches its objects and makes the world match them (Deployments
roll out ReplicaSets, ReplicaSets get pods, CronJobs start Jobs, Jobs run to completion, Services get
Endpoints, new namespaces a default ServiceAccount, deleted namespaces are emptied). StatefulSets,
DaemonSets, garbage collection and node lifecycle are still to come.`;

export async function controllerManagerCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage("controller-manager", SUMMARY, controllerManagerFlags));
    return 0;
  }
  const p = parseFlags(argv, controllerManagerFlags);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const controllers = flagList(p, controllerManagerFlags, "controllers");
  for (const c of controllers) {
    if (c !== "*" && !(CONTROLLER_NAMES as readonly string[]).includes(c)) throw new UsageError(`--controllers: unknown controller "${c}" (known: ${CONTROLLER_NAMES.join(", ")})`);
  }
  const le = flagValue(p, controllerManagerFlags, "leader-elect");
  if (le !== "true" && le !== "false") throw new UsageError(`--leader-elect must be true or false, got "${le}"`);
  const port = flagInt(p, controllerManagerFlags, "secure-port");
  const running = await runControllerManager({
    kubeconfig: flagValue(p, controllerManagerFlags, "kubeconfig") || undefined,
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
