// Book 12.8: changing the cluster's members one at a time: adding a voter, removing one (the
// quorum shrinks), learners that receive the log but never vote, and one change at a time.
import { describe, expect, it } from "vitest";
import { Network } from "./testing.js";
import { ProposalDroppedError, type ConfChange } from "./types.js";

const add = (nodeId: string): ConfChange => ({ type: "addNode", nodeId, context: "" });
const remove = (nodeId: string): ConfChange => ({ type: "removeNode", nodeId, context: "" });
const learner = (nodeId: string): ConfChange => ({ type: "addLearner", nodeId, context: "" });

function cluster(ids = ["1", "2", "3"]): Network {
  const net = new Network({ ids, seed: 11 });
  net.campaign("1");
  net.propose("1", "a");
  net.stabilize();
  return net;
}

describe("membership", () => {
  it("an added node catches up, and its vote then counts", () => {
    const net = cluster();
    net.addNode("4"); // joins with an empty configuration
    net.node("1").proposeConfChange(add("4"));
    net.stabilize();
    net.ticks(2);
    expect(net.get("1").conf.voters).toEqual(["1", "2", "3", "4"]);
    expect(net.get("4").conf.voters).toEqual(["1", "2", "3", "4"]);
    expect(net.get("4").state).toEqual(["a"]);
    // Four voters: a quorum is three. With the leader gone, 2 needs 4's vote to win.
    net.isolate("1");
    net.campaign("2");
    expect(net.node("2").status().state).toBe("leader");
    expect(net.node("4").status().vote).toBe("2");
    // And with 4 gone too, nobody can win.
    net.isolate("4");
    net.campaign("3");
    expect(net.node("3").status().state).not.toBe("leader");
  });

  it("an added node is caught up by snapshot when the leader compacted", () => {
    const net = cluster();
    for (let i = 0; i < 5; i++) net.propose("1", `v${i}`);
    net.stabilize();
    net.compact("1");
    net.addNode("4");
    net.node("1").proposeConfChange(add("4"));
    net.stabilize();
    // The conf entry is after the snapshot, so the joiner learns of itself from the log.
    net.ticks(3);
    expect(net.get("4").state).toEqual(net.get("1").state);
    expect(net.get("4").conf.voters).toContain("4");
    expect(net.get("4").storage.snapshot().meta.index).toBeGreaterThan(0);
  });

  it("removing nodes shrinks the quorum", () => {
    const net = cluster();
    net.node("1").proposeConfChange(remove("3"));
    net.stabilize();
    net.node("1").proposeConfChange(remove("2"));
    net.stabilize();
    expect(net.get("1").conf.voters).toEqual(["1"]);
    net.isolate("1");
    net.propose("1", "alone");
    net.stabilize();
    expect(net.get("1").state).toEqual(["a", "alone"]);
    // The removed nodes never campaign again.
    net.heal();
    net.isolate("1");
    net.ticks(50);
    expect(net.node("3").status().state).toBe("follower");
  });

  it("a removed leader steps down and the others elect a new one", () => {
    const net = cluster();
    net.node("1").proposeConfChange(remove("1"));
    net.stabilize();
    expect(net.node("1").status().state).toBe("follower");
    expect(() => net.node("1").propose("x")).toThrow(ProposalDroppedError);
    net.ticks(40);
    expect(["2", "3"]).toContain(net.leader());
    expect(net.node("1").status().state).toBe("follower");
    expect(net.get(net.leader()).conf.voters).toEqual(["2", "3"]);
  });

  it("a learner receives the log but never campaigns or counts towards a quorum", () => {
    const net = cluster();
    net.addNode("4");
    net.node("1").proposeConfChange(learner("4"));
    net.stabilize();
    net.propose("1", "b");
    net.stabilize();
    expect(net.get("4").state).toEqual(["a", "b"]);
    expect(net.get("1").conf).toEqual({ voters: ["1", "2", "3"], learners: ["4"] });
    // Isolated, the learner never starts an election.
    net.isolate("4");
    net.ticks(60);
    expect(net.node("4").status()).toMatchObject({ state: "follower", term: 1 });
    net.heal();
    // With 1 and 2 gone, 3 plus the learner is no majority of the voters.
    net.partition(["3", "4"]);
    net.ticks(60);
    expect(net.leader()).toBe("1"); // only the old leader (isolated) still believes it leads
    expect(net.node("3").status().state).not.toBe("leader");
    // The learner is promoted to voter: now 3 and 4 would be two of four, still no majority,
    // but 1, 3 and 4 are.
    net.heal();
    net.ticks(5);
    net.node(net.leader()).proposeConfChange(add("4"));
    net.stabilize();
    expect(net.get("1").conf).toEqual({ voters: ["1", "2", "3", "4"], learners: [] });
  });

  it("learners in the initial configuration are not asked for votes", () => {
    const net = new Network({ ids: ["1", "2"], learners: ["3"] });
    net.isolate("2");
    net.campaign("1");
    expect(net.node("1").status().state).toBe("candidate");
  });

  it("only one conf change may be pending at a time", () => {
    const net = cluster();
    net.addNode("4");
    net.addNode("5");
    net.node("1").proposeConfChange(add("4"));
    expect(() => net.node("1").proposeConfChange(add("5"))).toThrow(ProposalDroppedError);
    net.stabilize();
    net.node("1").proposeConfChange(add("5"));
    net.stabilize();
    expect(net.get("1").conf.voters).toEqual(["1", "2", "3", "4", "5"]);
    // A change that would leave no voters is refused outright.
    const solo = new Network({ ids: ["1"] });
    solo.campaign("1");
    expect(() => solo.node("1").proposeConfChange(remove("1"))).toThrow(/no voters/);
  });

  it("a new leader waits until it applied its whole log before taking a conf change", () => {
    const net = cluster();
    net.isolate("1");
    net.campaign("2");
    const n2 = net.node("2");
    // Elected, but its empty entry is not yet applied here: not stabilized after the election.
    n2.campaign(); // no-op for a leader
    net.addNode("4");
    net.stabilize();
    n2.proposeConfChange(add("4"));
    net.stabilize();
    expect(net.get("2").conf.voters).toContain("4");
  });

  it("a restarted node keeps conf changes it applied after its last snapshot", () => {
    const net = cluster();
    net.addNode("4");
    net.node("1").proposeConfChange(add("4"));
    net.stabilize();
    net.ticks(2);
    // Node 2's storage still holds the bootstrap configuration; its app applied the change.
    expect(net.get("2").storage.initialState().conf.voters).toEqual(["1", "2", "3"]);
    net.crash("2");
    net.restart("2");
    expect(net.node("2").status().conf.voters).toEqual(["1", "2", "3", "4"]);
  });

  it("a joiner with empty storage asks for the leader's snapshot to learn the configuration", () => {
    const net = cluster();
    const seen: string[] = [];
    net.filter = (m) => {
      if (m.from === "5" || m.to === "5") seen.push(`${m.type}${m.context ? `:${m.context}` : ""}`);
      return true;
    };
    net.addNode("5");
    net.node("1").proposeConfChange(learner("5"));
    net.stabilize();
    expect(seen).toContain("appResp:needSnapshot");
    expect(seen).toContain("snap");
    expect(net.get("5").conf).toEqual({ voters: ["1", "2", "3"], learners: ["5"] });
    expect(net.get("5").state).toEqual(["a"]);
  });
});
