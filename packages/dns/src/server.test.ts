// Book 5.2 and 10.3: the cluster DNS server on real sockets: queries over UDP and TCP on loopback,
// truncation, malformed packets, and forwarding (with its cache) to a fake upstream in the test.
import { createSocket, type Socket } from "node:dgram";
import { connect } from "node:net";
import dnsPacket, { type DecodedPacket, type Packet } from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DnsCache, Forwarder, parseResolvConf, parseUpstream, upstreamsFromResolvConf, withLength } from "./forward.js";
import { DnsMetrics } from "./metrics.js";
import { RecordIndex } from "./records.js";
import { DnsServer } from "./server.js";

type Decoded = DecodedPacket & { rcode: string };

/** A fake upstream resolver: answers example.com and nxdomain.example from a table, counts queries. */
class FakeUpstream {
  readonly sock: Socket = createSocket("udp4");
  queries: string[] = [];
  silent = false;
  async start(): Promise<number> {
    this.sock.on("message", (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      const question = q.questions![0]!;
      this.queries.push(`${question.name} ${question.type}`);
      if (this.silent) return;
      let res: Packet;
      if (question.name === "www.example.com" || question.name === "example.com") {
        res = { type: "response", id: q.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers: [{ name: question.name, type: "A", ttl: 300, data: "192.0.2.53" }] };
      } else {
        const soa = { name: "example", type: "SOA" as const, ttl: 60, data: { mname: "ns.example", rname: "h.example", serial: 1, minimum: 60 } };
        res = { type: "response", id: q.id, flags: dnsPacket.RECURSION_AVAILABLE | 3, questions: q.questions, authorities: [soa] };
      }
      this.sock.send(dnsPacket.encode(res), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => this.sock.bind(0, "127.0.0.1", () => r()));
    return this.sock.address().port;
  }
  count(name: string): number {
    return this.queries.filter((q) => q.startsWith(`${name} `)).length;
  }
}

const many = Array.from({ length: 60 }, (_, i) => ({ addresses: [`10.244.0.${i + 1}`], conditions: { ready: true }, hostname: `pod-with-a-fairly-long-hostname-${i}` }));
const index = new RecordIndex({
  services: [
    { metadata: { name: "web", namespace: "default" }, spec: { clusterIP: "10.96.0.20", clusterIPs: ["10.96.0.20", "fd00::20"], ports: [{ name: "http", protocol: "TCP", port: 80 }] } },
    { metadata: { name: "big", namespace: "default" }, spec: { clusterIP: "None", ports: [{ name: "http", protocol: "TCP", port: 80 }] } },
    { metadata: { name: "mid", namespace: "default" }, spec: { clusterIP: "None", ports: [{ name: "http", protocol: "TCP", port: 80 }] } },
    { metadata: { name: "ext", namespace: "default" }, spec: { type: "ExternalName", externalName: "www.example.com" } },
  ],
  endpointSlices: [
    { metadata: { name: "big-1", namespace: "default", labels: { "kubernetes.io/service-name": "big" } }, addressType: "IPv4", endpoints: many, ports: [{ name: "http", port: 80, protocol: "TCP" }] },
    { metadata: { name: "mid-1", namespace: "default", labels: { "kubernetes.io/service-name": "mid" } }, addressType: "IPv4", endpoints: many.slice(0, 6), ports: [{ name: "http", port: 80, protocol: "TCP" }] },
  ],
});

let upstream: FakeUpstream;
let server: DnsServer;
let port: number;
let client: Socket;
let nextId = 1;

beforeAll(async () => {
  upstream = new FakeUpstream();
  const upPort = await upstream.start();
  const metrics = new DnsMetrics();
  const forwarder = new Forwarder({ upstreams: [{ host: "127.0.0.1", port: upPort }], timeoutMs: 300, metrics });
  server = new DnsServer({ host: "127.0.0.1", port: 0, index: () => index, forwarder, metrics });
  port = await server.start();
  client = createSocket("udp4");
  await new Promise<void>((r) => client.bind(0, "127.0.0.1", () => r()));
});

afterAll(async () => {
  client?.close();
  await server?.stop();
  upstream?.sock.close();
});

/** Send raw bytes over UDP and wait for the reply with that id (or undefined after `ms`). */
function udpRaw(msg: Buffer, ms = 2000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const id = msg.length >= 2 ? msg.readUInt16BE(0) : -1;
    const timer = setTimeout(() => {
      client.off("message", on);
      resolve(undefined);
    }, ms);
    const on = (m: Buffer) => {
      if (m.readUInt16BE(0) !== id) return;
      clearTimeout(timer);
      client.off("message", on);
      resolve(m);
    };
    client.on("message", on);
    client.send(msg, port, "127.0.0.1");
  });
}

