// Test support (Book 9.1-9.3): a real control plane with busybox ready to import, and test nodes whose
// kubelet (in this process, or `corekube kubelet` as a child) uses unique bridge, network, kubepods
// and state-directory names; cleanup removes pods, sandboxes, cgroups, the bridge and host net state.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Pod } from "@corekube/api";
import { NODES, PODS, RestClient } from "@corekube/client";
import { newCgroupDriver } from "@corekube/kubelet/cgroups/detect";
import { removeNodeNetwork } from "@corekube/kubelet/cni/conf";
import { CniClient } from "@corekube/kubelet/cni/client";
import { importOciLayout } from "@corekube/kubelet/images/oci-layout";
import { ImageStore } from "@corekube/kubelet/images/store";
import { type KubeletOptions, OWN_CNI_BIN_DIR, type RunningKubelet, runKubelet } from "@corekube/kubelet/kubelet";
import { LinuxRuntime } from "@corekube/kubelet/runtime/runtime";
import { ensurePki, issueServingCert } from "../../packages/apiserver/src/pki/pki.js";
import { type ControlPlane, startControlPlane } from "../support/apiserver-process.js";
import { eventually } from "../support/eventually.js";
import { snapshotHostNet } from "../support/host-net.js";
import { type Kubectl, kubectl } from "../support/kubectl.js";
import { freePort } from "../support/ports.js";

export const isRoot = process.getuid?.() === 0;
export const BUSYBOX = "docker.io/library/busybox:1.35";

export interface Cluster {
  cp: ControlPlane;
  client: RestClient;
  k: Kubectl;
  /** A scratch directory removed by stop(). */
  work: string;
  /** busybox as an OCI layout (scripts/build-busybox-image.sh). */
  layout: string;
  stop(): Promise<void>;
}

