// Book 9.3 (pod lifecycle) and 9.4 (the CRI, how it is called): one worker per pod runs SyncPod in
// order: cgroup, volumes, sandbox and network, images, init containers, app containers, then status
// through pods/status; and when the pod is deleted, stops everything and confirms the deletion.
import { join } from "node:path";
import { mkdir, rm } from "node:fs/promises";
import { isNotFound, type Pod, rfc3339 } from "@corekube/api";
import { type EventRecorder, PODS, type RestClient } from "@corekube/client";
import type { CgroupDriver } from "../cgroups/driver.js";
import { containerResources, podResources } from "../cgroups/convert.js";
import { type CgroupNaming, containerCgroupPath, podCgroupPath } from "../cgroups/paths.js";
import { getPodQOS } from "../cgroups/qos.js";
import type { CniClient } from "../cni/client.js";
import type { ImageInfo, ImageStore } from "../images/store.js";
import type { ImagePuller } from "../images/pull.js";
import type { ContainerConfig, KeyValue, Mount, PodSandboxConfig } from "../runtime/cri.js";
import type { LinuxRuntime } from "../runtime/runtime.js";
import { rotatedLogs } from "../runtime/log.js";
import { type ServiceForEnv, serviceEnv } from "./service-env.js";
import { computePodActions, type PodActions } from "./actions.js";
import { CrashLoopBackoff } from "./backoff.js";
import { attemptsToRemove, type ContainerAttempt, containerHash, latestAttempts, type PodSnapshot } from "./snapshot.js";
import { containerOf, specOf } from "./spec.js";
import { isTerminalPhase, podStatus } from "./status.js";

export const POD_UID_LABEL = "io.kubernetes.pod.uid";
export const POD_NAME_LABEL = "io.kubernetes.pod.name";
export const POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace";
export const CONTAINER_NAME_LABEL = "io.kubernetes.container.name";
export const CONTAINER_HASH_LABEL = "io.kubernetes.container.hash";

type ContainerSpec = Pod["spec"]["containers"][number];

/** What a pod needs from the volume manager (packages/kubelet/src/volumes). */
export interface PodVolumeHost {
  setUp(pod: Pod): Promise<unknown>;
  mountsFor(pod: Pod, container: ContainerSpec, prepared: unknown, env: KeyValue[]): Mount[];
  tearDown(podUid: string): Promise<void>;
}

/** What a pod needs from the prober (packages/kubelet/src/probes). */
export interface PodProbeHost {
  containerStarted(pod: Pod, container: ContainerSpec, containerId: string, startedAt: Date, podIP: string | undefined): void;
  containerStopped(podUid: string, container: string): void;
  ready(podUid: string, container: string): boolean;
  started(podUid: string, container: string): boolean;
  unhealthy(podUid: string): Set<string>;
  forgetPod(podUid: string): void;
}

export interface PodWorkerDeps {
  client: RestClient;
  recorder: EventRecorder;
  runtime: LinuxRuntime;
  images: ImageStore;
  puller: ImagePuller;
  cgroups?: CgroupDriver;
  /** Where pods' cgroups go (kubepods by default; tests use their own name). */
  cgroupNaming?: CgroupNaming;
  cni?: CniClient;
  /** Every Service in the cluster (an informer's list), for the pods' service environment variables. */
  services?: () => readonly ServiceForEnv[];
  /** Whether pod networking is configured; until then only hostNetwork pods start. */
  networkReady?: () => boolean;
  volumes?: PodVolumeHost;
  probes?: PodProbeHost;
  /** Runs a command in a running container (exec lifecycle hooks). */
  execSync?: (containerId: string, cmd: string[], timeoutMs: number) => Promise<{ exitCode: number; stdout: string; stderr: string }>;
  nodeName: string;
  hostIP: string;
  /** /var/log/pods */
  podLogDir: string;
  /** Nameservers for ClusterFirst pods; empty: fall back to the node's resolv.conf (as upstream does). */
  clusterDNS: string[];
  clusterDomain: string;
  backoff?: CrashLoopBackoff;
  log: (line: string) => void;
  /** How often each pod is synced with no event (upstream's --sync-frequency, 1 minute); exits, probe
   * changes, API updates and backoff expiry sync sooner. */
  resyncMs?: number;
}

interface PodState {
  pod: Pod;
  /** Serialises syncs of this pod. */
  chain: Promise<void>;
  pending: boolean;
  timer?: NodeJS.Timeout;
  dueAt?: number;
  firstSeen: Date;
  /** Why containers are not running, as the status should say. */
  waiting: Map<string, { reason: string; message?: string }>;
  ips: Map<string, string>;
  /** When each container's last image pull failed (ImagePullBackOff counts from there). */
  pullFailedAt: Map<string, number>;
  /** Running containers this kubelet follows (probes, exit watch): those it started or adopted after a restart. */
  followed: Set<string>;
  lastStatus?: string;
  initFailed?: boolean;
  done: boolean;
}

