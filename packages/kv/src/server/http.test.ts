// Book 12.3: the etcd JSON gateway handler in-process, over a small fake KvService: request
// decoding, response shapes with zero values left out, every error shape, routes and methods.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { KvService, StatusResponse } from "../service.js";
import {
  type CompactionRequest, type DeleteRangeRequest, Errors, EtcdError, GrpcCode, type KeyValue, type LeaseGrantRequest,
  type PutRequest, type RangeRequest, type ResponseHeader, type TxnRequest, type TxnResponse, type Member,
} from "../types.js";
import type { WatchStream } from "../watch/types.js";
import { createKvHttpHandler } from "./http.js";

/** Just enough of a store to see the wire: one map, a revision counter, leases, recorded calls. */
class FakeKv implements KvService {
  rev = 1;
  compacted = 0;
  data = new Map<string, KeyValue>();
  leases = new Map<string, number>();
  calls: { op: string; req: unknown }[] = [];
  fail?: unknown;
  healthy = true;
  members: Member[] = [{ ID: "10", name: "m1", peerURLs: ["http://127.0.0.1:2380"], clientURLs: ["http://127.0.0.1:2379"] }];

  private record(op: string, req: unknown) {
    this.calls.push({ op, req });
    if (this.fail) throw this.fail;
  }
  last(): unknown {
    return this.calls[this.calls.length - 1]?.req;
  }
  header(): ResponseHeader {
    return { clusterId: "100", memberId: "10", revision: this.rev, raftTerm: 2 };
  }
  private inRange(k: string, key: string, end?: string) {
    return !end ? k === key : end === "\0" ? k >= key : k >= key && k < end;
  }
  async range(req: RangeRequest) {
    this.record("range", req);
    if (req.revision && req.revision > this.rev) throw Errors.futureRev();
    if (req.revision && req.revision < this.compacted) throw Errors.compacted();
    const all = [...this.data.values()].filter((kv) => this.inRange(kv.key, req.key, req.rangeEnd)).sort((a, b) => (a.key < b.key ? -1 : 1));
    const limited = req.limit && req.limit > 0 ? all.slice(0, req.limit) : all;
    const kvs = req.countOnly ? [] : limited.map((kv) => (req.keysOnly ? { ...kv, value: "" } : kv));
    return { header: this.header(), kvs, more: limited.length < all.length && !req.countOnly, count: all.length };
  }
  private write(req: PutRequest): KeyValue | undefined {
    const prev = this.data.get(req.key);
    this.data.set(req.key, { key: req.key, value: req.value, createRevision: prev?.createRevision ?? this.rev, modRevision: this.rev, version: (prev?.version ?? 0) + 1, lease: req.lease ?? "0" });
    return prev;
  }
  async put(req: PutRequest) {
    this.record("put", req);
    if (req.lease && !this.leases.has(req.lease)) throw Errors.leaseNotFound();
    this.rev++;
    const prev = this.write(req);
    return { header: this.header(), ...(req.prevKv && prev ? { prevKv: prev } : {}) };
  }
  async deleteRange(req: DeleteRangeRequest) {
    this.record("deleteRange", req);
    const gone = [...this.data.values()].filter((kv) => this.inRange(kv.key, req.key, req.rangeEnd));
    if (gone.length) this.rev++;
    for (const kv of gone) this.data.delete(kv.key);
    return { header: this.header(), deleted: gone.length, prevKvs: req.prevKv ? gone : [] };
  }
  async txn(req: TxnRequest): Promise<TxnResponse> {
    this.record("txn", req);
    const ok = req.compare.every((c) => {
      const kv = this.data.get(c.key);
      const [have, want] = c.target === "MOD" ? [kv?.modRevision ?? 0, c.modRevision ?? 0] : c.target === "VERSION" ? [kv?.version ?? 0, c.version ?? 0] : [kv?.value ?? "", c.value ?? ""];
      return c.result === "EQUAL" ? have === want : c.result === "NOT_EQUAL" ? have !== want : c.result === "LESS" ? have < want : have > want;
    });
    const ops = ok ? req.success : req.failure;
    if (ops.some((op) => "requestPut" in op)) this.rev++;
    const responses = ops.map((op) => {
      if ("requestPut" in op) {
        this.write(op.requestPut);
        return { responsePut: { header: this.header() } };
      }
      if ("requestTxn" in op) return { responseTxn: { header: this.header(), succeeded: true, responses: [] } };
      const kv = "requestRange" in op ? this.data.get(op.requestRange.key) : undefined;
      return { responseRange: { header: this.header(), kvs: kv ? [kv] : [], more: false, count: kv ? 1 : 0 } };
    });
    return { header: this.header(), succeeded: ok, responses };
  }
  async compact(req: CompactionRequest) {
    this.record("compact", req);
    if (req.revision <= this.compacted) throw Errors.compacted();
    if (req.revision > this.rev) throw Errors.futureRev();
    this.compacted = req.revision;
    return { header: this.header() };
  }
  async leaseGrant(req: LeaseGrantRequest) {
    this.record("leaseGrant", req);
    const id = req.ID && req.ID !== "0" ? req.ID : "7587862000000000001";
    if (this.leases.has(id)) throw Errors.leaseExists();
    this.leases.set(id, Math.max(req.TTL, 2));
    return { header: this.header(), ID: id, TTL: Math.max(req.TTL, 2) };
  }
  async leaseRevoke(id: string) {
    this.record("leaseRevoke", id);
    if (!this.leases.delete(id)) throw Errors.leaseNotFound();
    return { header: this.header() };
  }
  async leaseKeepAlive(id: string) {
    this.record("leaseKeepAlive", id);
    return { header: this.header(), ID: id, TTL: this.leases.get(id) ?? 0 };
  }
  async leaseTimeToLive(id: string, keys: boolean) {
    this.record("leaseTimeToLive", { id, keys });
    const ttl = this.leases.get(id);
    if (ttl === undefined) return { header: this.header(), ID: id, TTL: -1, grantedTTL: 0 };
    const attached = [...this.data.values()].filter((kv) => kv.lease === id).map((kv) => kv.key);
    return { header: this.header(), ID: id, TTL: ttl - 1, grantedTTL: ttl, ...(keys ? { keys: attached } : {}) };
  }
  async leaseLeases() {
    this.record("leaseLeases", {});
    return { header: this.header(), leases: [...this.leases.keys()].map((ID) => ({ ID })) };
  }
  async memberList() {
    this.record("memberList", {});
    return { header: this.header(), members: this.members };
  }
  async memberAdd(peerURLs: string[], isLearner: boolean) {
    this.record("memberAdd", { peerURLs, isLearner });
    const member: Member = { ID: "20", name: "", peerURLs, clientURLs: [], isLearner };
    return { header: this.header(), member, members: [...this.members, member] };
  }
  async memberRemove(id: string) {
    this.record("memberRemove", id);
    if (id !== "10") throw Errors.memberNotFound();
    return { header: this.header(), members: [] };
  }
  async moveLeader(id: string) {
    this.record("moveLeader", id);
    if (id !== "10") throw Errors.badLeaderTransferee();
    return { header: this.header() };
  }
  async status(): Promise<StatusResponse> {
    this.record("status", {});
    return { header: this.header(), version: "3.4.23", dbSize: 4096, leader: "10", raftIndex: 9, raftTerm: 2, raftAppliedIndex: 9, dbSizeInUse: 2048, errors: [], isLearner: false };
  }
  async health() {
    return { health: this.healthy, reason: this.healthy ? "" : "no leader" };
  }
  openWatchStream(): WatchStream {
    throw new Error("not in this file (see http-stream.test.ts)");
  }
}

