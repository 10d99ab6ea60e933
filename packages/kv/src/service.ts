// Book 12.3: the operations a kv member offers its clients, independent of HTTP. The HTTP layer
// (server/http.ts) decodes etcd's JSON into these calls; server/member.ts implements them on Raft.
import type {
  CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, Id,
  LeaseGrantRequest, LeaseGrantResponse, LeaseTimeToLiveResponse, Member, PutRequest, PutResponse,
  RangeRequest, RangeResponse, ResponseHeader, TxnRequest, TxnResponse,
} from "./types.js";
import type { WatchStream, WatchResponse } from "./watch/types.js";

export interface StatusResponse {
  header: ResponseHeader;
  version: string;
  dbSize: number;
  leader: Id;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  dbSizeInUse: number;
  errors: string[];
  isLearner: boolean;
}

export interface KvService {
  /** The header for top-level responses: this member's ids, the current revision and term. */
  header(): ResponseHeader;
  range(req: RangeRequest): Promise<RangeResponse>;
  put(req: PutRequest): Promise<PutResponse>;
  deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse>;
  txn(req: TxnRequest): Promise<TxnResponse>;
  compact(req: CompactionRequest): Promise<CompactionResponse>;
  leaseGrant(req: LeaseGrantRequest): Promise<LeaseGrantResponse>;
  leaseRevoke(id: Id): Promise<{ header: ResponseHeader }>;
  /** TTL 0 when the lease is unknown (etcd then omits TTL). */
  leaseKeepAlive(id: Id): Promise<{ header: ResponseHeader; ID: Id; TTL: number }>;
  leaseTimeToLive(id: Id, keys: boolean): Promise<LeaseTimeToLiveResponse>;
  leaseLeases(): Promise<{ header: ResponseHeader; leases: { ID: Id }[] }>;
  memberList(): Promise<{ header: ResponseHeader; members: Member[] }>;
  memberAdd(peerURLs: string[], isLearner: boolean): Promise<{ header: ResponseHeader; member: Member; members: Member[] }>;
  memberRemove(id: Id): Promise<{ header: ResponseHeader; members: Member[] }>;
  moveLeader(targetId: Id): Promise<{ header: ResponseHeader }>;
  status(): Promise<StatusResponse>;
  /** etcd's /health: true when this member has a leader and can serve a linearizable read. */
  health(): Promise<{ health: boolean; reason: string }>;
  /** One watch stream (one POST /v3/watch connection). `send` returns false when the socket is
   * backed up; the stream then stops sending until `stream.drained()` is called. */
  openWatchStream(send: (resp: WatchResponse) => boolean): WatchStream;
}
