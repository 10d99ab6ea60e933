// Book 9.2: a stand-in kubelet for tests — it serves the kubelet's container-log and exec
// endpoints from an in-memory script, so the API server's proxy can be tested before the real
// kubelet exists (which will serve the same contract).
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import {
  Channel,
  EXEC_PROTOCOLS,
  exitStatus,
  failureStatus,
  frame,
  matchKubeletPath,
  parseExecOptions,
  parseLogOptions,
  type ExecOptions,
  type LogOptions,
} from "./contract.js";

/** One log line; plain strings get times one second apart ending now. */
export type StandinLogLine = string | { time: string; line: string };

export interface StandinContainer {
  logs?: StandinLogLine[];
  /** What the previous instance logged (previous=true). */
  previousLogs?: StandinLogLine[];
}

export interface StandinExecRequest {
  namespace: string;
  pod: string;
  container: string;
  options: ExecOptions;
}

/** How a scripted command behaves. */
export interface StandinExecPlan {
  stdout?: string;
  stderr?: string;
  /** Copy every stdin frame back on stdout until stdin is closed ([255, 0]) — then exit. */
  echoStdin?: boolean;
  exitCode?: number;
  /** Fail to start instead of running: this message goes out as a Failure Status. */
  error?: string;
}

export interface StandinScript {
  /** Keyed "namespace/pod/container". */
  containers: Record<string, StandinContainer>;
  /** The command's behaviour; default: echo stdin if attached, exit 0. */
  exec?: (req: StandinExecRequest) => StandinExecPlan;
}

export interface StandinTls {
  certPem: string;
  keyPem: string;
  /** When set, clients must present a certificate signed by this CA. */
  clientCaPem?: string;
}

export interface StandinRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The client certificate's CN, when TLS with client certificates is on. */
  clientCN?: string;
  protocol?: string;
}

export interface StandinKubelet {
  /** http(s)://127.0.0.1:<port> */
  url: string;
  /** Every request seen, in order. */
  requests: StandinRequest[];
  /** Resize messages received on exec sessions. */
  resizes: unknown[];
  /** Adds a line to a container's log; followers see it at once. */
  appendLog(key: string, line: string): void;
  /** Ends every follow stream of a container (as when it stops). */
  endLogs(key: string): void;
  /** How many clients are following a container's log right now. */
  followerCount(key: string): number;
  close(): Promise<void>;
}

interface TimedLine {
  time: Date;
  line: string;
}

function timed(lines: readonly StandinLogLine[] = []): TimedLine[] {
  const now = Date.now();
  return lines.map((l, i) =>
    typeof l === "string" ? { time: new Date(now - (lines.length - i) * 1000), line: l } : { time: new Date(l.time), line: l.line },
  );
}

function render(l: TimedLine, opts: LogOptions): string {
  return opts.timestamps ? `${l.time.toISOString()} ${l.line}\n` : `${l.line}\n`;
}

function selectLines(lines: TimedLine[], opts: LogOptions): TimedLine[] {
  let out = lines;
  if (opts.sinceSeconds !== undefined) {
    const from = Date.now() - opts.sinceSeconds * 1000;
    out = out.filter((l) => l.time.getTime() >= from);
  } else if (opts.sinceTime !== undefined) {
    const from = Date.parse(opts.sinceTime);
    out = out.filter((l) => l.time.getTime() >= from);
  }
  if (opts.tailLines !== undefined) out = opts.tailLines === 0 ? [] : out.slice(-opts.tailLines);
  return out;
}

function sendText(res: http.ServerResponse, code: number, text: string): void {
  res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8" });
  res.end(text.endsWith("\n") ? text : `${text}\n`);
}

