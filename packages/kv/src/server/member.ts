// Book 12.2–12.4: one kv member. It drives the pure Raft core: ticks, proposals and peer messages
// go in; each Ready comes out and is persisted (fsync), sent, applied to the MVCC state machine,
// and only then are the waiting clients answered.
import { StateMachine } from "../apply/state-machine.js";
import type { ApplyOutcome, Command, Proposal } from "../apply/types.js";
import { LeaseClock } from "../lease/expiry.js";
import { MemoryStorage, RawNode } from "../raft/index.js";
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, Ready, Snapshot, Status } from "../raft/types.js";
import { None, ProposalDroppedError } from "../raft/types.js";
import type { KvService, StatusResponse } from "../service.js";
import {
  type CompactionRequest, type CompactionResponse, type DeleteRangeRequest, type DeleteRangeResponse, EtcdError,
  Errors, type Id, type LeaseGrantRequest, type LeaseGrantResponse, type LeaseTimeToLiveResponse, Limits,
  type Member as MemberInfo, type PutRequest, type PutResponse, type RangeRequest, type RangeResponse,
  type RequestOp, type ResponseHeader, type TxnRequest, type TxnResponse,
} from "../types.js";
import { WatchHub } from "../watch/hub.js";
import type { WatchResponse, WatchStream } from "../watch/types.js";
import type { Clock, DurableLog, MemberMeta, PeerInfo, Transport, TransportCallbacks } from "./deps.js";
import { memberIdFor } from "./ids.js";
import { MemberMetrics } from "./metrics.js";
import { ReadIndexBatcher } from "./read-index.js";

export const VERSION = "3.4.23";

export interface MemberConfig {
  name: string;
  memberId: NodeId;
  clusterId: string;
  /** Every member of the cluster when `initialClusterState` is "new"; the known peers otherwise. */
  initialCluster: PeerInfo[];
  initialClusterState: "new" | "existing";
  /** For ids of members added later. */
  clusterToken?: string;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  snapshotCount?: number;
  snapshotCatchUpEntries?: number;
  requestTimeoutMs?: number;
  progressNotifyIntervalMs?: number;
  maxRequestBytes?: number;
}

export interface MemberDeps {
  log: DurableLog;
  transport: (cb: TransportCallbacks) => Transport;
  clock: Clock;
  random: () => number;
  logger?: (line: string) => void;
  /** Forwards a lease call to the leader (keep-alive and time-to-live are the leader's business). */
  forwardToLeader?: (leader: PeerInfo, path: "renew" | "ttl", id: Id) => Promise<number>;
  /** This member was removed from the cluster (the process should exit). */
  onRemoved?: () => void;
}

/** The snapshot's data: the state machine plus the member table. */
interface SnapshotData {
  sm: string;
  members: PeerInfo[];
}

/** Commands the member handles itself instead of the MVCC state machine. */
type MemberCommand = { op: "publish"; req: { id: NodeId; name: string; clientURLs: string[] } };

interface Waiter {
  resolve(o: ApplyOutcome): void;
  reject(e: Error): void;
  cancelTimer(): void;
}

interface ConfContext {
  requestId: string;
  member: PeerInfo;
}

function hasWrites(ops: RequestOp[]): boolean {
  return ops.some((op) => "requestPut" in op || "requestDeleteRange" in op || ("requestTxn" in op && (hasWrites(op.requestTxn.success) || hasWrites(op.requestTxn.failure))));
}

function allSerializable(ops: RequestOp[]): boolean {
  return ops.every((op) => ("requestRange" in op ? !!op.requestRange.serializable : "requestTxn" in op ? allSerializable(op.requestTxn.success) && allSerializable(op.requestTxn.failure) : true));
}

export class Member implements KvService {
  readonly metrics = new MemberMetrics();
  private node!: RawNode;
  private readonly storage = new MemoryStorage();
  private sm: StateMachine;
  /** etcd's minimum lease TTL: one and a half election timeouts, in whole seconds. */
  private readonly minLeaseTTL: number;
  private readonly hub: WatchHub;
  private readonly leaseClock = new LeaseClock();
  private transport!: Transport;
  private members = new Map<NodeId, PeerInfo>();
  private bootstrapPeers: PeerInfo[] = [];
  private confState: ConfState = { voters: [], learners: [] };

