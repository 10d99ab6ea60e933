// Book 12.9: the peer side of a member: Raft messages in, the member table for joiners, and the
// leader's lease calls that followers forward (keep-alive and time-to-live live on the leader).
import type { IncomingMessage, ServerResponse } from "node:http";
import { Pool } from "undici";
import type { Message } from "../raft/types.js";
import { EtcdError, type Id } from "../types.js";
import type { PeerInfo } from "./deps.js";
import type { Member } from "./member.js";
import { CLUSTER_HEADER, CLUSTER_PATH, decodeMessages, RAFT_CONTENT_TYPE, RAFT_PATH } from "./peer-transport.js";

const MAX_PEER_BODY = 256 * 1024 * 1024;

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return readBodyBytes(req, limit).then((b) => b.toString("utf8"));
}

function readBodyBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on("data", (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        reject(new Error("body too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, n)));
    req.on("error", reject);
  });
}

function reply(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(body === undefined ? "" : JSON.stringify(body));
}

export function createPeerHandler(member: () => Member | undefined, clusterId: () => string, members: () => PeerInfo[]) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = req.url ?? "/";
      if (req.method === "GET" && url === CLUSTER_PATH) return reply(res, 200, { clusterId: clusterId(), members: members() });
      const m = member();
      if (!m) return reply(res, 503, { error: "member is starting" });
      if (req.method === "POST" && url === RAFT_PATH) {
        const from = req.headers[CLUSTER_HEADER];
        if (from && from !== clusterId()) return reply(res, 412, { error: `cluster ID mismatch: ${from} is not ${clusterId()}` });
        const body = await readBodyBytes(req, MAX_PEER_BODY);
        const msgs = req.headers["content-type"] === RAFT_CONTENT_TYPE ? decodeMessages(body) : (JSON.parse(body.toString("utf8")) as Message[]);
        m.receive(msgs);
        res.writeHead(204).end();
        return;
      }
      if (req.method === "POST" && (url === "/raft/lease/renew" || url === "/raft/lease/ttl")) {
        const { ID } = JSON.parse(await readBody(req, 4096)) as { ID: Id };
        return reply(res, 200, { TTL: m.leaderLeaseCall(url.endsWith("renew") ? "renew" : "ttl", ID) });
      }
      reply(res, 404, { error: "not found" });
    } catch (e) {
      if (e instanceof EtcdError) return reply(res, e.httpStatus, { error: e.message, code: e.code });
      if (!res.headersSent) reply(res, 400, { error: (e as Error).message });
    }
  };
}

/** The follower's side of a forwarded lease call. */
export function leaseForwarder() {
  const pools = new Map<string, Pool>();
  return {
    async call(leader: PeerInfo, path: "renew" | "ttl", id: Id): Promise<number> {
      const url = leader.peerURLs[0]!;
      let pool = pools.get(url);
      if (!pool) pools.set(url, (pool = new Pool(url, { connections: 2 })));
      const res = await pool.request({ path: `/raft/lease/${path}`, method: "POST", body: JSON.stringify({ ID: id }), headersTimeout: 5_000, bodyTimeout: 5_000 });
      const body = (await res.body.json()) as { TTL?: number; error?: string; code?: number };
      if (res.statusCode !== 200) throw new EtcdError(body.code ?? 14, body.error ?? `leader answered ${res.statusCode}`);
      return body.TTL ?? 0;
    },
    async close(): Promise<void> {
      await Promise.all([...pools.values()].map((p) => p.destroy()));
    },
  };
}
