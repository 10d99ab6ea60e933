// Book 9.2 (the kubelet's API) and 9.1: the two kubelet endpoints the API server proxies to —
// container logs and exec — their paths, query parameters, stream channels and exit Status.
// Pure: shared by the API server's proxy, its test stand-in and the real kubelet's server.
import { badRequest, field, invalid, type FieldError } from "./status.js";

/** The kubelet's HTTPS port. */
export const KUBELET_PORT = 10250;

/** WebSocket subprotocols for exec, most preferred first. v5 adds the stdin-close signal to v4. */
export const EXEC_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;
export type ExecProtocol = (typeof EXEC_PROTOCOLS)[number];

/** The first byte of every exec frame names its stream. */
export const Channel = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  /** The final metav1.Status (JSON): Success, or Failure with the exit code. */
  error: 3,
  /** Terminal size, JSON {"Width":w,"Height":h}. */
  resize: 4,
  /** v5 only: client→server [255, <channel>] means "no more data on <channel>" (stdin: [255, 0]). */
  close: 255,
} as const;

export type KubeletEndpoint = "containerLogs" | "exec";

export interface KubeletRoute {
  endpoint: KubeletEndpoint;
  namespace: string;
  pod: string;
  container: string;
}

/** One endpoint of the contract, for documentation and for servers that implement it. */
export interface KubeletEndpointDoc {
  endpoint: KubeletEndpoint;
  method: "GET";
  path: string;
  query: Record<string, string>;
  produces: string;
  description: string;
}

/** What the kubelet serves for the API server, as data (the real kubelet implements the same). */
export function describeKubeletApi(): KubeletEndpointDoc[] {
  return [
    {
      endpoint: "containerLogs",
      method: "GET",
      path: "/containerLogs/{namespace}/{pod}/{container}",
      query: {
        follow: "true: keep the response open and stream new lines until the container stops or the client leaves",
        previous: "true: the previous (terminated) instance of the container",
        timestamps: "true: prefix every line with its RFC 3339 time and a space",
        tailLines: "integer ≥ 0: only the last N lines",
        sinceSeconds: "integer ≥ 1: only lines newer than N seconds (not with sinceTime)",
        sinceTime: "RFC 3339 time: only lines at or after it (not with sinceSeconds)",
        limitBytes: "integer ≥ 1: stop after this many bytes",
      },
      produces: "text/plain (chunked while following)",
      description: "A container's log, raw bytes as the container wrote them.",
    },
    {
      endpoint: "exec",
      method: "GET",
      path: "/exec/{namespace}/{pod}/{container}",
      query: {
        command: "repeated, one per argv word (required)",
        input: "1: attach stdin (stdin=true is accepted too)",
        output: "1: attach stdout (stdout=true is accepted too)",
        error: "1: attach stderr (stderr=true is accepted too; ignored with a tty)",
        tty: "1: allocate a terminal",
      },
      produces:
        "WebSocket upgrade, subprotocol v5.channel.k8s.io or v4.channel.k8s.io; binary frames whose first byte is the channel " +
        "(0 stdin, 1 stdout, 2 stderr, 3 final Status JSON, 4 resize; v5: [255, 0] closes stdin); the server sends the Status on channel 3 and closes with 1000",
      description: "Runs a command in a container and streams its standard streams.",
    },
  ];
}

const enc = encodeURIComponent;

export function containerLogsPath(namespace: string, pod: string, container: string): string {
  return `/containerLogs/${enc(namespace)}/${enc(pod)}/${enc(container)}`;
}

export function execPath(namespace: string, pod: string, container: string): string {
  return `/exec/${enc(namespace)}/${enc(pod)}/${enc(container)}`;
}