  private applied = 0;
  private snapshotIndex = 0;
  private term = 0;
  private lead: NodeId = None;
  private stopped = false;
  private removed = false;
  private readyScheduled = false;
  /** A hard state whose only change (the commit index) was not written yet; it goes with the next write. */
  private unsavedHardState: HardState | undefined;
  private processing: Promise<void> | null = null;
  private readonly timers: (() => void)[] = [];

  private readonly bootNonce: string;
  private seq = 0;
  private readonly waiters = new Map<string, Waiter>();
  private readonly reads: ReadIndexBatcher;
  private leaderWaiters: (() => void)[] = [];
  private revoking = new Map<Id, number>();

  private readonly tickMs: number;
  private readonly electionTicks: number;
  private readonly snapshotCount: number;
  private readonly catchUpEntries: number;
  private readonly requestTimeoutMs: number;

  private constructor(private readonly cfg: MemberConfig, private readonly deps: MemberDeps) {
    this.tickMs = cfg.tickMs ?? 100;
    this.electionTicks = cfg.electionTicks ?? 10;
    this.snapshotCount = cfg.snapshotCount ?? 100_000;
    this.catchUpEntries = cfg.snapshotCatchUpEntries ?? 5_000;
    this.requestTimeoutMs = cfg.requestTimeoutMs ?? 5_000 + 2 * this.tickMs * this.electionTicks;
    this.bootNonce = Math.floor(deps.random() * 2 ** 48).toString(36);
    this.minLeaseTTL = Math.ceil((3 * this.electionTicks * this.tickMs) / 2 / 1000);
    this.sm = new StateMachine({ minLeaseTTL: this.minLeaseTTL });
    this.hub = new WatchHub(() => this.sm);
    this.reads = new ReadIndexBatcher({
      request: (ctx) => {
        this.node.readIndex(ctx);
        this.scheduleReady();
      },
      newContext: () => `${this.bootNonce}:r${++this.seq}`,
      now: () => this.deps.clock.now(),
      applied: () => this.applied,
      hasLeader: () => this.lead !== None,
      timeoutMs: this.requestTimeoutMs,
      retryMs: 500,
      onFailed: () => this.metrics.readIndexFailed.inc(),
    });
  }

  get id(): NodeId {
    return this.cfg.memberId;
  }

  /** Opens the member: reads its log back (or bootstraps a new one) and starts ticking. */
  static async start(cfg: MemberConfig, deps: MemberDeps): Promise<Member> {
    const m = new Member(cfg, deps);
    await m.open();
    return m;
  }

  private log(line: string): void {
    this.deps.logger?.(`[${this.cfg.name}] ${line}`);
  }

  private async open(): Promise<void> {
    const loaded = await this.deps.log.load();
    this.bootstrapPeers = this.cfg.initialCluster;
    if (loaded.meta && loaded.meta.memberId !== this.cfg.memberId) {
      throw new Error(`data dir belongs to member ${loaded.meta.memberId} (${loaded.meta.name}), not ${this.cfg.memberId}`);
    }
    const fresh = !loaded.meta;
    if (fresh) {
      await this.deps.log.saveMeta({ clusterId: this.cfg.clusterId, memberId: this.cfg.memberId, name: this.cfg.name } satisfies MemberMeta);
      if (this.cfg.initialClusterState === "new") await this.bootstrap();
    } else {
      if (loaded.snapshot) {
        this.storage.applySnapshot(loaded.snapshot);
        this.restoreSnapshot(loaded.snapshot);
      }
      if (loaded.hardState) this.storage.setHardState(loaded.hardState);
      this.storage.append(loaded.entries);
      this.term = loaded.hardState?.term ?? 0;
      this.log(`restarted from disk: snapshot ${this.snapshotIndex}, ${loaded.entries.length} entries, term ${this.term}`);
    }
    this.transport = this.deps.transport({
      onUnreachable: (id) => {
        this.metrics.peerSendFailures.inc({ To: id });
        this.node?.reportUnreachable(id);
      },
      onSnapshotStatus: (id, ok) => {
        this.node?.reportSnapshot(id, ok);
        this.scheduleReady();
      },
    });
    this.updatePeers();
    this.node = new RawNode(
      {
        id: this.cfg.memberId,
        electionTick: this.electionTicks,
        heartbeatTick: this.cfg.heartbeatTicks ?? 1,
        applied: this.applied,
        preVote: true,
        checkQuorum: true,
        maxSizePerMsg: 1024 * 1024,
        maxInflightMsgs: 256,
        random: this.deps.random,
      },
      this.storage,
    );
    const { clock } = this.deps;
    this.timers.push(clock.setInterval(() => this.tick(), this.tickMs));
    const notifyMs = this.cfg.progressNotifyIntervalMs ?? 10 * 60_000;
    this.timers.push(clock.setInterval(() => this.hub.progressNotifyTick(), notifyMs));
    this.scheduleReady();
  }

