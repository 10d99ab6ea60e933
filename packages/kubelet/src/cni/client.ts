// Book 5.3-5.4 and 6.2: the kubelet's side of CNI (what libcni does for a runtime): load the first network
// config list, exec each plugin binary with CNI_* env and JSON on stdin, chain results, and cache ADD for DEL.
import { sharedSpawner } from "../runtime/spawner.js";
import { constants as fsc } from "node:fs";
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  CniError,
  CniErrorCode,
  formatCniArgs,
  type NetworkConfigList,
  type PluginConfig,
  type PluginStdinConfig,
  parseErrorOutput,
  parseNetworkConfig,
  parseResult,
  type Result,
} from "./spec.js";

export const DEFAULT_CONF_DIR = "/etc/cni/net.d";
export const DEFAULT_BIN_DIRS = ["/opt/cni/bin", "/usr/lib/cni"];
export const DEFAULT_CACHE_DIR = "/var/lib/corekube/cni/cache";
const CONF_EXTENSIONS = [".conf", ".conflist", ".json"];

export interface CniClientOptions {
  /** Directory with *.conflist / *.conf / *.json; the lexically first valid one is used. */
  confDir?: string;
  /** Where plugin binaries are looked up, in order; also passed to plugins as CNI_PATH. */
  binDirs?: string[];
  /** Where ADD results are cached so DEL and CHECK work after a kubelet restart. */
  cacheDir?: string;
  /** Use this list instead of reading confDir (tests, or a kubelet that got its config elsewhere). */
  networkConfig?: NetworkConfigList;
  /** Extra environment for plugins (PATH is inherited from this process by default). */
  env?: Record<string, string>;
}

/** Identifies one pod sandbox's attachment to the network. */
export interface PodNetworkRequest {
  containerId: string;
  /** Path of the sandbox's network namespace, e.g. /var/run/netns/<name>. May be "" on DEL. */
  netns: string;
  ifName?: string;
  podNamespace: string;
  podName: string;
  podUid: string;
  /** runtimeConfig values offered to plugins, e.g. { portMappings: [...] }; each plugin gets only the
   *  keys it declares in `capabilities`. */
  capabilityArgs?: Record<string, unknown>;
}

/** What the cache file holds: enough to run DEL even if the config dir changed or the kubelet restarted. */
interface CacheEntry {
  kind: "corekubeCniCacheV1";
  containerId: string;
  ifName: string;
  networkName: string;
  config: NetworkConfigList;
  capabilityArgs?: Record<string, unknown>;
  result: Result;
}

/** Lists the config files libcni would consider, in lexical order. */
export async function listConfFiles(confDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(confDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new CniError(CniErrorCode.IoFailure, `cannot read CNI config dir ${confDir}: ${(e as Error).message}`);
  }
  return names
    .filter((n) => CONF_EXTENSIONS.some((ext) => n.endsWith(ext)))
    .sort()
    .map((n) => join(confDir, n));
}

/**
 * Loads the first usable network config from confDir, in lexical order. A file that fails to parse is
 * skipped (as the kubelet's CNI loader does, logging it) and the next one is tried; `skipped` says why.
 */
export async function loadFirstNetwork(confDir: string): Promise<{ file: string; config: NetworkConfigList; skipped: string[] }> {
  const files = await listConfFiles(confDir);
  const skipped: string[] = [];
  for (const file of files) {
    try {
      const text = await readFile(file, "utf8");
      return { file, config: parseNetworkConfig(text, file), skipped };
    } catch (e) {
      skipped.push(e instanceof CniError ? e.msg : `${file}: ${(e as Error).message}`);
    }
  }
  const why = skipped.length ? `; skipped: ${skipped.join("; ")}` : "";
  throw new CniError(CniErrorCode.InvalidNetworkConfig, `no valid CNI network config found in ${confDir}${why}`);
}

/** Finds a plugin binary in the first dir that has an executable file of that name. */
export async function findPlugin(type: string, binDirs: string[]): Promise<string> {
  for (const dir of binDirs) {
    const candidate = join(dir, type);
    try {
      await access(candidate, fsc.X_OK);
      return candidate;
    } catch {
      // try the next dir
    }
  }
  throw new CniError(CniErrorCode.InvalidNetworkConfig, `failed to find plugin "${type}" in path [${binDirs.join(" ")}]`);
}

