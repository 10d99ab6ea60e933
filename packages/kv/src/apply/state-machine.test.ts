// Book 12.2/12.3: the state machine against etcd 3.4's behaviour: revisions, range variants, put and
// delete options, compaction, leases, and snapshots.
import { describe, expect, it } from "vitest";
import type { DeleteRangeResponse, PutResponse, RangeResponse } from "../types.js";
import { StateMachine } from "./state-machine.js";
import { compact, del, grant, keys, put, revoke, run, txn } from "./test-helpers.js";

function fill(sm: StateMachine, n: number, prefix = "k"): void {
  for (let i = 0; i < n; i++) put(sm, `${prefix}${i}`, `v${i}`);
}

describe("revisions and versions", () => {
  it("an empty store is at revision 1; each put moves it by one", () => {
    const sm = new StateMachine();
    expect(sm.revision).toBe(1);
    expect(sm.compactRevision).toBe(0);
    const o = put(sm, "a", "1");
    expect(o).toMatchObject({ revision: 2, events: [{ type: "PUT", kv: { key: "a", createRevision: 2, modRevision: 2, version: 1 } }] });
    expect((o.result as PutResponse).header.revision).toBe(2);
    put(sm, "a", "2");
    expect(sm.range({ key: "a" }).kvs[0]).toEqual({ key: "a", createRevision: 2, modRevision: 3, version: 2, value: "2", lease: "0" });
  });

  it("a delete that deletes nothing does not move the revision", () => {
    const sm = new StateMachine();
    put(sm, "a", "1");
    const o = del(sm, "nothing");
    expect(o.revision).toBe(2);
    expect(o.events).toEqual([]);
    expect(o.result).toEqual({ header: expect.objectContaining({ revision: 2 }), deleted: 0, prevKvs: [] });
  });

  it("delete resets version, carries prev_kv when asked, and emits DELETE events with key and revision only", () => {
    const sm = new StateMachine();
    put(sm, "a", "1");
    put(sm, "b", "2");
    const o = del(sm, "a", "c", { prevKv: true });
    const r = o.result as DeleteRangeResponse;
    expect(r.deleted).toBe(2);
    expect(r.prevKvs.map((kv) => kv.value)).toEqual(["1", "2"]);
    expect(o.events[0]).toEqual({
      type: "DELETE",
      kv: { key: "a", createRevision: 0, modRevision: 4, version: 0, value: "", lease: "0" },
      prevKv: { key: "a", createRevision: 2, modRevision: 2, version: 1, value: "1", lease: "0" },
    });
    put(sm, "a", "again");
    expect(sm.range({ key: "a" }).kvs[0]).toMatchObject({ createRevision: 5, version: 1 });
  });

  it("put with prev_kv, ignore_value and ignore_lease", () => {
    const sm = new StateMachine();
    grant(sm, "7", 60);
    put(sm, "a", "1", { lease: "7" });
    const o = put(sm, "a", "2", { prevKv: true, ignoreLease: true });
    expect((o.result as PutResponse).prevKv).toMatchObject({ value: "1", lease: "7" });
    expect(sm.range({ key: "a" }).kvs[0]).toMatchObject({ value: "2", lease: "7" });
    put(sm, "a", "", { ignoreValue: true });
    expect(sm.range({ key: "a" }).kvs[0]).toMatchObject({ value: "2", lease: "0", version: 3 });
    expect(put(sm, "missing", "", { ignoreValue: true }).error?.message).toBe("etcdserver: key not found");
    expect(put(sm, "missing", "x", { ignoreLease: true }).error?.code).toBe(3);
    expect(put(sm, "a", "x", { ignoreValue: true }).error?.message).toBe("etcdserver: value is provided");
    expect(put(sm, "a", "", { ignoreLease: true, lease: "7" }).error?.message).toBe("etcdserver: lease is provided");
    expect(put(sm, "", "x").error?.message).toBe("etcdserver: key is not provided");
    expect(sm.revision).toBe(4);
  });
});

