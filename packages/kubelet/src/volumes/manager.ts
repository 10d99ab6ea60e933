// Book 3.4.2, 7.1-7.3 and 8.2-8.3: the kubelet's volume manager: prepares each pod volume on the host
// under <rootDir>/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>, turns volumeMounts into the bind
// mounts the runtime makes, and tears it all down again (also after a kubelet restart).
import { existsSync, statfsSync } from "node:fs";
import { chmod, mkdir, readdir, realpath, rm, rmdir } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { type Container, type Pod, parseQuantity } from "@corekube/api";
import type { RestClient } from "@corekube/client";
import { type VolumeApi, restVolumeApi } from "./api.js";
import { AtomicWriter, type Payload } from "./atomic-writer.js";
import { type NodeAllocatable, fieldRefValue, resourceFieldValue } from "./downward.js";
import { checkHostPath } from "./hostpath.js";
import { type Mounter, SystemMounter, mountsUnder } from "./mounter.js";
import { type VolumeOwnership, changeOwnership, fsGroupFileMode, podVolumeOwnership, setVolumeOwnership } from "./ownership.js";
import { type EnvLike, type Mount, containerMounts } from "./mounts.js";
import {
  type ConfigMap,
  type DownwardAPIVolumeFile,
  type KeyToPath,
  PLUGIN_DIRS,
  type Secret,
  type ServiceAccountTokenProjection,
  type Volume,
  VolumeError,
  type VolumeEvent,
  type VolumePlugin,
} from "./types.js";

export const DEFAULT_ROOT_DIR = "/var/lib/corekube/kubelet";
/** The mode of configMap/secret/downwardAPI/projected files when the volume sets none (0644). */
export const DEFAULT_FILE_MODE = 0o644;
/** Upstream's ServiceAccount admission uses this ConfigMap for the cluster CA; it is skipped when absent. */
export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";
/** Event reason when the API server offers no serviceaccounts/token subresource. */
export const TOKEN_UNAVAILABLE_REASON = "ServiceAccountTokenUnavailable";
const DEFAULT_TOKEN_SECONDS = 3600;
const MAX_TOKEN_AGE_MS = 24 * 3600 * 1000;

const PLUGINS: VolumePlugin[] = ["emptyDir", "hostPath", "configMap", "secret", "downwardAPI", "projected"];
/** Plugins whose volumes are always mounted read-only into containers. */
const READ_ONLY_PLUGINS = new Set<VolumePlugin>(["configMap", "secret", "downwardAPI", "projected"]);

export interface VolumeManagerOptions {
  /** Default /var/lib/corekube/kubelet. */
  rootDir?: string;
  /** Reads ConfigMaps and Secrets and requests service account tokens. */
  client?: RestClient;
  /** Used instead of `client` when given (tests pass a fake). */
  api?: VolumeApi;
  nodeName: string;
  /** Default: mount(8)/umount(8) and /proc/self/mountinfo. */
  mounter?: Mounter;
  /** Stands in for unset limits in downwardAPI files and caps memory-backed volumes. Default: this machine's CPUs, memory and rootDir's filesystem. */
  nodeAllocatable?: NodeAllocatable;
  /** Called with each event setUp wants recorded on the pod (also returned in PodVolumes.events). */
  onEvent?: (pod: Pod, event: VolumeEvent) => void;
  now?: () => Date;
}

export interface MountedVolume {
  name: string;
  plugin: VolumePlugin;
  /** The host path containers get bind-mounted: the volume directory, or a hostPath's own path. */
  path: string;
  /** configMap, secret, downwardAPI and projected volumes are always mounted read-only. */
  readOnly: boolean;
  /** Backed by a tmpfs this manager mounted (emptyDir medium Memory, secret, projected). */
  tmpfs: boolean;
}

export interface PodVolumes {
  podUid: string;
  volumes: Map<string, MountedVolume>;
  /** Events from this setUp (already passed to onEvent). */
  events: VolumeEvent[];
}

interface CachedToken {
  token: string;
  issuedMs: number;
  expiresMs: number;
}

const errMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A volume name is one path element under the plugin's directory. */
function checkVolumeName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
    throw new VolumeError("FailedMount", `invalid volume name ${JSON.stringify(name)}`);
  }
}

/** A pod UID becomes a directory name; anything that is not one plain path element is refused. */
export function checkPodUid(uid: unknown): asserts uid is string {
  if (typeof uid !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(uid) || uid.length > 253) {
    throw new VolumeError("FailedMount", `invalid pod UID ${JSON.stringify(uid)}`);
  }
}

