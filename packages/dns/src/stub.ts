// Book 5.2 and 10.3: a minimal stub resolver (one question over UDP, TCP when truncated), for tests,
// the benchmark and debugging; it re-exports dns-packet so callers outside the package share our copy.
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import dnsPacket, { type DecodedPacket } from "dns-packet";
import { withLength } from "./forward.js";

export { dnsPacket };
export type Reply = DecodedPacket & { rcode: string };

/** Ask one question (UDP, then TCP if the reply is truncated); rejects after `ms` without a reply. */
export async function query(port: number, name: string, type: string, o: { host?: string; ms?: number; tcp?: boolean } = {}): Promise<Reply> {
  const host = o.host ?? "127.0.0.1";
  const ms = o.ms ?? 3000;
  const id = Math.floor(Math.random() * 65536);
  const msg = dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as "A" }] });
  const r = o.tcp ? await askTcp(port, host, msg, id, ms, name, type) : await askUdp(port, host, msg, id, ms, name, type);
  return r.flag_tc && !o.tcp ? askTcp(port, host, msg, id, ms, name, type) : r;
}

function askUdp(port: number, host: string, msg: Buffer, id: number, ms: number, name: string, type: string): Promise<Reply> {
  const sock = createSocket(host.includes(":") ? "udp6" : "udp4");
  return new Promise<Reply>((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no reply to ${name} ${type} within ${ms} ms`));
    }, ms);
    sock.on("error", () => undefined);
    sock.on("message", (m) => {
      let p: Reply;
      try {
        p = dnsPacket.decode(m) as Reply;
      } catch {
        return;
      }
      if (p.id !== id) return;
      clearTimeout(timer);
      sock.close();
      resolve(p);
    });
    sock.send(msg, port, host);
  });
}

function askTcp(port: number, host: string, msg: Buffer, id: number, ms: number, name: string, type: string): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const s = connect({ host, port }, () => s.write(withLength(msg)));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no TCP reply to ${name} ${type} within ${ms} ms`));
    }, ms);
    let buf = Buffer.alloc(0);
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      clearTimeout(timer);
      s.destroy();
      try {
        const p = dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))) as Reply;
        if (p.id === id) resolve(p);
        else reject(new Error(`TCP reply to ${name} ${type} with the wrong id`));
      } catch (e) {
        reject(e as Error);
      }
    });
    s.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** The data of a reply's answers of one type, sorted. */
export const dataOf = (r: Reply, type: string): unknown[] =>
  (r.answers ?? [])
    .filter((a) => a.type === type)
    .map((a) => (a as { data: unknown }).data)
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
