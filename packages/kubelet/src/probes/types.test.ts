// Book 9.3: probe specs: API defaults, the checks that reject specs the kubelet cannot run, and named ports.
import { describe, expect, it } from "vitest";
import { ProbeSpecError, resolveProbe, resolveProbePort } from "./types.js";

describe("resolveProbe", () => {
  it("fills in the API defaults", () => {
    const p = resolveProbe("readiness", { httpGet: { port: 8080 } });
    expect(p).toEqual({
      handler: { type: "httpGet", path: "/", port: 8080, scheme: "HTTP", httpHeaders: [] },
      initialDelaySeconds: 0,
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });

  it("treats zero timings as unset, keeps given ones, and ignores terminationGracePeriodSeconds", () => {
    const p = resolveProbe("liveness", {
      tcpSocket: { port: "http", host: "10.0.0.5" },
      initialDelaySeconds: 4,
      timeoutSeconds: 0,
      periodSeconds: 2,
      failureThreshold: 5,
      terminationGracePeriodSeconds: 7,
    });
    expect(p.handler).toEqual({ type: "tcpSocket", port: "http", host: "10.0.0.5" });
    expect([p.initialDelaySeconds, p.timeoutSeconds, p.periodSeconds, p.failureThreshold]).toEqual([4, 1, 2, 5]);
  });

  it("adds the leading slash to an HTTP path and keeps its query", () => {
    const p = resolveProbe("readiness", { httpGet: { port: 80, path: "healthz?full=1", scheme: "HTTPS" } });
    expect(p.handler).toMatchObject({ path: "/healthz?full=1", scheme: "HTTPS" });
  });

  it.each([
    [{}, /must specify one of exec, httpGet, tcpSocket or grpc/],
    [{ exec: { command: ["true"] }, tcpSocket: { port: 1 } }, /more than one handler \(found exec, tcpSocket\)/],
    [{ exec: { command: [] } }, /exec.command: required/],
    [{ httpGet: { port: 70000 } }, /httpGet.port: 70000 is not a port number/],
    [{ httpGet: {} }, /httpGet.port: required/],
    [{ httpGet: { port: 80, scheme: "FTP" } }, /scheme: must be HTTP or HTTPS/],
    [{ httpGet: { port: 80, httpHeaders: [{ name: "X" }] } }, /httpHeaders\[0\]: needs a name/],
    [{ tcpSocket: { port: 80 }, periodSeconds: -1 }, /periodSeconds: must be a non-negative whole number/],
    [{ tcpSocket: { port: 80 }, failureThreshold: 1.5 }, /failureThreshold/],
    [{ grpc: { port: "x" } }, /grpc.port/],
    ["nope", /readinessProbe: must be an object/],
  ])("rejects %j", (spec, message) => {
    expect(() => resolveProbe("readiness", spec)).toThrow(ProbeSpecError);
    expect(() => resolveProbe("readiness", spec)).toThrow(message);
  });

  it("requires successThreshold 1 for liveness and startup but not readiness", () => {
    expect(() => resolveProbe("liveness", { exec: { command: ["true"] }, successThreshold: 2 })).toThrow(/livenessProbe.successThreshold: must be 1/);
    expect(() => resolveProbe("startup", { exec: { command: ["true"] }, successThreshold: 3 })).toThrow(/startupProbe/);
    expect(resolveProbe("readiness", { exec: { command: ["true"] }, successThreshold: 2 }).successThreshold).toBe(2);
  });
});

describe("resolveProbePort", () => {
  const c = { name: "web", ports: [{ name: "http", containerPort: 8080 }, { name: "metrics", containerPort: 9090 }] };

  it("resolves numbers, names and numeric strings", () => {
    expect(resolveProbePort(81, c)).toBe(81);
    expect(resolveProbePort("metrics", c)).toBe(9090);
    expect(resolveProbePort("8443", c)).toBe(8443);
  });

  it("names the missing port and the container", () => {
    expect(() => resolveProbePort("admin", c)).toThrow(`couldn't find port "admin" among the ports of container "web"`);
    expect(() => resolveProbePort("99999", c)).toThrow("invalid port number: 99999");
  });
});
