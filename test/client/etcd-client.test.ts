// Book 12.10 and 12.5: EtcdClient against a real etcd 3.4 (or corekube kv, see target.ts) — KV,
// txn, compaction, leases, watch, membership, maintenance, errors, timeouts and endpoint failover.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdClient, prefixEnd } from "../../packages/kv/src/client/index.js";
import { EtcdError, GrpcCode } from "../../packages/kv/src/types.js";
import type { WatchResponse } from "../../packages/kv/src/watch/types.js";
import type { EtcdCluster } from "../support/etcd-cluster.js";
import { deadEndpoint, type Fake, fakeServer, type Proxy, tcpProxy } from "./fakes.js";
import { startTarget, TARGET, targetAvailable } from "./target.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function expectEtcdError(p: Promise<unknown>, code: number, message?: string | RegExp): Promise<EtcdError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(EtcdError);
  expect((e as EtcdError).code).toBe(code);
  if (message !== undefined) expect((e as EtcdError).message).toMatch(message);
  return e as EtcdError;
}

/** Collects responses from a watch until `until` holds (or the timeout). */
async function collect(it: AsyncIterator<WatchResponse>, until: (all: WatchResponse[]) => boolean, ms = 5000): Promise<WatchResponse[]> {
  const all: WatchResponse[] = [];
  const deadline = Date.now() + ms;
  while (!until(all)) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`watch: timed out after ${all.length} responses: ${JSON.stringify(all).slice(0, 500)}`);
    const r = await Promise.race([it.next(), sleep(left).then(() => undefined)]);
    if (!r) continue;
    if (r.done) break;
    all.push(r.value);
  }
  return all;
}