async function udp(name: string, type: string, extra: Partial<Packet> = {}): Promise<Decoded> {
  const id = nextId++;
  const out = await udpRaw(dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as "A" }], ...extra }));
  if (!out) throw new Error(`no answer to ${name} ${type}`);
  return dnsPacket.decode(out) as Decoded;
}

function tcp(name: string, type: string): Promise<Decoded> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    const s = connect({ host: "127.0.0.1", port }, () => s.write(withLength(dnsPacket.encode({ type: "query", id, questions: [{ name, type: type as "A" }] }))));
    let buf = Buffer.alloc(0);
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        s.end();
        resolve(dnsPacket.decode(buf.subarray(2)) as Decoded);
      }
    });
    s.on("error", reject);
  });
}

describe("DnsServer", () => {
  it("answers A and AAAA over UDP, authoritatively, with the id and question echoed", async () => {
    const a = await udp("web.default.svc.cluster.local", "A");
    expect([a.rcode, a.flag_aa, a.flag_qr, a.flag_rd]).toEqual(["NOERROR", true, true, true]);
    expect(a.questions).toEqual([{ name: "web.default.svc.cluster.local", type: "A", class: "IN" }]);
    expect(a.answers!.map((r) => [r.type, (r as { data: unknown }).data, (r as { ttl: number }).ttl])).toEqual([["A", "10.96.0.20", 5]]);
    const aaaa = await udp("web.default.svc.cluster.local", "AAAA");
    expect(aaaa.answers!.map((r) => (r as { data: unknown }).data)).toEqual(["fd00::20"]);
  });

  it("answers SRV and PTR, and the same over TCP", async () => {
    const srv = await tcp("_http._tcp.web.default.svc.cluster.local", "SRV");
    expect(srv.answers!.map((r) => (r as { data: unknown }).data)).toEqual([{ priority: 0, weight: 100, port: 80, target: "web.default.svc.cluster.local" }]);
    expect(srv.additionals!.map((r) => (r as { data: unknown }).data)).toEqual(["10.96.0.20", "fd00::20"]);
    const ptr = await udp("20.0.96.10.in-addr.arpa", "PTR");
    expect(ptr.answers!.map((r) => (r as { data: unknown }).data)).toEqual(["web.default.svc.cluster.local"]);
  });

  it("tells NXDOMAIN from NODATA on the wire, both with the zone's SOA", async () => {
    const nx = await udp("nope.default.svc.cluster.local", "A");
    expect([nx.rcode, nx.answers!.length, nx.authorities!.map((r) => r.type)]).toEqual(["NXDOMAIN", 0, ["SOA"]]);
    const nodata = await udp("web.default.svc.cluster.local", "TXT");
    expect([nodata.rcode, nodata.answers!.length, nodata.authorities!.map((r) => r.type)]).toEqual(["NOERROR", 0, ["SOA"]]);
  });

  it("sets TC on a UDP answer over 512 bytes, sends it whole over TCP, and honours a larger EDNS0 size", async () => {
    const small = await udp("big.default.svc.cluster.local", "A");
    expect(small.flag_tc).toBe(true);
    expect(small.answers).toEqual([]);
    const full = await tcp("big.default.svc.cluster.local", "A");
    expect(full.flag_tc).toBe(false);
    expect(full.answers).toHaveLength(60);
    const opt = { type: "OPT" as const, name: ".", udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
    const edns = await udp("big.default.svc.cluster.local", "A", { additionals: [opt] });
    expect(edns.flag_tc).toBe(false);
    expect(edns.answers).toHaveLength(60);
    expect(edns.additionals!.some((r) => r.type === "OPT")).toBe(true);
    // Six SRV answers fit 1000 bytes, their additional A records too would not: those go first.
    const srv = await udp("_http._tcp.mid.default.svc.cluster.local", "SRV", { additionals: [{ ...opt, udpPayloadSize: 1000 }] });
    expect(srv.flag_tc).toBe(false);
    expect(srv.answers).toHaveLength(6);
    expect(srv.additionals!.map((r) => r.type)).toEqual(["OPT"]);
    const srvTcp = await tcp("_http._tcp.mid.default.svc.cluster.local", "SRV");
    expect(srvTcp.additionals!.map((r) => r.type)).toEqual(Array(6).fill("A"));
  });

  it("answers garbage with FORMERR or not at all, and keeps serving", async () => {
    expect(await udpRaw(Buffer.from([1, 2, 3]), 300)).toBeUndefined();
    const bad = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65]);
    const r = await udpRaw(bad);
    expect(r).toBeDefined();
    const h = dnsPacket.decode(r!) as Decoded;
    expect([h.id, h.rcode, h.flag_qr]).toEqual([0x1234, "FORMERR", true]);
    // Two questions: FORMERR too. A response sent to us: dropped.
    const two = await udp("web.default.svc.cluster.local", "A", { questions: [{ name: "a", type: "A" }, { name: "b", type: "A" }] });
    expect(two.rcode).toBe("FORMERR");
    const resp = dnsPacket.encode({ type: "response", id: 999, questions: [{ name: "a", type: "A" }] });
    expect(await udpRaw(resp, 300)).toBeUndefined();
    // Half a TCP frame then a hang-up must not hurt either.
    await new Promise<void>((resolve) => {
      const s = connect({ host: "127.0.0.1", port }, () => s.end(Buffer.from([0, 40, 1, 2])));
      s.on("close", () => resolve());
      s.on("error", () => resolve());
    });
    expect((await udp("web.default.svc.cluster.local", "A")).rcode).toBe("NOERROR");
  });

  it("survives thousands of mangled queries without throwing", async () => {
    const good = dnsPacket.encode({ type: "query", id: 7, questions: [{ name: "web.default.svc.cluster.local", type: "SRV" }], additionals: [{ type: "OPT", name: ".", udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] });
    let seed = 1;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    let answered = 0;
    for (let i = 0; i < 3000; i++) {
      const m = Buffer.from(good.subarray(0, 12 + (rand() % (good.length - 11))));
      for (let k = 0; k < 1 + (rand() % 4); k++) m[rand() % m.length] = rand() & 0xff;
      m[2]! &= 0x7f; // keep it a query, so it is not simply dropped
      const out = await server.handle(m, rand() % 2 ? "udp" : "tcp");
      if (out) {
        answered++;
        expect(out.readUInt16BE(0)).toBe(m.readUInt16BE(0));
      }
    }
    expect(answered).toBeGreaterThan(2000);
    expect((await udp("web.default.svc.cluster.local", "A")).rcode).toBe("NOERROR");
  });

  it("forwards other names upstream and caches the answer and the denial", async () => {
    const before = upstream.count("example.com");
    const first = await udp("example.com", "A");
    expect([first.rcode, first.flag_aa, first.flag_ra]).toEqual(["NOERROR", false, true]);
    expect(first.answers!.map((r) => (r as { data: unknown }).data)).toEqual(["192.0.2.53"]);
    const second = await udp("EXAMPLE.com", "A");
    expect(second.answers!.map((r) => (r as { data: unknown }).data)).toEqual(["192.0.2.53"]);
    expect((second.answers![0] as { ttl: number }).ttl).toBeLessThanOrEqual(300);
    expect(upstream.count("example.com") - before).toBe(1);

    const nx1 = await udp("missing.example", "A");
    const nx2 = await udp("missing.example", "A");
    expect([nx1.rcode, nx2.rcode]).toEqual(["NXDOMAIN", "NXDOMAIN"]);
    expect(upstream.count("missing.example")).toBe(1);
    const text = await server.metrics.registry.metrics();
    expect(text).toMatch(/coredns_cache_hits_total\{type="success"\} [1-9]/);
    expect(text).toMatch(/coredns_cache_hits_total\{type="denial"\} [1-9]/);
    expect(text).toMatch(/coredns_dns_requests_total\{type="A",proto="udp"\} [1-9]/);
    expect(text).toMatch(/coredns_dns_responses_total\{rcode="NXDOMAIN"\} [1-9]/);
  });

  it("follows an ExternalName's CNAME upstream", async () => {
    const r = await udp("ext.default.svc.cluster.local", "A");
    expect(r.answers!.map((a) => [a.type, (a as { data: unknown }).data])).toEqual([
      ["CNAME", "www.example.com"],
      ["A", "192.0.2.53"],
    ]);
  });

  it("answers SERVFAIL when the upstream stays silent", async () => {
    upstream.silent = true;
    try {
      const r = await udp("silent.example.org", "A");
      expect(r.rcode).toBe("SERVFAIL");
      expect(upstream.count("silent.example.org")).toBe(1);
    } finally {
      upstream.silent = false;
    }
  });
});

