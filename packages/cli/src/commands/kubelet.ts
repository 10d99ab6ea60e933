// Book 9.1-9.2: `corekube kubelet`, with the kubelet's flag names: the node agent that runs the pods
// bound to its node with our Linux runtime (namespaces, overlayfs, cgroups, CNI). Linux, as root.
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { runKubelet } from "@corekube/kubelet/kubelet";
import { pickNodeIP } from "@corekube/kubelet/node/machine";
import { parseLogSize } from "@corekube/kubelet/runtime/log";
import { ensurePki, issueServingCert } from "@corekube/apiserver/pki/pki";
import { type FlagSpec, flagDurationMs, flagInt, flagList, flagValue, parseFlags, usage, UsageError } from "../flags.js";

export const kubeletFlags: FlagSpec[] = [
  { name: "kubeconfig", help: "the kubeconfig with the API server's address and credentials (default $KUBECONFIG, then ~/.kube/config)" },
  { name: "hostname-override", help: "the Node's name (default: this machine's hostname)", default: "" },
  { name: "root-dir", help: "the kubelet's state: volumes, CNI leases; images go beside it", default: "/var/lib/corekube/kubelet" },
  { name: "pod-cidr", help: "the pod range when the Node gets none from the controller-manager's node IPAM", default: "" },
  { name: "node-ip", help: "the Node's InternalIP (default: the first non-loopback IPv4 address)", default: "" },
  { name: "cluster-dns", help: "nameservers for ClusterFirst pods, comma separated (none: pods use this node's resolv.conf)", default: "", list: true },
  { name: "cluster-domain", help: "the cluster's DNS domain", default: "cluster.local" },
  { name: "cni-conf-dir", help: "where the pod network's conflist is written and read", default: "/etc/cni/net.d" },
  { name: "cni-plugins", help: 'which plugins the written conflist uses: "corekube" (our corekube-bridge) or "reference" (bridge + host-local)', default: "corekube" },
  { name: "max-pods", help: "pods this node takes", default: "110" },
  { name: "port", help: "port of the HTTPS API (logs, exec, stats) the API server talks to", default: "10250" },
  { name: "tls-cert-file", help: "serving certificate of the HTTPS API (with --tls-private-key-file)", default: "" },
  { name: "tls-private-key-file", help: "its key", default: "" },
  { name: "client-ca-file", help: "CA that signs the API server's client certificate", default: "" },
  { name: "pki-dir", help: "the API server's pki directory (ca.crt, ca.key): the kubelet issues its own serving certificate from it", default: "" },
  { name: "image-root", help: "the image store (default <root-dir>/../images)", default: "" },
  { name: "sync-frequency", help: "how often each pod is synced when nothing happens to it", default: "1m" },
  { name: "crash-loop-max-backoff", help: "cap of the CrashLoopBackOff delay", default: "5m" },
  { name: "runtime-state-dir", help: "the container runtime's state: sandboxes, containers, shim sockets (tmpfs: it does not survive a reboot)", default: "/run/corekube/runtime" },
  { name: "pod-log-dir", help: "where container logs go, one directory per pod", default: "/var/log/pods" },
  { name: "cni-bridge", help: "the Linux bridge pods are plugged into", default: "corekube0" },
  { name: "cni-network-name", help: "the CNI network's name (also the IPAM lease directory under <root-dir>/cni-networks)", default: "corekube" },
  { name: "kubepods-name", help: "the cgroup every pod lives under", default: "kubepods" },
  { name: "container-log-max-size", help: "a container's log file is rotated when it reaches this size", default: "10Mi" },
  { name: "container-log-max-files", help: "log files kept per container, the current one included (at least 2)", default: "5" },
  { name: "image-gc-high-threshold", help: "percent of the image filesystem's disk in use above which unused images are removed (100: never)", default: "85" },
  { name: "image-gc-low-threshold", help: "percent of disk in use that image garbage collection frees down to", default: "80" },
  { name: "image-minimum-gc-age", help: "an image newer than this is never garbage collected", default: "2m" },
  { name: "image-maximum-gc-age", help: "an image unused for this long is removed whatever the disk usage (0: off)", default: "0s" },
];

const SUMMARY = `Runs the kubelet: it registers this machine as a Node, renews its Lease, and runs every pod
bound to it: a pause process holding the pod's namespaces, a veth on the corekube0 bridge from CNI,
each container in its own mount and PID namespace on an overlayfs root with pivot_root, in cgroups
made from its requests and limits. Its HTTPS API serves kubectl logs and exec through the API server.`;

const EXAMPLE = `Examples:
  corekube kubelet --kubeconfig /var/lib/corekube/apiserver/admin.kubeconfig --pki-dir /var/lib/corekube/apiserver/pki
  corekube images import /var/lib/corekube/images-src/busybox    # the first image, no registry needed`;

