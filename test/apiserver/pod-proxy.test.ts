// Book 9.x and 11.2: `kubectl logs` and `kubectl exec` go to the API server, which finds the pod's
// node and proxies to that node's kubelet over mutual TLS. Here the kubelet is the stand-in that
// speaks the same kubelet API, with a certificate from the cluster CA.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStandinKubelet, type StandinKubelet } from "../../packages/apiserver/src/kubelet/standin.js";
import { issueServingCert } from "../../packages/apiserver/src/pki/pki.js";
import { startControlPlane, type ControlPlane } from "../support/apiserver-process.js";
import { kubectl, type Kubectl } from "../support/kubectl.js";

let cp: ControlPlane;
let kubelet: StandinKubelet;
const tools: Kubectl[] = [];

beforeAll(async () => {
  cp = await startControlPlane({ backend: "kv" });
  const pem = (f: string) => readFileSync(join(cp.stateDir, "pki", f), "utf8");
  const ca = { certPem: pem("ca.crt"), keyPem: pem("ca.key") };
  const serving = await issueServingCert({ ca: { ...ca, certFile: "", keyFile: "" } }, "node-a", ["127.0.0.1"]);
  kubelet = await startStandinKubelet(
    {
      containers: { "default/web/app": { logs: ["first line", "second line", "third line"] } },
      exec: (req) => {
        const cmd = req.options.command;
        if (cmd[0] === "fail") return { stdout: "partial\n", stderr: "bad thing\n", exitCode: Number(cmd[1] ?? 1) };
        if (cmd[0] === "cat") return { echoStdin: true };
        return { stdout: `ran ${cmd.join(" ")} in ${req.pod}/${req.container}\n` };
      },
    },
    { tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: ca.certPem } },
  );
  const port = Number(new URL(kubelet.url).port);
  const k = kubectl("1.33", cp.kubeconfig);
  tools.push(k);
  const node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "node-a" },
    status: { addresses: [{ type: "InternalIP", address: "127.0.0.1" }], daemonEndpoints: { kubeletEndpoint: { Port: port } } },
  };
  await k.ok(["apply", "-f", "-"], { input: JSON.stringify(node) });
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "default" },
    spec: { nodeName: "node-a", containers: [{ name: "app", image: "busybox" }] },
  };
  await k.ok(["apply", "-f", "-"], { input: JSON.stringify(pod) });
}, 120_000);

afterAll(async () => {
  for (const t of tools) t.cleanup();
  await kubelet?.close();
  await cp?.stop();
});

describe("pods/log through the API server", () => {
  it("returns the container's log, honouring --tail", async () => {
    const k = kubectl("1.30", cp.kubeconfig);
    tools.push(k);
    expect(await k.ok(["logs", "web"])).toBe("first line\nsecond line\nthird line\n");
    expect(await k.ok(["logs", "web", "--tail=1"])).toBe("third line\n");
    // The API server authenticated to the kubelet with its own client certificate.
    expect(kubelet.requests.some((r) => r.path.startsWith("/containerLogs/default/web/app") && r.clientCN === "kube-apiserver-kubelet-client")).toBe(true);
  });

  it("names what is wrong: a missing pod, an unknown container", async () => {
    const k = kubectl("1.33", cp.kubeconfig);
    tools.push(k);
    const missing = await k.run(["logs", "nope"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/pods "nope" not found/);
    const bad = await k.run(["logs", "web", "-c", "other"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/container other is not valid for pod web/);
  });
});

describe("pods/exec through the API server (WebSocket v5.channel.k8s.io)", () => {
  for (const version of ["1.30", "1.33"]) {
    it(`runs a command with kubectl ${version}: stdout, stdin, exit code`, async () => {
      const k = kubectl(version, cp.kubeconfig);
      tools.push(k);
      expect(await k.ok(["exec", "web", "--", "ls", "-l", "/"])).toBe("ran ls -l / in web/app\n");
      expect(await k.ok(["exec", "-i", "web", "--", "cat"], { input: "hello through the api\n" })).toBe("hello through the api\n");
      const failed = await k.run(["exec", "web", "--", "fail", "3"]);
      expect(failed.code).toBe(3);
      expect(failed.stdout).toBe("partial\n");
      expect(failed.stderr).toMatch(/bad thing/);
      expect(failed.stderr).toMatch(/command terminated with exit code 3/);
    });
  }

  it("tells kubectl 1.27 (SPDY only) what to use instead", async () => {
    const k = kubectl("1.27", cp.kubeconfig);
    tools.push(k);
    const r = await k.run(["exec", "web", "--", "ls"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/WebSocket/);
  });
});
