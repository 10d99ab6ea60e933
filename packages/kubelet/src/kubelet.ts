// Book 9.1-9.3: the kubelet put together: it registers its node, watches the pods bound to it, and
// runs each through the runtime (sandbox, network, images, volumes, cgroups, probes); its HTTPS API
// serves logs, exec and stats to the API server. Linux only, as root.
import { mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Node, Pod } from "@corekube/api";
import { EventRecorder, InformerFactory, NODES, PODS, RestClient, SERVICES } from "@corekube/client";
import type { CgroupDriver } from "./cgroups/driver.js";
import { newCgroupDriver } from "./cgroups/detect.js";
import { CniClient } from "./cni/client.js";
import { ensureEgressGuard } from "./cni/bridge/netfilter.js";
import { execInContainer } from "./exec.js";
import { DEFAULT_NETWORK_NAME, writeNodeConflist } from "./cni/conf.js";
import { ImagePuller } from "./images/pull.js";
import { ImageStore } from "./images/store.js";
import { NodeAgent } from "./node/agent.js";
import { pickNodeIP } from "./node/machine.js";
import { DEFAULT_RESERVATIONS } from "./node/status.js";
import { CrashLoopBackoff } from "./pods/backoff.js";
import type { ServiceForEnv } from "./pods/service-env.js";
import { type PodProbeHost, type PodVolumeHost, PodWorkers, POD_UID_LABEL } from "./pods/worker.js";
import { ProbeManager } from "./probes/manager.js";
import type { LinuxRuntime as RuntimeType } from "./runtime/runtime.js";
import { LinuxRuntime } from "./runtime/runtime.js";
import type { LogRotation } from "./runtime/log.js";
import { ImageGcManager, type ImageGcPolicy } from "./images/gc.js";
import { KubeletServer } from "./server/server.js";
import { KubeletStats } from "./stats.js";
import { errContainerNotFound, errContainerNotRunning, errPodNotFound } from "./server/types.js";
import { type PodVolumes, VolumeManager } from "./volumes/manager.js";

export interface KubeletOptions {
  kubeconfig?: string;
  nodeName: string;
  /** Default /var/lib/corekube/kubelet (volumes, CNI leases, images under it unless given). */
  rootDir?: string;
  runtimeStateDir?: string;
  imageRoot?: string;
  podLogDir?: string;
  /** Used when the Node has no spec.podCIDR from the controller-manager's node IPAM. */
  podCIDR?: string;
  nodeIP?: string;
  cniConfDir?: string;
  cniBinDirs?: string[];
  cniCacheDir?: string;
  /** Which plugins the written conflist uses: our corekube-bridge, or Debian's bridge + host-local. */
  cniPlugins?: "corekube" | "reference";
  /** Bridge and network names in the written conflist (defaults corekube0 / corekube). */
  cniBridge?: string;
  cniNetworkName?: string;
  /** Destinations pod traffic may reach outside the pod range (the egress guard lets nothing else out). */
  egressAllow?: string[];
  clusterDNS?: string[];
  clusterDomain?: string;
  maxPods?: number;
  /** false: no cgroups (pods run in the kubelet's own). */
  cgroups?: boolean;
  /** The cgroup every pod lives under (default kubepods). */
  kubepodsName?: string;
  /** The HTTPS API (logs, exec, stats): port 10250 unless 0 = any; omit tls to run without it. */
  serverPort?: number;
  tls?: { cert: string; key: string; clientCA: string };
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** How often every pod is synced without a reason (upstream: 1 minute; probes and exits kick sooner). */
  resyncMs?: number;
  nodeStatusIntervalMs?: number;
  leaseRenewMs?: number;
  /** Container log rotation (--container-log-max-size / --container-log-max-files); default 10Mi, 5. */
  logRotation?: LogRotation;
  /** Image garbage collection thresholds and ages (upstream's defaults: 85%, 80%, 2 min, off). */
  imageGC?: Partial<ImageGcPolicy>;
  log?: (line: string) => void;
}

export interface RunningKubelet {
  nodeName: string;
  cgroups?: CgroupDriver;
  runtime: RuntimeType;
  workers: PodWorkers;
  server?: KubeletServer;
  serverPort?: number;
  /** Stops the kubelet; pods keep running (a restarted kubelet adopts them). */
  stop(): Promise<void>;
}

const HERE = dirname(fileURLToPath(import.meta.url));
/** Our CNI plugin's directory (packages/kubelet/bin), searched before the system's. */
export const OWN_CNI_BIN_DIR = resolve(HERE, "..", "bin");

