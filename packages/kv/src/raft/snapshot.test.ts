// Book 12.4 and 12.8: log compaction and snapshots: a follower that needs entries the leader
// already discarded is caught up with the leader's snapshot, then with the log after it.
import { describe, expect, it } from "vitest";
import { makeMessage } from "./messages.js";
import { Network } from "./testing.js";
import type { Message } from "./types.js";

function lagging(): Network {
  const net = new Network({ ids: ["1", "2", "3"] });
  net.campaign("1");
  net.propose("1", "a");
  net.stabilize();
  net.isolate("3");
  for (let i = 0; i < 10; i++) net.propose("1", `v${i}`);
  net.stabilize();
  return net;
}

describe("snapshots", () => {
  it("a lagging follower is caught up through a snapshot after the leader compacted", () => {
    const net = lagging();
    const snap = net.compact("1");
    expect(snap.meta.index).toBe(12);
    expect(net.get("1").storage.firstIndex()).toBe(13);
    net.propose("1", "after");
    net.stabilize();
    const snaps: Message[] = [];
    net.filter = (m) => {
      if (m.type === "snap") snaps.push(m);
      return true;
    };
    net.heal();
    net.ticks(3);
    expect(snaps.length).toBe(1);
    expect(snaps[0]!.snapshot!.meta.index).toBe(12);
    const three = net.get("3");
    expect(three.storage.snapshot().meta.index).toBe(12);
    expect(three.state).toEqual(net.get("1").state);
    expect(three.state.at(-1)).toBe("after");
    expect(net.node("1").status().progress!["3"]).toMatchObject({ match: 13, state: "replicate" });
    expect(three.conf).toEqual({ voters: ["1", "2", "3"], learners: [] });
  });

  it("a lost snapshot is reported, and sent again later", () => {
    const net = lagging();
    net.compact("1");
    let sent = 0;
    net.filter = (m) => {
      if (m.type !== "snap") return true;
      sent++;
      return sent > 1; // the first one is lost
    };
    net.heal();
    net.ticks(5);
    expect(sent).toBe(2);
    expect(net.get("3").state).toEqual(net.get("1").state);
  });

  it("a follower ignores a snapshot older than its commit", () => {
    const net = lagging();
    net.heal();
    net.ticks(2);
    const before = net.get("3").storage.lastIndex();
    // Replay an old snapshot by hand.
    net.node("3").step(makeMessage({
      type: "snap",
      to: "3",
      from: "1",
      term: 1,
      snapshot: { meta: { index: 2, term: 1, conf: { voters: ["1", "2", "3"], learners: [] } }, data: "[]" },
    }));
    net.stabilize();
    expect(net.get("3").storage.lastIndex()).toBe(before);
    expect(net.get("3").storage.snapshot().meta.index).toBe(0);
  });

  it("a restarted node resumes from its snapshot and log without re-applying", () => {
    const net = lagging();
    net.heal();
    net.ticks(2);
    net.compact("2", 3);
    net.crash("2");
    net.propose("1", "while-down");
    net.stabilize();
    net.restart("2");
    expect(net.node("2").status().applied).toBe(12);
    net.ticks(3);
    expect(net.get("2").state).toEqual(net.get("1").state);
  });

  it("a new leader with a compacted log still catches followers up", () => {
    const net = lagging();
    net.compact("1");
    net.compact("2");
    net.crash("1");
    net.heal();
    net.isolate("1");
    net.campaign("2");
    expect(net.leader()).toBe("2");
    net.ticks(3);
    expect(net.get("3").state).toEqual(net.get("2").state);
  });
});
