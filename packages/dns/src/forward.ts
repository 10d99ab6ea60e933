// Book 5.2 and 10.3: names outside the cluster domain: sent on to the node's upstream resolvers (from
// resolv.conf), with a timeout, SERVFAIL when none answers, and a bounded cache of answers and denials.
import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import { connect } from "node:net";
import dnsPacket, { type Answer, type DecodedPacket, type Question } from "dns-packet";
import type { DnsMetrics } from "./metrics.js";
import { canonicalName, type Rcode } from "./records.js";

export interface Upstream {
  host: string;
  port: number;
}

export interface ForwardResult {
  rcode: Rcode;
  answers: Answer[];
  authority: Answer[];
  additional: Answer[];
}

// ---- resolv.conf

/** The nameserver lines of a resolv.conf, in order (comments and other options ignored). */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const m = /^nameserver\s+(\S+)$/.exec(line);
    if (!m) continue;
    const ip = m[1]!.replace(/%.*$/, ""); // drop an IPv6 zone id
    if (isIP(ip)) out.push(ip);
  }
  return out;
}

const isLoopback = (ip: string): boolean => ip.startsWith("127.") || ip === "::1";
const isWildcard = (ip: string): boolean => ip === "0.0.0.0" || ip === "::" || ip === "";

/**
 * Upstreams from resolv.conf nameservers (port 53), leaving out loopback ones that are really us: we
 * listen on port 53 on that address or on every address, so the query would come straight back.
 */
export function upstreamsFromResolvConf(text: string, self?: Upstream): Upstream[] {
  return parseResolvConf(text)
    .filter((ip) => !(isLoopback(ip) && self && self.port === 53 && (isWildcard(self.host) || self.host === ip)))
    .map((host) => ({ host, port: 53 }));
}

/** "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:5353" → an upstream; a clear error otherwise. */
export function parseUpstream(s: string): Upstream {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  let host: string;
  let port = 53;
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2]) port = Number(bracket[2]);
  } else if (isIP(s) === 6) {
    host = s;
  } else {
    const m = /^([^:]+)(?::(\d+))?$/.exec(s);
    if (!m) throw new Error(`upstream ${JSON.stringify(s)}: want IP or IP:port`);
    host = m[1]!;
    if (m[2]) port = Number(m[2]);
  }
  if (!isIP(host)) throw new Error(`upstream ${JSON.stringify(s)}: ${JSON.stringify(host)} is not an IP address`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`upstream ${JSON.stringify(s)}: bad port`);
  return { host, port };
}

// ---- cache

interface CacheEntry {
  result: ForwardResult;
  stored: number;
  expires: number;
  denial: boolean;
}

export interface CacheOptions {
  /** Entries kept at most; the least recently used go first. */
  maxEntries?: number;
  /** Upper bounds on how long an answer (success) or a denial is kept, seconds. */
  maxTtl?: number;
  maxDenialTtl?: number;
  /** Denials without an SOA to say how long: seconds to keep them. */
  defaultDenialTtl?: number;
  now?: () => number;
}