  /** A new cluster: the same conf-change entries 1..n on every member, as etcd bootstraps. */
  private async bootstrap(): Promise<void> {
    const peers = this.cfg.initialCluster;
    const voters = peers.map((p) => p.id);
    this.members = new Map(peers.map((p) => [p.id, p]));
    const snap: Snapshot = { meta: { index: 0, term: 0, conf: { voters, learners: [] } }, data: this.snapshotData() };
    const entries: Entry[] = peers.map((p, i) => ({
      term: 1,
      index: i + 1,
      type: "conf",
      data: JSON.stringify({ type: "addNode", nodeId: p.id, context: JSON.stringify({ requestId: "", member: p } satisfies ConfContext) } satisfies ConfChange),
    }));
    const hardState = { term: 1, vote: None, commit: entries.length };
    await this.deps.log.saveSnapshot(snap);
    await this.deps.log.save({ hardState, entries }, true);
    this.storage.applySnapshot(snap);
    this.storage.setHardState(hardState);
    this.storage.append(entries);
    this.confState = { voters, learners: [] };
    this.term = 1;
    this.log(`bootstrapped a new cluster of ${peers.length}: ${peers.map((p) => p.name).join(", ")}`);
  }

  // ---- the Raft loop -------------------------------------------------------------------------

  private tick(): void {
    if (this.stopped) return;
    this.node.tick();
    if (this.lead === this.cfg.memberId) this.expireLeases();
    this.reads.tick();
    this.scheduleReady();
  }

  /** Inbound Raft messages from peers. */
  receive(messages: Message[]): void {
    if (this.stopped) return;
    for (const m of messages) {
      try {
        this.node.step(m);
      } catch (e) {
        this.log(`dropped message ${m.type} from ${m.from}: ${(e as Error).message}`);
      }
    }
    this.scheduleReady();
  }

  private scheduleReady(): void {
    if (this.readyScheduled || this.stopped) return;
    this.readyScheduled = true;
    void Promise.resolve().then(() => {
      this.readyScheduled = false;
      if (!this.processing) this.processing = this.processReadies().finally(() => (this.processing = null));
    });
  }

