// Book 12.9: one simulated run, driven entirely by its seed: build a cluster, let clients and
// watchers work while the nemesis injects faults, heal, demand liveness (a leader and a committed
// write within bounded virtual time) and convergence, then check the histories.
import { createHash } from "node:crypto";
import { Member } from "../server/member.js";
import { SimClock, settle } from "./clock.js";
import { SimCluster, type MemberFactory, type SimMember, type StateDigest } from "./cluster.js";
import { checkAgainstEvents, checkRevisionOrder, patchHistory } from "./history-check.js";
import { Invariants, InvariantViolation } from "./invariants.js";
import { checkKvHistory } from "./linearizability.js";
import { knobs } from "./knobs.js";
import { Nemesis } from "./nemesis.js";
import type { NetFaults } from "./network.js";
import { Rng } from "./rng.js";
import { Trace } from "./trace.js";
import type { HistoryOp } from "./history.js";
import { checkWatches, type WatchRecord } from "./watch-check.js";
import { Watcher } from "./watchers.js";
import { Recorder, Workload } from "./workload.js";

export interface SimOptions {
  seed: number;
  members: number;
  /** Virtual ms of workload under faults. */
  durationMs?: number;
  clients?: number;
  watchers?: number;
  /** Inject faults (default true). */
  faults?: boolean;
  /** Aggressive knobs drawn from the seed: tiny snapshot counts, slow disks, lossy links. */
  buggify?: boolean;
  factory?: MemberFactory;
  digest?: StateDigest;
  /** Echo the trace as it happens. */
  verbose?: boolean;
  memberLogs?: boolean;
  /** Overrides of the network faults the seed draws (e.g. dupProposals). */
  net?: Partial<NetFaults>;
  /** Return the recorded histories in the result (for tests and debugging). */
  keepHistory?: boolean;
}

export interface SimFailure {
  kind: string;
  message: string;
  trace: string[];
}

export interface SimResult {
  seed: number;
  members: number;
  ok: boolean;
  failure?: SimFailure;
  /** Equal for two runs of the same seed: proof that the run is deterministic. */
  fingerprint: string;
  wallMs: number;
  virtualMs: number;
  stats: Record<string, number | string>;
  history?: HistoryOp[];
  watches?: WatchRecord[];
}

class SimFailed extends Error {
  constructor(readonly kind: string, message: string) {
    super(message);
  }
}

export const realMember: MemberFactory = (cfg, deps) => Member.start(cfg, deps);

/** The applied state of a real Member, cheap enough to take at every applied index. */
export const memberDigest: StateDigest = (m: SimMember) => {
  const sm = (m as Partial<Member>).stateMachine;
  if (!sm) return undefined;
  const r = sm.range({ key: "\0", rangeEnd: "\0" });
  const kvs = r.kvs.map((kv) => `${kv.key}=${kv.value}@${kv.modRevision}/${kv.createRevision}/${kv.version}/${kv.lease}`).join(" ");
  return `rev ${sm.revision} compact ${sm.compactRevision} leases [${sm.leaseIds().sort().join(",")}] ${kvs}`;
};

