// Book 12.9: the deterministic simulation as a test. Hundreds of seeded runs of 3- and 5-member
// clusters under crashes, torn writes, partitions and lossy links must keep every invariant and
// produce linearizable, watch-correct histories. Broken members must be caught, or the checkers
// prove nothing. A failing seed is printed with the command that replays it.
import { describe, expect, it } from "vitest";
import { EtcdError } from "../types.js";
import { SimClock } from "./clock.js";
import { SimCluster, type MemberFactory, type SimMember } from "./cluster.js";
import { defaultDiskFaults } from "./disk.js";
import { describeOp } from "./history.js";
import { checkKvHistory } from "./linearizability.js";
import { report, summary } from "./main-format.js";
import { defaultNetFaults } from "./network.js";
import { Rng } from "./rng.js";
import { memberDigest, realMember, runSeed, type SimOptions, type SimResult } from "./run.js";
import { Trace } from "./trace.js";

const SEEDS_3 = Number(process.env.SIM_SEEDS_3 ?? 120);
const SEEDS_5 = Number(process.env.SIM_SEEDS_5 ?? 80);
const DURATION_MS = Number(process.env.SIM_DURATION_MS ?? 4_000);

async function runMany(seeds: number[], members: number, extra: Partial<SimOptions> = {}): Promise<SimResult[]> {
  const out: SimResult[] = [];
  for (const seed of seeds) out.push(await runSeed({ seed, members, durationMs: DURATION_MS, memberLogs: false, ...extra }));
  return out;
}

