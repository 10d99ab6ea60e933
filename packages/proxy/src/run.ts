// Book 10.1: `corekube proxy` put together: informers on Services and EndpointSlices feed the proxier, and
// /healthz and /metrics are served as kube-proxy does (127.0.0.1:10256 and :10249 by default).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ENDPOINT_SLICES, InformerFactory, RestClient, SERVICES } from "@corekube/client";
import { type Backend, Iptables } from "./iptables.js";
import { Proxier } from "./proxier.js";
import { isCIDRv4, type TableName } from "./render.js";
import type { ProxyEndpointSlice, ProxyService } from "./types.js";

export interface ProxyOptions {
  kubeconfig?: string;
  nodeName: string;
  clusterCIDR?: string;
  backend?: Backend;
  /** host:port for /healthz (port 0: any free port; "" : no server). Default 127.0.0.1:10256. */
  healthzBindAddress?: string;
  /** host:port for /metrics (port 0: any free port; "": no server). Default 127.0.0.1:10249. */
  metricsBindAddress?: string;
  syncPeriodMs?: number;
  minSyncPeriodMs?: number;
  log?: (line: string) => void;
  /** Prefix for every iptables command, e.g. ["ip", "netns", "exec", NS] (tests and benchmarks). */
  iptablesWrap?: string[];
}

export interface RunningProxy {
  proxier: Proxier;
  /** Actual ports of the servers (useful with port 0). */
  healthzPort?: number;
  metricsPort?: number;
  stop(): Promise<void>;
}

/** Splits "host:port" (or "[v6]:port"); throws a clear error for anything else. */
export function parseBindAddress(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw new Error(`bind address ${JSON.stringify(s)}: want host:port, e.g. 127.0.0.1:10256`);
  return { host: (m[1] ?? m[2])!, port };
}

async function listen(addr: string, handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const { host, port } = parseBindAddress(addr);
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}

export async function runProxy(o: ProxyOptions): Promise<RunningProxy> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (!o.nodeName) throw new Error("proxy: a node name is required (--hostname-override)");
  if (o.clusterCIDR !== undefined && !isCIDRv4(o.clusterCIDR)) throw new Error(`proxy: --cluster-cidr ${JSON.stringify(o.clusterCIDR)} is not an IPv4 CIDR`);
  const healthzAddr = o.healthzBindAddress ?? "127.0.0.1:10256";
  const metricsAddr = o.metricsBindAddress ?? "127.0.0.1:10249";
  if (healthzAddr) parseBindAddress(healthzAddr);
  if (metricsAddr) parseBindAddress(metricsAddr);

  const iptables = await Iptables.create({ backend: o.backend, wrap: o.iptablesWrap });
  log(`proxy: iptables mode, ${iptables.backend} backend, node ${o.nodeName}${o.clusterCIDR ? `, cluster CIDR ${o.clusterCIDR}` : ""}`);
  const proxier = new Proxier({
    iptables,
    node: { nodeName: o.nodeName, clusterCIDR: o.clusterCIDR },
    syncPeriodMs: o.syncPeriodMs,
    minSyncPeriodMs: o.minSyncPeriodMs,
    log,
  });

  const servers: Server[] = [];
  let factory: InformerFactory | undefined;
  const stop = async () => {
    await factory?.stop();
    await proxier.stop();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  };
  try {
    let healthzPort: number | undefined;
    let metricsPort: number | undefined;
    if (healthzAddr) {
      const s = await listen(healthzAddr, (req, res) => {
        if (req.url !== "/healthz" && req.url !== "/livez") {
          res.writeHead(404).end("not found\n");
          return;
        }
        const h = proxier.health();
        const body = {
          lastUpdated: h.lastUpdated !== undefined ? new Date(h.lastUpdated).toISOString() : "",
          currentTime: new Date(h.currentTime).toISOString(),
        };
        res.writeHead(h.healthy ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(body));
      });
      servers.push(s);
      healthzPort = (s.address() as AddressInfo).port;
    }
    if (metricsAddr) {
      const s = await listen(metricsAddr, (req, res) => {
        if (req.url !== "/metrics") {
          res.writeHead(404).end("not found\n");
          return;
        }
        proxier.registry.metrics().then(
          (text) => res.writeHead(200, { "content-type": proxier.registry.contentType }).end(text),
          (e: Error) => res.writeHead(500).end(`${e.message}\n`),
        );
      });
      servers.push(s);
      metricsPort = (s.address() as AddressInfo).port;
    }

    const client = await RestClient.fromKubeconfig({ path: o.kubeconfig, userAgent: `corekube-proxy/${o.nodeName}` });
    factory = new InformerFactory(client);
    const services = factory.forResource<ProxyService>(SERVICES);
    const slices = factory.forResource<ProxyEndpointSlice>(ENDPOINT_SLICES);
    services.addEventHandler({
      onAdd: (s) => proxier.upsertService(s),
      onUpdate: (_, s) => proxier.upsertService(s),
      onDelete: (s) => proxier.deleteService(s),
    });
    slices.addEventHandler({
      onAdd: (s) => proxier.upsertSlice(s),
      onUpdate: (_, s) => proxier.upsertSlice(s),
      onDelete: (s) => proxier.deleteSlice(s),
    });
    factory.start();
    await factory.waitForCacheSync();
    // Only now: a first sync from half-filled caches would briefly reject Services whose slices are not read yet.
    proxier.start();
    return { proxier, healthzPort, metricsPort, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** `corekube proxy --cleanup`: removes every KUBE-* chain and jump the proxy made. */
export async function cleanupProxyRules(backend: Backend = "auto"): Promise<{ backend: "nft" | "legacy"; removed: Record<TableName, string[]> }> {
  const ipt = await Iptables.create({ backend });
  const { removed } = await ipt.cleanup();
  return { backend: ipt.backend, removed };
}
