// Book 9.3: the container probe spec (exec, httpGet, tcpSocket, grpc and its timings) as the Pod API
// writes it, with the defaults the API server applies and a check that turns bad specs into clear errors.
import type { Container } from "@corekube/api";

/** Which of a container's three probes: they differ only in what a verdict makes the kubelet do. */
export type ProbeKind = "readiness" | "liveness" | "startup";

export const PROBE_KINDS: readonly ProbeKind[] = ["startup", "liveness", "readiness"];

/** The container spec field holding each probe. */
export const PROBE_FIELD: Record<ProbeKind, "readinessProbe" | "livenessProbe" | "startupProbe"> = {
  readiness: "readinessProbe",
  liveness: "livenessProbe",
  startup: "startupProbe",
};

export interface ExecAction {
  command?: string[];
}

export interface HTTPHeader {
  name: string;
  value: string;
}

export interface HTTPGetAction {
  path?: string;
  /** A number, or the name of one of the container's ports. */
  port: number | string;
  /** Defaults to the pod IP. */
  host?: string;
  scheme?: "HTTP" | "HTTPS";
  httpHeaders?: HTTPHeader[];
}

export interface TCPSocketAction {
  port: number | string;
  host?: string;
}

export interface GRPCAction {
  port: number;
  service?: string;
}

/** A probe as it appears in a container spec (readinessProbe, livenessProbe, startupProbe). */
export interface Probe {
  exec?: ExecAction;
  httpGet?: HTTPGetAction;
  tcpSocket?: TCPSocketAction;
  grpc?: GRPCAction;
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  /** Accepted and ignored: corekube uses the pod's grace period when a liveness failure kills a container. */
  terminationGracePeriodSeconds?: number;
}

/** The one action a probe runs. */
export type ProbeHandler =
  | { type: "exec"; command: string[] }
  | { type: "httpGet"; path: string; port: number | string; host?: string; scheme: "HTTP" | "HTTPS"; httpHeaders: HTTPHeader[] }
  | { type: "tcpSocket"; port: number | string; host?: string }
  | { type: "grpc"; port: number; service?: string };

