// Book 12.8–12.9: members talk to each other over HTTP (undici). Each peer gets one queue; while
// a request is in flight, new messages are batched into the next one, so a busy leader sends
// few large requests instead of many small ones.
import { Pool } from "undici";
import type { Entry, Message, NodeId } from "../raft/types.js";
import type { PeerInfo, Transport, TransportCallbacks } from "./deps.js";

export const RAFT_PATH = "/raft";
export const CLUSTER_PATH = "/raft/cluster";
export const CLUSTER_HEADER = "x-corekube-cluster-id";
/** The peer wire format below; a body of any other type is a JSON array of messages. */
export const RAFT_CONTENT_TYPE = "application/x-corekube-raft";

// ---- wire format ---------------------------------------------------------------------------------
// JSON would escape every entry's data (itself JSON text) on the way out and unescape it on the way
// in, once per peer. Instead a body is: u32 (LE) length of a JSON header | the header | the entries'
// data as UTF-8, one after the other. The header is the message array with each message's entries
// replaced by `e`: [index, term, 0 normal | 1 conf, data bytes] per entry. An entry's bytes are
// made once and shared by the bodies for every peer.

type WireMessage = Omit<Message, "entries"> & { entries?: undefined; e: number[] };

const entryBytesCache = new WeakMap<Entry, Buffer>();

function dataBytes(e: Entry): Buffer {
  let b = entryBytesCache.get(e);
  if (!b) {
    b = Buffer.from(e.data, "utf8");
    entryBytesCache.set(e, b);
  }
  return b;
}

export function encodeMessages(batch: Message[]): Buffer {
  const parts: Buffer[] = [];
  const header: WireMessage[] = [];
  for (const m of batch) {
    const e: number[] = [];
    for (const ent of m.entries) {
      const b = dataBytes(ent);
      e.push(ent.index, ent.term, ent.type === "conf" ? 1 : 0, b.length);
      parts.push(b);
    }
    header.push({ ...m, entries: undefined, e });
  }
  const head = Buffer.from(JSON.stringify(header), "utf8");
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32LE(head.length, 0);
  return Buffer.concat([len, head, ...parts]);
}

export function decodeMessages(body: Buffer): Message[] {
  if (body.length < 4) throw new Error("short raft message body");
  const headLen = body.readUInt32LE(0);
  if (4 + headLen > body.length) throw new Error("bad raft message header length");
  const header = JSON.parse(body.toString("utf8", 4, 4 + headLen)) as WireMessage[];
  if (!Array.isArray(header)) throw new Error("bad raft message header");
  let off = 4 + headLen;
  const out: Message[] = [];
  for (const w of header) {
    const e = w.e;
    if (!Array.isArray(e) || e.length % 4 !== 0) throw new Error("bad raft message entries");
    const entries: Entry[] = [];
    for (let i = 0; i < e.length; i += 4) {
      const n = e[i + 3]!;
      if (!(n >= 0) || off + n > body.length) throw new Error("raft message entries past the body");
      entries.push({ index: e[i]!, term: e[i + 1]!, type: e[i + 2] === 1 ? "conf" : "normal", data: body.toString("utf8", off, off + n) });
      off += n;
    }
    const { e: _e, entries: _x, ...rest } = w;
    out.push({ ...rest, entries });
  }
  if (off !== body.length) throw new Error("trailing bytes after raft messages");
  return out;
}

