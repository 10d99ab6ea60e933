// Book 9.2 and 11.1: end-to-end tests of the log and exec proxies — a small front server using
// the proxy, the stand-in kubelet behind it over mutual TLS, and `ws` as the exec client.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { statusOf } from "@corekube/api";
import { ensurePki, issueServingCert, type Pki } from "../pki/pki.js";
import { Channel, frame } from "./contract.js";
import { proxyPodExec, proxyPodLogs, type KubeletTarget } from "./proxy.js";
import { startStandinKubelet, type StandinKubelet } from "./standin.js";

let dir: string;
let pki: Pki;
let kubelet: StandinKubelet;
let target: KubeletTarget;
let front: http.Server;
let frontUrl: string;

const KEY = "default/web/app";

/** A front server: /logs/<ns>/<pod>/<container> and /exec/<ns>/<pod>/<container>, proxied to `targetFor()`. */
let targetFor: () => KubeletTarget = () => target;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "corekube-kubelet-proxy-"));
  pki = await ensurePki(dir, { hosts: [] });
  const serving = await issueServingCert(pki, "worker-1", ["127.0.0.1"]);
  kubelet = await startStandinKubelet(
    {
      containers: { [KEY]: { logs: ["one", "two", "three", "four"], previousLogs: ["old"] }, "default/web/sidecar": {} },
      exec: ({ options }) => {
        const [cmd, ...args] = options.command;
        if (cmd === "cat") return { echoStdin: true };
        if (cmd === "fail") return { stdout: "partial out\n", stderr: "boom\n", exitCode: Number(args[0] ?? 1) };
        if (cmd === "missing") return { error: 'exec: "missing": executable file not found in $PATH' };
        return { stdout: `ran ${options.command.join(" ")}\n` };
      },
    },
    { tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: pki.ca.certPem } },
  );
  target = { url: kubelet.url, ca: pki.ca.certPem, cert: pki.kubeletClient.certPem, key: pki.kubeletClient.keyPem, nodeName: "worker-1" };

  front = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://front");
    const [, kind, ns, pod, container] = url.pathname.split("/");
    if (kind !== "logs") {
      res.writeHead(404).end();
      return;
    }
    proxyPodLogs(targetFor(), ns!, pod!, container!, url.searchParams, res, { connectTimeoutMs: 2000 }).catch((err: unknown) => {
      const status = statusOf(err);
      res.writeHead(status.code, { "content-type": "application/json" });
      res.end(JSON.stringify(status));
    });
  });
  front.on("upgrade", (req: http.IncomingMessage, socket, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://front");
    const [, , ns, pod, container] = url.pathname.split("/");
    void proxyPodExec(targetFor(), ns!, pod!, container!, url.searchParams, req, socket, head, { connectTimeoutMs: 2000 });
  });
  await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
  frontUrl = `127.0.0.1:${(front.address() as AddressInfo).port}`;
});

afterEach(() => {
  targetFor = () => target;
});

afterAll(async () => {
  front.closeAllConnections();
  await new Promise<void>((resolve) => front.close(() => resolve()));
  await kubelet.close();
  await rm(dir, { recursive: true, force: true });
});