/** A bounded cache of forwarded answers; TTLs are counted down on the way out. */
export class DnsCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly max: number;
  private readonly maxTtl: number;
  private readonly maxDenialTtl: number;
  private readonly defaultDenialTtl: number;
  private readonly now: () => number;

  constructor(o: CacheOptions = {}) {
    this.max = o.maxEntries ?? 10_000;
    this.maxTtl = o.maxTtl ?? 3600;
    this.maxDenialTtl = o.maxDenialTtl ?? 1800;
    this.defaultDenialTtl = o.defaultDenialTtl ?? 30;
    this.now = o.now ?? Date.now;
  }

  static key(q: Question): string {
    return `${canonicalName(q.name)}|${q.type}|${q.class ?? "IN"}`;
  }

  get size(): number {
    return this.entries.size;
  }

  counts(): { success: number; denial: number } {
    let denial = 0;
    for (const e of this.entries.values()) if (e.denial) denial++;
    return { success: this.entries.size - denial, denial };
  }

  get(q: Question): { result: ForwardResult; denial: boolean } | undefined {
    const key = DnsCache.key(q);
    const e = this.entries.get(key);
    if (!e) return undefined;
    const now = this.now();
    if (now >= e.expires) {
      this.entries.delete(key);
      return undefined;
    }
    // Most recently used goes to the back.
    this.entries.delete(key);
    this.entries.set(key, e);
    const age = Math.floor((now - e.stored) / 1000);
    const down = (rrs: Answer[]) => rrs.map((r) => (r.type === "OPT" ? r : { ...r, ttl: Math.max(0, (r.ttl ?? 0) - age) }));
    return { result: { ...e.result, answers: down(e.result.answers), authority: down(e.result.authority), additional: down(e.result.additional) }, denial: e.denial };
  }

  /** Store an upstream's answer for as long as its TTLs allow; SERVFAIL and the like are not kept. */
  put(q: Question, result: ForwardResult): void {
    const denial = result.rcode === "NXDOMAIN" || (result.rcode === "NOERROR" && result.answers.length === 0);
    if (result.rcode !== "NOERROR" && result.rcode !== "NXDOMAIN") return;
    let ttl: number;
    if (denial) {
      const soa = result.authority.find((r) => r.type === "SOA");
      const min = soa ? Math.min(soa.ttl ?? 0, (soa.data as { minimum?: number }).minimum ?? 0) : this.defaultDenialTtl;
      ttl = Math.min(min, this.maxDenialTtl);
    } else {
      ttl = Math.min(this.maxTtl, ...result.answers.map((r) => (r.type === "OPT" ? 0 : (r.ttl ?? 0))));
    }
    if (ttl <= 0) return;
    const key = DnsCache.key(q);
    this.entries.delete(key);
    while (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    const now = this.now();
    this.entries.set(key, { result, stored: now, expires: now + ttl * 1000, denial });
  }

  clear(): void {
    this.entries.clear();
  }
}

// ---- the forwarder

export interface ForwarderOptions {
  upstreams: Upstream[];
  /** Per upstream try, ms. */
  timeoutMs?: number;
  cache?: DnsCache | false;
  metrics?: DnsMetrics;
}

interface Pending {
  resolve: (p: DecodedPacket) => void;
  q: Question;
}

const RCODES: readonly Rcode[] = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

/** Sends questions to upstream resolvers over one UDP socket per family (TCP when truncated). */
export class Forwarder {
  readonly upstreams: Upstream[];
  readonly cache: DnsCache | undefined;
  private readonly timeoutMs: number;
  private readonly metrics: DnsMetrics | undefined;
  private readonly sockets = new Map<"udp4" | "udp6", Socket>();
  private readonly pending = new Map<string, Pending>();
  private readonly inflight = new Map<string, Promise<ForwardResult>>();
  private closed = false;

  constructor(o: ForwarderOptions) {
    this.upstreams = o.upstreams;
    this.timeoutMs = o.timeoutMs ?? 2000;
    this.cache = o.cache === false ? undefined : (o.cache ?? new DnsCache());
    this.metrics = o.metrics;
  }

