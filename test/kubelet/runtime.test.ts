// Book 3.3-3.4, 4.1, 9.3-9.4: the Linux-tools container runtime driven through its CRI verbs as root:
// busybox containers in a catatonit pod sandbox, their logs, users, capabilities, mounts, stop and re-adoption.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildBusyboxRootfs,
  capabilityMask,
  type ContainerConfig,
  type ContainerStatus,
  DEFAULT_CAPABILITIES,
  LinuxRuntime,
  logMessages,
  NotFoundError,
  parseCriLog,
} from "../../packages/kubelet/src/runtime/index.js";

const isRoot = process.getuid?.() === 0;
const base = mkdtempSync("/tmp/ck-rt-test-");
const stateDir = join(base, "state");
const logDir = join(base, "logs");
let layer: string;
let rt: LinuxRuntime;
let sandboxId: string;
const recordedPids: number[] = [];

function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(dir));
}

function config(name: string, script: string, extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return { metadata: { name }, image: { layers: [layer] }, command: ["/bin/sh", "-c", script], logPath: `${name}.log`, ...extra };
}

async function runToExit(name: string, script: string, extra: Partial<ContainerConfig> = {}): Promise<{ status: ContainerStatus; out: string[]; err: string[] }> {
  const id = await rt.CreateContainer(sandboxId, config(name, script, extra));
  await rt.StartContainer(id);
  const status = await rt.waitContainer(id, 30_000);
  if (!status) throw new Error(`${name} did not exit`);
  const lines = parseCriLog(readFileSync(join(logDir, `${name}.log`), "utf8"));
  await rt.RemoveContainer(id);
  return { status, out: logMessages(lines, "stdout"), err: logMessages(lines, "stderr") };
}