/** Starts a stand-in kubelet on 127.0.0.1 (random port unless given); HTTPS when `tls` is given. */
export async function startStandinKubelet(
  script: StandinScript,
  opts: { tls?: StandinTls; port?: number } = {},
): Promise<StandinKubelet> {
  const logs = new Map<string, TimedLine[]>();
  const previous = new Map<string, TimedLine[]>();
  for (const [key, c] of Object.entries(script.containers)) {
    logs.set(key, timed(c.logs));
    previous.set(key, timed(c.previousLogs));
  }
  const followers = new Map<string, Set<(l: TimedLine | null) => void>>();
  const requests: StandinRequest[] = [];
  const resizes: unknown[] = [];

  const clientCN = (req: http.IncomingMessage): string | undefined => {
    const sock = req.socket as { getPeerCertificate?: () => { subject?: { CN?: string } } };
    const cn = sock.getPeerCertificate?.()?.subject?.CN;
    return typeof cn === "string" ? cn : undefined;
  };

  const record = (req: http.IncomingMessage): { url: URL; entry: StandinRequest } => {
    const url = new URL(req.url ?? "/", "http://kubelet");
    const entry: StandinRequest = { method: req.method ?? "", path: url.pathname, query: url.searchParams };
    const cn = clientCN(req);
    if (cn !== undefined) entry.clientCN = cn;
    requests.push(entry);
    return { url, entry };
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const { url } = record(req);
    const route = matchKubeletPath(url.pathname);
    if (!route || route.endpoint !== "containerLogs" || req.method !== "GET") {
      sendText(res, 404, `404 page not found: ${url.pathname}`);
      return;
    }
    const key = `${route.namespace}/${route.pod}/${route.container}`;
    const lines = logs.get(key);
    if (!lines) {
      sendText(res, 404, `container ${JSON.stringify(route.container)} not found in pod ${JSON.stringify(`${route.namespace}/${route.pod}`)}`);
      return;
    }
    let options: LogOptions;
    try {
      options = parseLogOptions(url.searchParams, route.pod);
    } catch (err) {
      sendText(res, 400, (err as Error).message);
      return;
    }
    res.writeHead(200, { "Content-Type": "text/plain" });
    let budget = options.limitBytes ?? Infinity;
    /** Writes within limitBytes; false once the budget is spent (the response is then ended). */
    const write = (text: string): boolean => {
      const buf = Buffer.from(text, "utf8");
      if (buf.length >= budget) {
        res.end(buf.subarray(0, budget));
        budget = 0;
        return false;
      }
      budget -= buf.length;
      res.write(buf);
      return true;
    };
    const source = options.previous ? (previous.get(key) ?? []) : lines;
    for (const l of selectLines(source, options)) {
      if (!write(render(l, options))) return;
    }
    if (!options.follow || options.previous) {
      res.end();
      return;
    }
    res.flushHeaders();
    let set = followers.get(key);
    if (!set) followers.set(key, (set = new Set()));
    const follower = (l: TimedLine | null): void => {
      if (l === null) {
        set.delete(follower);
        res.end();
      } else if (!write(render(l, options))) {
        set.delete(follower);
      }
    };
    set.add(follower);
    res.on("close", () => set.delete(follower));
  };

  const server = opts.tls
    ? https.createServer(
        {
          cert: opts.tls.certPem,
          key: opts.tls.keyPem,
          ...(opts.tls.clientCaPem !== undefined ? { ca: opts.tls.clientCaPem, requestCert: true, rejectUnauthorized: true } : {}),
        },
        onRequest,
      )
    : http.createServer(onRequest);

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => EXEC_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });

  const runExec = (ws: WebSocket, req: StandinExecRequest): void => {
    const { options } = req;
    const finish = (status: Record<string, unknown>): void => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(frame(Channel.error, JSON.stringify(status)), { binary: true }, () => ws.close(1000));
    };
    let plan: StandinExecPlan;
    try {
      plan = script.exec ? script.exec(req) : { echoStdin: options.stdin };
    } catch (err) {
      finish(failureStatus((err as Error).message));
      return;
    }
    if (plan.error !== undefined) {
      finish(failureStatus(plan.error));
      return;
    }
    const exit = (): void => finish(exitStatus(plan.exitCode ?? 0, options.command));
    if (plan.stdout && options.stdout) ws.send(frame(Channel.stdout, plan.stdout), { binary: true });
    if (plan.stderr && options.stderr) ws.send(frame(Channel.stderr, plan.stderr), { binary: true });
    const echo = plan.echoStdin === true && options.stdin;
    ws.on("message", (data, isBinary) => {
      if (!isBinary || !Buffer.isBuffer(data) || data.length === 0) return;
      const channel = data[0];
      if (channel === Channel.stdin && echo && options.stdout) {
        ws.send(frame(Channel.stdout, data.subarray(1)), { binary: true });
      } else if (channel === Channel.resize) {
        try {
          resizes.push(JSON.parse(data.subarray(1).toString("utf8")));
        } catch {
          resizes.push(data.subarray(1).toString("utf8"));
        }
      } else if (channel === Channel.close && data[1] === Channel.stdin && echo) {
        exit();
      }
    });
    if (!echo) exit();
  };

  server.on("upgrade", (req: http.IncomingMessage, socket, head: Buffer) => {
    const { url, entry } = record(req);
    const route = matchKubeletPath(url.pathname);
    const refuse = (code: number, text: string): void => {
      socket.end(`HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
    };
    socket.on("error", () => socket.destroy());
    if (!route || route.endpoint !== "exec") return refuse(404, `404 page not found: ${url.pathname}`);
    const key = `${route.namespace}/${route.pod}/${route.container}`;
    if (!logs.has(key)) {
      return refuse(404, `container ${JSON.stringify(route.container)} not found in pod ${JSON.stringify(`${route.namespace}/${route.pod}`)}`);
    }
    let options: ExecOptions;
    try {
      options = parseExecOptions(url.searchParams);
    } catch (err) {
      return refuse(400, (err as Error).message);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      entry.protocol = ws.protocol;
      ws.on("error", () => ws.terminate());
      runExec(ws, { namespace: route.namespace, pod: route.pod, container: route.container, options });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`,
    requests,
    resizes,
    appendLog(key, line) {
      const list = logs.get(key);
      if (!list) throw new Error(`stand-in kubelet: no container ${key}`);
      const l = { time: new Date(), line };
      list.push(l);
      for (const f of [...(followers.get(key) ?? [])]) f(l);
    },
    followerCount(key) {
      return followers.get(key)?.size ?? 0;
    },
    endLogs(key) {
      for (const f of [...(followers.get(key) ?? [])]) f(null);
    },
    close() {
      for (const set of followers.values()) for (const f of [...set]) f(null);
      return new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
