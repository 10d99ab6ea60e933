// Book 2.3.2 and 11.2.3: starting kube-scheduler: load the kubeconfig and configuration file, wait to
// become leader (so two schedulers can run, one active), then run the loop; serve /healthz and /metrics.
import { createServer, type Server } from "node:http";
import { hostname } from "node:os";
import { LeaderElector, RestClient } from "@corekube/client";
import { Gauge, Registry as MetricsRegistry } from "prom-client";
import { type SchedulerConfiguration, defaultConfiguration } from "./config.js";
import { inTreeRegistry } from "./plugins/registry.js";
import { Scheduler } from "./scheduler.js";

export interface RunSchedulerOptions {
  kubeconfig?: string;
  config?: SchedulerConfiguration;
  /** Overrides config.leaderElection.leaderElect. */
  leaderElect?: boolean;
  /** The Lease holder identity; default hostname_pid. */
  identity?: string;
  /** Port for /healthz and /metrics on 127.0.0.1 (0: any free port; undefined: no server). */
  healthPort?: number;
  log?: (line: string) => void;
}

export interface RunningScheduler {
  scheduler: () => Scheduler | undefined;
  /** Resolves when the scheduler first leads and its caches are synced. */
  leading: Promise<void>;
  /** Resolves if the scheduler lost its lease (kube-scheduler exits then; so does `corekube scheduler`). */
  lost: Promise<void>;
  healthUrl?: string;
  stop(): Promise<void>;
}

function metricsFor(get: () => Scheduler | undefined): MetricsRegistry {
  const reg = new MetricsRegistry();
  new Gauge({
    name: "scheduler_pending_pods",
    help: "Pods waiting in each scheduling queue.",
    labelNames: ["queue"],
    registers: [reg],
    collect() {
      const s = get();
      if (!s) return;
      const p = s.queue.pendingPods();
      this.set({ queue: "active" }, p.active);
      this.set({ queue: "backoff" }, p.backoff);
      this.set({ queue: "unschedulable" }, p.unschedulable);
      this.set({ queue: "gated" }, p.gated);
    },
  });
  new Gauge({
    name: "scheduler_schedule_attempts_total",
    help: "Scheduling attempts by result (a counter kept by the scheduler).",
    labelNames: ["result"],
    registers: [reg],
    collect() {
      const s = get();
      if (!s) return;
      this.set({ result: "scheduled" }, s.stats.scheduled);
      this.set({ result: "unschedulable" }, s.stats.failedAttempts);
      this.set({ result: "error" }, s.stats.bindErrors);
    },
  });
  return reg;
}

export async function runScheduler(o: RunSchedulerOptions): Promise<RunningScheduler> {
  const config = o.config ?? defaultConfiguration();
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const cc = config.clientConnection;
  // Bindings and Events are many small concurrent writes: allow many connections (kube-scheduler
  // multiplexes them over HTTP/2; undici here speaks HTTP/1.1, one request per connection at a time).
  const client = await RestClient.fromKubeconfig({ path: o.kubeconfig ?? cc.kubeconfig, userAgent: "corekube-scheduler", qps: cc.qps, burst: cc.burst, maxConnections: 256 });
  const identity = o.identity ?? `${hostname()}_${process.pid}`;
  const stop = new AbortController();
  let scheduler: Scheduler | undefined;
  let loop: Promise<void> | undefined;
  let healthy = true;

  let resolveLeading!: () => void;
  const leading = new Promise<void>((r) => (resolveLeading = r));
  let resolveLost!: () => void;
  const lost = new Promise<void>((r) => (resolveLost = r));

  const startLeading = async (signal: AbortSignal) => {
    log(`scheduler: ${identity} is the leader; starting`);
    const s = new Scheduler({ client, config, registry: inTreeRegistry(client), log });
    scheduler = s;
    if (!(await s.start(signal))) return;
    resolveLeading();
    loop = s.run(signal).finally(() => s.stop());
  };

  const le = config.leaderElection;
  const elect = o.leaderElect ?? le.leaderElect;
  let elector: LeaderElector | undefined;
  let electing: Promise<void> | undefined;
  if (elect) {
    elector = new LeaderElector({
      client,
      lock: { namespace: le.resourceNamespace, name: le.resourceName },
      identity,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      releaseOnCancel: true,
      callbacks: {
        onStartedLeading: (signal) => void startLeading(signal),
        onStoppedLeading: () => {
          log(`scheduler: ${identity} stopped leading`);
          // Like kube-scheduler: a scheduler that lost its lease exits rather than risk two leaders.
          if (!stop.signal.aborted) {
            healthy = false;
            resolveLost();
          }
        },
        onNewLeader: (id) => {
          if (id !== identity) log(`scheduler: the leader is ${id}`);
        },
      },
    });
    electing = elector.run(stop.signal);
  } else {
    void startLeading(stop.signal);
  }

  let server: Server | undefined;
  let healthUrl: string | undefined;
  if (o.healthPort !== undefined) {
    const metrics = metricsFor(() => scheduler);
    server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (path === "/healthz" || path === "/livez" || path === "/readyz") {
        res.writeHead(healthy ? 200 : 500, { "content-type": "text/plain" }).end(healthy ? "ok" : "lost leadership");
      } else if (path === "/metrics") {
        metrics.metrics().then(
          (text) => res.writeHead(200, { "content-type": metrics.contentType }).end(text),
          (e: Error) => res.writeHead(500).end(e.message),
        );
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      }
    });
    await new Promise<void>((resolve, reject) => {
      server!.once("error", reject);
      server!.listen(o.healthPort, "127.0.0.1", () => resolve());
    });
    const addr = server.address();
    healthUrl = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : o.healthPort}`;
  }

  return {
    scheduler: () => scheduler,
    leading,
    lost,
    healthUrl,
    async stop() {
      stop.abort();
      await electing;
      await loop;
      if (!loop && scheduler) await scheduler.stop();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      await client.close();
    },
  };
}
