// Book 12.5: the linearizability checker must accept every correct history and catch the classic
// anomalies: stale reads, lost writes, reordered writes, and indeterminate writes misread.
import { describe, expect, it } from "vitest";
import type { HistoryOp, KvInput, KvOutput, KvView } from "./history.js";
import { checkKvHistory, partitionByKey } from "./linearizability.js";
import { Rng } from "./rng.js";

let nextId = 0;
function op(call: number, ret: number | null, input: KvInput, output?: KvOutput, client = 0): HistoryOp {
  return {
    id: nextId++, client, member: "m1", call, ret: ret ?? Infinity, callAt: call, retAt: ret ?? Infinity, input,
    ...(ret === null ? {} : { output }),
  };
}
const kv = (value: string, modRev: number, createRev = modRev, version = 1, lease = "0"): KvView => ({ value, modRev, createRev, version, lease });
const put = (key: string, value: string, lease?: string): KvInput => ({ type: "put", key, value, ...(lease ? { lease } : {}) });
const get = (key: string): KvInput => ({ type: "get", key });
const wrote = (rev: number): KvOutput => ({ type: "write", rev });
const saw = (rev: number, v: KvView | null): KvOutput => ({ type: "get", rev, kv: v });
const verdict = (ops: HistoryOp[]) => checkKvHistory(ops).verdict;

