// Book 9.1-9.3 and 3.3-3.4: the kubelet end to end, as root with real namespaces: the real kubectl
// runs a busybox pod whose output `kubectl logs` shows, a long-running pod reachable at its IP and
// through `kubectl exec`, a crashing container in CrashLoopBackOff, and deletion that leaves nothing.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Node, Pod } from "@corekube/api";
import { NODES, PODS } from "@corekube/client";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.js";
import { type Cluster, isRoot, podOn, prepareNode, startCluster, type TestNode } from "./support.js";

let cluster: Cluster;
let node: TestNode;

beforeAll(async () => {
  if (!isRoot) return;
  cluster = await startCluster();
  node = await prepareNode(cluster);
  await node.start();
}, 180_000);

afterAll(async () => {
  await node?.cleanup();
  await cluster?.stop();
}, 120_000);

const pod = (name: string) => node.pod(name);

describe.skipIf(!isRoot)("corekube kubelet", () => {
  it("registers a Ready node with the machine's capacity", async () => {
    const ready = await eventually("Ready", async () => {
      const n = await cluster.client.resource<Node>(NODES).get(node.name);
      return n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? n : undefined;
    });
    expect(Number(ready.status?.capacity?.cpu)).toBeGreaterThan(0);
    expect(ready.status?.nodeInfo?.containerRuntimeVersion).toBe("corekube://0.1.0");
  });

  it("runs a busybox pod to completion and `kubectl logs` shows its output", async () => {
    await cluster.k.ok(["run", "hello", "--image=busybox:1.35", "--restart=Never", `--overrides={"spec":{"nodeName":"${node.name}"}}`, "--", "sh", "-c", "echo hello from corekube; hostname"]);
    const done = await eventually("Succeeded", async () => ((await pod("hello")).status?.phase === "Succeeded" ? pod("hello") : undefined), 60_000);
    const cs = (done.status?.containerStatuses ?? [])[0] as unknown as { state: { terminated?: { exitCode: number; reason: string } } };
    expect(cs.state.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    const logs = await cluster.k.ok(["logs", "hello"]);
    expect(logs).toBe("hello from corekube\nhello\n");
  }, 90_000);

  it("keeps a long-running pod Running at an IP the host reaches, and `kubectl exec` runs in it", async () => {
    await cluster.k.ok(["run", "web", "--image=busybox:1.35", `--overrides={"spec":{"nodeName":"${node.name}"}}`, "--", "sh", "-c", "busybox httpd -f -p 8080 -h /etc"]);
    const running = await eventually("Running with an IP", async () => {
      const p = await pod("web");
      return p.status?.phase === "Running" && p.status.podIP ? p : undefined;
    }, 60_000);
    expect(running.status!.podIP!.startsWith(node.podPrefix)).toBe(true);
    expect(running.status!.conditions!.find((c) => c.type === "Ready")!.status).toBe("True");
    // The host reaches the pod over the bridge.
    const page = await eventually("HTTP from the pod", async () => (await fetch(`http://${running.status!.podIP}:8080/hostname`).then((r) => r.text()).catch(() => undefined)), 20_000);
    expect(page.trim()).toBe("web");
    expect((await cluster.k.ok(["exec", "web", "--", "cat", "/etc/hostname"])).trim()).toBe("web");
    const failed = await cluster.k.run(["exec", "web", "--", "sh", "-c", "exit 3"]);
    expect(failed.code).toBe(3);

    // The kubelet's own API, as the API server (a client certificate of the cluster CA) sees it.
    const tls = new Agent({ connect: { ca: cluster.cp.tls.ca, cert: cluster.cp.tls.cert, key: cluster.cp.tls.key } });
    try {
      const get = async (path: string) => (await request(`https://127.0.0.1:${node.port}${path}`, { dispatcher: tls })).body;
      const summary = await eventually("stats with a CPU rate for web", async () => {
        const s = (await (await get("/stats/summary")).json()) as { node: { cpu?: { usageCoreNanoSeconds?: number } }; pods: { podRef: { name: string }; memory?: { workingSetBytes?: number }; containers: { name: string; cpu?: { usageNanoCores?: number } }[] }[] };
        const web = s.pods.find((p) => p.podRef.name === "web");
        return web?.containers[0]?.cpu?.usageNanoCores !== undefined ? s : undefined;
      }, 20_000);
      expect(summary.node.cpu!.usageCoreNanoSeconds).toBeGreaterThan(0);
      const web = summary.pods.find((p) => p.podRef.name === "web")!;
      expect(web.memory!.workingSetBytes).toBeGreaterThan(0);
      expect(await (await get("/metrics")).text()).toMatch(/kubelet_running_containers\{container_state="running"\} [1-9]/);
    } finally {
      await tls.close();
    }
  }, 90_000);

  it("restarts a crashing container with growing backoff (CrashLoopBackOff)", async () => {
    await cluster.k.ok(["run", "crash", "--image=busybox:1.35", `--overrides={"spec":{"nodeName":"${node.name}"}}`, "--", "sh", "-c", "echo boom; exit 1"]);
    const seen = new Set<string>();
    const p = await eventually("two restarts and a CrashLoopBackOff", async () => {
      const cur = await pod("crash");
      const cs = (cur.status?.containerStatuses ?? [])[0] as unknown as { restartCount: number; state: { waiting?: { reason: string } } } | undefined;
      if (cs?.state.waiting?.reason) seen.add(cs.state.waiting.reason);
      return cs && cs.restartCount >= 2 && seen.has("CrashLoopBackOff") ? cs : undefined;
    }, 60_000);
    expect(p.restartCount).toBeGreaterThanOrEqual(2);
    expect(await cluster.k.ok(["logs", "crash", "--previous"])).toBe("boom\n");
  }, 90_000);

  it("runs postStart before the container is reported, and preStop before it is stopped", async () => {
    const marks = mkdtempSync(join(tmpdir(), "ck-hooks-"));
    try {
      const pod = podOn(node, "hooks", {
        terminationGracePeriodSeconds: 5,
        volumes: [{ name: "marks", hostPath: { path: marks, type: "Directory" } }],
        containers: [
          {
            name: "app",
            image: "busybox:1.35",
            command: ["sh", "-c", "sleep 1; cat /marks/started; exec sleep 3600"],
            volumeMounts: [{ name: "marks", mountPath: "/marks" }],
            lifecycle: {
              postStart: { exec: { command: ["sh", "-c", "echo poststart ran > /marks/started"] } },
              preStop: { exec: { command: ["sh", "-c", "echo prestop ran > /marks/stopped"] } },
            },
          } as Pod["spec"]["containers"][number],
        ],
      });
      await cluster.client.resource<Pod>(PODS).create(pod, { namespace: "default" });
      await eventually("hooks Running", async () => (await node.pod("hooks")).status?.phase === "Running", 60_000);
      await eventually("the log shows postStart's file", async () => (await cluster.k.ok(["logs", "hooks"])).includes("poststart ran"), 20_000);
      await cluster.k.ok(["delete", "pod", "hooks", "--timeout=30s"], { timeoutMs: 40_000 });
      expect(readFileSync(join(marks, "stopped"), "utf8")).toBe("prestop ran\n");
    } finally {
      rmSync(marks, { recursive: true, force: true });
    }
  }, 90_000);

  it("stops a deleted pod and removes every trace of it", async () => {
    const uid = (await pod("web")).metadata.uid!;
    await cluster.k.ok(["delete", "pod", "web", "--grace-period=1", "--timeout=30s"], { timeoutMs: 40_000 });
    await expect(pod("web")).rejects.toMatchObject({ status: { code: 404 } });
    const left = await node.kl!.runtime.ListPodSandbox({ labelSelector: { "io.kubernetes.pod.uid": uid } });
    expect(left).toEqual([]);
    expect(readFileSync("/proc/self/mountinfo", "utf8").includes(uid)).toBe(false);
    expect(existsSync(join(node.podLogDir, `default_web_${uid}`))).toBe(false);
  }, 60_000);
});
