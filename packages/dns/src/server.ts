// Book 5.2 and 10.3: the cluster DNS server on the wire: UDP and TCP listeners that decode each query,
// answer cluster names from the record index and send the rest upstream, within the size a client takes.
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { isIP, type Server as TcpServer, type Socket as TcpSocket, createServer } from "node:net";
import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet, type Question } from "dns-packet";
import { type ForwardResult, type Forwarder, withLength } from "./forward.js";
import { DnsMetrics } from "./metrics.js";
import type { DnsAnswer, Rcode, RecordIndex } from "./records.js";

export interface DnsServerOptions {
  /** Address to listen on (default 127.0.0.1); port 0 picks a free one for UDP and TCP alike. */
  host?: string;
  port?: number;
  /** The current record index (swapped as the cluster changes). */
  index: () => RecordIndex;
  /** Where names outside the cluster domain go; without one they get SERVFAIL. */
  forwarder?: Forwarder;
  metrics?: DnsMetrics;
  log?: (msg: string) => void;
  /** A TCP connection with no query for this long is closed, ms. */
  tcpIdleMs?: number;
}

const RCODE_NUM: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const QR = 0x8000;
const OPCODE_MASK = 0x7800;
/** Our own EDNS0 buffer size (the DNS flag day 2020 figure). */
const OUR_UDP_SIZE = 1232;

type Proto = "udp" | "tcp";

interface CachedPacket {
  out: Buffer;
  expires: number;
  rcode: Rcode;
  qtype: string;
  /** Set for forwarded answers: the kind of cache hit a reuse counts as. */
  forwarded?: "success" | "denial";
}

const PACKET_CACHE_MAX = 10_000;

export class DnsServer {
  private udp: UdpSocket | undefined;
  private tcp: TcpServer | undefined;
  private readonly conns = new Set<TcpSocket>();
  readonly metrics: DnsMetrics;
  private readonly log: (msg: string) => void;
  private boundPort = 0;
  /**
   * Encoded responses by the query's bytes after its id (flags, question, EDNS) and transport: the
   * same bytes in get the same bytes out, bar the id. Cluster answers stay until the index changes;
   * forwarded ones at most a second, so the TTLs they carry stay true to the second.
   */
  private readonly packets = new Map<string, CachedPacket>();
  private packetsIndex: RecordIndex | undefined;

  constructor(private readonly o: DnsServerOptions) {
    this.metrics = o.metrics ?? new DnsMetrics();
    this.log = o.log ?? (() => undefined);
  }

  get port(): number {
    return this.boundPort;
  }

