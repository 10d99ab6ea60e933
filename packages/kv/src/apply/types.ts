// Book 12.4: what travels through the Raft log. Every write is a Command; each member applies
// the same commands in the same order, so every member's state machine ends up identical.
import type {
  CompactionRequest, DeleteRangeRequest, EtcdError, Id, PutRequest, TxnRequest, WatchEvent,
} from "../types.js";

export type Command =
  | { op: "put"; req: PutRequest }
  | { op: "deleteRange"; req: DeleteRangeRequest }
  | { op: "txn"; req: TxnRequest }
  | { op: "compaction"; req: CompactionRequest }
  /** The proposer picks the ID (never "0") so that every member grants the same lease. */
  | { op: "leaseGrant"; req: { ID: Id; TTL: number } }
  /** Proposed by a client's revoke, or by the leader when a lease expires. */
  | { op: "leaseRevoke"; req: { ID: Id } };

/** The data of a normal log entry: JSON.stringify(Proposal). */
export interface Proposal {
  /** Unique per proposer (`<memberId>:<counter>`), so the proposer can match the applied result. */
  id: string;
  cmd: Command;
}

/** What applying one entry produced. */
export interface ApplyOutcome {
  /** The response (PutResponse, TxnResponse, ...) with header.revision set; clusterId, memberId and raftTerm are filled by the member. */
  result?: unknown;
  /** A deterministic failure (e.g. lease not found, compacted): the same on every member. */
  error?: EtcdError;
  /** Watch events produced, all at `revision`, in the order they happened inside the txn. */
  events: WatchEvent[];
  /** The store's revision after the apply. */
  revision: number;
}
