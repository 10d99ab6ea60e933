// Book 12.8-12.9: leader election, randomized timeouts, PreVote and CheckQuorum (fault tolerance
// and heartbeat timing), driven through the in-memory test network.
import { describe, expect, it } from "vitest";
import { MemoryStorage } from "./memory-storage.js";
import { RawNode } from "./rawnode.js";
import { Network, seededRandom } from "./testing.js";
import { type RaftConfig } from "./types.js";

function singleNode(random: () => number, electionTick = 10): RawNode {
  const s = new MemoryStorage();
  s.applySnapshot({ meta: { index: 0, term: 0, conf: { voters: ["1"], learners: [] } }, data: "" });
  const c: RaftConfig = {
    id: "1",
    electionTick,
    heartbeatTick: 1,
    preVote: false,
    checkQuorum: false,
    maxSizePerMsg: 1 << 20,
    maxInflightMsgs: 16,
    random,
  };
  return new RawNode(c, s);
}

describe("election", () => {
  it("a single node elects itself and commits", () => {
    const net = new Network({ ids: ["1"] });
    net.ticks(20);
    const st = net.node("1").status();
    expect(st.state).toBe("leader");
    expect(st.term).toBe(1);
    expect(net.propose("1", "a")).toBe(true);
    net.stabilize();
    expect(net.get("1").state).toEqual(["a"]);
    expect(net.node("1").status().commit).toBe(2); // the leader's empty entry, then "a"
  });

  it("a three-node cluster elects one leader and everyone follows it", () => {
    const net = new Network({ ids: ["1", "2", "3"], seed: 3 });
    net.ticks(25);
    const lead = net.leader();
    expect(lead).not.toBe("0");
    for (const id of ["1", "2", "3"]) {
      const st = net.node(id).status();
      expect(st.lead).toBe(lead);
      expect(st.state).toBe(id === lead ? "leader" : "follower");
    }
    expect(net.propose(lead === "1" ? "2" : "1", "via-follower")).toBe(true); // forwarded
    net.stabilize();
    for (const id of ["1", "2", "3"]) expect(net.get(id).state).toEqual(["via-follower"]);
  });

  it("campaign() wins an election at once with the votes of a majority", () => {
    const net = new Network({ ids: ["1", "2", "3"] });
    net.isolate("3");
    net.campaign("1");
    expect(net.node("1").status()).toMatchObject({ state: "leader", term: 1 });
    expect(net.node("2").status()).toMatchObject({ state: "follower", term: 1, vote: "1", lead: "1" });
    expect(net.node("3").status().term).toBe(0);
  });

  it("a candidate without a majority does not win", () => {
    const net = new Network({ ids: ["1", "2", "3"] });
    net.isolate("1");
    net.campaign("1");
    expect(net.node("1").status().state).toBe("candidate");
    expect(() => net.node("1").propose("x")).toThrow(/no leader/);
  });

  it("the randomized election timeout is drawn from config.random, in [electionTick, 2*electionTick)", () => {
    expect(singleNode(() => 0).randomizedElectionTimeout()).toBe(10);
    expect(singleNode(() => 0.5).randomizedElectionTimeout()).toBe(15);
    expect(singleNode(() => 0.999).randomizedElectionTimeout()).toBe(19);
    for (let seed = 0; seed < 50; seed++) {
      const t = singleNode(seededRandom(seed)).randomizedElectionTimeout();
      expect(t).toBeGreaterThanOrEqual(10);
      expect(t).toBeLessThan(20);
    }
    // Same random() → same tick of the campaign.
    const n = singleNode(() => 0.5);
    for (let i = 0; i < 14; i++) n.tick();
    expect(n.status().state).toBe("follower");
    n.tick();
    expect(n.status().state).toBe("leader");
    expect(() => singleNode(() => 1)).toThrow(/random/);
  });

  it("the same seeds give the same run", () => {
    const run = () => {
      const net = new Network({ ids: ["1", "2", "3", "4", "5"], seed: 42 });
      net.ticks(40);
      return [...net.nodes.values()].map((t) => t.node.status());
    };
    expect(run()).toEqual(run());
  });
});

