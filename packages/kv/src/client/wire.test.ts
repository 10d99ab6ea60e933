// Book 12.10: the client's wire encoding against the etcd 3.4 gateway shapes recorded in the
// storage anchors (base64 bytes, int64 strings, omitted zeros, names for enums), without sockets.
import { describe, expect, it } from "vitest";
import { EtcdError, GrpcCode } from "../types.js";
import { fromErrorBody, retriable, fromNetworkError } from "./errors.js";
import { prefixEnd, prefixRange } from "./keys.js";
import { normalizeEndpoint, parseEndpoints } from "./transport.js";
import { decodeKv } from "./wire-base.js";
import { decodeDeleteRange, decodeRange, encodePut, encodeRange } from "./wire-kv.js";
import { decodeLeaseTimeToLive, decodeMemberList, decodeStatus } from "./wire-ops.js";
import { decodeTxn, encodeTxn } from "./wire-txn.js";
import { decodeWatchResponse, encodeWatchCreate } from "./wire-watch.js";

const H = { cluster_id: "1314590137626661166", member_id: "14429705525564268122", revision: "27", raft_term: "2" };

describe("wire encoding", () => {
  it("encodes a range with base64 keys, int64 strings and no zero fields", () => {
    expect(encodeRange({ key: "/p/", rangeEnd: "/p0", limit: 2, revision: 0, serializable: false })).toEqual({
      key: "L3Av", range_end: "L3Aw", limit: "2",
    });
    expect(encodeRange({ key: "k", revision: 9, sortOrder: "DESCEND", sortTarget: "MOD", keysOnly: true, countOnly: true }))
      .toEqual({ key: "aw==", revision: "9", sort_order: "DESCEND", sort_target: "MOD", keys_only: true, count_only: true });
  });

  it("keeps binary keys and values byte for byte (latin1 strings)", () => {
    const key = "\x00\xff\x80k";
    const put = encodePut({ key, value: "\xfe", lease: "2324035618417748115", prevKv: true });
    expect(Buffer.from(put.key as string, "base64")).toEqual(Buffer.from([0, 255, 128, 107]));
    expect(put).toMatchObject({ value: "/g==", lease: "2324035618417748115", prev_kv: true });
    expect(decodeKv({ key: put.key, value: put.value }).key).toBe(key);
    expect(encodePut({ key: "k", value: "", lease: "0" })).toEqual({ key: "aw==" });
  });

  it("decodes omitted zero values as defaults", () => {
    expect(decodeRange({ header: H })).toEqual({
      header: { clusterId: H.cluster_id, memberId: H.member_id, revision: 27, raftTerm: 2 }, kvs: [], more: false, count: 0,
    });
    const r = decodeRange({ header: H, kvs: [{ key: "Zm9v", create_revision: "2", mod_revision: "3", version: "2" }], more: true, count: "5" });
    expect(r.kvs[0]).toEqual({ key: "foo", createRevision: 2, modRevision: 3, version: 2, value: "", lease: "0" });
    expect(r.more).toBe(true);
    expect(r.count).toBe(5);
    expect(decodeDeleteRange({ header: H })).toMatchObject({ deleted: 0, prevKvs: [] });
  });

  it("encodes a create-if-absent txn with the compared zero sent explicitly", () => {
    const t = encodeTxn({
      compare: [{ key: "k", target: "MOD", result: "EQUAL", modRevision: 0 }],
      success: [{ requestPut: { key: "k", value: "v" } }],
      failure: [{ requestRange: { key: "k" } }],
    });
    expect(t).toEqual({
      compare: [{ result: "EQUAL", target: "MOD", key: "aw==", mod_revision: "0" }],
      success: [{ request_put: { key: "aw==", value: "dg==" } }],
      failure: [{ request_range: { key: "aw==" } }],
    });
  });

  it("decodes a failed txn (no succeeded field) and nested responses", () => {
    const r = decodeTxn({ header: H, responses: [{ response_range: { header: { revision: "27" }, kvs: [{ key: "aw==" }], count: "1" } }] });
    expect(r.succeeded).toBe(false);
    expect(r.responses[0]).toMatchObject({ responseRange: { count: 1, kvs: [{ key: "k" }] } });
    const ok = decodeTxn({ header: H, succeeded: true, responses: [{ response_delete_range: { deleted: "1" } }, {}] },
      { compare: [], success: [{ requestDeleteRange: { key: "a" } }, { requestPut: { key: "b", value: "" } }], failure: [] });
    expect(ok.responses[0]).toMatchObject({ responseDeleteRange: { deleted: 1 } });
    expect(ok.responses[1]).toHaveProperty("responsePut");
  });

  it("encodes watch creates and decodes events (PUT has no type, watch id 0 omitted)", () => {
    expect(encodeWatchCreate({ key: "a", rangeEnd: "b", startRevision: 7, prevKv: true, progressNotify: true, watchId: 3 }))
      .toEqual({ key: "YQ==", range_end: "Yg==", start_revision: "7", prev_kv: true, progress_notify: true, watch_id: "3" });
    const w = decodeWatchResponse({
      header: H, events: [{ kv: { key: "YQ==", mod_revision: "5", value: "eA==" } }, { type: "DELETE", kv: { key: "YQ==", mod_revision: "6" }, prev_kv: { key: "YQ==" } }],
    });
    expect(w.watchId).toBe(0);
    expect(w.events.map((e) => e.type)).toEqual(["PUT", "DELETE"]);
    expect(w.events[1]!.prevKv?.key).toBe("a");
    const c = decodeWatchResponse({ header: { cluster_id: "1" }, canceled: true, compact_revision: "456817", watch_id: "-1" });
    expect(c).toMatchObject({ canceled: true, compactRevision: 456817, watchId: -1 });
    expect(c.header.revision).toBe(0);
  });

  it("decodes lease, member and status responses in their own casing", () => {
    expect(decodeLeaseTimeToLive({ header: H, ID: "12", TTL: "-1" }, false)).toEqual({
      header: expect.anything(), ID: "12", TTL: -1, grantedTTL: 0,
    });
    const m = decodeMemberList({ header: H, members: [{ ID: "348425931826870675", peerURLs: ["http://p"], isLearner: true }] });
    expect(m.members[0]).toEqual({ ID: "348425931826870675", name: "", peerURLs: ["http://p"], clientURLs: [], isLearner: true });
    expect(decodeStatus({ header: H, version: "3.4.23", dbSize: "24576", leader: "14429705525564268122", raftIndex: "10" }))
      .toMatchObject({ version: "3.4.23", dbSize: 24576, raftIndex: 10, raftAppliedIndex: 0, errors: [], isLearner: false });
  });
});