/** scripts/build-busybox-image.sh into `layout`; its stderr goes into the error when it fails. */
function buildBusybox(layout: string): void {
  try {
    execFileSync("bash", [resolve("scripts/build-busybox-image.sh"), layout], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    throw new Error(`scripts/build-busybox-image.sh failed: ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message)}`);
  }
}

/** The API server, kubectl 1.33 and the busybox layout; records the host's net state to put back. */
export async function startCluster(): Promise<Cluster> {
  const restoreHostNet = snapshotHostNet();
  const work = mkdtempSync(join(tmpdir(), "ck-kubelet-"));
  let cp: ControlPlane | undefined;
  let client: RestClient | undefined;
  try {
    cp = await startControlPlane();
    client = await RestClient.fromKubeconfig({ path: cp.kubeconfig, qps: 0 });
    const layout = join(work, "busybox-layout");
    buildBusybox(layout);
    const k = kubectl("1.33", cp.kubeconfig);
    const [started, rest] = [cp, client];
    return {
      cp: started,
      client: rest,
      k,
      work,
      layout,
      async stop() {
        k.cleanup();
        await rest.close();
        await started.stop();
        rmSync(work, { recursive: true, force: true });
        restoreHostNet();
      },
    };
  } catch (e) {
    // A half-started cluster is taken down here: afterAll never sees it.
    await client?.close().catch(() => undefined);
    await cp?.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
    restoreHostNet();
    throw e;
  }
}

/** A /24 in 10.200-239.x.0 that no route on this host uses yet. */
function freePodCIDR(): { cidr: string; prefix: string } {
  const routes = execFileSync("ip", ["-4", "route", "show", "table", "all"], { encoding: "utf8" });
  for (;;) {
    const b = randomBytes(2);
    const prefix = `10.${200 + (b[0]! % 40)}.${b[1]!}.`;
    if (!routes.includes(prefix)) return { cidr: `${prefix}0/24`, prefix };
  }
}

export interface TestNode {
  name: string;
  bridge: string;
  network: string;
  podCIDR: string;
  /** "10.x.y." — every pod IP of this node starts with it. */
  podPrefix: string;
  kubepods: string;
  port: number;
  runtimeDir: string;
  rootDir: string;
  imageRoot: string;
  podLogDir: string;
  cniConfDir: string;
  cniPlugins: "corekube" | "reference";
  /** The last lines the in-process kubelet logged (for failure messages). */
  logs: string[];
  /** The kubelet started by start(), while it runs. */
  kl?: RunningKubelet;
  /** Runs the kubelet in this process with fast backoff and resync. */
  start(extra?: Partial<KubeletOptions>): Promise<RunningKubelet>;
  /** Flags for `corekube kubelet` that give the same node. */
  cliArgs(): string[];
  /** A pod of this node by name (namespace default). */
  pod(name: string): Promise<Pod>;
  /** Deletes this node's pods, stops its kubelet, and removes everything it made on the host. */
  cleanup(): Promise<void>;
}

/** Names and directories for one node; busybox:1.35 is imported into its image store. */
export async function prepareNode(cluster: Cluster, o: { cniPlugins?: "corekube" | "reference"; prefix?: string } = {}): Promise<TestNode> {
  const r = randomBytes(3).toString("hex");
  const pre = o.prefix ?? "kl";
  const dir = join(cluster.work, `node-${r}`);
  const { cidr, prefix } = freePodCIDR();
  const port = await freePort();
  const imageRoot = join(dir, "images");
  await importOciLayout(new ImageStore({ root: imageRoot }), cluster.layout, { name: BUSYBOX });
  const { client, cp } = cluster;
  const node: TestNode = {
    name: `${pre}-${r}`,
    bridge: `ck${pre.slice(0, 3)}${r}`,
    network: `ck-${pre}-${r}`,
    podCIDR: cidr,
    podPrefix: prefix,
    kubepods: `kubepods-ck-${r}`,
    port,
    runtimeDir: `/run/ck-${r}`,
    rootDir: join(dir, "kubelet"),
    imageRoot,
    podLogDir: join(dir, "logs"),
    cniConfDir: join(dir, "cni"),
    cniPlugins: o.cniPlugins ?? "corekube",
    logs: [],
    async start(extra = {}) {
      const pki = await ensurePki(join(cp.stateDir, "pki"), { hosts: [] });
      const serving = await issueServingCert(pki, node.name, ["127.0.0.1"]);
      node.kl = await runKubelet({
        kubeconfig: cp.kubeconfig,
        nodeName: node.name,
        nodeIP: "127.0.0.1",
        rootDir: node.rootDir,
        runtimeStateDir: node.runtimeDir,
        imageRoot: node.imageRoot,
        podLogDir: node.podLogDir,
        podCIDR: node.podCIDR,
        cniConfDir: node.cniConfDir,
        cniPlugins: node.cniPlugins,
        cniBridge: node.bridge,
        cniNetworkName: node.network,
        serverPort: node.port,
        kubepodsName: node.kubepods,
        tls: { cert: serving.certPem, key: serving.keyPem, clientCA: pki.ca.certPem },
        backoffInitialMs: 500,
        backoffMaxMs: 2000,
        resyncMs: 1000,
        nodeStatusIntervalMs: 1000,
        log: (line) => {
          node.logs.push(line);
          if (node.logs.length > 400) node.logs.splice(0, 200);
        },
        ...extra,
      });
      return node.kl;
    },
    cliArgs() {
      return [
        "--kubeconfig", cp.kubeconfig,
        "--hostname-override", node.name,
        "--node-ip", "127.0.0.1",
        "--root-dir", node.rootDir,
        "--image-root", node.imageRoot,
        "--pod-cidr", node.podCIDR,
        "--cni-conf-dir", node.cniConfDir,
        "--cni-plugins", node.cniPlugins,
        "--cni-bridge", node.bridge,
        "--cni-network-name", node.network,
        "--kubepods-name", node.kubepods,
        "--runtime-state-dir", node.runtimeDir,
        "--pod-log-dir", node.podLogDir,
        "--port", String(node.port),
        "--pki-dir", join(cp.stateDir, "pki"),
      ];
    },
    pod: (name) => client.resource<Pod>(PODS).get(name, "default"),
    async cleanup() {
      const mine = await client
        .resource<Pod>(PODS)
        .list({ namespace: "default", fieldSelector: `spec.nodeName=${node.name}` })
        .catch(() => ({ items: [] as Pod[] }));
      if (node.kl) {
        // Graceful deletion: the kubelet stops each pod and confirms; then it stops itself.
        const kl = node.kl;
        await Promise.all(mine.items.map((p) => client.resource(PODS).delete(p.metadata.name!, { namespace: "default", gracePeriodSeconds: 1 }).catch(() => undefined)));
        await eventually("the kubelet to stop every pod", async () => kl.workers.list().length === 0, 30_000).catch(() => undefined);
        await kl.stop();
        node.kl = undefined;
      }
      await Promise.all(mine.items.map((p) => client.resource(PODS).delete(p.metadata.name!, { namespace: "default", gracePeriodSeconds: 0 }).catch(() => undefined)));
      // Whatever is still there: sandboxes (with CNI DEL), the kubepods tree, the network.
      const cni = new CniClient({ confDir: node.cniConfDir, binDirs: [OWN_CNI_BIN_DIR, "/usr/lib/cni"], cacheDir: join(node.rootDir, "cni-cache") });
      if (existsSync(node.runtimeDir)) {
        const runtime = new LinuxRuntime({
          stateDir: node.runtimeDir,
          onSandboxStop: async (st) => {
            if (!st.network.netnsPath) return;
            await cni.del({ containerId: st.id, netns: st.network.netnsPath, podNamespace: st.metadata.namespace, podName: st.metadata.name, podUid: st.metadata.uid }).catch(() => undefined);
          },
        });
        for (const sb of await runtime.ListPodSandbox()) {
          for (const c of await runtime.ListContainers({ podSandboxId: sb.id })) await runtime.StopContainer(c.id, 0).catch(() => undefined);
          await runtime.StopPodSandbox(sb.id).catch(() => undefined);
          await runtime.RemovePodSandbox(sb.id).catch(() => undefined);
        }
      }
      try {
        await newCgroupDriver().remove(node.kubepods);
      } catch {
        // no cgroups on this host, or already gone
      }
      await removeNodeNetwork(join(node.cniConfDir, "10-corekube.conflist")).catch(() => undefined);
      try {
        execFileSync("ip", ["link", "del", node.bridge], { stdio: "ignore" });
      } catch {
        // already gone
      }
      await client.resource(NODES).delete(node.name).catch(() => undefined);
      rmSync(node.runtimeDir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return node;
}

/** A pod manifest bound to `node` (no scheduler in these tests). */
export function podOn(node: TestNode, name: string, spec: Partial<Pod["spec"]> & { containers: Pod["spec"]["containers"] }, labels?: Record<string, string>): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", ...(labels ? { labels } : {}) },
    spec: { nodeName: node.name, terminationGracePeriodSeconds: 1, ...spec },
  } as Pod;
}

/** The status of one container by name (loosely typed: tests read state/lastState/restartCount). */
export interface ContainerStatusView {
  name: string;
  restartCount: number;
  ready: boolean;
  containerID?: string;
  state: { waiting?: { reason: string; message?: string }; running?: { startedAt: string }; terminated?: { exitCode: number; reason: string; message?: string } };
  lastState?: { terminated?: { exitCode: number; reason: string } };
}

export function containerStatus(p: Pod, name: string): ContainerStatusView | undefined {
  return ((p.status?.containerStatuses ?? []) as unknown as ContainerStatusView[]).find((c) => c.name === name);
}

export function condition(p: Pod, type: string): string | undefined {
  return p.status?.conditions?.find((c) => c.type === type)?.status;
}
