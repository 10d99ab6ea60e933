// Book 9.2 and 4.6: the kubelet's HTTPS API on port 10250 — container logs and exec for the API
// server, plus /healthz, /pods, /stats/summary and /metrics — behind client-certificate auth.
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import {
  EXEC_PROTOCOLS,
  KUBELET_PORT,
  failure,
  matchKubeletPath,
  parseExecOptions,
  parseLogOptions,
  statusOf,
  type Pod,
  type Status,
} from "@corekube/api";
import { runExecSession } from "./exec.js";
import { readContainerLog, sinceNs, type LogSource } from "./logs.js";
import type { ExecSource, StatsSummary } from "./types.js";
import { acceptWebSocket, handshakeProblem, refuseUpgrade, type WsConnection } from "./websocket.js";

/** Who is calling, from the client certificate: CN is the user, O the groups. */
export interface KubeletUser {
  name: string;
  groups: string[];
}

/** What a request asks for, in the terms RBAC uses for the kubelet API (resource "nodes"). */
export interface KubeletRequestAttributes {
  user: KubeletUser;
  /** get, create, update, patch, delete — from the HTTP method. */
  verb: string;
  resource: "nodes";
  /** stats, metrics, log, spec or proxy (everything else: logs of containers and exec included). */
  subresource: string;
  /** This node's name, when the server was given one. */
  name: string;
  path: string;
}

/** Decides whether an authenticated client may make a request; a string is the reason for refusing. */
export type KubeletAuthorizer = (attrs: KubeletRequestAttributes) => boolean | string | Promise<boolean | string>;

export interface KubeletServerOptions {
  /** Default 10250; 0 picks a free port. */
  port?: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** The serving certificate and key, and the CA whose client certificates are accepted (all PEM). */
  tls: { cert: string; key: string; clientCA: string };
  logs: LogSource;
  exec: ExecSource;
  /** The pods this kubelet runs (GET /pods). */
  pods: () => Pod[];
  stats: () => Promise<StatsSummary>;
  /** Prometheus text exposition (GET /metrics). */
  metrics: () => Promise<string>;
  /** Default: every client with a valid certificate may do everything. */
  authorize?: KubeletAuthorizer;
  /** The node's name, passed to `authorize`. */
  nodeName?: string;
  /** How often a log follower re-checks its file and container when nothing is reported (ms). */
  followPollMs?: number;
}

