// Book 9.2 and 4.6: the kubelet's HTTPS API end to end — mutual TLS with the cluster CA, container
// logs from CRI files (plain, tail, timestamps, follow), exec over WebSocket running real `sh -c`,
// and `kubectl logs` / `kubectl exec` relayed to it by the real API server.
import { spawn } from "node:child_process";
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import * as https from "node:https";
import type { IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Channel, frame, type Pod } from "@corekube/api";
import {
  KubeletServer,
  errContainerNotFound,
  errContainerNotRunning,
  errPodNotFound,
  type ContainerLogFile,
  type ExecSource,
  type KubeletRequestAttributes,
  type LogSource,
  type StatsSummary,
} from "../../packages/kubelet/src/server/index.js";
import { createCA, issueCert, type CertAndKey } from "../../packages/apiserver/src/pki/certs.js";
import { ensurePki, issueServingCert, type Pki } from "../../packages/apiserver/src/pki/pki.js";
import { startControlPlane, type ControlPlane } from "../support/apiserver-process.js";
import { kubectl, kubectlAvailable, type Kubectl } from "../support/kubectl.js";

// The `ws` client, from the API server's dependencies (the kubelet itself does not need it).
interface WsClient {
  protocol: string;
  on(event: string, cb: (...args: never[]) => void): void;
  send(data: Buffer): void;
  close(): void;
}
type WsCtor = new (url: string, protocols: string[], opts: object) => WsClient;
const WebSocket = createRequire(new URL("../../packages/apiserver/package.json", import.meta.url))("ws") as WsCtor;

let dir: string;
let pki: Pki;
let stranger: CertAndKey;
let server: KubeletServer;
let base: string;
let appRunning = true;
let appExited: () => void = () => undefined;
const seen: KubeletRequestAttributes[] = [];

const T = (s: number): string => `2024-05-01T10:00:${String(s).padStart(2, "0")}.250000000Z`;
const rec = (s: number, text: string, stream = "stdout", tag = "F"): string => `${T(s)} ${stream} ${tag} ${text}\n`;

const pods: Pod[] = [
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "default", uid: "u-1" },
    spec: { nodeName: "node-a", containers: [{ name: "app", image: "busybox" }, { name: "stopped", image: "busybox" }] },
  } as Pod,
];

const logs: LogSource = {
  containerLog(namespace, pod, container, previous): ContainerLogFile {
    if (namespace !== "default" || pod !== "web") throw errPodNotFound(namespace, pod);
    if (container !== "app" && container !== "stopped") throw errContainerNotFound(namespace, pod, container);
    if (previous) {
      if (container !== "app") throw errContainerNotFound(namespace, pod, container, true);
      return { path: join(dir, "app-0.log"), running: () => false };
    }
    if (container === "stopped") return { path: join(dir, "stopped-0.log"), running: () => false };
    return { path: join(dir, "app-1.log"), running: () => appRunning, exited: new Promise<void>((r) => (appExited = r)) };
  },
};

