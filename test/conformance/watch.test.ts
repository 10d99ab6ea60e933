// Book 12.2 and 12.10: /v3/watch against etcd 3.4 and `corekube kv`: created, replay with prev_kv, live
// and DELETE events, atomic txns, cancel, progress, filters, several watches, start_revision 0.
import { afterEach, expect, it } from "vitest";
import { forEachTarget, header, kv, uniq } from "../support/conformance.js";
import { b64, ok, openStream, prefixEnd, putRev, type Json, type Stream } from "../support/wire-client.js";

forEachTarget("watch", (s) => {
  const open: Stream[] = [];
  afterEach(() => {
    for (const w of open.splice(0)) w.close();
  });
  const watch = async (...messages: object[]) => {
    const w = await openStream(s.ep, "/v3/watch", messages);
    open.push(w);
    expect(w.status).toBe(200);
    return w;
  };
  /** Responses until `n` events have arrived (checking that no response splits a revision). */
  const events = async (w: Stream, n: number) => {
    const out: Json[] = [];
    const responses: Json[] = [];
    while (out.length < n) {
      const r = (await w.next()).result;
      responses.push(r);
      out.push(...(r.events ?? []));
    }
    return { events: out, responses };
  };
  const current = async () => Number((await ok(s.ep, "/v3/kv/range", { key: b64("/conf/none") })).header.revision);

  it("replies created with the current revision and no watch_id when it is 0", async () => {
    const rev = await current();
    const w = await watch({ create_request: { key: b64(uniq("created")) } });
    expect(await w.next()).toEqual({ result: { header: header(rev), created: true } });
  });

  it("replays history from start_revision, with prev_kv and DELETE events", async () => {
    const k = uniq("replay") + "k";
    const r1 = await putRev(s.ep, k, "v1");
    const r2 = await putRev(s.ep, k, "v2");
    const r3 = Number((await ok(s.ep, "/v3/kv/deleterange", { key: b64(k) })).header.revision);
    const w = await watch({ create_request: { key: b64(k), start_revision: String(r1), prev_kv: true } });
    expect((await w.next()).result).toEqual({ header: header(r3), created: true });
    const got = await events(w, 3);
    expect(got.events).toEqual([
      { kv: kv(k, "v1", { create: r1, mod: r1, version: 1 }) },
      { kv: kv(k, "v2", { create: r1, mod: r2, version: 2 }), prev_kv: kv(k, "v1", { create: r1, mod: r1, version: 1 }) },
      { type: "DELETE", kv: { key: b64(k), mod_revision: String(r3) }, prev_kv: kv(k, "v2", { create: r1, mod: r2, version: 2 }) },
    ]);
    for (const r of got.responses) {
      expect(r.header).toEqual(header());
      expect(Number(r.header.revision)).toBeGreaterThanOrEqual(Math.max(...r.events.map((e: Json) => Number(e.kv.mod_revision))));
    }
  });

  it("start_revision 0 means from now: earlier writes are not replayed", async () => {
    const p = uniq("fromnow");
    await putRev(s.ep, p + "before", "x");
    const w = await watch({ create_request: { key: b64(p), range_end: b64(prefixEnd(p)) } });
    await w.next();
    expect(await w.quiet(300)).toBe(true);
    const r = await putRev(s.ep, p + "after", "y");
    const live = (await w.next()).result;
    expect(live).toEqual({ header: header(r), events: [{ kv: kv(p + "after", "y", { create: r, mod: r, version: 1 }) }] });
  });

  it("live events: puts without type, deletes with type DELETE and only key and mod_revision", async () => {
    const p = uniq("live");
    const w = await watch({ create_request: { key: b64(p), range_end: b64(prefixEnd(p)) } });
    await w.next();
    const r1 = await putRev(s.ep, p + "a", "1");
    const r2 = await putRev(s.ep, p + "a", "2");
    const r3 = Number((await ok(s.ep, "/v3/kv/deleterange", { key: b64(p + "a") })).header.revision);
    const got = await events(w, 3);
    expect(got.events).toEqual([
      { kv: kv(p + "a", "1", { create: r1, mod: r1, version: 1 }) },
      { kv: kv(p + "a", "2", { create: r1, mod: r2, version: 2 }) },
      { type: "DELETE", kv: { key: b64(p + "a"), mod_revision: String(r3) } },
    ]);
  });

  it("a txn's events come in one response at one revision", async () => {
    const p = uniq("atomic");
    const w = await watch({ create_request: { key: b64(p), range_end: b64(prefixEnd(p)), prev_kv: true } });
    await w.next();
    const t = await ok(s.ep, "/v3/kv/txn", { success: ["a", "b", "c"].map((n) => ({ request_put: { key: b64(p + n), value: b64(n) } })) });
    const rev = Number(t.header.revision);
    expect((await w.next()).result).toEqual({
      header: header(rev),
      events: ["a", "b", "c"].map((n) => ({ kv: kv(p + n, n, { create: rev, mod: rev, version: 1 }) })),
    });
  });

  it("cancel_request: canceled reply with the watch id, then no more events", async () => {
    const p = uniq("cancel");
    const rev = await current();
    const w = await watch({ create_request: { key: b64(p), range_end: b64(prefixEnd(p)), watch_id: "7" } }, { cancel_request: { watch_id: "7" } });
    expect(await w.next()).toEqual({ result: { header: header(rev), watch_id: "7", created: true } });
    expect(await w.next()).toEqual({ result: { header: header(rev), watch_id: "7", canceled: true } });
    await putRev(s.ep, p + "x", "1");
    expect(await w.quiet(300)).toBe(true);
  });

  it("progress_request: a reply with watch_id -1 and the current revision, no events", async () => {
    const rev = await putRev(s.ep, uniq("progress") + "k", "v");
    const w = await watch({ create_request: { key: b64(uniq("progress-w")) } }, { progress_request: {} });
    expect((await w.next()).result).toEqual({ header: header(rev), created: true });
    expect(await w.next()).toEqual({ result: { header: header(rev), watch_id: "-1" } });
  });

  it("several watches on one stream get ids 0, 1, ... and their own events", async () => {
    const a = uniq("multi-a") + "k";
    const b = uniq("multi-b") + "k";
    const w = await watch({ create_request: { key: b64(a) } }, { create_request: { key: b64(b) } });
    expect((await w.next()).result).toEqual({ header: header(), created: true });
    expect((await w.next()).result).toEqual({ header: header(), watch_id: "1", created: true });
    const rb = await putRev(s.ep, b, "B");
    const ra = await putRev(s.ep, a, "A");
    expect((await w.next()).result).toEqual({ header: header(rb), watch_id: "1", events: [{ kv: kv(b, "B", { create: rb, mod: rb, version: 1 }) }] });
    expect((await w.next()).result).toEqual({ header: header(ra), events: [{ kv: kv(a, "A", { create: ra, mod: ra, version: 1 }) }] });
  });

  it("filters: NOPUT delivers only deletes", async () => {
    const k = uniq("noput") + "k";
    const w = await watch({ create_request: { key: b64(k), filters: ["NOPUT"] } });
    await w.next();
    await putRev(s.ep, k, "v");
    const r = Number((await ok(s.ep, "/v3/kv/deleterange", { key: b64(k) })).header.revision);
    expect((await w.next()).result.events).toEqual([{ type: "DELETE", kv: { key: b64(k), mod_revision: String(r) } }]);
  });

  it("a duplicate watch_id is refused on the stream", async () => {
    const k = b64(uniq("dupid") + "k");
    const w = await watch({ create_request: { key: k, watch_id: "5" } }, { create_request: { key: k, watch_id: "5" } });
    expect((await w.next()).result).toEqual({ header: header(), watch_id: "5", created: true });
    expect((await w.next()).result).toEqual({ header: header(), watch_id: "-1", created: true, canceled: true, cancel_reason: "mvcc: duplicate watch ID provided on the WatchStream" });
  });
});
