// Book 12.2: watch behaviour and its guarantees, case by case: create/cancel/ids, start revisions,
// compaction, filters, prev_kv, atomic revisions, progress, backpressure, and resync after restore.
import { describe, expect, it } from "vitest";
import { StateMachine } from "../apply/state-machine.js";
import { Member, testHeader } from "./test-harness.js";

describe("create and cancel", () => {
  it("answers created with the current revision and hands out ids from 0", () => {
    const m = new Member();
    m.put("a", "1");
    const c = m.client();
    c.stream.create({ key: "a" });
    c.stream.create({ key: "a", watchId: 1 });
    c.stream.create({ key: "b" });
    expect(c.take()).toEqual([
      { header: testHeader(2), watchId: 0, created: true, events: [] },
      { header: testHeader(2), watchId: 1, created: true, events: [] },
      { header: testHeader(2), watchId: 2, created: true, events: [] },
    ]);
    expect(m.hub.watcherCount).toBe(3);
    expect(m.hub.streamCount).toBe(1);
  });

  it("refuses a duplicate id and an empty range like etcd", () => {
    const m = new Member();
    const c = m.client();
    c.stream.create({ key: "a", watchId: 5 });
    c.stream.create({ key: "a", watchId: 5 });
    c.stream.create({ key: "b", rangeEnd: "a" });
    expect(c.take().slice(1)).toEqual([
      { header: testHeader(1), watchId: -1, created: true, canceled: true, cancelReason: "mvcc: duplicate watch ID provided on the WatchStream", events: [] },
      { header: testHeader(1), watchId: -1, created: true, canceled: true, cancelReason: "mvcc: watcher range is empty", events: [] },
    ]);
    expect(m.hub.watcherCount).toBe(1);
  });

  it("cancel answers canceled and stops events; an unknown id gets no answer", () => {
    const m = new Member();
    const c = m.client();
    c.stream.create({ key: "a" });
    m.put("a", "1");
    c.stream.cancel(0);
    c.stream.cancel(7);
    m.put("a", "2");
    expect(c.take().map((r) => [r.watchId, r.canceled ?? false, r.events.length])).toEqual([[0, false, 0], [0, false, 1], [0, true, 0]]);
    expect(m.hub.watcherCount).toBe(0);
  });

  it("close releases the stream and its watchers", () => {
    const m = new Member();
    const c = m.client();
    c.stream.create({ key: "a" });
    c.stream.close();
    m.put("a", "1");
    c.stream.create({ key: "a" });
    expect(c.got).toHaveLength(1);
    expect(m.hub.streamCount).toBe(0);
    expect(m.hub.watcherCount).toBe(0);
  });
});

describe("start revision", () => {
  it("absent or <= 0 means from the next revision, not from the beginning", () => {
    const m = new Member();
    m.put("a", "1");
    const c = m.client();
    c.stream.create({ key: "a" });
    c.stream.create({ key: "a", startRevision: -3 });
    m.put("a", "2");
    expect(c.events(0)).toEqual(["PUT a@3"]);
    expect(c.events(1)).toEqual(["PUT a@3"]);
  });

  it("a past revision replays history, then goes live without a gap or a repeat", () => {
    const m = new Member();
    m.put("a", "1"); // 2
    m.put("b", "1"); // 3
    m.del("a"); // 4
    const c = m.client();
    c.stream.create({ key: "a", rangeEnd: "c", startRevision: 3 });
    m.put("a", "2"); // 5
    expect(c.events(0)).toEqual(["PUT b@3", "DELETE a@4", "PUT a@5"]);
    const replay = c.got[1]!;
    expect(replay.header.revision).toBe(4);
  });

  it("a future revision skips everything before it", () => {
    const m = new Member();
    const c = m.client();
    c.stream.create({ key: "a", startRevision: 4 });
    m.put("a", "1"); // 2
    m.put("a", "2"); // 3
    m.put("a", "3"); // 4
    expect(c.events(0)).toEqual(["PUT a@4"]);
  });

  it("at or below the compaction revision: created, then canceled with compact_revision", () => {
    const m = new Member();
    m.put("a", "1");
    m.put("a", "2");
    m.compact(3);
    const c = m.client();
    c.stream.create({ key: "a", startRevision: 3 });
    expect(c.take()).toEqual([
      { header: testHeader(3), watchId: 0, created: true, events: [] },
      { header: testHeader(0), watchId: 0, canceled: true, compactRevision: 3, events: [] },
    ]);
    expect(m.hub.watcherCount).toBe(0);
  });
});