interface PeerQueue {
  info: PeerInfo;
  pool: Pool;
  pending: Message[];
  inFlight: boolean;
  /** The peer refused the compact format (an older member): it gets JSON. */
  json?: boolean;
  /** Something in `pending` should go now (not only empty appends). */
  urgent: boolean;
  timer?: ReturnType<typeof setTimeout>;
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
  let owned = false; // the last message out is our own copy (its entries may grow in place)
  for (const m of batch) {
    const prev = out[out.length - 1];
    if (prev && prev.type === m.type && prev.term === m.term && prev.from === m.from && prev.to === m.to) {
      if (m.type === "app" && m.index === prev.index + prev.entries.length && m.logTerm === lastTermOf(prev)) {
        const add = entryBytes(m);
        if (mergedBytes + add <= MAX_MERGED_BYTES) {
          const merged = owned ? prev : { ...prev, entries: prev.entries.slice() };
          for (const e of m.entries) merged.entries.push(e);
          merged.commit = Math.max(prev.commit, m.commit);
          out[out.length - 1] = merged;
          owned = true;
          mergedBytes += add;
          continue;
        }
      } else if (m.type === "appResp" && !m.reject && !prev.reject && m.context === prev.context) {
        if (m.index >= prev.index) out[out.length - 1] = m;
        owned = false;
        continue;
      } else if (m.type === "heartbeat" && m.context === prev.context) {
        out[out.length - 1] = m.commit >= prev.commit ? m : prev;
        owned = false;
        continue;
      }
    }
    out.push(m);
    owned = false;
    mergedBytes = m.type === "app" ? entryBytes(m) : 0;
  }
  return out;
}

/** An append with no entries only tells a follower the commit index (or probes it). It waits
 * this long for something else to that peer, so that it rides along (merged into the next
 * append) instead of costing a request and an acknowledgement of its own. Heartbeats and
 * read-index rounds carry the commit index without waiting. */
export const EMPTY_APPEND_DELAY_MS = 3;

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
        if (q.timer) clearTimeout(q.timer);
        void q.pool.close().catch(() => {});
        this.peers.delete(id);
      }
    }
    for (const [id, info] of wanted) {
      if (this.peers.has(id) || info.peerURLs.length === 0) continue;
      const pool = new Pool(info.peerURLs[0]!, { connections: 2, pipelining: 1, keepAliveTimeout: 30_000 });
      this.peers.set(id, { info, pool, pending: [], inFlight: false, urgent: false });
    }
  }

  send(messages: Message[]): void {
    if (this.closed) return;
    const touched = new Set<PeerQueue>();
    for (const m of messages) {
      const q = this.peers.get(m.to);
      if (!q) continue; // an unknown peer (e.g. removed): Raft copes with lost messages
      if (m.type === "snap") {
        void this.post(q, [m]);
        continue;
      }
      q.pending.push(m);
      if (m.type !== "app" || m.entries.length > 0) q.urgent = true;
      touched.add(q);
    }
    for (const q of touched) this.kick(q);
  }

  /** One request in flight per peer; what comes meanwhile goes, coalesced, in the next one. */
  private kick(q: PeerQueue): void {
    if (q.inFlight || q.pending.length === 0 || this.closed) return;
    if (!q.urgent) {
      q.timer ??= setTimeout(() => {
        q.timer = undefined;
        q.urgent = true;
        this.kick(q);
      }, EMPTY_APPEND_DELAY_MS);
      return;
    }
    void this.flush(q);
  }

  private async flush(q: PeerQueue): Promise<void> {
    q.inFlight = true;
    if (q.timer) {
      clearTimeout(q.timer);
      q.timer = undefined;
    }
    const batch = coalesce(q.pending);
    q.pending = [];
    q.urgent = false;
    try {
      await this.post(q, batch);
    } finally {
      q.inFlight = false;
    }
    this.kick(q);
  }

  private async post(q: PeerQueue, batch: Message[]): Promise<void> {
    const isSnap = batch.length === 1 && batch[0]!.type === "snap";
    try {
      const res = await q.pool.request({
        path: RAFT_PATH,
        method: "POST",
        headers: { "content-type": q.json ? "application/json" : RAFT_CONTENT_TYPE, [CLUSTER_HEADER]: this.clusterId() },
        body: q.json ? JSON.stringify(batch) : encodeMessages(batch),
        headersTimeout: isSnap ? 60_000 : this.timeoutMs,
        bodyTimeout: isSnap ? 60_000 : this.timeoutMs,
      });
      await res.body.dump();
      if ((res.statusCode === 400 || res.statusCode === 415) && !q.json) {
        q.json = true;
        return this.post(q, batch);
      }
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
    for (const q of this.peers.values()) if (q.timer) clearTimeout(q.timer);
    await Promise.all([...this.peers.values()].map((q) => q.pool.destroy().catch(() => {})));
    this.peers.clear();
  }
}