  private async processReadies(): Promise<void> {
    while (!this.stopped && this.node.hasReady()) {
      const rd = this.node.ready();
      await this.handleReady(rd);
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.onSoftState(rd.softState.lead);
    if (rd.hardState) this.term = rd.hardState.term;
    for (const rs of rd.readStates) this.reads.onReadState(rs.ctx, rs.index);

    // A leader may replicate its new entries while it writes them itself (Raft thesis 10.2.1):
    // commit still needs a majority on disk, and nothing is applied before our own write is done.
    const leading = this.lead === this.cfg.memberId;
    const early: Message[] = [];
    const late: Message[] = [];
    for (const m of rd.messages) (leading && (m.type === "app" || m.type === "heartbeat") ? early : late).push(m);
    if (early.length > 0) this.transport.send(early);
    // Committed entries below the first entry this Ready writes were written by an earlier Ready
    // (Readies are handled one at a time), so they are applied while this write runs, as etcd's
    // apply loop does. Those at or past it wait for the write.
    let applyNow: Entry[] = [];
    let applyLater = rd.committedEntries;
    if (!rd.snapshot && rd.committedEntries.length > 0) {
      const firstNew = rd.entries.length > 0 ? rd.entries[0]!.index : Number.POSITIVE_INFINITY;
      const split = rd.committedEntries.findIndex((e) => e.index >= firstNew);
      applyNow = split < 0 ? rd.committedEntries : rd.committedEntries.slice(0, split);
      applyLater = split < 0 ? [] : rd.committedEntries.slice(split);
    }
    // 1. Persist: nothing that depends on this Ready's entries happens until they are on disk.
    // A Ready whose only change is the commit index is not written: the commit index is kept
    // lazily (with the next write), as etcd-raft's MustSync allows. A commit index read back
    // lower than it was is safe (the leader tells it again); it is never higher than the
    // entries stored with it, because it only ever points at entries written no later.
    const mustWrite = rd.snapshot !== undefined || rd.entries.length > 0 || rd.mustSync;
    let write: Promise<void> | undefined;
    if (mustWrite) {
      const hardState = rd.hardState ?? this.unsavedHardState;
      this.unsavedHardState = undefined;
      write = this.deps.log.save({ hardState, entries: rd.entries, snapshot: rd.snapshot }, rd.mustSync);
    } else if (rd.hardState) {
      this.unsavedHardState = rd.hardState;
    }
    for (const e of applyNow) this.applyEntry(e);
    if (write) {
      await write;
      if (this.stopped) return;
    }
    if (rd.snapshot) this.storage.applySnapshot(rd.snapshot);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
    if (rd.entries.length > 0) this.storage.append(rd.entries);
    // 2. Then tell the peers (votes and acknowledgements only once they are durable).
    if (late.length > 0) this.transport.send(late);
    // 3. Then apply what is committed.
    if (rd.snapshot) {
      this.restoreSnapshot(rd.snapshot);
      this.hub.resync();
      this.updatePeers();
    }
    for (const e of applyLater) this.applyEntry(e);
    if (rd.hardState) this.metrics.proposalsCommitted.set(rd.hardState.commit);
    this.metrics.proposalsApplied.set(this.applied);
    this.node.advance(rd);
    this.reads.onApplied();
    await this.maybeSnapshot();
  }

  private onSoftState(lead: NodeId): void {
    if (lead === this.lead) return;
    const was = this.lead;
    this.lead = lead;
    this.metrics.hasLeader.set(lead === None ? 0 : 1);
    this.metrics.isLeader.set(lead === this.cfg.memberId ? 1 : 0);
    if (lead !== None) this.metrics.leaderChanges.inc();
    this.log(`leader ${was === None ? "none" : was} -> ${lead === None ? "none" : lead}`);
    if (lead === this.cfg.memberId) {
      this.leaseClock.promote(this.deps.clock.now(), this.sm.leaseIds().map((id) => ({ ID: id, TTL: this.sm.leaseInfo(id)!.TTL })));
    } else if (this.leaseClock.isPrimary) {
      this.leaseClock.demote();
    }
    this.revoking.clear();
    if (lead !== None) {
      const ws = this.leaderWaiters;
      this.leaderWaiters = [];
      for (const w of ws) w();
    }
  }

  private applyEntry(e: Entry): void {
    if (e.index <= this.applied) return;
    this.applied = e.index;
    if (e.type === "conf") {
      this.applyConfChange(JSON.parse(e.data) as ConfChange);
      return;
    }
    if (e.data === "") return; // the empty entry of a new leader's term
    const p = JSON.parse(e.data) as Proposal | { id: string; cmd: MemberCommand };
    if (p.cmd.op === "publish") {
      const { id, name, clientURLs } = p.cmd.req;
      const m = this.members.get(id);
      if (m) this.members.set(id, { ...m, name, clientURLs });
      this.finish(p.id, { events: [], revision: this.sm.revision, result: {} });
      return;
    }
    const outcome = this.sm.apply(p as Proposal);
    if (outcome.events.length > 0) this.hub.notify(outcome.revision, outcome.events);
    if (!outcome.error && this.leaseClock.isPrimary) {
      const cmd = (p as Proposal).cmd;
      if (cmd.op === "leaseGrant") this.leaseClock.grant(cmd.req.ID, (outcome.result as LeaseGrantResponse).TTL, this.deps.clock.now());
      if (cmd.op === "leaseRevoke") this.leaseClock.revoke(cmd.req.ID);
    }
    this.finish(p.id, outcome);
  }

  private applyConfChange(cc: ConfChange): void {
    this.confState = this.node.applyConfChange(cc);
    const ctx = cc.context ? (JSON.parse(cc.context) as ConfContext) : undefined;
    if (cc.type === "removeNode") {
      this.members.delete(cc.nodeId);
      if (cc.nodeId === this.cfg.memberId && !this.removed) {
        this.removed = true;
        this.log("this member was removed from the cluster");
        queueMicrotask(() => this.deps.onRemoved?.());
      }
    } else if (ctx) {
      const known = this.members.get(cc.nodeId);
      this.members.set(cc.nodeId, { ...ctx.member, ...(known ? { name: known.name || ctx.member.name, clientURLs: known.clientURLs.length ? known.clientURLs : ctx.member.clientURLs } : {}) });
    }
    this.updatePeers();
    if (ctx?.requestId) this.finish(ctx.requestId, { events: [], revision: this.sm.revision, result: {} });
  }

  private finish(id: string, outcome: ApplyOutcome): void {
    const w = this.waiters.get(id);
    if (!w) return;
    this.waiters.delete(id);
    this.metrics.proposalsPending.set(this.waiters.size);
    w.cancelTimer();
    w.resolve(outcome);
  }

  private updatePeers(): void {
    const all = new Map(this.bootstrapPeers.map((p) => [p.id, p]));
    for (const [id, p] of this.members) all.set(id, p);
    this.transport?.setPeers([...all.values()]);
  }

  private snapshotData(): string {
    return JSON.stringify({ sm: this.sm.snapshot(), members: [...this.members.values()] } satisfies SnapshotData);
  }

  /** Replaces the state machine and member table with a snapshot's. The in-memory Raft storage
   * is the caller's business: a Ready may carry entries after the snapshot, appended already. */
  private restoreSnapshot(snap: Snapshot): void {
    if (snap.meta.index > 0 || snap.data) {
      const data = JSON.parse(snap.data) as SnapshotData;
      this.sm = StateMachine.restore(data.sm, { minLeaseTTL: this.minLeaseTTL });
      this.members = new Map(data.members.map((m) => [m.id, m]));
    }
    if (snap.meta.index === 0 && this.members.size === 0) {
      for (const p of this.cfg.initialCluster) if (snap.meta.conf.voters.includes(p.id)) this.members.set(p.id, p);
    }
    this.confState = snap.meta.conf;
    this.applied = Math.max(this.applied, snap.meta.index);
    this.snapshotIndex = snap.meta.index;
    if (this.leaseClock.isPrimary) this.leaseClock.demote();
  }

  /** Every snapshotCount applied entries: save the state and drop the log before it (keeping
   * some entries so that slightly slow followers can catch up without a snapshot). */
  private async maybeSnapshot(): Promise<void> {
    if (this.applied - this.snapshotIndex < this.snapshotCount) return;
    const t0 = performance.now();
    const snap = this.storage.createSnapshot(this.applied, this.confState, this.snapshotData());
    this.snapshotIndex = this.applied;
    await this.deps.log.saveSnapshot(snap);
    this.metrics.snapshotSave.observe((performance.now() - t0) / 1000);
    const compactTo = this.applied - this.catchUpEntries;
    if (compactTo > this.storage.firstIndex()) {
      this.storage.compact(compactTo);
      await this.deps.log.compact(compactTo);
    }
    this.log(`snapshot at index ${snap.meta.index}; log compacted to ${Math.max(compactTo, 0)}`);
  }

  // ---- proposals ---------------------------------------------------------------------------------

  private async waitForLeader(): Promise<void> {
    if (this.lead !== None) return;
    await new Promise<void>((resolve, reject) => {
      const cancel = this.deps.clock.setTimeout(() => {
        this.leaderWaiters = this.leaderWaiters.filter((w) => w !== done);
        reject(Errors.noLeader());
      }, this.tickMs * this.electionTicks * 3);
      const done = () => {
        cancel();
        resolve();
      };
      this.leaderWaiters.push(done);
    });
  }

  private checkServing(): void {
    if (this.removed) throw new EtcdError(14, "etcdserver: the member has been permanently removed from the cluster");
    if (this.stopped) throw Errors.stopped();
  }

  private async propose(cmd: Command | MemberCommand): Promise<ApplyOutcome> {
    this.checkServing();
    await this.waitForLeader();
    const id = `${this.cfg.memberId}:${this.bootNonce}:${++this.seq}`;
    const data = JSON.stringify({ id, cmd });
    if (data.length > (this.cfg.maxRequestBytes ?? Limits.maxRequestBytes) + 64 * 1024) throw Errors.requestTooLarge();
    const outcome = new Promise<ApplyOutcome>((resolve, reject) => {
      const cancelTimer = this.deps.clock.setTimeout(() => {
        if (this.waiters.delete(id)) {
          this.metrics.proposalsFailed.inc();
          reject(Errors.timeout());
        }
      }, this.requestTimeoutMs);
      this.waiters.set(id, { resolve, reject, cancelTimer });
    });
    this.metrics.proposalsPending.set(this.waiters.size);
    try {
      this.node.propose(data);
    } catch (e) {
      const w = this.waiters.get(id);
      this.waiters.delete(id);
      w?.cancelTimer();
      this.metrics.proposalsFailed.inc();
      if (e instanceof ProposalDroppedError) throw this.lead === None ? Errors.noLeader() : Errors.leaderChanged();
      throw e;
    }
    this.scheduleReady();
    const o = await outcome;
    if (o.error) throw o.error;
    return o;
  }

  // ---- linearizable reads (ReadIndex) ---------------------------------------------------------

  /** Resolves once this member has applied everything committed before the call: a read served
   * after it is linearizable (see read-index.ts). */
  private linearizableBarrier(): Promise<void> {
    this.checkServing();
    return this.reads.wait();
  }

  // ---- KvService --------------------------------------------------------------------------------

  header(): ResponseHeader {
    return { clusterId: this.cfg.clusterId, memberId: this.cfg.memberId, revision: this.sm.revision, raftTerm: this.term };
  }

  private stamp<T extends { header: ResponseHeader }>(r: T): T {
    r.header = { ...this.header(), revision: r.header.revision };
    return r;
  }

  async range(req: RangeRequest): Promise<RangeResponse> {
    if (!req.serializable) await this.linearizableBarrier();
    else this.checkServing();
    return this.stamp(this.sm.range(req));
  }

  async put(req: PutRequest): Promise<PutResponse> {
    return this.stamp((await this.propose({ op: "put", req })).result as PutResponse);
  }

  async deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    return this.stamp((await this.propose({ op: "deleteRange", req })).result as DeleteRangeResponse);
  }

