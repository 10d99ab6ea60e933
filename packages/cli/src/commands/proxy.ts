// Book 5.2, 6.3 and 10.1: `corekube proxy`, with kube-proxy's flag names: Services and EndpointSlices
// become iptables rules (KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-… DNAT) on this node; --cleanup removes them.
import { hostname } from "node:os";
import { cleanupProxyRules, runProxy } from "@corekube/proxy/run";
import { type FlagSpec, flagDurationMs, flagValue, parseFlags, usage, UsageError } from "../flags.js";

export const proxyFlags: FlagSpec[] = [
  { name: "kubeconfig", help: "the kubeconfig with the API server's address and credentials (default $KUBECONFIG, then ~/.kube/config)" },
  { name: "hostname-override", help: "this node's name (for externalTrafficPolicy: Local); default: the hostname", default: "" },
  { name: "cluster-cidr", help: "the pod range: traffic to a ClusterIP from outside it is masqueraded", default: "" },
  { name: "proxy-mode", help: "how Services are programmed (only iptables here)", default: "iptables" },
  { name: "iptables-backend", help: "auto (what `iptables --version` says), nft or legacy", default: "auto" },
  { name: "cleanup", help: "remove every chain and jump rule the proxy made, then exit", boolean: true },
  { name: "healthz-bind-address", help: "address:port of /healthz (empty: off)", default: "127.0.0.1:10256" },
  { name: "metrics-bind-address", help: "address:port of /metrics (empty: off)", default: "127.0.0.1:10249" },
  { name: "iptables-sync-period", help: "the longest time between two syncs", default: "30s" },
  { name: "iptables-min-sync-period", help: "the shortest time between two syncs (changes in between are batched)", default: "1s" },
];

const SUMMARY = `Runs the Service proxy in iptables mode, as kube-proxy does: each Service port gets a KUBE-SVC chain
that picks one of its ready endpoints at random (statistic probabilities 1/(n-i)) and DNATs to it
through a KUBE-SEP chain; NodePorts, session affinity, externalTrafficPolicy Local and REJECT for a
Service without endpoints too. Rules go in with iptables-restore --noflush, only the changed chains
after the first sync. See them with: iptables-save -t nat | grep KUBE-`;

const EXAMPLE = `Examples:
  corekube proxy --kubeconfig /var/lib/corekube/apiserver/admin.kubeconfig --cluster-cidr 10.244.0.0/16
  corekube proxy --cleanup`;

export async function proxyCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage("proxy", SUMMARY, proxyFlags, EXAMPLE));
    return 0;
  }
  const p = parseFlags(argv, proxyFlags);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const v = (n: string) => flagValue(p, proxyFlags, n);
  if (v("proxy-mode") !== "iptables") throw new UsageError(`--proxy-mode: only "iptables" is implemented, got "${v("proxy-mode")}"`);
  const backend = v("iptables-backend");
  if (backend !== "auto" && backend !== "nft" && backend !== "legacy") throw new UsageError(`--iptables-backend must be auto, nft or legacy, got "${backend}"`);
  if (process.getuid?.() !== 0) throw new UsageError("the proxy writes iptables rules: it must run as root");
  if (p.flags.has("cleanup")) {
    const r = await cleanupProxyRules(backend);
    const removed = Object.entries(r.removed).map(([t, chains]) => `${t}: ${chains.length} chains`).join(", ");
    process.stdout.write(`proxy cleanup (${r.backend}): removed ${removed || "nothing"}\n`);
    return 0;
  }
  const cidr = v("cluster-cidr");
  if (cidr && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr)) throw new UsageError(`--cluster-cidr must be an IPv4 range like 10.244.0.0/16, got "${cidr}"`);
  const running = await runProxy({
    kubeconfig: v("kubeconfig") || undefined,
    nodeName: v("hostname-override") || hostname().toLowerCase(),
    clusterCIDR: cidr || undefined,
    backend,
    healthzBindAddress: v("healthz-bind-address"),
    metricsBindAddress: v("metrics-bind-address"),
    syncPeriodMs: flagDurationMs(p, proxyFlags, "iptables-sync-period"),
    minSyncPeriodMs: flagDurationMs(p, proxyFlags, "iptables-min-sync-period"),
    log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
  }).catch((e: Error) => {
    if (/bind address|not an IPv4 CIDR/.test(e.message)) throw new UsageError(e.message);
    throw e;
  });
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  // Rules stay: traffic keeps flowing while the proxy is down or restarting (as with kube-proxy).
  await running.stop();
  return 0;
}