export async function runSeed(o: SimOptions): Promise<SimResult> {
  const wall0 = performance.now();
  const rng = new Rng(o.seed);
  const clock = new SimClock();
  const trace = new Trace(() => clock.now(), 3000, o.verbose ? (l) => console.log(l) : undefined);
  const k = knobs(rng.fork(), o);
  if (o.net) k.net = { ...k.net, ...o.net };
  const cluster = new SimCluster(clock, rng.fork(), {
    size: o.members, member: k.member, net: k.net, disk: k.disk,
    factory: o.factory ?? realMember, digest: o.digest ?? memberDigest, memberLogs: o.memberLogs ?? true,
  }, trace);
  const inv = new Invariants(cluster);
  clock.afterEvent = () => inv.check();
  const rec = new Recorder();
  const workload = new Workload(cluster, clock, rng.fork(), rec, k.workload, trace);
  let watchIds = 0;
  const watchers = Array.from({ length: o.watchers ?? 2 }, (_, i) => new Watcher(i, cluster, clock, rng.fork(), rec, {
    key: "/", rangeEnd: "0", startRevision: 1, slowChance: k.slowChance, reconnectEveryMs: k.reconnectEveryMs, progressEveryMs: 1_000, coversAll: true,
  }, trace, () => watchIds++));
  const nemesis = new Nemesis(cluster, clock, rng.fork(), k.nemesis, trace);
  const { unhandled, release } = captureUnhandled();
  trace.add(`sim: seed ${o.seed}, ${o.members} members, knobs ${JSON.stringify(k.member)}, net ${JSON.stringify(k.net)}`);

  const stats: Record<string, number | string> = {};
  let failure: SimFailure | undefined;
  const fail = (kind: string, message: string): never => {
    // A rejection inside a member usually explains whatever went wrong next: report it first.
    if (unhandled.length > 0) kind = "unhandled-rejection";
    if (unhandled.length > 0) message = unhandled.slice(0, 3).map((e) => (e as Error)?.stack ?? String(e)).join("\n") + `\n(then: ${message})`;
    throw new SimFailed(kind, message);
  };
  try {
    for (const s of cluster.slots) cluster.start(s.id);
    if (!(await clock.runUntil(() => cluster.stable(), 30_000))) fail("liveness", "no stable leader 30s after the cluster started");
    for (const w of watchers) w.start();
    workload.start();
    if (o.faults ?? true) nemesis.start();
    await clock.runFor(o.durationMs ?? 15_000);
    nemesis.healAll();
    const healedAt = clock.now();
    if (!(await clock.runUntil(() => cluster.stable(), 30_000))) fail("liveness", "no stable leader 30s after faults healed");
    const probe = await probeWrite(cluster, clock, rec);
    if (!probe) fail("liveness", "no write committed within 20s after a leader was elected");
    stats.recoveredMs = Math.round(clock.now() - healedAt);
    workload.stop();
    if (!(await clock.runUntil(() => workload.idle, 60_000))) fail("liveness", "clients still waiting 60s after the workload stopped");
    if (!(await clock.runUntil(() => converged(cluster), 30_000))) {
      fail("convergence", `members did not converge: ${cluster.up().map((s) => `${s.name} applied ${s.member!.appliedIndex} commit ${s.member!.raftStatus().commit}`).join(", ")}`);
    }
    // Every open watch must catch up to here (later revisions, e.g. leases expiring now, may not
    // have reached every watch when the run stops).
    const settledRev = Math.max(...cluster.up().map((s) => s.member!.header().revision));
    for (const w of watchers) w.stopBeingSlow();
    const caughtUp = (): boolean => watchers.every((w) => w.caughtUp(settledRev));
    for (let i = 0; i < 30 && !caughtUp(); i++) {
      for (const w of watchers) w.requestProgress();
      await clock.runUntil(caughtUp, 1_000);
    }
    await clock.runFor(500);
    for (const w of watchers) w.finish();
    inv.checkAllDurable();
    if (cluster.startFailures.length > 0) {
      fail("start", cluster.startFailures.map((f) => `m${f.id}: ${(f.error as Error)?.stack ?? f.error}`).join("\n"));
    }
    if (rec.unexpected.length > 0) fail("client-error", rec.unexpected.slice(0, 3).join("\n"));
    if (unhandled.length > 0) fail("unhandled-rejection", unhandled.slice(0, 3).map((e) => (e as Error)?.stack ?? String(e)).join("\n"));

    // The histories.
    const records = watchers.flatMap((w) => w.records);
    const wc = checkWatches(records, settledRev);
    if (wc.violations.length > 0) fail(`watch-${wc.violations[0]!.guarantee}`, wc.violations.slice(0, 5).map((v) => v.message).join("\n"));
    const finalRev = Math.max(workload.highestRevision, ...cluster.up().map((s) => s.member!.header().revision));
    const hv = [...checkRevisionOrder(rec.history), ...checkAgainstEvents(rec.history, wc.merged)];
    if (hv.length > 0) fail(hv[0]!.check, hv.slice(0, 5).map((v) => v.message).join("\n"));
    const patched = patchHistory(rec.history, records, wc.merged, finalRev);
    const lin = checkKvHistory(patched);
    stats.linearizable = lin.verdict;
    if (lin.verdict === "illegal") fail("linearizability", lin.explanation ?? "");
    Object.assign(stats, {
      ops: workload.counts.ops, indeterminate: workload.counts.indeterminate, definiteErrors: workload.counts.failed,
      unresolved: patched.filter((op) => !op.output && !op.unchecked).length,
      watches: records.length, watchEvents: wc.events, historyComplete: wc.merged.completeUpTo >= finalRev ? "yes" : `to ${wc.merged.completeUpTo}/${finalRev}`,
      revision: finalRev, entries: inv.committedCount, terms: inv.terms,
    });
  } catch (err) {
    if (err instanceof SimFailed) failure = { kind: err.kind, message: err.message, trace: trace.tail(60) };
    else if (err instanceof InvariantViolation) failure = { kind: err.invariant, message: err.message, trace: trace.tail(60) };
    else failure = { kind: "exception", message: (err as Error)?.stack ?? String(err), trace: trace.tail(60) };
  } finally {
    await release();
    clock.afterEvent = undefined;
  }
  for (const [f, n] of Object.entries(nemesis.counts)) stats[`fault.${f}`] = n;
  const net = cluster.network.stats;
  Object.assign(stats, { msgs: net.sent, dropped: net.dropped, crashes: cluster.slots.reduce((n, s) => n + s.disk.stats.crashes, 0), torn: cluster.slots.reduce((n, s) => n + s.disk.stats.torn, 0), events: clock.events });
  const fingerprint = createHash("sha1")
    .update(JSON.stringify(rec.history.map((op) => [op.call, op.ret, op.input, op.output])))
    .update(String(clock.events))
    .digest("hex")
    .slice(0, 16);
  const kept = o.keepHistory ? { history: rec.history, watches: watchers.flatMap((w) => w.records) } : {};
  return { seed: o.seed, members: o.members, ok: !failure, ...(failure ? { failure } : {}), ...kept, fingerprint, wallMs: Math.round(performance.now() - wall0), virtualMs: clock.now(), stats };
}

