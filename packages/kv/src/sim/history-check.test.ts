// Book 12.5: revisions are one clock for the whole store; the checks that tie client results to
// watch events must catch revisions that go back, acknowledged writes that never happened,
// failed writes that did, and reads that do not match the state at their revision.
import { describe, expect, it } from "vitest";
import type { HistoryOp, KvInput, KvOutput } from "./history.js";
import { checkAgainstEvents, checkRevisionOrder, patchHistory } from "./history-check.js";
import { checkWatches, type WatchEventRecord, type WatchRecord } from "./watch-check.js";

let id = 0;
const op = (call: number, ret: number | null, input: KvInput, output?: KvOutput): HistoryOp =>
  ({ id: id++, client: 0, member: "m1", call, ret: ret ?? Infinity, callAt: call, retAt: ret ?? Infinity, input, ...(ret === null ? {} : { output }) });
const put = (key: string, rev: number, value: string, version = 1, createRev = rev): WatchEventRecord =>
  ({ type: "PUT", key, rev, value, createRev, version, lease: "0" });
const merged = (events: WatchEventRecord[]) => {
  const w: WatchRecord = { id: 1, client: 9, member: "m1", key: "/", rangeEnd: "0", startRevision: 1, prevKv: false, openAtEnd: false, responses: [{ at: 50, seq: 50, revision: 9, events, progress: false }] };
  return { w, m: checkWatches([w]).merged };
};

describe("revision order", () => {
  it("accepts revisions that follow real time", () => {
    expect(checkRevisionOrder([
      op(1, 2, { type: "put", key: "/a", value: "x" }, { type: "write", rev: 2 }),
      op(3, 4, { type: "get", key: "/b" }, { type: "get", rev: 2, kv: null }),
      op(3, 6, { type: "put", key: "/b", value: "y" }, { type: "write", rev: 3 }),
    ])).toEqual([]);
  });

  it("catches a read whose revision is older than a write that finished before it", () => {
    const v = checkRevisionOrder([
      op(1, 2, { type: "put", key: "/a", value: "x" }, { type: "write", rev: 5 }),
      op(3, 4, { type: "get", key: "/b" }, { type: "get", rev: 4, kv: null }),
    ]);
    expect(v.map((x) => x.check)).toEqual(["revision-order"]);
  });

  it("catches two writes with one revision", () => {
    const v = checkRevisionOrder([
      op(1, 4, { type: "put", key: "/a", value: "x" }, { type: "write", rev: 5 }),
      op(2, 3, { type: "put", key: "/b", value: "y" }, { type: "write", rev: 5 }),
    ]);
    expect(v.map((x) => x.check)).toContain("revision-unique");
  });
});

describe("client results against watch events", () => {
  const events = [put("/a", 2, "x"), put("/b", 3, "y"), put("/a", 4, "z", 2, 2)];

  it("accepts a consistent history", () => {
    const { m } = merged(events);
    expect(checkAgainstEvents([
      op(1, 2, { type: "put", key: "/a", value: "x" }, { type: "write", rev: 2 }),
      op(1, 3, { type: "put", key: "/b", value: "y" }, { type: "write", rev: 3 }),
      op(4, 5, { type: "get", key: "/a", serializable: true }, { type: "get", rev: 3, kv: { value: "x", modRev: 2, createRev: 2, version: 1, lease: "0" } }),
      op(4, 6, { type: "update", key: "/a", value: "z", expect: 2 }, { type: "txn", succeeded: true, rev: 4 }),
    ], m)).toEqual([]);
  });

  it("catches an acknowledged write that no watch ever saw", () => {
    const { m } = merged(events);
    const v = checkAgainstEvents([op(1, 2, { type: "put", key: "/b", value: "lost" }, { type: "write", rev: 3 })], m);
    expect(v.map((x) => x.check)).toContain("write-event");
  });

  it("catches a failed txn whose write happened anyway", () => {
    const { m } = merged(events);
    const v = checkAgainstEvents([op(1, 2, { type: "update", key: "/b", value: "y", expect: 1 }, { type: "txn", succeeded: false, rev: 2, kv: null })], m);
    expect(v.map((x) => x.check)).toContain("ghost-write");
  });

  it("catches a (serializable) read that is not the state at its revision", () => {
    const { m } = merged(events);
    const v = checkAgainstEvents([op(1, 2, { type: "get", key: "/a", serializable: true }, { type: "get", rev: 4, kv: { value: "x", modRev: 2, createRev: 2, version: 1, lease: "0" } })], m);
    expect(v.map((x) => x.check)).toContain("read-state");
  });

  it("checks a read of the past against the state at that revision", () => {
    const { m } = merged(events);
    const past = { value: "x", modRev: 2, createRev: 2, version: 1, lease: "0" };
    const ok = checkAgainstEvents([op(1, 2, { type: "get", key: "/a", serializable: true, atRev: 3 }, { type: "get", rev: 4, kv: past })], m);
    expect(ok.filter((x) => x.check === "read-state")).toEqual([]);
    const v = checkAgainstEvents([op(1, 2, { type: "get", key: "/a", serializable: true, atRev: 4 }, { type: "get", rev: 4, kv: past })], m);
    expect(v.map((x) => x.check)).toContain("read-state");
  });

  it("settles indeterminate writes from the events", () => {
    const { w, m } = merged(events);
    const seen = op(1, null, { type: "put", key: "/b", value: "y" });
    const never = op(1, null, { type: "put", key: "/b", value: "never" });
    const patched = patchHistory([seen, never], [w], m, 4);
    expect(patched).toHaveLength(1);
    expect(patched[0]!.output).toEqual({ type: "write", rev: 3 });
    expect(patched[0]!.ret).toBe(50);
    // With the history incomplete the unknown write stays, bounded below.
    const kept = patchHistory([never], [w], m, 9);
    expect(kept[0]!.input).toMatchObject({ after: 4 });
  });
});
