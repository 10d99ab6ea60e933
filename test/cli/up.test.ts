// Book 1.6, 9.1 and 10.1-10.3: the README's first command: `corekube up` brings up the single-node cluster
// with a real kubelet, proxy and DNS; the real kubectl runs pods and Services; `corekube down` leaves nothing.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI } from "../support/kv-process.js";
import { eventually } from "../support/eventually.js";
import { type Kubectl, kubectl } from "../support/kubectl.js";
import { freePort } from "../support/ports.js";

const isRoot = process.getuid?.() === 0;
const state = mkdtempSync(join(tmpdir(), "ck-up-"));
let kvPort = "";
let apiPort = "";

function corekube(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (b) => (out += b));
    p.stderr.on("data", (b) => (out += b));
    p.on("exit", (code) => resolve({ code: code ?? 1, out }));
  });
}

/** `wget` from inside a pod (busybox's -T crashes in Debian's static build: `timeout` bounds it instead). */
async function fetchIn(k: Kubectl, pod: string, url: string): Promise<{ code: number; out: string }> {
  const r = await k.run(["exec", pod, "--", "timeout", "8", "wget", "-qO-", url]);
  return { code: r.code, out: `${r.stdout}${r.stderr}` };
}

/**
 * Book 5.2, 6.3, 10.1-10.3: Services on the node `corekube up` made: a Deployment of two web pods behind
 * a ClusterIP Service answers by its full and short DNS names from another pod and balances over both;
 * a NodePort answers from the host; a headless Service gives a StatefulSet's pods stable names; the proxy
 * killed and started again keeps traffic flowing; scaled to zero, connections are refused at once.
 */
