// Book 12.3 and 12.10: range, put and delete_range on the wire, the same tests against etcd 3.4 and
// `corekube kv`: exact JSON shapes (zero values left out) with revisions relative to a baseline.
import { expect, it } from "vitest";
import { etcdError, forEachTarget, header, kv, uniq } from "../support/conformance.js";
import { b64, ok, post, prefixEnd, put, putRev } from "../support/wire-client.js";

forEachTarget("range, put, delete_range", (s) => {
  it("put answers with just a header at the new revision; range returns the kv", async () => {
    const k = uniq("single") + "k";
    const r = await put(s.ep, k, "v1");
    expect(r).toEqual({ header: header() });
    const rev = Number(r.header.revision);
    expect(await ok(s.ep, "/v3/kv/range", { key: b64(k) })).toEqual({
      header: header(rev), kvs: [kv(k, "v1", { create: rev, mod: rev, version: 1 })], count: "1",
    });
  });

  it("a missing key: only the header (no kvs, no count)", async () => {
    const r = await ok(s.ep, "/v3/kv/range", { key: b64(uniq("missing") + "k") });
    expect(r).toEqual({ header: header() });
  });

  it("an empty value has no value field; binary keys round-trip", async () => {
    const k = uniq("binary") + "\x00\xff\x80";
    const rev = await putRev(s.ep, k, "");
    expect((await ok(s.ep, "/v3/kv/range", { key: b64(k) })).kvs).toEqual([kv(k, "", { create: rev, mod: rev, version: 1 })]);
  });

  it("prefix ranges, limit with more and count, keys_only, count_only, sort", async () => {
    const p = uniq("prefix");
    const revs: number[] = [];
    for (const n of ["a", "b", "c", "d", "e"]) revs.push(await putRev(s.ep, p + n, "v" + n));
    const cur = revs[4]!;
    const range = { key: b64(p), range_end: b64(prefixEnd(p)) };
    const all = await ok(s.ep, "/v3/kv/range", range);
    expect(all).toEqual({ header: header(cur), kvs: ["a", "b", "c", "d", "e"].map((n, i) => kv(p + n, "v" + n, { create: revs[i]!, mod: revs[i]!, version: 1 })), count: "5" });
    expect(await ok(s.ep, "/v3/kv/range", { ...range, limit: "2" })).toEqual({
      header: header(cur), kvs: [kv(p + "a", "va", { create: revs[0]!, mod: revs[0]!, version: 1 }), kv(p + "b", "vb", { create: revs[1]!, mod: revs[1]!, version: 1 })],
      more: true, count: "5",
    });
    expect(await ok(s.ep, "/v3/kv/range", { ...range, limit: "5" })).not.toHaveProperty("more");
    expect((await ok(s.ep, "/v3/kv/range", { ...range, keys_only: true, limit: "1" })).kvs).toEqual([kv(p + "a", "", { create: revs[0]!, mod: revs[0]!, version: 1 })]);
    expect(await ok(s.ep, "/v3/kv/range", { ...range, count_only: true, limit: "1" })).toEqual({ header: header(cur), count: "5" });
    const desc = await ok(s.ep, "/v3/kv/range", { ...range, sort_order: "DESCEND", sort_target: "KEY", limit: "2" });
    expect(desc.kvs.map((x: { key: string }) => x.key)).toEqual([b64(p + "e"), b64(p + "d")]);
    expect(desc.more).toBe(true);
    expect((await ok(s.ep, "/v3/kv/range", { ...range, serializable: true })).count).toBe("5");
  });

  it("range_end \\0 means every key from key on", async () => {
    const p = uniq("from");
    const r1 = await putRev(s.ep, p + "x", "1");
    const r = await ok(s.ep, "/v3/kv/range", { key: b64(p), range_end: b64("\0"), keys_only: true });
    expect(r.kvs).toContainEqual(kv(p + "x", "", { create: r1, mod: r1, version: 1 }));
  });

  it("reads at a past revision; a future revision is 400 / code 11", async () => {
    const k = uniq("history") + "k";
    const r1 = await putRev(s.ep, k, "one");
    const r2 = await putRev(s.ep, k, "two");
    expect(await ok(s.ep, "/v3/kv/range", { key: b64(k), revision: String(r1) })).toEqual({
      header: header(r2), kvs: [kv(k, "one", { create: r1, mod: r1, version: 1 })], count: "1",
    });
    expect((await ok(s.ep, "/v3/kv/range", { key: b64(k), revision: String(r1 - 1) }))).toEqual({ header: header(r2) });
    const future = await post(s.ep, "/v3/kv/range", { key: b64(k), revision: String(r2 + 1000) });
    expect([future.status, future.json]).toEqual([400, etcdError(11, "etcdserver: mvcc: required revision is a future revision")]);
  });

  it("put with prev_kv returns the previous kv (and nothing for a new key)", async () => {
    const k = uniq("prevkv") + "k";
    expect(await put(s.ep, k, "one", { prev_kv: true })).toEqual({ header: header() });
    const r1 = Number((await ok(s.ep, "/v3/kv/range", { key: b64(k) })).header.revision);
    const r = await put(s.ep, k, "two", { prev_kv: true });
    expect(r).toEqual({ header: header(r1 + 1), prev_kv: kv(k, "one", { create: r1, mod: r1, version: 1 }) });
  });

  it("delete_range: deleted count, prev_kvs, and nothing for a missing key (revision unchanged)", async () => {
    const p = uniq("delete");
    const ra = await putRev(s.ep, p + "a", "1");
    const rb = await putRev(s.ep, p + "b", "2");
    const d = await ok(s.ep, "/v3/kv/deleterange", { key: b64(p), range_end: b64(prefixEnd(p)), prev_kv: true });
    expect(d).toEqual({ header: header(rb + 1), deleted: "2", prev_kvs: [kv(p + "a", "1", { create: ra, mod: ra, version: 1 }), kv(p + "b", "2", { create: rb, mod: rb, version: 1 })] });
    expect(await ok(s.ep, "/v3/kv/deleterange", { key: b64(p + "a") })).toEqual({ header: header(rb + 1) });
    expect(await ok(s.ep, "/v3/kv/range", { key: b64(p + "a") })).toEqual({ header: header(rb + 1) });
  });

  it("version counts writes since creation and restarts after a delete", async () => {
    const k = uniq("version") + "k";
    const r1 = await putRev(s.ep, k, "1");
    await putRev(s.ep, k, "2");
    const r3 = await putRev(s.ep, k, "3");
    expect((await ok(s.ep, "/v3/kv/range", { key: b64(k) })).kvs).toEqual([kv(k, "3", { create: r1, mod: r3, version: 3 })]);
    await ok(s.ep, "/v3/kv/deleterange", { key: b64(k) });
    const r5 = await putRev(s.ep, k, "again");
    expect((await ok(s.ep, "/v3/kv/range", { key: b64(k) })).kvs).toEqual([kv(k, "again", { create: r5, mod: r5, version: 1 })]);
  });

  it("int64 fields may be JSON numbers; lowerCamel names work too", async () => {
    const p = uniq("camel");
    await put(s.ep, p + "a", "1");
    await put(s.ep, p + "b", "2");
    const r = await ok(s.ep, "/v3/kv/range", { key: b64(p), rangeEnd: b64(prefixEnd(p)), limit: 1, keysOnly: true });
    expect([r.kvs.length, r.more, r.count, r.kvs[0].value]).toEqual([1, true, "2", undefined]);
  });

  it("/v3beta is an alias of /v3", async () => {
    const k = uniq("beta") + "k";
    await ok(s.ep, "/v3beta/kv/put", { key: b64(k), value: b64("b") });
    expect((await ok(s.ep, "/v3beta/kv/range", { key: b64(k) })).count).toBe("1");
  });
});
