// Book 12.10: decoding the lease, cluster and maintenance responses of etcd's JSON gateway
// (these keep the proto's own casing: ID, TTL, grantedTTL, peerURLs, dbSize, raftIndex).
import type { LeaseGrantResponse, LeaseTimeToLiveResponse, Member } from "../types.js";
import type {
  HealthResponse, LeaseKeepAliveResponse, LeaseLeasesResponse, MemberAddResponse,
  MemberListResponse, StatusResponse,
} from "./types.js";
import { arr, bool, decodeHeader, id, num, obj, str, unb64 } from "./wire-base.js";

export function decodeLeaseGrant(v: unknown): LeaseGrantResponse {
  const o = obj(v);
  const r: LeaseGrantResponse = { header: decodeHeader(o.header), ID: id(o.ID), TTL: num(o.TTL) };
  if (str(o.error)) r.error = str(o.error);
  return r;
}

export function decodeLeaseKeepAlive(v: unknown): LeaseKeepAliveResponse {
  const o = obj(v);
  return { header: decodeHeader(o.header), ID: id(o.ID), TTL: num(o.TTL) };
}

export function decodeLeaseTimeToLive(v: unknown, withKeys: boolean): LeaseTimeToLiveResponse {
  const o = obj(v);
  const r: LeaseTimeToLiveResponse = {
    header: decodeHeader(o.header), ID: id(o.ID), TTL: num(o.TTL), grantedTTL: num(o.grantedTTL),
  };
  if (withKeys) r.keys = arr(o.keys).map(unb64);
  return r;
}

export function decodeLeaseLeases(v: unknown): LeaseLeasesResponse {
  const o = obj(v);
  return { header: decodeHeader(o.header), leases: arr(o.leases).map((l) => ({ ID: id(obj(l).ID) })) };
}

export function decodeMember(v: unknown): Member {
  const o = obj(v);
  const m: Member = {
    ID: id(o.ID), name: str(o.name),
    peerURLs: arr(o.peerURLs).map(str), clientURLs: arr(o.clientURLs).map(str),
  };
  if (bool(o.isLearner)) m.isLearner = true;
  return m;
}

export function decodeMemberList(v: unknown): MemberListResponse {
  const o = obj(v);
  return { header: decodeHeader(o.header), members: arr(o.members).map(decodeMember) };
}

export function decodeMemberAdd(v: unknown): MemberAddResponse {
  const o = obj(v);
  return { header: decodeHeader(o.header), member: decodeMember(o.member), members: arr(o.members).map(decodeMember) };
}

export function decodeStatus(v: unknown): StatusResponse {
  const o = obj(v);
  return {
    header: decodeHeader(o.header),
    version: str(o.version),
    dbSize: num(o.dbSize),
    leader: id(o.leader),
    raftIndex: num(o.raftIndex),
    raftTerm: num(o.raftTerm),
    raftAppliedIndex: num(o.raftAppliedIndex),
    dbSizeInUse: num(o.dbSizeInUse),
    errors: arr(o.errors).map(str),
    isLearner: bool(o.isLearner),
  };
}

/** etcd 3.4 answers GET /health with {"health":"true"}; 3.5 adds "reason". */
export function decodeHealth(v: unknown): HealthResponse {
  const o = obj(v);
  return { health: bool(o.health), reason: str(o.reason) };
}