  async txn(req: TxnRequest): Promise<TxnResponse> {
    if (!hasWrites(req.success) && !hasWrites(req.failure)) {
      if (!allSerializable(req.success) || !allSerializable(req.failure)) await this.linearizableBarrier();
      return this.stamp(this.sm.readOnlyTxn(req));
    }
    return this.stamp((await this.propose({ op: "txn", req })).result as TxnResponse);
  }

  async compact(req: CompactionRequest): Promise<CompactionResponse> {
    return this.stamp((await this.propose({ op: "compaction", req })).result as CompactionResponse);
  }

  async leaseGrant(req: LeaseGrantRequest): Promise<LeaseGrantResponse> {
    if (req.TTL > Limits.maxLeaseTTL) throw Errors.leaseTTLTooLarge();
    let ID = req.ID && req.ID !== "0" ? req.ID : "0";
    while (ID === "0") ID = (BigInt(Math.floor(this.deps.random() * 2 ** 31)) * 2n ** 32n + BigInt(Math.floor(this.deps.random() * 2 ** 32))).toString();
    const o = await this.propose({ op: "leaseGrant", req: { ID, TTL: req.TTL } });
    return { header: this.header(), ID, TTL: (o.result as LeaseGrantResponse).TTL };
  }

  async leaseRevoke(id: Id): Promise<{ header: ResponseHeader }> {
    await this.propose({ op: "leaseRevoke", req: { ID: id } });
    return { header: this.header() };
  }

