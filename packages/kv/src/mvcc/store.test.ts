// Book 12.2: the MVCC store on its own: one revision per write txn, versions kept until compaction.
import { describe, expect, it } from "vitest";
import { keyRange } from "./key-range.js";
import { MvccStore } from "./store.js";
import { dumpStore, loadStore } from "./snapshot.js";

function putAll(s: MvccStore, pairs: [string, string][]): number {
  const t = s.beginWrite();
  for (const [k, v] of pairs) t.put(k, v, "0");
  return t.end();
}

describe("MvccStore", () => {
  it("starts at revision 1 and moves once per write txn", () => {
    const s = new MvccStore();
    expect(s.rev).toBe(1);
    expect(putAll(s, [["a", "1"], ["b", "2"]])).toBe(2);
    expect(putAll(s, [["a", "3"]])).toBe(3);
    const t = s.beginWrite();
    expect(t.deleteRange(keyRange("zz"))).toEqual([]);
    expect(t.end()).toBe(3); // nothing changed: no new revision
  });

  it("keeps create revision and counts versions; a delete resets the version", () => {
    const s = new MvccStore();
    putAll(s, [["k", "1"]]);
    putAll(s, [["k", "2"]]);
    const [kv] = s.rangeKeys(keyRange("k"), s.rev, Infinity).kvs;
    expect(kv).toMatchObject({ createRevision: 2, modRevision: 3, version: 2, value: "2" });
    const t = s.beginWrite();
    t.deleteRange(keyRange("k"));
    t.end();
    putAll(s, [["k", "3"]]);
    expect(s.rangeKeys(keyRange("k"), s.rev, Infinity).kvs[0]).toMatchObject({ createRevision: 5, modRevision: 5, version: 1 });
    expect(s.rangeKeys(keyRange("k"), 3, Infinity).kvs[0]).toMatchObject({ value: "2" });
    expect(s.rangeKeys(keyRange("k"), 4, Infinity).count).toBe(0);
  });

  it("gives a txn's changes increasing sub-revisions and lets it read its own writes", () => {
    const s = new MvccStore();
    const t = s.beginWrite();
    t.put("b", "1", "0");
    t.put("a", "1", "0");
    expect(t.rev).toBe(2);
    expect(t.rangeKeys(keyRange("a", "\0"), t.rev, Infinity).count).toBe(2);
    expect(s.rangeKeys(keyRange("a", "\0"), s.rev, Infinity).count).toBe(0); // not visible outside yet
    t.end();
    const { changes, until } = s.changesSince(keyRange("\0", "\0"), 1);
    expect(changes.map((c) => [c.rev, c.change.kv.key])).toEqual([[2, "b"], [2, "a"]]);
    expect(until).toBe(2);
    expect(() => { s.beginWrite(); s.beginWrite(); }).toThrow(/already open/);
  });

  it("compaction keeps the newest version at or below the revision and drops tombstones", () => {
    const s = new MvccStore();
    for (let i = 0; i < 10; i++) putAll(s, [["hot", String(i)]]); // revs 2..11
    putAll(s, [["gone", "x"]]); // 12
    const t = s.beginWrite();
    t.deleteRange(keyRange("gone")); // 13
    t.end();
    putAll(s, [["hot", "last"]]); // 14
    expect(s.versionCount).toBe(13);
    const before = s.sizeBytes;
    s.compact(13);
    expect(s.versionCount).toBe(2); // hot@11 and hot@14
    expect(s.keyCount).toBe(1);
    expect(s.sizeBytes).toBeLessThan(before);
    expect(s.rangeKeys(keyRange("hot"), 13, Infinity).kvs[0]!.value).toBe("9");
    expect(s.changesSince(keyRange("\0", "\0"), 14).changes).toHaveLength(1);
    expect(() => s.compact(13)).toThrow(/compacted/);
    expect(() => s.compact(15)).toThrow(/future/);
  });

  it("history stops after whole revisions once the limit is reached", () => {
    const s = new MvccStore();
    putAll(s, [["a", "1"], ["b", "1"], ["c", "1"]]); // 2
    putAll(s, [["a", "2"]]); // 3
    putAll(s, [["z", "2"]]); // 4
    const r = keyRange("a", "d");
    expect(s.changesSince(r, 1, 2)).toMatchObject({ until: 2 });
    expect(s.changesSince(r, 1, 2).changes).toHaveLength(3);
    expect(s.changesSince(r, 3, 1).until).toBe(3);
    expect(s.changesSince(r, 4, 1)).toEqual({ changes: [], until: 4 });
  });

  it("round-trips through its snapshot form, compaction included", () => {
    const s = new MvccStore();
    putAll(s, [["a", "1"], ["b", "\u00ff\u0000"]]);
    putAll(s, [["a", "2"]]);
    const t = s.beginWrite();
    t.deleteRange(keyRange("b"));
    t.end();
    putAll(s, [["b", "3"]]);
    s.compact(3);
    const copy = loadStore(JSON.parse(JSON.stringify(dumpStore(s))));
    expect(dumpStore(copy)).toEqual(dumpStore(s));
    expect(copy.sizeBytes).toBe(s.sizeBytes);
    expect(copy.changesSince(keyRange("\0", "\0"), 4)).toEqual(s.changesSince(keyRange("\0", "\0"), 4));
  });
});
