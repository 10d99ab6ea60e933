// Book 11.3: starting kube-controller-manager: a kubeconfig, leader election on the
// kube-system/kube-controller-manager Lease, then every enabled controller; /healthz on 127.0.0.1.
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { hostname } from "node:os";
import { LeaderElector, RestClient } from "@corekube/client";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { Clock } from "./framework/types.js";
import { ControllerManager } from "./manager.js";

/** Upstream's workqueue_* names, one series per controller, plus leader status and the process's own. */
function metricsFor(manager: ControllerManager, leading: () => boolean): Registry {
  const reg = new Registry();
  collectDefaultMetrics({ register: reg });
  const perController = (name: string, help: string, value: (c: ReturnType<ControllerManager["controllers"]["get"]> & object) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["name"],
      registers: [reg],
      collect() {
        for (const [n, c] of manager.controllers) this.set({ name: n }, value(c));
      },
    });
  perController("workqueue_depth", "Keys waiting in each controller's queue.", (c) => c.queue.len());
  perController("workqueue_adds_total", "Keys added to each controller's queue.", (c) => c.stats.adds);
  perController("workqueue_retries_total", "Keys put back after a failed reconcile.", (c) => c.stats.errors);
  perController("controller_reconciles_total", "Reconciles run by each controller.", (c) => c.stats.reconciles);
  perController("controller_actions_total", "Writes (creates, updates, patches, deletes, events) each controller made.", (c) => c.stats.actions);
  perController("controller_busy_seconds_total", "Seconds each controller spent reconciling and writing.", (c) => c.stats.busySeconds);
  new Gauge({
    name: "leader_election_master_status",
    help: "1 while this controller-manager holds the lease.",
    labelNames: ["name"],
    registers: [reg],
    collect() {
      this.set({ name: "kube-controller-manager" }, leading() ? 1 : 0);
    },
  });
  return reg;
}

export interface RunControllerManagerOptions {
  kubeconfig?: string;
  controllers?: string[];
  leaderElect?: boolean;
  identity?: string;
  /** Port for /healthz and /metrics on 127.0.0.1 (0: any free port; undefined: none). */
  healthPort?: number;
  /** Client-side rate limit of the controllers' requests (0: none); default 100 qps, burst 200. */
  kubeApiQps?: number;
  kubeApiBurst?: number;
  clusterCIDR?: string;
  nodeCIDRMaskSize?: number;
  nodeMonitorGracePeriodMs?: number;
  defaultTolerationSeconds?: number;
  terminatedPodGCThreshold?: number;
  podGCQuarantineMs?: number;
  /** A PEM file with the CA bundle to publish as kube-root-ca.crt (--root-ca-file); default: the kubeconfig's CA. */
  rootCAFile?: string;
  /** Time as the controllers see it (tests inject a FakeClock for CronJobs). */
  clock?: Clock;
  log?: (line: string) => void;
}

export interface RunningControllerManager {
  /** Resolves when the controllers run (after winning the lease, when electing). */
  leading: Promise<void>;
  /** Resolves if the lease was lost (the command then exits, as upstream). */
  lost: Promise<void>;
  healthUrl?: string;
  stop(): Promise<void>;
}

/** Reads --root-ca-file: it must hold at least one PEM certificate, each of which must parse. */
export async function readRootCAFile(path: string): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(path, "utf8");
  } catch (e) {
    throw new Error(`--root-ca-file: cannot read ${path}: ${(e as Error).message}`);
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`--root-ca-file: ${path} holds no PEM certificate`);
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (e) {
      throw new Error(`--root-ca-file: ${path} holds a certificate that does not parse: ${(e as Error).message}`);
    }
  }
  return pem;
}

export async function runControllerManager(o: RunControllerManagerOptions): Promise<RunningControllerManager> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const rootCA = o.rootCAFile !== undefined ? await readRootCAFile(o.rootCAFile) : undefined;
  const client = await RestClient.fromKubeconfig({ path: o.kubeconfig, userAgent: "corekube-controller-manager", qps: o.kubeApiQps ?? 100, burst: o.kubeApiBurst ?? 200, maxConnections: 64 });
  const manager = new ControllerManager({
    client,
    controllers: o.controllers,
    log,
    clock: o.clock,
    clusterCIDR: o.clusterCIDR,
    nodeCIDRMaskSize: o.nodeCIDRMaskSize,
    nodeMonitorGracePeriodMs: o.nodeMonitorGracePeriodMs,
    defaultTolerationSeconds: o.defaultTolerationSeconds,
    terminatedPodGCThreshold: o.terminatedPodGCThreshold,
    podGCQuarantineMs: o.podGCQuarantineMs,
    rootCA,
  });
  let leader = false;
  const metrics = metricsFor(manager, () => leader);
  const identity = o.identity ?? `${hostname()}_${process.pid}`;
  const stopping = new AbortController();
  let healthy = true;
  let resolveLeading!: () => void;
  const leading = new Promise<void>((r) => (resolveLeading = r));
  let resolveLost!: () => void;
  const lost = new Promise<void>((r) => (resolveLost = r));
  let started = false;
  const lead = async (signal: AbortSignal) => {
    started = true;
    if (await manager.start(signal)) {
      leader = true;
      resolveLeading();
    }
  };
  let electing: Promise<void> | undefined;
  if (o.leaderElect ?? true) {
    const elector = new LeaderElector({
      client,
      lock: { namespace: "kube-system", name: "kube-controller-manager" },
      identity,
      callbacks: {
        onStartedLeading: (signal) => void lead(signal),
        onStoppedLeading: () => {
          if (!stopping.signal.aborted) {
            healthy = false;
            resolveLost();
          }
        },
      },
    });
    electing = elector.run(stopping.signal);
  } else void lead(stopping.signal);

  let server: Server | undefined;
  let healthUrl: string | undefined;
  if (o.healthPort !== undefined) {
    server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (path === "/healthz" || path === "/livez" || path === "/readyz") res.writeHead(healthy ? 200 : 500).end(healthy ? "ok" : "lost leadership");
      else if (path === "/metrics") {
        metrics.metrics().then(
          (text) => res.writeHead(200, { "content-type": metrics.contentType }).end(text),
          (e: Error) => res.writeHead(500).end(e.message),
        );
      } else res.writeHead(404).end("not found");
    });
    await new Promise<void>((resolve, reject) => {
      server!.once("error", reject);
      server!.listen(o.healthPort, "127.0.0.1", () => resolve());
    });
    const addr = server.address();
    healthUrl = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : o.healthPort}`;
  }
  return {
    leading,
    lost,
    healthUrl,
    async stop() {
      stopping.abort();
      await electing;
      if (started) await manager.stop();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      await client.close();
    },
  };
}