  /** Keep-alives and remaining TTLs are known only to the leader; a follower asks it. */
  private async askLeader(path: "renew" | "ttl", id: Id): Promise<number> {
    this.checkServing();
    await this.waitForLeader();
    if (this.lead === this.cfg.memberId) return this.leaderLeaseCall(path, id);
    const leader = this.members.get(this.lead);
    if (!leader || !this.deps.forwardToLeader) throw Errors.notLeader();
    return this.deps.forwardToLeader(leader, path, id);
  }

  /** Served on the leader for itself and for followers. */
  leaderLeaseCall(path: "renew" | "ttl", id: Id): number {
    if (this.lead !== this.cfg.memberId) throw Errors.notLeader();
    const now = this.deps.clock.now();
    return path === "renew" ? this.leaseClock.renew(id, now) : this.leaseClock.remaining(id, now);
  }

  async leaseKeepAlive(id: Id): Promise<{ header: ResponseHeader; ID: Id; TTL: number }> {
    const TTL = await this.askLeader("renew", id);
    return { header: this.header(), ID: id, TTL };
  }

  async leaseTimeToLive(id: Id, keys: boolean): Promise<LeaseTimeToLiveResponse> {
    const remaining = await this.askLeader("ttl", id);
    const info = this.sm.leaseInfo(id);
    if (!info) return { header: this.header(), ID: id, TTL: -1, grantedTTL: 0 };
    return { header: this.header(), ID: id, TTL: remaining, grantedTTL: info.TTL, ...(keys ? { keys: info.keys } : {}) };
  }

