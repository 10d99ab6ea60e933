// Book 12.3: txn semantics: compares (every target and result, over ranges and missing keys), branches,
// nested txns, one revision per txn, and etcd's request checks.
import { describe, expect, it } from "vitest";
import type { Compare, CompareResult, CompareTarget, TxnRequest, TxnResponse } from "../types.js";
import { StateMachine } from "./state-machine.js";
import { compact, grant, put, txn } from "./test-helpers.js";
import { checkTxn } from "./validate.js";

function setup(): StateMachine {
  const sm = new StateMachine();
  grant(sm, "20", 60);
  put(sm, "a", "m"); // 2
  put(sm, "a", "m"); // 3: a version 2, create 2, mod 3
  put(sm, "b", "x", { lease: "20" }); // 4
  return sm;
}

function holds(sm: StateMachine, c: Compare): boolean {
  return sm.readOnlyTxn({ compare: [c], success: [], failure: [] }).succeeded;
}

describe("compare", () => {
  const sm = setup();
  // target, field, the value key "a" has, for the single-key matrix
  const cases: [CompareTarget, Partial<Compare>, Partial<Compare>, Partial<Compare>][] = [
    ["VERSION", { version: 1 }, { version: 2 }, { version: 3 }],
    ["CREATE", { createRevision: 1 }, { createRevision: 2 }, { createRevision: 3 }],
    ["MOD", { modRevision: 2 }, { modRevision: 3 }, { modRevision: 4 }],
    ["VALUE", { value: "l" }, { value: "m" }, { value: "n" }],
    ["LEASE", { lease: "-1" }, { lease: "0" }, { lease: "20" }],
  ];
  const expected: Record<CompareResult, [boolean, boolean, boolean]> = {
    // key "a" compared with (below, equal, above) its value
    EQUAL: [false, true, false],
    NOT_EQUAL: [true, false, true],
    GREATER: [true, false, false],
    LESS: [false, false, true],
  };
  for (const [target, below, equal, above] of cases) {
    for (const result of Object.keys(expected) as CompareResult[]) {
      it(`${target} ${result}`, () => {
        const got = [below, equal, above].map((f) => holds(sm, { key: "a", target, result, ...f }));
        expect(got).toEqual(expected[result]);
      });
    }
  }

  it("a missing key compares as zeros, but a VALUE compare on it always fails", () => {
    expect(holds(sm, { key: "nope", target: "MOD", result: "EQUAL", modRevision: 0 })).toBe(true);
    expect(holds(sm, { key: "nope", target: "VERSION", result: "EQUAL", version: 0 })).toBe(true);
    expect(holds(sm, { key: "nope", target: "CREATE", result: "LESS", createRevision: 1 })).toBe(true);
    expect(holds(sm, { key: "nope", target: "LEASE", result: "EQUAL", lease: "0" })).toBe(true);
    expect(holds(sm, { key: "nope", target: "VALUE", result: "EQUAL", value: "" })).toBe(false);
    expect(holds(sm, { key: "nope", target: "VALUE", result: "NOT_EQUAL", value: "x" })).toBe(false);
  });

  it("over a range, the compare must hold for every key", () => {
    expect(holds(sm, { key: "a", rangeEnd: "c", target: "VERSION", result: "GREATER", version: 0 })).toBe(true);
    expect(holds(sm, { key: "a", rangeEnd: "c", target: "VERSION", result: "GREATER", version: 1 })).toBe(false);
    expect(holds(sm, { key: "a", rangeEnd: "\0", target: "MOD", result: "LESS", modRevision: 5 })).toBe(true);
    expect(holds(sm, { key: "x", rangeEnd: "z", target: "MOD", result: "EQUAL", modRevision: 0 })).toBe(true);
    expect(holds(sm, { key: "x", rangeEnd: "z", target: "VALUE", result: "EQUAL", value: "" })).toBe(false);
  });

  it("all compares must hold; no compare holds", () => {
    const both = (v: number) => sm.readOnlyTxn({
      compare: [{ key: "a", target: "VERSION", result: "EQUAL", version: 2 }, { key: "b", target: "VERSION", result: "EQUAL", version: v }],
      success: [], failure: [],
    }).succeeded;
    expect(both(1)).toBe(true);
    expect(both(2)).toBe(false);
    expect(sm.readOnlyTxn({ compare: [], success: [], failure: [] }).succeeded).toBe(true);
  });
});

