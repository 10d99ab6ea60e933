// Book 12.2 and 12.10: compaction against etcd 3.4 and `corekube kv`: its errors, reads below it, and
// watches starting below or at it. Compaction is global, so this file has its own servers.
import { afterEach, expect, it } from "vitest";
import { clusterHeader, etcdError, forEachTarget, header, kv, uniq } from "../support/conformance.js";
import { b64, ok, openStream, post, putRev, type Stream } from "../support/wire-client.js";

const COMPACTED = "etcdserver: mvcc: required revision has been compacted";
const FUTURE = "etcdserver: mvcc: required revision is a future revision";

forEachTarget("compaction", (s) => {
  const open: Stream[] = [];
  afterEach(() => {
    for (const w of open.splice(0)) w.close();
  });

  it("compacts, refuses to compact the same or an older revision again, and refuses the future", async () => {
    const k = uniq("compact") + "k";
    const r1 = await putRev(s.ep, k, "v1");
    const r2 = await putRev(s.ep, k, "v2");
    const r3 = await putRev(s.ep, k, "v3");
    expect(await ok(s.ep, "/v3/kv/compaction", { revision: String(r2), physical: true })).toEqual({ header: header(r3) });
    for (const revision of [r2, r1]) {
      const again = await post(s.ep, "/v3/kv/compaction", { revision: String(revision) });
      expect([again.status, again.json]).toEqual([400, etcdError(11, COMPACTED)]);
    }
    const none = await post(s.ep, "/v3/kv/compaction", {});
    expect([none.status, none.json]).toEqual([400, etcdError(11, COMPACTED)]);
    const future = await post(s.ep, "/v3/kv/compaction", { revision: String(r3 + 100) });
    expect([future.status, future.json]).toEqual([400, etcdError(11, FUTURE)]);
  });

  it("reads below the compaction point fail with 400 / code 11; at it they work", async () => {
    const k = uniq("read") + "k";
    const r1 = await putRev(s.ep, k, "v1");
    const r2 = await putRev(s.ep, k, "v2");
    await ok(s.ep, "/v3/kv/compaction", { revision: String(r2) });
    const old = await post(s.ep, "/v3/kv/range", { key: b64(k), revision: String(r1) });
    expect([old.status, old.json]).toEqual([400, etcdError(11, COMPACTED)]);
    expect((await ok(s.ep, "/v3/kv/range", { key: b64(k), revision: String(r2) })).kvs).toEqual([kv(k, "v2", { create: r1, mod: r2, version: 2 })]);
    const inTxn = await post(s.ep, "/v3/kv/txn", { success: [{ request_range: { key: b64(k), revision: String(r1) } }] });
    expect([inTxn.status, inTxn.json]).toEqual([400, etcdError(11, COMPACTED)]);
  });

  it("a watch from below the compaction point is created, then canceled with compact_revision", async () => {
    const k = uniq("watch") + "k";
    const r1 = await putRev(s.ep, k, "v1");
    const r2 = await putRev(s.ep, k, "v2");
    await ok(s.ep, "/v3/kv/compaction", { revision: String(r2) });
    const w = await openStream(s.ep, "/v3/watch", [{ create_request: { key: b64(k), start_revision: String(r1), watch_id: "3" } }]);
    open.push(w);
    expect(await w.next()).toEqual({ result: { header: header(r2), watch_id: "3", created: true } });
    expect(await w.next()).toEqual({ result: { header: clusterHeader(), watch_id: "3", canceled: true, compact_revision: String(r2) } });
  });

  // A deliberate difference: etcd 3.4 replays a watch that starts exactly at the compaction
  // revision, but a delete made at that revision is gone by then, so that watch can miss it
  // (etcd#19179). corekube refuses the start like any compacted one, which is always safe.
  it("a watch from the compaction revision itself: etcd replays, corekube cancels", async () => {
    const k = uniq("watch-at") + "k";
    const r1 = await putRev(s.ep, k, "v1");
    const r2 = await putRev(s.ep, k, "v2");
    await ok(s.ep, "/v3/kv/compaction", { revision: String(r2) });
    const w = await openStream(s.ep, "/v3/watch", [{ create_request: { key: b64(k), start_revision: String(r2) } }]);
    open.push(w);
    expect((await w.next()).result.created).toBe(true);
    const next = (await w.next()).result;
    if (s.target === "etcd") expect(next.events).toEqual([{ kv: kv(k, "v2", { create: r1, mod: r2, version: 2 }) }]);
    else expect(next).toEqual({ header: clusterHeader(), canceled: true, compact_revision: String(r2) });
  });
});