describe("linearizability checker: correct histories", () => {
  it("accepts a sequential history", () => {
    expect(verdict([
      op(1, 2, put("x", "a"), wrote(2)),
      op(3, 4, get("x"), saw(2, kv("a", 2))),
      op(5, 6, put("x", "b"), wrote(3)),
      op(7, 8, get("x"), saw(3, kv("b", 3, 2, 2))),
    ])).toBe("ok");
  });

  it("lets a read concurrent with a write see either value", () => {
    const base = [op(1, 2, put("x", "a"), wrote(2)), op(3, 10, put("x", "b"), wrote(3))];
    expect(verdict([...base, op(4, 5, get("x"), saw(2, kv("a", 2)))])).toBe("ok");
    expect(verdict([...base, op(4, 5, get("x"), saw(3, kv("b", 3, 2, 2)))])).toBe("ok");
  });

  it("orders overlapping writes by their revisions", () => {
    expect(verdict([
      op(1, 10, put("x", "a"), wrote(3)),
      op(2, 9, put("x", "b"), wrote(2)),
      op(11, 12, get("x"), saw(3, kv("a", 3, 2, 2))),
    ])).toBe("ok");
  });

  it("accepts an indeterminate write that took effect, binding its revision from a read", () => {
    expect(verdict([
      op(1, 2, put("x", "a"), wrote(2)),
      op(3, null, put("x", "b")),
      op(10, 11, get("x"), saw(7, kv("b", 7, 2, 2))),
      op(12, 13, put("x", "c"), wrote(8)),
    ])).toBe("ok");
  });

  it("accepts an indeterminate write that never took effect", () => {
    expect(verdict([
      op(1, 2, put("x", "a"), wrote(2)),
      op(3, null, put("x", "b")),
      op(10, 11, get("x"), saw(2, kv("a", 2))),
    ])).toBe("ok");
  });

  it("accepts an indeterminate write that takes effect late (after later reads)", () => {
    expect(verdict([
      op(1, null, put("x", "b")),
      op(10, 11, get("x"), saw(1, null)),
      op(20, 21, get("x"), saw(5, kv("b", 5))),
    ])).toBe("ok");
  });

  it("accepts Kubernetes-style create, update and delete transactions", () => {
    expect(verdict([
      op(1, 2, { type: "create", key: "x", value: "a" }, { type: "txn", succeeded: true, rev: 2 }),
      op(3, 4, { type: "create", key: "x", value: "z" }, { type: "txn", succeeded: false, rev: 2, kv: kv("a", 2) }),
      op(5, 6, { type: "update", key: "x", value: "b", expect: 2 }, { type: "txn", succeeded: true, rev: 3 }),
      op(7, 8, { type: "update", key: "x", value: "c", expect: 2 }, { type: "txn", succeeded: false, rev: 3, kv: kv("b", 3, 2, 2) }),
      op(9, 10, { type: "cdelete", key: "x", expect: 3 }, { type: "txn", succeeded: true, rev: 4 }),
      op(11, 12, get("x"), saw(4, null)),
      op(13, 14, { type: "create", key: "x", value: "d" }, { type: "txn", succeeded: true, rev: 5 }),
      op(15, 16, get("x"), saw(5, kv("d", 5))),
    ])).toBe("ok");
  });

  it("handles an indeterminate update whose compare depends on an unknown revision", () => {
    // b's revision is unknown; the update compares against 5, which can only have been b's.
    expect(verdict([
      op(1, 2, put("x", "a"), wrote(2)),
      op(3, null, put("x", "b")),
      op(4, 5, get("x"), saw(5, kv("b", 5, 2, 2))),
      op(6, 7, { type: "update", key: "x", value: "c", expect: 5 }, { type: "txn", succeeded: true, rev: 6 }),
    ])).toBe("ok");
    expect(verdict([
      op(1, 2, put("x", "a"), wrote(2)),
      op(3, null, put("x", "b")),
      op(6, 7, { type: "update", key: "x", value: "c", expect: 5 }, { type: "txn", succeeded: true, rev: 6 }),
      op(8, 9, get("x"), saw(6, kv("c", 6, 2, 3))),
    ])).toBe("ok");
  });

  it("models lease revocation deleting the attached key", () => {
    expect(verdict([
      op(1, 2, put("x", "a", "77"), wrote(2)),
      op(3, 4, get("x"), saw(2, kv("a", 2, 2, 1, "77"))),
      op(5, 6, { type: "revoke", key: "x", lease: "77" }, wrote(3)),
      op(7, 8, get("x"), saw(3, null)),
      op(9, 10, { type: "revoke", key: "x", lease: "77" }, { type: "error", code: 5, message: "lease not found" }),
    ])).toBe("ok");
  });

  it("takes a revoke's header as an upper bound on its deletion's revision", () => {
    // The reply's header is the store's revision when it was made, after later writes.
    expect(verdict([
      op(1, 2, put("x", "a", "77"), wrote(2)),
      op(3, 9, { type: "revoke", key: "x", lease: "77" }, wrote(5)),
      op(4, 5, put("y", "b"), wrote(4)),
      op(6, 7, get("x"), saw(4, null)),
    ])).toBe("ok");
  });

  it("checks multi-key reads in one partition", () => {
    const ops = [
      op(1, 2, put("x", "a"), wrote(2)),
      op(3, 4, put("y", "b"), wrote(3)),
      op(5, 6, { type: "range", keys: ["x", "y"] }, { type: "range", rev: 3, kvs: { x: kv("a", 2), y: kv("b", 3) } }),
    ];
    expect(partitionByKey(ops)).toHaveLength(1);
    expect(checkKvHistory(ops, { splitReads: false }).verdict).toBe("ok");
    expect(verdict(ops)).toBe("ok");
  });
});