describe("keys and endpoints", () => {
  it("computes prefix range ends like etcd", () => {
    expect(prefixEnd("/p/")).toBe("/p0");
    expect(prefixEnd("a\xff")).toBe("b");
    expect(prefixEnd("\xff\xff")).toBe("\0");
    expect(prefixRange("")).toEqual({ key: "\0", rangeEnd: "\0" });
  });

  it("normalizes endpoints", () => {
    expect(normalizeEndpoint("127.0.0.1:2379")).toBe("http://127.0.0.1:2379");
    expect(normalizeEndpoint("https://h:1/")).toBe("https://h:1");
    expect(parseEndpoints("a:1, http://a:1 ,b:2")).toEqual(["http://a:1", "http://b:2"]);
    expect(() => parseEndpoints("")).toThrow(EtcdError);
    expect(() => normalizeEndpoint("ftp://x")).toThrow(/only http/);
  });
});

describe("errors", () => {
  it("turns gateway error bodies into EtcdError with the gRPC code", () => {
    const e = fromErrorBody(400, '{"error":"etcdserver: mvcc: required revision has been compacted","message":"etcdserver: mvcc: required revision has been compacted","code":11}');
    expect(e).toBeInstanceOf(EtcdError);
    expect(e.code).toBe(GrpcCode.OutOfRange);
    expect(e.message).toBe("etcdserver: mvcc: required revision has been compacted");
    const s = fromErrorBody(200, '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}}');
    expect(s.code).toBe(GrpcCode.Unavailable);
    expect(fromErrorBody(502, "<html>").code).toBe(GrpcCode.Unknown);
  });

  it("retries writes only when the request surely was not applied", () => {
    const refused = fromNetworkError(Object.assign(new Error("x"), { code: "ECONNREFUSED" }), "e");
    const reset = fromNetworkError(Object.assign(new Error("x"), { code: "ECONNRESET" }), "e");
    expect(retriable(refused, false)).toBe(true);
    expect(retriable(reset, false)).toBe(false);
    expect(retriable(reset, true)).toBe(true);
    expect(retriable(new EtcdError(GrpcCode.Unavailable, "etcdserver: no leader"), false)).toBe(true);
    expect(retriable(new EtcdError(GrpcCode.Unavailable, "etcdserver: request timed out"), false)).toBe(false);
    expect(retriable(new EtcdError(GrpcCode.NotFound, "etcdserver: requested lease not found"), true)).toBe(false);
  });
});
