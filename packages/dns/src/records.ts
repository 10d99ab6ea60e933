// Book 5.2 and 10.3: cluster DNS records, pure: the names the Kubernetes DNS schema gives Services,
// their endpoints and pods, built into an index that answers one question at a time.
import { isIPv4, isIPv6 } from "node:net";
import type { KubeObject } from "@corekube/api";
import type { Answer, OptAnswer, Question, RecordType, SoaAnswer } from "dns-packet";

/** A resource record (anything but EDNS's OPT pseudo-record). */
export type RR = Exclude<Answer, OptAnswer>;

/** The schema version answered at dns-version.<domain> (Kubernetes DNS specification). */
export const DNS_SCHEMA_VERSION = "1.1.0";
/** Seconds, like the CoreDNS kubernetes plugin's default. */
export const DEFAULT_TTL = 5;
export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";
const LABEL_SERVICE_NAME = "kubernetes.io/service-name";

export interface DnsServicePort {
  name?: string;
  protocol?: string;
  port: number;
}

export interface DnsService extends KubeObject {
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    externalName?: string;
    ports?: DnsServicePort[];
    publishNotReadyAddresses?: boolean;
  };
}

export interface DnsSliceEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
  hostname?: string;
}

export interface DnsEndpointSlice extends KubeObject {
  addressType: string;
  endpoints?: DnsSliceEndpoint[] | null;
  ports?: { name?: string | null; port?: number | null; protocol?: string | null }[] | null;
}

/**
 * How `<dashed-ip>.<ns>.pod.<domain>` is answered: "insecure" gives the IP back from the name (as
 * CoreDNS's `pods insecure`); "verified" only when a pod in that namespace has the IP; "disabled" never.
 */
export type PodsMode = "insecure" | "verified" | "disabled";

export interface IndexInput {
  services: DnsService[];
  endpointSlices: DnsEndpointSlice[];
  /** Only read in "verified" pods mode. */
  pods?: { metadata: { namespace?: string }; status?: { podIP?: string; podIPs?: { ip: string }[] } }[];
}

export interface IndexOptions {
  domain?: string;
  ttl?: number;
  pods?: PodsMode;
  /** The SOA serial; callers pass something that grows with each rebuild (e.g. epoch seconds). */
  serial?: number;
}

export type Rcode = "NOERROR" | "FORMERR" | "SERVFAIL" | "NXDOMAIN" | "NOTIMP" | "REFUSED";

export interface DnsAnswer {
  rcode: Rcode;
  answers: RR[];
  authority: RR[];
  additional: RR[];
  /** Set when the chain ended at a CNAME outside our zones: the caller may resolve it upstream. */
  chase?: string;
}

/** Lower case, no trailing dot: the form every name is compared in. */
export const canonicalName = (name: string): string => {
  const n = name.toLowerCase();
  return n.endsWith(".") && n.length > 1 ? n.slice(0, -1) : n;
};

/** Expand an IPv6 address to its 8 groups of 4 hex digits; undefined when it is not one. */
export function expandIPv6(ip: string): string[] | undefined {
  if (!isIPv6(ip)) return undefined;
  let s = ip.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = v4[1]!.split(".").map(Number);
    s = s.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = s.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.map((g) => g.padStart(4, "0"));
}

