// Book 3.3-3.4, 4.2-4.5, 5.4, 9.3-9.5: pods on a real kubelet, as root: containers sharing localhost,
// an OOM kill, QoS cgroups with CPU and memory limits, liveness and readiness probes, the reference CNI
// plugins, pulls from a real registry, and 50 create/delete cycles that leave nothing behind.
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Pod } from "@corekube/api";
import { CONFIGMAPS, EVENTS, PODS, SERVICES } from "@corekube/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.js";
import { freePort, stopProcess } from "../support/ports.js";
import { type Cluster, condition, containerStatus, isRoot, podOn, prepareNode, startCluster, type TestNode } from "./support.js";

const execFileP = promisify(execFile);
const IMAGE = "busybox:1.35";
let cluster: Cluster;
let node: TestNode;

beforeAll(async () => {
  if (!isRoot) return;
  cluster = await startCluster();
  node = await prepareNode(cluster, { prefix: "pd" });
  await node.start();
}, 180_000);

afterAll(async () => {
  await node?.cleanup();
  await cluster?.stop();
}, 120_000);

const pods = () => cluster.client.resource<Pod>(PODS);
const create = (p: Pod) => pods().create(p, { namespace: "default" });
const remove = async (name: string) => {
  await pods().delete(name, { namespace: "default", gracePeriodSeconds: 1 }).catch(() => undefined);
  await eventually(`pod ${name} to go`, async () => (await node.pod(name).then(() => false, (e) => (e as { status?: { code?: number } }).status?.code === 404)), 30_000);
};
const running = async (n: TestNode, name: string, ms = 60_000) => {
  let last: Pod | undefined;
  return eventually(`${name} Running`, async () => {
    const p = await n.pod(name);
    last = p;
    return p.status?.phase === "Running" && p.status.podIP ? p : undefined;
  }, ms).catch(async (e) => {
    const events = (await eventsOf(name).catch(() => [])).map((ev) => `${ev.reason}: ${ev.message}`);
    throw new Error(`${(e as Error).message}\nstatus: ${JSON.stringify(last?.status)}\nevents:\n${events.join("\n")}\nkubelet:\n${n.logs.slice(-30).join("\n")}`);
  });
};
const eventsOf = async (name: string) => {
  const list = await cluster.client.resource<{ metadata: { name?: string }; involvedObject: { name?: string }; reason?: string; message?: string }>(EVENTS).list({ namespace: "default" });
  return list.items.filter((e) => e.involvedObject.name === name);
};
/** Every directory under /sys/fs/cgroup/<controller>/<kubepods> (all controllers), as paths. */
const cgroupDirs = (kubepods: string): string[] => {
  const out: string[] = [];
  const walk = (dir: string) => {
    out.push(dir);
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
  };
  for (const ctrl of readdirSync("/sys/fs/cgroup")) {
    const top = join("/sys/fs/cgroup", ctrl, kubepods);
    if (existsSync(top)) walk(top);
  }
  return out;
};
const cg = (ctrl: string, ...parts: string[]) => readFileSync(join("/sys/fs/cgroup", ctrl, ...parts), "utf8").trim();
const cgroupV1 = existsSync("/sys/fs/cgroup/cpu/cpu.shares");

