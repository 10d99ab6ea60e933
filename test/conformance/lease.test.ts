// Book 12.3 and 12.10: leases against etcd 3.4 and `corekube kv`: grant, keepalive stream, time-to-live,
// list, revoke deleting keys (watchers see DELETE), unknown leases, /v3/kv/lease aliases.
import { afterEach, expect, it } from "vitest";
import { etcdError, forEachTarget, header, kv, uniq } from "../support/conformance.js";
import { b64, ok, openStream, post, prefixEnd, put, putRev, type Json, type Stream } from "../support/wire-client.js";

const NOT_FOUND = "etcdserver: requested lease not found";
const digits = expect.stringMatching(/^\d+$/);

forEachTarget("lease", (s) => {
  const open: Stream[] = [];
  afterEach(() => {
    for (const w of open.splice(0)) w.close();
  });
  const grant = (body: object) => ok(s.ep, "/v3/lease/grant", body);

  it("grant picks an id and keeps the TTL; the header carries the current revision", async () => {
    const rev = await putRev(s.ep, uniq("grant") + "k", "v");
    expect(await grant({ TTL: "60", ID: "0" })).toEqual({ header: header(rev), ID: digits, TTL: "60" });
  });

  it("grant with a chosen id (negative ids too); the same id again is 412 / code 9", async () => {
    const id = String(7_000_000 + Math.floor(Math.random() * 1_000_000));
    expect(await grant({ TTL: "60", ID: id })).toEqual({ header: header(), ID: id, TTL: "60" });
    const again = await post(s.ep, "/v3/lease/grant", { TTL: "60", ID: id });
    expect([again.status, again.json]).toEqual([412, etcdError(9, "etcdserver: lease already exists")]);
    const neg = "-" + id;
    expect((await grant({ TTL: "60", ID: neg })).ID).toBe(neg);
    await ok(s.ep, "/v3/lease/revoke", { ID: id });
    await ok(s.ep, "/v3/lease/revoke", { ID: neg });
  });

  it("a TTL below the minimum is raised to it (2 s with etcd's default 100 ms heartbeat, 1 s election)", async () => {
    const g = await grant({ TTL: "1" });
    expect(g.TTL).toBe("2");
    expect((await grant({})).TTL).toBe("2");
  });

  it("a TTL over 9,000,000,000 s is 400 / code 11", async () => {
    const r = await post(s.ep, "/v3/lease/grant", { TTL: "9000000001" });
    expect([r.status, r.json]).toEqual([400, etcdError(11, "etcdserver: too large lease TTL")]);
  });

  it("keepalive: one reply per message, then the stream ends; an unknown lease gets no TTL", async () => {
    const { ID } = await grant({ TTL: "60" });
    const k = await openStream(s.ep, "/v3/lease/keepalive", [{ ID }, { ID }, { ID: "12345" }]);
    open.push(k);
    expect(k.status).toBe(200);
    expect(await k.next()).toEqual({ result: { header: header(), ID, TTL: "60" } });
    expect(await k.next()).toEqual({ result: { header: header(), ID, TTL: "60" } });
    expect(await k.next()).toEqual({ result: { header: header(), ID: "12345" } });
    await k.ended();
  });

  it("time-to-live: remaining and granted TTL, attached keys; -1 for an unknown lease", async () => {
    const { ID } = await grant({ TTL: "60" });
    const p = uniq("ttl");
    await put(s.ep, p + "a", "1", { lease: ID });
    await put(s.ep, p + "b", "2", { lease: ID });
    const t: Json = await ok(s.ep, "/v3/lease/timetolive", { ID, keys: true });
    expect(t).toEqual({ header: header(), ID, TTL: expect.stringMatching(/^(59|60)$/), grantedTTL: "60", keys: expect.any(Array) });
    expect([...t.keys].sort()).toEqual([b64(p + "a"), b64(p + "b")].sort());
    expect(await ok(s.ep, "/v3/kv/lease/timetolive", { ID })).toEqual({ header: header(), ID, TTL: expect.any(String), grantedTTL: "60" });
    expect(await ok(s.ep, "/v3/lease/timetolive", { ID: "12345" })).toEqual({ header: header(), ID: "12345", TTL: "-1" });
    await ok(s.ep, "/v3/lease/revoke", { ID });
  });

  it("leases lists the granted leases (also under /v3/kv/lease/leases)", async () => {
    const { ID } = await grant({ TTL: "60" });
    const list = await ok(s.ep, "/v3/lease/leases", {});
    expect(list).toEqual({ header: header(), leases: expect.any(Array) });
    expect(list.leases).toContainEqual({ ID });
    expect((await ok(s.ep, "/v3/kv/lease/leases", {})).leases).toContainEqual({ ID });
    await ok(s.ep, "/v3/kv/lease/revoke", { ID });
    expect((await ok(s.ep, "/v3/lease/leases", {})).leases ?? []).not.toContainEqual({ ID });
  });

  it("keys carry their lease; revoke deletes them in one revision and watchers see DELETE events", async () => {
    const { ID } = await grant({ TTL: "60" });
    const p = uniq("revoke");
    const ra = await putRev(s.ep, p + "a", "1", { lease: ID });
    const rb = await putRev(s.ep, p + "b", "2", { lease: ID });
    expect((await ok(s.ep, "/v3/kv/range", { key: b64(p + "a") })).kvs).toEqual([kv(p + "a", "1", { create: ra, mod: ra, version: 1, lease: ID })]);
    const w = await openStream(s.ep, "/v3/watch", [{ create_request: { key: b64(p), range_end: b64(prefixEnd(p)) } }]);
    open.push(w);
    await w.next();
    expect(await ok(s.ep, "/v3/lease/revoke", { ID })).toEqual({ header: header(rb + 1) });
    const ev = (await w.next()).result;
    expect(ev.header).toEqual(header(rb + 1));
    expect([...ev.events].sort((x: Json, y: Json) => (x.kv.key < y.kv.key ? -1 : 1))).toEqual([
      { type: "DELETE", kv: { key: b64(p + "a"), mod_revision: String(rb + 1) } },
      { type: "DELETE", kv: { key: b64(p + "b"), mod_revision: String(rb + 1) } },
    ]);
    expect(await ok(s.ep, "/v3/kv/range", { key: b64(p), range_end: b64(prefixEnd(p)) })).toEqual({ header: header(rb + 1) });
  });

  it("an unknown lease: revoke and put are 404 / code 5", async () => {
    for (const [path, body] of [["/v3/lease/revoke", { ID: "12345" }], ["/v3/lease/revoke", {}], ["/v3/kv/put", { key: b64(uniq("nolease")), lease: "12345" }]] as const) {
      const r = await post(s.ep, path, body);
      expect([r.status, r.json]).toEqual([404, etcdError(5, NOT_FOUND)]);
    }
  });
});
