// Book 12.8–12.9: members talk to each other over HTTP (undici). Each peer gets one queue; while
// a request is in flight, new messages are batched into the next one, so a busy leader sends
// few large requests instead of many small ones.
import { Pool } from "undici";
import type { Message, NodeId } from "../raft/types.js";
import type { PeerInfo, Transport, TransportCallbacks } from "./deps.js";

export const RAFT_PATH = "/raft";
export const CLUSTER_PATH = "/raft/cluster";
export const CLUSTER_HEADER = "x-corekube-cluster-id";

interface PeerQueue {
  info: PeerInfo;
  pool: Pool;
  pending: Message[];
  inFlight: boolean;
}

/** Most entry bytes merged into one append message. */
const MAX_MERGED_BYTES = 4 * 1024 * 1024;

function lastTermOf(m: Message): number {
  return m.entries.length > 0 ? m.entries[m.entries.length - 1]!.term : m.logTerm;
}

function entryBytes(m: Message): number {
  let n = 0;
  for (const e of m.entries) n += e.data.length;
  return n;
}

/**
 * Fewer, larger messages for one peer, each equivalent to the run it replaces:
 * - appends of one term that continue each other become one append (the follower would have
 *   applied them one after the other; the merged one carries the newest commit index);
 * - successive acknowledgements of one term become the highest one (an ack of index i says
 *   the follower holds everything up to i; the leader only ever moves forward on it);
 * - successive heartbeats of one term with the same read context become the last one.
 * Order is kept otherwise; rejections and everything else pass through untouched.
 */
export function coalesce(batch: Message[]): Message[] {
  if (batch.length < 2) return batch;
  const out: Message[] = [];
  let mergedBytes = 0;
  for (const m of batch) {
    const prev = out[out.length - 1];
    if (prev && prev.type === m.type && prev.term === m.term && prev.from === m.from && prev.to === m.to) {
      if (m.type === "app" && m.index === prev.index + prev.entries.length && m.logTerm === lastTermOf(prev)) {
        const add = entryBytes(m);
        if (mergedBytes + add <= MAX_MERGED_BYTES) {
          out[out.length - 1] = { ...prev, entries: m.entries.length > 0 ? prev.entries.concat(m.entries) : prev.entries, commit: Math.max(prev.commit, m.commit) };
          mergedBytes += add;
          continue;
        }
      } else if (m.type === "appResp" && !m.reject && !prev.reject && m.context === prev.context) {
        if (m.index >= prev.index) out[out.length - 1] = m;
        continue;
      } else if (m.type === "heartbeat" && m.context === prev.context) {
        out[out.length - 1] = m.commit >= prev.commit ? m : prev;
        continue;
      }
    }
    out.push(m);
    mergedBytes = m.type === "app" ? entryBytes(m) : 0;
  }
  return out;
}

export class HttpTransport implements Transport {
  private peers = new Map<NodeId, PeerQueue>();
  private closed = false;

  constructor(
    private readonly selfId: NodeId,
    private readonly clusterId: () => string,
    private readonly cb: TransportCallbacks,
    private readonly timeoutMs = 5_000,
  ) {}

  setPeers(peers: PeerInfo[]): void {
    const wanted = new Map(peers.filter((p) => p.id !== this.selfId).map((p) => [p.id, p]));
    for (const [id, q] of this.peers) {
      if (!wanted.has(id) || wanted.get(id)!.peerURLs[0] !== q.info.peerURLs[0]) {
        void q.pool.close().catch(() => {});
        this.peers.delete(id);
      }
    }
    for (const [id, info] of wanted) {
      if (this.peers.has(id) || info.peerURLs.length === 0) continue;
      const pool = new Pool(info.peerURLs[0]!, { connections: 2, pipelining: 1, keepAliveTimeout: 30_000 });
      this.peers.set(id, { info, pool, pending: [], inFlight: false });
    }
  }

  send(messages: Message[]): void {
    if (this.closed) return;
    for (const m of messages) {
      const q = this.peers.get(m.to);
      if (!q) continue; // an unknown peer (e.g. removed): Raft copes with lost messages
      if (m.type === "snap") void this.post(q, [m]);
      else q.pending.push(m);
    }
    for (const q of this.peers.values()) if (!q.inFlight && q.pending.length > 0) void this.flush(q);
  }

  private async flush(q: PeerQueue): Promise<void> {
    q.inFlight = true;
    try {
      while (q.pending.length > 0 && !this.closed) {
        const batch = coalesce(q.pending);
        q.pending = [];
        await this.post(q, batch);
      }
    } finally {
      q.inFlight = false;
    }
  }

  private async post(q: PeerQueue, batch: Message[]): Promise<void> {
    const isSnap = batch.length === 1 && batch[0]!.type === "snap";
    try {
      const res = await q.pool.request({
        path: RAFT_PATH,
        method: "POST",
        headers: { "content-type": "application/json", [CLUSTER_HEADER]: this.clusterId() },
        body: JSON.stringify(batch),
        headersTimeout: isSnap ? 60_000 : this.timeoutMs,
        bodyTimeout: isSnap ? 60_000 : this.timeoutMs,
      });
      await res.body.dump();
      if (res.statusCode >= 300) throw new Error(`peer answered ${res.statusCode}`);
      if (isSnap) this.cb.onSnapshotStatus(q.info.id, true);
    } catch {
      if (this.closed) return;
      if (isSnap) this.cb.onSnapshotStatus(q.info.id, false);
      this.cb.onUnreachable(q.info.id);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.peers.values()].map((q) => q.pool.destroy().catch(() => {})));
    this.peers.clear();
  }
}