describe("terms and stale leaders", () => {
  it("a stale leader steps down on a higher term and its uncommitted entries are replaced", () => {
    const net = new Network({ ids: ["1", "2", "3"] });
    net.campaign("1");
    net.propose("1", "committed");
    net.stabilize();
    net.isolate("1");
    net.propose("1", "lost-1");
    net.propose("1", "lost-2");
    net.stabilize();
    expect(net.node("1").status().lastIndex).toBe(4);
    net.campaign("2");
    expect(net.node("2").status()).toMatchObject({ state: "leader", term: 2 });
    net.propose("2", "new");
    net.stabilize();
    net.heal();
    net.ticks(2); // heartbeats reach 1, it sees term 2
    expect(net.node("1").status()).toMatchObject({ state: "follower", term: 2, lead: "2" });
    for (const id of ["1", "2", "3"]) {
      expect(net.get(id).state).toEqual(["committed", "new"]);
      expect(net.logTerms(id)).toEqual([1, 1, 2, 2]);
    }
  });

  it("a node votes at most once per term and only for an up-to-date log", () => {
    const net = new Network({ ids: ["1", "2", "3"] });
    net.campaign("1");
    net.propose("1", "x");
    net.stabilize();
    // 3 misses "x"; it cannot win against 1 and 2.
    net.isolate("3");
    net.propose("1", "y");
    net.stabilize();
    net.heal();
    net.campaign("3");
    expect(net.node("3").status().state).not.toBe("leader");
    expect(net.node("2").status().vote).not.toBe("3");
  });
});

describe("PreVote", () => {
  it("a partitioned node rejoining does not bump the term or depose the leader", () => {
    const net = new Network({ ids: ["1", "2", "3"], preVote: true, seed: 5 });
    net.campaign("1");
    net.isolate("3");
    for (let i = 0; i < 100; i++) {
      if (i % 10 === 0) net.propose("1", `p${i}`);
      net.tick();
      net.stabilize();
    }
    // 3 ran pre-elections but never took a new term.
    expect(net.node("3").status()).toMatchObject({ term: 1, state: "preCandidate" });
    net.heal();
    net.ticks(50);
    expect(net.leader()).toBe("1");
    for (const id of ["1", "2", "3"]) expect(net.node(id).status()).toMatchObject({ term: 1, lead: "1" });
    expect(net.get("3").state).toEqual(net.get("1").state);
  });

  it("pre-votes are refused while a leader is live even if the logs are equal", () => {
    const net = new Network({ ids: ["1", "2", "3"], preVote: true, seed: 6 });
    net.campaign("1");
    net.isolate("3");
    net.ticks(60);
    net.heal();
    net.ticks(30);
    expect(net.leader()).toBe("1");
    expect(net.node("1").status().term).toBe(1);
  });

  it("without PreVote the same rejoin bumps the term and deposes the leader", () => {
    const net = new Network({ ids: ["1", "2", "3"], seed: 5 });
    net.campaign("1");
    net.isolate("3");
    net.ticks(100);
    expect(net.node("3").status().term).toBeGreaterThan(1);
    net.heal();
    net.ticks(50);
    expect(net.node("1").status().term).toBeGreaterThan(1);
  });

  it("a pre-election that wins becomes a real election", () => {
    const net = new Network({ ids: ["1", "2", "3"], preVote: true });
    net.campaign("2");
    expect(net.node("2").status()).toMatchObject({ state: "leader", term: 1 });
  });
});

describe("CheckQuorum", () => {
  it("an isolated leader steps down after an election timeout", () => {
    const net = new Network({ ids: ["1", "2", "3"], checkQuorum: true, seed: 7 });
    net.campaign("1");
    net.isolate("1");
    // The leader checks once per election timeout whether a quorum was heard from since the
    // last check: the first check (tick 10) still counts the acks of its first round.
    net.ticks(10);
    expect(net.node("1").status().state).toBe("leader");
    net.ticks(10);
    expect(net.node("1").status().state).toBe("follower");
    net.ticks(40);
    const lead = net.leader();
    expect(["2", "3"]).toContain(lead);
  });

  it("followers with a live leader refuse votes (leader lease)", () => {
    const net = new Network({ ids: ["1", "2", "3"], checkQuorum: true });
    net.campaign("1");
    net.ticks(3);
    net.campaign("3"); // without PreVote: 3 takes term 2 and asks for votes
    expect(net.node("3").status()).toMatchObject({ state: "candidate", term: 2 });
    expect(net.node("2").status()).toMatchObject({ term: 1, vote: "1", lead: "1" });
    expect(net.node("1").status()).toMatchObject({ state: "leader", term: 1 });
  });

  it("once the lease has run out, the vote is granted", () => {
    const net = new Network({ ids: ["1", "2", "3"], checkQuorum: true, seed: 8 });
    net.campaign("1");
    net.crash("1");
    net.ticks(10); // 2 and 3 have not heard from 1 for an election timeout
    net.campaign("3");
    expect(net.node("3").status()).toMatchObject({ state: "leader", term: 2 });
  });
});
