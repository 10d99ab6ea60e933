// Book 12.3: the response header the state machine fills (revision only); the member adds its
// cluster id, member id and Raft term to top-level responses, as etcd does.
import type { KeyValue, ResponseHeader } from "../types.js";

export function header(revision: number): ResponseHeader {
  return { clusterId: "0", memberId: "0", revision, raftTerm: 0 };
}

/** A fresh copy, so callers can never change the store's own objects. */
export function copyKv(kv: KeyValue): KeyValue {
  return { key: kv.key, createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, value: kv.value, lease: kv.lease };
}