/** The pod workers: update(pod) whenever the pod changes; each pod syncs on its own, one sync at a time. */
export class PodWorkers {
  private readonly pods = new Map<string, PodState>();
  private readonly backoff: CrashLoopBackoff;
  private stopped = false;

  constructor(private readonly d: PodWorkerDeps) {
    this.backoff = d.backoff ?? new CrashLoopBackoff();
  }

  /** Pods the kubelet runs now (for /pods). */
  list(): Pod[] {
    return [...this.pods.values()].map((s) => s.pod);
  }

  update(pod: Pod): void {
    const uid = pod.metadata.uid ?? "";
    let s = this.pods.get(uid);
    if (!s) {
      s = { pod, chain: Promise.resolve(), pending: false, firstSeen: new Date(), waiting: new Map(), ips: new Map(), pullFailedAt: new Map(), followed: new Set(), done: false };
      this.pods.set(uid, s);
    } else {
      // Only the status changed (mostly this kubelet's own write coming back): nothing new to do. A sync
      // here would, for one, replace ErrImagePull by ImagePullBackOff before anyone could see it.
      const statusOnly = sameExceptStatus(s.pod, pod);
      s.pod = pod;
      if (statusOnly) return;
    }
    this.kick(uid);
  }

  /** The pod is gone from the API (deleted with grace 0 elsewhere): stop and clean up. */
  forget(uid: string): void {
    const s = this.pods.get(uid);
    if (!s) return;
    s.pod = { ...s.pod, metadata: { ...s.pod.metadata, deletionTimestamp: s.pod.metadata.deletionTimestamp ?? rfc3339(new Date()), deletionGracePeriodSeconds: 0 } };
    s.done = true;
    this.kick(uid);
  }

  /** Queue a sync of one pod (coalesced while one is running). */
  kick(uid: string): void {
    const s = this.pods.get(uid);
    if (!s || this.stopped || s.pending) return;
    s.pending = true;
    s.chain = s.chain.then(async () => {
      s.pending = false;
      if (this.stopped) return;
      try {
        await this.sync(s);
      } catch (e) {
        this.d.log(`pod ${s.pod.metadata.namespace}/${s.pod.metadata.name}: sync failed: ${(e as Error).message}`);
      }
      this.schedule(uid, this.d.resyncMs ?? 60_000);
    });
  }

