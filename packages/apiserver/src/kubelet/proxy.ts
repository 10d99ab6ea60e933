// Book 9.2 and 11.1: `kubectl logs` and `kubectl exec` reach a container through the API server,
// which relays the request to the kubelet on the pod's node — logs as a streamed HTTP body,
// exec as WebSocket frames piped both ways.
import * as http from "node:http";
import * as https from "node:https";
import type { Duplex } from "node:stream";
import { failure, serviceUnavailable, statusOf, type Status, type StatusError, type StatusReason } from "@corekube/api";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import {
  Channel,
  EXEC_PROTOCOLS,
  containerLogsPath,
  execPath,
  execQuery,
  frame,
  logQuery,
  parseExecOptions,
  parseLogOptions,
} from "./contract.js";

/** How to reach one kubelet; the API server presents `cert`/`key` and trusts `ca`. */
export interface KubeletTarget {
  /** https://ip:port (or http:// for tests). */
  url: string;
  ca?: string;
  cert?: string;
  key?: string;
  /** The node's name, for error messages. */
  nodeName?: string;
}

export interface ProxyOptions {
  /** How long to wait for the kubelet to answer (connect + headers), default 10 s. */
  connectTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Kubelet error bodies longer than this are cut. */
const MAX_ERROR_BODY = 64 * 1024;
/** Exec frames queued towards a slow peer beyond this pause the sender. */
const HIGH_WATER = 1 << 20;
const LOW_WATER = 1 << 18;

function nodeLabel(target: KubeletTarget): string {
  return target.nodeName ? `the kubelet on node ${JSON.stringify(target.nodeName)}` : `the kubelet at ${target.url}`;
}

function errMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.message || String(err);
}

/**
 * Kubelet unreachable: 503 ServiceUnavailable naming the node. (kube-apiserver answers 500
 * InternalError with Go's dial error here; 503 says more plainly that the node, not the request,
 * is at fault, and that retrying later may work.)
 */
export function kubeletUnreachable(target: KubeletTarget, url: string, err: unknown): StatusError {
  return serviceUnavailable(`${nodeLabel(target)} is unreachable: GET ${JSON.stringify(url)}: ${errMessage(err)}`);
}

const reasonByCode: Record<number, StatusReason> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

/** A kubelet's non-success answer as a Status: its own Status if it sent one, else its text. */
export function kubeletErrorStatus(target: KubeletTarget, code: number, body: string): StatusError {
  try {
    const parsed = JSON.parse(body) as Partial<Status>;
    if (parsed && parsed.kind === "Status" && typeof parsed.code === "number") {
      return failure(parsed.code, parsed.reason ?? "", parsed.message ?? "", parsed.details);
    }
  } catch {
    // not JSON: use the text
  }
  const text = body.trim();
  const message = text === "" ? `${nodeLabel(target)} answered ${code}` : `${nodeLabel(target)}: ${text}`;
  const status = code >= 400 && code < 600 ? code : 502;
  return failure(status, reasonByCode[status] ?? (status >= 500 ? "InternalError" : ""), message);
}

function transportFor(target: KubeletTarget): { mod: typeof http | typeof https; tls: https.RequestOptions } {
  const u = new URL(target.url);
  if (u.protocol === "http:") return { mod: http, tls: {} };
  if (u.protocol !== "https:") throw new Error(`kubelet URL must be http(s), got ${JSON.stringify(target.url)}`);
  const tls: https.RequestOptions = {};
  if (target.ca !== undefined) tls.ca = target.ca;
  if (target.cert !== undefined) tls.cert = target.cert;
  if (target.key !== undefined) tls.key = target.key;
  return { mod: https, tls };
}

function kubeletUrl(target: KubeletTarget, path: string, query: URLSearchParams): string {
  const base = target.url.replace(/\/+$/, "");
  const q = query.toString();
  return q === "" ? `${base}${path}` : `${base}${path}?${q}`;
}

