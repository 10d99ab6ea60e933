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
        const batch = q.pending;
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
