// Book 9.3-9.4: the kubelet is only a supervisor: `corekube kubelet` killed with SIGKILL leaves its pods
// running under their shims, and the restarted kubelet adopts them with the same status and logs.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Node, Pod } from "@corekube/api";
import { NODES, PODS } from "@corekube/client";
import { LinuxRuntime } from "@corekube/kubelet/runtime/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/kv-process.js";
import { eventually } from "../support/eventually.js";
import { exited, stopProcess } from "../support/ports.js";
import { type Cluster, condition, containerStatus, isRoot, podOn, prepareNode, startCluster, type TestNode } from "./support.js";

let cluster: Cluster;
let node: TestNode;
let kubelet: ChildProcess | undefined;
let logPath: string;

/** `corekube kubelet` as its own process, its output appended to one log file. */
function startKubeletProcess(): ChildProcess {
  const fd = openSync(logPath, "a");
  const p = spawn(process.execPath, ["--import", "tsx", CLI, "kubelet", ...node.cliArgs()], { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  return p;
}

const nodeReady = async () =>
  eventually("the Node Ready", async () => {
    const n = await cluster.client.resource<Node>(NODES).get(node.name);
    return n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? n : undefined;
  }, 60_000).catch((e) => {
    throw new Error(`${(e as Error).message}\nkubelet log:\n${readFileSync(logPath, "utf8").slice(-4000)}`);
  });

beforeAll(async () => {
  if (!isRoot) return;
  cluster = await startCluster();
  node = await prepareNode(cluster, { prefix: "rs" });
  logPath = join(cluster.work, "kubelet.log");
}, 180_000);

afterAll(async () => {
  if (kubelet) await stopProcess(kubelet);
  await node?.cleanup();
  await cluster?.stop();
}, 120_000);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!isRoot)("a kubelet restarted after SIGKILL", () => {
  it("rejects a bad --cni-bridge before touching the host", async () => {
    const p = spawn(process.execPath, ["--import", "tsx", CLI, "kubelet", ...node.cliArgs(), "--cni-bridge", "this-name-is-far-too-long"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    p.stderr!.on("data", (b: Buffer) => (err += b.toString()));
    await exited(p);
    expect(p.exitCode).not.toBe(0);
    expect(err).toContain("--cni-bridge must be at most 15 characters");
  }, 30_000);

  it("keeps the container running while the kubelet is down and adopts it after", async () => {
    kubelet = startKubeletProcess();
    await nodeReady();
    await cluster.client.resource<Pod>(PODS).create(
      podOn(node, "steady", { containers: [{ name: "app", image: "busybox:1.35", command: ["sh", "-c", "echo up; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done"] }] }),
      { namespace: "default" },
    );
    const before = await eventually("steady Running and Ready", async () => {
      const p = await node.pod("steady");
      return p.status?.phase === "Running" && condition(p, "Ready") === "True" ? p : undefined;
    }, 60_000);
    const cs = containerStatus(before, "app")!;
    const containerId = cs.containerID!.replace(/^[a-z]+:\/\//, "");
    // The runtime's own records say which process is the container.
    const runtime = new LinuxRuntime({ stateDir: node.runtimeDir });
    const pid = (await runtime.ContainerStatus(containerId)).pid!;
    expect(pid).toBeGreaterThan(1);
    expect(alive(pid)).toBe(true);

    // SIGKILL: the kubelet cleans nothing up.
    kubelet.kill("SIGKILL");
    await exited(kubelet);
    expect(kubelet.signalCode).toBe("SIGKILL");
    const ticks = (await runtime.ContainerStatus(containerId)).logPath!;
    const linesWhileDown = readFileSync(ticks, "utf8").split("\n").length;
    await eventually("the container to keep logging with no kubelet", async () => readFileSync(ticks, "utf8").split("\n").length > linesWhileDown + 1, 10_000);
    expect(alive(pid)).toBe(true);
    expect((await runtime.ContainerStatus(containerId)).state).toBe("CONTAINER_RUNNING");

    // A new kubelet process adopts the pod: same container, same restart count, still Ready.
    kubelet = startKubeletProcess();
    await eventually("the new kubelet's HTTPS API", async () => (await cluster.k.run(["logs", "steady", "--tail=1"])).code === 0, 60_000);
    const after = await eventually("a status from the new kubelet", async () => {
      const p = await node.pod("steady");
      const c = containerStatus(p, "app");
      // The restarted kubelet writes its own status once; wait until it says the same as before.
      return c && c.containerID === cs.containerID && condition(p, "Ready") === "True" ? p : undefined;
    }, 30_000);
    // Give the new kubelet a few syncs, then look again: nothing restarted, nothing duplicated.
    await new Promise((r) => setTimeout(r, 3_000));
    const settled = await node.pod("steady");
    for (const p of [after, settled]) {
      expect(p.status?.phase).toBe("Running");
      expect(condition(p, "Ready")).toBe("True");
      const c = containerStatus(p, "app")!;
      expect(c.containerID).toBe(cs.containerID);
      expect(c.restartCount).toBe(cs.restartCount);
      expect(c.state.running?.startedAt).toBe(cs.state.running?.startedAt);
    }
    expect(alive(pid)).toBe(true);
    expect((await runtime.ListContainers()).map((c) => c.id)).toEqual([containerId]);
    expect(await runtime.ListPodSandbox()).toHaveLength(1);
    const logs = await cluster.k.ok(["logs", "steady"]);
    expect(logs.startsWith("up\ntick 1\n")).toBe(true);
    expect(Number(/tick (\d+)\n$/.exec(logs)?.[1])).toBeGreaterThan(linesWhileDown);
    expect((await cluster.k.ok(["exec", "steady", "--", "cat", "/etc/hostname"])).trim()).toBe("steady");

    // Deleting the pod now goes through the new kubelet.
    const uid = settled.metadata.uid!;
    await cluster.k.ok(["delete", "pod", "steady", "--grace-period=1", "--timeout=30s"], { timeoutMs: 40_000 });
    await expect(node.pod("steady")).rejects.toMatchObject({ status: { code: 404 } });
    expect(alive(pid)).toBe(false);
    expect(await runtime.ListPodSandbox()).toEqual([]);
    expect(readFileSync("/proc/self/mountinfo", "utf8").includes(uid)).toBe(false);
    expect(existsSync(join(node.podLogDir, `default_steady_${uid}`))).toBe(false);
  }, 150_000);
});