/** The reverse-lookup name of an address: d.c.b.a.in-addr.arpa, or the nibbles under ip6.arpa. */
export function reverseName(ip: string): string | undefined {
  if (isIPv4(ip)) return `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
  const g = expandIPv6(ip);
  return g ? `${[...g.join("")].reverse().join(".")}.ip6.arpa` : undefined;
}

/** An address written as a DNS label: dots (IPv4) or colons (IPv6) turned into dashes. */
export const dashedIP = (ip: string): string => ip.toLowerCase().replace(/[.:]/g, "-");

/** The address a dashed label stands for, or undefined. */
export function ipFromDashed(label: string): { ip: string; type: "A" | "AAAA" } | undefined {
  const v4 = label.replace(/-/g, ".");
  if (isIPv4(v4) && v4.split(".").every((o) => o === String(Number(o)))) return { ip: v4, type: "A" };
  const v6 = label.replace(/-/g, ":");
  if (isIPv6(v6) && !v6.includes(".")) return { ip: v6, type: "AAAA" };
  return undefined;
}

const addressType = (ip: string): "A" | "AAAA" | undefined => (isIPv4(ip) ? "A" : isIPv6(ip) ? "AAAA" : undefined);

/** The records of a cluster domain, keyed by canonical name, ready to answer questions. */
export class RecordIndex {
  readonly domain: string;
  readonly ttl: number;
  readonly podsMode: PodsMode;
  private readonly records = new Map<string, RR[]>();
  /** Names that own no record but have some below them (empty non-terminals): NODATA, not NXDOMAIN. */
  private readonly interior = new Set<string>();
  private readonly podIPs = new Set<string>();
  private readonly soa: SoaAnswer;

  constructor(input: IndexInput, opts: IndexOptions = {}) {
    this.domain = canonicalName(opts.domain ?? DEFAULT_CLUSTER_DOMAIN);
    this.ttl = opts.ttl ?? DEFAULT_TTL;
    this.podsMode = opts.pods ?? "insecure";
    const d = this.domain;
    this.soa = {
      name: d,
      type: "SOA",
      ttl: this.ttl,
      class: "IN",
      data: { mname: `ns.dns.${d}`, rname: `hostmaster.${d}`, serial: (opts.serial ?? 1) >>> 0, refresh: 7200, retry: 1800, expire: 86400, minimum: this.ttl },
    };
    this.add(this.soa);
    this.add({ name: d, type: "NS", ttl: this.ttl, class: "IN", data: `ns.dns.${d}` });
    this.add({ name: `dns-version.${d}`, type: "TXT", ttl: this.ttl, class: "IN", data: DNS_SCHEMA_VERSION });
    this.interior.add(`svc.${d}`);
    this.interior.add(`pod.${d}`);

    const slicesBySvc = new Map<string, DnsEndpointSlice[]>();
    for (const s of input.endpointSlices) {
      const svc = s.metadata.labels?.[LABEL_SERVICE_NAME];
      if (!svc) continue;
      const key = `${s.metadata.namespace ?? ""}/${svc}`;
      const list = slicesBySvc.get(key);
      if (list) list.push(s);
      else slicesBySvc.set(key, [s]);
    }
    for (const svc of input.services) this.addService(svc, slicesBySvc.get(`${svc.metadata.namespace ?? ""}/${svc.metadata.name}`) ?? []);
    if (this.podsMode === "verified") {
      for (const p of input.pods ?? []) {
        const ips = new Set([p.status?.podIP, ...(p.status?.podIPs ?? []).map((x) => x.ip)].filter((x): x is string => !!x));
        for (const ip of ips) this.podIPs.add(`${p.metadata.namespace ?? ""}/${ip.toLowerCase()}`);
      }
    }
    this.weighSRV();
    for (const name of this.records.keys()) this.markInterior(name);
  }

  /** Whether this index speaks for `name`: inside the cluster domain, or a reverse name it has a PTR for. */
  owns(name: string): boolean {
    const n = canonicalName(name);
    if (n === this.domain || n.endsWith(`.${this.domain}`)) return true;
    return (n.endsWith(".in-addr.arpa") || n.endsWith(".ip6.arpa")) && this.records.has(n);
  }

  /** Answer one question as an authoritative server for the cluster domain (names match in any case). */
  answer(q: Question): DnsAnswer {
    const res = this.resolve(q);
    // The owner name is echoed as asked: some clients (0x20 randomisation) check it letter for letter.
    const asked = q.name.endsWith(".") && q.name.length > 1 ? q.name.slice(0, -1) : q.name;
    const canon = canonicalName(asked);
    if (asked !== canon) res.answers = res.answers.map((r) => (r.name === canon ? { ...r, name: asked } : r));
    return res;
  }

  private resolve(q: Question): DnsAnswer {
    const qclass = q.class ?? "IN";
    if (qclass !== "IN" && qclass !== "ANY") return this.result("REFUSED", []);
    if (q.type === "AXFR" || q.type === "IXFR") return this.result("REFUSED", []);
    const answers: RR[] = [];
    let name = canonicalName(q.name);
    const seen = new Set<string>();
    for (let hops = 0; hops < 8; hops++) {
      if (!this.owns(name)) return { rcode: "NOERROR", answers, authority: [], additional: [], chase: name };
      seen.add(name);
      const rrs = this.lookup(name);
      if (rrs === undefined) {
        // A dangling CNAME inside the zone still answers NOERROR with what it has, as resolvers expect.
        return answers.length ? this.result("NOERROR", answers) : this.negative("NXDOMAIN");
      }
      const matching = (q.type as string) === "ANY" ? rrs : rrs.filter((r) => r.type === q.type);
      if (matching.length) {
        answers.push(...matching);
        return { ...this.result("NOERROR", answers), additional: this.additionalFor(matching) };
      }
      const cname = rrs.find((r) => r.type === "CNAME");
      if (!cname || q.type === "CNAME") return answers.length ? this.result("NOERROR", answers) : this.negative("NOERROR");
      answers.push(cname);
      name = canonicalName(cname.data as string);
      if (seen.has(name)) return this.result("SERVFAIL", answers);
    }
    return this.result("SERVFAIL", answers);
  }

  /** The number of names that own records (for logs and metrics). */
  get size(): number {
    return this.records.size;
  }

  // ---- building

  private add(rr: RR): void {
    const list = this.records.get(rr.name);
    if (!list) this.records.set(rr.name, [rr]);
    else if (!list.some((r) => r.type === rr.type && JSON.stringify(r.data) === JSON.stringify(rr.data))) list.push(rr);
  }

  private addAddress(name: string, ip: string): void {
    const type = addressType(ip);
    if (type) this.add({ name, type, ttl: this.ttl, class: "IN", data: ip.toLowerCase() });
  }

  private addPTR(ip: string, target: string): void {
    const rev = reverseName(ip);
    if (rev) this.add({ name: rev, type: "PTR", ttl: this.ttl, class: "IN", data: target });
  }

  private addSRV(name: string, port: number, target: string): void {
    this.add({ name, type: "SRV", ttl: this.ttl, class: "IN", data: { priority: 0, weight: 100, port, target } });
  }

  private addService(svc: DnsService, slices: DnsEndpointSlice[]): void {
    const ns = svc.metadata.namespace;
    if (!ns || !svc.metadata.name) return;
    const base = `${svc.metadata.name}.${ns}.svc.${this.domain}`.toLowerCase();
    const spec = svc.spec ?? {};
    if (spec.type === "ExternalName") {
      if (spec.externalName) this.add({ name: base, type: "CNAME", ttl: this.ttl, class: "IN", data: canonicalName(spec.externalName) });
      return;
    }
    const clusterIPs = (spec.clusterIPs?.length ? spec.clusterIPs : [spec.clusterIP ?? ""]).filter((ip) => ip && ip !== "None");
    if (clusterIPs.length) {
      for (const ip of clusterIPs) {
        this.addAddress(base, ip);
        this.addPTR(ip, base);
      }
      for (const p of spec.ports ?? []) if (p.name) this.addSRV(`_${p.name}._${(p.protocol ?? "TCP").toLowerCase()}.${base}`.toLowerCase(), p.port, base);
      return;
    }
    if (spec.clusterIP !== "None") return; // not yet allocated: nothing to say about it
    // Headless: the ready endpoints, each under its hostname (or its dashed address).
    const publishNotReady = spec.publishNotReadyAddresses === true;
    for (const slice of slices) {
      if (slice.addressType !== "IPv4" && slice.addressType !== "IPv6") continue;
      for (const ep of slice.endpoints ?? []) {
        if (!publishNotReady && ep.conditions?.ready === false) continue;
        for (const ip of ep.addresses ?? []) {
          if (!addressType(ip)) continue;
          const host = `${(ep.hostname || dashedIP(ip)).toLowerCase()}.${base}`;
          this.addAddress(base, ip);
          this.addAddress(host, ip);
          this.addPTR(ip, host);
          for (const p of slice.ports ?? []) {
            if (p.name && p.port) this.addSRV(`_${p.name}._${(p.protocol ?? "TCP").toLowerCase()}.${base}`.toLowerCase(), p.port, host);
          }
        }
      }
    }
  }

  /** RFC 2782 weights: the records of one SRV set share 100 between them. */
  private weighSRV(): void {
    for (const rrs of this.records.values()) {
      const srv = rrs.filter((r) => r.type === "SRV");
      if (srv.length < 2) continue;
      const w = Math.max(1, Math.floor(100 / srv.length));
      for (const r of srv) (r.data as { weight: number }).weight = w;
    }
  }

  private markInterior(name: string): void {
    const suffix = name.endsWith(".in-addr.arpa") || name.endsWith(".ip6.arpa") ? undefined : this.domain;
    if (!suffix) return;
    let n = name;
    while (n !== suffix) {
      const dot = n.indexOf(".");
      if (dot < 0) return;
      n = n.slice(dot + 1);
      if (n !== suffix && !this.records.has(n)) this.interior.add(n);
    }
  }

  // ---- answering

  /** The records a name owns: [] for a name that exists with none, undefined for one that does not. */
  private lookup(name: string): RR[] | undefined {
    const rrs = this.records.get(name);
    if (rrs) return rrs;
    if (this.interior.has(name)) return [];
    const podSuffix = `.pod.${this.domain}`;
    if (name.endsWith(podSuffix) && this.podsMode !== "disabled") {
      const labels = name.slice(0, -podSuffix.length).split(".");
      if (labels.length === 1) return this.podsMode === "insecure" || this.podNamespace(labels[0]!) ? [] : undefined;
      if (labels.length !== 2) return undefined;
      const ip = ipFromDashed(labels[0]!);
      if (!ip) return undefined;
      if (this.podsMode === "verified" && !this.podIPs.has(`${labels[1]}/${ip.ip}`)) return undefined;
      return [{ name, type: ip.type, ttl: this.ttl, class: "IN", data: ip.ip }];
    }
    return undefined;
  }

  private podNamespace(ns: string): boolean {
    for (const k of this.podIPs) if (k.startsWith(`${ns}/`)) return true;
    return false;
  }

  /** A and AAAA records of in-zone SRV targets, for the additional section. */
  private additionalFor(rrs: RR[]): RR[] {
    const out: RR[] = [];
    const targets = new Set<string>();
    for (const r of rrs) if (r.type === "SRV") targets.add((r.data as { target: string }).target);
    for (const t of targets) for (const r of this.records.get(t) ?? []) if (r.type === "A" || r.type === "AAAA") out.push(r);
    return out;
  }

  private result(rcode: Rcode, answers: RR[]): DnsAnswer {
    return { rcode, answers, authority: [], additional: [] };
  }

  /** NXDOMAIN, or NOERROR with no answers (NODATA): either way the zone's SOA says how long to remember it. */
  private negative(rcode: "NXDOMAIN" | "NOERROR"): DnsAnswer {
    return { rcode, answers: [], authority: [this.soa], additional: [] };
  }
}

/** Build the index for a cluster domain from the API objects. */
export function buildIndex(input: IndexInput, opts: IndexOptions = {}): RecordIndex {
  return new RecordIndex(input, opts);
}

/** The record type names a question may carry, for metrics labels. */
export const KNOWN_QTYPES: ReadonlySet<RecordType | "ANY"> = new Set(["A", "AAAA", "SRV", "PTR", "TXT", "CNAME", "SOA", "NS", "MX", "ANY"]);
