// Book 5.2 and 10.3: `corekube dns`: the cluster DNS server put together: the record index fed by
// informers, UDP and TCP listeners, forwarding to the node's resolvers, health, readiness and metrics.
import { readFile } from "node:fs/promises";
import type { Server } from "node:http";
import { RestClient } from "@corekube/client";
import { DnsCache, Forwarder, parseUpstream, type Upstream, upstreamsFromResolvConf } from "./forward.js";
import { parseHostPort, startHttp } from "./http.js";
import { DnsMetrics } from "./metrics.js";
import { DEFAULT_CLUSTER_DOMAIN, type PodsMode } from "./records.js";
import { DnsServer } from "./server.js";
import { ClusterIndex } from "./watch.js";

export interface DnsOptions {
  kubeconfig?: string;
  clusterDomain?: string;
  /** host:port for UDP and TCP (default 0.0.0.0:53; port 0 = any free one). */
  listen?: string;
  /** Where upstream nameservers come from when `upstreams` is not given (default /etc/resolv.conf). */
  resolvConf?: string;
  /** Upstream resolvers ("IP" or "IP:port"); overrides resolvConf. */
  upstreams?: string[];
  /** host:port for /health and /ready (default 127.0.0.1:8080); "" turns it off. */
  healthAddress?: string;
  /** host:port for /metrics (default 0.0.0.0:9153); "" turns it off. */
  metricsAddress?: string;
  /** Record TTL, seconds (default 5). */
  ttl?: number;
  pods?: PodsMode;
  /** Per-upstream timeout, ms (default 2000). */
  forwardTimeoutMs?: number;
  cacheSize?: number;
  log?: (msg: string) => void;
}

export interface RunningDns {
  /** The DNS port (UDP and TCP). */
  port: number;
  healthPort?: number;
  metricsPort?: number;
  metrics: DnsMetrics;
  stop(): Promise<void>;
}

export async function runDns(opts: DnsOptions = {}): Promise<RunningDns> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const listen = parseHostPort(opts.listen ?? "0.0.0.0:53");
  const domain = opts.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(domain)) throw new Error(`--cluster-domain ${JSON.stringify(domain)}: not a DNS name`);

  let upstreams: Upstream[];
  if (opts.upstreams?.length) {
    upstreams = opts.upstreams.map(parseUpstream);
  } else {
    const path = opts.resolvConf ?? "/etc/resolv.conf";
    let text = "";
    try {
      text = await readFile(path, "utf8");
    } catch (e) {
      log(`dns: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): names outside ${domain} will get SERVFAIL`);
    }
    upstreams = upstreamsFromResolvConf(text, listen);
    if (text && !upstreams.length) log(`dns: ${path} names no usable nameserver: names outside ${domain} will get SERVFAIL`);
  }

  const metrics = new DnsMetrics();
  const client = await RestClient.fromKubeconfig({ path: opts.kubeconfig, qps: 0 });
  const cluster = new ClusterIndex(client, { domain, ttl: opts.ttl, pods: opts.pods, log, onRebuild: (i) => metrics.records.set(i.size) });
  const forwarder = new Forwarder({ upstreams, timeoutMs: opts.forwardTimeoutMs, cache: new DnsCache({ maxEntries: opts.cacheSize }), metrics });
  const servers: Server[] = [];
  let dns: DnsServer | undefined;
  const stop = async () => {
    await dns?.stop();
    forwarder.close();
    await cluster.stop();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const s of servers) s.closeAllConnections();
    await client.close();
  };

  try {
    // Health and readiness first, so a probe sees "not ready" while the caches fill.
    const healthAddr = opts.healthAddress ?? "127.0.0.1:8080";
    const metricsAddr = opts.metricsAddress ?? "0.0.0.0:9153";
    let healthPort: number | undefined;
    let metricsPort: number | undefined;
    const ready = () => cluster.ready;
    if (healthAddr && healthAddr === metricsAddr) {
      const s = await startHttp(parseHostPort(healthAddr), { health: true, ready, metrics });
      servers.push(s);
      healthPort = metricsPort = portOf(s);
    } else {
      if (healthAddr) {
        const s = await startHttp(parseHostPort(healthAddr, "127.0.0.1"), { health: true, ready });
        servers.push(s);
        healthPort = portOf(s);
      }
      if (metricsAddr) {
        const s = await startHttp(parseHostPort(metricsAddr), { metrics, ready });
        servers.push(s);
        metricsPort = portOf(s);
      }
    }

    // Answer nothing until the cluster's names are known: an early NXDOMAIN would be cached by clients.
    await cluster.start();
    dns = new DnsServer({ host: listen.host, port: listen.port, index: () => cluster.index, forwarder, metrics, log });
    const port = await dns.start();
    log(`dns: serving ${domain} on ${listen.host}:${port} (udp, tcp); upstreams: ${upstreams.map((u) => `${u.host}:${u.port}`).join(", ") || "none"}`);
    return { port, healthPort, metricsPort, metrics, stop };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}

function portOf(s: Server): number {
  const a = s.address();
  return typeof a === "object" && a ? a.port : 0;
}