describe("linearizability checker: anomalies it must catch", () => {
  it("catches a stale read", () => {
    const r = checkKvHistory([
      op(1, 2, put("x", "a"), wrote(2)),
      op(3, 4, put("x", "b"), wrote(3)),
      op(5, 6, get("x"), saw(2, kv("a", 2))),
    ]);
    expect(r.verdict).toBe("illegal");
    expect(r.explanation).toContain("not linearizable");
  });

  it("catches a lost acknowledged write", () => {
    expect(verdict([
      op(1, 2, put("x", "a"), wrote(2)),
      op(3, 4, get("x"), saw(2, null)),
    ])).toBe("illegal");
  });

  it("catches writes whose revisions go against real time", () => {
    expect(verdict([
      op(1, 2, put("x", "a"), wrote(3)),
      op(3, 4, put("x", "b"), wrote(2)),
    ])).toBe("illegal");
  });

  it("catches reordered writes seen by a read", () => {
    expect(verdict([
      op(1, 2, put("x", "a"), wrote(2)),
      op(3, 4, put("x", "b"), wrote(3)),
      op(5, 6, get("x"), saw(3, kv("a", 3, 3, 2))),
    ])).toBe("illegal");
  });

  it("catches a read of a value no one wrote", () => {
    expect(verdict([op(1, 2, get("x"), saw(2, kv("ghost", 2)))])).toBe("illegal");
  });

  it("catches a wrong mod_revision", () => {
    expect(verdict([
      op(1, 2, put("x", "a"), wrote(3)),
      op(3, 4, get("x"), saw(4, kv("a", 4))),
    ])).toBe("illegal");
  });

  it("catches a stale header revision", () => {
    expect(verdict([
      op(1, 2, put("x", "a"), wrote(5)),
      op(3, 4, get("x"), saw(4, kv("a", 5))),
    ])).toBe("illegal");
  });

  it("catches a wrong version", () => {
    expect(verdict([
      op(1, 2, put("x", "a"), wrote(2)),
      op(3, 4, put("x", "b"), wrote(3)),
      op(5, 6, get("x"), saw(3, kv("b", 3, 2, 1))),
    ])).toBe("illegal");
  });

  it("catches an indeterminate write that appears, then vanishes", () => {
    expect(verdict([
      op(1, 2, put("x", "a"), wrote(2)),
      op(3, null, put("x", "b")),
      op(10, 11, get("x"), saw(7, kv("b", 7, 2, 2))),
      op(12, 13, get("x"), saw(7, kv("a", 2))),
    ])).toBe("illegal");
  });

  it("catches two creates of the same key both succeeding", () => {
    expect(verdict([
      op(1, 2, { type: "create", key: "x", value: "a" }, { type: "txn", succeeded: true, rev: 2 }),
      op(3, 4, { type: "create", key: "x", value: "b" }, { type: "txn", succeeded: true, rev: 3 }),
    ])).toBe("illegal");
  });

  it("catches a lost update (two updates from the same revision both succeed)", () => {
    expect(verdict([
      op(1, 2, put("x", "a"), wrote(2)),
      op(3, 6, { type: "update", key: "x", value: "b", expect: 2 }, { type: "txn", succeeded: true, rev: 3 }),
      op(4, 7, { type: "update", key: "x", value: "c", expect: 2 }, { type: "txn", succeeded: true, rev: 4 }),
    ])).toBe("illegal");
  });

  it("catches a key surviving the revocation of its lease", () => {
    expect(verdict([
      op(1, 2, put("x", "a", "77"), wrote(2)),
      op(5, 6, { type: "revoke", key: "x", lease: "77" }, wrote(3)),
      op(7, 8, get("x"), saw(3, kv("a", 2, 2, 1, "77"))),
    ])).toBe("illegal");
  });

  it("catches a torn multi-key read", () => {
    expect(checkKvHistory([
      op(1, 2, put("x", "a"), wrote(2)),
      op(3, 4, put("y", "b"), wrote(3)),
      op(5, 6, { type: "range", keys: ["x", "y"] }, { type: "range", rev: 3, kvs: { y: kv("b", 3) } }),
    ], { splitReads: false }).verdict).toBe("illegal");
  });
});

/** A correct KV run by concurrent clients: each op takes effect at a random instant between its
 * call and its return; some outcomes are hidden from the client (indeterminate). */
