// Book 12.3 and 12.9: leadership transfer (Raft thesis 3.10) and linearizable reads with
// ReadIndex: the leader confirms with a heartbeat round that it still leads before it answers.
import { describe, expect, it } from "vitest";
import { Network } from "./testing.js";
import { ProposalDroppedError } from "./types.js";

function cluster(opts: { checkQuorum?: boolean; preVote?: boolean } = {}): Network {
  const net = new Network({ ids: ["1", "2", "3"], seed: 21, ...opts });
  net.campaign("1");
  net.propose("1", "a");
  net.stabilize();
  return net;
}

describe("leader transfer", () => {
  it("to an up-to-date follower", () => {
    const net = cluster({ checkQuorum: true, preVote: true });
    net.node("1").transferLeader("2");
    net.stabilize();
    expect(net.leader()).toBe("2");
    expect(net.node("2").status().term).toBe(2);
    expect(net.node("1").status()).toMatchObject({ state: "follower", lead: "2" });
  });

  it("to a lagging follower: it is caught up first", () => {
    const net = cluster();
    net.isolate("3");
    for (let i = 0; i < 5; i++) net.propose("1", `v${i}`);
    net.stabilize();
    net.heal();
    net.node("1").transferLeader("3");
    expect(net.node("1").status().leadTransferee).toBe("3");
    expect(() => net.node("1").propose("blocked")).toThrow(ProposalDroppedError);
    net.stabilize();
    expect(net.leader()).toBe("3");
    expect(net.get("3").state).toEqual(["a", "v0", "v1", "v2", "v3", "v4"]);
  });

  it("requested on a follower, it is forwarded to the leader", () => {
    const net = cluster();
    net.node("2").transferLeader("3");
    net.stabilize();
    expect(net.leader()).toBe("3");
  });

  it("is aborted after an election timeout if the transferee does not take over", () => {
    const net = cluster();
    net.isolate("3");
    net.node("1").transferLeader("3");
    net.stabilize();
    expect(net.node("1").status().leadTransferee).toBe("3");
    net.ticks(10);
    expect(net.node("1").status()).toMatchObject({ state: "leader", leadTransferee: "0" });
    expect(net.propose("1", "ok-again")).toBe(true);
  });
});

describe("ReadIndex", () => {
  it("on the leader: answered after a quorum confirmed the heartbeat", () => {
    const net = cluster();
    const commit = net.node("1").status().commit;
    net.node("1").readIndex("r1");
    net.processReady("1");
    expect(net.get("1").readStates).toEqual([]); // not before the heartbeat round
    net.stabilize();
    expect(net.get("1").readStates).toEqual([{ index: commit, ctx: "r1" }]);
  });

  it("via a follower: forwarded, answered to the follower", () => {
    const net = cluster();
    net.node("3").readIndex("r2");
    net.stabilize();
    expect(net.get("3").readStates).toEqual([{ index: net.node("1").status().commit, ctx: "r2" }]);
    expect(net.get("1").readStates).toEqual([]);
  });

  it("on a single voter: answered at once", () => {
    const net = new Network({ ids: ["1"] });
    net.campaign("1");
    net.node("1").readIndex("solo");
    const rd = net.node("1").ready();
    expect(rd.readStates).toEqual([{ index: 1, ctx: "solo" }]);
    net.node("1").advance(rd);
  });

  it("not answered by an isolated leader, nor after it is deposed", () => {
    const net = cluster();
    net.isolate("1");
    net.node("1").readIndex("stale");
    net.stabilize();
    net.ticks(1);
    expect(net.get("1").readStates).toEqual([]);
    net.campaign("2");
    net.propose("2", "newer");
    net.stabilize();
    net.heal();
    net.ticks(3);
    expect(net.node("1").status()).toMatchObject({ state: "follower", lead: "2" });
    expect(net.get("1").readStates).toEqual([]);
    // A follower without a leader drops the request (the driver times out).
    const lone = new Network({ ids: ["1", "2", "3"] });
    lone.node("2").readIndex("nobody");
    lone.stabilize();
    expect(lone.get("2").readStates).toEqual([]);
  });

  it("a new leader answers only once an entry of its term is committed", () => {
    const net = cluster();
    // Elect 2, but keep its first (empty) entry from replicating.
    net.filter = (m) => !(m.type === "app" && m.from === "2" && m.entries.length > 0);
    net.isolate("1");
    net.campaign("2");
    expect(net.leader()).toBe("2");
    net.node("2").readIndex("wait");
    net.ticks(2);
    expect(net.get("2").readStates).toEqual([]);
    net.filter = undefined;
    net.ticks(2);
    const st = net.node("2").status();
    expect(net.get("2").readStates).toEqual([{ index: st.commit, ctx: "wait" }]);
    expect(st.commit).toBe(3); // includes its own empty entry
  });

  it("several reads in one round are all answered, in order", () => {
    const net = cluster();
    net.node("1").readIndex("x");
    net.node("1").readIndex("y");
    net.node("2").readIndex("z");
    net.stabilize();
    expect(net.get("1").readStates.map((r) => r.ctx)).toEqual(["x", "y"]);
    expect(net.get("2").readStates.map((r) => r.ctx)).toEqual(["z"]);
  });
});
