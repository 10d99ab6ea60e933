// Book 12.2 and 12.4: the simulated disk keeps what was fsynced, loses or tears what was in
// flight at a crash, and its load() drops a torn tail but refuses corruption in the middle.
import { describe, expect, it } from "vitest";
import type { Entry } from "../raft/types.js";
import { CorruptDataError } from "../server/deps.js";
import { SimClock } from "./clock.js";
import { SimDisk, defaultDiskFaults, type DiskFaults } from "./disk.js";
import { Rng } from "./rng.js";

const ents = (lo: number, hi: number, term = 1): Entry[] =>
  Array.from({ length: hi - lo + 1 }, (_, i) => ({ index: lo + i, term, type: "normal" as const, data: `e${lo + i}` }));

function setup(faults: Partial<DiskFaults> = {}, seed = 1) {
  const clock = new SimClock();
  const disk = new SimDisk("d", clock, new Rng(seed), { ...defaultDiskFaults, ...faults });
  return { clock, disk };
}

describe("SimDisk", () => {
  it("reads back synced writes after a crash", async () => {
    const { clock, disk } = setup();
    const log = disk.open();
    const p = log.save({ hardState: { term: 1, vote: "1", commit: 2 }, entries: ents(1, 3) }, true);
    await clock.runFor(10);
    await p;
    disk.crash();
    const st = await disk.open().load();
    expect(st.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(st.hardState).toEqual({ term: 1, vote: "1", commit: 2 });
  });

  it("truncates entries from a rewritten index on", async () => {
    const { clock, disk } = setup();
    const log = disk.open();
    void log.save({ entries: ents(1, 5) }, true);
    void log.save({ entries: ents(3, 3, 2) }, true);
    await clock.runFor(10);
    const st = await log.load();
    expect(st.entries.map((e) => `${e.index}/${e.term}`)).toEqual(["1/1", "2/1", "3/2"]);
  });

  it("loses a write in flight, or tears it; load() drops the torn tail", async () => {
    let torn = 0;
    let lost = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const { clock, disk } = setup({ inflightLost: 0.5, inflightTorn: 0.5 }, seed);
      const log = disk.open();
      void log.save({ hardState: { term: 1, vote: "0", commit: 0 }, entries: ents(1, 2) }, true);
      await clock.runFor(10);
      let resolved = false;
      void log.save({ hardState: { term: 2, vote: "0", commit: 2 }, entries: ents(3, 8, 2) }, true).then(() => (resolved = true));
      disk.crash();
      await clock.runFor(10);
      expect(resolved).toBe(false); // a dead process never hears back
      const st = await disk.open().load();
      const idx = st.entries.map((e) => e.index);
      // A prefix of the second write may be there; never its hard state.
      expect(idx.slice(0, 2)).toEqual([1, 2]);
      expect(idx).toEqual(Array.from({ length: idx.length }, (_, i) => i + 1));
      expect(st.hardState?.term).toBe(1);
      if (disk.stats.truncatedTails > 0) torn++;
      else lost++;
    }
    expect(torn).toBeGreaterThan(5);
    expect(lost).toBeGreaterThan(5);
  });

  it("keeps an unsynced write across a crash only sometimes", async () => {
    for (const survive of [0, 1]) {
      const { clock, disk } = setup({ unsyncedSurvive: survive });
      const log = disk.open();
      void log.save({ hardState: { term: 1, vote: "0", commit: 0 }, entries: ents(1, 1) }, true);
      void log.save({ hardState: { term: 1, vote: "0", commit: 1 }, entries: [] }, false);
      await clock.runFor(10);
      disk.crash();
      const st = await disk.open().load();
      expect(st.hardState?.commit).toBe(survive);
    }
  });

  it("a later fsync makes earlier unsynced writes durable", async () => {
    const { clock, disk } = setup({ unsyncedSurvive: 0 });
    const log = disk.open();
    void log.save({ hardState: { term: 1, vote: "0", commit: 1 }, entries: ents(1, 1) }, false);
    void log.saveMeta({ clusterId: "c", memberId: "1", name: "m1" });
    await clock.runFor(10);
    disk.crash();
    const st = await disk.open().load();
    expect(st.entries).toHaveLength(1);
    expect(st.meta?.name).toBe("m1");
  });

  it("refuses a log damaged in the middle", async () => {
    const { clock, disk } = setup();
    const log = disk.open();
    void log.save({ entries: ents(1, 5) }, true);
    await clock.runFor(10);
    disk.corruptEntry(3);
    disk.crash();
    await expect(disk.open().load()).rejects.toBeInstanceOf(CorruptDataError);
  });

  it("a leader's snapshot replaces the log; the member's own snapshot keeps it; compact drops", async () => {
    const { clock, disk } = setup();
    const log = disk.open();
    const snap = (index: number) => ({ meta: { index, term: 1, conf: { voters: ["1"], learners: [] } }, data: `s${index}` });
    void log.save({ entries: ents(1, 6) }, true);
    void log.saveSnapshot(snap(4));
    await clock.runFor(10);
    let st = await log.load();
    expect(st.snapshot?.meta.index).toBe(4);
    expect(st.entries.map((e) => e.index)).toEqual([5, 6]);
    void log.compact(4);
    void log.save({ snapshot: snap(10), entries: ents(11, 12) }, true);
    await clock.runFor(10);
    disk.crash();
    st = await disk.open().load();
    expect(st.snapshot?.meta.index).toBe(10);
    expect(st.entries.map((e) => e.index)).toEqual([11, 12]);
  });

  it("shows writes in flight to the invariant checker", async () => {
    const { clock, disk } = setup();
    const log = disk.open();
    void log.save({ hardState: { term: 3, vote: "1", commit: 2 }, entries: ents(1, 2, 3) }, true);
    expect(disk.entryAt(2)?.term).toBe(3);
    expect(disk.hardStateView()?.commit).toBe(2);
    expect(disk.durableEntryAt(2)).toBeUndefined();
    await clock.runFor(10);
    expect(disk.durableEntryAt(2)?.term).toBe(3);
  });
});
