// Book 1.6.1 and 11.2: `corekube apiserver`, started with kube-apiserver's own flag names.
import { startApiServer } from "@corekube/apiserver/server/run";
import { type FlagSpec, flagInt, flagList, flagValue, parseFlags, usage, UsageError } from "../flags.js";

export const apiserverFlags: FlagSpec[] = [
  { name: "etcd-servers", help: "the storage: corekube kv or etcd client URLs (etcd's v3 JSON API), comma separated", default: "http://127.0.0.1:2379", list: true },
  { name: "state-dir", help: "where certificates (pki/) and admin.kubeconfig are kept (default /var/lib/corekube/apiserver, or $COREKUBE_STATE_DIR/apiserver)" },
  { name: "secure-port", help: "the HTTPS port", default: "6443" },
  { name: "bind-address", help: "the address to listen on", default: "127.0.0.1" },
  { name: "advertise-address", help: "the address clients and other components should use (default: --bind-address, or 127.0.0.1 when that is 0.0.0.0)" },
  { name: "service-cluster-ip-range", help: "the CIDR ClusterIPs of Services come from; its first address belongs to the kubernetes Service", default: "10.96.0.0/12" },
  { name: "service-node-port-range", help: "the ports NodePort Services get", default: "30000-32767" },
  { name: "tls-cert-file", help: "the serving certificate (PEM); without it one signed by our own CA is made under <state-dir>/pki" },
  { name: "tls-private-key-file", help: "the key of --tls-cert-file" },
  { name: "client-ca-file", help: "the CA whose client certificates are accepted (CN = user, O = groups); default the generated CA" },
  { name: "token-auth-file", help: "a CSV of bearer tokens: token,user,uid,\"group1,group2\"" },
  { name: "service-account-issuer", help: "the iss of ServiceAccount tokens; the first signs, all are accepted (comma separated)", default: "https://kubernetes.default.svc.cluster.local", list: true },
  { name: "service-account-signing-key-file", help: "private key (PEM) that signs ServiceAccount tokens (default <state-dir>/pki/sa.key, made on first start)", default: "" },
  { name: "service-account-key-file", help: "public keys (PEM files, comma separated) that verify ServiceAccount tokens (default: the signing key's)", default: "", list: true },
  { name: "api-audiences", help: "audiences a ServiceAccount token must name (comma separated; default: the issuer)", default: "", list: true },
];

const SUMMARY = `Runs the Kubernetes API server: REST for the built-in kinds and CRDs, with watch, discovery,
OpenAPI, patch (JSON, merge, strategic, server-side apply), admission and authentication.
On first start it creates a CA, a serving certificate and an admin client certificate, and writes
<state-dir>/admin.kubeconfig, so that KUBECONFIG=<state-dir>/admin.kubeconfig kubectl get ns works.`;

const EXAMPLE = `Examples:
  corekube kv --name solo --data-dir /tmp/solo --listen-client-urls http://127.0.0.1:2379 &
  corekube apiserver --etcd-servers http://127.0.0.1:2379 --state-dir /tmp/api
  KUBECONFIG=/tmp/api/admin.kubeconfig kubectl get namespaces`;

export function defaultApiserverStateDir(): string {
  const base = process.env.COREKUBE_STATE_DIR || (process.getuid?.() === 0 ? "/var/lib/corekube" : `${process.env.HOME ?? "."}/.corekube`);
  return `${base}/apiserver`;
}

export async function apiserverCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage("apiserver", SUMMARY, apiserverFlags, EXAMPLE));
    return 0;
  }
  const p = parseFlags(argv, apiserverFlags);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const etcdServers = flagList(p, apiserverFlags, "etcd-servers");
  for (const u of etcdServers) {
    try {
      new URL(u);
    } catch {
      throw new UsageError(`--etcd-servers: "${u}" is not a URL (expected e.g. http://127.0.0.1:2379)`);
    }
  }
  const port = flagInt(p, apiserverFlags, "secure-port");
  if (port < 0 || port > 65535) throw new UsageError(`--secure-port must be 0..65535, got ${port}`);
  const cert = flagValue(p, apiserverFlags, "tls-cert-file");
  const key = flagValue(p, apiserverFlags, "tls-private-key-file");
  if (Boolean(cert) !== Boolean(key)) throw new UsageError("--tls-cert-file and --tls-private-key-file go together");
  const running = await startApiServer({
    etcdServers,
    stateDir: flagValue(p, apiserverFlags, "state-dir") || defaultApiserverStateDir(),
    securePort: port,
    bindAddress: flagValue(p, apiserverFlags, "bind-address"),
    advertiseAddress: flagValue(p, apiserverFlags, "advertise-address") || undefined,
    serviceClusterIpRange: flagValue(p, apiserverFlags, "service-cluster-ip-range"),
    serviceNodePortRange: flagValue(p, apiserverFlags, "service-node-port-range"),
    tlsCertFile: cert || undefined,
    tlsPrivateKeyFile: key || undefined,
    clientCaFile: flagValue(p, apiserverFlags, "client-ca-file") || undefined,
    tokenAuthFile: flagValue(p, apiserverFlags, "token-auth-file") || undefined,
    serviceAccountIssuer: flagList(p, apiserverFlags, "service-account-issuer").filter(Boolean),
    serviceAccountSigningKeyFile: flagValue(p, apiserverFlags, "service-account-signing-key-file") || undefined,
    serviceAccountKeyFiles: flagList(p, apiserverFlags, "service-account-key-file").filter(Boolean),
    apiAudiences: flagList(p, apiserverFlags, "api-audiences").filter(Boolean),
    log: (line) => process.stderr.write(`${new Date().toISOString()} apiserver ${line}\n`),
  }).catch((e: Error) => {
    if (/not an IPv4 CIDR|not a usable|not a port range/.test(e.message)) throw new UsageError(e.message);
    throw e;
  });
  process.stderr.write(`${new Date().toISOString()} apiserver serving on ${running.url}${running.kubeconfigPath ? `; admin kubeconfig: ${running.kubeconfigPath}` : ""}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  await running.close();
  return 0;
}
