// Book 12.3: the interface Kubernetes uses to talk to etcd, as decoded in-memory types.
// Keys and values are "binary strings" (one UTF-16 code unit per byte, latin1) so that
// ordinary string comparison is etcd's byte order and Map lookups are cheap.

/** One byte per char (latin1). `Buffer.from(s, "latin1")` gives the bytes back. */
export type Bytes = string;

/** uint64 identifiers (lease, member, cluster) as decimal strings; "0" means none. */
export type Id = string;

export interface KeyValue {
  key: Bytes;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Bytes;
  lease: Id;
}

export interface ResponseHeader {
  clusterId: Id;
  memberId: Id;
  revision: number;
  raftTerm: number;
}

export type SortOrder = "NONE" | "ASCEND" | "DESCEND";
export type SortTarget = "KEY" | "VERSION" | "CREATE" | "MOD" | "VALUE";

export interface RangeRequest {
  key: Bytes;
  /** "" = just `key`; "\0" = every key >= key; otherwise the half-open range [key, rangeEnd). */
  rangeEnd?: Bytes;
  limit?: number;
  /** <= 0 or absent: the current revision. */
  revision?: number;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface RangeResponse {
  header: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutRequest {
  key: Bytes;
  value: Bytes;
  lease?: Id;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

export interface PutResponse {
  header: ResponseHeader;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Bytes;
  rangeEnd?: Bytes;
  prevKv?: boolean;
}

export interface DeleteRangeResponse {
  header: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

export type CompareResult = "EQUAL" | "GREATER" | "LESS" | "NOT_EQUAL";
export type CompareTarget = "VERSION" | "CREATE" | "MOD" | "VALUE" | "LEASE";

export interface Compare {
  result: CompareResult;
  target: CompareTarget;
  key: Bytes;
  rangeEnd?: Bytes;
  version?: number;
  createRevision?: number;
  modRevision?: number;
  value?: Bytes;
  lease?: Id;
}

export type RequestOp =
  | { requestRange: RangeRequest }
  | { requestPut: PutRequest }
  | { requestDeleteRange: DeleteRangeRequest }
  | { requestTxn: TxnRequest };

export type ResponseOp =
  | { responseRange: RangeResponse }
  | { responsePut: PutResponse }
  | { responseDeleteRange: DeleteRangeResponse }
  | { responseTxn: TxnResponse };

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface TxnResponse {
  header: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionRequest {
  revision: number;
  physical?: boolean;
}

export interface CompactionResponse {
  header: ResponseHeader;
}

export type EventType = "PUT" | "DELETE";

export interface WatchEvent {
  type: EventType;
  /** For DELETE: key and modRevision (the deletion's revision) only; other fields zero. */
  kv: KeyValue;
  prevKv?: KeyValue;
}

export interface LeaseGrantRequest {
  TTL: number;
  /** "0" or absent: the server picks an id. */
  ID?: Id;
}

export interface LeaseGrantResponse {
  header: ResponseHeader;
  ID: Id;
  TTL: number;
  error?: string;
}

export interface LeaseTimeToLiveResponse {
  header: ResponseHeader;
  ID: Id;
  /** -1 when the lease has expired or does not exist. */
  TTL: number;
  grantedTTL: number;
  keys?: Bytes[];
}

export interface Member {
  ID: Id;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner?: boolean;
}

/** gRPC status codes that etcd's gateway turns into HTTP statuses. */
export const GrpcCode = {
  OK: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;

/** grpc-gateway's mapping from gRPC code to HTTP status. */
export function httpStatusOf(code: number): number {
  switch (code) {
    case GrpcCode.OK: return 200;
    case GrpcCode.Canceled: return 408;
    case GrpcCode.InvalidArgument: return 400;
    case GrpcCode.DeadlineExceeded: return 504;
    case GrpcCode.NotFound: return 404;
    case GrpcCode.AlreadyExists: return 409;
    case GrpcCode.PermissionDenied: return 403;
    case GrpcCode.Unauthenticated: return 401;
    case GrpcCode.ResourceExhausted: return 429;
    // grpc-gateway v1 (etcd 3.4): 412, measured ("lease already exists", "bad leader transferee").
    case GrpcCode.FailedPrecondition: return 412;
    case GrpcCode.Aborted: return 409;
    case GrpcCode.OutOfRange: return 400;
    case GrpcCode.Unimplemented: return 501;
    case GrpcCode.Unavailable: return 503;
    default: return 500;
  }
}

/** An error with etcd's message and gRPC code; the server writes it as {"error","message","code"}. */
export class EtcdError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = "EtcdError";
  }
  get httpStatus(): number {
    return httpStatusOf(this.code);
  }
}

/** The errors etcd 3.4 returns, with its exact wording. */
export const Errors = {
  compacted: () => new EtcdError(GrpcCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted"),
  futureRev: () => new EtcdError(GrpcCode.OutOfRange, "etcdserver: mvcc: required revision is a future revision"),
  emptyKey: () => new EtcdError(GrpcCode.InvalidArgument, "etcdserver: key is not provided"),
  duplicateKey: () => new EtcdError(GrpcCode.InvalidArgument, "etcdserver: duplicate key given in txn request"),
  tooManyOps: () => new EtcdError(GrpcCode.InvalidArgument, "etcdserver: too many operations in txn request"),
  valueProvided: () => new EtcdError(GrpcCode.InvalidArgument, "etcdserver: value is provided"),
  leaseProvided: () => new EtcdError(GrpcCode.InvalidArgument, "etcdserver: lease is provided"),
  /** A put with ignore_value/ignore_lease on a missing key, or an empty op in a txn. */
  keyNotFound: () => new EtcdError(GrpcCode.InvalidArgument, "etcdserver: key not found"),
  leaseNotFound: () => new EtcdError(GrpcCode.NotFound, "etcdserver: requested lease not found"),
  leaseExists: () => new EtcdError(GrpcCode.FailedPrecondition, "etcdserver: lease already exists"),
  leaseTTLTooLarge: () => new EtcdError(GrpcCode.OutOfRange, "etcdserver: too large lease TTL"),
  /** A write whose Raft entry exceeds max-request-bytes: 400 and code 3 on etcd 3.4.23 (measured). */
  requestTooLarge: () => new EtcdError(GrpcCode.InvalidArgument, "etcdserver: request is too large"),
  /** Any request over max-request-bytes + 512 KiB (protobuf bytes), refused by gRPC itself: 429, code 8. */
  grpcTooLarge: (size: number, max: number) => new EtcdError(GrpcCode.ResourceExhausted, `grpc: received message larger than max (${size} vs. ${max})`),
  noSpace: () => new EtcdError(GrpcCode.ResourceExhausted, "etcdserver: mvcc: database space exceeded"),
  noLeader: () => new EtcdError(GrpcCode.Unavailable, "etcdserver: no leader"),
  notLeader: () => new EtcdError(GrpcCode.Unavailable, "etcdserver: not leader"),
  timeout: () => new EtcdError(GrpcCode.Unavailable, "etcdserver: request timed out"),
  leaderChanged: () => new EtcdError(GrpcCode.Unavailable, "etcdserver: leader changed"),
  stopped: () => new EtcdError(GrpcCode.Unavailable, "etcdserver: server stopped"),
  unhealthy: () => new EtcdError(GrpcCode.Unavailable, "etcdserver: unhealthy cluster"),
  memberNotFound: () => new EtcdError(GrpcCode.NotFound, "etcdserver: member not found"),
  memberExists: () => new EtcdError(GrpcCode.FailedPrecondition, "etcdserver: member ID already exist"),
  peerURLExists: () => new EtcdError(GrpcCode.FailedPrecondition, "etcdserver: Peer URLs already exists"),
  badPeerURL: () => new EtcdError(GrpcCode.InvalidArgument, "etcdserver: member peer URLs are not provided"),
  /** member add with no peer URL, or one that is not scheme://host:port. */
  memberBadURLs: () => new EtcdError(GrpcCode.InvalidArgument, "etcdserver: given member URLs are invalid"),
  tooManyLearners: () => new EtcdError(GrpcCode.FailedPrecondition, "etcdserver: too many learner members in cluster"),
  unhealthyMemberChange: () => new EtcdError(GrpcCode.FailedPrecondition, "etcdserver: re-configuration failed due to not enough started members"),
  badLeaderTransferee: () => new EtcdError(GrpcCode.FailedPrecondition, "etcdserver: bad leader transferee"),
  invalid: (message: string) => new EtcdError(GrpcCode.InvalidArgument, message),
};

/** etcd's default limits. */
export const Limits = {
  maxRequestBytes: 1.5 * 1024 * 1024,
  maxTxnOps: 128,
  maxLeaseTTL: 9_000_000_000,
  minLeaseTTL: 5,
} as const;
