// Book 5.2 and 10.3: `corekube dns`, with CoreDNS-like settings as flags: the cluster's DNS server that
// pods reach at the kube-dns Service's ClusterIP (A/AAAA/SRV/PTR for Services and pods, other names forwarded).
import { runDns } from "@corekube/dns/run";
import { type FlagSpec, flagDurationMs, flagInt, flagList, flagValue, parseFlags, usage, UsageError } from "../flags.js";

export const dnsFlags: FlagSpec[] = [
  { name: "kubeconfig", help: "the kubeconfig with the API server's address and credentials (default $KUBECONFIG, then ~/.kube/config)" },
  { name: "cluster-domain", help: "the zone answered from Services and pods", default: "cluster.local" },
  { name: "listen", help: "address:port for DNS over UDP and TCP", default: "0.0.0.0:53" },
  { name: "resolv-conf", help: "where the upstream resolvers for other names come from (on systemd-resolved hosts use /run/systemd/resolve/resolv.conf)", default: "/etc/resolv.conf" },
  { name: "upstream", help: "upstream resolvers (IP or IP:port, comma separated), instead of --resolv-conf's", default: "", list: true },
  { name: "health-address", help: "address:port of /health and /ready (empty: off)", default: "127.0.0.1:8080" },
  { name: "metrics-address", help: "address:port of /metrics (empty: off)", default: "127.0.0.1:9153" },
  { name: "ttl", help: "TTL in seconds of the cluster's answers", default: "5" },
  { name: "pods", help: 'pod records <a-b-c-d>.<ns>.pod.<domain>: "insecure" (any IP), "verified" (only real pods) or "disabled"', default: "insecure" },
  { name: "forward-timeout", help: "how long one upstream may take before the next is tried", default: "2s" },
  { name: "cache-size", help: "forwarded answers kept", default: "10000" },
];

const SUMMARY = `Runs the cluster DNS server: <svc>.<ns>.svc.<domain> gives a Service's ClusterIP (headless:
its ready endpoints), _<port>._<proto>.<svc>... gives SRV records, StatefulSet pods get stable names,
<a-b-c-d>.<ns>.pod.<domain> answers a pod IP, reverse lookups work; other names are forwarded and cached.`;

const EXAMPLE = `Examples:
  corekube dns --kubeconfig /var/lib/corekube/apiserver/admin.kubeconfig --listen 127.0.0.1:1053
  dig @127.0.0.1 -p 1053 kubernetes.default.svc.cluster.local`;

export async function dnsCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage("dns", SUMMARY, dnsFlags, EXAMPLE));
    return 0;
  }
  const p = parseFlags(argv, dnsFlags);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const v = (n: string) => flagValue(p, dnsFlags, n);
  const pods = v("pods");
  if (pods !== "insecure" && pods !== "verified" && pods !== "disabled") throw new UsageError(`--pods must be insecure, verified or disabled, got "${pods}"`);
  if (!/^[^:]*:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/.test(v("listen"))) throw new UsageError(`--listen must be address:port (e.g. 0.0.0.0:53), got "${v("listen")}"`);
  const ttl = flagInt(p, dnsFlags, "ttl");
  if (ttl < 0) throw new UsageError(`--ttl must be 0 or more, got ${ttl}`);
  const upstreams = flagList(p, dnsFlags, "upstream").filter(Boolean);
  const running = await runDns({
    kubeconfig: v("kubeconfig") || undefined,
    clusterDomain: v("cluster-domain"),
    listen: v("listen"),
    resolvConf: v("resolv-conf"),
    upstreams: upstreams.length > 0 ? upstreams : undefined,
    healthAddress: v("health-address"),
    metricsAddress: v("metrics-address"),
    ttl,
    pods,
    forwardTimeoutMs: flagDurationMs(p, dnsFlags, "forward-timeout"),
    cacheSize: flagInt(p, dnsFlags, "cache-size"),
    log: (line) => process.stderr.write(`${new Date().toISOString()} dns ${line}\n`),
  });
  process.stderr.write(`${new Date().toISOString()} dns serving on ${v("listen").replace(/:\d+$/, "")}:${running.port}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  await running.stop();
  return 0;
}