describe("range", () => {
  const sm = new StateMachine();
  fill(sm, 5); // k0..k4 at revisions 2..6
  put(sm, "k1", "v1b"); // 7
  put(sm, "other", "x"); // 8

  it("single key, [key, end), and from-key", () => {
    expect(keys(sm, "k1", "")).toEqual(["k1"]);
    expect(keys(sm, "k1", "k3")).toEqual(["k1", "k2"]);
    expect(keys(sm, "k3", "\0")).toEqual(["k3", "k4", "other"]);
    expect(keys(sm, "\0", "\0")).toHaveLength(6);
    expect(keys(sm, "k3", "k1")).toEqual([]);
    expect(sm.range({ key: "nope" })).toEqual({ header: { clusterId: "0", memberId: "0", revision: 8, raftTerm: 0 }, kvs: [], more: false, count: 0 });
  });

  it("limit sets more; count is everything in range", () => {
    const r = sm.range({ key: "k", rangeEnd: "l", limit: 2 });
    expect(r.kvs.map((kv) => kv.key)).toEqual(["k0", "k1"]);
    expect(r.more).toBe(true);
    expect(r.count).toBe(5);
    expect(sm.range({ key: "k", rangeEnd: "l", limit: 5 }).more).toBe(false);
  });

  it("count_only and keys_only", () => {
    expect(sm.range({ key: "k", rangeEnd: "l", countOnly: true, limit: 1 })).toMatchObject({ kvs: [], count: 5, more: false });
    expect(sm.range({ key: "k", rangeEnd: "l", keysOnly: true }).kvs.every((kv) => kv.value === "" && kv.version > 0)).toBe(true);
  });

  it("sorts by any target; a non-key target with no order sorts ascending", () => {
    const byMod = sm.range({ key: "k", rangeEnd: "l", sortTarget: "MOD", sortOrder: "DESCEND" }).kvs.map((kv) => kv.key);
    expect(byMod).toEqual(["k1", "k4", "k3", "k2", "k0"]);
    expect(sm.range({ key: "k", rangeEnd: "l", sortTarget: "VERSION" }).kvs.at(-1)!.key).toBe("k1");
    expect(sm.range({ key: "k", rangeEnd: "l", sortOrder: "DESCEND" }).kvs[0]!.key).toBe("k4");
    expect(sm.range({ key: "k", rangeEnd: "l", sortTarget: "VALUE", sortOrder: "DESCEND", limit: 1 }).kvs[0]!.value).toBe("v4");
    // ties keep key order (stable, like Go's sort for small inputs)
    expect(sm.range({ key: "k", rangeEnd: "l", sortTarget: "CREATE", sortOrder: "ASCEND" }).kvs.map((kv) => kv.key)).toEqual(["k0", "k1", "k2", "k3", "k4"]);
  });

  it("etcd 3.4 quirk: a non-key target with no order and a limit sorts only the first limit+1 keys", () => {
    // k0..k4 by key; k1 has the highest mod revision. Fetched: k0, k1; sorted ascending by mod: k0.
    expect(keysOf(sm.range({ key: "k", rangeEnd: "l", sortTarget: "MOD", limit: 1 }))).toEqual(["k0"]);
    expect(keysOf(sm.range({ key: "k1", rangeEnd: "l", sortTarget: "MOD", limit: 1 }))).toEqual(["k2"]);
    expect(keysOf(sm.range({ key: "k1", rangeEnd: "l", sortTarget: "MOD", sortOrder: "ASCEND", limit: 1 }))).toEqual(["k2"]);
    expect(keysOf(sm.range({ key: "k1", rangeEnd: "l", sortTarget: "MOD", sortOrder: "DESCEND", limit: 1 }))).toEqual(["k1"]);
  });

  it("filters on mod and create revision after counting", () => {
    const r = sm.range({ key: "k", rangeEnd: "l", minModRevision: 5, limit: 2 });
    expect(r.kvs.map((kv) => kv.key)).toEqual(["k1", "k3"]);
    expect(r).toMatchObject({ more: true, count: 5 });
    expect(keysOf(sm.range({ key: "k", rangeEnd: "l", maxModRevision: 3 }))).toEqual(["k0"]);
    expect(keysOf(sm.range({ key: "k", rangeEnd: "l", minCreateRevision: 4, maxCreateRevision: 5 }))).toEqual(["k2", "k3"]);
  });

  it("reads at a past revision; header carries the current one; future revisions fail", () => {
    const r = sm.range({ key: "k1", revision: 3 });
    expect(r.kvs[0]!.value).toBe("v1");
    expect(r.header.revision).toBe(8);
    expect(keys(sm, "k", "l", 4)).toEqual(["k0", "k1", "k2"]);
    expect(() => sm.range({ key: "k", revision: 9 })).toThrow("etcdserver: mvcc: required revision is a future revision");
    expect(() => sm.range({ key: "" })).toThrow("etcdserver: key is not provided");
  });

  it("returns copies: changing a result does not change the store", () => {
    sm.range({ key: "k0" }).kvs[0]!.value = "changed";
    expect(sm.range({ key: "k0" }).kvs[0]!.value).toBe("v0");
  });
});

