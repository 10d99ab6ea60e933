// Book 12.10: the client's own option and response shapes (the request/response types shared with
// the server live in ../types.ts, ../watch/types.ts and ../service.ts).
import type { Id, Member, ResponseHeader } from "../types.js";

export type { StatusResponse } from "../service.js";

export interface EtcdClientOptions {
  /** Client URLs, e.g. ["http://127.0.0.1:2379"] or "http://a:2379,http://b:2379". "host:port" means http. */
  endpoints: string[] | string;
  /** Per-request timeout (each attempt), default 5000 ms. */
  timeoutMs?: number;
  /** TCP connect timeout, default 2000 ms. */
  connectTimeoutMs?: number;
  /** Connections per endpoint's undici Pool, default 128. */
  connections?: number;
  /** "failover" (default): stay on one endpoint, move on when it fails. "round-robin": spread calls. */
  balance?: "failover" | "round-robin";
  /** Rounds over the endpoint list before giving up on a retriable error, default 2. */
  retryRounds?: number;
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Send to exactly this endpoint (no failover), e.g. for per-member status. */
  endpoint?: string;
}

export interface LeaseKeepAliveResponse {
  header: ResponseHeader;
  ID: Id;
  /** 0 when the lease has expired or does not exist. */
  TTL: number;
}

export interface LeaseLeasesResponse {
  header: ResponseHeader;
  leases: { ID: Id }[];
}

export interface MemberListResponse {
  header: ResponseHeader;
  members: Member[];
}

export interface MemberAddResponse {
  header: ResponseHeader;
  member: Member;
  members: Member[];
}

export interface HealthResponse {
  health: boolean;
  reason: string;
}

export interface VersionResponse {
  etcdserver: string;
  etcdcluster: string;
}