/** A probe with its defaults filled in and its fields checked. */
export interface ResolvedProbe {
  handler: ProbeHandler;
  initialDelaySeconds: number;
  timeoutSeconds: number;
  periodSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

export const PROBE_DEFAULTS = {
  timeoutSeconds: 1,
  periodSeconds: 10,
  successThreshold: 1,
  failureThreshold: 3,
} as const;

/** A probe spec that cannot be run; the message names the probe and the field. */
export class ProbeSpecError extends Error {
  override name = "ProbeSpecError";
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function checkPort(where: string, port: unknown): number | string {
  if (typeof port === "number") {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ProbeSpecError(`${where}.port: ${port} is not a port number (1-65535)`);
    return port;
  }
  if (typeof port === "string" && port.length > 0) return port;
  throw new ProbeSpecError(`${where}.port: required, a number or a container port name`);
}

/**
 * Checks a probe spec and fills in the API defaults (a zero or missing timeout, period or threshold takes
 * its default, as API defaulting does). Throws ProbeSpecError with the offending field on bad input.
 */
export function resolveProbe(kind: ProbeKind, spec: unknown): ResolvedProbe {
  const where = PROBE_FIELD[kind];
  if (!isObject(spec)) throw new ProbeSpecError(`${where}: must be an object`);
  const handlers = (["exec", "httpGet", "tcpSocket", "grpc"] as const).filter((h) => spec[h] !== undefined && spec[h] !== null);
  if (handlers.length === 0) throw new ProbeSpecError(`${where}: must specify one of exec, httpGet, tcpSocket or grpc`);
  if (handlers.length > 1) throw new ProbeSpecError(`${where}: may not specify more than one handler (found ${handlers.join(", ")})`);
  const h = handlers[0]!;
  const body = spec[h];
  if (!isObject(body)) throw new ProbeSpecError(`${where}.${h}: must be an object`);
  let handler: ProbeHandler;
  switch (h) {
    case "exec": {
      const command = body.command;
      if (!Array.isArray(command) || command.length === 0 || !command.every((a) => typeof a === "string")) {
        throw new ProbeSpecError(`${where}.exec.command: required, a non-empty list of strings`);
      }
      handler = { type: "exec", command: [...command] as string[] };
      break;
    }
    case "httpGet": {
      const port = checkPort(`${where}.httpGet`, body.port);
      const scheme = body.scheme ?? "HTTP";
      if (scheme !== "HTTP" && scheme !== "HTTPS") throw new ProbeSpecError(`${where}.httpGet.scheme: must be HTTP or HTTPS, not ${String(scheme)}`);
      if (body.path !== undefined && typeof body.path !== "string") throw new ProbeSpecError(`${where}.httpGet.path: must be a string`);
      if (body.host !== undefined && typeof body.host !== "string") throw new ProbeSpecError(`${where}.httpGet.host: must be a string`);
      const headers = body.httpHeaders ?? [];
      if (!Array.isArray(headers)) throw new ProbeSpecError(`${where}.httpGet.httpHeaders: must be a list`);
      const httpHeaders: HTTPHeader[] = headers.map((x, i) => {
        if (!isObject(x) || typeof x.name !== "string" || x.name === "" || typeof x.value !== "string") {
          throw new ProbeSpecError(`${where}.httpGet.httpHeaders[${i}]: needs a name and a string value`);
        }
        return { name: x.name, value: x.value };
      });
      let path = (body.path as string | undefined) ?? "/";
      if (!path.startsWith("/")) path = `/${path}`;
      handler = { type: "httpGet", path, port, scheme, httpHeaders, ...(body.host ? { host: body.host as string } : {}) };
      break;
    }
    case "tcpSocket": {
      const port = checkPort(`${where}.tcpSocket`, body.port);
      if (body.host !== undefined && typeof body.host !== "string") throw new ProbeSpecError(`${where}.tcpSocket.host: must be a string`);
      handler = { type: "tcpSocket", port, ...(body.host ? { host: body.host as string } : {}) };
      break;
    }
    case "grpc": {
      const port = body.port;
      if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw new ProbeSpecError(`${where}.grpc.port: required, a port number (1-65535)`);
      }
      handler = { type: "grpc", port, ...(typeof body.service === "string" ? { service: body.service } : {}) };
      break;
    }
  }
  const num = (field: string, dflt: number): number => {
    const v = spec[field];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new ProbeSpecError(`${where}.${field}: must be a non-negative whole number, not ${JSON.stringify(v)}`);
    return v === 0 ? dflt : v;
  };
  const initialDelaySeconds = num("initialDelaySeconds", 0);
  const timeoutSeconds = num("timeoutSeconds", PROBE_DEFAULTS.timeoutSeconds);
  const periodSeconds = num("periodSeconds", PROBE_DEFAULTS.periodSeconds);
  const successThreshold = num("successThreshold", PROBE_DEFAULTS.successThreshold);
  const failureThreshold = num("failureThreshold", PROBE_DEFAULTS.failureThreshold);
  if (kind !== "readiness" && successThreshold !== 1) {
    throw new ProbeSpecError(`${where}.successThreshold: must be 1 for ${kind} probes, not ${successThreshold}`);
  }
  return { handler, initialDelaySeconds, timeoutSeconds, periodSeconds, successThreshold, failureThreshold };
}

/** A container's probe of one kind, or undefined when it has none. */
export function probeOf(container: Container, kind: ProbeKind): unknown {
  const p = container[PROBE_FIELD[kind]];
  return p === undefined || p === null ? undefined : p;
}

/**
 * Resolves a probe port: a number is used as is; a name is looked up among the container's ports (a
 * numeric string is taken as a number, as upstream does as a last resort). Throws on unknown names.
 */
export function resolveProbePort(port: number | string, container: Pick<Container, "name" | "ports">): number {
  let n: number;
  if (typeof port === "number") n = port;
  else {
    const named = (container.ports ?? []).find((p) => p.name === port);
    if (named) n = named.containerPort;
    else if (/^[0-9]+$/.test(port)) n = Number(port);
    else throw new ProbeSpecError(`couldn't find port "${port}" among the ports of container "${container.name}"`);
  }
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ProbeSpecError(`invalid port number: ${n}`);
  return n;
}