/** Result of running one plugin process. */
interface ExecOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One plugin call, started by the kubelet's spawn helper (a fork from the kubelet itself costs its event loop). */
async function runPlugin(bin: string, env: Record<string, string>, stdin: string): Promise<ExecOutcome> {
  try {
    const r = await sharedSpawner().run(bin, [], { env, input: stdin });
    return { code: r.code, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
  } catch (e) {
    throw new CniError(CniErrorCode.ExecFailed, `cannot run ${bin}: ${(e as Error).message}`);
  }
}

/** Builds a plugin's stdin: its entry, plus name, cniVersion, the runtimeConfig it asked for, and prevResult. */
export function pluginStdin(
  list: NetworkConfigList,
  plugin: PluginConfig,
  capabilityArgs: Record<string, unknown> | undefined,
  prevResult: Result | undefined,
): PluginStdinConfig {
  const conf: PluginStdinConfig = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, wanted] of Object.entries(plugin.capabilities ?? {})) {
    if (wanted && capabilityArgs && capabilityArgs[cap] !== undefined) runtimeConfig[cap] = capabilityArgs[cap];
  }
  if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
  else delete conf.runtimeConfig;
  if (prevResult) conf.prevResult = prevResult;
  return conf;
}

/** The kubelet's CNI client. One instance per node; it is stateless apart from the on-disk cache. */
export class CniClient {
  readonly confDir: string;
  readonly binDirs: string[];
  readonly cacheDir: string;
  private readonly fixedConfig?: NetworkConfigList;
  private readonly extraEnv: Record<string, string>;

  constructor(opts: CniClientOptions = {}) {
    this.confDir = opts.confDir ?? DEFAULT_CONF_DIR;
    this.binDirs = opts.binDirs ?? DEFAULT_BIN_DIRS;
    this.cacheDir = opts.cacheDir ?? DEFAULT_CACHE_DIR;
    this.fixedConfig = opts.networkConfig;
    this.extraEnv = opts.env ?? {};
  }

  /** The network list in force now (the fixed one, or the first in confDir). */
  async network(): Promise<NetworkConfigList> {
    if (this.fixedConfig) return this.fixedConfig;
    return (await loadFirstNetwork(this.confDir)).config;
  }

  /** Attaches a pod sandbox: runs ADD through every plugin of the list, chaining prevResult, and caches the result. */
  async add(req: PodNetworkRequest): Promise<Result> {
    validateRequest(req, true);
    const list = await this.network();
    const ifName = req.ifName ?? "eth0";
    let prev: Result | undefined;
    for (const plugin of list.plugins) {
      const out = await this.exec("ADD", list, plugin, req, ifName, prev);
      prev = parseResult(out, plugin.type);
    }
    const result = prev as Result; // a list always has at least one plugin
    await this.writeCache({
      kind: "corekubeCniCacheV1",
      containerId: req.containerId,
      ifName,
      networkName: list.name,
      config: list,
      capabilityArgs: req.capabilityArgs,
      result,
    });
    return result;
  }

  /**
   * Detaches a pod sandbox: runs DEL through the plugins in reverse order with the cached ADD result as
   * prevResult. Works without a cache entry (plugins must tolerate missing state) and with netns "".
   */
  async del(req: PodNetworkRequest): Promise<void> {
    validateRequest(req, false);
    const ifName = req.ifName ?? "eth0";
    const cached = await this.readCache(req.containerId, ifName);
    const list = cached?.config ?? (await this.network());
    const capabilityArgs = req.capabilityArgs ?? cached?.capabilityArgs;
    for (const plugin of [...list.plugins].reverse()) {
      await this.exec("DEL", list, plugin, { ...req, capabilityArgs }, ifName, cached?.result);
    }
    await rm(this.cachePath(list.name, req.containerId, ifName), { force: true });
  }

