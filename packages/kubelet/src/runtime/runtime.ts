// Book 3.3-3.4, 4.1, 9.3-9.4: a container runtime with the CRI's verbs, built from Linux tools: a catatonit
// pause process holds each pod's namespaces, containers are overlayfs roots entered with nsenter/unshare/pivot_root/setpriv.
//
// Layout under the state directory (default /run/corekube/runtime):
//   helper/                               node-wide, prepared once (see helper.ts)
//   sandboxes/<id>/sandbox.json           SandboxRecord; ns/{net,ipc,uts,pid} bind-mounted namespace files
//                  hostname hosts resolv.conf shim.sock shim.log
//   containers/<id>/state.json            ContainerRecord; upper/ work/ rootfs/ (the overlay mount)
//                  dev/ (the container's /dev) fstab oomKilled (hint written by the kubelet)
//
// Pids: the pause is the child of `unshare --fork` (read from /proc/<pid>/task/<pid>/children). The
// container's pid comes from the shim, which owns the exec chain (see shim.ts and containerPid there).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { hostname as osHostname } from "node:os";
import net from "node:net";
import { dirname, isAbsolute, join, resolve } from "node:path";
import {
  type Container,
  type ContainerConfig,
  type ContainerFilter,
  type ContainerState,
  type ContainerStatus,
  type NamespaceMode,
  NotFoundError,
  type PodSandbox,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxStatus,
  type RuntimeService,
} from "./cri.js";
import { DEFAULT_TOOLS, type HostTools, type PreparedHelper, prepareHelper } from "./helper.js";
import { DEFAULT_LOG_ROTATION, type LogRotation } from "./log.js";
import { bundledNodeCommand } from "./bundled.js";
import { runCommand } from "./spawner.js";
import {
  buildSetupScript,
  setprivPrefix,
  computeCapabilities,
  type FstabEntry,
  HELPER_MOUNT,
  lookupGroups,
  lookupPasswd,
  OLD_ROOT,
  propagationOption,
  renderFstab,
  resolveInRoot,
} from "./spec.js";
import {
  type ContainerRecord,
  type ProcessIdentity,
  isAlive,
  newId,
  nowRfc3339,
  type ProcessRef,
  processRef,
  readJson,
  type SandboxRecord,
  writeJsonAtomic,
} from "./state.js";


export interface PlaceContext {
  containerId: string;
  sandboxId: string;
  cgroupParent?: string;
}

export interface RuntimeOptions {
  /** Default /run/corekube/runtime. */
  stateDir?: string;
  /** Puts a container's pid in its cgroup before any of its code runs (e.g. the kubelet's cgroup driver). */
  placeInCgroup?: (pid: number, ctx: PlaceContext) => Promise<void> | void;
  /** Runs in StopPodSandbox after the containers stopped, before the namespace files go: the place for CNI DEL. */
  onSandboxStop?: (status: PodSandboxStatus) => Promise<void> | void;
  /** argv prefix that runs the shim (the sandbox dir is appended). Default: node --import <tsx> shim.ts. */
  shimCommand?: string[];
  tools?: Partial<HostTools>;
  /** Rotation of container logs (the kubelet's --container-log-max-size / --container-log-max-files); default 10Mi, 5 files. */
  logRotation?: LogRotation;
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const MASKED_PATHS = ["/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug"];
const MASKED_DIRS = ["/proc/acpi", "/proc/scsi"];
const DEVICES = ["null", "zero", "full", "random", "urandom", "tty"];
const DEV_LINKS: Array<[string, string]> = [
  ["fd", "/proc/self/fd"], ["stdin", "/proc/self/fd/0"], ["stdout", "/proc/self/fd/1"],
  ["stderr", "/proc/self/fd/2"], ["ptmx", "pts/ptmx"], ["core", "/proc/kcore"],
];
const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** The shim runs once per pod for the pod's whole life: a bundle with a small heap (see bundled.ts). */
const defaultShimCommand = (): string[] => bundledNodeCommand("shim.ts");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** mount, umount: through the spawn helper, so the kubelet's event loop does not stop for the fork. */
async function run(cmd: string, args: string[]): Promise<void> {
  await runCommand(cmd, args);
}

/** A request/response conversation with a sandbox's shim over its unix socket. */
class ShimConnection {
  private buf = "";
  private queue: Array<Record<string, unknown>> = [];
  private wake?: () => void;
  private closed = false;

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      this.buf += d;
      for (let nl = this.buf.indexOf("\n"); nl >= 0; nl = this.buf.indexOf("\n")) {
        this.queue.push(JSON.parse(this.buf.slice(0, nl)) as Record<string, unknown>);
        this.buf = this.buf.slice(nl + 1);
      }
      this.wake?.();
    });
    const end = () => {
      this.closed = true;
      this.wake?.();
    };
    sock.on("close", end);
    sock.on("error", end);
  }

  static open(path: string): Promise<ShimConnection> {
    return new Promise((resolveConn, reject) => {
      const sock = net.connect(path);
      sock.once("connect", () => resolveConn(new ShimConnection(sock)));
      sock.once("error", (err) => reject(new Error(`cannot reach shim at ${path}: ${err.message}`)));
    });
  }

  /**
   * Connects, retrying for a few seconds while the socket is not there yet and the shim is alive (a
   * shim started by a kubelet that was restarted before the shim was listening).
   */
  static async openWhileAlive(path: string, shim: ProcessRef | undefined, timeoutMs = 5000): Promise<ShimConnection> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await ShimConnection.open(path);
      } catch (err) {
        if (Date.now() > deadline || !isAlive(shim)) throw err;
        await sleep(20);
      }
    }
  }

  send(msg: unknown): void {
    this.sock.write(`${JSON.stringify(msg)}\n`);
  }

  /** The next reply; undefined if the shim went away or `timeoutMs` passed. */
  async reply(timeoutMs = 30_000): Promise<Record<string, unknown> | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0 && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    return this.queue.shift();
  }

  close(): void {
    this.sock.destroy();
  }
}