  /** Bind UDP and TCP on the same port; resolves with it. */
  async start(): Promise<number> {
    const host = this.o.host ?? "127.0.0.1";
    const want = this.o.port ?? 53;
    for (let attempt = 0; ; attempt++) {
      const udp = createSocket({ type: isIP(host) === 6 ? "udp6" : "udp4" });
      await new Promise<void>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind(want, host, () => {
          udp.off("error", reject);
          resolve();
        });
      });
      const port = udp.address().port;
      try {
        this.tcp = await this.listenTcp(host, port);
      } catch (e) {
        udp.close();
        // With an ephemeral port, TCP may find it taken: try another.
        if (want === 0 && (e as NodeJS.ErrnoException).code === "EADDRINUSE" && attempt < 10) continue;
        throw e;
      }
      this.udp = udp;
      this.boundPort = port;
      udp.on("error", (e) => this.log(`dns: udp: ${e.message}`));
      udp.on("message", (msg, rinfo) => {
        this.handle(msg, "udp").then(
          (out) => {
            if (out) udp.send(out, rinfo.port, rinfo.address, () => undefined);
          },
          (e: Error) => this.log(`dns: udp query from ${rinfo.address}: ${e.message}`),
        );
      });
      return port;
    }
  }

  private listenTcp(host: string, port: number): Promise<TcpServer> {
    const srv = createServer((c) => this.serveTcp(c));
    return new Promise((resolve, reject) => {
      srv.once("error", reject);
      srv.listen({ host, port }, () => {
        srv.off("error", reject);
        srv.on("error", (e) => this.log(`dns: tcp: ${e.message}`));
        resolve(srv);
      });
    });
  }

  private serveTcp(c: TcpSocket): void {
    this.conns.add(c);
    c.setTimeout(this.o.tcpIdleMs ?? 10_000, () => c.destroy());
    c.on("error", () => undefined);
    c.on("close", () => this.conns.delete(c));
    let buf = Buffer.alloc(0);
    c.on("data", (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        this.handle(msg, "tcp").then(
          (out) => {
            if (out && !c.destroyed) c.write(withLength(out));
          },
          (e: Error) => this.log(`dns: tcp query: ${e.message}`),
        );
      }
    });
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await Promise.all([
      new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r())),
    ]);
    this.udp = undefined;
    this.tcp = undefined;
  }

  /** One query in, the response to send (or nothing: some packets deserve no answer). Never throws. */
  async handle(msg: Buffer, proto: Proto): Promise<Buffer | undefined> {
    const started = process.hrtime.bigint();
    // Too short for a header, or itself a response: drop it (answering responses invites loops).
    if (msg.length < 12 || msg.readUInt16BE(2) & QR) return undefined;
    const index = this.o.index();
    if (index !== this.packetsIndex) {
      this.packets.clear();
      this.packetsIndex = index;
    }
    const key = proto + msg.toString("latin1", 2);
    const cached = this.packets.get(key);
    if (cached) {
      if (cached.expires > Date.now()) {
        this.metrics.countRequest(cached.qtype, proto);
        if (cached.forwarded) this.metrics.cacheHits.inc({ type: cached.forwarded });
        const out = Buffer.from(cached.out);
        out.writeUInt16BE(msg.readUInt16BE(0), 0);
        return this.done(out, cached.rcode, cached.qtype, started);
      }
      this.packets.delete(key);
    }
    let req: DecodedPacket;
    try {
      req = dnsPacket.decode(msg);
    } catch {
      this.metrics.countRequest("other", proto);
      return this.done(headerOnly(msg, "FORMERR"), "FORMERR", "other", started);
    }
    const q = req.questions?.[0];
    const qtype = DnsMetrics.typeLabel(q?.type);
    this.metrics.countRequest(qtype, proto);
    const opt = req.additionals?.find((a): a is OptAnswer => a.type === "OPT");
    if ((msg.readUInt16BE(2) & OPCODE_MASK) !== 0) return this.done(this.reply(req, opt, { rcode: "NOTIMP", answers: [], authority: [], additional: [] }, false, proto), "NOTIMP", qtype, started);
    if (!q || req.questions!.length !== 1) return this.done(this.reply(req, opt, { rcode: "FORMERR", answers: [], authority: [], additional: [] }, false, proto), "FORMERR", qtype, started);

    let result: DnsAnswer | ForwardResult;
    let authoritative = false;
    let forwarded = false;
    try {
      if (index.owns(q.name)) {
        authoritative = true;
        result = index.answer(q);
        const chase = (result as DnsAnswer).chase;
        if (chase) {
          forwarded = true;
          result = await this.chase(result as DnsAnswer, chase, q);
        }
      } else if (this.o.forwarder && this.o.forwarder.upstreams.length) {
        forwarded = true;
        result = await this.o.forwarder.resolve(q);
      } else {
        result = { rcode: "SERVFAIL", answers: [], authority: [], additional: [] };
      }
    } catch (e) {
      this.log(`dns: ${q.name} ${q.type}: ${(e as Error).message}`);
      result = { rcode: "SERVFAIL", answers: [], authority: [], additional: [] };
    }
    const out = this.reply(req, opt, result, authoritative, proto);
    if (out) this.remember(key, out, result, qtype, forwarded, index);
    return this.done(out, result.rcode, qtype, started);
  }

  private remember(key: string, out: Buffer, r: DnsAnswer | ForwardResult, qtype: string, forwarded: boolean, index: RecordIndex): void {
    if ((r.rcode !== "NOERROR" && r.rcode !== "NXDOMAIN") || index !== this.packetsIndex) return;
    let expires = Number.POSITIVE_INFINITY;
    if (forwarded) {
      const ttls = [...r.answers, ...r.authority].map((a) => (a.type === "OPT" ? 1 : (a.ttl ?? 0)));
      if (Math.min(1, ...ttls) < 1) return;
      expires = Date.now() + 1000;
    }
    if (this.packets.size >= PACKET_CACHE_MAX) this.packets.clear();
    const denial = r.rcode === "NXDOMAIN" || r.answers.length === 0;
    this.packets.set(key, { out, expires, rcode: r.rcode, qtype, ...(forwarded ? { forwarded: denial ? "denial" : "success" } : {}) });
  }

  /** An ExternalName's CNAME leads out of the cluster: ask upstream for the rest of the chain. */
  private async chase(local: DnsAnswer, target: string, q: Question): Promise<DnsAnswer | ForwardResult> {
    if (!this.o.forwarder || !this.o.forwarder.upstreams.length) return { ...local, chase: undefined };
    const up = await this.o.forwarder.resolve({ name: target, type: q.type, class: q.class ?? "IN" });
    if (up.rcode === "SERVFAIL") return { rcode: "NOERROR", answers: local.answers, authority: [], additional: [] };
    return { rcode: up.rcode, answers: [...local.answers, ...up.answers], authority: up.authority, additional: up.additional };
  }

  private done(out: Buffer | undefined, rcode: Rcode, qtype: string, started: bigint): Buffer | undefined {
    if (out) this.metrics.countResponse(rcode);
    this.metrics.observeDuration(qtype, Number(process.hrtime.bigint() - started) / 1e9);
    return out;
  }

  /** Encode the response; over UDP, cut it to what the client said it can take and set TC if cut. */
  private reply(req: DecodedPacket, opt: OptAnswer | undefined, r: DnsAnswer | ForwardResult, aa: boolean, proto: Proto): Buffer | undefined {
    const reqFlags = req.flags ?? 0;
    let flags = (reqFlags & OPCODE_MASK) | (reqFlags & dnsPacket.RECURSION_DESIRED) | dnsPacket.RECURSION_AVAILABLE | RCODE_NUM[r.rcode];
    if (aa) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
    const additionals: Answer[] = [...r.additional];
    let extendedRcode = 0;
    if (opt) {
      if (opt.ednsVersion > 0) {
        // BADVERS (16): the upper bits go in the OPT record, the lower four (0) in the header.
        flags &= ~0xf;
        extendedRcode = 1;
      }
      additionals.push({ type: "OPT", name: ".", udpPayloadSize: OUR_UDP_SIZE, extendedRcode, ednsVersion: 0, flags: 0, flag_do: false, options: [] });
    }
    const res: Packet = {
      type: "response",
      id: req.id,
      flags,
      questions: req.questions,
      answers: extendedRcode ? [] : r.answers,
      authorities: extendedRcode ? [] : r.authority,
      additionals: extendedRcode ? additionals.slice(-1) : additionals,
    };
    const limit = proto === "tcp" ? 65535 : opt ? Math.min(Math.max(opt.udpPayloadSize || 512, 512), 4096) : 512;
    try {
      let out = dnsPacket.encode(res);
      if (out.length <= limit) return out;
      // First drop the optional extras, then everything: the client retries over TCP.
      res.additionals = opt ? additionals.slice(-1) : [];
      out = dnsPacket.encode(res);
      if (out.length <= limit) return out;
      res.answers = [];
      res.authorities = [];
      res.flags = flags | dnsPacket.TRUNCATED_RESPONSE;
      return dnsPacket.encode(res);
    } catch (e) {
      this.log(`dns: cannot encode the answer to ${req.questions?.[0]?.name}: ${(e as Error).message}`);
      return headerOnly(dnsPacket.encode({ type: "query", id: req.id, flags: reqFlags, questions: [] }), "SERVFAIL");
    }
  }
}

/** A bare response header (no sections) for a query we could not read. */
function headerOnly(msg: Buffer, rcode: Rcode): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(msg.readUInt16BE(0), 0);
  const flags = msg.readUInt16BE(2);
  out.writeUInt16BE(QR | (flags & OPCODE_MASK) | (flags & dnsPacket.RECURSION_DESIRED) | RCODE_NUM[rcode], 2);
  return out;
}