function readBody(res: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on("data", (c: Buffer) => {
      if (size < limit) chunks.push(c.subarray(0, limit - size));
      size += c.length;
    });
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

/**
 * Relays a container's log from the kubelet to `res` (the client's response), streaming with
 * backpressure; with follow=true it runs until the kubelet ends the stream or the client leaves.
 *
 * Rejects with a StatusError *before anything is written to `res`* when the query is invalid
 * (400/422), the kubelet is unreachable (503) or the kubelet refuses (its code); the caller sends
 * that Status. Once streaming has begun it only resolves: a kubelet failure mid-stream cuts the
 * response off (so the client sees an incomplete body rather than a clean end). With fastify,
 * hijack the reply and pass `reply.raw`.
 */
export async function proxyPodLogs(
  target: KubeletTarget,
  namespace: string,
  pod: string,
  container: string,
  query: URLSearchParams,
  res: http.ServerResponse,
  opts: ProxyOptions = {},
): Promise<void> {
  const options = parseLogOptions(query, pod);
  const url = kubeletUrl(target, containerLogsPath(namespace, pod, container), logQuery(options));
  const { mod, tls } = transportFor(target);
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (err: StatusError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      kreq.destroy();
      reject(err);
    };
    const kreq = mod.request(url, { ...tls, method: "GET", headers: { accept: "text/plain, */*" }, agent: false });
    const timer = setTimeout(
      () => fail(kubeletUnreachable(target, url, new Error(`no answer within ${opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS} ms`))),
      opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    );
    // The client may leave while we are still connecting.
    const onClientGone = (): void => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        kreq.destroy();
        resolve();
      }
    };
    res.once("close", onClientGone);
    kreq.on("error", (err) => fail(kubeletUnreachable(target, url, err)));
    kreq.on("response", (kres) => {
      clearTimeout(timer);
      if (settled) {
        kres.destroy();
        return;
      }
      const code = kres.statusCode ?? 502;
      if (code !== 200) {
        void readBody(kres, MAX_ERROR_BODY).then((body) => fail(kubeletErrorStatus(target, code, body)));
        return;
      }
      settled = true;
      res.off("close", onClientGone);
      const type = kres.headers["content-type"] ?? "text/plain";
      res.writeHead(200, { "Content-Type": type, "Cache-Control": "no-cache, private", "X-Content-Type-Options": "nosniff" });
      // Headers now, so a following client sees the stream open before the first line.
      res.flushHeaders();
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        resolve();
      };
      kres.on("end", () => {
        res.end();
        finish();
      });
      kres.on("error", () => {
        res.destroy();
        finish();
      });
      kres.on("aborted", () => {
        res.destroy();
        finish();
      });
      res.on("close", () => {
        // Client gone (or done): stop reading from the kubelet.
        kres.destroy();
        kreq.destroy();
        finish();
      });
      kres.pipe(res, { end: false });
    });
    kreq.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Exec

const STATUS_TEXT: Record<number, string> = { 400: "Bad Request", 500: "Internal Server Error", 503: "Service Unavailable" };

/** Answers an upgrade request with a plain HTTP error carrying a Status, then closes the socket. */
function rejectUpgrade(socket: Duplex, status: Status): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(status);
  socket.end(
    `HTTP/1.1 ${status.code} ${STATUS_TEXT[status.code] ?? "Error"}\r\n` +
      "Content-Type: application/json\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
  );
}