export class LinuxRuntime implements RuntimeService {
  readonly stateDir: string;
  private readonly tools: HostTools;
  private readonly shimCommand: string[];
  private helper?: PreparedHelper;
  private readonly placers = new Map<string, (pid: number) => Promise<void> | void>();
  /** Shims of sandboxes made by this process that are not listening yet, by sandbox id. */
  private readonly startingShims = new Map<string, Promise<void>>();

  constructor(private readonly options: RuntimeOptions = {}) {
    this.stateDir = resolve(options.stateDir ?? "/run/corekube/runtime");
    this.tools = { ...DEFAULT_TOOLS, ...options.tools };
    this.shimCommand = options.shimCommand ?? defaultShimCommand();
    // unix socket paths are limited to 107 bytes
    const sock = join(this.stateDir, "sandboxes", "x".repeat(32), "shim.sock");
    if (Buffer.byteLength(sock) > 107) throw new Error(`state directory ${this.stateDir} is too long for the shim's unix socket path`);
    mkdirSync(join(this.stateDir, "sandboxes"), { recursive: true });
    mkdirSync(join(this.stateDir, "containers"), { recursive: true });
  }

  private sandboxDir(id: string): string {
    if (!/^[0-9a-f]{32}$/.test(id)) throw new NotFoundError(`pod sandbox ${JSON.stringify(id)} not found`);
    return join(this.stateDir, "sandboxes", id);
  }

  private containerDir(id: string): string {
    if (!/^[0-9a-f]{32}$/.test(id)) throw new NotFoundError(`container ${JSON.stringify(id)} not found`);
    return join(this.stateDir, "containers", id);
  }

  private async sandbox(id: string): Promise<SandboxRecord> {
    const rec = await readJson<SandboxRecord>(join(this.sandboxDir(id), "sandbox.json"));
    if (!rec) throw new NotFoundError(`pod sandbox ${id} not found`);
    return rec;
  }

  private async container(id: string): Promise<ContainerRecord> {
    const rec = await readJson<ContainerRecord>(join(this.containerDir(id), "state.json"));
    if (!rec) throw new NotFoundError(`container ${id} not found`);
    return rec;
  }

  // ---- sandboxes ----

  async RunPodSandbox(config: PodSandboxConfig): Promise<string> {
    validateSandboxConfig(config);
    const id = newId();
    const dir = this.sandboxDir(id);
    mkdirSync(dir, { recursive: true });
    const nsOpts = config.linux?.securityContext?.namespaceOptions ?? {};
    const namespaces = { network: nsOpts.network ?? "POD", pid: nsOpts.pid ?? "CONTAINER", ipc: nsOpts.ipc ?? "POD" } as const;
    const hostNet = namespaces.network === "NODE";
    const hostname = hostNet ? osHostname() : (config.hostname ?? config.metadata.name);
    const files = { hostname: join(dir, "hostname"), hosts: join(dir, "hosts"), resolvConf: join(dir, "resolv.conf") };
    writeFileSync(files.hostname, `${hostname}\n`);
    writeFileSync(files.hosts, hostNet ? readHostFile("/etc/hosts") : hostsFile(hostname));
    writeFileSync(files.resolvConf, resolvConf(config.dnsConfig));
    const rec: SandboxRecord = {
      version: 1,
      id,
      config,
      createdAt: nowRfc3339(),
      state: "notready",
      hostname,
      namespaces,
      nsPaths: {},
      files,
    };
    writeJsonAtomic(join(dir, "sandbox.json"), rec);
    // The shim (a node process, the slowest thing here) starts beside the pause and is not waited for:
    // the kubelet's CNI ADD runs meanwhile, and StartContainer waits for it. Its pid is on disk at once,
    // so a teardown or a restarted kubelet finds it even before it is ready.
    let shimReady: Promise<void> | undefined;
    try {
      const shim = this.spawnShim(dir);
      rec.shim = shim.ref;
      shimReady = shim.ready;
      this.startingShims.set(id, shim.ready);
      shim.ready.then(
        () => this.startingShims.delete(id),
        () => this.startingShims.delete(id),
      );
      writeJsonAtomic(join(dir, "sandbox.json"), rec);
      rec.pause = await this.startPause(dir, rec);
      await this.bindNamespaces(dir, rec, rec.pause.pid);
      rec.state = "ready";
      writeJsonAtomic(join(dir, "sandbox.json"), rec);
      return id;
    } catch (err) {
      await shimReady?.catch(() => {});
      await this.teardownSandbox(rec).catch(() => {});
      await rm(dir, { recursive: true, force: true }).catch(() => {});
      throw new Error(`RunPodSandbox ${config.metadata.namespace}/${config.metadata.name}: ${(err as Error).message}`);
    }
  }