  /** The answer for `q`, from the cache or the first upstream that gives one; SERVFAIL if none does. */
  async resolve(q: Question): Promise<ForwardResult> {
    const hit = this.cache?.get(q);
    if (hit) {
      this.metrics?.cacheHits.inc({ type: hit.denial ? "denial" : "success" });
      return hit.result;
    }
    if (this.cache) this.metrics?.cacheMisses.inc();
    // Identical questions in flight share one upstream query.
    const key = DnsCache.key(q);
    let p = this.inflight.get(key);
    if (!p) {
      p = this.ask(q).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async ask(q: Question): Promise<ForwardResult> {
    for (const up of this.upstreams) {
      if (this.closed) break;
      this.metrics?.forwardRequests.inc({ to: `${up.host}:${up.port}` });
      let res: DecodedPacket | undefined;
      try {
        res = await this.askUdp(up, q);
        if (res?.flag_tc) res = await this.askTcp(up, q);
      } catch {
        res = undefined;
      }
      if (!res) continue;
      const rcode = (res as DecodedPacket & { rcode?: string }).rcode as Rcode;
      if (rcode === "SERVFAIL" || rcode === "REFUSED" || !RCODES.includes(rcode)) continue;
      const result: ForwardResult = {
        rcode,
        answers: res.answers ?? [],
        authority: res.authorities ?? [],
        additional: (res.additionals ?? []).filter((r) => r.type !== "OPT"),
      };
      this.cache?.put(q, result);
      if (this.cache && this.metrics) {
        const c = this.cache.counts();
        this.metrics.cacheEntries.set({ type: "success" }, c.success);
        this.metrics.cacheEntries.set({ type: "denial" }, c.denial);
      }
      return result;
    }
    this.metrics?.forwardFailures.inc();
    return { rcode: "SERVFAIL", answers: [], authority: [], additional: [] };
  }

  private query(q: Question, id: number): Buffer {
    return dnsPacket.encode({
      type: "query",
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name: q.name, type: q.type, class: q.class ?? "IN" }],
      additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
    });
  }

  private socket(family: "udp4" | "udp6"): Socket {
    let s = this.sockets.get(family);
    if (s) return s;
    s = createSocket(family);
    s.on("error", () => undefined);
    s.on("message", (msg, rinfo) => {
      let p: DecodedPacket;
      try {
        p = dnsPacket.decode(msg);
      } catch {
        return;
      }
      const key = `${rinfo.address}|${rinfo.port}|${p.id}`;
      const w = this.pending.get(key);
      const q = p.questions?.[0];
      // Only the reply to what we asked: same id, same source, same question.
      if (!w || !q || canonicalName(q.name) !== canonicalName(w.q.name) || q.type !== w.q.type) return;
      this.pending.delete(key);
      w.resolve(p);
    });
    s.unref();
    this.sockets.set(family, s);
    return s;
  }

  private askUdp(up: Upstream, q: Question): Promise<DecodedPacket | undefined> {
    const s = this.socket(isIP(up.host) === 6 ? "udp6" : "udp4");
    let id = 0;
    let key = "";
    for (let i = 0; i < 16; i++) {
      id = Math.floor(Math.random() * 65536);
      key = `${up.host}|${up.port}|${id}`;
      if (!this.pending.has(key)) break;
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        resolve(undefined);
      }, this.timeoutMs);
      this.pending.set(key, {
        q,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
      });
      s.send(this.query(q, id), up.port, up.host, (err) => {
        if (err) {
          clearTimeout(timer);
          this.pending.delete(key);
          resolve(undefined);
        }
      });
    });
  }

  private askTcp(up: Upstream, q: Question): Promise<DecodedPacket | undefined> {
    const id = Math.floor(Math.random() * 65536);
    return new Promise((resolve) => {
      const sock = connect({ host: up.host, port: up.port });
      let buf = Buffer.alloc(0);
      const done = (p: DecodedPacket | undefined) => {
        clearTimeout(timer);
        sock.destroy();
        resolve(p);
      };
      const timer = setTimeout(() => done(undefined), this.timeoutMs);
      sock.on("error", () => done(undefined));
      sock.on("connect", () => sock.write(withLength(this.query(q, id))));
      sock.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        try {
          const p = dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          done(p.id === id ? p : undefined);
        } catch {
          done(undefined);
        }
      });
      sock.on("close", () => done(undefined));
    });
  }

  close(): void {
    this.closed = true;
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    for (const w of this.pending.values()) w.resolve(undefined as unknown as DecodedPacket);
    this.pending.clear();
  }
}

/** A message as DNS over TCP frames it: two bytes of length first. */
export function withLength(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}
