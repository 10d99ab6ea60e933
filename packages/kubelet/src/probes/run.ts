// Book 9.3: one probe execution: an HTTP GET, a TCP connect or a command run in the container, judged
// the way the kubelet's prober judges it (2xx/3xx is healthy, exit 0 is healthy, a connect is healthy).
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import type { Container } from "@corekube/api";
import { type ProbeTimers, realTimers } from "./timers.js";
import { type HTTPHeader, type ResolvedProbe, resolveProbePort } from "./types.js";

/**
 * What one probe run found. "unknown" means the probe could not be run at all (a port name that does not
 * resolve, a pod without an IP, a runtime error): workers leave their counts alone for it.
 */
export interface ProbeOutcome {
  result: "success" | "failure" | "unknown";
  output?: string;
  /** A success that deserves a Warning event (an HTTP redirect to another host that was not followed). */
  warning?: boolean;
}

/** Runs a command in a running container and waits for it, as the CRI's ExecSync does. */
export type ExecSyncFn = (
  containerId: string,
  cmd: string[],
  timeoutMs: number,
) => Promise<{ exitCode: number; stdout: string; stderr: string }>;

/** What an ExecSyncFn rejects with when the command outlived its timeout (any error named so counts). */
export class ExecTimeoutError extends Error {
  override name = "ExecTimeoutError";
}

/** The User-Agent probes send unless the spec sets one. */
export const PROBE_USER_AGENT = "kube-probe/1.33";
/** How much of a response body (or command output) a probe keeps for its message. */
export const MAX_PROBE_OUTPUT = 10 * 1024;
/** How many requests an HTTP probe makes at most while following same-host redirects. */
export const MAX_PROBE_REDIRECTS = 10;

/** Where a probe runs: the container (for named ports and exec) and the pod IP (the default host). */
export interface ProbeTarget {
  container: Pick<Container, "name" | "ports">;
  containerId: string;
  podIP?: string;
}

export interface RunProbeOptions {
  execSync?: ExecSyncFn;
  /** Overrides timeoutSeconds * 1000 (tests that shrink time). */
  timeoutMs?: number;
  /** Timers for the exec timeout (a fake scheduler in tests). */
  timers?: ProbeTimers;
}

const hostPort = (host: string, port: number): string => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);

const clip = (s: string): string => (s.length > MAX_PROBE_OUTPUT ? s.slice(0, MAX_PROBE_OUTPUT) : s);

/** Runs a probe once against a container. Never throws: every problem becomes a failure or unknown. */
export async function runProbe(probe: ResolvedProbe, target: ProbeTarget, opts: RunProbeOptions = {}): Promise<ProbeOutcome> {
  const timeoutMs = opts.timeoutMs ?? probe.timeoutSeconds * 1000;
  const h = probe.handler;
  try {
    switch (h.type) {
      case "exec":
        if (!opts.execSync) return { result: "unknown", output: "exec probes need a container runtime, and none was given" };
        return await execProbe(opts.execSync, target.containerId, h.command, timeoutMs, opts.timers);
      case "httpGet": {
        const port = resolveProbePort(h.port, target.container);
        const host = h.host ?? target.podIP;
        if (!host) return { result: "unknown", output: "the pod has no IP yet and the probe names no host" };
        const url = new URL(`${h.scheme.toLowerCase()}://${hostPort(host, port)}${h.path}`);
        return await httpProbe(url, h.httpHeaders, timeoutMs);
      }
      case "tcpSocket": {
        const port = resolveProbePort(h.port, target.container);
        const host = h.host ?? target.podIP;
        if (!host) return { result: "unknown", output: "the pod has no IP yet and the probe names no host" };
        return await tcpProbe(host, port, timeoutMs);
      }
      case "grpc":
        return { result: "failure", output: "gRPC probes are not supported by corekube" };
    }
  } catch (e) {
    return { result: "unknown", output: (e as Error).message };
  }
}

/** Runs a command through execSync: exit 0 is success; the output (stdout then stderr) is the message. */
export async function execProbe(
  execSync: ExecSyncFn,
  containerId: string,
  command: string[],
  timeoutMs: number,
  timers: ProbeTimers = realTimers,
): Promise<ProbeOutcome> {
  const timedOut = { result: "failure", output: `command "${command.join(" ")}" timed out` } as const;
  let timer: unknown;
  const deadline = new Promise<"timeout">((r) => {
    timer = timers.setTimeout(() => r("timeout"), timeoutMs);
  });
  const run = execSync(containerId, command, timeoutMs);
  run.catch(() => {}); // a late rejection after the deadline is not an error of ours
  try {
    const res = await Promise.race([run, deadline]);
    if (res === "timeout") return timedOut;
    const output = clip(`${res.stdout ?? ""}${res.stderr ?? ""}`);
    if (res.exitCode === 0) return { result: "success", output };
    return { result: "failure", output: output || `command "${command.join(" ")}" exited with code ${res.exitCode}` };
  } catch (e) {
    const err = e as Error & { timedOut?: boolean };
    if (err?.name === "ExecTimeoutError" || err?.timedOut === true) return timedOut;
    return { result: "unknown", output: `exec failed: ${err?.message ?? String(e)}` };
  } finally {
    timers.clearTimeout(timer);
  }
}