  /** catatonit -P in new namespaces, detached; its pid is the only child of `unshare --fork`. */
  private async startPause(dir: string, rec: SandboxRecord): Promise<ProcessRef> {
    const args: string[] = [];
    if (rec.namespaces.network !== "NODE") args.push("--net", "--uts");
    if (rec.namespaces.ipc !== "NODE") args.push("--ipc");
    const fork = rec.namespaces.pid !== "NODE";
    if (fork) args.push("--pid", "--fork", "--kill-child");
    const setHost = rec.namespaces.network !== "NODE" ? `${this.tools.busybox} hostname "$1" && ` : "";
    args.push("--", this.tools.busybox, "sh", "-c", `${setHost}exec ${this.tools.catatonit} -P`, "pause", rec.hostname);
    const log = openSync(join(dir, "pause.log"), "a");
    const child = spawn(this.tools.unshare, args, { detached: true, stdio: ["ignore", log, log] });
    closeSync(log);
    child.unref();
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code) => reject(new Error(`pause exited with ${code}; see ${join(dir, "pause.log")}`))),
    );
    const spawned = new Promise<never>((_, reject) => child.once("error", reject));
    const find = async (): Promise<ProcessRef> => {
      const launcher = child.pid as number;
      for (let i = 0; i < 5000; i++) {
        let pid = launcher;
        if (fork) {
          const kids = readFileSync(`/proc/${launcher}/task/${launcher}/children`, "utf8").trim();
          pid = kids === "" ? 0 : Number(kids.split(" ")[0]);
        }
        // Wait for the exec of catatonit: the namespaces and the hostname are set up by then.
        if (pid > 0 && readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "catatonit") {
          const ref = processRef(pid);
          if (ref) return ref;
        }
        await sleep(1);
      }
      throw new Error("timed out waiting for the pause process");
    };
    return Promise.race([find(), exited, spawned]);
  }

  /**
   * Starts the pod's shim, detached. Returns its process at once and a promise that settles when it
   * listens on shim.sock (rejecting, with the shim killed, when it cannot start).
   */
  private spawnShim(sandboxDir: string): { ref: ProcessRef; ready: Promise<void> } {
    const [cmd, ...args] = this.shimCommand as [string, ...string[]];
    const log = openSync(join(sandboxDir, "shim.log"), "a");
    const child = spawn(cmd, [...args, sandboxDir], { detached: true, stdio: ["ignore", "pipe", log] });
    closeSync(log);
    const ref = child.pid !== undefined ? processRef(child.pid) : undefined;
    const ready = new Promise<boolean>((resolveReady) => {
      let out = "";
      const t = setTimeout(() => resolveReady(false), 30_000);
      child.stdout?.setEncoding("utf8");
      child.stdout?.on("data", (d: string) => {
        out += d;
        if (out.includes("ready\n")) {
          clearTimeout(t);
          resolveReady(true);
        }
      });
      child.once("error", () => {
        clearTimeout(t);
        resolveReady(false);
      });
      child.once("exit", () => {
        clearTimeout(t);
        resolveReady(false);
      });
    }).then((ok) => {
      child.stdout?.destroy();
      child.unref();
      if (!ok) {
        child.kill("SIGKILL");
        throw new Error(`shim did not start; see ${join(sandboxDir, "shim.log")}`);
      }
    });
    if (!ref) {
      ready.catch(() => {});
      child.kill("SIGKILL");
      throw new Error(`shim did not start; see ${join(sandboxDir, "shim.log")}`);
    }
    return { ref, ready };
  }

  private async startShim(sandboxDir: string): Promise<ProcessRef> {
    const { ref, ready } = this.spawnShim(sandboxDir);
    await ready;
    if (!isAlive(ref)) throw new Error("shim exited right after starting");
    return ref;
  }

  /** Bind-mounts the pause's namespaces to files in a private bind-mounted ns/ directory (as `ip netns add` does). */
  private async bindNamespaces(dir: string, rec: SandboxRecord, pausePid: number): Promise<void> {
    const nsDir = join(dir, "ns");
    mkdirSync(nsDir, { recursive: true });
    const kinds: Array<"net" | "ipc" | "uts" | "pid"> = [];
    if (rec.namespaces.network !== "NODE") kinds.push("net", "uts");
    if (rec.namespaces.ipc !== "NODE") kinds.push("ipc");
    if (rec.namespaces.pid !== "NODE") kinds.push("pid");
    const entries: FstabEntry[] = [{ source: nsDir, target: nsDir, type: "none", options: ["bind", "private"] }];
    for (const k of kinds) {
      writeFileSync(join(nsDir, k), "");
      entries.push({ source: `/proc/${pausePid}/ns/${k}`, target: join(nsDir, k), type: "none", options: ["bind"] });
      rec.nsPaths[k] = join(nsDir, k);
    }
    writeFileSync(join(dir, "ns.fstab"), renderFstab(entries));
    await run(this.tools.mount, ["-a", "-T", join(dir, "ns.fstab")]);
  }

  async StopPodSandbox(podSandboxId: string): Promise<void> {
    const rec = await this.sandbox(podSandboxId);
    for (const c of await this.ListContainers({ podSandboxId })) {
      if (c.state === "CONTAINER_RUNNING") await this.StopContainer(c.id, 0);
    }
    if (this.options.onSandboxStop && (rec.state === "ready" || isAlive(rec.pause))) {
      await this.options.onSandboxStop(await this.PodSandboxStatus(podSandboxId));
    }
    await this.teardownSandbox(rec);
    rec.state = "notready";
    writeJsonAtomic(join(this.sandboxDir(rec.id), "sandbox.json"), rec);
  }

  /** Kills the pause and the shim, unmounts the namespace files. Safe to repeat. */
  private async teardownSandbox(rec: SandboxRecord): Promise<void> {
    const dir = this.sandboxDir(rec.id);
    await this.startingShims.get(rec.id)?.catch(() => {});
    if (isAlive(rec.pause)) {
      process.kill(rec.pause.pid, "SIGKILL");
      await waitGone(rec.pause, 5000);
    }
    if (isAlive(rec.shim)) {
      try {
        const conn = await ShimConnection.open(join(dir, "shim.sock"));
        conn.send({ op: "shutdown" });
        await conn.reply(2000);
        conn.close();
      } catch {}
      if (!(await waitGone(rec.shim, 2000)) && isAlive(rec.shim)) process.kill(rec.shim.pid, "SIGKILL");
    }
    const nsDir = join(dir, "ns");
    for (const k of ["net", "ipc", "uts", "pid"]) await unmountIfMounted(this.tools.umount, join(nsDir, k));
    await unmountIfMounted(this.tools.umount, nsDir);
  }

  async RemovePodSandbox(podSandboxId: string): Promise<void> {
    const dir = this.sandboxDir(podSandboxId);
    const rec = await readJson<SandboxRecord>(join(dir, "sandbox.json"));
    if (!rec) {
      await rm(dir, { recursive: true, force: true });
      return;
    }
    for (const c of await this.ListContainers({ podSandboxId })) await this.RemoveContainer(c.id);
    await this.StopPodSandbox(podSandboxId);
    await rm(dir, { recursive: true, force: true });
  }

  async PodSandboxStatus(podSandboxId: string): Promise<PodSandboxStatus> {
    const rec = await this.sandbox(podSandboxId);
    const pauseAlive = isAlive(rec.pause);
    return {
      ...sandboxSummary(rec, pauseAlive),
      network: { netnsPath: rec.nsPaths.net },
      pausePid: pauseAlive ? rec.pause?.pid : undefined,
      linux: { namespaces: { options: { ...rec.namespaces }, paths: { ...rec.nsPaths } } },
      hostname: rec.hostname,
    };
  }

  async ListPodSandbox(filter: PodSandboxFilter = {}): Promise<PodSandbox[]> {
    const out: PodSandbox[] = [];
    for (const id of listIds(join(this.stateDir, "sandboxes"))) {
      if (filter.id && filter.id !== id) continue;
      const rec = await readJson<SandboxRecord>(join(this.stateDir, "sandboxes", id, "sandbox.json"));
      if (!rec) continue;
      const s = sandboxSummary(rec, isAlive(rec.pause));
      if (filter.state && s.state !== filter.state) continue;
      if (!matchLabels(s.labels, filter.labelSelector)) continue;
      out.push(s);
    }
    return out;
  }

  // ---- containers ----

  async CreateContainer(podSandboxId: string, config: ContainerConfig, _sandboxConfig?: PodSandboxConfig): Promise<string> {
    validateContainerConfig(config);
    const sb = await this.sandbox(podSandboxId);
    if (sb.state !== "ready" || !isAlive(sb.pause)) throw new Error(`CreateContainer: pod sandbox ${podSandboxId} is not ready`);
    this.helper ??= prepareHelper(this.stateDir, this.tools);
    const helper = this.helper;
    const id = newId();
    const dir = this.containerDir(id);
    const rootfs = join(dir, "rootfs");
    for (const d of ["upper", "work", "rootfs"]) mkdirSync(join(dir, d), { recursive: true });
    let mounted = false;
    try {
      const lower = [...config.image.layers].reverse().join(":");
      await run(this.tools.mount, ["-t", "overlay", "overlay", "-o", `lowerdir=${lower},upperdir=${join(dir, "upper")},workdir=${join(dir, "work")}`, rootfs]);
      mounted = true;
      const sc = config.linux?.securityContext ?? {};
      const privileged = sc.privileged === true;
      const readonlyRootfs = sc.readonlyRootfs === true;
      const inRoot = (p: string) => resolveInRoot(rootfs, p);
      const ensureDir = (p: string) => {
        const host = inRoot(p);
        mkdirSync(host, { recursive: true });
        return host;
      };
      const ensureFile = (p: string) => {
        const host = inRoot(p);
        if (!existsSync(host)) {
          mkdirSync(dirname(host), { recursive: true });
          writeFileSync(host, "");
        }
        return host;
      };
      // Mount points and the pivot's old-root directory, created through the overlay.
      for (const d of ["/proc", "/sys", "/dev", HELPER_MOUNT]) ensureDir(d);
      mkdirSync(join(rootfs, OLD_ROOT), { recursive: true });

      // User and groups, from the image's passwd/group files when present.
      const uid = sc.runAsUser ?? 0;
      const passwd = lookupPasswd(readImageFile(rootfs, "/etc/passwd"), uid);
      const gid = sc.runAsGroup ?? passwd?.gid ?? 0;
      const groups = [...new Set([...(passwd ? lookupGroups(readImageFile(rootfs, "/etc/group"), passwd.name) : []), ...(sc.supplementalGroups ?? [])])];

      // /dev: a per-container directory of the state dir (a tmpfs under /run by default) bind-mounted
      // nosuid, holding bind-mount targets for the host's device nodes and the usual links; node
      // cannot mknod, and this keeps every mount of the container in one `mount -a` call.
      const devDir = join(dir, "dev");
      mkdirSync(devDir);
      for (const d of ["pts", "shm", "mqueue"]) mkdirSync(join(devDir, d));
      for (const [name, target] of DEV_LINKS) symlinkSync(target, join(devDir, name));
      for (const name of DEVICES) writeFileSync(join(devDir, name), "");
      const dev = inRoot("/dev");
      const entries: FstabEntry[] = [
        { source: "proc", target: inRoot("/proc"), type: "proc", options: ["nosuid", "nodev", "noexec"] },
        { source: "sysfs", target: inRoot("/sys"), type: "sysfs", options: [privileged ? "rw" : "ro", "nosuid", "nodev", "noexec"] },
        { source: devDir, target: dev, type: "none", options: ["bind", "nosuid"] },
        ...DEVICES.map((name) => ({ source: `/dev/${name}`, target: join(dev, name), type: "none", options: ["bind"] })),
        { source: "devpts", target: join(dev, "pts"), type: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
        { source: "shm", target: join(dev, "shm"), type: "tmpfs", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
        { source: "mqueue", target: join(dev, "mqueue"), type: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      ];
      if (!privileged) {
        for (const p of MASKED_PATHS) if (existsSync(p)) entries.push({ source: "/dev/null", target: join(rootfs, p), type: "none", options: ["bind"] });
        for (const p of MASKED_DIRS) if (existsSync(p)) entries.push({ source: "tmpfs", target: join(rootfs, p), type: "tmpfs", options: ["ro"] });
        for (const p of READONLY_PATHS) if (existsSync(p)) entries.push({ source: join(rootfs, p), target: join(rootfs, p), type: "none", options: ["bind", "ro"] });
      }
      // The helper stays visible read-only at /.corekube inside the container, like Docker's --init binary.
      entries.push({ source: helper.dir, target: inRoot(HELPER_MOUNT), type: "none", options: ["bind", "ro"] });
      const mounts = config.mounts ?? [];
      const taken = new Set(mounts.map((m) => normalizeContainerPath(m.containerPath)));
      const etc: Array<[string, string]> = [
        ["/etc/hostname", sb.files.hostname],
        ["/etc/hosts", sb.files.hosts],
        ["/etc/resolv.conf", sb.files.resolvConf],
      ];
      for (const [target, source] of etc) {
        if (taken.has(target)) continue;
        entries.push({ source, target: ensureFile(target), type: "none", options: ["bind", readonlyRootfs ? "ro" : "rw"] });
      }
      let slave = false;
      for (const m of mounts) {
        if (!existsSync(m.hostPath)) mkdirSync(m.hostPath, { recursive: true }); // as containerd does
        const target = statSync(m.hostPath).isDirectory() ? ensureDir(m.containerPath) : ensureFile(m.containerPath);
        const prop = propagationOption(m.propagation);
        if (prop) slave = true;
        entries.push({ source: m.hostPath, target, type: "none", options: ["rbind", m.readonly ? "ro" : "rw", ...(prop ? [prop] : [])] });
      }
      const workingDir = config.workingDir || "/";
      ensureDir(workingDir);

      const env = new Map<string, string>([["PATH", DEFAULT_PATH], ["HOSTNAME", sb.hostname], ["HOME", passwd?.home || "/"]]);
      for (const kv of config.envs ?? []) env.set(kv.key, kv.value);
      const fstab = join(dir, "fstab");
      writeFileSync(fstab, renderFstab(entries));
      const identity: ProcessIdentity = {
        uid,
        gid,
        groups,
        capabilities: computeCapabilities(sc.capabilities, privileged),
        noNewPrivs: sc.noNewPrivs === true,
        env: [...env].map(([k, v]) => `${k}=${v}`),
        loaderName: helper.loaderName,
      };
      const script = buildSetupScript({
        ...identity,
        rootfs,
        fstab,
        mountBin: this.tools.mount,
        readonlyRootfs,
        workingDir,
        argv: [...(config.command ?? []), ...(config.args ?? [])],
      });

      // The exec chain: enter the pod's namespaces, then a new mount namespace (and pid namespace).
      const pidMode: NamespaceMode = sc.namespaceOptions?.pid ?? (sb.namespaces.pid === "POD" ? "POD" : sb.namespaces.pid === "NODE" ? "NODE" : "CONTAINER");
      const enter: string[] = [];
      for (const k of ["net", "ipc", "uts"] as const) if (sb.nsPaths[k]) enter.push(`--${k}=${sb.nsPaths[k]}`);
      let forks = false;
      if (pidMode === "POD") {
        if (!sb.nsPaths.pid) throw new Error("pid mode POD needs a sandbox with its own pid namespace");
        enter.push(`--pid=${sb.nsPaths.pid}`);
        forks = true;
      }
      // busybox's unshare, not util-linux 2.38's: when the forked child dies of a signal, 2.38 fails
      // to re-raise it ("sigprocmask unblock failed") and exits 1, losing the 137 of a SIGKILL.
      const unshareArgs = ["-m", "--propagation", slave ? "slave" : "private"];
      if (pidMode === "CONTAINER") {
        unshareArgs.push("-p", "-f");
        forks = true;
      }
      const busybox = join(helper.dir, "busybox");
      const exec = [
        ...(enter.length > 0 ? [this.tools.nsenter, ...enter, "--"] : []),
        busybox,
        "unshare",
        ...unshareArgs,
        "--",
        busybox,
        "sh",
        "-c",
        script,
      ];
      let logPath: string | undefined;
      if (config.logPath) {
        logPath = isAbsolute(config.logPath) ? config.logPath : join(sb.config.logDirectory ?? join(this.sandboxDir(sb.id), "logs"), config.logPath);
        mkdirSync(dirname(logPath), { recursive: true });
      }
      const { placeInCgroup: placer, ...linux } = config.linux ?? {};
      const rec: ContainerRecord = {
        version: 1,
        id,
        sandboxId: podSandboxId,
        config: { ...config, linux },
        createdAt: nowRfc3339(),
        state: "created",
        rootfs,
        logPath,
        logRotation: this.options.logRotation ?? DEFAULT_LOG_ROTATION,
        identity,
        mounts,
        exec,
        forks,
      };
      writeJsonAtomic(join(dir, "state.json"), rec);
      if (placer) this.placers.set(id, placer);
      return id;
    } catch (err) {
      if (mounted) await unmountIfMounted(this.tools.umount, rootfs).catch(() => {});
      await rm(dir, { recursive: true, force: true }).catch(() => {});
      throw new Error(`CreateContainer ${config.metadata?.name}: ${(err as Error).message}`);
    }
  }

  private async ensureShim(sb: SandboxRecord): Promise<void> {
    const starting = this.startingShims.get(sb.id);
    if (starting && (await starting.then(() => true, () => false)) && isAlive(sb.shim)) return;
    if (isAlive(sb.shim)) return;
    sb.shim = await this.startShim(this.sandboxDir(sb.id));
    writeJsonAtomic(join(this.sandboxDir(sb.id), "sandbox.json"), sb);
  }

  async StartContainer(containerId: string): Promise<void> {
    const rec = await this.container(containerId);
    if (rec.state !== "created") throw new Error(`StartContainer: container ${containerId} is ${rec.state}, not created`);
    const sb = await this.sandbox(rec.sandboxId);
    if (sb.state !== "ready" || !isAlive(sb.pause)) throw new Error(`StartContainer: pod sandbox ${sb.id} is not ready`);
    await this.ensureShim(sb);
    const conn = await ShimConnection.openWhileAlive(join(this.sandboxDir(sb.id), "shim.sock"), sb.shim);
    try {
      conn.send({ op: "start", dir: this.containerDir(containerId) });
      const first = await conn.reply();
      if (!first || typeof first.pid !== "number") throw new Error(String(first?.error ?? "shim did not answer"));
      try {
        const placer = this.placers.get(containerId);
        if (placer) await placer(first.pid);
        else await this.options.placeInCgroup?.(first.pid, { containerId, sandboxId: sb.id, cgroupParent: rec.config.linux?.cgroupParent });
      } catch (err) {
        conn.send({ op: "abort", reason: `placing in cgroup: ${(err as Error).message}` });
        await conn.reply(5000);
        throw new Error(`placing pid ${first.pid} in its cgroup: ${(err as Error).message}`);
      }
      conn.send({ op: "go" });
      const second = await conn.reply();
      if (!second?.ok) throw new Error(String(second?.error ?? "shim did not answer"));
      this.placers.delete(containerId);
    } catch (err) {
      throw new Error(`StartContainer ${containerId}: ${(err as Error).message}`);
    } finally {
      conn.close();
    }
  }

  /**
   * How a command run in this container (kubectl exec) should start: the argv prefix that takes on the
   * container's user, groups and capabilities inside its root, and its environment. Undefined for
   * containers created before this was recorded (they exec as root).
   */
  async execIdentity(containerId: string): Promise<{ prefix: string[]; env: Record<string, string> } | undefined> {
    const rec = await this.container(containerId);
    if (!rec.identity) return undefined;
    const env: Record<string, string> = {};
    for (const kv of rec.identity.env) {
      const i = kv.indexOf("=");
      if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return { prefix: setprivPrefix(rec.identity), env };
  }

  /**
   * Resolves once the container has exited (not a CRI verb: the kubelet's PLEG polls ContainerStatus;
   * this is for tests, benchmarks and StopContainer). Returns the status, or undefined on timeout.
   */
  async waitContainer(containerId: string, timeoutMs = 60_000): Promise<ContainerStatus | undefined> {
    const deadline = Date.now() + timeoutMs;
    const rec = await this.container(containerId);
    if (rec.state !== "running") return this.ContainerStatus(containerId);
    const sb = await readJson<SandboxRecord>(join(this.sandboxDir(rec.sandboxId), "sandbox.json"));
    if (sb && isAlive(sb.shim)) {
      try {
        const conn = await ShimConnection.open(join(this.sandboxDir(sb.id), "shim.sock"));
        conn.send({ op: "wait", dir: this.containerDir(containerId) });
        const r = await conn.reply(Math.max(0, deadline - Date.now()));
        conn.close();
        if (r?.record && !r.orphan) return this.ContainerStatus(containerId);
      } catch {}
    }
    // No shim watching it (or an orphan): poll the pid.
    while (Date.now() < deadline) {
      const s = await this.ContainerStatus(containerId);
      if (s.state !== "CONTAINER_RUNNING") return s;
      await sleep(10);
    }
    return undefined;
  }

  async StopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    const rec = await this.container(containerId);
    if (rec.state !== "running" || !isAlive(rec.process)) {
      await this.ContainerStatus(containerId);
      return;
    }
    const proc = rec.process;
    if (timeoutSeconds > 0) {
      signal(proc, "SIGTERM");
      if (await this.waitContainer(containerId, timeoutSeconds * 1000)) return;
    }
    // Grace period over: SIGKILL the container's first process (as PID 1 of its own pid namespace,
    // its death takes the rest along), then anything left in its mount namespace, which is what tells
    // a container's processes apart in a shared pod pid namespace (daemons it left behind).
    let mntNs: string | undefined;
    try {
      mntNs = readlinkSync(`/proc/${proc.pid}/ns/mnt`);
    } catch {}
    signal(proc, "SIGKILL");
    const exited = await this.waitContainer(containerId, 10_000);
    if (mntNs && mntNs !== readlinkSync("/proc/self/ns/mnt")) {
      for (const pid of listIds("/proc", /^\d+$/)) {
        try {
          if (readlinkSync(`/proc/${pid}/ns/mnt`) === mntNs) process.kill(Number(pid), "SIGKILL");
        } catch {}
      }
    }
    if (!exited) throw new Error(`StopContainer ${containerId}: still running after SIGKILL`);
  }

  async RemoveContainer(containerId: string): Promise<void> {
    const dir = this.containerDir(containerId);
    const rec = await readJson<ContainerRecord>(join(dir, "state.json"));
    if (rec?.state === "running") await this.StopContainer(containerId, 0);
    const rootfs = join(dir, "rootfs");
    await unmountIfMounted(this.tools.umount, rootfs);
    await rm(dir, { recursive: true, force: true });
    this.placers.delete(containerId);
  }

  /** The kubelet saw an OOM kill in the container's cgroup: its exit is reported as OOMKilled. */
  async markOOMKilled(containerId: string): Promise<void> {
    await writeFile(join(this.containerDir(containerId), "oomKilled"), "");
  }

  async ContainerStatus(containerId: string): Promise<ContainerStatus> {
    let rec = await this.container(containerId);
    if (rec.state === "running" && !isAlive(rec.process)) {
      // The process is gone. Its shim records the exit; if the shim is gone too, nobody will.
      const sb = await readJson<SandboxRecord>(join(this.sandboxDir(rec.sandboxId), "sandbox.json"));
      if (!isAlive(sb?.shim)) {
        await sleep(5);
        rec = await this.container(containerId);
        if (rec.state === "running") {
          rec.state = "exited";
          rec.finishedAt = nowRfc3339();
          rec.exitCode = 255;
          rec.reason = "Unknown";
          rec.message = "the container's process and its shim are gone; the exit status was lost";
          writeJsonAtomic(join(this.containerDir(containerId), "state.json"), rec);
        }
      }
    }
    if (rec.state === "exited" && existsSync(join(this.containerDir(containerId), "oomKilled"))) rec.reason = "OOMKilled";
    return {
      ...containerSummary(rec),
      pid: rec.state === "running" ? rec.process?.pid : undefined,
      startedAt: rec.startedAt,
      finishedAt: rec.finishedAt,
      exitCode: rec.exitCode,
      reason: rec.reason,
      message: rec.message,
      logPath: rec.logPath,
      mounts: rec.mounts,
    };
  }

  async ListContainers(filter: ContainerFilter = {}): Promise<Container[]> {
    const out: Container[] = [];
    for (const id of listIds(join(this.stateDir, "containers"))) {
      if (filter.id && filter.id !== id) continue;
      const rec = await readJson<ContainerRecord>(join(this.stateDir, "containers", id, "state.json"));
      if (!rec) continue;
      if (filter.podSandboxId && rec.sandboxId !== filter.podSandboxId) continue;
      // Labels first: checking /proc for a container the filter drops anyway is wasted work.
      if (!matchLabels(rec.config.labels ?? {}, filter.labelSelector)) continue;
      const c = rec.state === "running" ? containerSummary(await this.containerWithLiveness(rec)) : containerSummary(rec);
      if (filter.state && c.state !== filter.state) continue;
      if (!matchLabels(c.labels, filter.labelSelector)) continue;
      out.push(c);
    }
    return out;
  }

  private async containerWithLiveness(rec: ContainerRecord): Promise<ContainerRecord> {
    if (isAlive(rec.process)) return rec;
    const s = await this.ContainerStatus(rec.id);
    return { ...rec, state: s.state === "CONTAINER_RUNNING" ? "running" : "exited" };
  }
}

// ---- helpers ----

function validateSandboxConfig(c: PodSandboxConfig): void {
  const m = c?.metadata;
  if (!m || typeof m.name !== "string" || m.name === "" || typeof m.namespace !== "string" || typeof m.uid !== "string") {
    throw new Error("PodSandboxConfig.metadata needs name, namespace and uid");
  }
  const ns = c.linux?.securityContext?.namespaceOptions ?? {};
  for (const [k, v] of Object.entries(ns)) {
    if (v !== undefined && !["POD", "CONTAINER", "NODE"].includes(v as string)) throw new Error(`namespaceOptions.${k}: unknown mode ${JSON.stringify(v)}`);
  }
  if (c.hostname !== undefined && !/^[a-zA-Z0-9]([-a-zA-Z0-9.]{0,62})$/.test(c.hostname)) throw new Error(`invalid hostname ${JSON.stringify(c.hostname)}`);
}

function validateContainerConfig(c: ContainerConfig): void {
  if (!c?.metadata || typeof c.metadata.name !== "string" || c.metadata.name === "") throw new Error("ContainerConfig.metadata.name is required");
  const layers = c.image?.layers;
  if (!Array.isArray(layers) || layers.length === 0) throw new Error("ContainerConfig.image.layers must list at least one directory");
  for (const l of layers) {
    if (typeof l !== "string" || !isAbsolute(l) || /[,:\n]/.test(l)) throw new Error(`image layer ${JSON.stringify(l)} must be an absolute path without ',' ':' or newlines`);
    if (!existsSync(l) || !statSync(l).isDirectory()) throw new Error(`image layer ${l} is not a directory`);
  }
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  if (argv.length === 0) throw new Error("container has no command (command/args are empty)");
  if (argv.some((a) => typeof a !== "string")) throw new Error("command and args must be strings");
  if (c.stdin || c.tty) throw new Error("stdin and tty are not supported yet");
  for (const kv of c.envs ?? []) {
    if (!kv.key || kv.key.includes("=") || kv.key.includes("\0") || String(kv.value).includes("\0")) throw new Error(`invalid environment variable ${JSON.stringify(kv.key)}`);
  }
  for (const m of c.mounts ?? []) {
    if (!m.hostPath || !isAbsolute(m.hostPath) || !m.containerPath || !isAbsolute(m.containerPath)) {
      throw new Error(`mount ${JSON.stringify(m)} needs absolute hostPath and containerPath`);
    }
    if (m.propagation === "PROPAGATION_BIDIRECTIONAL") throw new Error(`mount ${m.containerPath}: bidirectional propagation is not supported`);
  }
  if (c.workingDir !== undefined && c.workingDir !== "" && !isAbsolute(c.workingDir)) throw new Error(`workingDir ${c.workingDir} must be absolute`);
  const sc = c.linux?.securityContext;
  for (const [k, v] of [["runAsUser", sc?.runAsUser], ["runAsGroup", sc?.runAsGroup]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new Error(`${k} must be a non-negative integer`);
  }
  if (sc?.capabilities) computeCapabilities(sc.capabilities, false); // validates names
}

function normalizeContainerPath(p: string): string {
  return `/${p.split("/").filter(Boolean).join("/")}`;
}

function readImageFile(rootfs: string, path: string): string {
  try {
    return readFileSync(resolveInRoot(rootfs, path), "utf8");
  } catch {
    return "";
  }
}

function readHostFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function hostsFile(hostname: string): string {
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n127.0.1.1\t${hostname}\n`;
}

function resolvConf(dns: PodSandboxConfig["dnsConfig"]): string {
  if (!dns || (!dns.servers?.length && !dns.searches?.length && !dns.options?.length)) return readHostFile("/etc/resolv.conf");
  let out = "";
  if (dns.searches?.length) out += `search ${dns.searches.join(" ")}\n`;
  for (const s of dns.servers ?? []) out += `nameserver ${s}\n`;
  if (dns.options?.length) out += `options ${dns.options.join(" ")}\n`;
  return out;
}

function sandboxSummary(rec: SandboxRecord, pauseAlive: boolean): PodSandbox {
  return {
    id: rec.id,
    metadata: rec.config.metadata,
    state: rec.state === "ready" && pauseAlive ? "SANDBOX_READY" : "SANDBOX_NOTREADY",
    createdAt: rec.createdAt,
    labels: rec.config.labels ?? {},
    annotations: rec.config.annotations ?? {},
  };
}

const STATES: Record<ContainerRecord["state"], ContainerState> = {
  created: "CONTAINER_CREATED",
  running: "CONTAINER_RUNNING",
  exited: "CONTAINER_EXITED",
};

function containerSummary(rec: ContainerRecord): Container {
  return {
    id: rec.id,
    podSandboxId: rec.sandboxId,
    metadata: rec.config.metadata,
    image: rec.config.image,
    state: STATES[rec.state] ?? "CONTAINER_UNKNOWN",
    createdAt: rec.createdAt,
    labels: rec.config.labels ?? {},
    annotations: rec.config.annotations ?? {},
  };
}

function matchLabels(labels: Record<string, string>, selector?: Record<string, string>): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

function listIds(dir: string, pattern = /^[0-9a-f]{32}$/): string[] {
  try {
    return readdirSync(dir).filter((n) => pattern.test(n));
  } catch {
    return [];
  }
}

function signal(ref: ProcessRef, sig: NodeJS.Signals): void {
  if (!isAlive(ref)) return;
  try {
    process.kill(ref.pid, sig);
  } catch {}
}

async function waitGone(ref: ProcessRef, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(ref)) {
    if (Date.now() > deadline) return false;
    await sleep(2);
  }
  return true;
}

function isMountPoint(path: string): boolean {
  try {
    const mounts = readFileSync("/proc/self/mountinfo", "utf8");
    const escaped = path.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
    return mounts.split("\n").some((l) => l.split(" ")[4] === escaped);
  } catch {
    return false;
  }
}

async function unmountIfMounted(umount: string, path: string): Promise<void> {
  for (let i = 0; i < 10 && isMountPoint(path); i++) {
    try {
      await run(umount, [path]);
    } catch {
      await run(umount, ["-l", path]).catch(() => {});
    }
  }
}

