// Book 9.1-9.3 and 3.3-3.4: the kubelet end to end, as root with real namespaces: the real kubectl
// runs a busybox pod whose output `kubectl logs` shows, a long-running pod reachable at its IP and
// through `kubectl exec`, a crashing container in CrashLoopBackOff, and deletion that leaves nothing.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Node, Pod } from "@corekube/api";
import { NODES, PODS, RestClient } from "@corekube/client";
import { removeBridgeNetwork } from "@corekube/kubelet/cni/bridge/plugin";
import { importOciLayout } from "@corekube/kubelet/images/oci-layout";
import { ImageStore } from "@corekube/kubelet/images/store";
import { type RunningKubelet, runKubelet } from "@corekube/kubelet/kubelet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensurePki, issueServingCert } from "../../packages/apiserver/src/pki/pki.js";
import { type ControlPlane, startControlPlane } from "../support/apiserver-process.js";
import { eventually } from "../support/eventually.js";
import { snapshotHostNet } from "../support/host-net.js";
import { type Kubectl, kubectl } from "../support/kubectl.js";

const isRoot = process.getuid?.() === 0;
const r = randomBytes(3).toString("hex");
const oct = 100 + (randomBytes(1)[0]! % 100);
const NODE = `kl-${r}`;
const BRIDGE = `ckk${r}`;
const NETWORK = `ck-kl-${r}`;
const POD_CIDR = `10.213.${oct}.0/24`;
const KUBEPODS = `kubepods-ck-${r}`;
const PORT = 20000 + (randomBytes(2).readUInt16BE() % 20000);

let cp: ControlPlane;
let client: RestClient;
let kl: RunningKubelet | undefined;
let k: Kubectl;
const work = mkdtempSync(join(tmpdir(), "ck-kubelet-"));
const runtimeDir = `/run/ck-${r}`;
let restoreHostNet: (() => void) | undefined;

beforeAll(async () => {
  if (!isRoot) return;
  restoreHostNet = snapshotHostNet();
  cp = await startControlPlane();
  client = await RestClient.fromKubeconfig({ path: cp.kubeconfig, qps: 0 });
  const pki = await ensurePki(join(cp.stateDir, "pki"), { hosts: [] });
  const serving = await issueServingCert(pki, NODE, ["127.0.0.1"]);
  // The first pod's image, built from busybox-static with no registry at all.
  const layout = join(work, "busybox-layout");
  execFileSync("bash", [resolve("scripts/build-busybox-image.sh"), layout], { stdio: ["ignore", "ignore", "inherit"] });
  const store = new ImageStore({ root: join(work, "images") });
  await importOciLayout(store, layout, { name: "docker.io/library/busybox:1.35" });
  kl = await runKubelet({
    kubeconfig: cp.kubeconfig,
    nodeName: NODE,
    nodeIP: "127.0.0.1",
    rootDir: join(work, "kubelet"),
    runtimeStateDir: runtimeDir,
    imageRoot: join(work, "images"),
    podLogDir: join(work, "logs"),
    podCIDR: POD_CIDR,
    cniConfDir: join(work, "cni"),
    cniBridge: BRIDGE,
    cniNetworkName: NETWORK,
    serverPort: PORT,
    kubepodsName: KUBEPODS,
    tls: { cert: serving.certPem, key: serving.keyPem, clientCA: pki.ca.certPem },
    backoffInitialMs: 500,
    backoffMaxMs: 2000,
    resyncMs: 1000,
    nodeStatusIntervalMs: 1000,
    log: () => undefined,
  });
  k = kubectl("1.33", cp.kubeconfig);
}, 180_000);