function keysOf(r: RangeResponse): string[] {
  return r.kvs.map((kv) => kv.key);
}

describe("compaction", () => {
  it("drops superseded versions physically and fails reads below it", () => {
    const sm = new StateMachine();
    for (let i = 0; i < 50; i++) put(sm, "hot", "x".repeat(100) + i); // 2..51
    put(sm, "tmp", "t"); // 52
    del(sm, "tmp"); // 53
    const size = sm.sizeBytes();
    expect(sm.stats()).toEqual({ keys: 2, versions: 52 });
    const o = compact(sm, 53);
    expect(o.error).toBeUndefined();
    expect(o.result).toEqual({ header: expect.objectContaining({ revision: 53 }) });
    expect(o.revision).toBe(53); // compaction writes no revision
    expect(sm.stats()).toEqual({ keys: 1, versions: 1 });
    expect(sm.sizeBytes()).toBeLessThan(size / 10);
    expect(sm.compactRevision).toBe(53);
    expect(sm.range({ key: "hot", revision: 53 }).kvs[0]!.value).toMatch(/49$/); // at the floor: fine
    expect(() => sm.range({ key: "hot", revision: 52 })).toThrow("etcdserver: mvcc: required revision has been compacted");
    expect(() => sm.history("hot", undefined, 53, false)).toThrow(/compacted/);
    expect(sm.history("hot", undefined, 54, false)).toEqual({ events: [], until: 53 });
  });

  it("errors: at or below the last compaction, and above the current revision", () => {
    const sm = new StateMachine();
    put(sm, "a", "1");
    expect(compact(sm, 0).error).toBeUndefined(); // etcd accepts compacting at 0 once
    expect(compact(sm, 0).error?.message).toBe("etcdserver: mvcc: required revision has been compacted");
    expect(compact(sm, 3).error?.message).toBe("etcdserver: mvcc: required revision is a future revision");
    expect(compact(sm, 2).error).toBeUndefined();
    expect(compact(sm, 2).error?.code).toBe(11);
    expect(compact(sm, 1).error?.message).toMatch(/compacted/);
  });
});

describe("leases", () => {
  it("grant, attach, move, detach, and revoke in one revision", () => {
    const sm = new StateMachine();
    expect(grant(sm, "10", 60).result).toEqual({ header: expect.objectContaining({ revision: 1 }), ID: "10", TTL: 60 });
    expect(grant(sm, "10", 60).error?.message).toBe("etcdserver: lease already exists");
    grant(sm, "9", 1);
    expect(sm.leaseInfo("9")!.TTL).toBe(5); // raised to the minimum TTL
    expect(sm.leaseIds()).toEqual(["9", "10"]);
    expect(put(sm, "x", "1", { lease: "11" }).error?.message).toBe("etcdserver: requested lease not found");
    put(sm, "a", "1", { lease: "10" });
    put(sm, "b", "1", { lease: "10" });
    put(sm, "c", "1", { lease: "10" });
    put(sm, "d", "1", { lease: "9" });
    expect(sm.leaseInfo("10")!.keys).toEqual(["a", "b", "c"]);
    put(sm, "b", "2", { lease: "9" }); // moves b
    put(sm, "c", "2"); // a put without lease detaches c
    del(sm, "a"); // a delete detaches a
    put(sm, "e", "1", { lease: "10" });
    expect(sm.leaseInfo("10")!.keys).toEqual(["e"]);
    expect(sm.leaseInfo("9")!.keys).toEqual(["b", "d"]);
    const rev = sm.revision;
    const o = revoke(sm, "9");
    expect(o.revision).toBe(rev + 1);
    expect(o.events.map((e) => [e.type, e.kv.key, e.kv.modRevision])).toEqual([["DELETE", "b", rev + 1], ["DELETE", "d", rev + 1]]);
    expect(o.result).toEqual({ header: expect.objectContaining({ revision: rev + 1 }) });
    expect(sm.leaseIds()).toEqual(["10"]);
    expect(revoke(sm, "9").error?.message).toBe("etcdserver: requested lease not found");
    expect(revoke(sm, "10").revision).toBe(rev + 2);
    grant(sm, "12", 10);
    expect(revoke(sm, "12").revision).toBe(rev + 2); // no keys: no revision
    expect(grant(sm, "13", 9_000_000_001).error?.message).toBe("etcdserver: too large lease TTL");
    expect(grant(sm, "0", 10).error?.message).toBe("etcdserver: requested lease not found");
  });

  it("a minimum TTL can be configured", () => {
    const sm = new StateMachine({ minLeaseTTL: 2 });
    expect(grant(sm, "1", 0).result).toMatchObject({ TTL: 2 });
  });
});

