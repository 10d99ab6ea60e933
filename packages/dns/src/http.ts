// Book 5.2 and 10.3: the DNS server's HTTP side, as CoreDNS's health, ready and prometheus plugins
// offer it: /health says the process lives, /ready that the cluster caches are in, /metrics the numbers.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { DnsMetrics } from "./metrics.js";

export interface HttpEndpoints {
  health?: boolean;
  ready?: () => boolean;
  metrics?: DnsMetrics;
}

/** "host:port", ":port", "[v6]:port" or "port" → host and port (port 0 = any free one). */
export function parseHostPort(s: string, defaultHost = "0.0.0.0"): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(s) ?? /^()()(\d+)$/.exec(s);
  if (!m) throw new Error(`address ${JSON.stringify(s)}: want host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`address ${JSON.stringify(s)}: port out of range`);
  return { host: m[1] || m[2] || defaultHost, port };
}

/** Serve the named endpoints on host:port; resolves with the server once it listens. */
export async function startHttp(address: { host: string; port: number }, e: HttpEndpoints): Promise<Server> {
  const srv = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    const text = (code: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(code, { "content-type": type });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return text(405, "method not allowed\n");
    if (path === "/health" && e.health) return text(200, "OK");
    if (path === "/ready" && e.ready) return e.ready() ? text(200, "OK") : text(503, "not ready: caches not synced\n");
    if (path === "/metrics" && e.metrics) {
      const m = e.metrics;
      m.registry.metrics().then(
        (body) => text(200, body, m.registry.contentType),
        (err: Error) => text(500, `${err.message}\n`),
      );
      return;
    }
    text(404, "not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen({ host: address.host, port: address.port }, () => {
      srv.off("error", reject);
      resolve();
    });
  });
  return srv;
}