const VERBS: Record<string, string> = { GET: "get", HEAD: "get", POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" };

/** The nodes/<subresource> a path is checked against, as the upstream kubelet maps them. */
export function subresourceOf(path: string): string {
  const under = (p: string): boolean => path === p || path.startsWith(`${p}/`);
  if (under("/stats")) return "stats";
  if (under("/metrics")) return "metrics";
  if (under("/logs")) return "log";
  if (under("/spec")) return "spec";
  return "proxy";
}

function sendStatus(res: http.ServerResponse, status: Status): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(status);
  res.writeHead(status.code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function refuseWithStatus(socket: Duplex, status: Status): void {
  refuseUpgrade(socket, status.code, JSON.stringify(status));
}

function offeredProtocols(v: string | string[] | undefined): string[] {
  return (Array.isArray(v) ? v.join(",") : (v ?? ""))
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

const SPDY_MESSAGE =
  "this kubelet speaks only WebSocket exec (subprotocols v5.channel.k8s.io, v4.channel.k8s.io), not SPDY/3.1";

/** The kubelet's HTTPS server. `listen()` starts it; `close()` ends every stream and the server. */
export class KubeletServer {
  private readonly server: https.Server;
  private readonly followers = new Set<AbortController>();
  private readonly sessions = new Set<WsConnection>();
  private boundPort = 0;

  constructor(private readonly opts: KubeletServerOptions) {
    this.server = https.createServer(
      {
        cert: opts.tls.cert,
        key: opts.tls.key,
        ca: opts.tls.clientCA,
        // Ask for a certificate but let the handshake finish without one: /healthz is open to all,
        // everything else answers 401 to a client without a certificate signed by clientCA.
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => {
        void this.onRequest(req, res).catch((err: unknown) => sendStatus(res, statusOf(err)));
      },
    );
    this.server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", () => socket.destroy());
      void this.onUpgrade(req, socket, head).catch((err: unknown) => refuseWithStatus(socket, statusOf(err)));
    });
    this.server.on("tlsClientError", () => undefined);
  }

  /** Starts listening; resolves with the port (useful with port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.port ?? KUBELET_PORT, this.opts.host ?? "0.0.0.0", () => {
        this.server.off("error", reject);
        this.boundPort = (this.server.address() as AddressInfo).port;
        resolve(this.boundPort);
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  /** https://<host>:<port>, with 127.0.0.1 for a wildcard host. */
  get url(): string {
    const host = this.opts.host === undefined || this.opts.host === "0.0.0.0" || this.opts.host === "::" ? "127.0.0.1" : this.opts.host;
    return `https://${host.includes(":") ? `[${host}]` : host}:${this.boundPort}`;
  }

  /** Ends log streams, exec sessions (their commands are killed) and the server. */
  close(): Promise<void> {
    for (const f of this.followers) f.abort();
    for (const s of this.sessions) s.terminate();
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  /** The authenticated user, or a Status to refuse with (401, 403). */
  private async admit(req: http.IncomingMessage, path: string): Promise<KubeletUser | Status> {
    const sock = req.socket as TLSSocket;
    const cert = sock.authorized ? sock.getPeerCertificate() : undefined;
    const cn = cert?.subject?.CN;
    if (!cert || typeof cn !== "string" || cn === "") {
      const why = sock.authorizationError ? ` (${String(sock.authorizationError)})` : "";
      return failure(401, "Unauthorized", `Unauthorized: the kubelet needs a client certificate signed by its client CA${why}`).status;
    }
    const o = cert.subject.O as string | string[] | undefined;
    const user: KubeletUser = { name: cn, groups: o === undefined ? [] : Array.isArray(o) ? o : [o] };
    if (!this.opts.authorize) return user;
    const attrs: KubeletRequestAttributes = {
      user,
      verb: VERBS[req.method ?? "GET"] ?? (req.method ?? "").toLowerCase(),
      resource: "nodes",
      subresource: subresourceOf(path),
      name: this.opts.nodeName ?? "",
      path,
    };
    const verdict = await this.opts.authorize(attrs);
    if (verdict === true) return user;
    const reason = typeof verdict === "string" && verdict !== "" ? `: ${verdict}` : "";
    return failure(
      403,
      "Forbidden",
      `Forbidden (user=${user.name}, verb=${attrs.verb}, resource=nodes, subresource=${attrs.subresource})${reason}`,
    ).status;
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://kubelet");
    const path = url.pathname;
    if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
      res.end("ok");
      return;
    }
    const admitted = await this.admit(req, path);
    if ("kind" in admitted) return sendStatus(res, admitted);

    const route = matchKubeletPath(path);
    if (route?.endpoint === "exec") {
      return sendStatus(res, failure(400, "BadRequest", "exec needs a WebSocket upgrade (Upgrade: websocket, Sec-WebSocket-Protocol: v5.channel.k8s.io)").status);
    }
    if (req.method !== "GET") {
      return sendStatus(res, failure(405, "MethodNotAllowed", `${req.method} is not supported on ${path}`).status);
    }
    if (route?.endpoint === "containerLogs") return this.serveLogs(route.namespace, route.pod, route.container, url.searchParams, res);
    if (path === "/pods" || path === "/pods/") {
      return sendJson(res, { kind: "PodList", apiVersion: "v1", metadata: {}, items: this.opts.pods() });
    }
    if (path === "/stats/summary" || path === "/stats/summary/") return sendJson(res, await this.opts.stats());
    if (path === "/metrics") {
      const text = await this.opts.metrics();
      res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(text);
      return;
    }
    sendStatus(res, failure(404, "NotFound", `the kubelet has no endpoint ${path}`).status);
  }

  private async serveLogs(namespace: string, pod: string, container: string, query: URLSearchParams, res: http.ServerResponse): Promise<void> {
    const options = parseLogOptions(query, pod);
    const file = await this.opts.logs.containerLog(namespace, pod, container, options.previous);
    const abort = new AbortController();
    this.followers.add(abort);
    res.on("close", () => abort.abort());
    const sink = async (chunk: Buffer): Promise<void> => {
      if (!res.headersSent) res.writeHead(200, { "Content-Type": "text/plain" });
      if (!res.write(chunk) && !res.destroyed) {
        await new Promise<void>((resolve) => {
          res.once("drain", resolve);
          res.once("close", resolve);
        });
      }
    };
    try {
      if (options.follow) {
        // A follower sees the stream open before the first line arrives.
        res.writeHead(200, { "Content-Type": "text/plain" });
        res.flushHeaders();
      }
      const since = sinceNs(options);
      await readContainerLog(
        file,
        {
          follow: options.follow,
          timestamps: options.timestamps,
          ...(options.tailLines !== undefined ? { tailLines: options.tailLines } : {}),
          ...(since !== undefined ? { since } : {}),
          ...(options.limitBytes !== undefined ? { limitBytes: options.limitBytes } : {}),
          ...(this.opts.followPollMs !== undefined ? { pollMs: this.opts.followPollMs } : {}),
        },
        sink,
        abort.signal,
      );
      if (!res.headersSent) res.writeHead(200, { "Content-Type": "text/plain" });
      res.end();
    } catch (err) {
      // Before any byte: a clean Status. Mid-stream: cut the response so the client sees it broke.
      sendStatus(res, statusOf(err));
    } finally {
      this.followers.delete(abort);
    }
  }

  private async onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "https://kubelet");
    const admitted = await this.admit(req, url.pathname);
    if ("kind" in admitted) return refuseWithStatus(socket, admitted);
    const route = matchKubeletPath(url.pathname);
    if (route?.endpoint !== "exec") return refuseWithStatus(socket, failure(404, "NotFound", `the kubelet has no endpoint ${url.pathname} for upgrades`).status);
    const options = parseExecOptions(url.searchParams);
    if (String(req.headers.upgrade ?? "").toLowerCase().startsWith("spdy")) {
      return refuseWithStatus(socket, failure(400, "BadRequest", SPDY_MESSAGE).status);
    }
    const problem = handshakeProblem(req);
    if (problem) {
      return refuseWithStatus(socket, failure(400, "BadRequest", `exec: ${problem}`).status);
    }
    const offered = offeredProtocols(req.headers["sec-websocket-protocol"]);
    const protocol = EXEC_PROTOCOLS.find((p) => offered.includes(p));
    if (!protocol) {
      return refuseWithStatus(socket, failure(400, "BadRequest", `exec needs one of the WebSocket subprotocols ${EXEC_PROTOCOLS.join(", ")}`).status);
    }
    // Start the command first, so a missing pod or stopped container is a plain HTTP error.
    const proc = await this.opts.exec.exec(route.namespace, route.pod, route.container, options.command, { stdin: options.stdin, tty: options.tty });
    if (socket.destroyed) {
      proc.stdin?.end();
      proc.kill?.();
      return;
    }
    const conn = acceptWebSocket(req, socket, head, protocol);
    this.sessions.add(conn);
    conn.once("close", () => this.sessions.delete(conn));
    await runExecSession(conn, proc, options);
  }
}

function sendJson(res: http.ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}