  async leaseLeases(): Promise<{ header: ResponseHeader; leases: { ID: Id }[] }> {
    this.checkServing();
    return { header: this.header(), leases: this.sm.leaseIds().map((ID) => ({ ID })) };
  }

  /** The leader proposes revokes for leases whose time ran out; expiry goes through the log. */
  private expireLeases(): void {
    if (!this.leaseClock.isPrimary) return;
    const now = this.deps.clock.now();
    for (const id of this.leaseClock.expired(now, 16)) {
      const since = this.revoking.get(id);
      if (since !== undefined && now - since < this.requestTimeoutMs) continue;
      this.revoking.set(id, now);
      this.propose({ op: "leaseRevoke", req: { ID: id } }).then(
        () => this.revoking.delete(id),
        () => {},
      );
    }
  }

  private memberInfos(): MemberInfo[] {
    return [...this.members.values()]
      .map((p) => ({ ID: p.id, name: p.name, peerURLs: p.peerURLs, clientURLs: p.clientURLs, ...(this.confState.learners.includes(p.id) ? { isLearner: true } : {}) }))
      .sort((a, b) => (BigInt(a.ID) < BigInt(b.ID) ? -1 : 1));
  }

  async memberList(): Promise<{ header: ResponseHeader; members: MemberInfo[] }> {
    await this.linearizableBarrier();
    return { header: this.header(), members: this.memberInfos() };
  }

  private async proposeConf(cc: Omit<ConfChange, "context">, member: PeerInfo): Promise<void> {
    this.checkServing();
    await this.waitForLeader();
    const requestId = `${this.cfg.memberId}:${this.bootNonce}:${++this.seq}`;
    const done = new Promise<ApplyOutcome>((resolve, reject) => {
      const cancelTimer = this.deps.clock.setTimeout(() => {
        if (this.waiters.delete(requestId)) reject(Errors.timeout());
      }, this.requestTimeoutMs);
      this.waiters.set(requestId, { resolve, reject, cancelTimer });
    });
    try {
      this.node.proposeConfChange({ ...cc, context: JSON.stringify({ requestId, member } satisfies ConfContext) });
    } catch (e) {
      this.waiters.get(requestId)?.cancelTimer();
      this.waiters.delete(requestId);
      if (e instanceof ProposalDroppedError) throw Errors.unhealthyMemberChange();
      throw e;
    }
    this.scheduleReady();
    await done;
  }

  async memberAdd(peerURLs: string[], isLearner: boolean): Promise<{ header: ResponseHeader; member: MemberInfo; members: MemberInfo[] }> {
    if (peerURLs.length === 0) throw Errors.badPeerURL();
    for (const m of this.members.values()) if (m.peerURLs.some((u) => peerURLs.includes(u))) throw Errors.peerURLExists();
    const id = memberIdFor(peerURLs, this.cfg.clusterToken ?? "etcd-cluster", String(this.deps.clock.now()));
    const info: PeerInfo = { id, name: "", peerURLs, clientURLs: [] };
    await this.proposeConf({ type: isLearner ? "addLearner" : "addNode", nodeId: id }, info);
    return { header: this.header(), member: { ID: id, name: "", peerURLs, clientURLs: [], ...(isLearner ? { isLearner } : {}) }, members: this.memberInfos() };
  }