const b64 = (s: string) => Buffer.from(s, "latin1").toString("base64");
const H = { cluster_id: "100", member_id: "10", raft_term: "2" };
const hdr = (rev: number) => ({ ...H, revision: String(rev) });

let server: Server;
let base: string;
let kv: FakeKv;
let errors: unknown[] = [];
let maxRequestBytes = 4096;

async function call(path: string, body: string | object, init: RequestInit = {}) {
  const res = await fetch(base + path, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), ...init });
  const text = await res.text();
  return { status: res.status, text, json: text.startsWith("{") ? JSON.parse(text) : undefined, headers: res.headers };
}

beforeAll(async () => {
  server = createServer((req, res) =>
    createKvHttpHandler(kv, { maxRequestBytes, metrics: async () => "# HELP x y\nx 1\n", onError: (e) => errors.push(e) })(req, res),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  kv = new FakeKv();
  errors = [];
  maxRequestBytes = 4096;
});

describe("kv round trips", () => {
  it("put then range: binary keys in base64, int64s as strings, lease omitted when 0", async () => {
    const key = "\x00k\xff";
    expect(await call("/v3/kv/put", { key: b64(key), value: b64("v1") })).toMatchObject({ status: 200, json: { header: hdr(2) } });
    expect(kv.last()).toEqual({ key, value: "v1" });
    const r = await call("/v3/kv/range", { key: b64(key) });
    expect(r.text).toBe(
      '{"header":{"cluster_id":"100","member_id":"10","revision":"2","raft_term":"2"},' +
        `"kvs":[{"key":"${b64(key)}","create_revision":"2","mod_revision":"2","version":"1","value":"${b64("v1")}"}],"count":"1"}`,
    );
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("a missing key has no kvs and no count; an empty value has no value field", async () => {
    expect((await call("/v3/kv/range", { key: b64("nope") })).json).toEqual({ header: hdr(1) });
    await call("/v3/kv/put", { key: b64("e") });
    expect((await call("/v3/kv/range", { key: b64("e") })).json.kvs).toEqual([{ key: b64("e"), create_revision: "2", mod_revision: "2", version: "1" }]);
  });

  it("decodes every range field, by snake_case or lowerCamel name, int64 as string or number", async () => {
    await call("/v3/kv/range", {
      key: b64("a"), rangeEnd: b64("b"), limit: 2, revision: "1", sort_order: "DESCEND", sortTarget: 3,
      serializable: true, keys_only: true, countOnly: false, min_mod_revision: "1", maxModRevision: "9",
      min_create_revision: null, max_create_revision: "-0", unknown_field: { whatever: 1 },
    });
    expect(kv.last()).toEqual({
      key: "a", rangeEnd: "b", limit: 2, revision: 1, sortOrder: "DESCEND", sortTarget: "MOD", serializable: true,
      keysOnly: true, minModRevision: 1, maxModRevision: 9, maxCreateRevision: 0,
    });
  });

  it("limit, more and count_only", async () => {
    for (const k of ["p/a", "p/b", "p/c"]) await call("/v3/kv/put", { key: b64(k), value: b64("x") });
    const r = await call("/v3/kv/range", { key: b64("p/"), range_end: b64("p0"), limit: "2", keys_only: true });
    expect(r.json.more).toBe(true);
    expect(r.json.count).toBe("3");
    expect(r.json.kvs.map((x: { value?: string }) => x.value)).toEqual([undefined, undefined]);
    expect((await call("/v3/kv/range", { key: b64("p/"), range_end: b64("p0"), count_only: true })).json).toEqual({ header: hdr(4), count: "3" });
  });

  it("put with prev_kv and lease; delete_range with prev_kv; deleted 0 omitted", async () => {
    kv.leases.set("-77", 10);
    await call("/v3/kv/put", { key: b64("k"), value: b64("1"), lease: "-77" });
    const p = await call("/v3/kv/put", { key: b64("k"), value: b64("2"), prev_kv: true });
    expect(p.json.prev_kv).toEqual({ key: b64("k"), create_revision: "2", mod_revision: "2", version: "1", value: b64("1"), lease: "-77" });
    const d = await call("/v3/kv/deleterange", { key: b64("k"), prev_kv: true });
    expect(d.json).toEqual({ header: hdr(4), deleted: "1", prev_kvs: [{ key: b64("k"), create_revision: "2", mod_revision: "3", version: "2", value: b64("2") }] });
    expect((await call("/v3/kv/deleterange", { key: b64("k") })).json).toEqual({ header: hdr(4) });
  });

  it("txn: decoded compares and ops; success and failure shapes; inner headers carry only the revision", async () => {
    const txn = {
      compare: [{ target: "MOD", key: b64("t"), mod_revision: "0", result: "EQUAL" }, { key: b64("t"), target: "VALUE", value: b64("x"), result: "NOT_EQUAL" }],
      success: [{ request_put: { key: b64("t"), value: b64("v") } }],
      failure: [{ request_range: { key: b64("t") } }],
    };
    const ok = await call("/v3/kv/txn", txn);
    expect(ok.text).toBe('{"header":{"cluster_id":"100","member_id":"10","revision":"2","raft_term":"2"},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"2"}}}]}');
    expect((kv.last() as TxnRequest).compare).toEqual([
      { target: "MOD", key: "t", modRevision: 0, result: "EQUAL" },
      { target: "VALUE", key: "t", value: "x", result: "NOT_EQUAL" },
    ]);
    const fail = await call("/v3/kv/txn", txn);
    expect(fail.json).toEqual({
      header: hdr(2),
      responses: [{ response_range: { header: { revision: "2" }, kvs: [{ key: b64("t"), create_revision: "2", mod_revision: "2", version: "1", value: b64("v") }], count: "1" } }],
    });
    expect((await call("/v3/kv/txn", {})).json).toEqual({ header: hdr(2), succeeded: true });
  });

  it("a nested txn's header is an empty object", async () => {
    const r = await call("/v3/kv/txn", { success: [{ request_txn: {} }] });
    expect(r.json.responses).toEqual([{ response_txn: { header: {}, succeeded: true } }]);
  });

  it("compaction, and the service's errors pass through with etcd's status", async () => {
    kv.rev = 10;
    expect((await call("/v3/kv/compaction", { revision: "5", physical: true })).json).toEqual({ header: hdr(10) });
    expect(kv.last()).toEqual({ revision: 5, physical: true });
    const again = await call("/v3/kv/compaction", { revision: "5" });
    expect(again.status).toBe(400);
    expect(again.text).toBe('{"error":"etcdserver: mvcc: required revision has been compacted","message":"etcdserver: mvcc: required revision has been compacted","code":11}');
    expect((await call("/v3/kv/range", { key: b64("a"), revision: "11" })).json.code).toBe(11);
  });
});

describe("leases, cluster and maintenance", () => {
  it("grant, time-to-live with keys, leases, revoke and the /v3/kv/lease aliases", async () => {
    const g = await call("/v3/lease/grant", { TTL: "30", ID: "0" });
    expect(g.json).toEqual({ header: hdr(1), ID: "7587862000000000001", TTL: "30" });
    expect(kv.last()).toEqual({ TTL: 30, ID: "0" });
    await call("/v3/kv/put", { key: b64("lk"), value: b64("v"), lease: g.json.ID });
    expect((await call("/v3/kv/lease/timetolive", { ID: g.json.ID, keys: true })).json).toEqual({ header: hdr(2), ID: g.json.ID, TTL: "29", grantedTTL: "30", keys: [b64("lk")] });
    expect((await call("/v3/lease/timetolive", { ID: "5" })).json).toEqual({ header: hdr(2), ID: "5", TTL: "-1" });
    expect((await call("/v3/kv/lease/leases", {})).json).toEqual({ header: hdr(2), leases: [{ ID: g.json.ID }] });
    expect((await call("/v3/lease/revoke", { ID: g.json.ID })).json).toEqual({ header: hdr(2) });
    expect((await call("/v3/lease/leases", "")).json).toEqual({ header: hdr(2) });
    const missing = await call("/v3/kv/lease/revoke", { ID: g.json.ID });
    expect([missing.status, missing.json.code]).toEqual([404, 5]);
  });

  it("lease already exists is 412, like every FailedPrecondition", async () => {
    await call("/v3/lease/grant", { TTL: "5", ID: "9" });
    const r = await call("/v3/lease/grant", { TTL: "5", ID: "9" });
    expect([r.status, r.json]).toEqual([412, { error: "etcdserver: lease already exists", message: "etcdserver: lease already exists", code: 9 }]);
  });

  it("member list/add/remove: cluster headers carry no revision", async () => {
    expect((await call("/v3/cluster/member/list", {})).json).toEqual({
      header: H, members: [{ ID: "10", name: "m1", peerURLs: ["http://127.0.0.1:2380"], clientURLs: ["http://127.0.0.1:2379"] }],
    });
    const add = await call("/v3/cluster/member/add", { peerURLs: ["http://127.0.0.1:2480"], isLearner: true });
    expect(add.json.member).toEqual({ ID: "20", peerURLs: ["http://127.0.0.1:2480"], isLearner: true });
    expect(add.json.header).toEqual(H);
    expect((await call("/v3/cluster/member/remove", { ID: "10" })).json).toEqual({ header: H });
    expect((await call("/v3/cluster/member/remove", { ID: "-1" })).json.error).toBe("json: cannot unmarshal number -1 into Go value of type uint64");
  });

  it("member add checks its URLs like etcd's v3rpc", async () => {
    for (const peerURLs of [[], ["garbage"], ["http://127.0.0.1"], ["http://127.0.0.1:2380/path"], ["ftp://a:1"]]) {
      const r = await call("/v3/cluster/member/add", { peerURLs });
      expect([r.status, r.json.error]).toEqual([400, "etcdserver: given member URLs are invalid"]);
    }
    expect((await call("/v3/cluster/member/add", { peerURLs: ["https://[::1]:2380", " http://h:1 "] })).status).toBe(200);
  });

  it("status and transfer-leadership", async () => {
    expect((await call("/v3/maintenance/status", {})).text).toBe(
      '{"header":{"cluster_id":"100","member_id":"10","revision":"1","raft_term":"2"},"version":"3.4.23","dbSize":"4096","leader":"10","raftIndex":"9","raftTerm":"2","raftAppliedIndex":"9","dbSizeInUse":"2048"}',
    );
    expect((await call("/v3/maintenance/transfer-leadership", { targetID: "10" })).text).toBe("{}");
    const bad = await call("/v3/maintenance/transfer-leadership", {});
    expect([bad.status, bad.json.error]).toEqual([412, "etcdserver: bad leader transferee"]);
    expect(kv.last()).toBe("0");
  });
});

describe("routes, methods and the non-API endpoints", () => {
  it("serves every route under /v3beta too", async () => {
    expect((await call("/v3beta/kv/range", { key: b64("a") })).status).toBe(200);
    expect((await call("/v3beta/kv/lease/leases", {})).status).toBe(200);
  });

  it("answers unknown paths and wrong methods as etcd does", async () => {
    expect(await call("/v3/kv/nope", {})).toMatchObject({ status: 404, text: "Not Found\n" });
    expect(await call("/v3/kv/range/", {})).toMatchObject({ status: 404, text: "Not Found\n" });
    expect(await call("/v3alpha/kv/range", {})).toMatchObject({ status: 404, text: "404 page not found\n" });
    const get = await fetch(base + "/v3/kv/range");
    expect([get.status, await get.text(), get.headers.get("x-content-type-options")]).toEqual([405, "Method Not Allowed\n", "nosniff"]);
    const post = await call("/health", {});
    expect([post.status, post.headers.get("allow")]).toEqual([405, "GET"]);
    const opts = await fetch(base + "/v3/kv/put", { method: "OPTIONS" });
    expect([opts.status, await opts.text(), opts.headers.get("access-control-allow-methods")]).toEqual([200, "", "POST, GET, OPTIONS, PUT, DELETE"]);
    const moved = await fetch(base + "/v3//kv/range?x=1", { method: "POST", redirect: "manual" });
    expect([moved.status, moved.headers.get("location")]).toEqual([301, "/v3/kv/range?x=1"]);
    expect((await call("/v3/kv/range?ignored=1", { key: b64("a") })).status).toBe(200);
  });

  it("/health, /version and /metrics", async () => {
    const h = await fetch(base + "/health");
    expect([h.status, await h.text(), h.headers.get("content-type")]).toEqual([200, '{"health":"true"}', "text/plain; charset=utf-8"]);
    kv.healthy = false;
    const u = await fetch(base + "/health");
    expect([u.status, await u.text()]).toEqual([503, '{"health":"false"}\n']);
    const v = await fetch(base + "/version");
    expect(await v.text()).toBe('{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}');
    const m = await fetch(base + "/metrics");
    expect([m.headers.get("content-type"), await m.text()]).toEqual(["text/plain; version=0.0.4; charset=utf-8", "# HELP x y\nx 1\n"]);
  });
});

describe("bad input gets etcd's exact error", () => {
  const expectError = async (path: string, body: string | object, status: number, code: number, message: string) => {
    const r = await call(path, body);
    expect({ status: r.status, body: r.json }).toEqual({ status, body: { error: message, message, code } });
  };

  it.each([
    ["not json", "invalid character 'o' in literal null (expecting 'u')"],
    ['{"key":"Zm9v"', "unexpected EOF"],
    ['{"key":"!!!"}', "illegal base64 data at input byte 0"],
    ['{"key":"Zm9v","limit":"x"}', "invalid character 'x' looking for beginning of value"],
    ['{"key":"Zm9v","limit":true}', "json: cannot unmarshal bool into Go value of type int64"],
    ['{"key":"Zm9v","limit":1.5}', "json: cannot unmarshal number 1.5 into Go value of type int64"],
    ['{"key":"Zm9v","limit":""}', "unexpected end of JSON input"],
    ['{"key":"Zm9v","limit":"5 x"}', "invalid character 'x' after top-level value"],
    ['{"key":"Zm9v","limit":"99999999999999999999"}', "json: cannot unmarshal number 99999999999999999999 into Go value of type int64"],
    ['{"key":5}', "json: cannot unmarshal number into Go value of type []uint8"],
    ['{"key":[256]}', "json: cannot unmarshal number 256 into Go value of type uint8"],
    ['{"key":"Zm9v","serializable":"true"}', "json: cannot unmarshal string into Go value of type bool"],
    ['{"key":"Zm9v","sort_order":"BAD"}', 'unknown value "BAD" for enum etcdserverpb.RangeRequest_SortOrder'],
    ['{"key":"Zm9v","sort_order":1.5}', "json: cannot unmarshal number 1.5 into Go value of type etcdserverpb.RangeRequest_SortOrder"],
    ["[]", "json: cannot unmarshal array into Go value of type map[string]json.RawMessage"],
    ['"str"', "json: cannot unmarshal string into Go value of type map[string]json.RawMessage"],
  ])("range %s", async (body, message) => {
    await expectError("/v3/kv/range", body, 400, 3, message);
  });

  it("accepts what Go accepts: arrays of byte numbers, trailing garbage, nulls, padded int strings", async () => {
    expect((await call("/v3/kv/range", '{"key":[102,111,111]} trailing')).status).toBe(200);
    expect(kv.last()).toEqual({ key: "foo" });
    expect((await call("/v3/kv/range", '{"key":"Zm9v","limit":" 5 ","serializable":null}')).status).toBe(200);
    expect(kv.last()).toEqual({ key: "foo", limit: 5 });
  });

  it("empty keys, at every level", async () => {
    const empty = "etcdserver: key is not provided";
    await expectError("/v3/kv/range", "", 400, 3, empty);
    await expectError("/v3/kv/range", "null", 400, 3, empty);
    await expectError("/v3/kv/put", { key: "" }, 400, 3, empty);
    await expectError("/v3/kv/deleterange", {}, 400, 3, empty);
    await expectError("/v3/kv/txn", { compare: [{ key: "" }] }, 400, 3, empty);
    await expectError("/v3/kv/txn", { success: [{ request_txn: { failure: [{ request_range: {} }] } }] }, 400, 3, empty);
    await expectError("/v3/kv/txn", { success: [{}] }, 400, 3, "etcdserver: key not found");
    await expectError("/v3/kv/txn", { success: [{ request_put: null }] }, 400, 3, "etcdserver: key not found");
    expect(kv.calls).toEqual([]);
  });

  it("put's ignore_value and ignore_lease", async () => {
    await expectError("/v3/kv/put", { key: b64("a"), ignore_value: true, value: b64("x") }, 400, 3, "etcdserver: value is provided");
    await expectError("/v3/kv/put", { key: b64("a"), ignore_lease: true, lease: "5" }, 400, 3, "etcdserver: lease is provided");
  });

  it("too many txn ops: per list, nested txns get what is left", async () => {
    const ops = (n: number) => Array.from({ length: n }, (_, i) => ({ request_range: { key: b64(`k${i}`) } }));
    const cmp = (n: number) => Array.from({ length: n }, () => ({ key: b64("a") }));
    const many = "etcdserver: too many operations in txn request";
    await expectError("/v3/kv/txn", { success: ops(129) }, 400, 3, many);
    await expectError("/v3/kv/txn", { compare: cmp(129) }, 400, 3, many);
    expect((await call("/v3/kv/txn", { compare: cmp(128), success: ops(128), failure: ops(128) })).status).toBe(200);
    await expectError("/v3/kv/txn", { compare: cmp(127), success: [{ request_txn: { compare: cmp(2) } }] }, 400, 3, many);
  });

  it.each([
    ["put twice", [{ request_put: { key: "YQ==" } }, { request_put: { key: "YQ==" } }], true],
    ["put and delete", [{ request_put: { key: "YQ==" } }, { request_delete_range: { key: "YQ==" } }], true],
    ["put inside a deleted range", [{ request_put: { key: "Yg==" } }, { request_delete_range: { key: "YQ==", range_end: "Yw==" } }], true],
    ["put at a deleted range's end", [{ request_put: { key: "Yw==" } }, { request_delete_range: { key: "YQ==", range_end: "Yw==" } }], false],
    ["put with a delete to the end (\\0: etcd 3.4 misses it)", [{ request_put: { key: "Yg==" } }, { request_delete_range: { key: "YQ==", range_end: "AA==" } }], false],
    ["two overlapping deletes", [{ request_delete_range: { key: "YQ==", range_end: "Yw==" } }, { request_delete_range: { key: "Yg==" } }], false],
    ["put and a nested txn's put", [{ request_put: { key: "YQ==" } }, { request_txn: { success: [{ request_put: { key: "YQ==" } }] } }], true],
    ["put and a nested txn's else-delete", [{ request_put: { key: "YQ==" } }, { request_txn: { failure: [{ request_delete_range: { key: "YQ==" } }] } }], true],
    ["a nested txn's then and else", [{ request_txn: { success: [{ request_put: { key: "YQ==" } }], failure: [{ request_put: { key: "YQ==" } }] } }], false],
    ["two nested txns, then and else", [{ request_txn: { success: [{ request_put: { key: "YQ==" } }] } }, { request_txn: { failure: [{ request_put: { key: "YQ==" } }] } }], true],
    ["the same key in success and failure", null, false],
  ])("duplicate keys: %s", async (_, success, dup) => {
    const body = success ? { success } : { success: [{ request_put: { key: "YQ==" } }], failure: [{ request_put: { key: "YQ==" } }] };
    const r = await call("/v3/kv/txn", body);
    if (dup) expect([r.status, r.json.error]).toEqual([400, "etcdserver: duplicate key given in txn request"]);
    else expect(r.status).toBe(200);
  });

  it("size limits: the Raft entry (400, code 3) and gRPC's message limit (429, code 8)", async () => {
    maxRequestBytes = 1000; // etcd would be started with --max-request-bytes 1000
    const put = (n: number) => call("/v3/kv/put", { key: b64("k"), value: b64("v".repeat(n)) });
    // Key, tags, lengths and the Raft entry's header take 22 bytes here (24 with 1.5 MiB values, as measured on etcd).
    expect((await put(1000 - 22)).status).toBe(200);
    const big = await put(1000 - 21);
    expect([big.status, big.json]).toEqual([400, { error: "etcdserver: request is too large", message: "etcdserver: request is too large", code: 3 }]);
    const huge = await put(1000 + 512 * 1024);
    expect([huge.status, huge.json.code, huge.json.error]).toEqual([429, 8, `grpc: received message larger than max (${1000 + 512 * 1024 + 7} vs. ${1000 + 512 * 1024})`]);
    // Reads are not Raft entries: only gRPC's limit applies.
    expect((await call("/v3/kv/range", { key: b64("k".repeat(2000)) })).status).toBe(200);
  });

  it("a service error that is not an EtcdError is code 2 / 500 with its message only", async () => {
    kv.fail = new TypeError("boom at line 3");
    const r = await call("/v3/kv/range", { key: b64("a") });
    expect([r.status, r.json]).toEqual([500, { error: "boom at line 3", message: "boom at line 3", code: 2 }]);
    expect(r.text).not.toMatch(/\n\s+at /);
    expect(errors).toEqual([kv.fail]);
    kv.fail = new EtcdError(GrpcCode.Unavailable, "etcdserver: no leader");
    expect((await call("/v3/kv/put", { key: b64("a") })).status).toBe(503);
    expect(errors).toHaveLength(1);
  });
});