function generateHistory(seed: number, clients: number, count: number, keys: string[]): HistoryOp[] {
  const rng = new Rng(seed);
  const store = new Map<string, KvView>();
  let rev = 1;
  let clock = 0;
  type Pending = { op: HistoryOp; at: number; hide: boolean };
  const pending: Pending[] = [];
  const free = Array.from({ length: clients }, (_, c) => c);
  const ops: HistoryOp[] = [];
  let made = 0;
  let n = 0;
  while (made < count || pending.length > 0) {
    clock++;
    if (free.length > 0 && made < count && rng.chance(0.5)) {
      const c = free.splice(rng.int(0, free.length - 1), 1)[0]!;
      const key = rng.pick(keys);
      const cur = store.get(key);
      const input: KvInput = rng.weighted<KvInput>([
        [3, { type: "get", key }],
        [3, { type: "put", key, value: `v${n++}` }],
        [1, { type: "create", key, value: `v${n++}` }],
        [1, { type: "update", key, value: `v${n++}`, expect: cur && rng.chance(0.7) ? cur.modRev : rng.int(0, rev) }],
        [1, { type: "delete", key }],
      ]);
      const o: HistoryOp = { id: made++, client: c, member: "m", call: clock, ret: Infinity, callAt: clock, retAt: Infinity, input };
      pending.push({ op: o, at: clock + rng.int(0, 6), hide: rng.chance(0.05) });
      continue;
    }
    // apply ops whose instant has come, in order, then return some of them later
    for (const p of pending.filter((q) => q.at <= clock && !q.op.output)) {
      const i = p.op.input;
      const cur = store.get(i.type === "range" || i.type === "grant" || i.type === "compact" ? "" : i.key) ?? null;
      let out: KvOutput;
      if (i.type === "get") out = { type: "get", rev, kv: cur };
      else if (i.type === "put") {
        rev++;
        store.set(i.key, { value: i.value, modRev: rev, createRev: cur ? cur.createRev : rev, version: cur ? cur.version + 1 : 1, lease: "0" });
        out = { type: "write", rev };
      } else if (i.type === "create" || i.type === "update") {
        const ok = i.type === "create" ? !cur : cur ? cur.modRev === i.expect : i.expect === 0;
        if (ok) {
          rev++;
          store.set(i.key, { value: i.value, modRev: rev, createRev: cur ? cur.createRev : rev, version: cur ? cur.version + 1 : 1, lease: "0" });
          out = { type: "txn", succeeded: true, rev };
        } else out = { type: "txn", succeeded: false, rev, kv: cur };
      } else if (i.type === "delete") {
        if (cur) {
          rev++;
          store.delete(i.key);
        }
        out = { type: "delete", rev, deleted: cur ? 1 : 0 };
      } else throw new Error("unexpected");
      p.op.output = out;
    }
    for (let k = pending.length - 1; k >= 0; k--) {
      const p = pending[k]!;
      if (p.op.output && rng.chance(0.4)) {
        clock++;
        pending.splice(k, 1);
        free.push(p.op.client);
        if (p.hide) delete p.op.output;
        else {
          p.op.ret = clock;
          p.op.retAt = clock;
        }
        ops.push(p.op);
      }
    }
  }
  return ops;
}

describe("linearizability checker: generated histories", () => {
  it("accepts long correct histories with concurrency and indeterminate ops, quickly", () => {
    const t0 = performance.now();
    for (let seed = 1; seed <= 10; seed++) {
      const h = generateHistory(seed, 5, 400, ["x", "y"]);
      const r = checkKvHistory(h);
      if (r.verdict !== "ok") throw new Error(`seed ${seed}: ${r.verdict}\n${r.explanation}`);
    }
    expect(performance.now() - t0).toBeLessThan(20_000);
  });

  it("catches one stale read planted in a long history", () => {
    let caught = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const h = generateHistory(seed, 4, 300, ["x"]);
      // Find a read that saw a value, with a later completed write to that key, and move the
      // read after that write: it now returns a value overwritten before it was invoked.
      const reads = h.filter((o) => o.input.type === "get" && o.output?.type === "get" && o.output.kv);
      for (const r of reads) {
        const w = h.find((o) => o.call > r.ret && o.output?.type === "write");
        if (!w) continue;
        r.call = w.ret + 0.25;
        r.ret = w.ret + 0.5;
        (r.output as { rev: number }).rev = (w.output as { rev: number }).rev;
        break;
      }
      if (checkKvHistory(h).verdict === "illegal") caught++;
    }
    expect(caught).toBe(10);
  });
});
