// Book 12.9: the deterministic simulation as a test. Hundreds of seeded runs of 3- and 5-member
// clusters under crashes, torn writes, partitions and lossy links must keep every invariant and
// produce linearizable, watch-correct histories. Broken members must be caught, or the checkers
// prove nothing. A failing seed is printed with the command that replays it.
import { describe, expect, it } from "vitest";
import { EtcdError } from "../types.js";
import { SimClock } from "./clock.js";
import type { Message } from "../raft/types.js";
import { SimCluster, type MemberFactory, type SimMember } from "./cluster.js";
import { SimDisk, defaultDiskFaults } from "./disk.js";
import { describeOp } from "./history.js";
import { checkKvHistory } from "./linearizability.js";
import { report, summary } from "./main-format.js";
import { defaultNetFaults } from "./network.js";
import { Rng } from "./rng.js";
import { captureUnhandled, memberDigest, realMember, runSeed, type SimOptions, type SimResult } from "./run.js";
import { Trace } from "./trace.js";

const SEEDS_3 = Number(process.env.SIM_SEEDS_3 ?? 150);
const SEEDS_5 = Number(process.env.SIM_SEEDS_5 ?? 100);
const DURATION_MS = Number(process.env.SIM_DURATION_MS ?? 4_000);

async function runMany(seeds: number[], members: number, extra: Partial<SimOptions> = {}): Promise<SimResult[]> {
  const out: SimResult[] = [];
  for (const seed of seeds) out.push(await runSeed({ seed, members, durationMs: DURATION_MS, memberLogs: false, ...extra }));
  return out;
}

/** Failures already diagnosed (see "known issues" below, whose it.fails tests flip when they are
 * fixed): the sweeps print them but do not fail on them. Remove an entry once its fix lands. */
const KNOWN_ISSUES: { name: string; match: RegExp }[] = [];

function failures(rs: SimResult[]): string[] {
  const bad = rs.filter((r) => !r.ok);
  const unknown: string[] = [];
  for (const r of bad) {
    const known = KNOWN_ISSUES.find((k) => k.match.test(r.failure!.message));
    if (known) {
      console.log(`seed ${r.seed} (members ${r.members}): known issue "${known.name}"`);
      continue;
    }
    console.log(`${summary(r)}\n${report(r)}`);
    unknown.push(`seed ${r.seed} (members ${r.members}): ${r.failure!.kind}`);
  }
  return unknown;
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
  // A Ready that holds a snapshot and entries after it (a follower catching up: MsgSnap then
  // MsgApp before its next Ready) loses those entries: Member.handleReady appends rd.entries to
  // its MemoryStorage, then restoreSnapshot() calls storage.applySnapshot() a second time, which
  // drops every entry. Raft's commit index is then beyond its last index and the core's invariant
  // check throws ("slice out of range" or "entries hi beyond last index") from a promise chain
  // or a tick. Seen in about one simulated 5-member run in 300 (seed 40010 when this was written;
  // seeds drift as the code changes, this test does not). When fixed, change it.fails to it and
  // empty KNOWN_ISSUES.
  async function followerGets(together: boolean): Promise<{ applied: number; expected: number; unhandled: unknown[] }> {
    const clock = new SimClock();
    const cluster = new SimCluster(clock, new Rng(11), {
      size: 3, member: { snapshotCount: 3, snapshotCatchUpEntries: 1 }, net: { ...defaultNetFaults, dropChance: 0, dupChance: 0 },
      disk: defaultDiskFaults, factory: realMember, digest: memberDigest, memberLogs: false,
    }, new Trace(() => clock.now()));
    for (const s of cluster.slots) cluster.start(s.id);
    expect(await clock.runUntil(() => cluster.stable(), 10_000)).toBe(true);
    for (let i = 0; i < 6; i++) {
      let done = false;
      void cluster.use(cluster.leader()!).put({ key: `/k${i}`, value: "v" }).then(() => (done = true));
      expect(await clock.runUntil(() => done, 5_000)).toBe(true);
    }
    const leader = cluster.leader()!;
    const snap = leader.disk.peekSnapshot()!;
    const term = leader.member!.raftStatus().term;
    const S = snap.meta.index;

    // A fresh member 3 on its own clock and disk, fed by hand.
    const clock2 = new SimClock();
    const disk = new SimDisk("fresh", clock2, new Rng(1));
    const cap = captureUnhandled();
    let m: SimMember | undefined;
    void realMember({ name: "m3", memberId: "3", clusterId: "4242", initialCluster: cluster.slots.map((x) => x.peer), initialClusterState: "new" }, {
      log: disk.open(), transport: () => ({ send() {}, setPeers() {}, async close() {} }), clock: clock2, random: () => 0.5,
    }).then((x) => (m = x));
    await clock2.runUntil(() => !!m, 1_000);
    const base = { to: "3", from: leader.id, term, reject: false, rejectHint: 0, context: "" };
    const snapMsg: Message = { ...base, type: "snap", index: S, logTerm: snap.meta.term, entries: [], commit: S, snapshot: snap };
    const appMsg: Message = {
      ...base, type: "app", index: S, logTerm: snap.meta.term, commit: S + 2,
      entries: [{ term, index: S + 1, type: "normal", data: "" }, { term, index: S + 2, type: "normal", data: "" }],
    };
    if (together) m!.receive([snapMsg, appMsg]);
    else {
      m!.receive([snapMsg]);
      await clock2.runFor(50);
      m!.receive([appMsg]);
    }
    await clock2.runFor(300);
    await cap.release();
    return { applied: m!.appliedIndex, expected: S + 2, unhandled: cap.unhandled };
  }

  it("control: a snapshot, then entries in a later Ready, are applied", async () => {
    const r = await followerGets(false);
    expect(r.unhandled).toEqual([]);
    expect(r.applied).toBe(r.expected);
  });

  it("a snapshot and the entries after it in one Ready are both kept", async () => {
    const r = await followerGets(true);
    if (r.unhandled.length > 0) console.log(`known issue: ${(r.unhandled[0] as Error).message}`);
    expect(r.unhandled).toEqual([]);
    expect(r.applied).toBe(r.expected);
  });

  // A forwarded proposal (MsgProp) that a network delivered twice would be appended twice; the
  // Transport contract (server/deps.ts) rules duplicates out, as etcd's streams do, so the
  // simulated network duplicates every other kind of message but not proposals.
});