function headerList(v: string | string[] | undefined): string[] {
  const all = Array.isArray(v) ? v.join(",") : (v ?? "");
  return all
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** The subprotocol to speak: the first of ours (v5, then v4) that the client offered. */
export function chooseExecProtocol(offered: string | string[] | undefined): string | undefined {
  const list = headerList(offered);
  return EXEC_PROTOCOLS.find((p) => list.includes(p));
}

/** The message for a SPDY exec attempt (kubectl ≤ 1.29 by default). */
export const SPDY_UNSUPPORTED_MESSAGE =
  "this server speaks only WebSocket exec (subprotocol v5.channel.k8s.io), not SPDY/3.1: " +
  "use kubectl 1.30 or newer, or set KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true with kubectl 1.29";

/** Connects to the kubelet's exec endpoint; resolves with the open socket or an error message. */
function dialKubelet(
  target: KubeletTarget,
  url: string,
  protocol: string,
  timeoutMs: number,
): Promise<{ ws: WebSocket } | { error: StatusError }> {
  const wsUrl = url.replace(/^http/, "ws");
  const { tls } = transportFor(target);
  return new Promise((resolve) => {
    let done = false;
    const settle = (v: { ws: WebSocket } | { error: StatusError }): void => {
      if (!done) {
        done = true;
        resolve(v);
      }
    };
    const ws = new WebSocket(wsUrl, [protocol], {
      ...(tls as object),
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
    });
    ws.on("open", () => {
      // Hold the kubelet's first frames until the client side is wired up.
      ws.pause();
      settle({ ws });
    });
    ws.on("unexpected-response", (_req, kres) => {
      void readBody(kres, MAX_ERROR_BODY).then((body) => settle({ error: kubeletErrorStatus(target, kres.statusCode ?? 502, body) }));
    });
    ws.on("error", (err) => settle({ error: kubeletUnreachable(target, url, err) }));
  });
}

/** Sends `data` to `to`, pausing `from` while `to` has too much queued. */
function forward(from: WebSocket, to: WebSocket, data: RawData, isBinary: boolean, pending: { bytes: number }): void {
  if (to.readyState !== WebSocket.OPEN) return;
  const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer | ArrayBuffer).byteLength;
  pending.bytes += size;
  to.send(data, { binary: isBinary }, () => {
    pending.bytes -= size;
    if (pending.bytes <= LOW_WATER && from.isPaused) from.resume();
  });
  if (pending.bytes > HIGH_WATER && !from.isPaused) from.pause();
}

/** A close code that may be sent on the wire (1005/1006/1015 are reserved for local use). */
function sendableCode(code: number): number {
  if (code === 1000 || (code >= 1001 && code <= 1014 && code !== 1005 && code !== 1006)) return code;
  if (code >= 3000 && code <= 4999) return code;
  return 1000;
}

/** The Status as it travels on channel 3 (kind and apiVersion are left out, as the kubelet does). */
function channelStatus(status: Status): Buffer {
  const { kind: _k, apiVersion: _a, ...body } = status;
  return frame(Channel.error, JSON.stringify(body));
}

/** Completes the client's handshake, reports `status` on channel 3 and closes; resolves once the socket is closed. */
function acceptAndFail(wss: WebSocketServer, req: http.IncomingMessage, socket: Duplex, head: Buffer, status: Status): Promise<void> {
  return new Promise((resolve) => {
    socket.once("close", () => resolve());
    wss.handleUpgrade(req, socket, head, (client) => {
      client.on("error", () => client.terminate());
      client.send(channelStatus(status), { binary: true }, () => client.close(1000));
    });
  });
}

/**
 * Relays `kubectl exec` to the kubelet: call it from the HTTP server's "upgrade" event for
 * …/pods/{name}/exec once authentication, authorization and the pod lookup have passed.
 *
 * - A SPDY/3.1 upgrade (kubectl ≤ 1.29) is answered 400 with a Status explaining that only
 *   WebSocket exec is spoken. Invalid exec options are 400 for either kind of client, so kubectl's
 *   SPDY fallback shows the same message.
 * - A WebSocket client must offer v5.channel.k8s.io or v4.channel.k8s.io; the kubelet is dialled
 *   with the chosen one first. If the kubelet cannot be reached or refuses, the client's handshake
 *   is still completed and the error is sent as a Status on channel 3 (a non-101 answer would
 *   make kubectl retry over SPDY and report that failure instead of the real one).
 * - Then binary frames are piped both ways unchanged (with backpressure); when either side closes
 *   the other is closed. If the kubelet drops without a final Status, one is sent to the client.
 *
 * Resolves when both connections are closed; never rejects.
 */
