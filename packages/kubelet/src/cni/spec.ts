// Book 3.4.4 and 5.3: the CNI 1.0 contract between a runtime and its network plugins, as TypeScript types:
// network configs and lists, the Result a plugin prints on ADD, and the Error object it prints on failure.

/** CNI spec versions this package can speak. 1.0.0 is preferred; 0.4.0 is accepted for older configs. */
export const CNI_VERSION = "1.0.0";
export const SUPPORTED_VERSIONS = ["0.4.0", "1.0.0"] as const;

/** Well-known error codes from the CNI spec (section "Error"). Codes 100 and up are plugin-specific. */
export const CniErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  /** Our own: no free address left in the IPAM range. */
  IpamExhausted: 100,
  /** Our own: CHECK found the container's network not as ADD left it. */
  CheckFailed: 101,
  /** Our own: the runtime could not start the plugin or read what it printed. */
  ExecFailed: 102,
} as const;

/** IPAM section of a plugin config. Only `type` is common; the rest depends on the IPAM plugin. */
export interface IpamConfig {
  type: string;
  [key: string]: unknown;
}

export interface DnsConfig {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** One plugin entry of a network configuration list (or a standalone .conf file). */
export interface PluginConfig {
  type: string;
  /** Which runtimeConfig keys this plugin wants (e.g. portMappings, bandwidth). */
  capabilities?: Record<string, boolean>;
  ipam?: IpamConfig;
  dns?: DnsConfig;
  [key: string]: unknown;
}

/** A network configuration list (.conflist). */
export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: PluginConfig[];
}

/** What a plugin reads on stdin: its plugin entry plus the list's name and version, and chaining fields. */
export interface PluginStdinConfig extends PluginConfig {
  cniVersion: string;
  name: string;
  runtimeConfig?: Record<string, unknown>;
  prevResult?: Result;
}

export interface ResultInterface {
  name: string;
  mac?: string;
  /** Path of the network namespace when the interface lives inside the container. */
  sandbox?: string;
}

export interface ResultIp {
  /** CIDR form, e.g. "10.244.0.2/24". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
  /** Present only in 0.x results. */
  version?: "4" | "6";
}

export interface ResultRoute {
  dst: string;
  gw?: string;
}

/** The success result of ADD (and what VERSION-agnostic callers cache for DEL and CHECK). */
export interface Result {
  cniVersion: string;
  interfaces?: ResultInterface[];
  ips?: ResultIp[];
  routes?: ResultRoute[];
  dns?: DnsConfig;
}

/** What VERSION prints. */
export interface VersionResult {
  cniVersion: string;
  supportedVersions: string[];
}

/** The error object a plugin prints (on stdout) with a non-zero exit status. */
export interface CniErrorBody {
  cniVersion?: string;
  code: number;
  msg: string;
  details?: string;
}

/** A CNI failure as a typed exception, carrying the plugin's code, msg and details. */
export class CniError extends Error {
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
  /** The plugin type that failed, when the error came from a plugin. */
  readonly plugin?: string;

  constructor(code: number, msg: string, details?: string, plugin?: string) {
    const where = plugin ? `plugin ${plugin}: ` : "";
    super(`CNI error ${code}: ${where}${msg}${details ? ` (${details})` : ""}`);
    this.name = "CniError";
    this.code = code;
    this.msg = msg;
    this.details = details;
    this.plugin = plugin;
  }

  toJSON(): CniErrorBody {
    const body: CniErrorBody = { cniVersion: CNI_VERSION, code: this.code, msg: this.msg };
    if (this.details) body.details = this.details;
    return body;
  }
}

/** The CNI_ARGS keys the kubelet passes, in the order it passes them. */
export interface K8sCniArgs {
  K8S_POD_NAMESPACE: string;
  K8S_POD_NAME: string;
  K8S_POD_INFRA_CONTAINER_ID: string;
  K8S_POD_UID: string;
}

/** Formats CNI_ARGS ("IgnoreUnknown=1;K=V;..."). Keys and values may not contain ';' or '='. */
export function formatCniArgs(args: Record<string, string>): string {
  const parts = ["IgnoreUnknown=1"];
  for (const [k, v] of Object.entries(args)) {
    if (/[;=]/.test(k) || /[;=]/.test(v)) {
      throw new CniError(CniErrorCode.InvalidEnvironment, `CNI_ARGS entry ${k}=${v} contains ';' or '='`);
    }
    parts.push(`${k}=${v}`);
  }
  return parts.join(";");
}

