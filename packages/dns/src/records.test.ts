// Book 5.2 and 10.3: the cluster DNS record index: each record kind of the Kubernetes DNS schema,
// NXDOMAIN against NODATA, headless services, SRV, PTR and pod names.
import { describe, expect, it } from "vitest";
import { type DnsEndpointSlice, type DnsService, DNS_SCHEMA_VERSION, RecordIndex, dashedIP, ipFromDashed, reverseName } from "./records.js";

const svc = (name: string, ns: string, spec: DnsService["spec"]): DnsService => ({ metadata: { name, namespace: ns }, spec });
const slice = (svcName: string, ns: string, endpoints: DnsEndpointSlice["endpoints"], ports: DnsEndpointSlice["ports"] = [], addressType = "IPv4"): DnsEndpointSlice => ({
  metadata: { name: `${svcName}-abc`, namespace: ns, labels: { "kubernetes.io/service-name": svcName } },
  addressType,
  endpoints,
  ports,
});

const index = new RecordIndex(
  {
    services: [
      svc("web", "default", { clusterIP: "10.96.0.20", clusterIPs: ["10.96.0.20"], ports: [{ name: "http", protocol: "TCP", port: 80 }, { port: 8080 }] }),
      svc("dual", "default", { clusterIP: "10.96.0.30", clusterIPs: ["10.96.0.30", "fd00::30"] }),
      svc("db", "prod", { clusterIP: "None", ports: [{ name: "pg", protocol: "TCP", port: 5432 }] }),
      svc("empty", "prod", { clusterIP: "None" }),
      svc("ext", "default", { type: "ExternalName", externalName: "www.example.com." }),
      svc("alias", "default", { type: "ExternalName", externalName: "web.default.svc.cluster.local" }),
      svc("pending", "default", {}),
    ],
    endpointSlices: [
      slice(
        "db",
        "prod",
        [
          { addresses: ["10.244.1.5"], conditions: { ready: true }, hostname: "db-0" },
          { addresses: ["10.244.2.6"], conditions: { ready: true } },
          { addresses: ["10.244.3.7"], conditions: { ready: false }, hostname: "db-2" },
        ],
        [{ name: "pg", port: 5432, protocol: "TCP" }],
      ),
      slice("web", "default", [{ addresses: ["10.244.9.9"], conditions: { ready: true } }]),
    ],
  },
  { serial: 42 },
);

const ask = (name: string, type: string) => index.answer({ name, type: type as "A" });
const data = (name: string, type: string) => ask(name, type).answers.filter((a) => a.type === type).map((a) => a.data);