describe("forwarding helpers", () => {
  it("reads nameservers from resolv.conf and skips a loopback one that is ourselves", () => {
    const text = "# comment\nsearch svc.cluster.local\nnameserver 127.0.0.53\nnameserver 192.0.2.1 # office\nnameserver fe80::1%eth0\nnameserver bogus\noptions ndots:5\n";
    expect(parseResolvConf(text)).toEqual(["127.0.0.53", "192.0.2.1", "fe80::1"]);
    expect(upstreamsFromResolvConf(text, { host: "0.0.0.0", port: 53 }).map((u) => u.host)).toEqual(["192.0.2.1", "fe80::1"]);
    expect(upstreamsFromResolvConf(text, { host: "10.96.0.10", port: 53 }).map((u) => u.host)).toEqual(["127.0.0.53", "192.0.2.1", "fe80::1"]);
    expect(upstreamsFromResolvConf(text, { host: "0.0.0.0", port: 5353 }).map((u) => u.host)).toContain("127.0.0.53");
  });

  it("parses upstream addresses and rejects bad ones clearly", () => {
    expect(parseUpstream("1.1.1.1")).toEqual({ host: "1.1.1.1", port: 53 });
    expect(parseUpstream("127.0.0.1:5353")).toEqual({ host: "127.0.0.1", port: 5353 });
    expect(parseUpstream("[::1]:5353")).toEqual({ host: "::1", port: 5353 });
    expect(parseUpstream("::1")).toEqual({ host: "::1", port: 53 });
    expect(() => parseUpstream("dns.google")).toThrow(/not an IP address/);
    expect(() => parseUpstream("1.1.1.1:99999")).toThrow(/bad port/);
  });

  it("keeps answers no longer than their TTL, counts TTLs down, and stays within its size", () => {
    let now = 0;
    const cache = new DnsCache({ maxEntries: 2, now: () => now });
    const q = (name: string) => ({ name, type: "A" as const });
    const ok = (ttl: number) => ({ rcode: "NOERROR" as const, answers: [{ name: "x", type: "A" as const, ttl, data: "192.0.2.1" }], authority: [], additional: [] });
    cache.put(q("a"), ok(10));
    now = 4000;
    expect((cache.get(q("A."))!.result.answers[0] as { ttl: number }).ttl).toBe(6);
    now = 10_000;
    expect(cache.get(q("a"))).toBeUndefined();
    cache.put(q("a"), ok(100));
    cache.put(q("b"), ok(100));
    cache.get(q("a"));
    cache.put(q("c"), ok(100));
    expect([!!cache.get(q("a")), !!cache.get(q("b")), !!cache.get(q("c"))]).toEqual([true, false, true]);
    cache.put(q("d"), { rcode: "SERVFAIL", answers: [], authority: [], additional: [] });
    expect(cache.get(q("d"))).toBeUndefined();
  });
});
