// Book 9.3: single probe runs against real local HTTP, HTTPS and TCP servers, and exec through a fake runtime.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecTimeoutError, type ExecSyncFn, MAX_PROBE_OUTPUT, runProbe } from "./run.js";
import { FakeProbeTimers } from "./timers.js";
import { resolveProbe } from "./types.js";

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
}

let server: http.Server;
let port = 0;
const seen: Seen[] = [];

const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
  seen.push({ url: req.url ?? "", headers: req.headers });
  const u = new URL(req.url ?? "/", "http://x");
  const status = Number(u.searchParams.get("status") ?? 200);
  if (u.pathname === "/hang") return; // never answers
  if (u.pathname === "/big") return res.end("x".repeat(50 * 1024));
  if (u.pathname === "/hop") {
    res.writeHead(302, { location: `/ok?from=hop` });
    return res.end();
  }
  if (u.pathname === "/loop") {
    res.writeHead(301, { location: `/loop?n=${Number(u.searchParams.get("n") ?? 0) + 1}` });
    return res.end();
  }
  if (u.pathname === "/elsewhere") {
    // The same server, but under another host name: upstream does not follow it.
    res.writeHead(302, { location: `http://localhost:${port}/ok` });
    return res.end("moved away");
  }
  res.writeHead(status);
  res.end(`status ${status}`);
};