  /** Sync `uid` again in `ms` unless a sync is already due sooner. */
  private schedule(uid: string, ms: number): void {
    const s = this.pods.get(uid);
    if (!s || this.stopped) return;
    const at = Date.now() + Math.max(50, ms);
    if (s.timer && s.dueAt !== undefined && s.dueAt > Date.now() && s.dueAt <= at) return;
    if (s.timer) clearTimeout(s.timer);
    s.dueAt = at;
    s.timer = setTimeout(() => {
      s.timer = undefined;
      s.dueAt = undefined;
      this.kick(uid);
    }, at - Date.now());
    s.timer.unref?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.pods.values()) if (s.timer) clearTimeout(s.timer);
    await Promise.all([...this.pods.values()].map((s) => s.chain));
  }

  // ---- one sync ----

  private async snapshot(uid: string, s: PodState): Promise<PodSnapshot> {
    const rt = this.d.runtime;
    const sandboxes = await rt.ListPodSandbox({ labelSelector: { [POD_UID_LABEL]: uid } });
    const snap: PodSnapshot = { sandboxes: [], containers: [] };
    for (const sb of sandboxes.sort((a, b) => b.createdAt.localeCompare(a.createdAt))) {
      snap.sandboxes.push({ id: sb.id, attempt: sb.metadata.attempt ?? 0, ready: sb.state === "SANDBOX_READY", ip: s.ips.get(sb.id) ?? (await this.cachedIP(sb.id, s)), createdAt: sb.createdAt });
    }
    for (const c of await rt.ListContainers({ labelSelector: { [POD_UID_LABEL]: uid } })) {
      const st = await rt.ContainerStatus(c.id).catch(() => undefined);
      if (!st) continue;
      snap.containers.push({
        id: c.id,
        name: c.metadata.name,
        attempt: c.metadata.attempt ?? 0,
        state: st.state === "CONTAINER_RUNNING" ? "running" : st.state === "CONTAINER_EXITED" ? "exited" : st.state === "CONTAINER_CREATED" ? "created" : "unknown",
        hash: c.labels[CONTAINER_HASH_LABEL] ?? "",
        image: c.image.ref ?? "",
        imageID: c.annotations["io.kubernetes.container.imageID"],
        createdAt: st.createdAt,
        startedAt: st.startedAt,
        finishedAt: st.finishedAt,
        exitCode: st.exitCode,
        reason: st.reason,
        message: st.message,
      });
    }
    return snap;
  }

  /** A sandbox's IP after a kubelet restart, from the CNI result cache. */
  private async cachedIP(sandboxId: string, s: PodState): Promise<string | undefined> {
    const r = await this.d.cni?.cachedResult(sandboxId).catch(() => undefined);
    const ip = r?.ips?.[0]?.address?.split("/")[0];
    if (ip) s.ips.set(sandboxId, ip);
    return ip;
  }

  private async sync(s: PodState): Promise<void> {
    const pod = s.pod;
    const uid = pod.metadata.uid ?? "";
    if (pod.metadata.deletionTimestamp || s.done) {
      await this.terminate(s);
      return;
    }
    const snap = await this.snapshot(uid, s);
    if (isTerminalPhase(pod.status?.phase) && !snap.containers.some((c) => c.state === "running")) {
      // A finished pod never runs again; make sure nothing is left running, keep its status.
      await this.killPod(pod, snap, 0);
      return;
    }
    await this.ensurePodCgroup(pod);
    let volumes: unknown;
    try {
      volumes = await this.d.volumes?.setUp(pod);
    } catch (e) {
      this.event(pod, "Warning", "FailedMount", (e as Error).message);
      for (const c of pod.spec.containers) s.waiting.set(c.name, { reason: "ContainerCreating" });
      await this.writeStatus(s, snap);
      return;
    }

    const now = Date.now();
    const latest = latestAttempts(snap);
    this.adoptRunning(s, snap, latest);
    const plan: PodActions = computePodActions(pod, snap, { unhealthy: this.d.probes?.unhealthy(uid) ?? new Set() }, (name) => {
      const l = latest.get(name);
      const finished = l?.finishedAt ? Date.parse(l.finishedAt) : now;
      return this.backoff.remaining(`${uid}/${name}`, finished, now);
    });
    s.initFailed = Boolean(plan.initFailed);
    for (const b of plan.backingOff) s.waiting.set(b.name, { reason: "CrashLoopBackOff", message: b.message });

    if (plan.killPod) await this.killPod(pod, snap, pod.spec.terminationGracePeriodSeconds ?? 30);
    for (const k of plan.kill) {
      this.event(pod, "Normal", "Killing", k.reason);
      this.d.probes?.containerStopped(uid, k.name);
      await this.stopWithPreStop(pod, k.name, k.id, snap.sandboxes[0]?.ip, pod.spec.terminationGracePeriodSeconds ?? 30);
    }

    let sandboxId = snap.sandboxes[0]?.ready ? snap.sandboxes[0].id : undefined;
    if (plan.createSandbox && !pod.spec.hostNetwork && this.d.networkReady && !this.d.networkReady()) {
      // Upstream's kubelet holds pods back the same way while the network plugin is not ready.
      for (const c of pod.spec.containers) s.waiting.set(c.name, { reason: "ContainerCreating", message: "network is not ready: container runtime network not ready" });
      await this.writeStatus(s, snap);
      return;
    }
    if (plan.createSandbox) {
      sandboxId = await this.createSandbox(s, snap.sandboxes.length);
      if (!sandboxId) {
        await this.writeStatus(s, await this.snapshot(uid, s));
        return;
      }
    }
    if (sandboxId) {
      const toStart = [...(plan.nextInit ? [plan.nextInit] : []), ...plan.start];
      for (const name of toStart) {
        const spec = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === name)!;
        const ok = await this.startContainer(s, spec, sandboxId, latest.get(name), volumes);
        if (!ok && plan.nextInit === name) break;
      }
    }
    const after = await this.snapshot(uid, s);
    await this.writeStatus(s, after);
    await this.removeOldAttempts(after);
    if (plan.backingOff.length > 0) this.schedule(uid, Math.min(...plan.backingOff.map((b) => b.waitMs)) + 100);
  }

  /** Removes exited attempts beyond the newest two per container, with their log files (rotated ones too). */
  private async removeOldAttempts(snap: PodSnapshot): Promise<void> {
    for (const c of attemptsToRemove(snap)) {
      const logPath = (await this.d.runtime.ContainerStatus(c.id).catch(() => undefined))?.logPath;
      await this.d.runtime.RemoveContainer(c.id).catch((e) => this.d.log(`removing old container ${c.name} (${c.id}): ${(e as Error).message}`));
      if (logPath) for (const f of [logPath, ...rotatedLogs(logPath)]) await rm(f, { force: true }).catch(() => undefined);
    }
  }

  private async ensurePodCgroup(pod: Pod): Promise<void> {
    if (!this.d.cgroups) return;
    await this.d.cgroups.create(podCgroupPath(pod.metadata.uid ?? "", getPodQOS(pod), this.d.cgroupNaming), podResources(pod));
  }

  private resolvConf(pod: Pod): PodSandboxConfig["dnsConfig"] | undefined {
    const spec = specOf(pod);
    const policy = spec.dnsPolicy ?? "ClusterFirst";
    const ns = pod.metadata.namespace ?? "default";
    const custom = spec.dnsConfig;
    if (policy === "None") return { servers: custom?.nameservers ?? [], searches: custom?.searches ?? [], options: (custom?.options ?? []).map((o) => (o.value ? `${o.name}:${o.value}` : o.name)) };
    const clusterFirst = (policy === "ClusterFirst" && !pod.spec.hostNetwork) || policy === "ClusterFirstWithHostNet";
    if (clusterFirst && this.d.clusterDNS.length > 0) {
      const d = this.d.clusterDomain;
      return {
        servers: [...this.d.clusterDNS, ...(custom?.nameservers ?? [])],
        searches: [`${ns}.svc.${d}`, `svc.${d}`, d, ...(custom?.searches ?? [])],
        options: ["ndots:5", ...(custom?.options ?? []).map((o) => (o.value ? `${o.name}:${o.value}` : o.name))],
      };
    }
    return undefined; // Default: the node's own resolv.conf
  }

  private async createSandbox(s: PodState, attempt: number): Promise<string | undefined> {
    const pod = s.pod;
    const uid = pod.metadata.uid ?? "";
    const ns = pod.metadata.namespace ?? "default";
    const logDirectory = join(this.d.podLogDir, `${ns}_${pod.metadata.name}_${uid}`);
    await mkdir(logDirectory, { recursive: true });
    const config: PodSandboxConfig = {
      metadata: { name: pod.metadata.name ?? "", uid, namespace: ns, attempt },
      hostname: specOf(pod).hostname ?? pod.metadata.name,
      logDirectory,
      dnsConfig: this.resolvConf(pod),
      labels: { [POD_UID_LABEL]: uid, [POD_NAME_LABEL]: pod.metadata.name ?? "", [POD_NAMESPACE_LABEL]: ns },
      linux: {
        cgroupParent: this.d.cgroups ? podCgroupPath(uid, getPodQOS(pod), this.d.cgroupNaming) : undefined,
        securityContext: {
          namespaceOptions: {
            network: pod.spec.hostNetwork ? "NODE" : "POD",
            pid: specOf(pod).hostPID ? "NODE" : specOf(pod).shareProcessNamespace ? "POD" : "CONTAINER",
            ipc: specOf(pod).hostIPC ? "NODE" : "POD",
          },
        },
      },
    };
    let id: string | undefined;
    try {
      id = await this.d.runtime.RunPodSandbox(config);
      if (!pod.spec.hostNetwork && this.d.cni) {
        const st = await this.d.runtime.PodSandboxStatus(id);
        const result = await this.d.cni.add({ containerId: id, netns: st.network.netnsPath ?? "", podNamespace: ns, podName: pod.metadata.name ?? "", podUid: uid });
        const ip = result.ips?.[0]?.address?.split("/")[0];
        if (ip) s.ips.set(id, ip);
      }
      return id;
    } catch (e) {
      this.event(pod, "Warning", "FailedCreatePodSandBox", `Failed to create pod sandbox: ${(e as Error).message}`);
      if (id) {
        await this.d.runtime.StopPodSandbox(id).catch(() => undefined);
        await this.d.runtime.RemovePodSandbox(id).catch(() => undefined);
      }
      for (const c of pod.spec.containers) s.waiting.set(c.name, { reason: "ContainerCreating" });
      return undefined;
    }
  }

  private pullPolicy(spec: ContainerSpec): "Always" | "IfNotPresent" | "Never" {
    const c = containerOf(spec);
    if (c.imagePullPolicy === "Always" || c.imagePullPolicy === "IfNotPresent" || c.imagePullPolicy === "Never") return c.imagePullPolicy;
    const ref = c.image ?? "";
    return /:latest$/.test(ref) || !/[:@][^/]+$/.test(ref) ? "Always" : "IfNotPresent";
  }

  private async ensureImage(s: PodState, c: ContainerSpec): Promise<ImageInfo | undefined> {
    const pod = s.pod;
    const ref = c.image ?? "";
    const policy = this.pullPolicy(c);
    let local: ImageInfo | undefined;
    try {
      local = await this.d.images.get(ref);
    } catch (e) {
      s.waiting.set(c.name, { reason: "InvalidImageName", message: `Failed to apply default image tag "${ref}": ${(e as Error).message}` });
      this.event(pod, "Warning", "InspectFailed", `Failed to apply default image tag "${ref}": ${(e as Error).message}`);
      return undefined;
    }
    if (local && policy !== "Always") {
      this.event(pod, "Normal", "Pulled", `Container image "${ref}" already present on machine`);
      return local;
    }
    if (policy === "Never") {
      s.waiting.set(c.name, { reason: "ErrImageNeverPull", message: `Container image "${ref}" is not present with pull policy of Never` });
      this.event(pod, "Warning", "ErrImageNeverPull", `Container image "${ref}" is not present with pull policy of Never`);
      return undefined;
    }
    const key = `${pod.metadata.uid}/image/${c.name}`;
    const failedAt = s.pullFailedAt.get(c.name);
    const wait = failedAt === undefined ? 0 : this.backoff.remaining(key, failedAt, Date.now());
    if (wait > 0) {
      this.schedule(pod.metadata.uid ?? "", wait + 100);
      s.waiting.set(c.name, { reason: "ImagePullBackOff", message: `Back-off pulling image "${ref}"` });
      this.event(pod, "Normal", "BackOff", `Back-off pulling image "${ref}"`);
      return undefined;
    }
    const started = Date.now();
    this.event(pod, "Normal", "Pulling", `Pulling image "${ref}"`);
    try {
      const img = await this.d.puller.pull(ref, { auth: await this.pullSecrets(pod) });
      s.pullFailedAt.delete(c.name);
      this.event(pod, "Normal", "Pulled", `Successfully pulled image "${ref}" in ${Date.now() - started}ms`);
      return img;
    } catch (e) {
      const msg = (e as Error).message;
      const wasFailing = s.waiting.get(c.name)?.reason === "ErrImagePull" || s.waiting.get(c.name)?.reason === "ImagePullBackOff";
      s.waiting.set(c.name, { reason: wasFailing ? "ImagePullBackOff" : "ErrImagePull", message: wasFailing ? `Back-off pulling image "${ref}"` : msg });
      this.event(pod, "Warning", "Failed", `Failed to pull image "${ref}": ${msg}`);
      this.backoff.next(key, Date.now());
      s.pullFailedAt.set(c.name, Date.now());
      this.schedule(pod.metadata.uid ?? "", this.backoff.remaining(key, Date.now(), Date.now()) + 100);
      return undefined;
    }
  }

  private async pullSecrets(pod: Pod): Promise<{ auths?: Record<string, { auth?: string }> }[]> {
    const out: { auths?: Record<string, { auth?: string }> }[] = [];
    for (const ref of specOf(pod).imagePullSecrets ?? []) {
      try {
        const sec = (await this.d.client.request("GET", `/api/v1/namespaces/${pod.metadata.namespace}/secrets/${ref.name}`)) as { data?: Record<string, string> };
        const raw = sec.data?.[".dockerconfigjson"];
        if (raw) out.push(JSON.parse(Buffer.from(raw, "base64").toString("utf8")));
      } catch {
        // A missing pull secret is not fatal: the pull may need no credentials.
      }
    }
    return out;
  }

  private async env(pod: Pod, spec: ContainerSpec, img: ImageInfo, podIP: string | undefined): Promise<KeyValue[]> {
    const c = containerOf(spec);
    const vars = new Map<string, string>();
    for (const e of img.config.env ?? []) {
      const i = e.indexOf("=");
      if (i > 0) vars.set(e.slice(0, i), e.slice(i + 1));
    }
    const ns = pod.metadata.namespace ?? "default";
    // Upstream's order: image ENV, then the Services' variables, then envFrom, then env (later wins).
    for (const kv of serviceEnv(this.d.services?.() ?? [], ns, specOf(pod).enableServiceLinks)) vars.set(kv.key, kv.value);
    const getData = async (kind: "configmaps" | "secrets", name: string): Promise<Record<string, string> | undefined> => {
      try {
        const o = (await this.d.client.request("GET", `/api/v1/namespaces/${ns}/${kind}/${name}`)) as { data?: Record<string, string> };
        const data = o.data ?? {};
        return kind === "secrets" ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")])) : data;
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    };
    const getKey = async (kind: "configmaps" | "secrets", name: string, key: string): Promise<string | undefined> => (await getData(kind, name))?.[key];
    const skipped: string[] = [];
    for (const src of c.envFrom ?? []) {
      const ref = src.configMapRef ?? src.secretRef;
      if (!ref) continue;
      const kind = src.configMapRef ? "configmaps" : "secrets";
      const data = await getData(kind, ref.name);
      if (!data) {
        if (ref.optional) continue;
        throw new ConfigError(`${kind === "configmaps" ? "configmap" : "secret"} "${ref.name}" not found`);
      }
      for (const [k, v] of Object.entries(data)) {
        const name = `${src.prefix ?? ""}${k}`;
        if (/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(name)) vars.set(name, v);
        else skipped.push(name);
      }
    }
    if (skipped.length > 0) {
      this.event(pod, "Warning", "InvalidEnvironmentVariableNames", `Keys [${skipped.sort().join(", ")}] from the EnvFrom were skipped since they are invalid environment variable names.`);
    }
    const expand = (v: string) => v.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) => (m === "$$" ? "$" : (vars.get(name!) ?? m)));
    for (const e of c.env ?? []) {
      if (e.value !== undefined) vars.set(e.name, expand(e.value));
      else if (e.valueFrom?.fieldRef) {
        const path = e.valueFrom.fieldRef.fieldPath;
        const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
        const v =
          path === "metadata.name" ? pod.metadata.name
          : path === "metadata.namespace" ? ns
          : path === "metadata.uid" ? pod.metadata.uid
          : path === "spec.nodeName" ? this.d.nodeName
          : path === "spec.serviceAccountName" ? specOf(pod).serviceAccountName
          : path === "status.podIP" ? podIP
          : path === "status.hostIP" ? this.d.hostIP
          : m ? (m[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]!]
          : undefined;
        vars.set(e.name, v ?? "");
      } else if (e.valueFrom?.configMapKeyRef || e.valueFrom?.secretKeyRef) {
        const ref = (e.valueFrom.configMapKeyRef ?? e.valueFrom.secretKeyRef)!;
        const v = await getKey(e.valueFrom.configMapKeyRef ? "configmaps" : "secrets", ref.name ?? "", ref.key);
        if (v === undefined && !ref.optional) throw new ConfigError(`${e.valueFrom.configMapKeyRef ? "configmap" : "secret"} "${ref.name}" not found or has no key "${ref.key}"`);
        if (v !== undefined) vars.set(e.name, v);
      }
    }
    return [...vars].map(([key, value]) => ({ key, value }));
  }

  /** Creates and starts one container; false (with a waiting reason and an event) when it cannot. */
  private async startContainer(s: PodState, spec: ContainerSpec, sandboxId: string, last: ContainerAttempt | undefined, volumes: unknown): Promise<boolean> {
    const pod = s.pod;
    const c = containerOf(spec);
    const uid = pod.metadata.uid ?? "";
    const img = await this.ensureImage(s, spec);
    if (!img) return false;
    const attempt = last ? last.attempt + 1 : 0;
    let config: ContainerConfig;
    try {
      const sc = c.securityContext ?? {};
      const psc = specOf(pod).securityContext ?? {};
      const runAsUser = sc.runAsUser ?? psc.runAsUser;
      const runAsNonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
      if (runAsNonRoot && (runAsUser ?? uidOfImageUser(img.config.user)) === 0) {
        throw new ConfigError("container has runAsNonRoot and image will run as root");
      }
      const command = c.command ?? img.config.entrypoint ?? [];
      const args = c.args ?? (c.command ? [] : (img.config.cmd ?? []));
      if (command.length + args.length === 0) throw new ConfigError("no command specified");
      const podIP = s.ips.get(sandboxId);
      const envs = await this.env(pod, spec, img, podIP);
      config = {
        metadata: { name: c.name, attempt },
        image: { layers: img.layers, ref: c.image },
        command,
        args,
        workingDir: c.workingDir ?? (img.config.workingDir || undefined),
        envs,
        mounts: this.d.volumes ? this.d.volumes.mountsFor(pod, spec, volumes, envs) : [],
        logPath: `${c.name}/${attempt}.log`,
        labels: { [POD_UID_LABEL]: uid, [CONTAINER_NAME_LABEL]: c.name, [CONTAINER_HASH_LABEL]: containerHash(spec) },
        annotations: { "io.kubernetes.container.imageID": img.id },
        linux: {
          securityContext: {
            runAsUser: runAsUser ?? uidOfImageUser(img.config.user),
            runAsGroup: sc.runAsGroup ?? psc.runAsGroup,
            supplementalGroups: psc.fsGroup !== undefined ? [...(psc.supplementalGroups ?? []), psc.fsGroup] : psc.supplementalGroups,
            capabilities: sc.capabilities,
            privileged: sc.privileged,
            readonlyRootfs: sc.readOnlyRootFilesystem,
            noNewPrivs: sc.allowPrivilegeEscalation === false,
          },
        },
      };
    } catch (e) {
      const reason = e instanceof ConfigError ? "CreateContainerConfigError" : "CreateContainerError";
      s.waiting.set(c.name, { reason, message: (e as Error).message });
      this.event(pod, "Warning", "Failed", `Error: ${(e as Error).message}`);
      return false;
    }
    const cgroupPath = this.d.cgroups ? containerCgroupPath(podCgroupPath(uid, getPodQOS(pod), this.d.cgroupNaming), `${c.name}-${attempt}`) : undefined;
    if (cgroupPath && this.d.cgroups) {
      await this.d.cgroups.create(cgroupPath, containerResources(spec));
      const cg = this.d.cgroups;
      config.linux!.cgroupParent = cgroupPath;
      config.linux!.placeInCgroup = (pid) => cg.addProcess(cgroupPath, pid);
    }
    let id: string | undefined;
    try {
      id = await this.d.runtime.CreateContainer(sandboxId, config);
      this.event(pod, "Normal", "Created", `Created container ${c.name}`);
      if (last) this.backoff.next(`${uid}/${c.name}`, Date.now());
      await this.d.runtime.StartContainer(id);
      this.event(pod, "Normal", "Started", `Started container ${c.name}`);
      // postStart runs beside the container's command; if it fails the container is killed.
      const postStart = lifecycleOf(spec).postStart;
      if (postStart) {
        const err = await this.runHook(postStart, id, s.ips.get(sandboxId), 30_000);
        if (err) {
          this.event(pod, "Warning", "FailedPostStartHook", err);
          await this.d.runtime.StopContainer(id, specOf(pod).terminationGracePeriodSeconds ?? 30);
          s.waiting.set(c.name, { reason: "PostStartHookError", message: err });
          return false;
        }
      }
      s.waiting.delete(c.name);
      const cid = id;
      s.followed.add(cid);
      this.d.probes?.containerStarted(pod, spec, cid, new Date(), s.ips.get(sandboxId));
      void this.d.runtime.waitContainer(cid, 2 ** 31 - 1).then(() => this.onExit(uid, c.name, cid, cgroupPath), () => undefined);
      return true;
    } catch (e) {
      s.waiting.set(c.name, { reason: id ? "RunContainerError" : "CreateContainerError", message: (e as Error).message });
      this.event(pod, "Warning", "Failed", `Error: ${(e as Error).message}`);
      return false;
    }
  }

  /**
   * Containers already running when this kubelet started (it was restarted while they ran): the prober
   * and the exit watch learn about them as if this kubelet had started them, so they stay Ready.
   */
  private adoptRunning(s: PodState, snap: PodSnapshot, latest: Map<string, ContainerAttempt>): void {
    const pod = s.pod;
    const uid = pod.metadata.uid ?? "";
    const live = new Set(snap.containers.map((c) => c.id));
    for (const id of s.followed) if (!live.has(id)) s.followed.delete(id);
    for (const a of latest.values()) {
      if (a.state !== "running" || s.followed.has(a.id)) continue;
      const spec = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === a.name);
      if (!spec) continue;
      s.followed.add(a.id);
      const started = a.startedAt ? new Date(a.startedAt) : new Date();
      this.d.probes?.containerStarted(pod, spec, a.id, started, snap.sandboxes[0]?.ip);
      const cgroupPath = this.d.cgroups ? containerCgroupPath(podCgroupPath(uid, getPodQOS(pod), this.d.cgroupNaming), `${a.name}-${a.attempt}`) : undefined;
      void this.d.runtime.waitContainer(a.id, 2 ** 31 - 1).then(() => this.onExit(uid, a.name, a.id, cgroupPath), () => undefined);
    }
  }

  private async onExit(uid: string, name: string, id: string, cgroupPath: string | undefined): Promise<void> {
    // An OOM kill shows in the container's cgroup; the runtime learns it from the hint file.
    if (cgroupPath && this.d.cgroups) {
      const st = await this.d.cgroups.stats(cgroupPath).catch(() => undefined);
      if (st && st.oomKills > 0) await this.d.runtime.markOOMKilled(id).catch(() => undefined);
      await this.d.cgroups.remove(cgroupPath).catch(() => undefined);
    }
    this.d.probes?.containerStopped(uid, name);
    this.kick(uid);
  }

  /** Runs a lifecycle handler (exec, httpGet or sleep); the error message, or undefined on success. */
  private async runHook(h: LifecycleHandler, containerId: string, podIP: string | undefined, timeoutMs: number): Promise<string | undefined> {
    try {
      if (h.exec?.command) {
        if (!this.d.execSync) return "exec hooks are not available on this node";
        const r = await this.d.execSync(containerId, h.exec.command, timeoutMs);
        return r.exitCode === 0 ? undefined : `Exec lifecycle hook (${JSON.stringify(h.exec.command)}) for Container in Pod failed - error: command exited with ${r.exitCode}, message: ${JSON.stringify((r.stdout + r.stderr).trim())}`;
      }
      if (h.httpGet) {
        const host = h.httpGet.host || podIP;
        if (!host) return "HTTP lifecycle hook: the pod has no IP";
        const url = `${(h.httpGet.scheme ?? "HTTP").toLowerCase()}://${host}:${h.httpGet.port}${h.httpGet.path ?? "/"}`;
        const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        await res.arrayBuffer();
        return res.status >= 200 && res.status < 400 ? undefined : `HTTP lifecycle hook (${url}) for Container in Pod failed - error: status ${res.status}`;
      }
      if (h.sleep?.seconds) await new Promise((r) => setTimeout(r, Math.min(h.sleep!.seconds * 1000, timeoutMs)));
      return undefined;
    } catch (e) {
      return `lifecycle hook failed: ${(e as Error).message}`;
    }
  }

  /** preStop first (within the grace period), then SIGTERM and, after what is left of it, SIGKILL. */
  private async stopWithPreStop(pod: Pod, name: string, id: string, podIP: string | undefined, graceSeconds: number): Promise<void> {
    const spec = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === name);
    const preStop = spec ? lifecycleOf(spec).preStop : undefined;
    let left = graceSeconds;
    if (preStop && graceSeconds > 0) {
      const started = Date.now();
      const err = await this.runHook(preStop, id, podIP, graceSeconds * 1000);
      if (err) this.event(pod, "Warning", "FailedPreStopHook", err);
      left = Math.max(0, graceSeconds - Math.ceil((Date.now() - started) / 1000));
    }
    await this.d.runtime.StopContainer(id, left);
  }

  private async killPod(pod: Pod, snap: PodSnapshot, graceSeconds: number): Promise<void> {
    const uid = pod.metadata.uid ?? "";
    await Promise.all(
      snap.containers
        .filter((c) => c.state === "running" || c.state === "created")
        .map(async (c) => {
          this.event(pod, "Normal", "Killing", `Stopping container ${c.name}`);
          this.d.probes?.containerStopped(uid, c.name);
          await this.stopWithPreStop(pod, c.name, c.id, snap.sandboxes[0]?.ip, graceSeconds);
        }),
    );
    for (const sb of snap.sandboxes) if (sb.ready) await this.d.runtime.StopPodSandbox(sb.id);
  }

  /** A deleted pod: stop it within its grace period, remove every trace, then confirm the deletion. */
  private async terminate(s: PodState): Promise<void> {
    const pod = s.pod;
    const uid = pod.metadata.uid ?? "";
    const snap = await this.snapshot(uid, s);
    await this.killPod(pod, snap, pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30);
    for (const c of snap.containers) await this.d.runtime.RemoveContainer(c.id).catch(() => undefined);
    for (const sb of snap.sandboxes) await this.d.runtime.RemovePodSandbox(sb.id).catch(() => undefined);
    await this.d.volumes?.tearDown(uid).catch((e) => this.d.log(`pod ${uid}: volume teardown: ${(e as Error).message}`));
    if (this.d.cgroups) await this.d.cgroups.remove(podCgroupPath(uid, getPodQOS(pod), this.d.cgroupNaming)).catch(() => undefined);
    this.d.probes?.forgetPod(uid);
    this.backoff.forgetPrefix(`${uid}/`);
    await rm(join(this.d.podLogDir, `${pod.metadata.namespace}_${pod.metadata.name}_${uid}`), { recursive: true, force: true });
    if (!s.done) {
      // Everything is stopped: the kubelet confirms, and the API server removes the pod.
      await this.d.client
        .resource(PODS)
        .delete(pod.metadata.name ?? "", { namespace: pod.metadata.namespace, gracePeriodSeconds: 0, preconditions: { uid } })
        .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
    }
    if (s.timer) clearTimeout(s.timer);
    this.pods.delete(uid);
  }

  private async writeStatus(s: PodState, snap: PodSnapshot): Promise<void> {
    const pod = s.pod;
    const uid = pod.metadata.uid ?? "";
    const latest = latestAttempts(snap);
    const ready = new Set<string>();
    const started = new Set<string>();
    for (const c of [...pod.spec.containers]) {
      if (latest.get(c.name)?.state !== "running") continue;
      if (this.d.probes ? this.d.probes.started(uid, c.name) : true) started.add(c.name);
      if (this.d.probes ? this.d.probes.ready(uid, c.name) : true) ready.add(c.name);
    }
    // A waiting reason only describes a container that is not running.
    for (const [name] of s.waiting) if (latest.get(name)?.state === "running") s.waiting.delete(name);
    const status = podStatus(pod, { snapshot: snap, ready, started, waiting: s.waiting, hostIP: this.d.hostIP, startTime: s.firstSeen, now: new Date(), initFailed: s.initFailed });
    const text = JSON.stringify({ ...status, conditions: status.conditions?.map(({ lastTransitionTime: _t, ...c }) => c) });
    if (text === s.lastStatus) return;
    const written = await this.d.client.resource<Pod>(PODS).patch(pod.metadata.name ?? "", { status }, "merge", { namespace: pod.metadata.namespace, subresource: "status" });
    s.lastStatus = text;
    s.pod = { ...s.pod, status: written.status };
  }

  private event(pod: Pod, type: "Normal" | "Warning", reason: string, message: string): void {
    this.d.recorder.eventf(pod, type, reason, message);
  }
}

/** Whether two versions of a pod differ in status only (resourceVersion and managedFields aside). */
function sameExceptStatus(a: Pod, b: Pod): boolean {
  const meta = (p: Pod) => ({ ...p.metadata, resourceVersion: undefined, managedFields: undefined });
  return JSON.stringify(a.spec) === JSON.stringify(b.spec) && JSON.stringify(meta(a)) === JSON.stringify(meta(b));
}

interface LifecycleHandler {
  exec?: { command?: string[] };
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: string };
  sleep?: { seconds: number };
}

const lifecycleOf = (c: ContainerSpec): { postStart?: LifecycleHandler; preStop?: LifecycleHandler } =>
  ((c as { lifecycle?: unknown }).lifecycle ?? {}) as { postStart?: LifecycleHandler; preStop?: LifecycleHandler };

/** A pod-spec or image-config problem: the container waits with CreateContainerConfigError. */
export class ConfigError extends Error {}

/** The uid an image's `User` names when it is numeric ("1000" or "1000:1000"); undefined otherwise. */
function uidOfImageUser(user: string | undefined): number | undefined {
  if (!user) return undefined;
  const u = user.split(":")[0]!;
  return /^\d+$/.test(u) ? Number(u) : undefined;
}