afterAll(async () => {
  k?.cleanup();
  if (kl) {
    // Delete every pod, let the kubelet stop them, then stop the kubelet.
    const pods = await client.resource<Pod>(PODS).list({ namespace: "default" }).catch(() => ({ items: [] as Pod[] }));
    await Promise.all(pods.items.map((p) => client.resource(PODS).delete(p.metadata.name!, { namespace: "default", gracePeriodSeconds: 0 }).catch(() => undefined)));
    await eventually("the kubelet to stop every pod", async () => kl!.workers.list().length === 0, 30_000).catch(() => undefined);
    await kl.stop();
    await kl.cgroups?.remove(KUBEPODS).catch(() => undefined);
    for (const sb of await kl.runtime.ListPodSandbox()) {
      for (const c of await kl.runtime.ListContainers({ podSandboxId: sb.id })) await kl.runtime.StopContainer(c.id, 0).catch(() => undefined);
      await kl.runtime.StopPodSandbox(sb.id).catch(() => undefined);
      await kl.runtime.RemovePodSandbox(sb.id).catch(() => undefined);
    }
  }
  const conf = join(work, "cni", "10-corekube.conflist");
  if (existsSync(conf)) {
    const list = JSON.parse(readFileSync(conf, "utf8")) as { plugins: Record<string, unknown>[]; name: string; cniVersion: string };
    const bridge = list.plugins.find((p) => p.type === "corekube-bridge");
    if (bridge) await removeBridgeNetwork({ ...bridge, name: list.name, cniVersion: list.cniVersion }).catch(() => undefined);
  }
  await client?.resource(NODES).delete(NODE).catch(() => undefined);
  await client?.close();
  await cp?.stop();
  rmSync(runtimeDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
  restoreHostNet?.();
}, 120_000);

const pod = async (name: string) => client.resource<Pod>(PODS).get(name, "default");

describe.skipIf(!isRoot)("corekube kubelet", () => {
  it("registers a Ready node with the machine's capacity", async () => {
    const node = await eventually("Ready", async () => {
      const n = await client.resource<Node>(NODES).get(NODE);
      return n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? n : undefined;
    });
    expect(Number(node.status?.capacity?.cpu)).toBeGreaterThan(0);
    expect(node.status?.nodeInfo?.containerRuntimeVersion).toBe("corekube://0.1.0");
  });

  it("runs a busybox pod to completion and `kubectl logs` shows its output", async () => {
    await k.ok(["run", "hello", "--image=busybox:1.35", "--restart=Never", `--overrides={"spec":{"nodeName":"${NODE}"}}`, "--", "sh", "-c", "echo hello from corekube; hostname"]);
    const done = await eventually("Succeeded", async () => ((await pod("hello")).status?.phase === "Succeeded" ? pod("hello") : undefined), 60_000);
    const cs = (done.status?.containerStatuses ?? [])[0] as unknown as { state: { terminated?: { exitCode: number; reason: string } } };
    expect(cs.state.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    const logs = await k.ok(["logs", "hello"]);
    expect(logs).toBe("hello from corekube\nhello\n");
  }, 90_000);

  it("keeps a long-running pod Running at an IP the host reaches, and `kubectl exec` runs in it", async () => {
    await k.ok(["run", "web", "--image=busybox:1.35", `--overrides={"spec":{"nodeName":"${NODE}"}}`, "--", "sh", "-c", "busybox httpd -f -p 8080 -h /etc"]);
    const running = await eventually("Running with an IP", async () => {
      const p = await pod("web");
      return p.status?.phase === "Running" && p.status.podIP ? p : undefined;
    }, 60_000);
    expect(running.status!.podIP!.startsWith(`10.213.${oct}.`)).toBe(true);
    expect(running.status!.conditions!.find((c) => c.type === "Ready")!.status).toBe("True");
    // The host reaches the pod over the bridge.
    const page = await eventually("HTTP from the pod", async () => (await fetch(`http://${running.status!.podIP}:8080/hostname`).then((r) => r.text()).catch(() => undefined)), 20_000);
    expect(page.trim()).toBe("web");
    expect((await k.ok(["exec", "web", "--", "cat", "/etc/hostname"])).trim()).toBe("web");
    const failed = await k.run(["exec", "web", "--", "sh", "-c", "exit 3"]);
    expect(failed.code).toBe(3);
  }, 90_000);

  it("restarts a crashing container with growing backoff (CrashLoopBackOff)", async () => {
    await k.ok(["run", "crash", "--image=busybox:1.35", `--overrides={"spec":{"nodeName":"${NODE}"}}`, "--", "sh", "-c", "echo boom; exit 1"]);
    const seen = new Set<string>();
    const p = await eventually("two restarts and a CrashLoopBackOff", async () => {
      const cur = await pod("crash");
      const cs = (cur.status?.containerStatuses ?? [])[0] as unknown as { restartCount: number; state: { waiting?: { reason: string } } } | undefined;
      if (cs?.state.waiting?.reason) seen.add(cs.state.waiting.reason);
      return cs && cs.restartCount >= 2 && seen.has("CrashLoopBackOff") ? cs : undefined;
    }, 60_000);
    expect(p.restartCount).toBeGreaterThanOrEqual(2);
    expect(await k.ok(["logs", "crash", "--previous"])).toBe("boom\n");
  }, 90_000);

  it("stops a deleted pod and removes every trace of it", async () => {
    const uid = (await pod("web")).metadata.uid!;
    await k.ok(["delete", "pod", "web", "--grace-period=1", "--timeout=30s"], { timeoutMs: 40_000 });
    await expect(pod("web")).rejects.toMatchObject({ status: { code: 404 } });
    const left = await kl!.runtime.ListPodSandbox({ labelSelector: { "io.kubernetes.pod.uid": uid } });
    expect(left).toEqual([]);
    expect(readFileSync("/proc/self/mountinfo", "utf8").includes(uid)).toBe(false);
    expect(existsSync(join(work, "logs", `default_web_${uid}`))).toBe(false);
  }, 60_000);
});