const exec: ExecSource = {
  exec(namespace, pod, container, command, opts) {
    if (namespace !== "default" || pod !== "web") throw errPodNotFound(namespace, pod);
    if (container === "stopped") throw errContainerNotRunning(namespace, pod, container);
    if (container !== "app") throw errContainerNotFound(namespace, pod, container);
    // The "container" is this host: good enough to carry real streams and exit codes.
    const child = spawn(command[0]!, command.slice(1), { stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"] });
    return {
      stdin: child.stdin,
      stdout: child.stdout!,
      stderr: child.stderr,
      exit: new Promise<number>((resolve, reject) => {
        child.once("error", reject);
        child.once("close", (code, signal) => resolve(code ?? (signal ? 128 : 0)));
      }),
      kill: () => void child.kill("SIGKILL"),
    };
  },
};

const summary: StatsSummary = {
  node: { nodeName: "node-a", cpu: { time: T(1), usageNanoCores: 120_000_000, usageCoreNanoSeconds: 9_000_000_000 }, memory: { time: T(1), usageBytes: 2e9, workingSetBytes: 1.5e9 } },
  pods: [
    {
      podRef: { name: "web", namespace: "default", uid: "u-1" },
      startTime: T(0),
      cpu: { time: T(1), usageNanoCores: 1_000_000 },
      memory: { time: T(1), workingSetBytes: 10_000_000 },
      containers: [{ name: "app", startTime: T(0), cpu: { time: T(1), usageNanoCores: 1_000_000 }, memory: { time: T(1), workingSetBytes: 10_000_000 } }],
    },
  ],
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "corekube-kubelet-server-"));
  pki = await ensurePki(join(dir, "pki"), { hosts: [] });
  const serving = await issueServingCert(pki, "node-a", ["127.0.0.1"]);
  const otherCA = await createCA("not-the-cluster-ca");
  stranger = await issueCert(otherCA, { commonName: "kube-apiserver-kubelet-client", usages: ["client"] });
  await writeFile(join(dir, "app-0.log"), rec(1, "previous attempt"));
  await writeFile(join(dir, "app-1.log"), rec(10, "one") + rec(11, "two", "stderr") + rec(12, "thr", "stdout", "P") + rec(12, "ee") + rec(13, "four"));
  await writeFile(join(dir, "stopped-0.log"), rec(1, "bye"));
  server = new KubeletServer({
    port: 0,
    host: "127.0.0.1",
    tls: { cert: serving.certPem, key: serving.keyPem, clientCA: pki.ca.certPem },
    logs,
    exec,
    pods: () => pods,
    stats: async () => summary,
    metrics: async () => "# TYPE kubelet_running_pods gauge\nkubelet_running_pods 1\n",
    nodeName: "node-a",
    followPollMs: 50,
    // The API server's identity may do anything; the admin only read stats.
    authorize: (a) => {
      seen.push(a);
      return a.user.name === "kube-apiserver-kubelet-client" || a.subresource === "stats" || "only stats for you";
    },
  });
  await server.listen();
  base = server.url;
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

type Who = "apiserver" | "admin" | "anonymous" | "stranger";

function tlsFor(who: Who): https.RequestOptions {
  const ca = pki.ca.certPem;
  if (who === "apiserver") return { ca, cert: pki.kubeletClient.certPem, key: pki.kubeletClient.keyPem };
  if (who === "admin") return { ca, cert: pki.admin.certPem, key: pki.admin.keyPem };
  if (who === "stranger") return { ca, cert: stranger.certPem, key: stranger.keyPem };
  return { ca };
}

function get(path: string, who: Who = "apiserver"): Promise<{ code: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(`${base}${path}`, { ...tlsFor(who), agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ code: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }));
      })
      .on("error", reject);
  });
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface ExecResult {
  httpCode?: number;
  httpBody?: string;
  protocol?: string;
  stdout: string;
  stderr: string;
  status?: Record<string, unknown>;
}

function execWs(command: string[], o: { stdin?: string; protocol?: string; who?: Who; container?: string } = {}): Promise<ExecResult> {
  const q = new URLSearchParams();
  for (const c of command) q.append("command", c);
  q.set("output", "1");
  q.set("error", "1");
  if (o.stdin !== undefined) q.set("input", "1");
  const url = `${base.replace(/^https/, "wss")}/exec/default/web/${o.container ?? "app"}?${q}`;
  return new Promise((resolve, reject) => {
    const r: ExecResult = { stdout: "", stderr: "" };
    const ws = new WebSocket(url, [o.protocol ?? "v5.channel.k8s.io"], { ...tlsFor(o.who ?? "apiserver"), perMessageDeflate: false });
    ws.on("unexpected-response", (_req: never, res: IncomingMessage) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ ...r, httpCode: res.statusCode ?? 0, httpBody: body }));
    });
    ws.on("error", (err: Error) => reject(err));
    ws.on("open", () => {
      r.protocol = ws.protocol;
      if (o.stdin !== undefined) {
        ws.send(frame(Channel.stdin, o.stdin));
        ws.send(Buffer.from([Channel.close, Channel.stdin]));
      }
    });
    ws.on("message", (data: Buffer) => {
      const body = data.subarray(1).toString("utf8");
      if (data[0] === Channel.stdout) r.stdout += body;
      else if (data[0] === Channel.stderr) r.stderr += body;
      else if (data[0] === Channel.error && body !== "") r.status = JSON.parse(body) as Record<string, unknown>;
    });
    ws.on("close", () => resolve(r));
  });
}

describe("authentication and authorization", () => {
  it("serves /healthz to anyone and refuses everything else without a client certificate from the cluster CA (401)", async () => {
    expect(await get("/healthz", "anonymous")).toMatchObject({ code: 200, body: "ok" });
    for (const who of ["anonymous", "stranger"] as const) {
      const r = await get("/pods", who);
      expect(r.code).toBe(401);
      expect(JSON.parse(r.body)).toMatchObject({ kind: "Status", code: 401, reason: "Unauthorized" });
    }
    expect((await get("/containerLogs/default/web/app", "anonymous")).code).toBe(401);
    const ex = await execWs(["true"], { who: "anonymous" });
    expect(ex.httpCode).toBe(401);
  });

  it("asks the authorizer with nodes/<subresource> attributes from the client certificate, and answers 403 when refused", async () => {
    expect((await get("/stats/summary", "admin")).code).toBe(200);
    expect(seen.at(-1)).toMatchObject({ user: { name: "kubernetes-admin", groups: ["system:masters"] }, verb: "get", resource: "nodes", subresource: "stats", name: "node-a" });
    const r = await get("/pods", "admin");
    expect(r.code).toBe(403);
    expect(JSON.parse(r.body).message).toMatch(/user=kubernetes-admin, verb=get, resource=nodes, subresource=proxy.*only stats for you/);
    expect((await execWs(["true"], { who: "admin" })).httpCode).toBe(403);
  });
});