describe("what a watcher sees", () => {
  it("its key range only: single key, prefix, from-key, and an empty key meaning all", () => {
    const m = new Member();
    const c = m.client();
    c.stream.create({ key: "b" });
    c.stream.create({ key: "b", rangeEnd: "c" });
    c.stream.create({ key: "b", rangeEnd: "\0" });
    c.stream.create({ key: "", rangeEnd: "\0" });
    for (const k of ["a", "b", "bb", "c"]) m.put(k, "1");
    expect(c.events(0)).toEqual(["PUT b@3"]);
    expect(c.events(1)).toEqual(["PUT b@3", "PUT bb@4"]);
    expect(c.events(2)).toEqual(["PUT b@3", "PUT bb@4", "PUT c@5"]);
    expect(c.events(3)).toHaveLength(4);
  });

  it("filters drop puts or deletes; a revision with nothing left sends nothing", () => {
    const m = new Member();
    const c = m.client();
    c.stream.create({ key: "a", filters: ["NOPUT"] });
    c.stream.create({ key: "a", filters: ["NODELETE"] });
    m.put("a", "1");
    m.del("a");
    expect(c.events(0)).toEqual(["DELETE a@3"]);
    expect(c.events(1)).toEqual(["PUT a@2"]);
    expect(c.got).toHaveLength(4);
    c.stream.create({ key: "a", startRevision: 2, filters: ["NOPUT"] });
    expect(c.events(2)).toEqual(["DELETE a@3"]);
  });

  it("prev_kv only when asked, live and from history", () => {
    const m = new Member();
    m.put("a", "1");
    const c = m.client();
    c.stream.create({ key: "a", prevKv: true });
    c.stream.create({ key: "a" });
    m.put("a", "2");
    m.del("a");
    const withPrev = c.got.filter((r) => r.watchId === 0).flatMap((r) => r.events);
    expect(withPrev.map((e) => e.prevKv?.value)).toEqual(["1", "2"]);
    expect(c.got.filter((r) => r.watchId === 1).flatMap((r) => r.events).every((e) => !("prevKv" in e))).toBe(true);
    c.stream.create({ key: "a", prevKv: true, startRevision: 2 });
    expect(c.got.filter((r) => r.watchId === 2).flatMap((r) => r.events).map((e) => e.prevKv?.value)).toEqual([undefined, "1", "2"]);
  });
});

describe("atomic: a revision is never split", () => {
  it("live: a txn's events go out in one response even above maxEventsPerResponse", () => {
    const m = new Member({ maxEventsPerResponse: 2 });
    const c = m.client();
    c.stream.create({ key: "k", rangeEnd: "l" });
    m.txn({ success: ["k1", "k2", "k3", "k4", "k5"].map((key) => ({ requestPut: { key, value: "v" } })) });
    expect(c.take().map((r) => r.events.length)).toEqual([0, 5]);
  });

  it("replay: batches end on revision boundaries", () => {
    const m = new Member({ maxEventsPerResponse: 2 });
    m.txn({ success: ["k1", "k2", "k3"].map((key) => ({ requestPut: { key, value: "v" } })) }); // 2
    m.put("k1", "x"); // 3
    m.put("k2", "x"); // 4
    m.put("k3", "x"); // 5
    const c = m.client();
    c.stream.create({ key: "k", rangeEnd: "l", startRevision: 1 + 1 });
    const rs = c.take().slice(1);
    expect(rs.map((r) => r.events.map((e) => e.kv.modRevision))).toEqual([[2, 2, 2], [3, 4], [5]]);
    expect(rs.map((r) => r.header.revision)).toEqual([2, 4, 5]);
  });
});

describe("fragments", () => {
  it("a watcher that asked for fragments gets big responses in pieces; others get them whole", () => {
    const m = new Member({ maxResponseBytes: 300 });
    const c = m.client();
    c.stream.create({ key: "k", rangeEnd: "l", fragment: true });
    c.stream.create({ key: "k", rangeEnd: "l" });
    m.txn({ success: ["k1", "k2", "k3", "k4"].map((key) => ({ requestPut: { key, value: "v".repeat(100) } })) });
    const frag = c.got.filter((r) => r.watchId === 0 && r.events.length > 0);
    expect(frag.length).toBeGreaterThan(1);
    expect(frag.map((r) => !!r.fragment)).toEqual([...frag.slice(1).map(() => true), false]);
    expect(frag.flatMap((r) => r.events)).toHaveLength(4);
    expect(c.got.filter((r) => r.watchId === 1 && r.events.length > 0)).toHaveLength(1);
  });
});

