// Book 12.2: each of the six watch guarantees, broken on purpose, must be caught; a correct set
// of watches must pass.
import { describe, expect, it } from "vitest";
import { checkWatches, type WatchEventRecord, type WatchRecord, type WatchResponseRecord } from "./watch-check.js";

const put = (key: string, rev: number, value = `v${rev}`, version = 1, createRev = rev): WatchEventRecord =>
  ({ type: "PUT", key, rev, value, createRev, version, lease: "0" });
const del = (key: string, rev: number): WatchEventRecord => ({ type: "DELETE", key, rev, value: "", createRev: 0, version: 0, lease: "0" });
let seq = 0;
const resp = (revision: number, events: WatchEventRecord[], extra: Partial<WatchResponseRecord> = {}): WatchResponseRecord =>
  ({ at: 0, seq: ++seq, revision, events, progress: events.length === 0 && !extra.created && !extra.canceled, ...extra });
const watch = (id: number, startRevision: number, responses: WatchResponseRecord[], openAtEnd = false): WatchRecord =>
  ({ id, client: id, member: "m1", key: "/", rangeEnd: "0", startRevision, prevKv: false, responses, openAtEnd });

// The true history: rev 2 put /a, rev 3 put /b, rev 4 put /a (v2), rev 5 delete /b.
const H = [put("/a", 2), put("/b", 3), put("/a", 4, "v4", 2, 2), del("/b", 5)];
const kinds = (ws: WatchRecord[]) => checkWatches(ws).violations.map((v) => v.guarantee);

describe("watch guarantees", () => {
  it("accepts correct watches, including a resumed one and bookmarks", () => {
    const full = watch(1, 1, [resp(1, [], { created: true }), resp(3, H.slice(0, 2)), resp(4, [H[2]!]), resp(5, [H[3]!]), resp(5, [])], true);
    const resumed = watch(2, 4, [resp(5, [], { created: true }), resp(5, H.slice(2))], true);
    const r = checkWatches([full, resumed]);
    expect(r.violations).toEqual([]);
    expect(r.merged.completeUpTo).toBe(5);
  });

  it("catches events out of order (Ordered)", () => {
    expect(kinds([watch(1, 1, [resp(5, [H[1]!, H[0]!])])])).toContain("ordered");
  });

  it("catches an event delivered twice (Unique)", () => {
    expect(kinds([watch(1, 1, [resp(3, [H[0]!]), resp(3, [H[0]!, H[1]!])])])).toContain("unique");
  });

  it("catches a revision split across responses (Atomic)", () => {
    const a2 = put("/a", 3, "x");
    const b2 = put("/b", 3, "y");
    expect(kinds([watch(1, 1, [resp(3, [a2]), resp(3, [b2])])])).toContain("atomic");
  });

  it("catches an event at or below a progress notification (Bookmarkable)", () => {
    expect(kinds([watch(1, 1, [resp(3, [H[0]!]), resp(3, []), resp(3, [H[1]!])])])).toContain("bookmarkable");
  });

  it("catches a gap that another watch fills (Reliable)", () => {
    const full = watch(1, 1, [resp(5, H)]);
    const gappy = watch(2, 1, [resp(3, [H[0]!]), resp(5, [H[2]!, H[3]!])]);
    expect(kinds([full, gappy])).toContain("reliable");
  });

  it("catches a resumed watch that skips its start (Resumable)", () => {
    const full = watch(1, 1, [resp(5, H)]);
    const late = watch(2, 3, [resp(5, [H[2]!, H[3]!])]);
    expect(kinds([full, late])).toContain("resumable");
  });

  it("catches a watch from now that misses the next event", () => {
    const full = watch(1, 1, [resp(5, H)]);
    const fromNow = watch(2, 0, [resp(2, [], { created: true }), resp(5, [H[2]!])]);
    expect(kinds([full, fromNow])).toContain("resumable");
  });

  it("catches an open watch that never got the tail (delivered)", () => {
    const full = watch(1, 1, [resp(5, H)]);
    const stuck = watch(2, 1, [resp(3, H.slice(0, 2))], true);
    expect(kinds([full, stuck])).toContain("delivered");
  });

  it("catches two watches disagreeing about a revision", () => {
    const a = watch(1, 1, [resp(2, [put("/a", 2, "x")])]);
    const b = watch(2, 1, [resp(2, [put("/a", 2, "y")])]);
    expect(kinds([a, b])).toContain("merge");
  });

  it("catches a wrong prev_kv", () => {
    const w = watch(1, 1, [resp(5, [H[0]!, H[1]!, { ...H[2]!, prev: { value: "bogus", modRev: 2, createRev: 2, version: 1, lease: "0" } }, H[3]!])]);
    w.prevKv = true;
    expect(kinds([w])).toContain("event");
  });
});