function getText(path: string): Promise<{ code: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`http://${frontUrl}${path}`, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ code: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }));
      })
      .on("error", reject);
  });
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("proxyPodLogs", () => {
  it("relays a container's log, authenticating to the kubelet with the API server's client certificate", async () => {
    const r = await getText("/logs/default/web/app");
    expect(r.code).toBe(200);
    expect(r.type).toMatch(/^text\/plain/);
    expect(r.body).toBe("one\ntwo\nthree\nfour\n");
    const seen = kubelet.requests.at(-1)!;
    expect(seen.path).toBe("/containerLogs/default/web/app");
    expect(seen.clientCN).toBe("kube-apiserver-kubelet-client");
  });

  it("passes tailLines, timestamps and previous through to the kubelet", async () => {
    expect((await getText("/logs/default/web/app?tailLines=2")).body).toBe("three\nfour\n");
    expect(kubelet.requests.at(-1)!.query.get("tailLines")).toBe("2");
    const stamped = await getText("/logs/default/web/app?tailLines=1&timestamps=true");
    expect(stamped.body).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z four\n$/);
    expect((await getText("/logs/default/web/app?previous=true")).body).toBe("old\n");
  });

  it("streams with follow=true: new lines arrive as they are logged, and the end of the log ends the response", async () => {
    const chunks: string[] = [];
    const done = new Promise<number>((resolve, reject) => {
      http
        .get(`http://${frontUrl}/logs/default/web/app?follow=true&tailLines=1`, (res) => {
          res.setEncoding("utf8");
          res.on("data", (c: string) => chunks.push(c));
          res.on("end", () => resolve(res.statusCode ?? 0));
        })
        .on("error", reject);
    });
    await until(() => chunks.join("") === "four\n", "the tail line");
    kubelet.appendLog(KEY, "five");
    await until(() => chunks.join("") === "four\nfive\n", "a followed line");
    kubelet.appendLog(KEY, "six");
    await until(() => chunks.join("").endsWith("six\n"), "a second followed line");
    kubelet.endLogs(KEY);
    expect(await done).toBe(200);
    expect(chunks.join("")).toBe("four\nfive\nsix\n");
  });

  it("stops following at the kubelet when the client goes away", async () => {
    const req = http.get(`http://${frontUrl}/logs/default/web/app?follow=true&tailLines=0`);
    req.on("error", () => {});
    await until(() => kubelet.followerCount(KEY) === 1, "the follower to attach");
    req.destroy();
    await until(() => kubelet.followerCount(KEY) === 0, "the kubelet stream to close");
  });

  it("reports a kubelet that is down as 503 naming the node", async () => {
    targetFor = () => ({ ...target, url: "https://127.0.0.1:1" });
    const r = await getText("/logs/default/web/app");
    expect(r.code).toBe(503);
    const status = JSON.parse(r.body) as { reason: string; message: string };
    expect(status.reason).toBe("ServiceUnavailable");
    expect(status.message).toMatch(/^the kubelet on node "worker-1" is unreachable: GET "https:\/\/127\.0\.0\.1:1\/containerLogs\/default\/web\/app": connect ECONNREFUSED/);
  });

  it("passes the kubelet's own refusal on with its code", async () => {
    const r = await getText("/logs/default/web/nope");
    expect(r.code).toBe(404);
    expect(JSON.parse(r.body)).toMatchObject({ reason: "NotFound", message: 'the kubelet on node "worker-1": container "nope" not found in pod "default/web"' });
  });

  it("rejects invalid options before calling the kubelet", async () => {
    const before = kubelet.requests.length;
    const r = await getText("/logs/default/web/app?tailLines=-3");
    expect(r.code).toBe(422);
    expect(kubelet.requests.length).toBe(before);
  });

  it("refuses a kubelet whose certificate the CA did not sign", async () => {
    targetFor = () => ({ ...target, ca: undefined });
    const r = await getText("/logs/default/web/app");
    expect(r.code).toBe(503);
    expect(r.body).toMatch(/self[- ]signed|unable to (get|verify)/i);
  });
});

interface ExecResult {
  protocol: string;
  stdout: string;
  stderr: string;
  status: Record<string, unknown> | undefined;
  closeCode: number;
}

