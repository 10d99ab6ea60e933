// Book 12.4: log replication: the log-matching property, conflict truncation, the commit rule of
// the Raft paper's figure 8, batching and flow control.
import { describe, expect, it } from "vitest";
import { MemoryStorage } from "./memory-storage.js";
import { Network } from "./testing.js";
import type { Entry, Message, NodeId } from "./types.js";

const ent = (index: number, term: number, data = `${index}@${term}`): Entry => ({ index, term, type: "normal", data });

/** Crafts each node's durable log: terms per index, and the hard state's term. */
function craft(logs: Record<NodeId, number[]>, term: number, commit = 0) {
  return (id: NodeId, s: MemoryStorage) => {
    const terms = logs[id] ?? [];
    s.append(terms.map((t, i) => ent(i + 1, t)));
    s.setHardState({ term, vote: "0", commit: Math.min(commit, terms.length) });
  };
}

describe("log matching", () => {
  it("a follower with a divergent log is truncated and repaired, skipping whole terms", () => {
    const sent: Message[] = [];
    const net = new Network({
      ids: ["1", "2", "3"],
      prepare: craft({ "1": [1, 1, 3], "2": [1, 1, 2, 2, 2, 2, 2], "3": [1, 1, 3] }, 3, 2),
    });
    net.filter = (m) => {
      sent.push(m);
      return true;
    };
    net.campaign("1");
    expect(net.node("1").status()).toMatchObject({ state: "leader", term: 4 });
    for (const id of ["1", "2", "3"]) expect(net.logTerms(id)).toEqual([1, 1, 3, 4]);
    // Node 2's stale term-2 suffix went in one rejection, not one per entry.
    const rejections = sent.filter((m) => m.type === "appResp" && m.reject && m.from === "2");
    expect(rejections.length).toBe(1);
    expect(net.node("2").status().commit).toBe(4);
    expect(net.get("2").state).toEqual(["1@1", "2@1", "3@3"]);
  });

  it("a follower that is far behind is brought up to date", () => {
    const net = new Network({ ids: ["1", "2", "3"], prepare: craft({ "1": [1, 1, 1, 1, 1, 1], "2": [1] }, 1, 1) });
    net.campaign("1");
    for (const id of ["2", "3"]) expect(net.logTerms(id)).toEqual(net.logTerms("1"));
  });
});

describe("the commit rule (figure 8)", () => {
  it("an old-term entry on a majority is not committed by counting, and may be replaced", () => {
    // (b) of figure 8: S1 led term 2 and wrote index 2 on S1, S2; S5 led term 3 and wrote its own index 2.
    const net = new Network({
      ids: ["1", "2", "3", "4", "5"],
      maxSizePerMsg: 0, // one entry per append: lets the test stop between index 2 and 3
      prepare: craft({ "1": [1, 2], "2": [1, 2], "3": [1], "4": [1], "5": [1, 3] }, 3, 1),
    });
    net.isolate("2");
    // (c): S1 leads term 4 and copies its term-2 entry to S3 and S4, but its term-4 entry goes nowhere.
    // (Appends that the receiver will reject anyway are let through, so S1 can find where to start.)
    net.filter = (m) =>
      !(m.type === "app" && m.entries.some((e) => e.term === 4) && net.get(m.to).storage.lastIndex() >= m.index);
    net.campaign("1");
    expect(net.node("1").status()).toMatchObject({ state: "leader", term: 4 });
    net.ticks(3);
    expect(net.logTerms("3")).toEqual([1, 2]);
    expect(net.logTerms("4")).toEqual([1, 2]);
    // Index 2 is on S1, S3, S4: a majority. It must not be committed: its term is not the leader's.
    const st = net.node("1").status();
    expect(st.progress!["3"]!.match).toBe(2);
    expect(st.commit).toBe(1);
    // (d): S1 crashes; S5 (last term 3) is elected and overwrites index 2 everywhere.
    net.crash("1");
    net.filter = undefined;
    net.heal();
    net.campaign("5");
    expect(net.node("5").status()).toMatchObject({ state: "leader", term: 5 });
    for (const id of ["2", "3", "4", "5"]) expect(net.logTerms(id)).toEqual([1, 3, 5]);
    // S1 comes back and is repaired too; nobody ever applied 2@2.
    net.restart("1");
    net.ticks(3);
    expect(net.logTerms("1")).toEqual([1, 3, 5]);
    expect(net.committed.get(2)).toEqual({ term: 3, data: "2@3" });
  });

  it("the old-term entry commits together with the first entry of the new term", () => {
    const net = new Network({ ids: ["1", "2", "3"], prepare: craft({ "1": [1, 2], "2": [1, 2], "3": [1] }, 2, 1) });
    net.campaign("1");
    expect(net.node("1").status().commit).toBe(3);
    expect(net.get("3").state).toEqual(["1@1", "2@2"]);
  });
});