export async function proxyPodExec(
  target: KubeletTarget,
  namespace: string,
  pod: string,
  container: string,
  query: URLSearchParams,
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  opts: ProxyOptions = {},
): Promise<void> {
  socket.on("error", () => socket.destroy());
  const upgrade = String(req.headers.upgrade ?? "").toLowerCase();

  let execOpts;
  try {
    execOpts = parseExecOptions(query);
  } catch (err) {
    rejectUpgrade(socket, statusOf(err));
    return;
  }
  if (upgrade.startsWith("spdy")) {
    rejectUpgrade(socket, failure(400, "BadRequest", SPDY_UNSUPPORTED_MESSAGE).status);
    return;
  }
  if (upgrade !== "websocket") {
    rejectUpgrade(
      socket,
      failure(400, "BadRequest", "exec needs a WebSocket upgrade (Upgrade: websocket, Sec-WebSocket-Protocol: v5.channel.k8s.io)").status,
    );
    return;
  }
  const protocol = chooseExecProtocol(req.headers["sec-websocket-protocol"]);
  if (protocol === undefined) {
    rejectUpgrade(
      socket,
      failure(400, "BadRequest", `exec needs one of the WebSocket subprotocols ${EXEC_PROTOCOLS.join(", ")}`).status,
    );
    return;
  }

  const url = kubeletUrl(target, execPath(namespace, pod, container), execQuery(execOpts));
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    handleProtocols: () => protocol,
  });

  let dialled: { ws: WebSocket } | { error: StatusError };
  try {
    dialled = await dialKubelet(target, url, protocol, opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  } catch (err) {
    dialled = { error: kubeletUnreachable(target, url, err) };
  }
  if (socket.destroyed) {
    if ("ws" in dialled) dialled.ws.terminate();
    return;
  }
  if ("error" in dialled) {
    await acceptAndFail(wss, req, socket, head, dialled.error.status);
    return;
  }
  const kubelet = dialled.ws;
  kubelet.on("error", () => kubelet.terminate());

  await new Promise<void>((resolve) => {
    let clientGone = false;
    let kubeletGone = false;
    const check = (): void => {
      if (clientGone && kubeletGone) resolve();
    };
    // The socket's close covers every end of the client side, a failed handshake included.
    socket.once("close", () => {
      clientGone = true;
      if (kubelet.readyState === WebSocket.OPEN) kubelet.close(1000);
      else if (kubelet.readyState === WebSocket.CONNECTING) kubelet.terminate();
      check();
    });
    kubelet.once("close", () => {
      kubeletGone = true;
      check();
    });
    wss.handleUpgrade(req, socket, head, (client) => {
      let sawStatus = false;
      const toKubelet = { bytes: 0 };
      const toClient = { bytes: 0 };
      client.on("error", () => client.terminate());
      client.on("message", (data, isBinary) => forward(client, kubelet, data, isBinary, toKubelet));
      client.on("close", (code) => {
        if (kubelet.readyState === WebSocket.OPEN) kubelet.close(sendableCode(code));
      });
      kubelet.on("message", (data, isBinary) => {
        if (Buffer.isBuffer(data) && data[0] === Channel.error) sawStatus = true;
        forward(kubelet, client, data, isBinary, toClient);
      });
      kubelet.on("close", (code) => {
        if (client.readyState !== WebSocket.OPEN) return;
        if (!sawStatus) {
          const lost = failure(
            503,
            "ServiceUnavailable",
            `${nodeLabel(target)} closed the exec stream without reporting how the command ended (close code ${code})`,
          );
          client.send(channelStatus(lost.status), { binary: true });
        }
        client.close(sendableCode(code));
      });
      kubelet.resume();
    });
  });
}
