// Book 5.2 and 10.3: cluster DNS end to end: `runDns` against a real API server answers for a
// Service and a hand-made EndpointSlice, and its answers follow them as they change.
import { ENDPOINT_SLICES, RestClient, SERVICES } from "@corekube/client";
import { type RunningDns, runDns } from "../../packages/dns/src/run.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "../support/apiserver-process.js";
import { eventually } from "../support/eventually.js";
import { FakeUpstream, dataOf, query } from "./dns-client.js";

let cp: ControlPlane;
let client: RestClient;
let dns: RunningDns;
let upstream: FakeUpstream;

beforeAll(async () => {
  cp = await startControlPlane();
  client = await RestClient.fromKubeconfig({ path: cp.kubeconfig, qps: 0 });
  upstream = new FakeUpstream();
  const upPort = await upstream.start();
  dns = await runDns({
    kubeconfig: cp.kubeconfig,
    listen: "127.0.0.1:0",
    upstreams: [`127.0.0.1:${upPort}`],
    healthAddress: "127.0.0.1:0",
    metricsAddress: "127.0.0.1:0",
    log: () => undefined,
  });
}, 90_000);

afterAll(async () => {
  await dns?.stop();
  upstream?.close();
  await client?.close();
  await cp?.stop();
});

const slice = (ips: { ip: string; hostname?: string; ready?: boolean }[]) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: "db-manual", namespace: "default", labels: { "kubernetes.io/service-name": "db" } },
  addressType: "IPv4",
  endpoints: ips.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true }, ...(e.hostname ? { hostname: e.hostname } : {}) })),
  ports: [{ name: "pg", port: 5432, protocol: "TCP" }],
});

describe("corekube dns", () => {
  it("answers the kubernetes Service, and /health, /ready and /metrics", async () => {
    const k = await client.resource(SERVICES).get("kubernetes", "default");
    const ip = (k as { spec?: { clusterIP?: string } }).spec?.clusterIP;
    expect(ip).toBeTruthy();
    const r = await query(dns.port, "kubernetes.default.svc.cluster.local", "A");
    expect([r.rcode, r.flag_aa]).toEqual(["NOERROR", true]);
    expect(dataOf(r, "A")).toEqual([ip]);
    expect(dataOf(await query(dns.port, "dns-version.cluster.local", "TXT"), "TXT")).toEqual([[Buffer.from("1.1.0")]]);

    const health = await fetch(`http://127.0.0.1:${dns.healthPort}/health`);
    expect([health.status, await health.text()]).toEqual([200, "OK"]);
    expect((await fetch(`http://127.0.0.1:${dns.healthPort}/ready`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${dns.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/coredns_dns_requests_total\{type="A",proto="udp"\} [1-9]/);
  });

  it("follows a Service and its EndpointSlice as they are created, changed and deleted", async () => {
    const services = client.resource(SERVICES);
    const slices = client.resource(ENDPOINT_SLICES);
    expect((await query(dns.port, "db.default.svc.cluster.local", "A")).rcode).toBe("NXDOMAIN");

    await services.create({ apiVersion: "v1", kind: "Service", metadata: { name: "db", namespace: "default" }, spec: { clusterIP: "None", ports: [{ name: "pg", port: 5432 }] } });
    await slices.create(slice([{ ip: "10.244.0.5", hostname: "db-0" }, { ip: "10.244.0.6" }]));
    await eventually("db's two endpoints in DNS", async () => dataOf(await query(dns.port, "db.default.svc.cluster.local", "A"), "A").length === 2);
    expect(dataOf(await query(dns.port, "db.default.svc.cluster.local", "A"), "A")).toEqual(["10.244.0.5", "10.244.0.6"]);
    expect(dataOf(await query(dns.port, "db-0.db.default.svc.cluster.local", "A"), "A")).toEqual(["10.244.0.5"]);
    expect(dataOf(await query(dns.port, "_pg._tcp.db.default.svc.cluster.local", "SRV"), "SRV")).toEqual([
      { priority: 0, weight: 50, port: 5432, target: "10-244-0-6.db.default.svc.cluster.local" },
      { priority: 0, weight: 50, port: 5432, target: "db-0.db.default.svc.cluster.local" },
    ]);
    expect(dataOf(await query(dns.port, "5.0.244.10.in-addr.arpa", "PTR"), "PTR")).toEqual(["db-0.db.default.svc.cluster.local"]);

    // One endpoint goes not-ready: it leaves the answers.
    const current = await slices.get("db-manual", "default");
    await slices.update({ ...current, ...slice([{ ip: "10.244.0.5", hostname: "db-0", ready: false }, { ip: "10.244.0.6" }]), metadata: current.metadata });
    await eventually("db-0 gone from DNS", async () => (await query(dns.port, "db-0.db.default.svc.cluster.local", "A")).rcode === "NXDOMAIN");
    expect(dataOf(await query(dns.port, "db.default.svc.cluster.local", "A"), "A")).toEqual(["10.244.0.6"]);

    // A ClusterIP Service answers with its allocated IP; deleted, the name is gone.
    const web = await services.create({ apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { ports: [{ name: "http", port: 80 }] } });
    const webIP = (web as { spec?: { clusterIP?: string } }).spec?.clusterIP;
    await eventually("web in DNS", async () => dataOf(await query(dns.port, "web.default.svc.cluster.local", "A"), "A")[0] === webIP);
    await services.delete("web", { namespace: "default" });
    await eventually("web gone from DNS", async () => (await query(dns.port, "web.default.svc.cluster.local", "A")).rcode === "NXDOMAIN");

    await slices.delete("db-manual", { namespace: "default" });
    await eventually("db without endpoints: NXDOMAIN", async () => (await query(dns.port, "db.default.svc.cluster.local", "A")).rcode === "NXDOMAIN");
  });

  it("forwards names outside the cluster domain to the upstream, once per TTL", async () => {
    const a = await query(dns.port, "example.org", "A");
    const b = await query(dns.port, "example.org", "A");
    expect([a.rcode, a.flag_aa, dataOf(a, "A"), dataOf(b, "A")]).toEqual(["NOERROR", false, ["192.0.2.53"], ["192.0.2.53"]]);
    expect(upstream.asked.filter((n) => n === "example.org")).toHaveLength(1);
  });
});