/** Parses CNI_ARGS into a map; an entry without '=' is an error, as in libcni. */
export function parseCniArgs(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const part of raw.split(";")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) throw new CniError(CniErrorCode.InvalidEnvironment, `CNI_ARGS: invalid pair "${part}"`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Validates the fields every plugin entry needs. Throws CniError(InvalidNetworkConfig). */
export function validatePluginConfig(v: unknown, where: string): PluginConfig {
  if (!isObject(v)) throw new CniError(CniErrorCode.InvalidNetworkConfig, `${where}: plugin config must be an object`);
  if (typeof v.type !== "string" || v.type === "" || v.type.includes("/")) {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, `${where}: plugin "type" must be a plain binary name`);
  }
  if (v.ipam !== undefined && (!isObject(v.ipam) || typeof v.ipam.type !== "string")) {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, `${where}: "ipam" must be an object with a "type"`);
  }
  return v as PluginConfig;
}

/**
 * Parses a .conflist, or a single-plugin .conf/.json (which is wrapped into a list of one, as libcni does).
 * Throws CniError(DecodeFailure / InvalidNetworkConfig) with the file name in the message.
 */
export function parseNetworkConfig(text: string, file: string): NetworkConfigList {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CniError(CniErrorCode.DecodeFailure, `${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(raw)) throw new CniError(CniErrorCode.InvalidNetworkConfig, `${file}: top level must be an object`);
  if (typeof raw.name !== "string" || raw.name === "") {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, `${file}: missing network "name"`);
  }
  const cniVersion = typeof raw.cniVersion === "string" ? raw.cniVersion : "";
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `${file}: cniVersion "${cniVersion}" is not supported (want one of ${SUPPORTED_VERSIONS.join(", ")})`,
    );
  }
  if (Array.isArray(raw.plugins)) {
    if (raw.plugins.length === 0) throw new CniError(CniErrorCode.InvalidNetworkConfig, `${file}: "plugins" is empty`);
    const plugins = raw.plugins.map((p, i) => validatePluginConfig(p, `${file} plugins[${i}]`));
    return { cniVersion, name: raw.name, disableCheck: raw.disableCheck === true, plugins };
  }
  if (raw.plugins !== undefined) throw new CniError(CniErrorCode.InvalidNetworkConfig, `${file}: "plugins" must be a list`);
  // A single plugin config: everything except name/cniVersion is the plugin entry.
  const { name: _n, cniVersion: _v, ...plugin } = raw;
  return { cniVersion, name: raw.name, plugins: [validatePluginConfig(plugin, file)] };
}

/** Reads a plugin's error output. Falls back to a generic error carrying the raw text. */
export function parseErrorOutput(stdout: string, stderr: string, exitCode: number | null, plugin: string): CniError {
  for (const text of [stdout, stderr]) {
    const trimmed = text.trim();
    if (!trimmed.startsWith("{")) continue;
    try {
      const body = JSON.parse(trimmed) as unknown;
      if (isObject(body) && typeof body.code === "number" && typeof body.msg === "string") {
        return new CniError(body.code, body.msg, typeof body.details === "string" ? body.details : undefined, plugin);
      }
    } catch {
      // not JSON; try the next stream
    }
  }
  const text = (stderr.trim() || stdout.trim() || "no output").slice(0, 2000);
  return new CniError(CniErrorCode.ExecFailed, `exited with status ${exitCode ?? "signal"}: ${text}`, undefined, plugin);
}

/** Checks that a plugin's ADD output looks like a Result. */
export function parseResult(stdout: string, plugin: string): Result {
  let raw: unknown;
  try {
    raw = JSON.parse(stdout);
  } catch {
    throw new CniError(CniErrorCode.DecodeFailure, `result is not valid JSON: ${stdout.slice(0, 200)}`, undefined, plugin);
  }
  if (!isObject(raw) || typeof raw.cniVersion !== "string") {
    throw new CniError(CniErrorCode.DecodeFailure, "result has no cniVersion", undefined, plugin);
  }
  for (const key of ["interfaces", "ips", "routes"] as const) {
    if (raw[key] !== undefined && !Array.isArray(raw[key])) {
      throw new CniError(CniErrorCode.DecodeFailure, `result field "${key}" must be a list`, undefined, plugin);
    }
  }
  return raw as unknown as Result;
}
