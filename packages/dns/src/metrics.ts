// Book 5.2 and 10.3: the cluster DNS server's Prometheus metrics, named like CoreDNS's so the same
// dashboards read them: requests by type and transport, responses by rcode, latency, cache use.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { KNOWN_QTYPES } from "./records.js";

export class DnsMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "coredns_dns_requests_total",
    help: "DNS queries received, by query type and transport.",
    labelNames: ["type", "proto"] as const,
    registers: [this.registry],
  });
  readonly responses = new Counter({
    name: "coredns_dns_responses_total",
    help: "DNS responses sent, by response code.",
    labelNames: ["rcode"] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: "coredns_dns_request_duration_seconds",
    help: "Time from a query's arrival to its response, by query type.",
    labelNames: ["type"] as const,
    buckets: [0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192],
    registers: [this.registry],
  });
  readonly cacheHits = new Counter({
    name: "coredns_cache_hits_total",
    help: "Forwarded questions answered from the cache, by kind (success or denial).",
    labelNames: ["type"] as const,
    registers: [this.registry],
  });
  readonly cacheMisses = new Counter({
    name: "coredns_cache_misses_total",
    help: "Forwarded questions the cache could not answer.",
    registers: [this.registry],
  });
  readonly cacheEntries = new Gauge({
    name: "coredns_cache_entries",
    help: "Answers held in the cache, by kind.",
    labelNames: ["type"] as const,
    registers: [this.registry],
  });
  readonly forwardRequests = new Counter({
    name: "coredns_forward_requests_total",
    help: "Queries sent to upstream resolvers, by upstream.",
    labelNames: ["to"] as const,
    registers: [this.registry],
  });
  readonly forwardFailures = new Counter({
    name: "coredns_forward_failures_total",
    help: "Forwarded questions no upstream answered (answered SERVFAIL).",
    registers: [this.registry],
  });
  readonly records = new Gauge({
    name: "corekube_dns_index_names",
    help: "Names in the cluster zone's record index.",
    registers: [this.registry],
  });

  // Per-label-set children, looked up once: the hot path then skips prom-client's label hashing.
  private readonly children = new Map<string, { inc(): void } | { observe(v: number): void }>();

  countRequest(type: string, proto: string): void {
    const k = `q|${type}|${proto}`;
    let c = this.children.get(k) as { inc(): void } | undefined;
    if (!c) this.children.set(k, (c = this.requests.labels(type, proto)));
    c.inc();
  }

  countResponse(rcode: string): void {
    const k = `r|${rcode}`;
    let c = this.children.get(k) as { inc(): void } | undefined;
    if (!c) this.children.set(k, (c = this.responses.labels(rcode)));
    c.inc();
  }

  observeDuration(type: string, seconds: number): void {
    const k = `d|${type}`;
    let c = this.children.get(k) as { observe(v: number): void } | undefined;
    if (!c) this.children.set(k, (c = this.duration.labels(type)));
    c.observe(seconds);
  }

  /** A query type as a label: the common ones by name, the rest as "other" (bounded cardinality). */
  static typeLabel(t: string | undefined): string {
    return t && KNOWN_QTYPES.has(t as never) ? t : "other";
  }
}