describe("txn", () => {
  it("the Kubernetes update shape: compare mod_revision, put, else get", () => {
    const sm = setup();
    const update = (rv: number) => txn(sm, {
      compare: [{ key: "a", target: "MOD", result: "EQUAL", modRevision: rv }],
      success: [{ requestPut: { key: "a", value: "new", prevKv: true } }],
      failure: [{ requestRange: { key: "a" } }],
    });
    const lost = update(2);
    expect(lost.revision).toBe(4);
    expect(lost.events).toEqual([]);
    const r = lost.result as TxnResponse;
    expect(r.succeeded).toBe(false);
    expect(r.header.revision).toBe(4);
    expect(r.responses).toEqual([{ responseRange: expect.objectContaining({ kvs: [expect.objectContaining({ modRevision: 3 })], count: 1 }) }]);
    const won = update(3);
    expect(won.revision).toBe(5);
    expect((won.result as TxnResponse).responses).toEqual([
      { responsePut: { header: expect.objectContaining({ revision: 5 }), prevKv: expect.objectContaining({ value: "m" }) } },
    ]);
  });

  it("all writes of one txn share one revision, in order, and reads inside see earlier writes", () => {
    const sm = setup();
    const o = txn(sm, {
      success: [
        { requestPut: { key: "p", value: "1" } },
        { requestDeleteRange: { key: "a" } },
        { requestRange: { key: "p" } },
        { requestPut: { key: "q", value: "1" } },
      ],
    });
    expect(o.revision).toBe(5);
    expect(o.events.map((e) => `${e.type}:${e.kv.key}@${e.kv.modRevision}`)).toEqual(["PUT:p@5", "DELETE:a@5", "PUT:q@5"]);
    const r = o.result as TxnResponse;
    expect(r.responses[2]).toEqual({ responseRange: expect.objectContaining({ header: expect.objectContaining({ revision: 5 }), count: 1 }) });
    expect(sm.range({ key: "p" }).kvs[0]).toMatchObject({ createRevision: 5, modRevision: 5 });
  });

  it("a write txn whose taken branch changes nothing keeps the revision; op headers follow etcd", () => {
    const sm = setup();
    const o = txn(sm, {
      compare: [{ key: "a", target: "VERSION", result: "EQUAL", version: 99 }],
      success: [{ requestPut: { key: "z", value: "1" } }],
      failure: [{ requestDeleteRange: { key: "nothing" } }, { requestRange: { key: "a" } }],
    });
    expect(o.revision).toBe(4);
    const r = o.result as TxnResponse;
    expect(r.header.revision).toBe(4);
    expect(r.responses).toEqual([
      { responseDeleteRange: { header: expect.objectContaining({ revision: 4 }), deleted: 0, prevKvs: [] } },
      { responseRange: expect.objectContaining({ header: expect.objectContaining({ revision: 4 }) }) },
    ]);
  });

  it("nested txns: compares see the state before the txn, nested headers are empty, one revision overall", () => {
    const sm = setup();
    const req: Partial<TxnRequest> = {
      success: [
        { requestPut: { key: "a", value: "changed" } },
        {
          requestTxn: {
            // evaluated before the put above: a still has version 2
            compare: [{ key: "a", target: "VERSION", result: "EQUAL", version: 2 }],
            success: [{ requestPut: { key: "n1", value: "1" } }, { requestRange: { key: "a" } }],
            failure: [{ requestPut: { key: "n2", value: "1" } }],
          },
        },
        { requestTxn: { compare: [{ key: "zz", target: "CREATE", result: "GREATER", createRevision: 0 }], success: [], failure: [{ requestDeleteRange: { key: "b" } }] } },
      ],
    };
    const o = txn(sm, req);
    expect(o.revision).toBe(5);
    expect(o.events.map((e) => `${e.type}:${e.kv.key}`)).toEqual(["PUT:a", "PUT:n1", "DELETE:b"]);
    const r = o.result as TxnResponse;
    const inner = (r.responses[1] as { responseTxn: TxnResponse }).responseTxn;
    expect(inner.header).toEqual({ clusterId: "0", memberId: "0", revision: 0, raftTerm: 0 });
    expect(inner.succeeded).toBe(true);
    // but a range inside sees the txn's own write
    expect(inner.responses[1]).toEqual({ responseRange: expect.objectContaining({ kvs: [expect.objectContaining({ value: "changed" })] }) });
    expect((r.responses[2] as { responseTxn: TxnResponse }).responseTxn.succeeded).toBe(false);
    expect(sm.leaseInfo("20")!.keys).toEqual([]); // b's delete detached it
  });

  it("checks run on the taken branches before anything is written", () => {
    const sm = setup();
    compact(sm, 3);
    const bad = (failure: TxnRequest["failure"]) => txn(sm, {
      compare: [{ key: "a", target: "VALUE", result: "EQUAL", value: "no" }],
      success: [{ requestRange: { key: "a", revision: 99 } }],
      failure,
    });
    expect(bad([{ requestRange: { key: "a", revision: 2 } }]).error?.message).toMatch(/compacted/);
    expect(bad([{ requestRange: { key: "a", revision: 5 } }]).error?.message).toMatch(/future/);
    expect(bad([{ requestRange: { key: "a", revision: 3 } }]).error).toBeUndefined();
    expect(bad([{ requestPut: { key: "p", value: "1" } }, { requestPut: { key: "q", value: "", lease: "404" } }]).error?.message)
      .toBe("etcdserver: requested lease not found");
    expect(bad([{ requestPut: { key: "p", value: "", ignoreValue: true } }]).error?.message).toBe("etcdserver: key not found");
    expect(sm.revision).toBe(4);
    expect(bad([{ requestPut: { key: "a", value: "", ignoreValue: true, lease: "20" } }]).revision).toBe(5);
  });

  it("an ignore_value put after a from-key delete of its key is refused up front (etcd 3.4 panics)", () => {
    const sm = setup();
    const o = txn(sm, { success: [{ requestDeleteRange: { key: "a", rangeEnd: "\0" } }, { requestPut: { key: "a", value: "", ignoreValue: true } }] });
    expect(o.error?.message).toBe("etcdserver: key not found");
    expect(sm.revision).toBe(4);
    // without ignore_*, etcd 3.4 accepts the same shape: delete everything from a, then put a
    const ok = txn(sm, { success: [{ requestDeleteRange: { key: "a", rangeEnd: "\0" } }, { requestPut: { key: "a", value: "new" } }] });
    expect(ok.events.map((e) => `${e.type}:${e.kv.key}`)).toEqual(["DELETE:a", "DELETE:b", "PUT:a"]);
  });

  it("readOnlyTxn answers locally and refuses writes", () => {
    const sm = setup();
    const r = sm.readOnlyTxn({ compare: [], success: [{ requestRange: { key: "a" } }], failure: [] });
    expect(r.header.revision).toBe(4);
    expect(() => sm.readOnlyTxn({ compare: [], success: [{ requestPut: { key: "x", value: "" } }], failure: [] })).toThrow();
    expect(() => sm.readOnlyTxn({ compare: [], success: [{ requestRange: { key: "a", revision: 9 } }], failure: [] })).toThrow(/future/);
  });
});

