// Book 12.4: what a kv member needs from the outside world — a durable log, a network and a
// clock. Production passes level, HTTP and real timers; the simulation passes fakes it controls.
import type { Entry, HardState, Message, NodeId, Snapshot } from "../raft/types.js";

/** Facts about this member that never change after the first start. */
export interface MemberMeta {
  clusterId: string;
  memberId: NodeId;
  name: string;
}

export interface LoadedState {
  meta?: MemberMeta;
  hardState?: HardState;
  snapshot?: Snapshot;
  /** Entries after the snapshot, in index order, checksums verified. */
  entries: Entry[];
}

/** The write-ahead log: Raft entries, hard state and snapshots, on a disk that may crash. */
export interface DurableLog {
  /** Reads everything back; throws CorruptDataError if a checksum does not match. */
  load(): Promise<LoadedState>;
  /** One write for everything in a Ready: `sync` means fsync before resolving. Writing entry i
   * discards any stored entries >= i. A snapshot in the batch came from the leader and replaces
   * the whole log: every stored entry is dropped, then the batch's entries are written. */
  save(batch: { hardState?: HardState; entries: Entry[]; snapshot?: Snapshot }, sync: boolean): Promise<void>;
  /** A snapshot this member made of its own state (synced). Stored entries are kept; the member
   * calls compact() afterwards to drop the ones it no longer needs for slow followers. */
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  saveMeta(meta: MemberMeta): Promise<void>;
  /** Drop stored entries <= index (after a snapshot at or past index was saved). */
  compact(index: number): Promise<void>;
  /** Bytes the log takes on disk, if known (etcd's dbSize). */
  diskBytes?(): number;
  close(): Promise<void>;
}

export class CorruptDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CorruptDataError";
  }
}

/** Where a peer can be reached. */
export interface PeerInfo {
  id: NodeId;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

/** Carries Raft messages between members. Delivery is best effort: lost, delayed and reordered
 * messages are fine, but a message must not be delivered twice (as with etcd's streams): a
 * forwarded proposal delivered twice would be appended twice. */
export interface Transport {
  /** Send each message to m.to; failures are reported through onUnreachable / onSnapshotStatus. */
  send(messages: Message[]): void;
  /** The set of peers changed (membership change applied). */
  setPeers(peers: PeerInfo[]): void;
  close(): Promise<void>;
}

export interface TransportCallbacks {
  onUnreachable(id: NodeId): void;
  onSnapshotStatus(id: NodeId, ok: boolean): void;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): () => void;
  setInterval(fn: () => void, ms: number): () => void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
};
