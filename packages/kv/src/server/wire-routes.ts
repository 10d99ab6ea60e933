// Book 12.3: the unary routes of etcd's v3 JSON gateway (decode, call the service, encode), under /v3/
// and the deprecated /v3beta/, with the lease calls also under /v3/kv/lease/.
import type { KvService } from "../service.js";
import {
  type CodecLimits, decodeCompaction, decodeDeleteRange, decodeEmpty, decodeLeaseGrant, decodeLeaseRevoke,
  decodeLeaseTimeToLive, decodeMemberAdd, decodeMemberRemove, decodeMoveLeader, decodePut, decodeRange, decodeTxn,
  encodeDeleteRangeResponse, encodeHeaderOnly, encodeLeaseGrantResponse, encodeLeaseLeasesResponse,
  encodeLeaseTimeToLiveResponse, encodeMemberAddResponse, encodeMemberListResponse, encodePutResponse,
  encodeRangeResponse, encodeStatusResponse, encodeTxnResponse,
} from "./codec.js";

/** Takes the body (latin1), resolves to the response JSON or rejects with the error to send. */
export type UnaryHandler = (body: string) => Promise<string>;

export function unaryRoutes(s: KvService, lim: CodecLimits): Map<string, UnaryHandler> {
  const revoke: UnaryHandler = async (b) => encodeHeaderOnly(await s.leaseRevoke(decodeLeaseRevoke(b, lim)));
  const timeToLive: UnaryHandler = async (b) => {
    const r = decodeLeaseTimeToLive(b, lim);
    return encodeLeaseTimeToLiveResponse(await s.leaseTimeToLive(r.ID, r.keys));
  };
  const leases: UnaryHandler = async (b) => {
    decodeEmpty(b, lim);
    return encodeLeaseLeasesResponse(await s.leaseLeases());
  };
  const routes: [string, UnaryHandler][] = [
    ["/kv/range", async (b) => encodeRangeResponse(await s.range(decodeRange(b, lim)))],
    ["/kv/put", async (b) => encodePutResponse(await s.put(decodePut(b, lim)))],
    ["/kv/deleterange", async (b) => encodeDeleteRangeResponse(await s.deleteRange(decodeDeleteRange(b, lim)))],
    ["/kv/txn", async (b) => encodeTxnResponse(await s.txn(decodeTxn(b, lim)))],
    ["/kv/compaction", async (b) => encodeHeaderOnly(await s.compact(decodeCompaction(b, lim)))],
    ["/lease/grant", async (b) => encodeLeaseGrantResponse(await s.leaseGrant(decodeLeaseGrant(b, lim)))],
    ["/lease/revoke", revoke],
    ["/kv/lease/revoke", revoke],
    ["/lease/timetolive", timeToLive],
    ["/kv/lease/timetolive", timeToLive],
    ["/lease/leases", leases],
    ["/kv/lease/leases", leases],
    ["/cluster/member/list", async (b) => {
      decodeEmpty(b, lim);
      return encodeMemberListResponse(await s.memberList());
    }],
    ["/cluster/member/add", async (b) => {
      const r = decodeMemberAdd(b, lim);
      return encodeMemberAddResponse(await s.memberAdd(r.peerURLs, r.isLearner));
    }],
    // MemberRemoveResponse has the same fields as MemberListResponse.
    ["/cluster/member/remove", async (b) => encodeMemberListResponse(await s.memberRemove(decodeMemberRemove(b, lim)))],
    ["/maintenance/status", async (b) => {
      decodeEmpty(b, lim);
      return encodeStatusResponse(await s.status());
    }],
    // etcd 3.4 answers a successful move with an empty object (no header).
    ["/maintenance/transfer-leadership", async (b) => {
      await s.moveLeader(decodeMoveLeader(b, lim));
      return "{}";
    }],
  ];
  const table = new Map<string, UnaryHandler>();
  for (const [path, h] of routes) {
    table.set("/v3" + path, h);
    table.set("/v3beta" + path, h);
  }
  return table;
}
