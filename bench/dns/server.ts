// Book 5.2 and 10.3: the DNS benchmark's server side, run as its own process: our DnsServer on
// 127.0.0.1 with a record index of 1,000 Services, forwarding to a fake upstream also started here.
// Prints {"port": N} on stdout once listening; exits when stdin closes.
import { createSocket } from "node:dgram";
import { DnsMetrics } from "../../packages/dns/src/metrics.js";
import { DnsCache, Forwarder } from "../../packages/dns/src/forward.js";
import { type DnsService, RecordIndex } from "../../packages/dns/src/records.js";
import { DnsServer } from "../../packages/dns/src/server.js";
import { dnsPacket } from "../../packages/dns/src/stub.js";

const services: DnsService[] = [];
for (let i = 0; i < 1000; i++) {
  services.push({ metadata: { name: `svc-${i}`, namespace: `ns-${i % 20}` }, spec: { clusterIP: `10.96.${i >> 8}.${i & 255}`, ports: [{ name: "http", protocol: "TCP", port: 80 }] } });
}
services.push({ metadata: { name: "web", namespace: "default" }, spec: { clusterIP: "10.96.100.1", ports: [{ name: "http", protocol: "TCP", port: 80 }] } });
const index = new RecordIndex({ services, endpointSlices: [] });

// The fake upstream: every question answered with 192.0.2.53 for an hour.
const up = createSocket("udp4");
up.on("message", (msg, rinfo) => {
  const q = dnsPacket.decode(msg);
  const answers = q.questions?.[0]?.type === "A" ? [{ name: q.questions[0].name, type: "A" as const, ttl: 3600, data: "192.0.2.53" }] : [];
  up.send(dnsPacket.encode({ type: "response", id: q.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers }), rinfo.port, rinfo.address);
});
await new Promise<void>((r) => up.bind(0, "127.0.0.1", () => r()));

const metrics = new DnsMetrics();
const forwarder = new Forwarder({ upstreams: [{ host: "127.0.0.1", port: up.address().port }], cache: new DnsCache(), metrics });
const server = new DnsServer({ host: "127.0.0.1", port: 0, index: () => index, forwarder, metrics });
const port = await server.start();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.stdin.resume();
process.stdin.on("end", async () => {
  await server.stop();
  forwarder.close();
  up.close();
  process.exit(0);
});