describe("RecordIndex", () => {
  it("answers A for a ClusterIP service with its cluster IP and the default 5 s TTL, authoritatively", () => {
    const r = ask("web.default.svc.cluster.local", "A");
    expect(r.rcode).toBe("NOERROR");
    expect(r.answers).toEqual([{ name: "web.default.svc.cluster.local", type: "A", ttl: 5, class: "IN", data: "10.96.0.20" }]);
    // Not the endpoints: clients go through the service's virtual IP.
    expect(data("web.default.svc.cluster.local", "A")).not.toContain("10.244.9.9");
  });

  it("matches names in any case and echoes the question's spelling", () => {
    const r = ask("WeB.Default.SVC.cluster.LOCAL.", "A");
    expect(r.answers.map((a) => [a.name, a.data])).toEqual([["WeB.Default.SVC.cluster.LOCAL", "10.96.0.20"]]);
  });

  it("answers AAAA for dual-stack services and NODATA for AAAA on a v4-only one", () => {
    expect(data("dual.default.svc.cluster.local", "A")).toEqual(["10.96.0.30"]);
    expect(data("dual.default.svc.cluster.local", "AAAA")).toEqual(["fd00::30"]);
    const r = ask("web.default.svc.cluster.local", "AAAA");
    expect(r.rcode).toBe("NOERROR");
    expect(r.answers).toEqual([]);
    expect(r.authority.map((a) => a.type)).toEqual(["SOA"]);
  });

  it("tells NXDOMAIN (no such name) from NODATA (the name exists, not with that type)", () => {
    const nx = ask("nope.default.svc.cluster.local", "A");
    expect(nx.rcode).toBe("NXDOMAIN");
    expect(nx.answers).toEqual([]);
    expect(nx.authority).toHaveLength(1);
    const soa = nx.authority[0]!;
    expect(soa.type).toBe("SOA");
    expect(soa.name).toBe("cluster.local");
    expect(soa.data).toMatchObject({ mname: "ns.dns.cluster.local", rname: "hostmaster.cluster.local", serial: 42, minimum: 5 });
    // Names with something below them exist: the namespace and svc labels, the SRV parents.
    for (const name of ["default.svc.cluster.local", "svc.cluster.local", "_tcp.web.default.svc.cluster.local", "cluster.local"]) {
      const r = ask(name, "A");
      expect([name, r.rcode, r.answers.length, r.authority[0]?.type]).toEqual([name, "NOERROR", 0, "SOA"]);
    }
    expect(ask("nons.svc.cluster.local", "A").rcode).toBe("NXDOMAIN");
    // A Service whose IP is not allocated yet has no records.
    expect(ask("pending.default.svc.cluster.local", "A").rcode).toBe("NXDOMAIN");
  });

  it("answers SOA and NS at the zone apex and the schema version at dns-version", () => {
    expect(ask("cluster.local", "SOA").answers.map((a) => a.type)).toEqual(["SOA"]);
    expect(data("cluster.local", "NS")).toEqual(["ns.dns.cluster.local"]);
    expect(data("dns-version.cluster.local", "TXT")).toEqual([DNS_SCHEMA_VERSION]);
  });

  it("gives SRV for named ClusterIP ports only, targeting the service name, with its A record as extra", () => {
    const r = ask("_http._tcp.web.default.svc.cluster.local", "SRV");
    expect(r.answers.map((a) => a.data)).toEqual([{ priority: 0, weight: 100, port: 80, target: "web.default.svc.cluster.local" }]);
    expect(r.additional.map((a) => [a.name, a.data])).toEqual([["web.default.svc.cluster.local", "10.96.0.20"]]);
    expect(ask("_8080._tcp.web.default.svc.cluster.local", "SRV").rcode).toBe("NXDOMAIN");
    expect(ask("_http._udp.web.default.svc.cluster.local", "SRV").rcode).toBe("NXDOMAIN");
  });

  it("answers a headless service with its ready endpoints, and each endpoint by hostname or dashed IP", () => {
    expect(data("db.prod.svc.cluster.local", "A").sort()).toEqual(["10.244.1.5", "10.244.2.6"]);
    expect(data("db-0.db.prod.svc.cluster.local", "A")).toEqual(["10.244.1.5"]);
    expect(data("10-244-2-6.db.prod.svc.cluster.local", "A")).toEqual(["10.244.2.6"]);
    // The not-ready endpoint is nowhere.
    expect(ask("db-2.db.prod.svc.cluster.local", "A").rcode).toBe("NXDOMAIN");
    // A headless service without ready endpoints: NXDOMAIN, as the specification asks.
    expect(ask("empty.prod.svc.cluster.local", "A").rcode).toBe("NXDOMAIN");
  });

  it("gives one SRV per ready endpoint of a headless service, with weights that share 100", () => {
    const r = ask("_pg._tcp.db.prod.svc.cluster.local", "SRV");
    expect(r.answers.map((a) => a.data).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      { priority: 0, weight: 50, port: 5432, target: "10-244-2-6.db.prod.svc.cluster.local" },
      { priority: 0, weight: 50, port: 5432, target: "db-0.db.prod.svc.cluster.local" },
    ]);
    expect(r.additional.map((a) => a.data).sort()).toEqual(["10.244.1.5", "10.244.2.6"]);
  });

  it("answers PTR for cluster IPs and headless endpoints, in-addr.arpa and ip6.arpa", () => {
    expect(data("20.0.96.10.in-addr.arpa", "PTR")).toEqual(["web.default.svc.cluster.local"]);
    expect(data("5.1.244.10.in-addr.arpa", "PTR")).toEqual(["db-0.db.prod.svc.cluster.local"]);
    expect(data(reverseName("fd00::30")!, "PTR")).toEqual(["dual.default.svc.cluster.local"]);
    // Reverse names we know nothing of are not ours (they go upstream).
    expect(index.owns("9.9.9.9.in-addr.arpa")).toBe(false);
    expect(index.owns("20.0.96.10.in-addr.arpa")).toBe(true);
  });

  it("answers ExternalName services with a CNAME, following it when it stays in the zone", () => {
    const out = ask("ext.default.svc.cluster.local", "A");
    expect(out.answers.map((a) => [a.type, a.data])).toEqual([["CNAME", "www.example.com"]]);
    expect(out.chase).toBe("www.example.com");
    const inZone = ask("alias.default.svc.cluster.local", "A");
    expect(inZone.answers.map((a) => [a.type, a.data])).toEqual([
      ["CNAME", "web.default.svc.cluster.local"],
      ["A", "10.96.0.20"],
    ]);
    expect(inZone.chase).toBeUndefined();
    expect(ask("ext.default.svc.cluster.local", "CNAME").answers.map((a) => a.data)).toEqual(["www.example.com"]);
  });

  it("answers pod names from the dashed IP (pods insecure), NODATA for the other family", () => {
    expect(data("10-244-1-5.prod.pod.cluster.local", "A")).toEqual(["10.244.1.5"]);
    expect(data("fd00--1.prod.pod.cluster.local", "AAAA")).toEqual(["fd00::1"]);
    const other = ask("10-244-1-5.prod.pod.cluster.local", "AAAA");
    expect([other.rcode, other.answers.length]).toEqual(["NOERROR", 0]);
    expect(ask("not-an-ip.prod.pod.cluster.local", "A").rcode).toBe("NXDOMAIN");
    expect(ask("10-244-1-500.prod.pod.cluster.local", "A").rcode).toBe("NXDOMAIN");
    expect(ask("prod.pod.cluster.local", "A").rcode).toBe("NOERROR");
  });

  it("answers pod names only for real pods in verified mode, and never when disabled", () => {
    const pods = [{ metadata: { namespace: "prod" }, status: { podIP: "10.244.1.5" } }];
    const verified = new RecordIndex({ services: [], endpointSlices: [], pods }, { pods: "verified" });
    expect(verified.answer({ name: "10-244-1-5.prod.pod.cluster.local", type: "A" }).answers.map((a) => a.data)).toEqual(["10.244.1.5"]);
    expect(verified.answer({ name: "10-244-1-5.other.pod.cluster.local", type: "A" }).rcode).toBe("NXDOMAIN");
    expect(verified.answer({ name: "10-244-1-6.prod.pod.cluster.local", type: "A" }).rcode).toBe("NXDOMAIN");
    const off = new RecordIndex({ services: [], endpointSlices: [], pods }, { pods: "disabled" });
    expect(off.answer({ name: "10-244-1-5.prod.pod.cluster.local", type: "A" }).rcode).toBe("NXDOMAIN");
  });

  it("serves another cluster domain and TTL, and owns nothing outside it", () => {
    const other = new RecordIndex({ services: [svc("a", "b", { clusterIP: "10.0.0.1" })], endpointSlices: [] }, { domain: "corp.internal.", ttl: 30 });
    expect(other.answer({ name: "a.b.svc.corp.internal", type: "A" }).answers).toEqual([{ name: "a.b.svc.corp.internal", type: "A", ttl: 30, class: "IN", data: "10.0.0.1" }]);
    expect(other.owns("a.b.svc.cluster.local")).toBe(false);
    expect(other.owns("example.com")).toBe(false);
    expect(other.owns("xcorp.internal")).toBe(false);
  });

  it("refuses zone transfers and other classes", () => {
    expect(ask("cluster.local", "AXFR").rcode).toBe("REFUSED");
    expect(index.answer({ name: "web.default.svc.cluster.local", type: "A", class: "CH" }).rcode).toBe("REFUSED");
  });
});

describe("address helpers", () => {
  it("reverses IPv4 and IPv6 addresses and round-trips dashed labels", () => {
    expect(reverseName("10.96.0.1")).toBe("1.0.96.10.in-addr.arpa");
    expect(reverseName("2001:db8::1")).toBe(`1.0.0.0.${"0.".repeat(20)}8.b.d.0.1.0.0.2.ip6.arpa`);
    expect(reverseName("nope")).toBeUndefined();
    expect(dashedIP("2001:db8::1")).toBe("2001-db8--1");
    expect(ipFromDashed("2001-db8--1")).toEqual({ ip: "2001:db8::1", type: "AAAA" });
    expect(ipFromDashed("1-2-3-4")).toEqual({ ip: "1.2.3.4", type: "A" });
    expect(ipFromDashed("01-2-3-4")).toBeUndefined();
  });
});