export async function kubeletCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage("kubelet", SUMMARY, kubeletFlags, EXAMPLE));
    return 0;
  }
  const p = parseFlags(argv, kubeletFlags);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  if (process.platform !== "linux") throw new UsageError("the kubelet runs pods with Linux namespaces and cgroups: it needs Linux");
  if (process.getuid?.() !== 0) throw new UsageError("the kubelet must run as root (it creates namespaces, mounts, cgroups and network devices)");
  const v = (n: string) => flagValue(p, kubeletFlags, n);
  const nodeName = v("hostname-override") || hostname().toLowerCase();
  const plugins = v("cni-plugins");
  if (plugins !== "corekube" && plugins !== "reference") throw new UsageError(`--cni-plugins must be "corekube" or "reference", got "${plugins}"`);
  const podCIDR = v("pod-cidr");
  if (podCIDR && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(podCIDR)) throw new UsageError(`--pod-cidr must be an IPv4 range like 10.244.0.0/24, got "${podCIDR}"`);
  const port = flagInt(p, kubeletFlags, "port");
  for (const flag of ["cni-bridge", "cni-network-name", "kubepods-name"]) {
    if (!/^[A-Za-z0-9_.-]+$/.test(v(flag))) throw new UsageError(`--${flag} must be a plain name (letters, digits, "_", ".", "-"), got "${v(flag)}"`);
  }
  if (v("cni-bridge").length > 15) throw new UsageError(`--cni-bridge must be at most 15 characters (a Linux interface name), got "${v("cni-bridge")}"`);

  let logMaxBytes: number;
  try {
    logMaxBytes = parseLogSize(v("container-log-max-size"));
  } catch (e) {
    throw new UsageError(`--container-log-max-size: ${(e as Error).message}`);
  }
  const logMaxFiles = flagInt(p, kubeletFlags, "container-log-max-files");
  if (logMaxFiles < 2) throw new UsageError(`--container-log-max-files must be at least 2 (the current file and one rotated), got ${logMaxFiles}`);
  const gcHigh = flagInt(p, kubeletFlags, "image-gc-high-threshold");
  const gcLow = flagInt(p, kubeletFlags, "image-gc-low-threshold");
  if (gcHigh < 0 || gcHigh > 100 || gcLow < 0 || gcLow > 100 || gcLow > gcHigh) {
    throw new UsageError(`--image-gc-low-threshold (${gcLow}) and --image-gc-high-threshold (${gcHigh}) must be percents with low ≤ high`);
  }

  let tls: { cert: string; key: string; clientCA: string } | undefined;
  const read = async (flag: string) => {
    try {
      return await readFile(v(flag), "utf8");
    } catch (e) {
      throw new UsageError(`--${flag}: cannot read ${v(flag)}: ${(e as Error).message}`);
    }
  };
  if (v("tls-cert-file") || v("tls-private-key-file")) {
    if (!v("tls-cert-file") || !v("tls-private-key-file") || !v("client-ca-file")) throw new UsageError("--tls-cert-file, --tls-private-key-file and --client-ca-file go together");
    tls = { cert: await read("tls-cert-file"), key: await read("tls-private-key-file"), clientCA: await read("client-ca-file") };
  } else if (v("pki-dir")) {
    const pki = await ensurePki(v("pki-dir"), { hosts: [] });
    // The API server dials the Node's InternalIP: the certificate must name it.
    const serving = await issueServingCert(pki, nodeName, [...new Set(["127.0.0.1", pickNodeIP(v("node-ip") || undefined), nodeName])]);
    tls = { cert: serving.certPem, key: serving.keyPem, clientCA: pki.ca.certPem };
  } else process.stderr.write("kubelet: no --pki-dir or --tls-cert-file: kubectl logs and exec will not reach this node\n");

  const running = await runKubelet({
    kubeconfig: v("kubeconfig") || undefined,
    nodeName,
    rootDir: v("root-dir"),
    imageRoot: v("image-root") || join(v("root-dir"), "..", "images"),
    podCIDR: podCIDR || undefined,
    nodeIP: v("node-ip") || undefined,
    clusterDNS: flagList(p, kubeletFlags, "cluster-dns").filter(Boolean),
    clusterDomain: v("cluster-domain"),
    cniConfDir: v("cni-conf-dir"),
    cniPlugins: plugins,
    cniBridge: v("cni-bridge"),
    cniNetworkName: v("cni-network-name"),
    kubepodsName: v("kubepods-name"),
    runtimeStateDir: v("runtime-state-dir"),
    podLogDir: v("pod-log-dir"),
    maxPods: flagInt(p, kubeletFlags, "max-pods"),
    serverPort: port,
    tls,
    backoffMaxMs: flagDurationMs(p, kubeletFlags, "crash-loop-max-backoff"),
    resyncMs: flagDurationMs(p, kubeletFlags, "sync-frequency"),
    logRotation: { maxBytes: logMaxBytes, maxFiles: logMaxFiles },
    imageGC: {
      highThresholdPercent: gcHigh,
      lowThresholdPercent: gcLow,
      minAgeMs: flagDurationMs(p, kubeletFlags, "image-minimum-gc-age"),
      maxAgeMs: flagDurationMs(p, kubeletFlags, "image-maximum-gc-age"),
    },
  });
  const why = await new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("signal"));
    process.once("SIGTERM", () => resolve("signal"));
  });
  process.stderr.write(`kubelet: stopping (${why}); pods keep running and a restarted kubelet adopts them\n`);
  await running.stop();
  return 0;
}