function failures(rs: SimResult[]): string[] {
  const bad = rs.filter((r) => !r.ok);
  for (const r of bad) console.log(`${summary(r)}\n${report(r)}`);
  return bad.map((r) => `seed ${r.seed} (members ${r.members}): ${r.failure!.kind}`);
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe("deterministic simulation", () => {
  it(`${SEEDS_3} seeds of 3 members keep every invariant`, async () => {
    const rs = await runMany(range(1, SEEDS_3), 3);
    expect(failures(rs)).toEqual([]);
    const ops = rs.reduce((n, r) => n + Number(r.stats.ops ?? 0), 0);
    const crashes = rs.reduce((n, r) => n + Number(r.stats.crashes ?? 0), 0);
    console.log(`3 members: ${rs.length} seeds, ${ops} client ops, ${crashes} crashes`);
  }, 600_000);

  it(`${SEEDS_5} seeds of 5 members keep every invariant`, async () => {
    const rs = await runMany(range(1001, SEEDS_5), 5);
    expect(failures(rs)).toEqual([]);
  }, 600_000);

  it("replays a seed exactly", async () => {
    const a = await runSeed({ seed: 77, members: 3, durationMs: 3_000 });
    const b = await runSeed({ seed: 77, members: 3, durationMs: 3_000 });
    expect(a.ok).toBe(true);
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(b.stats).toEqual(a.stats);
  });
});

/** Wraps the real member, breaking one thing; `broken.count` says how often it did. */
function broken(kind: "staleReads" | "lostWrites"): { factory: MemberFactory; count: () => number } {
  let puts = 0;
  let fakes = 0;
  const factory: MemberFactory = async (cfg, deps) => {
    const m = await realMember(cfg, deps);
    return new Proxy(m, {
      get(target, prop, receiver) {
        if (kind === "staleReads" && prop === "range") {
          // Serves "linearizable" reads from local state, skipping ReadIndex.
          return (req: Parameters<SimMember["range"]>[0]) => target.range({ ...req, serializable: true });
        }
        if (kind === "lostWrites" && prop === "put") {
          // Acknowledges every 3rd put without proposing it.
          return async (req: Parameters<SimMember["put"]>[0]) => {
            if (++puts % 3 !== 0) return target.put(req);
            fakes++;
            return { header: { ...target.header(), revision: target.header().revision + 1 } };
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as SimMember;
  };
  return { factory, count: () => fakes };
}

describe("the checkers catch broken members", () => {
  it("stale reads (reads served without ReadIndex)", async () => {
    const rs = await runMany(range(1, 12), 3, { factory: broken("staleReads").factory });
    const kinds = rs.filter((r) => !r.ok).map((r) => r.failure!.kind);
    console.log(`stale reads caught by: ${kinds.join(", ")}`);
    expect(kinds.length).toBeGreaterThan(0);
    expect(kinds.every((k) => ["linearizability", "revision-order", "read-state"].includes(k))).toBe(true);
  }, 120_000);

  it("acknowledged writes that were never made", async () => {
    const kinds: string[] = [];
    for (const seed of range(1, 6)) {
      const b = broken("lostWrites");
      const [r] = await runMany([seed], 3, { factory: b.factory });
      if (b.count() === 0) continue;
      expect(r!.ok, `seed ${seed}: ${b.count()} fake acknowledgements went unnoticed`).toBe(false);
      kinds.push(r!.failure!.kind);
    }
    expect(kinds.length).toBeGreaterThan(2);
    console.log(`lost writes caught by: ${kinds.join(", ")}`);
  }, 120_000);

  it("a lost acknowledged write planted in a real history", async () => {
    const r = await runSeed({ seed: 5, members: 3, durationMs: 4_000, keepHistory: true, memberLogs: false });
    expect(r.ok).toBe(true);
    const h = r.history!.map((op) => ({ ...op }));
    // Make a read that saw a value report the state before that value's write instead.
    const read = h.find((op) => op.input.type === "get" && !op.input.serializable && op.output?.type === "get" && op.output.kv && op.output.kv.version > 1);
    expect(read).toBeDefined();
    const o = read!.output as { type: "get"; rev: number; kv: { value: string; modRev: number; createRev: number; version: number; lease: string } };
    const older = h.find((op) => op.output?.type === "write" && op.input.type === "put" && op.input.key === (read!.input as { key: string }).key && op.output.rev < o.kv.modRev);
    if (older && older.input.type === "put") {
      read!.output = { ...o, kv: { ...o.kv, value: older.input.value, modRev: (older.output as { rev: number }).rev } };
    } else {
      read!.output = { ...o, kv: null };
    }
    const verdict = checkKvHistory(h);
    console.log(`planted in ${describeOp(read!)}:\n${verdict.explanation}`);
    expect(verdict.verdict).toBe("illegal");
  }, 60_000);
});

describe("disk faults at start", () => {
  it("a member refuses to start on a log damaged in the middle", async () => {
    const clock = new SimClock();
    const trace = new Trace(() => clock.now());
    const cluster = new SimCluster(clock, new Rng(3), {
      size: 3, member: { snapshotCount: 10_000 }, net: { ...defaultNetFaults, dropChance: 0, dupChance: 0 }, disk: defaultDiskFaults,
      factory: realMember, digest: memberDigest, memberLogs: false,
    }, trace);
    for (const s of cluster.slots) cluster.start(s.id);
    expect(await clock.runUntil(() => cluster.stable(), 10_000)).toBe(true);
    for (let i = 0; i < 5; i++) {
      const l = cluster.leader()!;
      const p = cluster.use(l).put({ key: `/k${i}`, value: "v" });
      await clock.runUntil(() => false, 200);
      await p;
    }
    await clock.runFor(500);
    const victim = cluster.slots.find((s) => s.id !== cluster.leader()!.id)!;
    cluster.crash(victim.id);
    victim.disk.corruptEntry(4);
    cluster.start(victim.id);
    await clock.runFor(1_000);
    expect(victim.state).toBe("down");
    expect(cluster.startFailures).toHaveLength(1);
    expect((cluster.startFailures[0]!.error as Error).name).toBe("CorruptDataError");
    expect(cluster.startFailures[0]!.error).not.toBeInstanceOf(EtcdError);
  });
});

describe("known issues", () => {
  // A Ready that holds a snapshot and entries after it (a follower catching up) loses those
  // entries: Member.handleReady appends rd.entries to its MemoryStorage, then restoreSnapshot()
  // calls storage.applySnapshot() a second time, which drops every entry. Raft's commit index is
  // then beyond its last index and the core's invariant check throws (slice out of range), in
  // nextCommittedEntries (seed 2269) or hasUnappliedConfChanges (seed 2274). When fixed, change
  // it.fails to it.
  it.fails("a snapshot and entries in one Ready keep the entries (seed 2269, 3 members)", async () => {
    const r = await runSeed({ seed: 2269, members: 3, memberLogs: false });
    if (!r.ok) console.log(report(r).split("\n").slice(0, 4).join("\n"));
    expect(r.ok).toBe(true);
  }, 60_000);

  it.fails("a snapshot and entries in one Ready keep the entries (seed 2274, 5 members)", async () => {
    const r = await runSeed({ seed: 2274, members: 5, memberLogs: false });
    if (!r.ok) console.log(report(r).split("\n").slice(0, 4).join("\n"));
    expect(r.ok).toBe(true);
  }, 60_000);

  // A forwarded proposal (MsgProp) that the network delivers twice becomes two log entries, and
  // the member applies the command twice: a put shows up at two revisions. The HTTP transport
  // never resends, so this needs a duplicating network; the fix would be to drop a proposal whose
  // id was already applied (server/member.ts applyEntry) or to say in deps.ts that a Transport
  // must not duplicate. When fixed, change it.fails to it.
  it.fails("a duplicated proposal is applied once (seeds 1-3, 5 members, dupProposals)", async () => {
    const rs = await runMany(range(1, 3), 5, { net: { dupProposals: true, dupChance: 0.5 } });
    for (const r of rs) if (!r.ok) console.log(report(r).split("\n").slice(0, 3).join("\n"));
    expect(rs.filter((r) => !r.ok)).toEqual([]);
  }, 60_000);
});