/** Matches a request path (no query) against the contract; undefined when it is not one of ours. */
export function matchKubeletPath(pathname: string): KubeletRoute | undefined {
  const parts = pathname.split("/");
  if (parts.length !== 5 || parts[0] !== "") return undefined;
  const endpoint = parts[1];
  if (endpoint !== "containerLogs" && endpoint !== "exec") return undefined;
  try {
    const [namespace, pod, container] = parts.slice(2).map((p) => decodeURIComponent(p)) as [string, string, string];
    if (namespace === "" || pod === "" || container === "") return undefined;
    return { endpoint, namespace, pod, container };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Logs

export interface LogOptions {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  /** RFC 3339, as given. */
  sinceTime?: string;
  limitBytes?: number;
}

/**
 * Query booleans as the API server decodes them: absent is false, "false" or "0" is false,
 * anything else (even an empty value) is true.
 */
export function queryBool(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  if (v === null) return false;
  return !(v === "0" || v.toLowerCase() === "false");
}

function queryInt(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  if (!/^[+-]?\d+$/.test(v.trim())) throw badRequest(`invalid value for query parameter ${name}: ${JSON.stringify(v)} is not an integer`);
  const n = Number(v.trim());
  if (!Number.isSafeInteger(n)) throw badRequest(`invalid value for query parameter ${name}: ${JSON.stringify(v)} is out of range`);
  return n;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Reads pods/log query parameters (follow, previous, timestamps, tailLines, sinceSeconds,
 * sinceTime, limitBytes). Unparsable values are 400 BadRequest; values out of range are 422
 * Invalid on kind PodLogOptions, as kube-apiserver reports them.
 */
export function parseLogOptions(query: URLSearchParams, podName = ""): LogOptions {
  const opts: LogOptions = {
    follow: queryBool(query, "follow"),
    previous: queryBool(query, "previous"),
    timestamps: queryBool(query, "timestamps"),
  };
  const tailLines = queryInt(query, "tailLines");
  const sinceSeconds = queryInt(query, "sinceSeconds");
  const limitBytes = queryInt(query, "limitBytes");
  const sinceTime = query.get("sinceTime");
  if (sinceTime !== null) {
    if (!RFC3339.test(sinceTime) || Number.isNaN(Date.parse(sinceTime))) {
      throw badRequest(`invalid value for query parameter sinceTime: ${JSON.stringify(sinceTime)} is not an RFC 3339 time`);
    }
    opts.sinceTime = sinceTime;
  }
  if (tailLines !== undefined) opts.tailLines = tailLines;
  if (sinceSeconds !== undefined) opts.sinceSeconds = sinceSeconds;
  if (limitBytes !== undefined) opts.limitBytes = limitBytes;

  const errs: FieldError[] = [];
  if (tailLines !== undefined && tailLines < 0) errs.push(field.invalid("tailLines", tailLines, "must be greater than or equal to 0"));
  if (limitBytes !== undefined && limitBytes < 1) errs.push(field.invalid("limitBytes", limitBytes, "must be greater than 0"));
  if (sinceSeconds !== undefined && sinceTime !== null) {
    errs.push(field.forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"));
  } else if (sinceSeconds !== undefined && sinceSeconds < 1) {
    errs.push(field.invalid("sinceSeconds", sinceSeconds, "must be greater than 0"));
  }
  if (errs.length > 0) throw invalid("PodLogOptions", podName, errs);
  return opts;
}

/** The kubelet query for `opts` (only what is set). */
export function logQuery(opts: LogOptions): URLSearchParams {
  const q = new URLSearchParams();
  if (opts.follow) q.set("follow", "true");
  if (opts.previous) q.set("previous", "true");
  if (opts.timestamps) q.set("timestamps", "true");
  if (opts.sinceSeconds !== undefined) q.set("sinceSeconds", String(opts.sinceSeconds));
  if (opts.sinceTime !== undefined) q.set("sinceTime", opts.sinceTime);
  if (opts.tailLines !== undefined) q.set("tailLines", String(opts.tailLines));
  if (opts.limitBytes !== undefined) q.set("limitBytes", String(opts.limitBytes));
  return q;
}

// ---------------------------------------------------------------------------------------------
// Exec

export interface ExecOptions {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/**
 * Reads exec query parameters in either spelling: the API server's (stdin, stdout, stderr, tty
 * as booleans) or the kubelet's (input, output, error, tty = "1"). With a tty there is no
 * separate stderr. Missing command or no stream at all is 400 BadRequest.
 */
export function parseExecOptions(query: URLSearchParams): ExecOptions {
  const either = (a: string, b: string): boolean => queryBool(query, a) || queryBool(query, b);
  const tty = queryBool(query, "tty");
  const opts: ExecOptions = {
    command: query.getAll("command"),
    stdin: either("stdin", "input"),
    stdout: either("stdout", "output"),
    stderr: either("stderr", "error") && !tty,
    tty,
  };
  if (opts.command.length === 0 || opts.command.every((c) => c === "")) {
    throw badRequest("you must specify at least 1 command");
  }
  if (!opts.stdin && !opts.stdout && !opts.stderr) {
    throw badRequest("you must specify at least 1 of stdin, stdout, stderr");
  }
  return opts;
}

/** The kubelet query for `opts`, in the kubelet's spelling (input/output/error/tty=1, one command= per word). */
export function execQuery(opts: ExecOptions): URLSearchParams {
  const q = new URLSearchParams();
  if (opts.stdin) q.append("input", "1");
  if (opts.stdout) q.append("output", "1");
  if (opts.stderr) q.append("error", "1");
  if (opts.tty) q.append("tty", "1");
  for (const c of opts.command) q.append("command", c);
  return q;
}

/** The Status sent on channel 3 when a command finished: Success for 0, NonZeroExitCode otherwise. */
export function exitStatus(exitCode: number, command: readonly string[] = []): Record<string, unknown> {
  if (exitCode === 0) return { metadata: {}, status: "Success" };
  const what = command.length > 0 ? `command [${command.join(" ")}] exited with code ${exitCode}` : `exit code ${exitCode}`;
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: ${what}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

/** The Status sent on channel 3 when the command could not run at all. */
export function failureStatus(message: string, reason = "InternalError", code = 500): Record<string, unknown> {
  return { metadata: {}, status: "Failure", message, reason, code };
}

/** One exec frame: the channel byte, then the payload. */
export function frame(channel: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  return Buffer.concat([Buffer.from([channel]), body]);
}

/** The exit code a channel-3 Status reports: 0 for Success, the ExitCode cause, or undefined for other failures. */
export function exitCodeOf(status: unknown): number | undefined {
  if (typeof status !== "object" || status === null) return undefined;
  const s = status as { status?: string; reason?: string; details?: { causes?: { reason?: string; message?: string }[] } };
  if (s.status === "Success") return 0;
  if (s.reason !== "NonZeroExitCode") return undefined;
  const cause = s.details?.causes?.find((c) => c.reason === "ExitCode");
  const n = Number(cause?.message);
  return Number.isInteger(n) ? n : undefined;
}