describe.skipIf(!isRoot)("pods on a real kubelet", () => {
  it("lets two containers of one pod talk over localhost", async () => {
    await create(
      podOn(node, "duo", {
        containers: [
          { name: "server", image: IMAGE, command: ["sh", "-c", "mkdir -p /www && echo hello-over-localhost > /www/msg && exec busybox httpd -f -p 8080 -h /www"] },
          { name: "client", image: IMAGE, command: ["sh", "-c", "until wget -qO- http://127.0.0.1:8080/msg; do sleep 0.2; done; exec sleep 600"] },
        ],
      }),
    );
    await running(node, "duo");
    const logs = await eventually("the client's log", async () => {
      const out = await cluster.k.ok(["logs", "duo", "-c", "client"]);
      return out.includes("hello-over-localhost") ? out : undefined;
    }, 30_000);
    expect(logs.trim().split("\n").at(-1)).toBe("hello-over-localhost");
    // Only the pod shares the port: the host does not see it on its own loopback.
    const hostTry = await fetch("http://127.0.0.1:8080/msg", { signal: AbortSignal.timeout(2_000) }).then((r) => r.text()).catch(() => "");
    expect(hostTry).not.toContain("hello-over-localhost");
    await remove("duo");
  }, 90_000);

  it("gives containers the Services' variables and envFrom's keys", async () => {
    const svc = (await cluster.client.resource(SERVICES).create(
      { apiVersion: "v1", kind: "Service", metadata: { name: "env-web" }, spec: { selector: { app: "nothing" }, ports: [{ name: "http", port: 8080, protocol: "TCP" }] } },
      { namespace: "default" },
    )) as unknown as { spec: { clusterIP: string } };
    await cluster.client.resource(CONFIGMAPS).create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "env-cfg" }, data: { mode: "fast", "1st": "x" } }, { namespace: "default" });
    try {
      await create(
        podOn(node, "envs", {
          restartPolicy: "Never",
          containers: [{ name: "c", image: IMAGE, envFrom: [{ prefix: "CFG_", configMapRef: { name: "env-cfg" } }, { configMapRef: { name: "env-cfg" } }], env: [{ name: "URL", value: "http://$(ENV_WEB_SERVICE_HOST):$(ENV_WEB_SERVICE_PORT_HTTP)" }], command: ["sh", "-c", "env | sort"] }],
        }),
      );
      const out = await eventually("the envs pod's output", async () => {
        const text = await cluster.k.ok(["logs", "envs"]).catch(() => "");
        return text.includes("URL=") ? text : undefined;
      }, 60_000);
      expect(out).toContain(`ENV_WEB_SERVICE_HOST=${svc.spec.clusterIP}\n`);
      expect(out).toContain("ENV_WEB_SERVICE_PORT=8080\n");
      expect(out).toContain(`ENV_WEB_PORT_8080_TCP=tcp://${svc.spec.clusterIP}:8080\n`);
      expect(out).toMatch(/^KUBERNETES_SERVICE_HOST=/m);
      expect(out).toContain(`URL=http://${svc.spec.clusterIP}:8080\n`);
      expect(out).toContain("CFG_mode=fast\n");
      expect(out).toContain("CFG_1st=x\n");
      expect(out).toContain("mode=fast\n");
      const events = await eventsOf("envs");
      expect(events.some((e) => e.reason === "InvalidEnvironmentVariableNames" && e.message?.includes("[1st]"))).toBe(true);
      await remove("envs");
    } finally {
      await cluster.client.resource(SERVICES).delete("env-web", { namespace: "default" }).catch(() => undefined);
      await cluster.client.resource(CONFIGMAPS).delete("env-cfg", { namespace: "default" }).catch(() => undefined);
    }
  }, 90_000);

  it("runs kubectl exec as the container's user, with its capabilities and environment", async () => {
    await create(
      podOn(node, "asuser", {
        securityContext: { runAsUser: 1000, runAsGroup: 3000 },
        containers: [{ name: "c", image: IMAGE, env: [{ name: "GREETING", value: "hi from the spec" }], securityContext: { capabilities: { drop: ["ALL"] } }, command: ["sleep", "3600"] }],
      }),
    );
    await running(node, "asuser");
    expect((await cluster.k.ok(["exec", "asuser", "--", "id", "-u"])).trim()).toBe("1000");
    expect((await cluster.k.ok(["exec", "asuser", "--", "id", "-g"])).trim()).toBe("3000");
    expect((await cluster.k.ok(["exec", "asuser", "--", "sh", "-c", "echo $GREETING"])).trim()).toBe("hi from the spec");
    // the same bounding set as the container's own process (all dropped)
    const caps = await cluster.k.ok(["exec", "asuser", "--", "sh", "-c", "grep CapBnd /proc/self/status; grep CapBnd /proc/1/status"]);
    const [mine, pid1] = caps.trim().split("\n");
    expect(mine).toBe(pid1);
    expect(mine).toMatch(/CapBnd:\s+0000000000000000/);
    await remove("asuser");
  }, 90_000);

  it("gives a pod's volumes and processes its fsGroup", async () => {
    await create(
      podOn(node, "fsgroup", {
        restartPolicy: "Never",
        securityContext: { runAsUser: 1000, fsGroup: 2000 },
        volumes: [{ name: "data", emptyDir: {} }, { name: "cfg", downwardAPI: { items: [{ path: "name", fieldRef: { fieldPath: "metadata.name" } }] } }],
        containers: [
          {
            name: "c",
            image: IMAGE,
            volumeMounts: [{ name: "data", mountPath: "/data" }, { name: "cfg", mountPath: "/cfg" }],
            command: ["sh", "-c", "echo groups=$(id -G); echo dir=$(stat -c %g /data); touch /data/f && echo file=$(stat -c %g /data/f); echo cfg=$(stat -L -c %g /cfg/name)"],
          },
        ],
      }),
    );
    const out = await eventually("the fsgroup pod's output", async () => {
      const text = await cluster.k.ok(["logs", "fsgroup"]).catch(() => "");
      return text.includes("cfg=") ? text : undefined;
    }, 60_000);
    expect(out).toMatch(/groups=.*\b2000\b/);
    expect(out).toContain("dir=2000");
    // the setgid directory hands its group to what the (non-root) process creates
    expect(out).toContain("file=2000");
    expect(out).toContain("cfg=2000");
    await remove("fsgroup");
  }, 90_000);

  it("reports a container over its memory limit as OOMKilled", async () => {
    await create(
      podOn(node, "hog", {
        restartPolicy: "Never",
        containers: [{ name: "hog", image: IMAGE, resources: { limits: { memory: "16Mi" } }, command: ["sh", "-c", "echo allocating; x=$(head -c 100m /dev/zero | tr '\\0' a); echo survived ${#x}"] }],
      }),
    );
    const p = await eventually("the hog to finish", async () => {
      const cur = await node.pod("hog");
      return containerStatus(cur, "hog")?.state.terminated ? cur : undefined;
    }, 60_000);
    const cs = containerStatus(p, "hog")!;
    expect(cs.state.terminated).toMatchObject({ reason: "OOMKilled", exitCode: 137 });
    expect(p.status?.phase).toBe("Failed");
    expect(await cluster.k.ok(["logs", "hog"])).toBe("allocating\n");
    await remove("hog");
  }, 90_000);

  it.skipIf(!cgroupV1)("puts each QoS class under its kubepods cgroup with CPU and memory limits in the files", async () => {
    const sleeper = ["sh", "-c", "exec sleep 600"];
    await create(podOn(node, "guaranteed", { containers: [{ name: "c", image: IMAGE, command: sleeper, resources: { limits: { cpu: "250m", memory: "64Mi" } } }] }));
    await create(podOn(node, "burstable", { containers: [{ name: "c", image: IMAGE, command: sleeper, resources: { requests: { cpu: "100m" }, limits: { cpu: "500m" } } }] }));
    await create(podOn(node, "besteffort", { containers: [{ name: "c", image: IMAGE, command: sleeper }] }));
    const [g, b, be] = await Promise.all([running(node, "guaranteed"), running(node, "burstable"), running(node, "besteffort")]);
    expect(g.status?.qosClass).toBe("Guaranteed");
    expect(b.status?.qosClass).toBe("Burstable");
    expect(be.status?.qosClass).toBe("BestEffort");
    const kp = node.kubepods;
    const gPod = `pod${g.metadata.uid}`;
    // Guaranteed: directly under kubepods; the pod's cgroup and the container's carry the limits.
    for (const dir of [[kp, gPod], [kp, gPod, "c-0"]]) {
      expect(cg("cpu", ...dir, "cpu.cfs_quota_us")).toBe("25000");
      expect(cg("cpu", ...dir, "cpu.cfs_period_us")).toBe("100000");
      expect(cg("cpu", ...dir, "cpu.shares")).toBe("256");
      expect(cg("memory", ...dir, "memory.limit_in_bytes")).toBe(String(64 * 1024 * 1024));
    }
    // The container's process is in its cgroup.
    const [gc] = await node.kl!.runtime.ListContainers({ labelSelector: { "io.kubernetes.pod.uid": g.metadata.uid! } });
    const gPid = (await node.kl!.runtime.ContainerStatus(gc!.id)).pid!;
    expect(cg("cpu", kp, gPod, "c-0", "cgroup.procs").split("\n")).toContain(String(gPid));
    expect(cg("memory", kp, gPod, "c-0", "cgroup.procs").split("\n")).toContain(String(gPid));
    // Burstable and BestEffort have their own parents.
    expect(existsSync(join("/sys/fs/cgroup/cpu", kp, "burstable", `pod${b.metadata.uid}`))).toBe(true);
    expect(cg("cpu", kp, "burstable", `pod${b.metadata.uid}`, "c-0", "cpu.cfs_quota_us")).toBe("50000");
    expect(cg("cpu", kp, "burstable", `pod${b.metadata.uid}`, "c-0", "cpu.shares")).toBe("102");
    expect(existsSync(join("/sys/fs/cgroup/cpu", kp, "besteffort", `pod${be.metadata.uid}`))).toBe(true);
    expect(cg("cpu", kp, "besteffort", `pod${be.metadata.uid}`, "c-0", "cpu.shares")).toBe("2");
    expect(cg("cpu", kp, "besteffort", `pod${be.metadata.uid}`, "c-0", "cpu.cfs_quota_us")).toBe("-1");
    // Not under the wrong class.
    expect(existsSync(join("/sys/fs/cgroup/cpu", kp, "burstable", gPod))).toBe(false);
    expect(existsSync(join("/sys/fs/cgroup/cpu", kp, "besteffort", gPod))).toBe(false);
    await Promise.all(["guaranteed", "burstable", "besteffort"].map(remove));
    const uids = [g, b, be].map((p) => `pod${p.metadata.uid}`);
    expect(cgroupDirs(kp).filter((d) => uids.some((u) => d.includes(u)))).toEqual([]);
  }, 120_000);

  it("restarts a container whose liveness probe fails, with backoff", async () => {
    await create(
      podOn(node, "sick", {
        containers: [
          {
            name: "app",
            image: IMAGE,
            command: ["sh", "-c", "touch /tmp/healthy; sleep 2; rm -f /tmp/healthy; exec sleep 600"],
            livenessProbe: { exec: { command: ["test", "-f", "/tmp/healthy"] }, periodSeconds: 1, failureThreshold: 1 },
          },
        ],
      }),
    );
    const seen = new Set<string>();
    const cs = await eventually("two restarts and a back-off", async () => {
      const c = containerStatus(await node.pod("sick"), "app");
      if (c?.state.waiting?.reason) seen.add(c.state.waiting.reason);
      return c && c.restartCount >= 2 && seen.has("CrashLoopBackOff") ? c : undefined;
    }, 60_000);
    expect(cs.restartCount).toBeGreaterThanOrEqual(2);
    const events = await eventsOf("sick");
    expect(events.some((e) => e.reason === "Unhealthy" && e.message?.startsWith("Liveness probe failed"))).toBe(true);
    expect(events.some((e) => e.reason === "Killing" && e.message === "Container app failed liveness probe, will be restarted")).toBe(true);
    await remove("sick");
  }, 90_000);

  it("turns the pod Ready and not Ready as its readiness probe passes and fails", async () => {
    await create(
      podOn(node, "flip", {
        containers: [
          {
            name: "web",
            image: IMAGE,
            command: ["sh", "-c", "mkdir -p /www && exec busybox httpd -f -p 8080 -h /www"],
            readinessProbe: { httpGet: { path: "/ready", port: 8080 }, periodSeconds: 1, failureThreshold: 1, successThreshold: 1 },
          },
        ],
      }),
    );
    const ready = (want: string) =>
      eventually(`Ready=${want}`, async () => {
        const p = await node.pod("flip");
        return p.status?.phase === "Running" && condition(p, "Ready") === want && condition(p, "ContainersReady") === want ? p : undefined;
      }, 30_000);
    const notYet = await ready("False");
    expect(containerStatus(notYet, "web")!.ready).toBe(false);
    await cluster.k.ok(["exec", "flip", "--", "touch", "/www/ready"]);
    expect(containerStatus(await ready("True"), "web")!.ready).toBe(true);
    await cluster.k.ok(["exec", "flip", "--", "rm", "/www/ready"]);
    await ready("False");
    await cluster.k.ok(["exec", "flip", "--", "touch", "/www/ready"]);
    const again = await ready("True");
    // A readiness failure never restarts the container.
    expect(containerStatus(again, "web")!.restartCount).toBe(0);
    await remove("flip");
  }, 90_000);

  describe("pulls from a registry on loopback", () => {
    let registry: ChildProcess | undefined;
    let regHost: string;

    beforeAll(async () => {
      const dir = join(cluster.work, "registry");
      const port = await freePort();
      regHost = `127.0.0.1:${port}`;
      execFileSync("mkdir", ["-p", dir]);
      const cfg = join(dir, "config.yml");
      writeFileSync(cfg, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, "data")}\nhttp:\n  addr: ${regHost}\n`);
      const logFd = openSync(join(dir, "registry.log"), "a");
      registry = spawn("docker-registry", ["serve", cfg], { stdio: ["ignore", logFd, logFd] });
      closeSync(logFd);
      await eventually("the registry", async () => (await fetch(`http://${regHost}/v2/`).then((r) => r.status === 200).catch(() => false)), 20_000);
      const policy = join(dir, "policy.json");
      writeFileSync(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
      await execFileP("skopeo", ["--policy", policy, "copy", "--dest-tls-verify=false", `oci:${cluster.layout}:latest`, `docker://${regHost}/busybox:pulled`]);
    }, 60_000);

    afterAll(async () => {
      if (registry) await stopProcess(registry);
    });

    it("runs a pod whose image it pulls from the registry", async () => {
      await create(podOn(node, "pulled", { restartPolicy: "Never", containers: [{ name: "c", image: `${regHost}/busybox:pulled`, command: ["sh", "-c", "echo pulled and ran"] }] }));
      const p = await eventually("Succeeded", async () => {
        const cur = await node.pod("pulled");
        return cur.status?.phase === "Succeeded" ? cur : undefined;
      }, 60_000);
      expect(containerStatus(p, "c")!.state.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
      expect(await cluster.k.ok(["logs", "pulled"])).toBe("pulled and ran\n");
      const events = await eventsOf("pulled");
      expect(events.some((e) => e.reason === "Pulled" && e.message?.startsWith(`Successfully pulled image "${regHost}/busybox:pulled"`))).toBe(true);
      await remove("pulled");
    }, 90_000);

    it("shows ErrImagePull, then ImagePullBackOff, for an image the registry does not have", async () => {
      const ref = `${regHost}/busybox:missing`;
      await create(podOn(node, "nopull", { containers: [{ name: "c", image: ref, command: ["sh", "-c", "echo never"] }] }));
      const seen = new Map<string, string>();
      await eventually("ErrImagePull then ImagePullBackOff", async () => {
        const w = containerStatus(await node.pod("nopull"), "c")?.state.waiting;
        if (w && !seen.has(w.reason)) seen.set(w.reason, w.message ?? "");
        return seen.has("ErrImagePull") && seen.has("ImagePullBackOff");
      }, 30_000).catch(async (e) => {
        const events = (await eventsOf("nopull")).map((ev) => `${ev.reason}: ${ev.message}`);
        throw new Error(`${(e as Error).message}\nseen: ${JSON.stringify([...seen])}\nevents:\n${events.join("\n")}`);
      });
      expect([...seen.keys()].filter((r) => r !== "ContainerCreating")).toEqual(["ErrImagePull", "ImagePullBackOff"]);
      expect(seen.get("ErrImagePull")).toMatch(/missing|not found|unknown/i);
      expect(seen.get("ImagePullBackOff")).toBe(`Back-off pulling image "${ref}"`);
      const events = await eventsOf("nopull");
      expect(events.some((e) => e.reason === "Failed" && e.message?.startsWith(`Failed to pull image "${ref}"`))).toBe(true);
      expect((await node.pod("nopull")).status?.phase).toBe("Pending");
      await remove("nopull");
    }, 60_000);
  });

  it("creates and deletes a pod 50 times and leaves nothing behind", async () => {
    const seen: { uid: string; sandboxIds: string[]; pids: { pid: number; start: string }[]; netns: string[]; ip: string }[] = [];
    const startTime = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19]!;
      } catch {
        return undefined;
      }
    };
    const kl = node.kl!;
    for (let batch = 0; batch < 10; batch++) {
      const names = Array.from({ length: 5 }, (_, i) => `cycle-${batch}-${i}`);
      await Promise.all(names.map((n) => create(podOn(node, n, { containers: [{ name: "c", image: IMAGE, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"] }] }))));
      for (const n of names) {
        const p = await running(node, n, 30_000);
        const uid = p.metadata.uid!;
        const sandboxes = await kl.runtime.ListPodSandbox({ labelSelector: { "io.kubernetes.pod.uid": uid } });
        const entry = { uid, sandboxIds: sandboxes.map((s) => s.id), pids: [] as { pid: number; start: string }[], netns: [] as string[], ip: p.status!.podIP! };
        for (const sb of sandboxes) {
          const st = await kl.runtime.PodSandboxStatus(sb.id);
          if (st.pausePid) entry.pids.push({ pid: st.pausePid, start: startTime(st.pausePid)! });
          if (st.network.netnsPath) entry.netns.push(st.network.netnsPath);
        }
        for (const c of await kl.runtime.ListContainers({ labelSelector: { "io.kubernetes.pod.uid": uid } })) {
          const st = await kl.runtime.ContainerStatus(c.id);
          if (st.pid) entry.pids.push({ pid: st.pid, start: startTime(st.pid)! });
        }
        expect(entry.pids.length).toBe(2);
        expect(entry.netns.length).toBe(1);
        seen.push(entry);
      }
      await Promise.all(names.map(remove));
    }
    expect(seen).toHaveLength(50);
    expect(new Set(seen.map((s) => s.uid)).size).toBe(50);

    // Processes: no pause or container process of these pods, and no shim of this node's runtime.
    const alive = seen.flatMap((s) => s.pids).filter((p) => startTime(p.pid) === p.start);
    expect(alive).toEqual([]);
    const shims = () =>
      readdirSync("/proc")
        .filter((d) => /^\d+$/.test(d))
        .map((d) => {
          try {
            return readFileSync(`/proc/${d}/cmdline`, "utf8").replaceAll("\0", " ");
          } catch {
            return "";
          }
        })
        .filter((cmd) => cmd.includes(node.runtimeDir));
    // A shim told to stop may take a moment to exit; one still there after that is a leak.
    await eventually("the shims to exit", async () => shims().length === 0, 10_000).catch(() => undefined);
    expect(shims()).toEqual([]);
    // Mounts, network namespaces, sandboxes.
    const mountinfo = readFileSync("/proc/self/mountinfo", "utf8");
    expect(seen.filter((s) => mountinfo.includes(s.uid) || s.sandboxIds.some((id) => mountinfo.includes(id))).map((s) => s.uid)).toEqual([]);
    expect(mountinfo.includes(node.runtimeDir)).toBe(false);
    expect(seen.flatMap((s) => s.netns).filter((f) => existsSync(f))).toEqual([]);
    expect(await kl.runtime.ListPodSandbox()).toEqual([]);
    expect(await kl.runtime.ListContainers()).toEqual([]);
    // Cgroups: no pod<uid> under any controller's kubepods tree.
    expect(cgroupDirs(node.kubepods).filter((d) => /\/pod[0-9a-f-]{36}/.test(d))).toEqual([]);
    // Network: no veth on the bridge, no IPAM lease.
    expect(execFileSync("ip", ["-o", "link", "show", "master", node.bridge], { encoding: "utf8" }).trim()).toBe("");
    const leases = join(node.rootDir, "cni-networks", node.network);
    expect(existsSync(leases)).toBe(true);
    expect(readdirSync(leases).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))).toEqual([]);
    // Logs.
    expect(readdirSync(node.podLogDir)).toEqual([]);
    expect(kl.workers.list()).toEqual([]);
  }, 150_000);
});

describe.skipIf(!isRoot)("pods with the reference CNI plugins (bridge + host-local)", () => {
  let ref: TestNode;

  beforeAll(async () => {
    ref = await prepareNode(cluster, { cniPlugins: "reference", prefix: "rf" });
    await ref.start();
  }, 60_000);

  afterAll(async () => {
    await ref?.cleanup();
  }, 60_000);

  it("gives a pod an address from host-local that the host reaches, and frees it on deletion", async () => {
    const conf = JSON.parse(readFileSync(join(ref.cniConfDir, "10-corekube.conflist"), "utf8")) as { plugins: { type: string; ipam?: { type: string } }[] };
    expect(conf.plugins.map((p) => p.type)).toEqual(["bridge", "loopback"]);
    expect(conf.plugins[0]!.ipam!.type).toBe("host-local");
    await create(podOn(ref, "refweb", { containers: [{ name: "web", image: IMAGE, command: ["sh", "-c", "exec busybox httpd -f -p 8080 -h /etc"] }] }));
    const p = await running(ref, "refweb");
    const ip = p.status!.podIP!;
    expect(ip.startsWith(ref.podPrefix)).toBe(true);
    // host-local's lease file names the IP.
    const leases = join(ref.rootDir, "cni-networks", ref.network);
    expect(readdirSync(leases)).toContain(ip);
    const page = await eventually("HTTP from the pod", async () => fetch(`http://${ip}:8080/hostname`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.text()).catch(() => undefined), 20_000);
    expect(page.trim()).toBe("refweb");
    expect(execFileSync("ip", ["-o", "link", "show", "master", ref.bridge], { encoding: "utf8" }).trim()).not.toBe("");
    // No masquerade with these plugins, but the egress guard still stands between pods and the world.
    expect(execFileSync("iptables-save", ["-t", "mangle"], { encoding: "utf8" })).toContain(`corekube:${ref.network}`);
    await pods().delete("refweb", { namespace: "default", gracePeriodSeconds: 1 });
    await eventually("refweb to go", async () => (await ref.pod("refweb").then(() => false, () => true)), 30_000);
    expect(readdirSync(leases)).not.toContain(ip);
    expect(execFileSync("ip", ["-o", "link", "show", "master", ref.bridge], { encoding: "utf8" }).trim()).toBe("");
  }, 90_000);
});
