// Book 9.3: probes over real time against a real HTTP server that turns unhealthy and recovers: the
// manager's readiness and liveness verdicts, the Unhealthy events, and a restart that starts afresh.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ProbeEvent, ProbeManager } from "../../packages/kubelet/src/probes/index.js";

let healthy = true;
let server: http.Server;
let port = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(healthy ? 200 : 500);
      return res.end(healthy ? "ok" : "broken");
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Polls until check() is true; fails with the label if it never becomes true. */
async function until(label: string, check: () => boolean, ms = 4_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("probe manager over real time", () => {
  it("follows an HTTP server through healthy, unhealthy, a restart and healthy again", async () => {
    const events: ProbeEvent[] = [];
    const changes: string[] = [];
    // One probe second lasts 100 ms here: period 2 => 200 ms, timeout 1 => 100 ms.
    const m = new ProbeManager({ secondMs: 100, recordEvent: (e) => events.push(e), onChange: (uid) => changes.push(uid) });
    const container = {
      name: "web",
      ports: [{ name: "http", containerPort: port }],
      readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 2, failureThreshold: 1 },
      livenessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 2, failureThreshold: 3 },
      startupProbe: { tcpSocket: { port: "http" }, periodSeconds: 2 },
    };
    const pod = { uid: "pod-1", namespace: "default", name: "web", ip: "127.0.0.1" };
    try {
      healthy = true;
      m.containerStarted({ pod, container, containerId: "c1" });
      await until("ready", () => m.readiness("pod-1", "web"));
      expect(m.started("pod-1", "web")).toBe(true);
      expect(m.liveness("pod-1", "web")).not.toBe("failed");
      expect(changes).toContain("pod-1");

      healthy = false;
      await until("not ready", () => !m.readiness("pod-1", "web"));
      await until("liveness failed", () => m.liveness("pod-1", "web") === "failed");
      const messages = events.map((e) => e.message);
      expect(messages).toContain("Readiness probe failed: HTTP probe failed with statuscode: 500");
      expect(messages).toContain("Liveness probe failed: HTTP probe failed with statuscode: 500");
      expect(events.every((e) => e.reason === "Unhealthy" && e.type === "Warning" && e.container === "web")).toBe(true);

      // The pod worker restarts the container; the app comes back healthy.
      healthy = true;
      m.containerStarted({ pod, container, containerId: "c2", startedAt: new Date() });
      expect(m.liveness("pod-1", "web")).not.toBe("failed");
      expect(m.readiness("pod-1", "web")).toBe(false);
      await until("ready after restart", () => m.readiness("pod-1", "web"));
      expect(m.liveness("pod-1", "web")).not.toBe("failed");
    } finally {
      m.stop();
    }
  });

  it("a TCP readiness probe follows a listener that closes", async () => {
    const tcp = http.createServer((_q, s) => s.end());
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
    const tcpPort = (tcp.address() as AddressInfo).port;
    const m = new ProbeManager({ secondMs: 100 });
    try {
      m.containerStarted({
        pod: { uid: "pod-2", ip: "127.0.0.1" },
        container: { name: "db", readinessProbe: { tcpSocket: { port: tcpPort }, periodSeconds: 2, failureThreshold: 1 } },
        containerId: "d1",
      });
      await until("ready", () => m.readiness("pod-2", "db"));
      await new Promise<void>((r) => tcp.close(() => r()));
      await until("not ready", () => !m.readiness("pod-2", "db"));
    } finally {
      m.stop();
    }
  });
});
