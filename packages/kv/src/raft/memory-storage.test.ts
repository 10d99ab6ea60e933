// Book 12.4: tests for the in-memory write-ahead log stand-in and the core's log bookkeeping.
import { describe, expect, it } from "vitest";
import { RaftLog } from "./log.js";
import { MemoryStorage } from "./memory-storage.js";
import { Inflights, Progress } from "./progress.js";
import { committedIndex, voteResult } from "./quorum.js";
import { CompactedError, UnavailableError, type Entry } from "./types.js";

const ent = (index: number, term: number, data = ""): Entry => ({ index, term, type: "normal", data });

function storageWith(terms: number[]): MemoryStorage {
  const s = new MemoryStorage();
  s.append(terms.map((t, i) => ent(i + 1, t, `e${i + 1}`)));
  return s;
}

describe("MemoryStorage", () => {
  it("starts empty with a dummy entry at index 0", () => {
    const s = new MemoryStorage();
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(() => s.term(1)).toThrow(UnavailableError);
    expect(s.initialState()).toEqual({ hardState: { term: 0, vote: "0", commit: 0 }, conf: { voters: [], learners: [] } });
  });

  it("appends, and truncates a conflicting suffix", () => {
    const s = storageWith([1, 1, 2, 2]);
    s.append([ent(3, 3, "x"), ent(4, 3, "y"), ent(5, 3, "z")]);
    expect(s.lastIndex()).toBe(5);
    expect([1, 2, 3, 4, 5].map((i) => s.term(i))).toEqual([1, 1, 3, 3, 3]);
    expect(() => s.append([ent(9, 3)])).toThrow(/gap/);
  });

  it("serves entries by range and size", () => {
    const s = storageWith([1, 1, 1, 1]);
    expect(s.entries(2, 4, Infinity).map((e) => e.index)).toEqual([2, 3]);
    // "e2" is 2 bytes: a budget of 3 allows one entry, and at least one is always returned.
    expect(s.entries(2, 5, 3).map((e) => e.index)).toEqual([2]);
    expect(s.entries(2, 5, 0).map((e) => e.index)).toEqual([2]);
    expect(s.entries(2, 5, 4).map((e) => e.index)).toEqual([2, 3]);
  });

  it("compacts and snapshots", () => {
    const s = storageWith([1, 1, 2, 2, 3]);
    const snap = s.createSnapshot(3, { voters: ["1"], learners: [] }, "state");
    expect(snap.meta).toEqual({ index: 3, term: 2, conf: { voters: ["1"], learners: [] } });
    s.compact(3);
    expect(s.firstIndex()).toBe(4);
    expect(s.term(3)).toBe(2);
    expect(() => s.term(2)).toThrow(CompactedError);
    expect(() => s.entries(3, 5, Infinity)).toThrow(CompactedError);
    expect(s.entries(4, 6, Infinity).map((e) => e.term)).toEqual([2, 3]);
    // Appending entries that overlap the compacted prefix keeps only the new part.
    s.append([ent(3, 2), ent(4, 2), ent(5, 4)]);
    expect([4, 5].map((i) => s.term(i))).toEqual([2, 4]);
    expect(() => s.createSnapshot(2, { voters: [], learners: [] }, "")).toThrow();
  });

  it("applies a snapshot, replacing the log", () => {
    const s = storageWith([1, 1, 1]);
    s.applySnapshot({ meta: { index: 10, term: 4, conf: { voters: ["1", "2"], learners: [] } }, data: "d" });
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(10);
    expect(s.term(10)).toBe(4);
    expect(s.initialState().conf.voters).toEqual(["1", "2"]);
    expect(() => s.applySnapshot({ meta: { index: 5, term: 1, conf: { voters: [], learners: [] } }, data: "" })).toThrow();
  });
});

describe("RaftLog", () => {
  it("reads across storage and the unstable tail", () => {
    const s = storageWith([1, 1]);
    const log = new RaftLog(s);
    log.append([ent(3, 2), ent(4, 2)]);
    expect(log.lastIndex()).toBe(4);
    expect(log.slice(1, 5, Infinity).map((e) => e.term)).toEqual([1, 1, 2, 2]);
    expect(log.unstable.nextEntries().map((e) => e.index)).toEqual([3, 4]);
    log.unstable.acceptInProgress();
    expect(log.unstable.nextEntries()).toEqual([]);
    s.append([ent(3, 2), ent(4, 2)]);
    log.stableTo(4, 2);
    expect(log.unstable.entries).toEqual([]);
  });

  it("maybeAppend checks the previous entry and truncates conflicts, never below commit", () => {
    const log = new RaftLog(storageWith([1, 1, 1]));
    expect(log.maybeAppend(3, 2, 3, [])).toBeUndefined(); // prev term mismatch
    expect(log.maybeAppend(2, 1, 2, [ent(3, 2), ent(4, 2)])).toBe(4);
    expect(log.committed).toBe(2);
    expect(log.term(3)).toBe(2);
    expect(() => log.maybeAppend(1, 1, 2, [ent(2, 5)])).toThrow(/invariant/);
  });

  it("commits by counting only in the current term (figure 8)", () => {
    const log = new RaftLog(storageWith([1, 2, 2]));
    expect(log.maybeCommit(3, 3)).toBe(false);
    expect(log.committed).toBe(0);
    expect(log.maybeCommit(3, 2)).toBe(true);
    expect(log.committed).toBe(3);
    expect(() => log.commitTo(9)).toThrow(/invariant/);
  });

  it("finds the conflict point by term for fast backtracking", () => {
    const log = new RaftLog(storageWith([1, 1, 2, 2, 4, 4]));
    expect(log.findConflictByTerm(6, 3)).toEqual({ index: 4, term: 2 });
    expect(log.findConflictByTerm(6, 4)).toEqual({ index: 6, term: 4 });
    expect(log.findConflictByTerm(6, 0)).toEqual({ index: 0, term: 0 });
  });
});

describe("progress and quorum", () => {
  it("inflight window fills and frees", () => {
    const f = new Inflights(2);
    f.add(3);
    f.add(5);
    expect(f.full()).toBe(true);
    f.freeLE(4);
    expect(f.count()).toBe(1);
    expect(() => f.add(1)).toThrow();
  });

  it("probe sends one at a time, replicate pipelines", () => {
    const p = new Progress(0, 5, 2, false);
    p.sentEntries(1, 5);
    expect(p.isPaused()).toBe(true);
    expect(p.maybeDecrTo(4, 1)).toBe(true); // rejected: next goes back to hint+1
    expect(p.next).toBe(2);
    expect(p.maybeUpdate(3)).toBe(true);
    p.becomeReplicate();
    expect(p.next).toBe(4);
    p.sentEntries(2, 5);
    p.sentEntries(1, 6);
    expect(p.isPaused()).toBe(true);
    expect(p.next).toBe(7);
    expect(p.maybeDecrTo(2, 0)).toBe(false); // stale rejection
  });

  it("majority commit index and vote tallies", () => {
    const m: Record<string, number> = { a: 5, b: 3, c: 9, d: 1, e: 3 };
    expect(committedIndex(Object.keys(m), (id) => m[id]!)).toBe(3);
    expect(committedIndex(["a", "c"], (id) => m[id]!)).toBe(5);
    const v = new Map([["a", true], ["b", false]]);
    expect(voteResult(["a", "b", "c"], v)).toBe("pending");
    v.set("c", true);
    expect(voteResult(["a", "b", "c"], v)).toBe("won");
    expect(voteResult(["a", "b", "c"], new Map([["b", false], ["c", false]]))).toBe("lost");
  });
});