describe("progress", () => {
  it("a progress request is answered with watch id -1 and the current revision", () => {
    const m = new Member();
    m.put("a", "1");
    const c = m.client();
    c.stream.progress(); // no watchers: still answered
    c.stream.create({ key: "a" });
    c.stream.create({ key: "b" });
    m.put("a", "2");
    c.stream.progress();
    expect(c.got[0]).toEqual({ header: testHeader(2), watchId: -1, events: [] });
    expect(c.got.at(-1)).toEqual({ header: testHeader(3), watchId: -1, events: [] });
  });

  it("waits until every watcher on the stream is synced (bookmarkable)", () => {
    const m = new Member({ maxBufferedEvents: 2 });
    for (let i = 0; i < 5; i++) m.put("a", String(i)); // 2..6
    const c = m.client();
    c.accept = false;
    c.stream.create({ key: "a" }); // sent (then the socket reports full)
    c.stream.create({ key: "a", startRevision: 2 }); // buffered, replay waits
    c.stream.progress();
    m.put("a", "x"); // 7
    expect(c.got.filter((r) => r.watchId === -1)).toHaveLength(0);
    c.accept = true;
    c.stream.drained();
    const idx = c.got.findIndex((r) => r.watchId === -1);
    expect(idx).toBeGreaterThan(0);
    expect(c.got[idx]!.header.revision).toBe(7);
    // every event at or below 7 came before the progress reply
    const before = c.got.slice(0, idx);
    expect(before.filter((r) => r.watchId === 1).flatMap((r) => r.events)).toHaveLength(6);
    expect(before.filter((r) => r.watchId === 0).flatMap((r) => r.events)).toHaveLength(1);
  });

  it("progress-notify watchers get a notification per quiet interval, none after events", () => {
    const m = new Member();
    const c = m.client();
    c.stream.create({ key: "a", progressNotify: true });
    c.stream.create({ key: "b" });
    c.take();
    m.hub.progressNotifyTick();
    expect(c.take()).toEqual([{ header: testHeader(1), watchId: 0, events: [] }]);
    m.put("a", "1");
    m.hub.progressNotifyTick();
    expect(c.take().map((r) => r.events.length)).toEqual([1]);
    m.put("b", "1"); // only the other watcher gets an event: watcher 0 is still quiet
    m.hub.progressNotifyTick();
    expect(c.take().filter((r) => r.watchId === 0)).toEqual([{ header: testHeader(3), watchId: 0, events: [] }]);
  });
});