/** Words for a socket error, in the shape Go's errors take ("dial tcp host:port: connect: ..."). */
function netMessage(dial: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case "ECONNREFUSED":
      return `dial tcp ${dial}: connect: connection refused`;
    case "EHOSTUNREACH":
      return `dial tcp ${dial}: connect: no route to host`;
    case "ENETUNREACH":
      return `dial tcp ${dial}: connect: network is unreachable`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `dial tcp: lookup ${(err as { hostname?: string }).hostname ?? dial}: no such host`;
    case "ECONNRESET":
      return "connection reset by peer";
    default:
      return err.message;
  }
}

/** Opens a TCP connection and closes it again: connecting within the timeout is success. */
export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: ProbeOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(o);
    };
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => finish({ result: "failure", output: `dial tcp ${hostPort(host, port)}: i/o timeout` }), timeoutMs);
    sock.once("connect", () => finish({ result: "success", output: "" }));
    sock.once("error", (e) => finish({ result: "failure", output: netMessage(hostPort(host, port), e) }));
  });
}

interface OneResponse {
  status: number;
  location?: string;
  body: string;
}

function getOnce(url: URL, headers: http.OutgoingHttpHeaders, signal: AbortSignal): Promise<OneResponse> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === "https:" ? https : http;
    const req = mod.request(url, {
      method: "GET",
      headers,
      agent: false, // a fresh connection each time, closed afterwards, like upstream's no-keep-alive transport
      signal,
      // Probes do not check certificates, as upstream's prober does not.
      ...(url.protocol === "https:" ? { rejectUnauthorized: false } : {}),
    });
    req.once("error", reject);
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const end = () => {
        const location = res.headers.location;
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), ...(location ? { location } : {}) });
      };
      res.on("data", (c: Buffer) => {
        if (size >= MAX_PROBE_OUTPUT) return;
        const take = c.subarray(0, MAX_PROBE_OUTPUT - size);
        chunks.push(take);
        size += take.length;
        if (size >= MAX_PROBE_OUTPUT) {
          // Enough for the message: stop reading and drop the connection.
          res.destroy();
          end();
        }
      });
      res.once("end", end);
      res.once("error", reject);
    });
    req.end();
  });
}

/** host:port of a URL, with the scheme's port when the URL leaves it out. */
const dialAddress = (u: URL): string => (u.port ? u.host : `${u.host}:${u.protocol === "https:" ? 443 : 80}`);

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

/**
 * An HTTP GET probe: 200-399 is success; redirects to the same host are followed (at most 10 requests),
 * a redirect to another host is not followed and counts as success with a warning.
 */
export async function httpProbe(url: URL, specHeaders: HTTPHeader[], timeoutMs: number): Promise<ProbeOutcome> {
  const headers: http.OutgoingHttpHeaders = {};
  let hostOverride: string | undefined;
  for (const { name, value } of specHeaders) {
    const key = name.toLowerCase();
    if (key === "host") {
      hostOverride = value;
      continue;
    }
    const prev = headers[key];
    headers[key] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [String(prev)]), value];
  }
  headers["user-agent"] ??= PROBE_USER_AGENT;
  headers.accept ??= "*/*";

  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  let current = url;
  try {
    for (let requests = 1; ; requests++) {
      const sent = requests === 1 && hostOverride !== undefined ? { ...headers, host: hostOverride } : headers;
      let res: OneResponse;
      try {
        res = await getOnce(current, sent, ac.signal);
      } catch (e) {
        if (ac.signal.aborted) return { result: "failure", output: `Get "${current.href}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` };
        return { result: "failure", output: `Get "${current.href}": ${netMessage(dialAddress(current), e as NodeJS.ErrnoException)}` };
      }
      if (REDIRECT_CODES.has(res.status) && res.location) {
        let next: URL;
        try {
          next = new URL(res.location, current);
        } catch {
          return { result: "failure", output: `Get "${current.href}": bad redirect location ${JSON.stringify(res.location)}` };
        }
        if (next.hostname === url.hostname) {
          if (requests >= MAX_PROBE_REDIRECTS) return { result: "failure", output: `Get "${next.href}": stopped after ${MAX_PROBE_REDIRECTS} redirects` };
          current = next;
          continue;
        }
        // Another host: upstream does not follow it and judges this response.
      }
      if (res.status >= 200 && res.status < 400) {
        if (res.status >= 300) return { result: "success", warning: true, output: `Probe terminated redirects, Response body: ${res.body}` };
        return { result: "success", output: res.body };
      }
      return { result: "failure", output: `HTTP probe failed with statuscode: ${res.status}` };
    }
  } finally {
    clearTimeout(timer);
  }
}