/** The plugin a volume uses: the one source field it sets. */
export function volumePlugin(v: Volume): VolumePlugin {
  const set = Object.keys(v).filter((k) => k !== "name" && v[k] !== undefined && v[k] !== null);
  if (set.length === 0) throw new VolumeError("FailedMount", "the volume sets no volume source", v.name);
  if (set.length > 1) throw new VolumeError("FailedMount", `the volume sets more than one volume source (${set.join(", ")})`, v.name);
  const t = set[0]!;
  if (!(PLUGINS as string[]).includes(t)) {
    throw new VolumeError("FailedMount", `volume type "${t}" is not supported by this kubelet (supported: ${PLUGINS.join(", ")})`, v.name);
  }
  return t as VolumePlugin;
}

function bytesOf(q: string | number, what: string): bigint {
  try {
    return parseQuantity(q).scaledValue(0);
  } catch (e) {
    throw new Error(`${what}: ${errMessage(e)}`);
  }
}

/** The pod's memory limit as its cgroup gets it, or undefined when some container sets none. */
function podMemoryLimit(pod: Pod): bigint | undefined {
  const limitOf = (c: Container): bigint | undefined => {
    const v = c.resources?.limits?.memory;
    return v === undefined ? undefined : bytesOf(v, `memory limit of container ${JSON.stringify(c.name)}`);
  };
  let sum = 0n;
  for (const c of pod.spec.containers ?? []) {
    const l = limitOf(c);
    if (l === undefined) return undefined;
    sum += l;
  }
  for (const c of pod.spec.initContainers ?? []) {
    const l = limitOf(c);
    if (l === undefined) return undefined;
    if (l > sum) sum = l;
  }
  const overhead = pod.spec.overhead?.memory;
  if (overhead !== undefined) sum += bytesOf(overhead, "pod overhead memory");
  return sum;
}

export class VolumeManager {
  readonly rootDir: string;
  readonly nodeName: string;
  private readonly api?: VolumeApi;
  private readonly mounter: Mounter;
  private readonly onEvent?: (pod: Pod, event: VolumeEvent) => void;
  private readonly now: () => Date;
  private readonly allocatableOpt?: NodeAllocatable;
  private allocatableCache?: NodeAllocatable;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly warned = new Set<string>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(o: VolumeManagerOptions) {
    this.rootDir = o.rootDir ?? DEFAULT_ROOT_DIR;
    this.nodeName = o.nodeName;
    this.api = o.api ?? (o.client ? restVolumeApi(o.client) : undefined);
    this.mounter = o.mounter ?? new SystemMounter();
    this.onEvent = o.onEvent;
    this.now = o.now ?? (() => new Date());
    this.allocatableOpt = o.nodeAllocatable;
  }

  /** <rootDir>/pods/<uid>/volumes */
  podVolumesDir(podUid: string): string {
    checkPodUid(podUid);
    return join(this.rootDir, "pods", podUid, "volumes");
  }

  /** Where a volume of a plugin lives (hostPath volumes have no directory here). */
  volumeDir(podUid: string, plugin: Exclude<VolumePlugin, "hostPath">, name: string): string {
    return join(this.podVolumesDir(podUid), PLUGIN_DIRS[plugin], name);
  }