describe("pods, stats and metrics", () => {
  it("lists the pods it runs, the Summary API, and Prometheus text", async () => {
    const list = await get("/pods");
    expect(list.type).toMatch(/^application\/json/);
    expect(JSON.parse(list.body)).toMatchObject({ kind: "PodList", apiVersion: "v1", items: [{ metadata: { name: "web", uid: "u-1" } }] });
    const stats = JSON.parse((await get("/stats/summary")).body) as StatsSummary;
    expect(stats.node.cpu?.usageNanoCores).toBe(120_000_000);
    expect(stats.pods[0]!.podRef).toEqual({ name: "web", namespace: "default", uid: "u-1" });
    expect(stats.pods[0]!.containers[0]!.memory?.workingSetBytes).toBe(10_000_000);
    const m = await get("/metrics");
    expect(m.type).toMatch(/^text\/plain; version=0.0.4/);
    expect(m.body).toContain("kubelet_running_pods 1");
    expect((await get("/nope")).code).toBe(404);
  });
});

describe("GET /containerLogs", () => {
  it("returns the container's log lines, P pieces joined, stdout and stderr together", async () => {
    const r = await get("/containerLogs/default/web/app");
    expect(r.code).toBe(200);
    expect(r.type).toMatch(/^text\/plain/);
    expect(r.body).toBe("one\ntwo\nthree\nfour\n");
  });

  it("honours tailLines, timestamps, sinceTime, limitBytes and previous", async () => {
    expect((await get("/containerLogs/default/web/app?tailLines=2")).body).toBe("three\nfour\n");
    expect((await get("/containerLogs/default/web/app?tailLines=1&timestamps=true")).body).toBe("2024-05-01T10:00:13.25Z four\n");
    expect((await get("/containerLogs/default/web/app?sinceTime=2024-05-01T10:00:12Z")).body).toBe("three\nfour\n");
    expect((await get("/containerLogs/default/web/app?limitBytes=6")).body).toBe("one\ntw");
    expect((await get("/containerLogs/default/web/app?previous=true")).body).toBe("previous attempt\n");
  });

  it("answers unknown pods and containers with 404 Status JSON, bad parameters with 400/422", async () => {
    const pod = await get("/containerLogs/default/nope/app");
    expect(pod.code).toBe(404);
    expect(JSON.parse(pod.body)).toMatchObject({ kind: "Status", reason: "NotFound", message: 'pod "default/nope" does not exist on this node' });
    const c = await get("/containerLogs/default/web/other");
    expect(JSON.parse(c.body)).toMatchObject({ code: 404, message: 'container "other" not found in pod "default/web"' });
    const prev = await get("/containerLogs/default/web/stopped?previous=true");
    expect(JSON.parse(prev.body).message).toMatch(/previous terminated container "stopped"/);
    const bad = await get("/containerLogs/default/web/app?tailLines=many");
    expect(bad.code).toBe(400);
    expect(JSON.parse(bad.body).message).toMatch(/tailLines/);
    expect((await get("/containerLogs/default/web/app?tailLines=-1")).code).toBe(422);
  });

  it("follows the log: new lines arrive as they are written, and the stream ends when the container has stopped", async () => {
    let body = "";
    let ended = false;
    const req = https.get(`${base}/containerLogs/default/web/app?follow=true&tailLines=1`, { ...tlsFor("apiserver"), agent: false }, (res) => {
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => (ended = true));
    });
    req.on("error", () => undefined);
    await until(() => body === "four\n", "the tail");
    await appendFile(join(dir, "app-1.log"), rec(14, "five"));
    await until(() => body === "four\nfive\n", "the appended line");
    expect(ended).toBe(false);
    await appendFile(join(dir, "app-1.log"), rec(15, "six"));
    appRunning = false;
    appExited();
    await until(() => ended, "the end of the stream");
    expect(body).toBe("four\nfive\nsix\n");
    appRunning = true;
  });
});