beforeAll(async () => {
  server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const container = () => ({ name: "web", ports: [{ name: "http", containerPort: port }] });
const target = () => ({ container: container(), containerId: "cid-1", podIP: "127.0.0.1" });
const get = (path: string, extra: Record<string, unknown> = {}) =>
  runProbe(resolveProbe("readiness", { httpGet: { port: "http", path, ...extra } }), target());

describe("HTTP probes", () => {
  it("counts 2xx as success, on the pod IP and the named port, with the kube-probe User-Agent", async () => {
    seen.length = 0;
    const r = await get("/ok");
    expect(r).toEqual({ result: "success", output: "status 200" });
    expect(seen[0]!.headers["user-agent"]).toBe("kube-probe/1.33");
    expect(seen[0]!.headers.accept).toBe("*/*");
    expect(seen[0]!.headers.host).toBe(`127.0.0.1:${port}`);
  });

  it("sends the spec's headers, a Host header as the request's host", async () => {
    seen.length = 0;
    const r = await get("/ok?x=1", {
      httpHeaders: [
        { name: "X-Probe", value: "a" },
        { name: "User-Agent", value: "mine" },
        { name: "Host", value: "svc.example" },
      ],
    });
    expect(r.result).toBe("success");
    expect(seen[0]).toMatchObject({ url: "/ok?x=1", headers: { "x-probe": "a", "user-agent": "mine", host: "svc.example" } });
  });

  it.each([
    [204, "success"],
    [304, "success"],
    [399, "success"],
    [400, "failure"],
    [404, "failure"],
    [500, "failure"],
    [503, "failure"],
  ])("status %i is %s", async (status, result) => {
    const r = await get(`/s?status=${status}`);
    expect(r.result).toBe(result);
    if (result === "failure") expect(r.output).toBe(`HTTP probe failed with statuscode: ${status}`);
  });

  it("follows redirects on the same host", async () => {
    seen.length = 0;
    const r = await get("/hop");
    expect(r).toEqual({ result: "success", output: "status 200" });
    expect(seen.map((s) => s.url)).toEqual(["/hop", "/ok?from=hop"]);
  });

  it("does not follow a redirect to another host, and warns", async () => {
    seen.length = 0;
    const r = await get("/elsewhere");
    expect(r).toEqual({ result: "success", warning: true, output: "Probe terminated redirects, Response body: moved away" });
    expect(seen.map((s) => s.url)).toEqual(["/elsewhere"]);
  });

  it("gives up after 10 requests of same-host redirects", async () => {
    seen.length = 0;
    const r = await get("/loop");
    expect(r.result).toBe("failure");
    expect(r.output).toMatch(/stopped after 10 redirects/);
    expect(seen).toHaveLength(10);
  });

  it("keeps at most 10 KiB of the body", async () => {
    const r = await get("/big");
    expect(r.result).toBe("success");
    expect(r.output).toHaveLength(MAX_PROBE_OUTPUT);
  });

  it("fails when the server does not answer within the timeout", async () => {
    const probe = resolveProbe("liveness", { httpGet: { port, path: "/hang" } });
    const r = await runProbe(probe, target(), { timeoutMs: 150 });
    expect(r.result).toBe("failure");
    expect(r.output).toMatch(/^Get "http:\/\/127\.0\.0\.1:\d+\/hang": context deadline exceeded/);
  });

  it("fails when nothing listens", async () => {
    const closed = await freePort();
    const r = await runProbe(resolveProbe("liveness", { httpGet: { port: closed, host: "127.0.0.1" } }), target());
    expect(r).toEqual({ result: "failure", output: `Get "http://127.0.0.1:${closed}/": dial tcp 127.0.0.1:${closed}: connect: connection refused` });
  });

  it("reports unknown (not failure) for an unknown port name or a pod without an IP", async () => {
    const bad = await runProbe(resolveProbe("readiness", { httpGet: { port: "admin" } }), target());
    expect(bad).toEqual({ result: "unknown", output: `couldn't find port "admin" among the ports of container "web"` });
    const noIp = await runProbe(resolveProbe("readiness", { httpGet: { port: 80 } }), { container: container(), containerId: "c" });
    expect(noIp.result).toBe("unknown");
    expect(noIp.output).toMatch(/no IP/);
  });
});

describe("HTTPS probes", () => {
  let tls: https.Server | undefined;
  let tlsPort = 0;
  const dir = mkdtempSync(join(tmpdir(), "ck-probe-tls-"));
  beforeAll(async () => {
    try {
      execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=nobody", "-days", "1", "-keyout", join(dir, "k"), "-out", join(dir, "c")], {
        stdio: "ignore",
      });
    } catch {
      return; // no openssl: the test below is skipped
    }
    tls = https.createServer({ key: readFileSync(join(dir, "k")), cert: readFileSync(join(dir, "c")) }, (_req, res) => res.end("secure"));
    await new Promise<void>((r) => tls!.listen(0, "127.0.0.1", r));
    tlsPort = (tls.address() as AddressInfo).port;
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    if (tls) await new Promise<void>((r) => tls!.close(() => r()));
  });

  it("does not check the certificate", async (ctx) => {
    if (!tls) ctx.skip();
    const r = await runProbe(resolveProbe("readiness", { httpGet: { port: tlsPort, scheme: "HTTPS" } }), target());
    expect(r).toEqual({ result: "success", output: "secure" });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

describe("TCP probes", () => {
  it("succeeds when the port accepts a connection", async () => {
    const r = await runProbe(resolveProbe("readiness", { tcpSocket: { port: "http" } }), target());
    expect(r.result).toBe("success");
  });

  it("fails on a closed port", async () => {
    const closed = await freePort();
    const r = await runProbe(resolveProbe("readiness", { tcpSocket: { port: closed, host: "127.0.0.1" } }), target());
    expect(r).toEqual({ result: "failure", output: `dial tcp 127.0.0.1:${closed}: connect: connection refused` });
  });
});

describe("exec probes", () => {
  const probe = (timeoutSeconds = 1) => resolveProbe("liveness", { exec: { command: ["cat", "/tmp/healthy"] }, timeoutSeconds });

  it("passes the container, command and timeout to the runtime; exit 0 is success", async () => {
    const calls: unknown[] = [];
    const exec: ExecSyncFn = async (id, cmd, ms) => {
      calls.push([id, cmd, ms]);
      return { exitCode: 0, stdout: "ok\n", stderr: "" };
    };
    expect(await runProbe(probe(2), target(), { execSync: exec })).toEqual({ result: "success", output: "ok\n" });
    expect(calls).toEqual([["cid-1", ["cat", "/tmp/healthy"], 2000]]);
  });

  it("a non-zero exit is failure with the command's output", async () => {
    const exec: ExecSyncFn = async () => ({ exitCode: 1, stdout: "", stderr: "cat: can't open '/tmp/healthy': No such file or directory\n" });
    expect(await runProbe(probe(), target(), { execSync: exec })).toEqual({
      result: "failure",
      output: "cat: can't open '/tmp/healthy': No such file or directory\n",
    });
    const silent: ExecSyncFn = async () => ({ exitCode: 3, stdout: "", stderr: "" });
    expect((await runProbe(probe(), target(), { execSync: silent })).output).toBe(`command "cat /tmp/healthy" exited with code 3`);
  });

  it("a command that outlives the timeout fails as timed out", async () => {
    const timers = new FakeProbeTimers();
    const never: ExecSyncFn = () => new Promise(() => {});
    const pending = runProbe(probe(), target(), { execSync: never, timers });
    await timers.advance(999);
    let settled = false;
    void pending.then(() => (settled = true));
    await timers.advance(0);
    expect(settled).toBe(false);
    await timers.advance(1);
    expect(await pending).toEqual({ result: "failure", output: `command "cat /tmp/healthy" timed out` });
  });

  it("a runtime that reports the timeout itself also fails as timed out; other runtime errors are unknown", async () => {
    const timedOut: ExecSyncFn = async () => {
      throw new ExecTimeoutError("deadline");
    };
    expect((await runProbe(probe(), target(), { execSync: timedOut })).output).toBe(`command "cat /tmp/healthy" timed out`);
    const gone: ExecSyncFn = async () => {
      throw new Error("container cid-1 not found");
    };
    expect(await runProbe(probe(), target(), { execSync: gone })).toEqual({ result: "unknown", output: "exec failed: container cid-1 not found" });
    expect((await runProbe(probe(), target())).result).toBe("unknown");
  });
});

describe("gRPC probes", () => {
  it("fail with a message saying they are not supported", async () => {
    const r = await runProbe(resolveProbe("readiness", { grpc: { port: 9000 } }), target());
    expect(r).toEqual({ result: "failure", output: "gRPC probes are not supported by corekube" });
  });
});