describe("txn request checks (etcd's gRPC layer)", () => {
  const put = (key: string) => ({ requestPut: { key, value: "" } });
  it("duplicate keys, overlapping deletes, nested branches", () => {
    expect(checkTxn({ compare: [], success: [put("a"), put("a")], failure: [] })?.message).toBe("etcdserver: duplicate key given in txn request");
    expect(checkTxn({ compare: [], success: [put("b"), { requestDeleteRange: { key: "a", rangeEnd: "c" } }], failure: [] })).toBeDefined();
    expect(checkTxn({ compare: [], success: [put("a")], failure: [put("a")] })).toBeUndefined();
    // then/else of one nested txn may write the same key; two nested txns may not
    const nested = (s: string[], f: string[]) => ({ requestTxn: { compare: [], success: s.map(put), failure: f.map(put) } });
    expect(checkTxn({ compare: [], success: [nested(["x"], ["x"])], failure: [] })).toBeUndefined();
    expect(checkTxn({ compare: [], success: [nested(["x"], []), nested([], ["x"])], failure: [] })).toBeDefined();
    expect(checkTxn({ compare: [], success: [nested(["x"], []), put("x")], failure: [] })).toBeDefined();
    // etcd 3.4 quirk: a from-key delete ("\0" end) is not seen as overlapping
    expect(checkTxn({ compare: [], success: [put("q"), { requestDeleteRange: { key: "a", rangeEnd: "\0" } }], failure: [] })).toBeUndefined();
  });

  it("too many ops, empty keys, empty ops", () => {
    const many = Array.from({ length: 129 }, (_, i) => put(`k${i}`));
    expect(checkTxn({ compare: [], success: many, failure: [] })?.message).toBe("etcdserver: too many operations in txn request");
    expect(checkTxn({ compare: [{ key: "", target: "MOD", result: "EQUAL" }], success: [], failure: [] })?.message).toBe("etcdserver: key is not provided");
    expect(checkTxn({ compare: [], success: [{} as never], failure: [] })?.message).toBe("etcdserver: key not found");
    const sm = new StateMachine();
    expect(txn(sm, { success: [put("a"), put("a")] }).error?.code).toBe(3);
  });
});