export async function runKubelet(o: KubeletOptions): Promise<RunningKubelet> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const rootDir = resolve(o.rootDir ?? "/var/lib/corekube/kubelet");
  await mkdir(rootDir, { recursive: true });
  const client = await RestClient.fromKubeconfig({ path: o.kubeconfig, userAgent: `corekube-kubelet/${o.nodeName}`, qps: 50, burst: 100 });
  const nodeIP = pickNodeIP(o.nodeIP);

  let cgroups: CgroupDriver | undefined;
  if (o.cgroups !== false) {
    try {
      cgroups = newCgroupDriver();
      log(`kubelet: cgroup driver v${cgroups.version}`);
    } catch (e) {
      log(`kubelet: no cgroups (${(e as Error).message}); pods run without resource limits`);
    }
  }

  const cni = new CniClient({
    confDir: o.cniConfDir ?? "/etc/cni/net.d",
    binDirs: o.cniBinDirs ?? [OWN_CNI_BIN_DIR, "/opt/cni/bin", "/usr/lib/cni"],
    cacheDir: o.cniCacheDir ?? join(rootDir, "cni-cache"),
  });
  const runtime = new LinuxRuntime({
    stateDir: o.runtimeStateDir,
    logRotation: o.logRotation,
    // CNI DEL while the sandbox's network namespace file still exists.
    onSandboxStop: async (st) => {
      if (!st.network.netnsPath) return;
      await cni
        .del({ containerId: st.id, netns: st.network.netnsPath, podNamespace: st.metadata.namespace, podName: st.metadata.name, podUid: st.metadata.uid })
        .catch((e) => log(`kubelet: CNI DEL for ${st.metadata.namespace}/${st.metadata.name}: ${(e as Error).message}`));
    },
  });
  const images = new ImageStore({ root: o.imageRoot ?? join(rootDir, "..", "images") });
  await images.init();
  const puller = new ImagePuller(images, { insecureRegistries: ["127.0.0.1", "localhost"] });
  const recorder = new EventRecorder({ client, component: "kubelet", host: o.nodeName });

  // The node: registered before anything else, Ready once pod networking is configured.
  let networkReady = false;
  const agent = new NodeAgent({
    client,
    identity: { name: o.nodeName, nodeIP, podCIDR: o.podCIDR, maxPods: o.maxPods ?? 110, reservations: DEFAULT_RESERVATIONS, runtimeVersion: "corekube://0.1.0", port: o.tls ? (o.serverPort ?? 10250) : undefined },
    rootDir,
    health: () => (networkReady ? { ready: true } : { ready: false, message: "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:no CNI configuration yet" }),
    statusIntervalMs: o.nodeStatusIntervalMs,
    leaseRenewMs: o.leaseRenewMs,
    log,
  });
  const node = await agent.register();
  agent.start();
  // Unused images go when the image filesystem fills up (checked every 5 minutes, as upstream).
  const imageGc = new ImageGcManager({
    store: images,
    runtime,
    policy: o.imageGC,
    log,
    onEvent: (e) => recorder.eventf(node, e.type, e.reason, e.message),
  });
  imageGc.start();
  // Set once the pod workers exist (below); setting up the network kicks them.
  let workers: PodWorkers | undefined;
  // Pod networking needs the node's pod range: from node IPAM (which may take a moment) or --pod-cidr.
  let stopping = false;
  const setUpNetwork = async (podCIDR: string) => {
    await writeNodeConflist(o.cniConfDir ?? "/etc/cni/net.d", {
      podCIDR,
      plugins: o.cniPlugins ?? "corekube",
      ipamDataDir: join(rootDir, "cni-networks"),
      egressAllow: o.egressAllow,
      bridge: o.cniBridge,
      networkName: o.cniNetworkName,
    });
    // Debian's bridge plugin runs without masquerade here; the guard still keeps pod traffic from
    // leaving the machine through the default route it gives pods.
    if (o.cniPlugins === "reference") await ensureEgressGuard({ network: o.cniNetworkName ?? DEFAULT_NETWORK_NAME, podCIDR, egressAllow: o.egressAllow, ipMasq: false });
    networkReady = true;
    log(`kubelet: pod network configured for ${podCIDR}`);
    await agent.syncStatus(true).catch(() => undefined);
    for (const p of workers?.list() ?? []) workers?.kick(p.metadata.uid ?? "");
  };
  const initialCIDR = node.spec?.podCIDR ?? o.podCIDR;
  const networkSetup = initialCIDR
    ? setUpNetwork(initialCIDR)
    : (async () => {
        log("kubelet: waiting for the Node's podCIDR from node IPAM (controller-manager --cluster-cidr), or pass --pod-cidr");
        while (!stopping) {
          await new Promise((r) => setTimeout(r, 500));
          const n = await client.resource<Node>(NODES).get(o.nodeName).catch(() => undefined);
          if (n?.spec?.podCIDR) return setUpNetwork(n.spec.podCIDR);
        }
      })();
  if (initialCIDR) await networkSetup;

  // Volumes and probes plug into the pod workers through small adapters.
  const volumeManager = new VolumeManager({ rootDir, client, nodeName: o.nodeName, onEvent: (pod, ev) => recorder.eventf(pod as Pod, ev.type, ev.reason, ev.message) });
  const volumes: PodVolumeHost = {
    setUp: (pod) => volumeManager.setUp(pod),
    mountsFor: (pod, c, prepared, env) => volumeManager.mountsFor(pod, c, prepared as PodVolumes, env),
    tearDown: (uid) => volumeManager.tearDown(uid),
  };
  const exec = (containerId: string, cmd: string[], opts: { stdin: boolean; tty?: boolean }) => execInContainer(runtime, containerId, cmd, opts);
  const execSync = async (containerId: string, cmd: string[], timeoutMs: number) => {
    const p = await exec(containerId, cmd, { stdin: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on("data", (b: Buffer) => out.push(b));
    p.stderr?.on("data", (b: Buffer) => err.push(b));
    const timer = setTimeout(() => p.kill?.(), timeoutMs);
    try {
      const exitCode = await p.exit;
      return { exitCode, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
    } finally {
      clearTimeout(timer);
    }
  };
  const probeManager = new ProbeManager({
    execSync,
    onChange: (uid) => workers?.kick(uid),
    recordEvent: (ev) => {
      const pod = workers?.list().find((p) => p.metadata.uid === ev.pod.uid);
      if (pod) recorder.eventf(pod, ev.type, ev.reason, ev.message);
    },
  });
  const probes: PodProbeHost = {
    containerStarted: (pod, container, containerId, startedAt, ip) =>
      probeManager.containerStarted({ pod: { uid: pod.metadata.uid ?? "", namespace: pod.metadata.namespace, name: pod.metadata.name, ip }, container, containerId, startedAt }),
    containerStopped: (uid, name) => probeManager.containerStopped(uid, name),
    ready: (uid, name) => probeManager.readiness(uid, name),
    started: (uid, name) => probeManager.started(uid, name),
    unhealthy: (uid) => {
      const out = new Set<string>();
      const pod = workers?.list().find((p) => p.metadata.uid === uid);
      for (const c of pod?.spec.containers ?? []) {
        if (probeManager.liveness(uid, c.name) === "failed" || probeManager.startup(uid, c.name) === "failed") out.add(c.name);
      }
      return out;
    },
    forgetPod: (uid) => probeManager.removePod(uid),
  };

  // Services, read before any pod starts: every container gets their environment variables.
  const serviceFactory = new InformerFactory(client);
  const services = serviceFactory.forResource<ServiceForEnv>(SERVICES);
  serviceFactory.start();
  await serviceFactory.waitForCacheSync();

  workers = new PodWorkers({
    services: () => services.lister().list(),
    client,
    recorder,
    runtime,
    images,
    puller,
    cgroups,
    cgroupNaming: { kubepodsName: o.kubepodsName },
    cni,
    networkReady: () => networkReady,
    volumes,
    probes,
    execSync,
    nodeName: o.nodeName,
    hostIP: nodeIP,
    podLogDir: o.podLogDir ?? "/var/log/pods",
    clusterDNS: o.clusterDNS ?? [],
    clusterDomain: o.clusterDomain ?? "cluster.local",
    backoff: new CrashLoopBackoff({ initialMs: o.backoffInitialMs, maxMs: o.backoffMaxMs }),
    resyncMs: o.resyncMs,
    log,
  });
  const w = workers;

  // Pods bound to this node, from a watch filtered by spec.nodeName.
  const factory = new InformerFactory(client);
  const pods = factory.forResource<Pod>(PODS, { fieldSelector: `spec.nodeName=${o.nodeName}` });
  pods.addEventHandler({ onAdd: (p) => w.update(p), onUpdate: (_o, p) => w.update(p), onDelete: (p) => w.forget(p.metadata.uid ?? "") });
  factory.start();
  await factory.waitForCacheSync();
  await cleanupOrphans(runtime, volumeManager, new Set(pods.lister().list().map((p) => p.metadata.uid ?? "")), log);

  const stats = new KubeletStats({ nodeName: o.nodeName, workers: () => w, runtime, cgroups, naming: { kubepodsName: o.kubepodsName } });

  // The HTTPS API the API server talks to for logs and exec.
  let server: KubeletServer | undefined;
  let serverPort: number | undefined;
  if (o.tls) {
    const findContainer = async (ns: string, name: string, container: string) => {
      const pod = w.list().find((p) => p.metadata.namespace === ns && p.metadata.name === name);
      if (!pod) throw errPodNotFound(ns, name);
      if (![...(pod.spec.initContainers ?? []), ...pod.spec.containers].some((c) => c.name === container)) throw errContainerNotFound(ns, name, container);
      const list = await runtime.ListContainers({ labelSelector: { [POD_UID_LABEL]: pod.metadata.uid ?? "" } });
      const attempts = list.filter((c) => c.metadata.name === container).sort((a, b) => (b.metadata.attempt ?? 0) - (a.metadata.attempt ?? 0));
      return { pod, attempts };
    };
    server = new KubeletServer({
      port: o.serverPort ?? 10250,
      tls: o.tls,
      nodeName: o.nodeName,
      pods: () => w.list(),
      stats: () => stats.summary(),
      metrics: () => stats.metrics.metrics(),
      logs: {
        containerLog: async (ns, name, container, previous) => {
          const { attempts } = await findContainer(ns, name, container);
          const c = attempts[previous ? 1 : 0];
          if (!c) throw errContainerNotFound(ns, name, container, previous);
          const st = await runtime.ContainerStatus(c.id);
          let running = st.state === "CONTAINER_RUNNING";
          const exited = running ? runtime.waitContainer(c.id, 2 ** 31 - 1).then(() => (running = false)) : Promise.resolve();
          return { path: st.logPath ?? "", running: () => running, exited };
        },
      },
      exec: {
        exec: async (ns, name, container, command, opts) => {
          const { attempts } = await findContainer(ns, name, container);
          const c = attempts[0];
          if (!c || c.state !== "CONTAINER_RUNNING") throw errContainerNotRunning(ns, name, container);
          return exec(c.id, command, { stdin: opts.stdin, tty: opts.tty });
        },
      },
    });
    serverPort = await server.listen();
    log(`kubelet: serving logs and exec on :${serverPort}`);
  }

  log(`kubelet: node ${o.nodeName} running`);
  return {
    nodeName: o.nodeName,
    cgroups,
    runtime,
    workers: w,
    server,
    serverPort,
    async stop() {
      stopping = true;
      await networkSetup.catch(() => undefined);
      await server?.close();
      await w.stop();
      await imageGc.stop();
      probeManager.stop();
      agent.stop();
      await factory.stop();
      await serviceFactory.stop();
      await recorder.close();
      await puller.close();
      await client.close();
    },
  };
}

/** Sandboxes and volume directories of pods that no longer exist (deleted while the kubelet was down). */
async function cleanupOrphans(runtime: RuntimeType, volumes: VolumeManager, live: Set<string>, log: (l: string) => void): Promise<void> {
  for (const sb of await runtime.ListPodSandbox()) {
    const uid = sb.labels[POD_UID_LABEL];
    if (!uid || live.has(uid)) continue;
    log(`kubelet: removing the sandbox of pod ${sb.metadata.namespace}/${sb.metadata.name}, which no longer exists`);
    for (const c of await runtime.ListContainers({ podSandboxId: sb.id })) {
      await runtime.StopContainer(c.id, 0).catch(() => undefined);
      await runtime.RemoveContainer(c.id).catch(() => undefined);
    }
    await runtime.StopPodSandbox(sb.id).catch(() => undefined);
    await runtime.RemovePodSandbox(sb.id).catch(() => undefined);
  }
  for (const uid of await volumes.podUidsOnDisk().catch(() => [] as string[])) if (!live.has(uid)) await volumes.tearDown(uid).catch(() => undefined);
}

/** Running commands in containers lives in ./exec.ts; re-exported for existing importers. */
export { execInContainer } from "./exec.js";