  /** Pod UIDs with a directory under <rootDir>/pods: after a restart, those not running anymore are torn down. */
  async podUidsOnDisk(): Promise<string[]> {
    try {
      return (await readdir(join(this.rootDir, "pods"), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
  }

  /**
   * Prepares every volume of the pod; safe (and meant) to call on every sync: content from ConfigMaps,
   * Secrets, the downward API and tokens is rewritten when it changed. Throws a VolumeError (reason
   * FailedMount) naming each volume that could not be prepared; the others are still prepared.
   */
  setUp(pod: Pod): Promise<PodVolumes> {
    const uid = pod?.metadata?.uid;
    try {
      checkPodUid(uid);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.serial(uid, () => this.doSetUp(pod, uid));
  }

  /**
   * The runtime's mounts for one container's volumeMounts: host paths (subPath directories created
   * as needed), read-only flags and propagation. Throws VolumeError (reason CreateContainerConfigError).
   * `env` is the container's resolved environment for subPathExpr; by default the container's literal
   * env values and metadata fieldRefs are used.
   */
  mountsFor(pod: Pod, container: Container, volumes: PodVolumes, env?: EnvLike): Mount[] {
    return containerMounts(pod, container, volumes.volumes, env);
  }

  /**
   * Unmounts every mount under pods/<uid>/volumes (found in /proc/self/mountinfo, so this also works
   * for pods set up before a restart), then removes that directory and pods/<uid> when empty.
   * Idempotent. Throws VolumeError (reason FailedUnmount) when a mount stays.
   */
  tearDown(podUid: string): Promise<void> {
    try {
      checkPodUid(podUid);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.serial(podUid, () => this.doTearDown(podUid));
  }

  // ---------------------------------------------------------------------------------------------

  private serial<T>(uid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(uid) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.locks.set(uid, tail);
    void tail.then(() => {
      if (this.locks.get(uid) === tail) this.locks.delete(uid);
    });
    return next;
  }

  private allocatable(): NodeAllocatable {
    if (this.allocatableCache) return this.allocatableCache;
    const a: NodeAllocatable = { cpu: availableParallelism(), memory: totalmem(), ...this.allocatableOpt };
    if (a["ephemeral-storage"] === undefined) {
      let dir = this.rootDir;
      while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
      try {
        const s = statfsSync(dir);
        a["ephemeral-storage"] = s.blocks * s.bsize;
      } catch {
        // unknown: unset ephemeral-storage limits read as 0
      }
    }
    this.allocatableCache = a;
    return a;
  }

  /** tmpfs size for a memory-backed volume: the smallest of node allocatable memory, the pod's memory limit and sizeLimit. */
  memoryBackedSize(pod: Pod, sizeLimit?: string | number): bigint {
    const alloc = this.allocatable().memory;
    let size = alloc === undefined ? 0n : bytesOf(alloc, "node allocatable memory");
    const podLimit = podMemoryLimit(pod);
    if (podLimit !== undefined && podLimit > 0n && (size === 0n || podLimit <= size)) size = podLimit;
    if (sizeLimit !== undefined) {
      const s = bytesOf(sizeLimit, "emptyDir sizeLimit");
      if (s > 0n && (size === 0n || s <= size)) size = s;
    }
    return size;
  }

  private async doSetUp(pod: Pod, uid: string): Promise<PodVolumes> {
    const events: VolumeEvent[] = [];
    const volumes = new Map<string, MountedVolume>();
    const failures: VolumeError[] = [];
    const specVolumes = (pod.spec?.volumes ?? []) as Volume[];
    if (!Array.isArray(specVolumes)) throw new VolumeError("FailedMount", "pod spec.volumes is not a list");
    const owner = podVolumeOwnership(pod);
    for (const v of specVolumes) {
      try {
        if (!v || typeof v !== "object") throw new VolumeError("FailedMount", "a volume in spec.volumes is not an object");
        checkVolumeName(v.name);
        if (volumes.has(v.name)) throw new VolumeError("FailedMount", "the pod has two volumes of this name", v.name);
        volumes.set(v.name, await this.setUpVolume(pod, uid, v, events, owner));
      } catch (e) {
        failures.push(e instanceof VolumeError ? e : new VolumeError("FailedMount", errMessage(e), v?.name));
      }
    }
    for (const ev of events) {
      try {
        this.onEvent?.(pod, ev);
      } catch {
        // a recorder's failure is not the pod's
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new VolumeError("FailedMount", failures.map((f) => f.message).join("; "), undefined, failures);
    return { podUid: uid, volumes, events };
  }

  private async setUpVolume(pod: Pod, uid: string, v: Volume, events: VolumeEvent[], owner?: VolumeOwnership): Promise<MountedVolume> {
    const plugin = volumePlugin(v);
    // configMap, secret, downwardAPI and projected content: each new version is given to the fsGroup
    // before ..data points at it, then the volume as a whole as the pod's policy says.
    const writeContent = async (dir: string, payload: Payload) => {
      if (!owner) {
        await new AtomicWriter(dir, this.now).write(payload);
        return;
      }
      const grouped: Payload = new Map([...payload].map(([p, f]) => [p, { data: f.data, mode: fsGroupFileMode(f.mode) }]));
      await new AtomicWriter(dir, this.now).write(grouped, { beforeSwap: (newDir) => changeOwnership(newDir, owner.gid, true) });
      await setVolumeOwnership(dir, owner, true);
    };
    const mounted = (path: string, tmpfs: boolean): MountedVolume => ({ name: v.name, plugin, path, readOnly: READ_ONLY_PLUGINS.has(plugin), tmpfs });
    const fail = (detail: string) => new VolumeError("FailedMount", detail, v.name);
    try {
      switch (plugin) {
        case "hostPath": {
          const hp = v.hostPath!;
          checkHostPath(hp.path, hp.type);
          return mounted(hp.path, false);
        }
        case "emptyDir": {
          const dir = this.volumeDir(uid, "emptyDir", v.name);
          const medium = v.emptyDir!.medium ?? "";
          // As upstream, the fsGroup walk happens when the volume is made (it is empty then); later syncs
          // only repair a root that lost its group or bits (a tmpfs mounted anew), whatever the policy.
          const fresh = !existsSync(dir);
          const own = async () => {
            if (owner) await setVolumeOwnership(dir, fresh ? owner : { ...owner, policy: "OnRootMismatch" }, false);
          };
          if (medium === "") {
            await this.prepareDir(dir, undefined);
            await own();
            return mounted(dir, false);
          }
          if (medium === "Memory") {
            await this.prepareDir(dir, this.memoryBackedSize(pod, v.emptyDir!.sizeLimit));
            await own();
            return mounted(dir, true);
          }
          if (medium.startsWith("HugePages")) throw fail(`emptyDir medium "${medium}" is not supported by this kubelet`);
          throw fail(`invalid emptyDir medium "${medium}" (want "" or "Memory")`);
        }
        case "configMap": {
          const src = v.configMap!;
          const payload = await this.configMapPayload(pod, src.name, src.items, src.defaultMode ?? DEFAULT_FILE_MODE, src.optional ?? false);
          const dir = this.volumeDir(uid, "configMap", v.name);
          await this.prepareDir(dir, undefined);
          await writeContent(dir, payload);
          return mounted(dir, false);
        }
        case "secret": {
          const src = v.secret!;
          const payload = await this.secretPayload(pod, src.secretName, src.items, src.defaultMode ?? DEFAULT_FILE_MODE, src.optional ?? false);
          const dir = this.volumeDir(uid, "secret", v.name);
          await this.prepareDir(dir, this.memoryBackedSize(pod));
          await writeContent(dir, payload);
          return mounted(dir, true);
        }
        case "downwardAPI": {
          const src = v.downwardAPI!;
          const payload = this.downwardPayload(pod, src.items ?? [], src.defaultMode ?? DEFAULT_FILE_MODE);
          const dir = this.volumeDir(uid, "downwardAPI", v.name);
          await this.prepareDir(dir, undefined);
          await writeContent(dir, payload);
          return mounted(dir, false);
        }
        case "projected": {
          const payload = await this.projectedPayload(pod, uid, v, events);
          const dir = this.volumeDir(uid, "projected", v.name);
          await this.prepareDir(dir, this.memoryBackedSize(pod));
          await writeContent(dir, payload);
          return mounted(dir, true);
        }
      }
    } catch (e) {
      if (e instanceof VolumeError) throw e.volume ? e : fail(e.detail);
      throw fail(errMessage(e));
    }
  }

  /** Makes the volume directory; with a size (even 0n: no limit) it is a tmpfs, mounted unless it already is. */
  private async prepareDir(dir: string, tmpfsSize: bigint | undefined): Promise<void> {
    const existed = existsSync(dir);
    await mkdir(dir, { recursive: true });
    if (tmpfsSize === undefined) {
      if (!existed) await chmod(dir, 0o777);
      return;
    }
    const real = await realpath(dir);
    const mounts = await this.mounter.list();
    if (mounts.some((m) => m.mountPoint === real)) return;
    try {
      await this.mounter.mountTmpfs(real, tmpfsSize);
    } catch (e) {
      throw new Error(`cannot mount a tmpfs at ${dir}: ${errMessage(e)}`);
    }
  }

  private requireApi(what: string): VolumeApi {
    if (!this.api) throw new Error(`cannot read ${what}: the volume manager has no API client`);
    return this.api;
  }

  private configMapPayload(pod: Pod, name: string | undefined, items: KeyToPath[] | undefined, defaultMode: number, optional: boolean): Promise<Payload> {
    if (!name) throw new Error("a configMap volume source needs a name");
    return this.keyedObjectPayload(pod, "configmap", name, items, defaultMode, optional, async (api, ns) => {
      const cm: ConfigMap | undefined = await api.getConfigMap(ns, name);
      return cm && { text: cm.data, base64: cm.binaryData };
    });
  }

  private secretPayload(pod: Pod, name: string | undefined, items: KeyToPath[] | undefined, defaultMode: number, optional: boolean): Promise<Payload> {
    if (!name) throw new Error("a secret volume source needs secretName");
    return this.keyedObjectPayload(pod, "secret", name, items, defaultMode, optional, async (api, ns) => {
      const secret: Secret | undefined = await api.getSecret(ns, name);
      return secret && { text: secret.stringData, base64: secret.data };
    });
  }

  /** A ConfigMap's or Secret's keys as files: plain-text values and base64 ones, then `items` applied. */
  private async keyedObjectPayload(
    pod: Pod,
    kind: "configmap" | "secret",
    name: string,
    items: KeyToPath[] | undefined,
    defaultMode: number,
    optional: boolean,
    read: (api: VolumeApi, ns: string) => Promise<{ text?: Record<string, unknown>; base64?: Record<string, unknown> } | undefined>,
  ): Promise<Payload> {
    const ns = pod.metadata.namespace ?? "default";
    let obj: Awaited<ReturnType<typeof read>>;
    try {
      obj = await read(this.requireApi(`${kind} "${name}"`), ns);
    } catch (e) {
      throw new Error(`cannot get ${kind} "${name}" in namespace "${ns}": ${errMessage(e)}`);
    }
    if (!obj) {
      if (optional) return new Map();
      throw new Error(`${kind} "${name}" not found`);
    }
    const all = new Map<string, Buffer>();
    for (const [k, val] of Object.entries(obj.text ?? {})) all.set(k, Buffer.from(String(val), "utf8"));
    for (const [k, val] of Object.entries(obj.base64 ?? {})) all.set(k, Buffer.from(String(val), "base64"));
    const what = kind === "configmap" ? "config" : "secret";
    return keyedPayload(all, items, defaultMode, optional, (k) => `${kind} "${name}" references non-existent ${what} key: ${k}`);
  }

  private downwardPayload(pod: Pod, items: DownwardAPIVolumeFile[], defaultMode: number): Payload {
    const out: Payload = new Map();
    for (const item of items) {
      let text: string;
      if (item.fieldRef && item.resourceFieldRef) throw new Error(`downwardAPI item ${JSON.stringify(item.path)} sets both fieldRef and resourceFieldRef`);
      if (item.fieldRef) text = fieldRefValue(pod, item.fieldRef.fieldPath);
      else if (item.resourceFieldRef) text = resourceFieldValue(pod, item.resourceFieldRef, this.allocatable());
      else throw new Error(`downwardAPI item ${JSON.stringify(item.path)} sets neither fieldRef nor resourceFieldRef`);
      out.set(item.path, { data: Buffer.from(text, "utf8"), mode: item.mode ?? defaultMode });
    }
    return out;
  }

  private async projectedPayload(pod: Pod, uid: string, v: Volume, events: VolumeEvent[]): Promise<Payload> {
    const src = v.projected!;
    const defaultMode = src.defaultMode ?? DEFAULT_FILE_MODE;
    const out: Payload = new Map();
    const add = (p: Payload) => {
      for (const [k, f] of p) out.set(k, f);
    };
    for (const [i, s] of (src.sources ?? []).entries()) {
      if (!s || typeof s !== "object") throw new Error(`projected source ${i} is not an object`);
      if (s.configMap) {
        const optional = (s.configMap.optional ?? false) || s.configMap.name === ROOT_CA_CONFIGMAP;
        add(await this.configMapPayload(pod, s.configMap.name, s.configMap.items, defaultMode, optional));
      } else if (s.secret) {
        add(await this.secretPayload(pod, s.secret.name, s.secret.items, defaultMode, s.secret.optional ?? false));
      } else if (s.downwardAPI) {
        add(this.downwardPayload(pod, s.downwardAPI.items ?? [], defaultMode));
      } else if (s.serviceAccountToken) {
        const token = await this.serviceAccountToken(pod, uid, v.name, s.serviceAccountToken, events);
        if (token !== undefined) out.set(s.serviceAccountToken.path, { data: Buffer.from(token, "utf8"), mode: defaultMode });
      } else {
        const kinds = Object.keys(s).join(", ") || "nothing";
        throw new Error(`projected source ${i} (${kinds}) is not supported (supported: configMap, secret, downwardAPI, serviceAccountToken)`);
      }
    }
    return out;
  }

  /** A bound token, reused until 80% of its life (or 24 hours) has passed; undefined when the API server cannot issue one. */
  private async serviceAccountToken(
    pod: Pod,
    uid: string,
    volume: string,
    src: ServiceAccountTokenProjection,
    events: VolumeEvent[],
  ): Promise<string | undefined> {
    if (!src.path) throw new Error("a serviceAccountToken projection needs a path");
    const ns = pod.metadata.namespace ?? "default";
    const sa = (pod.spec.serviceAccountName as string | undefined) || "default";
    const key = `${uid}/${volume}/${src.path}`;
    const nowMs = this.now().getTime();
    const cached = this.tokens.get(key);
    if (cached) {
      const refreshAt = Math.min(cached.issuedMs + 0.8 * (cached.expiresMs - cached.issuedMs), cached.issuedMs + MAX_TOKEN_AGE_MS);
      if (nowMs < refreshAt) return cached.token;
    }
    const expirationSeconds = src.expirationSeconds ?? DEFAULT_TOKEN_SECONDS;
    let status: Awaited<ReturnType<VolumeApi["requestToken"]>>;
    try {
      status = await this.requireApi(`a token for serviceaccount "${sa}"`).requestToken(ns, sa, {
        ...(src.audience ? { audiences: [src.audience] } : {}),
        expirationSeconds,
        boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata.name ?? "", uid },
      });
    } catch (e) {
      if (cached && nowMs < cached.expiresMs) return cached.token; // still valid: try again next sync
      throw new Error(`cannot get a token for serviceaccount "${sa}" in namespace "${ns}": ${errMessage(e)}`);
    }
    if (!status) {
      this.tokens.delete(key);
      if (!this.warned.has(key)) {
        this.warned.add(key);
        events.push({
          type: "Warning",
          reason: TOKEN_UNAVAILABLE_REASON,
          message: `volume "${volume}": the API server does not issue service account tokens (serviceaccounts/token); ${src.path} is left out`,
        });
      }
      return undefined;
    }
    this.warned.delete(key);
    const parsed = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : Number.NaN;
    const expiresMs = Number.isFinite(parsed) ? parsed : nowMs + expirationSeconds * 1000;
    this.tokens.set(key, { token: status.token, issuedMs: nowMs, expiresMs });
    return status.token;
  }

  private async doTearDown(uid: string): Promise<void> {
    const podDir = join(this.rootDir, "pods", uid);
    const volumesDir = join(podDir, "volumes");
    for (const k of [...this.tokens.keys()]) if (k.startsWith(`${uid}/`)) this.tokens.delete(k);
    for (const k of [...this.warned]) if (k.startsWith(`${uid}/`)) this.warned.delete(k);
    if (existsSync(volumesDir)) {
      const real = await realpath(volumesDir);
      const errors: string[] = [];
      for (const m of mountsUnder(await this.mounter.list(), real)) {
        try {
          await this.mounter.unmount(m.mountPoint);
        } catch (e) {
          errors.push(errMessage(e));
        }
      }
      const left = mountsUnder(await this.mounter.list(), real);
      if (left.length > 0) {
        throw new VolumeError(
          "FailedUnmount",
          `cannot tear down the volumes of pod ${uid}: still mounted: ${left.map((m) => m.mountPoint).join(", ")}${errors.length ? ` (${errors.join("; ")})` : ""}`,
        );
      }
      try {
        await rm(volumesDir, { recursive: true, force: true });
      } catch (e) {
        throw new VolumeError("FailedUnmount", `cannot remove ${volumesDir}: ${errMessage(e)}`);
      }
    }
    try {
      await rmdir(podDir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTEMPTY" && code !== "EEXIST") throw new VolumeError("FailedUnmount", `cannot remove ${podDir}: ${errMessage(e)}`);
    }
  }
}

/** configMap/secret files: every key (no items), or the listed keys at their paths with their modes. */
function keyedPayload(
  all: Map<string, Buffer>,
  items: KeyToPath[] | undefined,
  defaultMode: number,
  optional: boolean,
  missingKey: (k: string) => string,
): Payload {
  const out: Payload = new Map();
  if (!items || items.length === 0) {
    for (const [k, data] of all) out.set(k, { data, mode: defaultMode });
    return out;
  }
  for (const item of items) {
    const data = all.get(item.key);
    if (data === undefined) {
      if (optional) continue;
      throw new Error(missingKey(item.key));
    }
    out.set(item.path, { data, mode: item.mode ?? defaultMode });
  }
  return out;
}
