// Book 12.3-12.4: RawNode, the Raft core's one door to the outside (etcd-raft's RawNode): the
// driver feeds it ticks, peer messages and proposals, and takes all output through ready().
import { isLocalMsg, isResponseMsg, makeMessage } from "./messages.js";
import { Raft } from "./raft.js";
import {
  ProposalDroppedError,
  type ConfChange,
  type ConfState,
  type HardState,
  type Message,
  type NodeId,
  type RaftConfig,
  type RaftStorage,
  type Ready,
  type SoftState,
  type Status,
} from "./types.js";
import { invariant } from "./util.js";

export class RawNode {
  private readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;

  constructor(config: RaftConfig, storage: RaftStorage) {
    this.raft = new Raft(config, storage);
    this.prevSoft = this.raft.softState();
    this.prevHard = this.raft.hardState();
  }

  /** One unit of logical time (the driver calls it every heartbeat interval / heartbeatTick). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (a pre-election first when preVote is on). */
  campaign(): void {
    this.raft.step(this.local("hup"));
  }

  /** Proposes a command; throws ProposalDroppedError when it cannot go anywhere. */
  propose(data: string): void {
    this.raft.step(this.local("prop", { entries: [{ term: 0, index: 0, type: "normal", data }] }));
  }

  /** Proposes a membership change; it takes effect when the driver applies it (applyConfChange). */
  proposeConfChange(cc: ConfChange): void {
    const data = JSON.stringify(cc);
    this.raft.step(this.local("prop", { entries: [{ term: 0, index: 0, type: "conf", data }] }));
  }

  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** A message from a peer. Local-only kinds, strays and unknown responders are ignored. */
  step(m: Message): void {
    if (isLocalMsg(m.type)) return;
    if (m.to !== this.raft.id) return;
    if (m.term === 0 && m.type !== "prop" && m.type !== "readIndex") return;
    if (isResponseMsg(m.type) && !this.raft.hasProgress(m.from)) return;
    try {
      this.raft.step(m);
    } catch (e) {
      // A proposal forwarded to us that we cannot take: the proposer's driver times out.
      if (e instanceof ProposalDroppedError) return;
      throw e;
    }
  }

  /** Asks for a linearizable read; a ReadState with this ctx appears in a later Ready. */
  readIndex(ctx: string): void {
    invariant(ctx !== "", "readIndex needs a non-empty ctx");
    this.raft.step(this.local("readIndex", { context: ctx }));
  }

  transferLeader(to: NodeId): void {
    this.raft.step(this.local("transferLeader", { from: to }));
  }

  reportUnreachable(id: NodeId): void {
    this.raft.step(this.local("unreachable", { from: id }));
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(this.local("snapStatus", { from: id, reject: !ok }));
  }

  hasReady(): boolean {
    const r = this.raft;
    if (!sameSoft(r.softState(), this.prevSoft)) return true;
    if (!sameHard(r.hardState(), this.prevHard)) return true;
    if (r.log.unstable.nextSnapshot()) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.log.unstable.nextEntries().length > 0) return true;
    return r.log.hasNextCommittedEntries();
  }

  /** Everything to do now; the driver persists, sends, applies, then calls advance(rd). */
  ready(): Ready {
    const r = this.raft;
    const rd: Ready = {
      readStates: r.readStates,
      entries: r.log.unstable.nextEntries(),
      committedEntries: r.log.nextCommittedEntries(),
      messages: r.msgs,
      mustSync: false,
    };
    const soft = r.softState();
    if (!sameSoft(soft, this.prevSoft)) {
      rd.softState = soft;
      this.prevSoft = soft;
    }
    const hard = r.hardState();
    if (!sameHard(hard, this.prevHard)) {
      rd.hardState = hard;
    }
    const snap = r.log.unstable.nextSnapshot();
    if (snap) rd.snapshot = snap;
    rd.mustSync =
      rd.entries.length > 0 ||
      rd.snapshot !== undefined ||
      hard.term !== this.prevHard.term ||
      hard.vote !== this.prevHard.vote;
    this.prevHard = hard;

    // Hand-off accepted: none of this is produced again.
    r.msgs = [];
    r.readStates = [];
    r.log.unstable.acceptInProgress();
    const last = rd.committedEntries[rd.committedEntries.length - 1];
    if (last) r.log.acceptApplying(last.index);
    for (const m of rd.messages) invariant(m.to !== r.id, "a message to self left the core");
    return rd;
  }

  /** The driver persisted, sent and applied `rd`. */
  advance(rd: Ready): void {
    const r = this.raft;
    const lastEnt = rd.entries[rd.entries.length - 1];
    if (lastEnt) r.log.stableTo(lastEnt.index, lastEnt.term);
    if (rd.snapshot) {
      r.log.stableSnapTo(rd.snapshot.meta.index);
      r.log.appliedTo(rd.snapshot.meta.index);
    }
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied) r.log.appliedTo(lastApplied.index);
  }

  status(): Status {
    return this.raft.status();
  }

  /** For tests: the election timeout (in ticks) drawn for the current term. */
  randomizedElectionTimeout(): number {
    return this.raft.electionTimeoutTicks();
  }

  private local(type: Message["type"], extra: Partial<Message> = {}): Message {
    return makeMessage({ type, to: this.raft.id, from: this.raft.id, ...extra });
  }
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.state === b.state;
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