describe.skipIf(!targetAvailable())(`EtcdClient against ${TARGET}`, () => {
  let etcd: EtcdCluster;
  let c: EtcdClient;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    etcd = await startTarget();
    c = new EtcdClient({ endpoints: etcd.endpoints });
  });
  afterAll(async () => {
    for (const close of closers) await close().catch(() => undefined);
    await c?.close();
    await etcd?.stop();
  });

  it("puts, gets and ranges with limit, count, keys-only, count-only and revisions", async () => {
    const p1 = await c.put({ key: "/r/a", value: "1" });
    await c.put({ key: "/r/b", value: "2" });
    const p3 = await c.put({ key: "/r/a", value: "3", prevKv: true });
    expect(p3.prevKv).toMatchObject({ key: "/r/a", value: "1", version: 1 });
    expect(p3.header.revision).toBeGreaterThan(p1.header.revision);

    expect(await c.get("/r/a")).toMatchObject({ value: "3", version: 2, createRevision: p1.header.revision, lease: "0" });
    expect(await c.get("/r/missing")).toBeUndefined();
    expect((await c.get("/r/a", { revision: p1.header.revision }))?.value).toBe("1");

    const page = await c.range({ key: "/r/", rangeEnd: prefixEnd("/r/"), limit: 1 });
    expect(page).toMatchObject({ more: true, count: 2 });
    expect(page.kvs.map((kv) => kv.key)).toEqual(["/r/a"]);
    const keys = await c.range({ key: "/r/", rangeEnd: prefixEnd("/r/"), keysOnly: true, serializable: true });
    expect(keys.kvs.map((kv) => [kv.key, kv.value])).toEqual([["/r/a", ""], ["/r/b", ""]]);
    const count = await c.range({ key: "/r/", rangeEnd: prefixEnd("/r/"), countOnly: true });
    expect(count).toMatchObject({ count: 2, kvs: [] });
    const desc = await c.range({ key: "/r/", rangeEnd: prefixEnd("/r/"), sortOrder: "DESCEND", sortTarget: "KEY" });
    expect(desc.kvs.map((kv) => kv.key)).toEqual(["/r/b", "/r/a"]);
  });

  it("keeps binary keys and values exact", async () => {
    const key = "/bin/\x00\xff\x80";
    const value = Buffer.from([0, 1, 254, 255, 10, 13]).toString("latin1");
    await c.put({ key, value });
    expect((await c.get(key))?.value).toBe(value);
  });

  it("deletes ranges with prev_kv", async () => {
    await c.put({ key: "/d/1", value: "a" });
    await c.put({ key: "/d/2", value: "b" });
    const r = await c.deleteRange({ key: "/d/", rangeEnd: prefixEnd("/d/"), prevKv: true });
    expect(r.deleted).toBe(2);
    expect(r.prevKvs.map((kv) => kv.value)).toEqual(["a", "b"]);
    expect((await c.deleteRange({ key: "/d/1" })).deleted).toBe(0);
  });

  it("runs the Kubernetes txn shapes (create, optimistic update with failure read)", async () => {
    const create = {
      compare: [{ key: "/t/x", target: "MOD" as const, result: "EQUAL" as const, modRevision: 0 }],
      success: [{ requestPut: { key: "/t/x", value: "v1" } }],
      failure: [{ requestRange: { key: "/t/x" } }],
    };
    const ok = await c.txn(create);
    expect(ok.succeeded).toBe(true);
    expect(ok.responses[0]).toHaveProperty("responsePut");
    const again = await c.txn(create);
    expect(again.succeeded).toBe(false);
    const cur = (again.responses[0] as { responseRange: { kvs: { modRevision: number; value: string }[] } }).responseRange.kvs[0]!;
    expect(cur.value).toBe("v1");

    const update = await c.txn({
      compare: [{ key: "/t/x", target: "MOD", result: "EQUAL", modRevision: cur.modRevision }],
      success: [{ requestPut: { key: "/t/x", value: "v2" } }, { requestRange: { key: "/t/x" } }],
      failure: [],
    });
    expect(update.succeeded).toBe(true);
    expect(update.responses[1]).toMatchObject({ responseRange: { kvs: [{ value: "v2" }] } });
    const byValue = await c.txn({ compare: [{ key: "/t/x", target: "VALUE", result: "EQUAL", value: "v2" }], success: [], failure: [] });
    expect(byValue.succeeded).toBe(true);
  });

  it("returns etcd's errors with code and message", async () => {
    await expectEtcdError(c.put({ key: "", value: "x" }), GrpcCode.InvalidArgument, "etcdserver: key is not provided");
    await expectEtcdError(c.put({ key: "/e", value: "x", lease: "1234" }), GrpcCode.NotFound, "etcdserver: requested lease not found");
    const ops = Array.from({ length: 129 }, (_, i) => ({ requestPut: { key: `/e/${i}`, value: "" } }));
    await expectEtcdError(c.txn({ compare: [], success: ops, failure: [] }), GrpcCode.InvalidArgument, "etcdserver: too many operations in txn request");
    const rev = (await c.put({ key: "/e", value: "x" })).header.revision;
    await expectEtcdError(c.range({ key: "/e", revision: rev + 1000 }), GrpcCode.OutOfRange, "etcdserver: mvcc: required revision is a future revision");
  });

  it("compacts, then refuses reads and watches below the compacted revision", async () => {
    const a = await c.put({ key: "/c/k", value: "1" });
    const b = await c.put({ key: "/c/k", value: "2" });
    await c.compact({ revision: b.header.revision, physical: true });
    await expectEtcdError(c.range({ key: "/c/k", revision: a.header.revision }), GrpcCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted");
    await expectEtcdError(c.compact(a.header.revision), GrpcCode.OutOfRange, /compacted/);

    const w = c.watch({ key: "/c/k", startRevision: a.header.revision });
    expect((await w.created).created).toBe(true);
    const [resp] = await collect(w, (all) => all.length > 0);
    expect(resp).toMatchObject({ canceled: true, compactRevision: b.header.revision });
    expect((await w.next()).done).toBe(true);
  });

  it("grants, inspects, renews and revokes leases; revoking deletes attached keys", async () => {
    const l = await c.leaseGrant({ TTL: 30 });
    expect(l.TTL).toBe(30);
    expect(l.ID).toMatch(/^\d+$/);
    await c.put({ key: "/l/k", value: "v", lease: l.ID });
    expect((await c.get("/l/k"))?.lease).toBe(l.ID);
    const ttl = await c.leaseTimeToLive(l.ID, { keys: true });
    expect(ttl).toMatchObject({ ID: l.ID, grantedTTL: 30, keys: ["/l/k"] });
    expect(ttl.TTL).toBeGreaterThan(25);
    expect((await c.leaseLeases()).leases.map((x) => x.ID)).toContain(l.ID);
    expect(await c.leaseKeepAliveOnce(l.ID)).toMatchObject({ ID: l.ID, TTL: 30 });

    await c.leaseRevoke(l.ID);
    expect(await c.get("/l/k")).toBeUndefined();
    expect((await c.leaseTimeToLive(l.ID)).TTL).toBe(-1);
    await expectEtcdError(c.leaseKeepAliveOnce(l.ID), GrpcCode.NotFound, "etcdserver: requested lease not found");
    await expectEtcdError(c.leaseRevoke(l.ID), GrpcCode.NotFound, "etcdserver: requested lease not found");
  });

  it("keeps a lease alive in a loop on one stream, and reports a lost lease", async () => {
    const l = await c.leaseGrant(10);
    const seen: number[] = [];
    const ka = c.leaseKeepAlive(l.ID, { intervalMs: 100, onResponse: (r) => seen.push(r.TTL) });
    await sleep(650);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.every((t) => t === 10)).toBe(true);
    await c.leaseRevoke(l.ID);
    await expectEtcdError(ka.done, GrpcCode.NotFound);

    const l2 = await c.leaseGrant(10);
    const ka2 = c.leaseKeepAlive(l2.ID, { intervalMs: 100 });
    await sleep(250);
    ka2.stop();
    await expect(ka2.done).resolves.toBeUndefined();
    expect(ka2.last?.TTL).toBe(10);
  });

  it("watches a prefix: events with prev_kv, progress on request, cancel ends the iteration", async () => {
    const w = c.watch({ key: "/w/", rangeEnd: prefixEnd("/w/"), prevKv: true });
    const created = await w.created;
    expect(created.created).toBe(true);
    await c.put({ key: "/w/a", value: "1" });
    await c.put({ key: "/w/a", value: "2" });
    const del = await c.deleteRange({ key: "/w/a" });
    const got = await collect(w, (all) => all.flatMap((r) => r.events).length >= 3);
    const events = got.flatMap((r) => r.events);
    expect(events.map((e) => [e.type, e.kv.value, e.prevKv?.value])).toEqual([["PUT", "1", undefined], ["PUT", "2", "1"], ["DELETE", "", "2"]]);
    expect(events[2]!.kv.modRevision).toBe(del.header.revision);
    expect(w.nextRevision).toBe(del.header.revision + 1);

    w.progress();
    const [prog] = await collect(w, (all) => all.length > 0);
    expect(prog!.events).toEqual([]);
    expect(prog!.header.revision).toBe(del.header.revision);

    w.cancel();
    expect((await w.next()).done).toBe(true);
  });

  it("replays history from a start revision and stops on break", async () => {
    const first = await c.put({ key: "/h/k", value: "a" });
    await c.put({ key: "/h/k", value: "b" });
    const w = c.watch({ key: "/h/k", startRevision: first.header.revision });
    const values: string[] = [];
    for await (const r of w) {
      values.push(...r.events.map((e) => e.kv.value));
      if (values.length >= 2) break;
    }
    expect(values).toEqual(["a", "b"]);
    expect((await w.next()).done).toBe(true);
  });

  it("resumes a broken watch on the next endpoint without losing or repeating events", async () => {
    const proxy: Proxy = await tcpProxy(etcd.endpoints[0]!);
    closers.push(proxy.close);
    const pc = new EtcdClient({ endpoints: [proxy.url, etcd.endpoints[0]!] });
    closers.push(() => pc.close());
    const w = pc.watch({ key: "/res/", rangeEnd: prefixEnd("/res/") });
    await w.created;
    await c.put({ key: "/res/1", value: "1" });
    const before = await collect(w, (all) => all.flatMap((r) => r.events).length >= 1);
    await proxy.close(); // the stream breaks and the proxy's endpoint refuses connections
    await c.put({ key: "/res/2", value: "2" });
    await c.put({ key: "/res/3", value: "3" });
    const after = await collect(w, (all) => all.flatMap((r) => r.events).length >= 2);
    const values = [...before, ...after].flatMap((r) => r.events.map((e) => e.kv.value));
    expect(values).toEqual(["1", "2", "3"]);
    w.cancel();
  });

  it("fails over past a refused endpoint and a 503 endpoint; round-robin spreads calls", async () => {
    const dead = await deadEndpoint();
    const fc = new EtcdClient({ endpoints: [dead, etcd.endpoints[0]!] });
    closers.push(() => fc.close());
    await fc.put({ key: "/f/1", value: "x" });
    expect((await fc.get("/f/1"))?.value).toBe("x");

    const busy: Fake = await fakeServer(503, JSON.stringify({ error: "etcdserver: no leader", message: "etcdserver: no leader", code: 14 }));
    closers.push(busy.close);
    const bc = new EtcdClient({ endpoints: [busy.url, etcd.endpoints[0]!] });
    closers.push(() => bc.close());
    await bc.put({ key: "/f/2", value: "y" });
    expect(busy.hits).toBe(1);
    await bc.put({ key: "/f/2", value: "z" }); // pinned to the endpoint that worked
    expect(busy.hits).toBe(1);

    const only = new EtcdClient({ endpoints: [busy.url], retryRounds: 1 });
    closers.push(() => only.close());
    await expectEtcdError(only.get("/f/2"), GrpcCode.Unavailable, "etcdserver: no leader");

    const rr = new EtcdClient({ endpoints: [busy.url, etcd.endpoints[0]!], balance: "round-robin" });
    closers.push(() => rr.close());
    const hits0 = busy.hits;
    for (let i = 0; i < 4; i++) expect((await rr.get("/f/2"))?.value).toBe("z");
    expect(busy.hits - hits0).toBe(2);
  });

  it("times out a request that gets no answer; reads then fail over, writes do not", async () => {
    const hang: Fake = await fakeServer("hang");
    closers.push(hang.close);
    const hc = new EtcdClient({ endpoints: [hang.url], timeoutMs: 200, retryRounds: 1 });
    closers.push(() => hc.close());
    const t0 = Date.now();
    await expectEtcdError(hc.get("/x"), GrpcCode.DeadlineExceeded);
    expect(Date.now() - t0).toBeLessThan(2000);

    const both = new EtcdClient({ endpoints: [hang.url, etcd.endpoints[0]!], timeoutMs: 300 });
    closers.push(() => both.close());
    await c.put({ key: "/x", value: "1" });
    expect((await both.get("/x"))?.value).toBe("1");
    const w = new EtcdClient({ endpoints: [hang.url, etcd.endpoints[0]!], timeoutMs: 300 });
    closers.push(() => w.close());
    await expectEtcdError(w.put({ key: "/x", value: "2" }), GrpcCode.DeadlineExceeded);
  });

  it("lists, adds (as learner) and removes members; reports status, health and version", async () => {
    const list = await c.memberList();
    expect(list.members).toHaveLength(1);
    expect(list.members[0]!.clientURLs).toEqual(etcd.endpoints);
    const added = await c.memberAdd(["http://127.0.0.1:25998"], { isLearner: true });
    expect(added.member).toMatchObject({ name: "", peerURLs: ["http://127.0.0.1:25998"], isLearner: true });
    expect(added.members).toHaveLength(2);
    const removed = await c.memberRemove(added.member.ID);
    expect(removed.members.map((m) => m.ID)).toEqual([list.members[0]!.ID]);
    await expectEtcdError(c.memberRemove(added.member.ID), GrpcCode.NotFound, "etcdserver: member not found");

    const s = await c.status();
    expect(s.version).toBe("3.4.23");
    expect(s.leader).toBe(list.members[0]!.ID);
    expect(s.raftIndex).toBeGreaterThan(0);
    expect(await c.health()).toEqual({ health: true, reason: "" });
    expect(await c.version()).toEqual({ etcdserver: "3.4.23", etcdcluster: "3.4.0" });
    expect(await c.leaderEndpoint()).toBe(etcd.endpoints[0]);
    await expectEtcdError(c.moveLeader("1234"), GrpcCode.FailedPrecondition, "etcdserver: bad leader transferee");
  });
});
