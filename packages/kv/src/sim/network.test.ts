// Book 12.5: the simulated network delays, drops, duplicates and reorders messages, cuts
// partitions, clogs links, and reports unreachable peers.
import { describe, expect, it } from "vitest";
import type { Message } from "../raft/types.js";
import { SimClock } from "./clock.js";
import { SimNetwork, defaultNetFaults, type NetFaults } from "./network.js";
import { Rng } from "./rng.js";

const msg = (from: string, to: string, index: number, type: Message["type"] = "app"): Message => ({
  type, to, from, term: 1, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0, context: "",
});

function setup(f: Partial<NetFaults> = {}) {
  const clock = new SimClock();
  const net = new SimNetwork(clock, new Rng(5), { ...defaultNetFaults, dropChance: 0, dupChance: 0, spikeChance: 0, ...f });
  const got: Record<string, { at: number; m: Message }[]> = { "1": [], "2": [], "3": [] };
  for (const id of ["1", "2", "3"]) net.setReceiver(id, (ms) => got[id]!.push(...ms.map((m) => ({ at: clock.now(), m }))));
  const unreachable: string[] = [];
  const snaps: [string, boolean][] = [];
  const t = net.transport("1", { onUnreachable: (id) => unreachable.push(id), onSnapshotStatus: (id, ok) => snaps.push([id, ok]) });
  return { clock, net, got, t, unreachable, snaps };
}

describe("SimNetwork", () => {
  it("delivers copies after a delay within bounds", async () => {
    const { clock, got, t } = setup({ delayMs: [2, 4] });
    const m = msg("1", "2", 7);
    t.send([m]);
    m.index = 99; // the sender's object is not the receiver's
    expect(got["2"]).toHaveLength(0);
    await clock.runFor(10);
    expect(got["2"]).toHaveLength(1);
    expect(got["2"]![0]!.m.index).toBe(7);
    expect(got["2"]![0]!.at).toBeGreaterThanOrEqual(2);
    expect(got["2"]![0]!.at).toBeLessThanOrEqual(4);
  });

  it("keeps a link in order when fifo, and may reorder when not", async () => {
    for (const fifo of [true, false]) {
      const { clock, got, t } = setup({ delayMs: [0, 50], fifo });
      for (let i = 0; i < 50; i++) t.send([msg("1", "2", i)]);
      await clock.runFor(100);
      const order = got["2"]!.map((x) => x.m.index);
      expect(order).toHaveLength(50);
      const sorted = order.every((x, i) => i === 0 || order[i - 1]! < x);
      expect(sorted).toBe(fifo);
    }
  });

  it("drops and duplicates", async () => {
    const { clock, got, t } = setup({ dropChance: 0.3, dupChance: 0.3 });
    for (let i = 0; i < 200; i++) t.send([msg("1", "2", i)]);
    await clock.runFor(100);
    const n = got["2"]!.length;
    const distinct = new Set(got["2"]!.map((x) => x.m.index)).size;
    expect(distinct).toBeLessThan(180);
    expect(n).toBeGreaterThan(distinct);
  });

  it("never duplicates proposals unless told to", async () => {
    const { clock, got, t } = setup({ dupChance: 1 });
    t.send([msg("1", "2", 1, "prop"), msg("1", "2", 2)]);
    await clock.runFor(100);
    expect(got["2"]!.filter((x) => x.m.type === "prop")).toHaveLength(1);
    expect(got["2"]!.filter((x) => x.m.type === "app")).toHaveLength(2);
  });

  it("cuts partitions, reports unreachable, and heals", async () => {
    const { clock, net, got, t, unreachable } = setup({ unreachableChance: 1 });
    net.partition(["1"], ["2", "3"]);
    t.send([msg("1", "2", 1), msg("1", "3", 2)]);
    await clock.runFor(50);
    expect(got["2"]).toHaveLength(0);
    expect(got["3"]).toHaveLength(0);
    expect(unreachable.sort()).toEqual(["2", "3"]);
    net.heal();
    t.send([msg("1", "2", 3)]);
    await clock.runFor(50);
    expect(got["2"]).toHaveLength(1);
  });

  it("drops a message in flight when the partition starts before it lands", async () => {
    const { clock, net, got, t } = setup({ delayMs: [10, 10] });
    t.send([msg("1", "2", 1)]);
    await clock.runFor(5);
    net.partition(["1"], ["2"]);
    await clock.runFor(50);
    expect(got["2"]).toHaveLength(0);
  });

  it("holds messages on a clogged link until it clears", async () => {
    const { clock, net, got, t } = setup({ delayMs: [1, 1] });
    net.clog("1", "2", 100);
    t.send([msg("1", "2", 1), msg("1", "3", 2)]);
    await clock.runFor(50);
    expect(got["2"]).toHaveLength(0);
    expect(got["3"]).toHaveLength(1);
    await clock.runFor(100);
    expect(got["2"]).toHaveLength(1);
    expect(got["2"]![0]!.at).toBeGreaterThanOrEqual(100);
  });

  it("reports snapshot delivery, and a dead member's transport sends nothing", async () => {
    const { clock, net, got, t, snaps } = setup();
    t.send([msg("1", "2", 1, "snap")]);
    net.setReceiver("3", undefined);
    t.send([msg("1", "3", 2, "snap")]);
    await clock.runFor(50);
    expect(snaps.sort()).toEqual([["2", true], ["3", false]]);
    t.kill();
    t.send([msg("1", "2", 3)]);
    await clock.runFor(50);
    expect(got["2"]).toHaveLength(1);
  });
});