/** Runs an exec through the front server with `ws`; `talk` may send frames once it is open. */
function exec(
  query: string,
  opts: { protocols?: string[]; talk?: (ws: WebSocket, out: ExecResult) => Promise<void> } = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${frontUrl}/exec/default/web/app?${query}`, opts.protocols ?? ["v5.channel.k8s.io"]);
    const out: ExecResult = { protocol: "", stdout: "", stderr: "", status: undefined, closeCode: 0 };
    ws.on("open", () => {
      out.protocol = ws.protocol;
      if (opts.talk) opts.talk(ws, out).catch(reject);
    });
    ws.on("message", (data: Buffer, isBinary) => {
      expect(isBinary).toBe(true);
      const payload = data.subarray(1).toString("utf8");
      if (data[0] === Channel.stdout) out.stdout += payload;
      else if (data[0] === Channel.stderr) out.stderr += payload;
      else if (data[0] === Channel.error) out.status = JSON.parse(payload) as Record<string, unknown>;
    });
    ws.on("close", (code) => {
      out.closeCode = code;
      resolve(out);
    });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => reject(new Error(`HTTP ${res.statusCode}: ${body}`)));
    });
    ws.on("error", reject);
  });
}

describe("proxyPodExec", () => {
  it("runs a command: stdout, then Success on channel 3 and a normal close", async () => {
    const r = await exec("command=ls&command=-l&stdout=true&stderr=true");
    expect(r).toEqual({ protocol: "v5.channel.k8s.io", stdout: "ran ls -l\n", stderr: "", status: { metadata: {}, status: "Success" }, closeCode: 1000 });
    const seen = kubelet.requests.at(-1)!;
    expect(seen.path).toBe("/exec/default/web/app");
    expect(seen.query.toString()).toBe("output=1&error=1&command=ls&command=-l");
    expect(seen.protocol).toBe("v5.channel.k8s.io");
    expect(seen.clientCN).toBe("kube-apiserver-kubelet-client");
  });

  it("carries stderr and a non-zero exit code as a NonZeroExitCode Status", async () => {
    const r = await exec("command=fail&command=3&stdout=true&stderr=true");
    expect(r.stdout).toBe("partial out\n");
    expect(r.stderr).toBe("boom\n");
    expect(r.status).toMatchObject({
      status: "Failure",
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: "3" }] },
    });
    expect(r.closeCode).toBe(1000);
  });

  it("pipes stdin to the container and ends when the client closes stdin with [255, 0]", async () => {
    const r = await exec("command=cat&stdin=true&stdout=true&stderr=true", {
      talk: async (ws, out) => {
        ws.send(frame(Channel.stdin, "hello\n"));
        await until(() => out.stdout === "hello\n", "the first echo");
        ws.send(frame(Channel.stdin, "again\n"));
        await until(() => out.stdout === "hello\nagain\n", "the second echo");
        ws.send(Buffer.from([Channel.close, Channel.stdin]));
      },
    });
    expect(r.stdout).toBe("hello\nagain\n");
    expect(r.status).toEqual({ metadata: {}, status: "Success" });
    expect(r.closeCode).toBe(1000);
  });

  it("forwards terminal resize messages", async () => {
    await exec("command=cat&stdin=true&stdout=true&tty=true", {
      talk: async (ws) => {
        ws.send(frame(Channel.resize, JSON.stringify({ Width: 120, Height: 40 })));
        await until(() => kubelet.resizes.length > 0, "the resize");
        ws.send(Buffer.from([Channel.close, Channel.stdin]));
      },
    });
    expect(kubelet.resizes.at(-1)).toEqual({ Width: 120, Height: 40 });
  });

  it("speaks v4.channel.k8s.io with an older client", async () => {
    const r = await exec("command=ls&stdout=true", { protocols: ["v4.channel.k8s.io"] });
    expect(r.protocol).toBe("v4.channel.k8s.io");
    expect(kubelet.requests.at(-1)!.protocol).toBe("v4.channel.k8s.io");
    expect(r.status).toEqual({ metadata: {}, status: "Success" });
  });

  it("reports a command that cannot start as a Failure Status", async () => {
    const r = await exec("command=missing&stdout=true");
    expect(r.status).toMatchObject({ status: "Failure", message: 'exec: "missing": executable file not found in $PATH' });
  });

  it("completes the handshake and reports an unreachable kubelet on channel 3", async () => {
    targetFor = () => ({ ...target, url: "https://127.0.0.1:1" });
    const r = await exec("command=ls&stdout=true");
    expect(r.status).toMatchObject({ status: "Failure", reason: "ServiceUnavailable", code: 503 });
    expect(String(r.status?.message)).toMatch(/^the kubelet on node "worker-1" is unreachable: .*ECONNREFUSED/);
    expect(r.closeCode).toBe(1000);
  });

  it("reports the kubelet's refusal (unknown container) on channel 3", async () => {
    const r = await new Promise<ExecResult>((resolve, reject) => {
      const ws = new WebSocket(`ws://${frontUrl}/exec/default/web/nope?command=ls&stdout=true`, ["v5.channel.k8s.io"]);
      const out: ExecResult = { protocol: "", stdout: "", stderr: "", status: undefined, closeCode: 0 };
      ws.on("message", (d: Buffer) => {
        if (d[0] === Channel.error) out.status = JSON.parse(d.subarray(1).toString()) as Record<string, unknown>;
      });
      ws.on("close", (code) => resolve({ ...out, closeCode: code }));
      ws.on("error", reject);
    });
    expect(r.status).toMatchObject({ status: "Failure", reason: "NotFound", code: 404 });
    expect(String(r.status?.message)).toContain('container "nope" not found');
  });

  it("answers a SPDY upgrade with 400 and a Status pointing to WebSocket exec", async () => {
    const { code, body } = await new Promise<{ code: number; body: string }>((resolve, reject) => {
      const req = http.request(`http://${frontUrl}/exec/default/web/app?command=ls&stdout=true`, {
        method: "POST",
        headers: {
          connection: "Upgrade",
          upgrade: "SPDY/3.1",
          "x-stream-protocol-version": "v4.channel.k8s.io, v3.channel.k8s.io",
        },
      });
      req.on("response", (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ code: res.statusCode ?? 0, body: text }));
      });
      req.on("error", reject);
      req.end();
    });
    expect(code).toBe(400);
    const status = JSON.parse(body) as { kind: string; reason: string; message: string };
    expect(status.kind).toBe("Status");
    expect(status.reason).toBe("BadRequest");
    expect(status.message).toContain("v5.channel.k8s.io");
    expect(status.message).toContain("kubectl 1.30");
    expect(status.message).toContain("KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true");
  });

  it("refuses a client that offers no channel subprotocol, and bad options, with a 400 Status", async () => {
    await expect(exec("command=ls&stdout=true", { protocols: ["chat"] })).rejects.toThrow(/HTTP 400: .*v5\.channel\.k8s\.io, v4\.channel\.k8s\.io/);
    await expect(exec("stdout=true")).rejects.toThrow(/HTTP 400: .*you must specify at least 1 command/);
  });
});