  /** Verifies a pod sandbox's network is still as ADD left it. Needs the cached ADD result. */
  async check(req: PodNetworkRequest): Promise<void> {
    validateRequest(req, true);
    const ifName = req.ifName ?? "eth0";
    const cached = await this.readCache(req.containerId, ifName);
    if (!cached) {
      throw new CniError(CniErrorCode.UnknownContainer, `no cached ADD result for container ${req.containerId} (${ifName})`);
    }
    const list = cached.config;
    if (list.disableCheck) return;
    for (const plugin of list.plugins) {
      await this.exec("CHECK", list, plugin, req, ifName, cached.result);
    }
  }

  /** The cached ADD result for a container, or undefined (e.g. to report pod IPs after a restart). */
  async cachedResult(containerId: string, ifName = "eth0"): Promise<Result | undefined> {
    return (await this.readCache(containerId, ifName))?.result;
  }

  private async exec(
    command: "ADD" | "DEL" | "CHECK",
    list: NetworkConfigList,
    plugin: PluginConfig,
    req: PodNetworkRequest,
    ifName: string,
    prevResult: Result | undefined,
  ): Promise<string> {
    const bin = await findPlugin(plugin.type, this.binDirs);
    const stdin = pluginStdin(list, plugin, req.capabilityArgs, prevResult);
    const env: Record<string, string> = {
      ...filterEnv(process.env),
      ...this.extraEnv,
      CNI_COMMAND: command,
      CNI_CONTAINERID: req.containerId,
      CNI_NETNS: req.netns,
      CNI_IFNAME: ifName,
      CNI_PATH: this.binDirs.join(":"),
      CNI_ARGS: formatCniArgs({
        K8S_POD_NAMESPACE: req.podNamespace,
        K8S_POD_NAME: req.podName,
        K8S_POD_INFRA_CONTAINER_ID: req.containerId,
        K8S_POD_UID: req.podUid,
      }),
    };
    const out = await runPlugin(bin, env, JSON.stringify(stdin));
    if (out.code !== 0) throw parseErrorOutput(out.stdout, out.stderr, out.code, plugin.type);
    return out.stdout;
  }

  private cachePath(networkName: string, containerId: string, ifName: string): string {
    return join(this.cacheDir, "results", `${networkName}-${containerId}-${ifName}`);
  }

  private async writeCache(entry: CacheEntry): Promise<void> {
    const path = this.cachePath(entry.networkName, entry.containerId, entry.ifName);
    await mkdir(join(this.cacheDir, "results"), { recursive: true, mode: 0o700 });
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify(entry), { mode: 0o600 });
    await rename(tmp, path);
  }

  private async readCache(containerId: string, ifName: string): Promise<CacheEntry | undefined> {
    // The network name is part of the file name; find the entry for this container whatever the network.
    let names: string[];
    try {
      names = await readdir(join(this.cacheDir, "results"));
    } catch {
      return undefined;
    }
    const suffix = `-${containerId}-${ifName}`;
    for (const n of names.filter((x) => x.endsWith(suffix)).sort()) {
      try {
        const entry = JSON.parse(await readFile(join(this.cacheDir, "results", n), "utf8")) as CacheEntry;
        if (entry.kind === "corekubeCniCacheV1" && entry.containerId === containerId && entry.ifName === ifName) {
          return entry;
        }
      } catch {
        // a torn or foreign file: ignore it, DEL must still work
      }
    }
    return undefined;
  }
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function validateRequest(req: PodNetworkRequest, needNetns: boolean): void {
  if (typeof req.containerId !== "string" || !SAFE_ID.test(req.containerId)) {
    throw new CniError(CniErrorCode.InvalidEnvironment, `invalid container id "${String(req.containerId)}"`);
  }
  if (req.ifName !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(req.ifName)) {
    throw new CniError(CniErrorCode.InvalidEnvironment, `invalid interface name "${req.ifName}"`);
  }
  if (needNetns && (typeof req.netns !== "string" || req.netns === "")) {
    throw new CniError(CniErrorCode.InvalidEnvironment, "netns path is required");
  }
}

function filterEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && !k.startsWith("CNI_")) out[k] = v;
  }
  return out;
}