/** A rejection nobody handles inside a member (a broken invariant in a promise chain) is a
 * failure of the run. Until release(), the returned list is the process's only listener, so a
 * test runner does not also report it as a stray error. */
export function captureUnhandled(): { unhandled: unknown[]; release: () => Promise<void> } {
  const unhandled: unknown[] = [];
  const listener = (err: unknown): void => {
    unhandled.push(err);
  };
  const others = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", listener);
  return {
    unhandled,
    release: async () => {
      await settle();
      process.off("unhandledRejection", listener);
      for (const l of others) process.on("unhandledRejection", l);
    },
  };
}

/** A write through the leader, with a deadline; true if it committed. Each attempt is recorded
 * (outside the linearizability search) so that watches can account for its revision. */
async function probeWrite(cluster: SimCluster, clock: SimClock, rec: Recorder): Promise<boolean> {
  let done = false;
  let ok = false;
  let n = 0;
  const attempt = (): void => {
    const l = cluster.leader();
    if (!l) {
      clock.setTimeout(attempt, 200);
      return;
    }
    const value = `probe.${++n}`;
    const op: HistoryOp = {
      id: rec.history.length, client: -1, member: l.name, call: rec.next(), ret: Infinity, callAt: clock.now(), retAt: Infinity,
      input: { type: "put", key: "/probe", value }, unchecked: true,
    };
    rec.history.push(op);
    cluster.use(l).put({ key: "/probe", value }).then(
      (r) => {
        op.output = { type: "write", rev: r.header.revision };
        op.ret = rec.next();
        op.retAt = clock.now();
        done = true;
        ok = true;
      },
      (err: unknown) => {
        op.error = (err as Error)?.message;
        if (!done) clock.setTimeout(attempt, 200);
      },
    );
  };
  attempt();
  await clock.runUntil(() => done, 20_000);
  done = true;
  return ok;
}

/** Every member up, all applied up to the leader's commit, and the same state everywhere. */
function converged(cluster: SimCluster): boolean {
  const l = cluster.leader();
  if (!l || cluster.up().length !== cluster.size) return false;
  const commit = l.member!.raftStatus().commit;
  const digests = new Set<string | undefined>();
  for (const s of cluster.up()) {
    if (s.member!.appliedIndex !== commit) return false;
    digests.add(cluster.opts.digest(s.member!));
  }
  return digests.size === 1;
}