describe("history", () => {
  it("returns events in revision and sub-revision order, with prev_kv when asked", () => {
    const sm = new StateMachine();
    put(sm, "a", "1"); // 2
    txn(sm, { success: [{ requestPut: { key: "b", value: "1" } }, { requestPut: { key: "a", value: "2" } }] }); // 3
    del(sm, "a"); // 4
    put(sm, "zz", "1"); // 5
    const h = sm.history("a", "c", 2, true);
    expect(h.until).toBe(5);
    expect(h.events.map((e) => `${e.type}:${e.kv.key}@${e.kv.modRevision}:${e.prevKv?.value ?? "-"}`)).toEqual([
      "PUT:a@2:-", "PUT:b@3:-", "PUT:a@3:1", "DELETE:a@4:2",
    ]);
    expect(sm.history("a", "c", 3, false).events.every((e) => e.prevKv === undefined)).toBe(true);
    expect(sm.history("a", undefined, 3, false, 1)).toMatchObject({ until: 3 });
    expect(sm.history("zz", "\0", 1 + 1, false).events).toHaveLength(1);
  });
});

describe("snapshot", () => {
  function busy(): StateMachine {
    const sm = new StateMachine();
    grant(sm, "5", 30);
    grant(sm, "6", 30);
    for (let i = 0; i < 20; i++) put(sm, `/registry/pods/ns/p${i % 7}`, `{"i":${i}}`, i % 3 === 0 ? { lease: "5" } : {});
    put(sm, "bin\u0000\u00ff", "\u0001\u0080\u00fe", { lease: "6" });
    del(sm, "/registry/pods/ns/p3");
    txn(sm, { success: [{ requestPut: { key: "t1", value: "1" } }, { requestPut: { key: "t2", value: "2" } }] });
    compact(sm, 15);
    put(sm, "/registry/pods/ns/p1", "after");
    return sm;
  }

  it("restore gives back an equal state machine, compaction and leases included", () => {
    const sm = busy();
    const copy = StateMachine.restore(sm.snapshot());
    expect(copy.snapshot()).toBe(sm.snapshot());
    expect(copy.revision).toBe(sm.revision);
    expect(copy.compactRevision).toBe(15);
    expect(copy.sizeBytes()).toBe(sm.sizeBytes());
    expect(copy.leaseIds()).toEqual(sm.leaseIds());
    for (const id of sm.leaseIds()) expect(copy.leaseInfo(id)).toEqual(sm.leaseInfo(id));
    expect(copy.range({ key: "\0", rangeEnd: "\0" })).toEqual(sm.range({ key: "\0", rangeEnd: "\0" }));
    expect(copy.range({ key: "/", rangeEnd: "0", revision: 16 })).toEqual(sm.range({ key: "/", rangeEnd: "0", revision: 16 }));
    expect(copy.history("\0", "\0", 16, true)).toEqual(sm.history("\0", "\0", 16, true));
    expect(() => copy.range({ key: "a", revision: 14 })).toThrow(/compacted/);
    // both go on identically
    for (const m of [sm, copy]) {
      revoke(m, "5");
      put(m, "/registry/pods/ns/p2", "x", { prevKv: true });
    }
    expect(copy.snapshot()).toBe(sm.snapshot());
  });

  it("an unknown format is refused", () => {
    expect(() => StateMachine.restore(JSON.stringify({ format: "x" }))).toThrow(/unknown snapshot format/);
  });
});

describe("apply", () => {
  it("never throws for a request error and changes nothing", () => {
    const sm = new StateMachine();
    put(sm, "a", "1");
    const snap = sm.snapshot();
    const o = run(sm, { op: "put", req: { key: "b", value: "1", lease: "99" } });
    expect(o).toEqual({ error: expect.objectContaining({ code: 5 }), events: [], revision: 2 });
    expect(sm.snapshot()).toBe(snap);
    expect(run(sm, { op: "nope" } as never).error?.message).toMatch(/unknown command/);
  });
});
