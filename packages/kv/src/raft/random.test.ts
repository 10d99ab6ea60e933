// Book 12.5 and 12.8-12.9: a small randomized run (simulation-style): one seed drives drops,
// delays, partitions, crashes and compaction; safety is checked all along, liveness at the end.
import { describe, expect, it } from "vitest";
import { Network, seededRandom } from "./testing.js";
import { ProposalDroppedError } from "./types.js";

const IDS = ["1", "2", "3", "4", "5"];

/** Every pair of nodes agrees on each entry both hold at or below both commit indexes. */
function checkLogMatching(net: Network): void {
  for (const a of IDS) {
    for (const b of IDS) {
      if (a >= b) continue;
      const sa = net.get(a).storage;
      const sb = net.get(b).storage;
      // The durable commit index (the in-memory one may run ahead of entries not yet written).
      const upto = Math.min(sa.initialState().hardState.commit, sb.initialState().hardState.commit);
      const from = Math.max(sa.firstIndex(), sb.firstIndex());
      for (let i = from; i <= upto; i++) {
        const ea = sa.entries(i, i + 1, Infinity)[0]!;
        const eb = sb.entries(i, i + 1, Infinity)[0]!;
        if (ea.term !== eb.term || ea.data !== eb.data) throw new Error(`logs of ${a} and ${b} differ at ${i}`);
      }
    }
  }
}

function chaos(seed: number, opts: { preVote: boolean; checkQuorum: boolean; conf?: boolean }, ticks: number) {
  const { conf = false, ...raftOpts } = opts;
  // With conf changes, nodes 4 and 5 start as empty joiners and members come and go.
  const net = new Network({ ids: conf ? IDS.slice(0, 3) : IDS, seed, ...raftOpts, maxSizePerMsg: 64, maxInflightMsgs: 4 });
  if (conf) for (const id of IDS.slice(3)) net.addNode(id);
  const rnd = seededRandom(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let proposals = 0;
  for (let t = 0; t < ticks; t++) {
    const r = rnd();
    if (r < 0.01) {
      const shuffled = [...IDS].sort(() => rnd() - 0.5);
      const cutAt = 1 + Math.floor(rnd() * 4);
      net.partition(shuffled.slice(0, cutAt), shuffled.slice(cutAt));
    } else if (r < 0.02) {
      net.heal();
    } else if (r < 0.025) {
      net.isolate(pick(IDS));
    } else if (r < 0.03 && net.down.size < 2) {
      net.crash(pick(IDS.filter((id) => !net.down.has(id))));
    } else if (r < 0.04 && net.down.size > 0) {
      net.restart(pick([...net.down]));
    } else if (r < 0.045) {
      const id = pick(IDS.filter((x) => !net.down.has(x)));
      if (id && net.get(id).appliedIndex > 0) net.compact(id, Math.floor(rnd() * 5));
    } else if (r < 0.05) {
      const lead = net.leader();
      if (lead !== "0") net.node(lead).transferLeader(pick(IDS));
    } else if (conf && r < 0.055) {
      const lead = net.leader();
      const voters = lead === "0" ? [] : net.get(lead).conf.voters;
      const nodeId = pick(IDS);
      const type = pick(["addNode", "removeNode", "addLearner"] as const);
      // Never shrink below three voters (a two-voter cluster can wedge on a removal).
      const shrinks = type !== "addNode" && voters.includes(nodeId);
      if (lead !== "0" && !(shrinks && voters.length <= 3)) {
        try {
          net.node(lead).proposeConfChange({ type, nodeId, context: "" });
        } catch (e) {
          if (!(e instanceof ProposalDroppedError)) throw e;
        }
      }
    }
    net.dropRate = t % 500 < 250 ? 0.1 : 0;
    if (rnd() < 0.3) {
      const id = pick(IDS);
      if (!net.down.has(id) && net.propose(id, `s${seed}-p${proposals}`)) proposals++;
    }
    if (rnd() < 0.05) {
      const id = pick(IDS);
      if (!net.down.has(id)) net.node(id).readIndex(`read-${t}`);
    }
    net.tick();
    // A few delivery rounds per tick, some messages held back (reordered).
    for (let k = 0; k < 3; k++) {
      for (const id of IDS) if (!net.down.has(id)) net.processReady(id);
      net.deliver(0.2);
    }
    if (t % 100 === 0) checkLogMatching(net);
  }
  // Heal everything: the cluster must converge.
  net.heal();
  net.dropRate = 0;
  for (const id of [...net.down]) net.restart(id);
  // A removed member that never heard of its removal could still disrupt elections; a real
  // transport refuses non-members, so this one drops what they send.
  net.filter = (m) => {
    const newest = IDS.reduce((a, b) => (net.get(a).appliedIndex >= net.get(b).appliedIndex ? a : b));
    const cs = net.get(newest).conf;
    return cs.voters.includes(m.from) || cs.learners.includes(m.from);
  };
  net.ticks(60);
  const lead = net.leader();
  expect(lead).not.toBe("0");
  expect(net.propose(lead, "final")).toBe(true);
  net.stabilize();
  net.ticks(5);
  const cs = net.get(lead).conf;
  const states = [...cs.voters, ...cs.learners].map((id) => net.get(id).state);
  for (const s of states) expect(s).toEqual(states[0]);
  expect(states[0]!.at(-1)).toBe("final");
  checkLogMatching(net);
  return { net, proposals, committed: states[0]!.length };
}

describe("randomized cluster", () => {
  for (const [seed, preVote, checkQuorum] of [
    [1, true, true],
    [2, false, false],
    [3, true, false],
    [4, false, true],
  ] as const) {
    it(`seed ${seed} (preVote ${preVote}, checkQuorum ${checkQuorum}): one leader per term, one committed log`, () => {
      const { net, committed } = chaos(seed, { preVote, checkQuorum }, 2000);
      expect(committed).toBeGreaterThan(50);
      expect(net.leaders.size).toBeGreaterThan(1);
    });
  }

  for (const seed of [5, 6]) {
    it(`seed ${seed} with membership changes and leader transfers`, () => {
      const { net, committed } = chaos(seed, { preVote: true, checkQuorum: true, conf: true }, 2000);
      expect(committed).toBeGreaterThan(50);
      expect(net.committed.size).toBeGreaterThan(100);
    });
  }

  it("is deterministic for a seed", () => {
    const a = chaos(9, { preVote: true, checkQuorum: true }, 600);
    const b = chaos(9, { preVote: true, checkQuorum: true }, 600);
    expect([...a.net.leaders]).toEqual([...b.net.leaders]);
    expect(a.net.get("1").state).toEqual(b.net.get("1").state);
  });
});