describe.skipIf(!isRoot)("LinuxRuntime (root)", () => {
  beforeAll(async () => {
    layer = buildBusyboxRootfs(join(base, "layer"));
    rt = new LinuxRuntime({ stateDir });
    sandboxId = await rt.RunPodSandbox({
      metadata: { name: "web", namespace: "default", uid: "uid-1" },
      hostname: "web-pod",
      logDirectory: logDir,
      labels: { app: "web" },
    });
    const s = await rt.PodSandboxStatus(sandboxId);
    if (s.pausePid) recordedPids.push(s.pausePid);
    // What the CNI loopback plugin would do after RunPodSandbox: bring lo up in the pod's netns.
    execFileSync("nsenter", [`--net=${s.network.netnsPath}`, "/bin/busybox", "ip", "link", "set", "lo", "up"]);
  });

  afterAll(async () => {
    // Remove everything even after failures, then check that nothing of ours is left.
    const fresh = new LinuxRuntime({ stateDir });
    for (const s of await fresh.ListPodSandbox().catch(() => [])) await fresh.RemovePodSandbox(s.id).catch(() => {});
    for (const c of await fresh.ListContainers().catch(() => [])) await fresh.RemoveContainer(c.id).catch(() => {});
    for (const m of mountsUnder(base).reverse()) execFileSync("umount", ["-l", m]);
    rmSync(base, { recursive: true, force: true });
  });

  it("runs a pod sandbox whose pause process holds the namespaces and a netns file for CNI", async () => {
    const s = await rt.PodSandboxStatus(sandboxId);
    expect(s.state).toBe("SANDBOX_READY");
    expect(s.hostname).toBe("web-pod");
    expect(readFileSync(`/proc/${s.pausePid}/comm`, "utf8").trim()).toBe("catatonit");
    expect(s.network.netnsPath).toBeDefined();
    expect(mountsUnder(join(stateDir, "sandboxes", sandboxId, "ns"))).toContain(s.network.netnsPath);
    // the pause's network namespace is a new one, and it is what the file holds
    expect(readlinkSync(`/proc/${s.pausePid}/ns/net`)).not.toBe(readlinkSync("/proc/self/ns/net"));
    expect((await rt.ListPodSandbox({ labelSelector: { app: "web" } })).map((p) => p.id)).toEqual([sandboxId]);
  });

  it("rotates a chatty container's log by size, keeping at most maxFiles files", async () => {
    const small = new LinuxRuntime({ stateDir, logRotation: { maxBytes: 8192, maxFiles: 3 } });
    const id = await small.CreateContainer(sandboxId, config("chatty", "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done"));
    await small.StartContainer(id);
    expect((await small.waitContainer(id, 30_000))?.exitCode).toBe(0);
    const files = readdirSync(logDir).filter((f) => f.startsWith("chatty.log"));
    // ~80 KB of CRI lines through 8 KiB files: rotated many times, 3 files left (one of them gzipped)
    expect(files).toHaveLength(3);
    expect(files.filter((f) => f.endsWith(".gz"))).toHaveLength(1);
    const current = logMessages(parseCriLog(readFileSync(join(logDir, "chatty.log"), "utf8")), "stdout");
    expect(current.at(-1)).toBe("line-1999");
    await small.RemoveContainer(id);
    for (const f of files) rmSync(join(logDir, f), { force: true });
  });

  it("runs a container as root with containerd's default capabilities in the busybox root, logging in CRI format", async () => {
    const { status, out } = await runToExit("hello", "echo hello; id; cat /etc/hostname; grep CapBnd /proc/self/status; ls -a /");
    expect(status.state).toBe("CONTAINER_EXITED");
    expect(status.exitCode).toBe(0);
    expect(status.reason).toBe("Completed");
    expect(out[0]).toBe("hello");
    expect(out[1]).toMatch(/^uid=0\(root\) gid=0\(root\)/);
    expect(out[2]).toBe("web-pod");
    expect(out[3]).toBe(`CapBnd:\t${capabilityMask(DEFAULT_CAPABILITIES).toString(16).padStart(16, "0")}`);
    const root = out.slice(4);
    expect(root).toEqual(expect.arrayContaining(["bin", "etc", "proc", "dev", "sys"]));
    expect(root).not.toContain(".ck-oldroot");
    expect(root).not.toContain("usr"); // the host's /usr is not there: this is the busybox image
    const raw = readFileSync(join(logDir, "hello.log"), "utf8").split("\n")[0] as string;
    expect(raw).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F hello$/);
  });

  it("runs as a non-root user with no effective capabilities", async () => {
    const { status, out } = await runToExit("user", "id -u; id -g; grep CapEff /proc/self/status", {
      linux: { securityContext: { runAsUser: 1000 } },
    });
    expect(status.exitCode).toBe(0);
    expect(out).toEqual(["1000", "1000", "CapEff:\t0000000000000000"]);
  });

  it("makes the root filesystem read-only when asked", async () => {
    const { status, err } = await runToExit("ro", "touch /x", { linux: { securityContext: { readonlyRootfs: true } } });
    expect(status.exitCode).not.toBe(0);
    expect(status.reason).toBe("Error");
    expect(err.join("\n")).toMatch(/Read-only file system/);
  });

  it("bind-mounts volumes read-only and read-write", async () => {
    const vol = join(base, "vol");
    mkdirSync(vol, { recursive: true });
    writeFileSync(join(vol, "in.txt"), "from the host\n");
    const { status, out, err } = await runToExit(
      "vols",
      "cat /data-ro/in.txt; if touch /data-ro/nope 2>/dev/null; then echo ro-writable; fi; echo from-container > /data-rw/out.txt; echo done",
      {
        mounts: [
          { hostPath: vol, containerPath: "/data-ro", readonly: true },
          { hostPath: vol, containerPath: "/data-rw" },
        ],
      },
    );
    expect(err).toEqual([]);
    expect(status.exitCode).toBe(0);
    expect(out).toEqual(["from the host", "done"]);
    expect(readFileSync(join(vol, "out.txt"), "utf8")).toBe("from-container\n");
    expect(existsSync(join(vol, "nope"))).toBe(false);
  });

  it("puts two containers of one pod in the same network namespace", async () => {
    const server = await rt.CreateContainer(sandboxId, config("server", "readlink /proc/self/ns/net; nc -l -p 7777"));
    await rt.StartContainer(server);
    const { status, out } = await runToExit(
      "client",
      "readlink /proc/self/ns/net; for i in $(seq 100); do if echo ping-over-lo | nc 127.0.0.1 7777; then exit 0; fi; sleep 0.1; done; exit 1",
    );
    expect(status.exitCode).toBe(0);
    const serverStatus = await rt.waitContainer(server, 20_000);
    expect(serverStatus?.exitCode).toBe(0);
    const serverOut = logMessages(parseCriLog(readFileSync(join(logDir, "server.log"), "utf8")), "stdout");
    expect(serverOut[1]).toBe("ping-over-lo");
    expect(serverOut[0]).toBe(out[0]);
    expect(out[0]).not.toBe(readlinkSync("/proc/self/ns/net"));
    await rt.RemoveContainer(server);
  });

  it("falls back to SIGKILL when PID 1 ignores SIGTERM, and records the exit", async () => {
    const id = await rt.CreateContainer(sandboxId, config("stubborn", 'trap "" TERM; echo up; sleep 1000 & wait'));
    await rt.StartContainer(id);
    const running = await rt.ContainerStatus(id);
    expect(running.state).toBe("CONTAINER_RUNNING");
    expect(running.pid).toBeGreaterThan(0);
    recordedPids.push(running.pid as number);
    await rt.StopContainer(id, 1);
    const stopped = await rt.ContainerStatus(id);
    expect(stopped.state).toBe("CONTAINER_EXITED");
    expect(stopped.exitCode).toBe(137);
    expect(existsSync(`/proc/${running.pid}`)).toBe(false);
    await rt.RemoveContainer(id);
    expect(existsSync(join(stateDir, "containers", id))).toBe(false);
  });

  it("re-adopts a running container from the state directory after a runtime restart", async () => {
    const id = await rt.CreateContainer(
      sandboxId,
      config("long", "sleep 1000", { linux: { securityContext: { namespaceOptions: { pid: "POD" } } } }),
    );
    await rt.StartContainer(id);
    const before = await rt.ContainerStatus(id);
    recordedPids.push(before.pid as number);
    const restarted = new LinuxRuntime({ stateDir });
    const listed = await restarted.ListContainers({ podSandboxId: sandboxId, state: "CONTAINER_RUNNING" });
    expect(listed.map((c) => c.id)).toEqual([id]);
    const after = await restarted.ContainerStatus(id);
    expect(after.pid).toBe(before.pid);
    expect((await restarted.PodSandboxStatus(sandboxId)).state).toBe("SANDBOX_READY");
    // In the pod's pid namespace the container is not PID 1, so SIGTERM ends it.
    await restarted.StopContainer(id, 10);
    const stopped = await restarted.ContainerStatus(id);
    expect(stopped.state).toBe("CONTAINER_EXITED");
    expect(stopped.exitCode).toBe(143);
    await restarted.RemoveContainer(id);
  });

  it("reports setup failures from StartContainer and rejects bad configs clearly", async () => {
    const file = join(base, "a-file");
    writeFileSync(file, "x");
    // a file cannot be bind-mounted over a directory of the image
    const id = await rt.CreateContainer(sandboxId, config("bad-mount", "true", { mounts: [{ hostPath: file, containerPath: "/etc" }] }));
    await expect(rt.StartContainer(id)).rejects.toThrow(/setup failed/);
    const s = await rt.waitContainer(id, 10_000);
    expect(s?.state).toBe("CONTAINER_EXITED");
    expect(s?.reason).toBe("StartError");
    await rt.RemoveContainer(id);

    await expect(rt.CreateContainer(sandboxId, { metadata: { name: "x" }, image: { layers: [layer] } })).rejects.toThrow(/no command/);
    await expect(rt.CreateContainer(sandboxId, config("x", "true", { image: { layers: [join(base, "missing")] } }))).rejects.toThrow(/not a directory/);
    await expect(rt.ContainerStatus("0".repeat(32))).rejects.toBeInstanceOf(NotFoundError);
    await expect(rt.PodSandboxStatus("nope")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("honours the oomKilled hint written by the kubelet", async () => {
    const id = await rt.CreateContainer(sandboxId, config("oom", "exit 137"));
    writeFileSync(join(stateDir, "containers", id, "oomKilled"), "");
    await rt.StartContainer(id);
    const s = await rt.waitContainer(id);
    expect(s?.reason).toBe("OOMKilled");
    await rt.RemoveContainer(id);
  });

  it.skipIf(!existsSync("/sys/fs/cgroup/pids"))("places the container in its cgroup before its command runs", async () => {
    const own = (readFileSync("/proc/self/cgroup", "utf8").match(/^\d+:pids:(.*)$/m)?.[1] ?? "/").replace(/\/$/, "");
    const cg = `${own}/ck-rt-test-${process.pid}`;
    mkdirSync(`/sys/fs/cgroup/pids${cg}`);
    try {
      const seen: string[] = [];
      const { status, out } = await runToExit("cgroup", "grep :pids: /proc/self/cgroup", {
        linux: {
          cgroupParent: cg,
          placeInCgroup: async (pid) => {
            // /proc/<pid>/cmdline reads empty for an instant while the forked child is inside execve
            // (busybox unshare becoming busybox sh); the process then waits on fd 3, so wait it out.
            let cmdline = "";
            for (let i = 0; i < 100 && cmdline === ""; i++) {
              cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
              if (cmdline === "") await new Promise((r) => setTimeout(r, 10));
            }
            seen.push(cmdline.split("\0").join(" "));
            writeFileSync(`/sys/fs/cgroup/pids${cg}/cgroup.procs`, String(pid));
          },
        },
      });
      expect(status.exitCode).toBe(0);
      expect(out).toEqual([expect.stringMatching(new RegExp(`:pids:${cg}$`))]);
      expect(seen).toHaveLength(1);
      // when placed, the process is still our launcher (busybox unshare/sh), blocked until placed
      expect(seen[0]).toMatch(new RegExp(`^${join(stateDir, "helper", "busybox").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} (unshare|sh) `));
    } finally {
      execFileSync("rmdir", [`/sys/fs/cgroup/pids${cg}`]);
    }
  });

  it("runs a hostNetwork sandbox in the node's network and UTS namespaces", async () => {
    const host = await rt.RunPodSandbox({
      metadata: { name: "hostnet", namespace: "kube-system", uid: "uid-2" },
      logDirectory: logDir,
      linux: { securityContext: { namespaceOptions: { network: "NODE" } } },
    });
    try {
      const s = await rt.PodSandboxStatus(host);
      expect(s.network.netnsPath).toBeUndefined();
      const id = await rt.CreateContainer(host, config("hostnet", "readlink /proc/self/ns/net; hostname"));
      await rt.StartContainer(id);
      await rt.waitContainer(id);
      const out = logMessages(parseCriLog(readFileSync(join(logDir, "hostnet.log"), "utf8")), "stdout");
      expect(out).toEqual([readlinkSync("/proc/self/ns/net"), execFileSync("hostname", { encoding: "utf8" }).trim()]);
    } finally {
      await rt.RemovePodSandbox(host);
    }
  });

  it("stops and removes the sandbox, leaving no process, mount or state behind", async () => {
    const s = await rt.PodSandboxStatus(sandboxId);
    const shim = JSON.parse(readFileSync(join(stateDir, "sandboxes", sandboxId, "sandbox.json"), "utf8")).shim.pid as number;
    await rt.StopPodSandbox(sandboxId);
    expect((await rt.PodSandboxStatus(sandboxId)).state).toBe("SANDBOX_NOTREADY");
    await rt.StopPodSandbox(sandboxId); // idempotent
    await rt.RemovePodSandbox(sandboxId);
    await rt.RemovePodSandbox(sandboxId); // idempotent
    expect(await rt.ListPodSandbox()).toEqual([]);
    expect(readdirSync(join(stateDir, "sandboxes"))).toEqual([]);
    expect(readdirSync(join(stateDir, "containers"))).toEqual([]);
    expect(mountsUnder(base)).toEqual([]);
    for (const pid of [...recordedPids, s.pausePid as number, shim]) expect(existsSync(`/proc/${pid}`)).toBe(false);
  });
});