describe("batching and flow control", () => {
  it("append messages are batched by maxSizePerMsg", () => {
    const apps: Message[] = [];
    const net = new Network({ ids: ["1", "2"], maxSizePerMsg: 10 });
    net.campaign("1");
    net.filter = (m) => {
      if (m.type === "app" && m.entries.length > 0) apps.push(m);
      return true;
    };
    net.isolate("2");
    for (let i = 0; i < 10; i++) net.propose("1", "abcd"); // 4 bytes each
    net.stabilize();
    net.heal();
    net.ticks(2);
    expect(net.get("2").state.length).toBe(10);
    for (const m of apps) expect(m.entries.length).toBeLessThanOrEqual(2); // 2 * 4 <= 10 < 3 * 4
  });

  it("replicate state pipelines up to maxInflightMsgs unacknowledged appends", () => {
    const net = new Network({ ids: ["1", "2"], maxInflightMsgs: 3 });
    net.campaign("1");
    // Acks from 2 are lost: the leader keeps sending until the window is full.
    net.cutLink("2", "1");
    for (let i = 0; i < 6; i++) {
      net.propose("1", `x${i}`);
      net.processReady("1");
    }
    const toTwo = net.inflight.filter((m) => m.type === "app" && m.to === "2");
    expect(toTwo.length).toBe(3);
    net.stabilize();
    net.heal();
    net.ticks(3);
    expect(net.get("2").state).toEqual(["x0", "x1", "x2", "x3", "x4", "x5"]);
  });

  it("probe state sends one append at a time", () => {
    const net = new Network({ ids: ["1", "2"] });
    net.campaign("1");
    net.node("1").reportUnreachable("2"); // back to probe
    expect(net.node("1").status().progress!["2"]!.state).toBe("probe");
    net.cutLink("2", "1");
    for (let i = 0; i < 4; i++) {
      net.propose("1", `y${i}`);
      net.processReady("1");
    }
    expect(net.inflight.filter((m) => m.type === "app" && m.to === "2").length).toBe(1);
  });

  it("heartbeats carry commit = min(match, commit)", () => {
    const beats: Message[] = [];
    const net = new Network({ ids: ["1", "2", "3"] });
    net.campaign("1");
    net.isolate("3");
    net.propose("1", "a");
    net.propose("1", "b");
    net.stabilize();
    net.heal();
    net.filter = (m) => {
      if (m.type === "heartbeat") beats.push(m);
      return !(m.type === "app" && m.to === "3"); // 3 gets heartbeats only
    };
    net.ticks(2);
    const st = net.node("1").status();
    expect(st.commit).toBe(3);
    const to3 = beats.filter((m) => m.to === "3");
    expect(to3.length).toBeGreaterThan(0);
    for (const m of to3) expect(m.commit).toBe(1);
    for (const m of beats.filter((b) => b.to === "2")) expect(m.commit).toBe(3);
  });
});
