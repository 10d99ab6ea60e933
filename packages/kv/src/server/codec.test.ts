// Book 12.3 and 12.6: the codec without HTTP: stream messages, response encodings with zero values
// omitted, Go's string escaping, and protobuf sizes checked against numbers etcd reported.
import { describe, expect, it } from "vitest";
import { EtcdError } from "../types.js";
import {
  decodePut, decodeTxn, decodeWatchMessage, encodeError, encodeMemberListResponse, encodeStatusResponse,
  encodeTxnResponse, encodeWatchResponse, goString,
} from "./codec.js";
import { parseGoJson } from "./wire-gojson.js";
import { decodeRequest } from "./wire-jsonpb.js";
import { protoSize } from "./wire-protosize.js";
import { PutRequestDesc, TxnRequestDesc } from "./wire-schema.js";

const lim = { maxRequestBytes: 1.5 * 1024 * 1024, maxTxnOps: 128 };
const parsed = (s: string) => parseGoJson(s, 0, "decoder")!.value;
const header = { clusterId: "1", memberId: "2", revision: 3, raftTerm: 4 };
const H = '{"cluster_id":"1","member_id":"2","revision":"3","raft_term":"4"}';

describe("decode", () => {
  it("watch messages: create, cancel, progress, and none of them", () => {
    expect(decodeWatchMessage(parsed('{"create_request":{"key":"YQ==","startRevision":5,"filters":["NOPUT",1],"watch_id":"-3"}}'))).toEqual({
      create: { key: "a", startRevision: 5, filters: ["NOPUT", "NODELETE"], watchId: -3 },
    });
    expect(decodeWatchMessage(parsed('{"cancel_request":{}}'))).toEqual({ cancel: 0 });
    expect(decodeWatchMessage(parsed('{"progress_request":{}}'))).toEqual({ progress: true });
    expect(decodeWatchMessage(parsed('{"create_request":null,"other":1}'))).toEqual({ none: true });
    expect(() => decodeWatchMessage(parsed('{"create_request":{"filters":["BAD"]}}'))).toThrow('unknown value "BAD" for enum etcdserverpb.WatchCreateRequest_FilterType');
  });

  it("a oneof keeps one member; lowerCamel beats snake_case when both are given", () => {
    const t = decodeTxn('{"compare":[{"key":"YQ==","version":"1","mod_revision":"2","modRevision":"9"}]}', lim);
    expect(t.compare).toEqual([{ key: "a", result: "EQUAL", target: "VERSION", modRevision: 9 }]);
  });

  it("int64 ids keep their precision", () => {
    expect(decodePut('{"key":"YQ==","lease":"9223372036854775807"}', lim).lease).toBe("9223372036854775807");
    expect(decodePut('{"key":"YQ==","lease":-9223372036854775808}', lim).lease).toBe("-9223372036854775808");
    expect(() => decodePut('{"key":"YQ==","lease":"9223372036854775808"}', lim)).toThrow("json: cannot unmarshal number 9223372036854775808 into Go value of type int64");
  });

  it("unknown enum numbers are refused (our types cannot carry them)", () => {
    expect(() => decodeTxn('{"compare":[{"key":"YQ==","result":7}]}', lim)).toThrow(EtcdError);
  });
});

describe("protobuf sizes", () => {
  it("match what etcd reported in its gRPC size errors", () => {
    const put = (keyLen: number, valueLen: number) =>
      protoSize(decodeRequest(JSON.stringify({ key: Buffer.alloc(keyLen, 97).toString("base64"), value: Buffer.alloc(valueLen, 97).toString("base64") }), PutRequestDesc), PutRequestDesc);
    expect(put(3, 2 * 1024 * 1024)).toBe(2097162); // "grpc: received message larger than max (2097162 vs. 2097152)"
    const txn = decodeRequest('{"success":[{"request_put":{"key":"aw==","value":"' + Buffer.alloc(1000, 97).toString("base64") + '"}}],"compare":[{"key":"aw==","range_end":"AA=="}]}', TxnRequestDesc);
    // PutRequest 3 + (1 + 2 + 1000); in a RequestOp 1 + 2 + 1006; in success 1 + 2 + 1009. Compare: key 3,
    // range_end (field 64: 2-byte tag) 2 + 1 + 1, in compare 1 + 1 + 7.
    expect(protoSize(txn, TxnRequestDesc)).toBe(1012 + 9);
  });
});

describe("encode", () => {
  it("Go escapes <, > and & in strings", () => {
    expect(goString("a<b>&c\u2028")).toBe('"a\\u003cb\\u003e\\u0026c\\u2028"');
    expect(encodeError(3, "x <y>")).toBe('{"error":"x \\u003cy\\u003e","message":"x \\u003cy\\u003e","code":3}');
  });

  it("watch responses leave out watch_id 0, false flags and empty events; keep -1", () => {
    expect(encodeWatchResponse({ header, watchId: 0, events: [] })).toBe(`{"header":${H}}`);
    expect(encodeWatchResponse({ header, watchId: -1, events: [] })).toBe(`{"header":${H},"watch_id":"-1"}`);
    expect(encodeWatchResponse({ header: { ...header, revision: 0 }, watchId: 2, canceled: true, compactRevision: 9, cancelReason: "r", events: [] })).toBe(
      '{"header":{"cluster_id":"1","member_id":"2","raft_term":"4"},"watch_id":"2","canceled":true,"compact_revision":"9","cancel_reason":"r"}',
    );
  });

  it("a failed txn has no succeeded and, without failure ops, no responses", () => {
    expect(encodeTxnResponse({ header, succeeded: false, responses: [] })).toBe(`{"header":${H}}`);
  });

  it("members and status: isLearner, errors and empty names as etcd writes them", () => {
    expect(encodeMemberListResponse({ header, members: [{ ID: "5", name: "", peerURLs: ["http://a:1"], clientURLs: [], isLearner: true }] })).toBe(
      '{"header":{"cluster_id":"1","member_id":"2","raft_term":"4"},"members":[{"ID":"5","peerURLs":["http://a:1"],"isLearner":true}]}',
    );
    expect(encodeStatusResponse({ header, version: "3.4.23", dbSize: 1, leader: "2", raftIndex: 3, raftTerm: 4, raftAppliedIndex: 3, dbSizeInUse: 1, errors: ["memberID:2 alarm:NOSPACE "], isLearner: false })).toBe(
      `{"header":${H},"version":"3.4.23","dbSize":"1","leader":"2","raftIndex":"3","raftTerm":"4","raftAppliedIndex":"3","errors":["memberID:2 alarm:NOSPACE "],"dbSizeInUse":"1"}`,
    );
  });
});