describe("backpressure", () => {
  it("buffers while the socket is full and sends in order when drained", () => {
    const m = new Member();
    const c = m.client();
    c.stream.create({ key: "a" });
    c.accept = false;
    m.put("a", "1"); // taken, then full
    m.put("a", "2");
    m.put("a", "3");
    expect(c.events(0)).toEqual(["PUT a@2"]);
    expect(m.hub.pendingEvents).toBe(2);
    c.accept = true;
    c.stream.drained();
    expect(c.events(0)).toEqual(["PUT a@2", "PUT a@3", "PUT a@4"]);
    expect(m.hub.pendingEvents).toBe(0);
  });

  it("past the buffer limit, drops the buffer and replays from history: no gap, no repeat", () => {
    const m = new Member({ maxBufferedEvents: 3 });
    const c = m.client();
    c.stream.create({ key: "a", rangeEnd: "c" });
    c.stream.create({ key: "b", watchId: 9 });
    c.accept = false;
    for (let i = 0; i < 10; i++) m.put(i % 2 ? "a" : "b", String(i)); // 2..11
    expect(m.hub.pendingEvents).toBeLessThanOrEqual(3);
    c.accept = true;
    c.stream.drained();
    m.put("b", "live"); // 12
    const revs = (id: number) => c.events(id).map((e) => Number(e.split("@")[1]));
    expect(revs(0)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(revs(9)).toEqual([2, 4, 6, 8, 10, 12]);
  });

  it("a replay that finds its revisions compacted cancels with compact_revision", () => {
    const m = new Member({ maxBufferedEvents: 1 });
    const c = m.client();
    c.stream.create({ key: "a" });
    c.accept = false;
    for (let i = 0; i < 5; i++) m.put("a", String(i)); // 2..6
    m.compact(5);
    c.accept = true;
    c.stream.drained();
    expect(c.got.at(-1)).toEqual({ header: testHeader(0), watchId: 0, canceled: true, compactRevision: 5, events: [] });
    expect(m.hub.watcherCount).toBe(0);
  });

  it("events buffered before a cancel still arrive, before the canceled reply", () => {
    const m = new Member();
    const c = m.client();
    c.stream.create({ key: "a" });
    c.stream.create({ key: "b" });
    c.accept = false;
    m.put("b", "0");
    m.put("a", "1");
    c.stream.progress(); // promises a@3 to the client
    c.stream.cancel(0);
    m.put("a", "2");
    c.accept = true;
    c.stream.drained();
    expect(c.events(0)).toEqual(["PUT a@3"]);
    expect(c.got.slice(-3).map((r) => [r.watchId, r.events.length, r.canceled ?? false])).toEqual([[0, 1, false], [-1, 0, false], [0, 0, true]]);
  });
});

describe("resumable and restore", () => {
  it("a new watcher from last+1 continues exactly where the old one stopped", () => {
    const m = new Member();
    const c = m.client();
    c.stream.create({ key: "k", rangeEnd: "l" });
    m.put("k1", "1");
    m.txn({ success: [{ requestPut: { key: "k2", value: "1" } }, { requestDeleteRange: { key: "k1" } }] });
    c.stream.cancel(0);
    m.put("k3", "1");
    m.put("k2", "2");
    const last = c.got.flatMap((r) => r.events).at(-1)!.kv.modRevision;
    const d = m.client();
    d.stream.create({ key: "k", rangeEnd: "l", startRevision: last + 1 });
    expect([...c.events(0), ...d.events(0)]).toEqual(["PUT k1@2", "PUT k2@3", "DELETE k1@3", "PUT k3@4", "PUT k2@5"]);
  });

  it("after the state machine is replaced by a newer snapshot, watchers get what they missed", () => {
    const m = new Member();
    const leader = new StateMachine();
    const both = (fn: (sm: StateMachine) => void) => { fn(leader); };
    const c = m.client();
    c.stream.create({ key: "a", rangeEnd: "z", prevKv: true });
    m.put("a", "1"); // 2 on the follower
    both((sm) => sm.apply({ id: "x1", cmd: { op: "put", req: { key: "a", value: "1" } } }));
    // the leader moves on; the follower misses these entries and installs a snapshot instead
    leader.apply({ id: "x2", cmd: { op: "put", req: { key: "a", value: "2" } } }); // 3
    leader.apply({ id: "x3", cmd: { op: "put", req: { key: "b", value: "1" } } }); // 4
    m.sm = StateMachine.restore(leader.snapshot());
    m.hub.resync();
    m.put("b", "2"); // 5, live again
    expect(c.events(0)).toEqual(["PUT a@2", "PUT a@3", "PUT b@4", "PUT b@5"]);
    expect(c.got.flatMap((r) => r.events).map((e) => e.prevKv?.value)).toEqual([undefined, "1", undefined, "1"]);
  });

  it("after restore, a watcher whose next revision was compacted away is canceled", () => {
    const m = new Member();
    const leader = new StateMachine();
    const c = m.client();
    c.stream.create({ key: "a" });
    for (let i = 0; i < 4; i++) leader.apply({ id: `y${i}`, cmd: { op: "put", req: { key: "a", value: String(i) } } });
    leader.apply({ id: "yc", cmd: { op: "compaction", req: { revision: 4 } } });
    m.sm = StateMachine.restore(leader.snapshot());
    m.hub.resync();
    expect(c.got.at(-1)).toEqual({ header: testHeader(0), watchId: 0, canceled: true, compactRevision: 4, events: [] });
  });

  it("a revision the hub was never told about is replayed from history", () => {
    const m = new Member();
    const c = m.client();
    c.stream.create({ key: "a" });
    m.sm.apply({ id: "silent", cmd: { op: "put", req: { key: "a", value: "1" } } }); // 2, no notify
    m.put("a", "2"); // 3
    expect(c.events(0)).toEqual(["PUT a@2", "PUT a@3"]);
  });
});