async function servicesScenario(k: Kubectl): Promise<void> {
  await k.ok(["create", "deployment", "hello-web", "--image=busybox:1.35", "--replicas=2", "--", "sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]);
  await k.ok(["expose", "deployment", "hello-web", "--port=80", "--target-port=8080"]);
  await k.ok(["run", "client", "--image=busybox:1.35", "--", "sleep", "3600"]);
  await eventually("client Running", async () => (await k.ok(["get", "pod", "client", "-o", "jsonpath={.status.phase}"])) === "Running", 60_000);
  await eventually("two ready endpoints", async () => (await k.ok(["get", "endpointslices", "-l", "kubernetes.io/service-name=hello-web", "-o", "jsonpath={.items[*].endpoints[?(@.conditions.ready==true)].addresses[0]}"])).trim().split(/\s+/).filter(Boolean).length === 2, 90_000);
  const pods = (await k.ok(["get", "pods", "-l", "app=hello-web", "-o", "jsonpath={.items[*].metadata.name}"])).trim().split(/\s+/).sort();
  expect(pods).toHaveLength(2);
  const clusterIP = (await k.ok(["get", "svc", "hello-web", "-o", "jsonpath={.spec.clusterIP}"])).trim();

  // DNS: the pod's resolver is the kube-dns Service; the full name and (through the search path) the short one.
  const resolv = await k.ok(["exec", "client", "--", "cat", "/etc/resolv.conf"]);
  expect(resolv).toContain("nameserver 10.96.0.10");
  expect(resolv).toContain("search default.svc.cluster.local svc.cluster.local cluster.local");
  // The kubernetes Service leads pods to the API server (advertised at the node's address).
  expect(await k.ok(["exec", "client", "--", "sh", "-c", "timeout 5 nc kubernetes.default.svc.cluster.local 443 </dev/null; echo rc=$?"])).toContain("rc=0");
  const ns = await k.ok(["exec", "client", "--", "nslookup", "hello-web.default.svc.cluster.local"]);
  expect(ns).toContain(clusterIP);
  const seen = new Set<string>();
  for (let i = 0; i < 40 && seen.size < 2; i++) {
    const r = await fetchIn(k, "client", i % 2 ? "http://hello-web.default.svc.cluster.local/" : "http://hello-web/");
    expect(r.code, r.out).toBe(0);
    seen.add(r.out.trim());
  }
  // Random balancing reached both pods.
  expect([...seen].sort()).toEqual(pods);

  // NodePort, from the host through the node's address.
  await k.ok(["expose", "deployment", "hello-web", "--name=hello-np", "--type=NodePort", "--port=80", "--target-port=8080"]);
  const nodePort = Number(await k.ok(["get", "svc", "hello-np", "-o", "jsonpath={.spec.ports[0].nodePort}"]));
  const nodeIP = (await k.ok(["get", "nodes", "-o", "jsonpath={.items[0].status.addresses[?(@.type==\"InternalIP\")].address}"])).trim();
  const viaNodePort = await eventually("the NodePort answering", async () => {
    const body = await fetch(`http://${nodeIP}:${nodePort}/`, { signal: AbortSignal.timeout(3000) }).then((r) => r.text()).catch(() => "");
    return pods.includes(body.trim()) ? body.trim() : undefined;
  }, 30_000);
  expect(pods).toContain(viaNodePort);

  // A headless Service and a StatefulSet: each pod by a stable name.
  await k.ok(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        { apiVersion: "v1", kind: "Service", metadata: { name: "db" }, spec: { clusterIP: "None", selector: { app: "db" }, ports: [{ name: "web", port: 8080 }] } },
        {
          apiVersion: "apps/v1",
          kind: "StatefulSet",
          metadata: { name: "db" },
          spec: {
            serviceName: "db",
            replicas: 2,
            selector: { matchLabels: { app: "db" } },
            template: { metadata: { labels: { app: "db" } }, spec: { containers: [{ name: "db", image: "busybox:1.35", command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"] }] } },
          },
        },
      ],
    }),
  });
  await eventually("db-1 Running", async () => (await k.run(["get", "pod", "db-1", "-o", "jsonpath={.status.phase}"])).stdout === "Running", 90_000);
  const db0IP = (await k.ok(["get", "pod", "db-0", "-o", "jsonpath={.status.podIP}"])).trim();
  const db0 = await eventually("db-0's stable name", async () => {
    const r = await k.run(["exec", "client", "--", "nslookup", "db-0.db.default.svc.cluster.local"]);
    return r.stdout.includes(db0IP) ? r.stdout : undefined;
  }, 30_000);
  expect(db0).toContain(db0IP);
  expect((await fetchIn(k, "client", "http://db-1.db.default.svc.cluster.local:8080/")).out.trim()).toBe("db-1");

  // The proxy killed: its rules stay, traffic flows; started again (by `up`), it resyncs.
  const proxyPid = Number(readFileSync(join(state, "run", "proxy.pid"), "utf8"));
  process.kill(proxyPid, "SIGKILL");
  await eventually("the proxy gone", async () => {
    try {
      process.kill(proxyPid, 0);
      return false;
    } catch {
      return true;
    }
  }, 10_000);
  expect((await fetchIn(k, "client", "http://hello-web/")).code).toBe(0);
  const again = await corekube("up", "--state-dir", state, "--kv-port", kvPort, "--apiserver-port", apiPort);
  expect(again.code, again.out).toBe(0);
  expect(again.out).toMatch(/proxy\s+starting\.\.\. ready/);
  expect((await fetchIn(k, "client", "http://hello-web/")).code).toBe(0);

  // Scaled to zero: the Service has no endpoints and the proxy REJECTs: refused, not a timeout.
  await k.ok(["scale", "deployment", "hello-web", "--replicas=0"]);
  const refused = await eventually("connections refused", async () => {
    const r = await fetchIn(k, "client", "http://hello-web/");
    return r.code !== 0 && /refused/i.test(r.out) ? r.out : undefined;
  }, 60_000);
  expect(refused).toMatch(/refused/i);
}

afterAll(async () => {
  await corekube("down", "--state-dir", state, "--purge");
  rmSync(state, { recursive: true, force: true });
}, 120_000);

describe.skipIf(!isRoot)("corekube up and down", () => {
  it("brings up a cluster whose node runs pods, and takes everything away again", async () => {
    const forwardBefore = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
    const tablesBefore = execFileSync("nft", ["list", "tables"], { encoding: "utf8" });
    const corekubeRunBefore = existsSync("/run/corekube");
    kvPort = String(await freePort());
    apiPort = String(await freePort());
    const up = await corekube("up", "--state-dir", state, "--kv-port", kvPort, "--apiserver-port", apiPort);
    expect(up.code, up.out).toBe(0);
    expect(up.out).toMatch(/waiting for Ready\.\.\. Ready in/);
    const doctor = await corekube("doctor", "--state-dir", state);
    expect(doctor.code, doctor.out).toBe(0);
    expect(doctor.out).toMatch(/ok {4}busybox image/);
    const k = kubectl("1.33", join(state, "apiserver", "admin.kubeconfig"));
    try {
      expect(await k.ok(["get", "nodes"])).toMatch(/\sReady\s/);
      await k.ok(["run", "hello", "--image=busybox:1.35", "--restart=Never", "--", "sh", "-c", "echo hello from a corekube pod"]);
      await k.ok(["run", "web", "--image=busybox:1.35", "--", "httpd", "-f", "-p", "8080"]);
      await eventually("hello Completed", async () => (await k.ok(["get", "pod", "hello", "-o", "jsonpath={.status.phase}"])) === "Succeeded", 60_000);
      expect(await k.ok(["logs", "hello"])).toBe("hello from a corekube pod\n");
      await eventually("web Running", async () => (await k.ok(["get", "pod", "web", "-o", "jsonpath={.status.phase}"])) === "Running", 60_000);
      expect(await k.ok(["exec", "web", "--", "cat", "/etc/hostname"])).toBe("web\n");
      // The pod's ServiceAccount token (projected by the kubelet) is accepted by the API server.
      const sa = "/var/run/secrets/kubernetes.io/serviceaccount";
      expect(await k.ok(["exec", "web", "--", "cat", `${sa}/namespace`])).toBe("default");
      expect(await k.ok(["exec", "web", "--", "cat", `${sa}/ca.crt`])).toContain("BEGIN CERTIFICATE");
      const token = await k.ok(["exec", "web", "--", "cat", `${sa}/token`]);
      const asPod = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(
          { host: "127.0.0.1", port: Number(apiPort), path: "/api/v1/namespaces/default/pods/web", headers: { authorization: `Bearer ${token}` }, ca: readFileSync(join(state, "apiserver", "pki", "ca.crt")) },
          (res) => {
            let body = "";
            res.on("data", (b) => (body += b));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        req.end();
      });
      expect(asPod.status, asPod.body).toBe(200);
      expect(JSON.parse(asPod.body).metadata.name).toBe("web");
      await servicesScenario(k);
    } finally {
      k.cleanup();
    }

    const down = await corekube("down", "--state-dir", state);
    expect(down.code, down.out).toBe(0);
    // Nothing of the node is left: processes, pod network, cgroups, runtime state, host settings.
    for (const f of existsSync(join(state, "run")) ? readdirSync(join(state, "run")).filter((x) => x.endsWith(".pid")) : []) {
      const pid = Number(readFileSync(join(state, "run", f), "utf8"));
      expect(() => process.kill(pid, 0), f).toThrow();
    }
    expect(existsSync("/etc/cni/net.d/10-corekube.conflist")).toBe(false);
    expect(existsSync("/sys/class/net/corekube0")).toBe(false);
    expect(existsSync("/run/corekube/runtime")).toBe(false);
    expect(existsSync("/run/corekube")).toBe(corekubeRunBefore);
    expect(readdirSync("/sys/fs/cgroup").some((c) => existsSync(join("/sys/fs/cgroup", c, "kubepods")))).toBe(false);
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim()).toBe(forwardBefore);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toMatch(/corekube\/runtime/);
    // The proxy's chains are gone from the host's tables.
    expect(execFileSync("iptables-save", ["-t", "nat"], { encoding: "utf8" })).not.toMatch(/KUBE-(SERVICES|SVC-|SEP-|NODEPORTS|POSTROUTING)/);
    expect(execFileSync("iptables-save", ["-t", "filter"], { encoding: "utf8" })).not.toMatch(/KUBE-(SERVICES|FORWARD|EXTERNAL-SERVICES)/);
    // iptables-nft's tables that up brought into being are gone again.
    expect(execFileSync("nft", ["list", "tables"], { encoding: "utf8" })).toBe(tablesBefore);
    // A second down is harmless.
    expect((await corekube("down", "--state-dir", state)).code).toBe(0);
  }, 600_000);
});