  async memberRemove(id: Id): Promise<{ header: ResponseHeader; members: MemberInfo[] }> {
    const m = this.members.get(id);
    if (!m) throw Errors.memberNotFound();
    await this.proposeConf({ type: "removeNode", nodeId: id }, m);
    return { header: this.header(), members: this.memberInfos() };
  }

  async moveLeader(targetId: Id): Promise<{ header: ResponseHeader }> {
    this.checkServing();
    if (this.lead !== this.cfg.memberId) throw Errors.notLeader();
    if (!this.confState.voters.includes(targetId)) throw Errors.badLeaderTransferee();
    this.node.transferLeader(targetId);
    this.scheduleReady();
    const deadline = this.deps.clock.now() + this.requestTimeoutMs;
    while (this.lead !== targetId) {
      if (this.deps.clock.now() > deadline || this.stopped) throw Errors.timeout();
      await new Promise<void>((r) => this.deps.clock.setTimeout(r, this.tickMs));
    }
    return { header: this.header() };
  }

  /** Tells the cluster this member's name and client URLs (etcd "publishes" them the same way). */
  async publish(name: string, clientURLs: string[]): Promise<void> {
    await this.propose({ op: "publish", req: { id: this.cfg.memberId, name, clientURLs } });
  }

  async status(): Promise<StatusResponse> {
    this.checkServing();
    const st = this.node.status();
    // LevelDB has no free pages as bbolt does: the files on disk are the size, all of it in use.
    const size = this.deps.log.diskBytes?.() ?? this.sm.sizeBytes();
    return {
      header: this.header(),
      version: VERSION,
      dbSize: size,
      leader: st.lead,
      raftIndex: st.lastIndex,
      raftTerm: st.term,
      raftAppliedIndex: this.applied,
      dbSizeInUse: size,
      errors: st.lead === None ? ["etcdserver: no leader"] : [],
      isLearner: this.confState.learners.includes(this.cfg.memberId),
    };
  }

  async health(): Promise<{ health: boolean; reason: string }> {
    if (this.removed || this.stopped) return { health: false, reason: "STOPPED" };
    if (this.lead === None) return { health: false, reason: "RAFT NO LEADER" };
    try {
      await Promise.race([
        this.linearizableBarrier(),
        new Promise((_, reject) => this.deps.clock.setTimeout(() => reject(Errors.timeout()), 1_000)),
      ]);
      return { health: true, reason: "" };
    } catch (e) {
      return { health: false, reason: (e as Error).message };
    }
  }

  openWatchStream(send: (resp: WatchResponse) => boolean): WatchStream {
    this.checkServing();
    return this.hub.openStream(send, (revision) => ({ ...this.header(), revision }));
  }

  // ---- status for tests, the simulation and metrics ------------------------------------------------

  raftStatus(): Status {
    return this.node.status();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  get leaderId(): NodeId {
    return this.lead;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  get stateMachine(): StateMachine {
    return this.sm;
  }

  /** The member table as peers see it (GET /raft/cluster, for joiners). */
  peerList(): PeerInfo[] {
    return [...this.members.values()];
  }

  peerInfo(id: NodeId): PeerInfo | undefined {
    return this.members.get(id);
  }

  updateGauges(): void {
    this.metrics.dbSize.set(this.deps.log.diskBytes?.() ?? this.sm.sizeBytes());
    this.metrics.revision.set(this.sm.revision);
    this.metrics.compactRevision.set(this.sm.compactRevision);
    this.metrics.leases.set(this.sm.leaseIds().length);
    this.metrics.watchers.set(this.hub.watcherCount);
    this.metrics.watchStreams.set(this.hub.streamCount);
  }

  /** A clean stop: timers off, pending requests failed, the log closed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const cancel of this.timers) cancel();
    await this.processing?.catch(() => {});
    for (const [, w] of this.waiters) {
      w.cancelTimer();
      w.reject(Errors.stopped());
    }
    this.waiters.clear();
    this.reads.failAll(Errors.stopped());
    await this.transport.close();
    await this.deps.log.close();
  }
}
