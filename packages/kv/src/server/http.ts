// Book 12.1 and 12.3: the client port of `corekube kv`: etcd 3.4's v3 JSON gateway (POST /v3/...,
// streams for watch and keepalive), plus /health, /version and /metrics, on plain node:http.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { KvService } from "../service.js";
import { Errors, EtcdError, Limits } from "../types.js";
import { CORS, writeError, writeJson, writeText } from "./wire-respond.js";
import { GRPC_OVERHEAD_BYTES } from "./wire-protosize.js";
import { serveKeepAlive } from "./wire-keepalive.js";
import { unaryRoutes } from "./wire-routes.js";
import { serveWatch } from "./wire-watch.js";

/** We emulate etcd 3.4's API, so we report its version: clients (etcdctl, the apiserver's storage
 * layer) compare "etcdcluster" against the API level they need. corekube's own version is elsewhere. */
export const EMULATED_VERSION = { etcdserver: "3.4.23", etcdcluster: "3.4.0" } as const;

export interface KvHttpOptions {
  /** etcd's --max-request-bytes (default 1.5 MiB). */
  maxRequestBytes?: number;
  /** etcd's --max-txn-ops (default 128). */
  maxTxnOps?: number;
  /** Prometheus text for GET /metrics. */
  metrics?: () => Promise<string>;
  /** Called with errors that are not etcd errors (bugs, I/O); the client sees code 2, never a stack. */
  onError?: (err: unknown) => void;
}

const VERSION_JSON = JSON.stringify(EMULATED_VERSION);

export function createKvHttpHandler(service: KvService, opts: KvHttpOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const lim = { maxRequestBytes: opts.maxRequestBytes ?? Limits.maxRequestBytes, maxTxnOps: opts.maxTxnOps ?? Limits.maxTxnOps };
  // gRPC refuses messages over this many protobuf bytes; JSON with base64 takes ~4/3 of that, and
  // we stop buffering a body at 4 times it.
  const maxBody = 4 * (lim.maxRequestBytes + GRPC_OVERHEAD_BYTES);
  const routes = unaryRoutes(service, lim);
  const report = (err: unknown) => {
    if (!(err instanceof EtcdError)) opts.onError?.(err);
  };

  const serveUnary = (req: IncomingMessage, res: ServerResponse, handler: (body: string) => Promise<string>) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= maxBody) chunks.push(c);
    });
    req.on("end", () => {
      if (size > maxBody) return writeError(res, Errors.grpcTooLarge(size, maxBody));
      const body = chunks.length === 1 ? chunks[0]!.toString("latin1") : Buffer.concat(chunks, size).toString("latin1");
      handler(body).then(
        (json) => writeJson(res, 200, json),
        (err) => {
          report(err);
          writeError(res, err);
        },
      );
    });
  };

  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? "GET";
    if (method === "OPTIONS") {
      res.writeHead(200, [...CORS, "Content-Length", "0"]);
      res.end();
      return;
    }
    const handler = routes.get(path);
    if (handler) {
      if (method !== "POST") return writeText(res, 405, "Method Not Allowed");
      return serveUnary(req, res, handler);
    }
    switch (path) {
      case "/v3/watch":
      case "/v3beta/watch":
        if (method !== "POST") return writeText(res, 405, "Method Not Allowed");
        return serveWatch(service, req, res, maxBody);
      case "/v3/lease/keepalive":
      case "/v3beta/lease/keepalive":
        if (method !== "POST") return writeText(res, 405, "Method Not Allowed");
        return serveKeepAlive(service, req, res, maxBody);
      case "/health":
        if (method !== "GET") return writeText(res, 405, "Method Not Allowed", ["Allow", "GET"]);
        return serveHealth(service, res);
      case "/version":
        if (method !== "GET") return writeText(res, 405, "Method Not Allowed", ["Allow", "GET"]);
        return writeJson(res, 200, VERSION_JSON);
      case "/metrics":
        return serveMetrics(opts.metrics, res);
    }
    const clean = cleanPath(path);
    if (clean !== path) {
      res.writeHead(301, [...CORS, "Location", clean + (q < 0 ? "" : url.slice(q)), "Content-Length", "0"]);
      res.end();
      return;
    }
    // Under /v3/ the gateway answers unknown paths itself; elsewhere Go's mux does.
    if (path.startsWith("/v3/") || path.startsWith("/v3beta/")) return writeText(res, 404, "Not Found");
    writeText(res, 404, "404 page not found");
  };

  return (req, res) => {
    try {
      serve(req, res);
    } catch (err) {
      report(err);
      writeError(res, err);
    }
  };
}

/** etcd 3.4.23's /health: {"health":"true"}, or 503 with {"health":"false"} (no "reason" yet). */
function serveHealth(service: KvService, res: ServerResponse): void {
  service.health().then(
    (h) => (h.health ? healthy(res) : writeText(res, 503, '{"health":"false"}')),
    () => writeText(res, 503, '{"health":"false"}'),
  );
}

function healthy(res: ServerResponse): void {
  res.writeHead(200, [...CORS, "Content-Type", "text/plain; charset=utf-8", "Content-Length", "17"]);
  res.end('{"health":"true"}');
}

function serveMetrics(metrics: (() => Promise<string>) | undefined, res: ServerResponse): void {
  if (!metrics) return writeText(res, 404, "404 page not found");
  metrics().then(
    (text) => {
      res.writeHead(200, [...CORS, "Content-Type", "text/plain; version=0.0.4; charset=utf-8", "Content-Length", String(Buffer.byteLength(text))]);
      res.end(text);
    },
    (err: unknown) => writeText(res, 500, `An error has occurred while serving metrics:\n\n${err instanceof Error ? err.message : String(err)}`),
  );
}

/** Go's path.Clean as net/http's ServeMux applies it (keeping a trailing slash). */
export function cleanPath(p: string): string {
  if (!p.startsWith("/")) p = "/" + p;
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  let clean = "/" + out.join("/");
  if (p.endsWith("/") && clean !== "/") clean += "/";
  return clean;
}