describe("exec over WebSocket", () => {
  it("runs the command: stdout and stderr on channels 1 and 2, Success on channel 3", async () => {
    const r = await execWs(["sh", "-c", "echo out; echo err >&2"]);
    expect(r.protocol).toBe("v5.channel.k8s.io");
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toBe("err\n");
    expect(r.status).toEqual({ metadata: {}, status: "Success" });
  });

  it("reports a non-zero exit code as NonZeroExitCode with an ExitCode cause", async () => {
    const r = await execWs(["sh", "-c", "echo partial; exit 3"]);
    expect(r.stdout).toBe("partial\n");
    expect(r.status).toMatchObject({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "3" }] } });
  });

  it("feeds stdin and closes it on [255, 0] (v5): cat echoes and exits", async () => {
    const r = await execWs(["cat"], { stdin: "hello kubelet\n" });
    expect(r.stdout).toBe("hello kubelet\n");
    expect(r.status).toMatchObject({ status: "Success" });
  });

  it("speaks v4.channel.k8s.io too", async () => {
    const r = await execWs(["sh", "-c", "echo v4"], { protocol: "v4.channel.k8s.io" });
    expect(r.protocol).toBe("v4.channel.k8s.io");
    expect(r.stdout).toBe("v4\n");
  });

  it("refuses with a Status before upgrading: unknown container 404, stopped container 400, no command 400", async () => {
    const missing = await execWs(["true"], { container: "other" });
    expect(missing.httpCode).toBe(404);
    expect(JSON.parse(missing.httpBody!)).toMatchObject({ kind: "Status", reason: "NotFound" });
    const stopped = await execWs(["true"], { container: "stopped" });
    expect(stopped.httpCode).toBe(400);
    expect(JSON.parse(stopped.httpBody!).message).toMatch(/is not running/);
    const none = await execWs([]);
    expect(none.httpCode).toBe(400);
    expect(JSON.parse(none.httpBody!).message).toMatch(/at least 1 command/);
  });
});

// The real API server finds the pod's node and relays `kubectl logs` / `kubectl exec` here.
describe.runIf(kubectlAvailable("1.33"))("through the API server", () => {
  let cp: ControlPlane;
  let node: KubeletServer;
  let k: Kubectl;

  beforeAll(async () => {
    cp = await startControlPlane({ backend: "kv" });
    const pem = (f: string) => readFileSync(join(cp.stateDir, "pki", f), "utf8");
    const ca = { certPem: pem("ca.crt"), keyPem: pem("ca.key"), certFile: "", keyFile: "" };
    const serving = await issueServingCert({ ca }, "node-a", ["127.0.0.1"]);
    node = new KubeletServer({
      port: 0,
      host: "127.0.0.1",
      tls: { cert: serving.certPem, key: serving.keyPem, clientCA: ca.certPem },
      logs,
      exec,
      pods: () => pods,
      stats: async () => summary,
      metrics: async () => "",
    });
    const port = await node.listen();
    k = kubectl("1.33", cp.kubeconfig);
    const nodeObj = {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node-a" },
      status: { addresses: [{ type: "InternalIP", address: "127.0.0.1" }], daemonEndpoints: { kubeletEndpoint: { Port: port } } },
    };
    await k.ok(["apply", "-f", "-"], { input: JSON.stringify(nodeObj) });
    await k.ok(["apply", "-f", "-"], { input: JSON.stringify({ ...pods[0], metadata: { name: "web", namespace: "default" } }) });
  }, 120_000);

  afterAll(async () => {
    k?.cleanup();
    await node?.close();
    await cp?.stop();
  });

  it("kubectl logs reads the CRI file on this kubelet", async () => {
    const direct = (await get("/containerLogs/default/web/app?tailLines=2")).body;
    expect(direct.split("\n")).toHaveLength(3);
    expect(await k.ok(["logs", "web", "-c", "app", "--tail=2"])).toBe(direct);
    expect(await k.ok(["logs", "web", "-c", "app", "--previous"])).toBe("previous attempt\n");
    const missing = await k.run(["logs", "web", "-c", "stopped", "--previous"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/previous terminated container "stopped"/);
  });

  it("kubectl exec runs the command, with stdin and the exit code", async () => {
    expect(await k.ok(["exec", "-i", "web", "-c", "app", "--", "cat"], { input: "through the api server\n" })).toBe("through the api server\n");
    const failed = await k.run(["exec", "web", "-c", "app", "--", "sh", "-c", "echo bad >&2; exit 3"]);
    expect(failed.code).toBe(3);
    expect(failed.stderr).toMatch(/bad/);
  });
});
