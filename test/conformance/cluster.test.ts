// Book 12.1 and 12.10: cluster and maintenance calls, /health, /version, /metrics, unknown paths and
// wrong methods, against etcd 3.4 and `corekube kv`.
import { expect, it } from "vitest";
import { clusterHeader, etcdError, forEachTarget, header } from "../support/conformance.js";
import { ok, post, send } from "../support/wire-client.js";

const digits = expect.stringMatching(/^\d+$/);

forEachTarget("cluster, maintenance, health", (s) => {
  it("member list: one member, cluster header without revision", async () => {
    const r = await ok(s.ep, "/v3/cluster/member/list", {});
    expect(r).toEqual({ header: clusterHeader(), members: [{ ID: digits, name: expect.any(String), peerURLs: [expect.stringMatching(/^http:\/\//)], clientURLs: [s.ep] }] });
    expect(r.members[0].ID).toBe(r.header.member_id);
    expect(await ok(s.ep, "/v3/cluster/member/list", "")).toEqual(r);
  });

  it("member add with bad URLs is 400 / code 3; removing an unknown member is 404 / code 5", async () => {
    for (const body of [{}, { peerURLs: ["garbage"] }, { peerURLs: ["http://127.0.0.1"] }]) {
      const r = await post(s.ep, "/v3/cluster/member/add", body);
      expect([r.status, r.json]).toEqual([400, etcdError(3, "etcdserver: given member URLs are invalid")]);
    }
    const rm = await post(s.ep, "/v3/cluster/member/remove", { ID: "1" });
    expect([rm.status, rm.json]).toEqual([404, etcdError(5, "etcdserver: member not found")]);
  });

  it("member add (a learner, so the quorum stays one), list, and remove", async () => {
    const url = `http://127.0.0.1:${24000 + Math.floor(Math.random() * 1000)}`; // nothing needs to listen there
    const add = await post(s.ep, "/v3/cluster/member/add", { peerURLs: [url], isLearner: true }, 30_000);
    expect(add.status).toBe(200);
    expect(add.json).toEqual({ header: clusterHeader(), member: { ID: digits, peerURLs: [url], isLearner: true }, members: expect.any(Array) });
    expect(add.json.members).toHaveLength(2);
    expect(add.json.members).toContainEqual(add.json.member);
    expect((await ok(s.ep, "/v3/cluster/member/list", {})).members).toContainEqual(add.json.member);
    // etcd 3.4 derives a new member's id from its URLs and the second it was added: the same URL
    // again within that second hits the id first.
    const again = await post(s.ep, "/v3/cluster/member/add", { peerURLs: [url], isLearner: true }, 30_000);
    expect(again.status).toBe(412);
    expect([etcdError(9, "etcdserver: Peer URLs already exists"), etcdError(9, "etcdserver: member ID already exist")]).toContainEqual(again.json);
    // Membership changes go through Raft and, on a real etcd, its apply loop: a busy CI machine can take
    // longer than the usual 10 s (one run timed out here), so they get 30 s; the answers are what is checked.
    const rm = await post(s.ep, "/v3/cluster/member/remove", { ID: add.json.member.ID }, 30_000);
    expect(rm.status).toBe(200);
    expect(rm.json).toEqual({ header: clusterHeader(), members: [expect.objectContaining({ clientURLs: [s.ep] })] });
  }, 120_000);

  it("status: field names and order as etcd writes them", async () => {
    const r = await post(s.ep, "/v3/maintenance/status", {});
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      header: header(), version: expect.any(String), dbSize: digits, leader: digits, raftIndex: digits,
      raftTerm: digits, raftAppliedIndex: digits, dbSizeInUse: digits,
    });
    expect(Object.keys(r.json)).toEqual(["header", "version", "dbSize", "leader", "raftIndex", "raftTerm", "raftAppliedIndex", "dbSizeInUse"]);
    expect(r.json.leader).toBe(r.json.header.member_id);
  });

  it("transfer-leadership: to itself answers {}; to an unknown member 412 / code 9", async () => {
    const self = (await ok(s.ep, "/v3/maintenance/status", {})).header.member_id;
    const r = await post(s.ep, "/v3/maintenance/transfer-leadership", { targetID: self });
    expect([r.status, r.text]).toEqual([200, "{}"]);
    const bad = await post(s.ep, "/v3/maintenance/transfer-leadership", { targetID: "1" });
    expect([bad.status, bad.json]).toEqual([412, etcdError(9, "etcdserver: bad leader transferee")]);
  });

  it("GET /health", async () => {
    const r = await send(s.ep, "/health", { method: "GET" });
    expect([r.status, r.text, r.headers.get("content-type")]).toEqual([200, '{"health":"true"}', "text/plain; charset=utf-8"]);
    const post = await send(s.ep, "/health", { method: "POST" });
    expect([post.status, post.text, post.headers.get("allow")]).toEqual([405, "Method Not Allowed\n", "GET"]);
  });

  it("GET /version", async () => {
    const r = await send(s.ep, "/version", { method: "GET" });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(r.json).toEqual({ etcdserver: expect.stringMatching(/^3\.4\.\d+$/), etcdcluster: "3.4.0" });
    expect(Object.keys(r.json)).toEqual(["etcdserver", "etcdcluster"]);
  });

  it("GET /metrics is Prometheus text", async () => {
    const r = await send(s.ep, "/metrics", { method: "GET" });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(r.text).toMatch(/^# HELP /m);
  });

  it("unknown paths, wrong methods, OPTIONS, unclean paths", async () => {
    const get = await send(s.ep, "/v3/kv/range", { method: "GET" });
    expect([get.status, get.text]).toEqual([405, "Method Not Allowed\n"]);
    const watchGet = await send(s.ep, "/v3/watch", { method: "GET" });
    expect(watchGet.status).toBe(405);
    expect(await post(s.ep, "/v3/kv/nope", {})).toMatchObject({ status: 404, text: "Not Found\n" });
    expect(await post(s.ep, "/v3/auth/status", {})).toMatchObject({ status: 404, text: "Not Found\n" });
    expect(await post(s.ep, "/v3alpha/kv/range", {})).toMatchObject({ status: 404, text: "404 page not found\n" });
    expect(await post(s.ep, "/nope", {})).toMatchObject({ status: 404, text: "404 page not found\n" });
    const options = await send(s.ep, "/v3/kv/range", { method: "OPTIONS" });
    expect([options.status, options.text, options.headers.get("access-control-allow-origin")]).toEqual([200, "", "*"]);
    const moved = await post(s.ep, "/v3//kv/range", {});
    expect([moved.status, moved.headers.get("location")]).toEqual([301, "/v3/kv/range"]);
  });
});
