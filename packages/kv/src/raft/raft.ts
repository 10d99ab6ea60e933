// Book 12.3-12.5, 12.8-12.9: the Raft role state machine (follower, pre-candidate, candidate, leader):
// elections, replication, commit, snapshots, membership, transfer, ReadIndex; deterministic (ticks, config.random).
import { isVoteMsg, makeMessage, NEED_SNAPSHOT_CONTEXT, TRANSFER_CONTEXT, type MessageInit } from "./messages.js";
import { changeMembership, confStateOf, membershipOf, replayConfEntries } from "./confchange.js";
import { RaftLog } from "./log.js";
import { Progress } from "./progress.js";
import { committedIndex, voteResult, type VoteResult } from "./quorum.js";
import { ReadOnly } from "./read-only.js";
import {
  CompactedError,
  None,
  ProposalDroppedError,
  type ConfChange,
  type ConfState,
  type Entry,
  type EntryType,
  type HardState,
  type Message,
  type MessageType,
  type NodeId,
  type RaftConfig,
  type RaftStorage,
  type Snapshot,
  type ReadState,
  type SoftState,
  type StateType,
  type Status,
} from "./types.js";
import { invariant } from "./util.js";

type CampaignType = "preElection" | "election" | "transfer";

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = None;
  lead: NodeId = None;
  state: StateType = "follower";
  readonly log: RaftLog;

  /** Voters and learners, and the leader's replication state for each (kept on every node). */
  voters = new Set<NodeId>();
  learners = new Set<NodeId>();
  prs = new Map<NodeId, Progress>();

  /** Output waiting for the next Ready. */
  msgs: Message[] = [];
  readStates: ReadState[] = [];

  private votes = new Map<NodeId, boolean>();
  leadTransferee: NodeId = None;
  /** Leader: index of the latest conf change proposed; another may not be proposed until it is applied. */
  private pendingConfIndex = 0;
  private readOnly = new ReadOnly();
  /** Leader: read requests waiting for the first commit of an entry of this term. */
  private pendingReadIndexMessages: Message[] = [];

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly electionTimeout: number;
  private readonly heartbeatTimeout: number;
  private readonly checkQuorum: boolean;
  private readonly preVote: boolean;
  private readonly maxSizePerMsg: number;
  private readonly maxInflight: number;
  private readonly random: () => number;
  private readonly logger: ((line: string) => void) | undefined;

  constructor(c: RaftConfig, storage: RaftStorage) {
    invariant(c.id !== None && c.id !== "", "config.id must be a non-zero id");
    invariant(c.heartbeatTick > 0, "heartbeatTick must be > 0");
    invariant(c.electionTick > c.heartbeatTick, "electionTick must be > heartbeatTick");
    invariant(c.maxInflightMsgs > 0, "maxInflightMsgs must be > 0");
    this.id = c.id;
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum;
    this.preVote = c.preVote;
    this.maxSizePerMsg = Math.max(0, c.maxSizePerMsg);
    this.maxInflight = c.maxInflightMsgs;
    this.random = c.random;
    this.logger = c.logger;

    this.log = new RaftLog(storage);
    const { hardState, conf } = storage.initialState();
    if (hardState.commit > 0) {
      invariant(
        hardState.commit <= this.log.lastIndex(),
        `stored commit ${hardState.commit} beyond last index ${this.log.lastIndex()}`,
      );
      this.log.commitTo(hardState.commit);
    }
    this.term = hardState.term;
    this.vote = hardState.vote;
    if (c.applied !== undefined && c.applied > 0) this.log.appliedTo(c.applied);
    this.applyConfState(this.replayConfChanges(conf, storage.snapshot().meta.index));
    this.becomeFollower(this.term, None);
    this.debug(`started: term ${this.term}, commit ${this.log.committed}, applied ${this.log.applied}, last ${this.log.lastIndex()}`);
  }

  /**
   * Storage knows the configuration as of its snapshot; conf entries after it that the
   * application already applied (up to config.applied) are not handed out again, so their
   * effect is replayed here (harmless if storage's configuration already includes them).
   */
  private replayConfChanges(conf: ConfState, snapIndex: number): ConfState {
    const lo = Math.max(snapIndex + 1, this.log.firstIndex());
    const hi = this.log.applied + 1;
    if (lo >= hi) return conf;
    return replayConfEntries(conf, this.log.slice(lo, hi, Number.POSITIVE_INFINITY));
  }

  // ---- views -------------------------------------------------------------------------------

  softState(): SoftState {
    return { lead: this.lead, state: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  confState(): ConfState {
    return confStateOf(this);
  }

  hasProgress(id: NodeId): boolean {
    return this.prs.has(id);
  }

  status(): Status {
    const st: Status = {
      id: this.id,
      term: this.term,
      vote: this.vote,
      commit: this.log.committed,
      lead: this.lead,
      state: this.state,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      leadTransferee: this.leadTransferee,
      conf: this.confState(),
    };
    if (this.state === "leader") {
      const progress: NonNullable<Status["progress"]> = {};
      for (const [id, pr] of this.prs) progress[id] = { match: pr.match, next: pr.next, state: pr.state };
      st.progress = progress;
    }
    return st;
  }

  /** May this node campaign? Only a voter, and not while it is installing a snapshot. */
  promotable(): boolean {
    return this.voters.has(this.id) && !this.log.hasPendingSnapshot();
  }

  // ---- time ----------------------------------------------------------------------------------

  tick(): void {
    if (this.state === "leader") this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(this.local("hup"));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(this.local("checkQuorum"));
      // A transfer that did not finish within an election timeout is given up.
      if (this.state === "leader" && this.leadTransferee !== None) this.abortLeaderTransfer();
    }
    if (this.state !== "leader") return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(this.local("beat"));
    }
  }

  private resetRandomizedElectionTimeout(): void {
    const r = this.random();
    invariant(r >= 0 && r < 1, `config.random() returned ${r}, outside [0, 1)`);
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(r * this.electionTimeout);
  }

  /** For tests: the current randomized election timeout, in ticks. */
  electionTimeoutTicks(): number {
    return this.randomizedElectionTimeout;
  }

  // ---- role changes --------------------------------------------------------------------------

  private reset(term: number): void {
    invariant(term >= this.term, `term going back from ${this.term} to ${term}`);
    if (this.term !== term) {
      this.term = term;
      this.vote = None;
    }
    this.lead = None;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.votes.clear();
    const last = this.log.lastIndex();
    for (const [id, pr] of this.prs) {
      this.prs.set(id, new Progress(id === this.id ? last : 0, last + 1, this.maxInflight, pr.isLearner));
    }
    this.pendingConfIndex = 0;
    this.readOnly.reset();
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = "follower";
    this.debug(`became follower at term ${term} (leader ${lead})`);
  }

  private becomePreCandidate(): void {
    invariant(this.state !== "leader", "leader cannot become pre-candidate");
    // Neither term nor vote changes: a pre-election only asks whether we could win.
    this.votes.clear();
    this.lead = None;
    this.state = "preCandidate";
    this.debug(`became pre-candidate at term ${this.term}`);
  }

  private becomeCandidate(): void {
    invariant(this.state !== "leader", "leader cannot become candidate");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = "candidate";
    this.debug(`became candidate at term ${this.term}`);
  }

  private becomeLeader(): void {
    invariant(this.state === "candidate" || this.state === "preCandidate", "only a candidate can become leader");
    this.reset(this.term);
    this.lead = this.id;
    this.state = "leader";
    const self = this.prs.get(this.id);
    invariant(self, "a leader must be in its own configuration");
    self.becomeReplicate();
    self.recentActive = true;
    // Conservatively treat every entry not yet applied as possibly holding a conf change.
    this.pendingConfIndex = this.log.lastIndex();
    // The empty entry of the new term: committing it commits everything before it (figure 8).
    this.appendEntries([{ type: "normal", data: "" }]);
    this.debug(`became leader at term ${this.term}`);
  }

  // ---- elections -----------------------------------------------------------------------------

  private hup(t: CampaignType): void {
    if (this.state === "leader") return;
    if (!this.promotable()) {
      this.debug("not promotable; not campaigning");
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.debug("conf changes committed but not applied; not campaigning");
      return;
    }
    this.campaign(t);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false;
    if (this.log.hasPendingSnapshot()) return true;
    try {
      const ents = this.log.slice(this.log.applied + 1, this.log.committed + 1, Number.POSITIVE_INFINITY);
      return ents.some((e) => e.type === "conf");
    } catch (e) {
      if (e instanceof CompactedError) return true;
      throw e;
    }
  }

  private campaign(t: CampaignType): void {
    let type: MessageType;
    let term: number;
    if (t === "preElection") {
      this.becomePreCandidate();
      type = "preVote";
      term = this.term + 1; // asks for the term it would use, without taking it
    } else {
      this.becomeCandidate();
      type = "vote";
      term = this.term;
    }
    if (this.poll(this.id, true) === "won") {
      // A single voter wins at once.
      if (t === "preElection") this.campaign("election");
      else {
        this.becomeLeader();
        this.bcastAppend();
      }
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of sorted(this.voters)) {
      if (id === this.id) continue;
      this.send({
        type,
        to: id,
        term,
        index: lastIndex,
        logTerm: lastTerm,
        context: t === "transfer" ? TRANSFER_CONTEXT : "",
      });
    }
  }

  private poll(id: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteResult(this.voters, this.votes);
  }

  private handleVoteRequest(m: Message): void {
    const respType: MessageType = m.type === "vote" ? "voteResp" : "preVoteResp";
    const canVote =
      this.vote === m.from ||
      (this.vote === None && this.lead === None) ||
      (m.type === "preVote" && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // Answer in the candidate's term so it does not discard the answer as stale.
      this.send({ type: respType, to: m.from, term: m.term });
      if (m.type === "vote") {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
      this.debug(`granted ${m.type} to ${m.from} for term ${m.term}`);
    } else {
      this.debug(`rejected ${m.type} from ${m.from} for term ${m.term}`);
      if (this.term > 0) this.send({ type: respType, to: m.from, term: this.term, reject: true });
    }
  }

  // ---- the entry point for every message ------------------------------------------------------

  step(m: Message): void {
    if (m.term === 0) {
      // A local message, or a proposal / read request forwarded by a follower.
    } else if (m.term > this.term) {
      if (m.type === "vote" || m.type === "preVote") {
        const force = m.context === TRANSFER_CONTEXT;
        // Leader lease (thesis 4.2.3, 9.6): while we hear from a leader, a vote request is
        // disruption, not need. Real votes are refused under CheckQuorum; pre-votes always.
        const heardLeader = this.lead !== None && this.electionElapsed < this.electionTimeout;
        const inLease = heardLeader && (this.checkQuorum || m.type === "preVote");
        if (!force && inLease) {
          this.debug(`ignored ${m.type} from ${m.from} at term ${m.term}: leader ${this.lead} is live`);
          return;
        }
      }
      if (m.type === "preVote") {
        // A pre-vote never changes our term.
      } else if (m.type === "preVoteResp" && !m.reject) {
        // The term is taken only once the pre-election is won.
      } else if (m.type === "app" || m.type === "heartbeat" || m.type === "snap") {
        this.becomeFollower(m.term, m.from);
      } else {
        const elapsed = this.electionElapsed;
        this.becomeFollower(m.term, None);
        // Only hearing from a leader or granting a vote resets the election timer (paper 5.2):
        // a vote request we may yet refuse must not keep postponing our own campaign.
        if (m.type === "vote") this.electionElapsed = elapsed;
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === "heartbeat" || m.type === "app")) {
        // A stale leader (e.g. back from a partition). Tell it our term so it steps down; without
        // this a node whose term ran ahead could never rejoin under PreVote/CheckQuorum.
        this.send({ type: "appResp", to: m.from });
      } else if (m.type === "preVote") {
        this.send({ type: "preVoteResp", to: m.from, term: this.term, reject: true });
      }
      return;
    }

    switch (m.type) {
      case "hup":
        this.hup(this.preVote ? "preElection" : "election");
        return;
      case "vote":
      case "preVote":
        this.handleVoteRequest(m);
        return;
      default:
        break;
    }
    switch (this.state) {
      case "leader":
        this.stepLeader(m);
        return;
      case "candidate":
      case "preCandidate":
        this.stepCandidate(m);
        return;
      case "follower":
        this.stepFollower(m);
        return;
    }
  }

  // ---- leader ------------------------------------------------------------------------------

  private stepLeader(m: Message): void {
    switch (m.type) {
      case "beat":
        this.bcastHeartbeat();
        return;
      case "checkQuorum":
        if (!this.quorumActive()) {
          this.debug("lost contact with a quorum; stepping down");
          this.becomeFollower(this.term, None);
        }
        for (const [id, pr] of this.prs) if (id !== this.id) pr.recentActive = false;
        return;
      case "prop":
        this.leaderPropose(m);
        return;
      case "readIndex":
        this.leaderReadIndex(m);
        return;
      case "transferLeader":
        this.leaderTransfer(m.from);
        return;
      case "app":
      case "heartbeat":
      case "snap":
        throw new Error(`raft invariant violated: two leaders (${this.id}, ${m.from}) in term ${this.term}`);
      default:
        break;
    }
    const pr = this.prs.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case "appResp":
        this.handleAppendResponse(m, pr);
        return;
      case "heartbeatResp":
        this.handleHeartbeatResponse(m, pr);
        return;
      case "snapStatus":
        if (pr.state !== "snapshot") return;
        if (m.reject) pr.pendingSnapshot = 0; // failed: probe again from match
        pr.becomeProbe();
        // Wait for the follower's answer (or the next heartbeat) before sending more.
        pr.paused = true;
        return;
      case "unreachable":
        if (pr.state === "replicate") pr.becomeProbe();
        return;
      default:
        return;
    }
  }

  private leaderPropose(m: Message): void {
    invariant(m.entries.length > 0, "empty proposal");
    if (!this.prs.has(this.id)) throw new ProposalDroppedError("leader is no longer a member");
    if (this.leadTransferee !== None) throw new ProposalDroppedError("leader transfer in progress");
    let confAt = -1;
    for (let i = 0; i < m.entries.length; i++) {
      if (m.entries[i]!.type !== "conf") continue;
      if (confAt >= 0 || this.pendingConfIndex > this.log.applied) {
        throw new ProposalDroppedError("a configuration change is already pending");
      }
      const after = replayConfEntries(this.confState(), [m.entries[i]!]);
      if (after.voters.length === 0) throw new ProposalDroppedError("the change would leave no voters");
      confAt = i;
    }
    if (confAt >= 0) this.pendingConfIndex = this.log.lastIndex() + confAt + 1;
    this.appendEntries(m.entries);
    this.bcastAppend();
  }

  /** The leader appends to its own log; it never overwrites, only extends. */
  private appendEntries(ents: ReadonlyArray<{ type: EntryType; data: string }>): void {
    const last = this.log.lastIndex();
    const stamped: Entry[] = ents.map((e, i) => ({ term: this.term, index: last + 1 + i, type: e.type, data: e.data }));
    const li = this.log.append(stamped);
    invariant(li === last + ents.length, "leader log did not grow by exactly the new entries");
    // The leader counts itself: the driver persists entries before it applies committed ones.
    this.prs.get(this.id)!.maybeUpdate(li);
    this.maybeCommitAndRelease();
  }

  private maybeCommit(): boolean {
    const mci = committedIndex(this.voters, (id) => this.prs.get(id)?.match ?? 0);
    return this.log.maybeCommit(mci, this.term);
  }

  private maybeCommitAndRelease(): boolean {
    if (!this.maybeCommit()) return false;
    this.releasePendingReadIndexMessages();
    return true;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.termOrZero(this.log.committed) === this.term;
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject && m.context === NEED_SNAPSHOT_CONTEXT) {
      // A joiner that knows no configuration: only a snapshot can tell it.
      if (pr.state !== "snapshot") this.sendSnapshot(m.from, pr);
      return;
    }
    if (m.reject) {
      // Fast backtracking: jump over a whole term of the follower's log at once.
      let next = m.rejectHint;
      if (m.logTerm > 0) next = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, next)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    // An ack at exactly match still moves a probing follower to replicate (it is caught up), and
    // ends snapshot state if it covers the snapshot (a joiner's snapshot may be at index 0).
    const caughtUp =
      pr.match === m.index &&
      (pr.state === "probe" || (pr.state === "snapshot" && m.index >= pr.pendingSnapshot));
    if (!(pr.maybeUpdate(m.index) || caughtUp)) return;
    if (pr.state === "probe") {
      pr.becomeReplicate();
    } else if (pr.state === "snapshot" && pr.match + 1 >= this.log.firstIndex()) {
      // The follower is past the compacted prefix: replicate from the log again.
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === "replicate") {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommitAndRelease()) {
      this.bcastAppend();
    } else if (pr.canBumpCommit(this.log.committed)) {
      // It may not know the latest commit yet; tell it now rather than at the next heartbeat.
      this.sendAppend(m.from);
    }
    // The window may have opened: send as much as it allows (no empty messages).
    while (this.maybeSendAppend(m.from, false)) {
      /* keep sending */
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(m.from);
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    pr.paused = false;
    if (pr.match < this.log.lastIndex() || pr.state === "probe") this.sendAppend(m.from);
    if (m.context === "") return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (!acks || voteResult(this.voters, acks) !== "won") return;
    for (const rs of this.readOnly.advance(m.context)) this.respondRead(rs.req, rs.index);
  }

  private quorumActive(): boolean {
    const active = new Map<NodeId, boolean>();
    for (const id of this.voters) active.set(id, id === this.id || this.prs.get(id)?.recentActive === true);
    return voteResult(this.voters, active) === "won";
  }

  // ---- sending -----------------------------------------------------------------------------

  private send(init: MessageInit): void {
    const m = makeMessage({ from: this.id, ...init });
    if (isVoteMsg(m.type)) {
      invariant(m.term > 0, `${m.type} must carry a term`);
    } else if (m.type === "prop" || m.type === "readIndex") {
      m.term = 0; // forwarded like a local message
    } else {
      m.term = this.term;
    }
    invariant(m.to !== this.id && m.to !== None, `message ${m.type} addressed to ${m.to}`);
    this.msgs.push(m);
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /** Sends the next batch of entries to `to` if flow control allows; a snapshot if they are compacted. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to);
    if (!pr || to === this.id || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    let ents: Entry[];
    try {
      prevTerm = this.log.term(prevIndex);
      // With a full window only an empty append goes out (after a heartbeat answer lifted the
      // pause): its answer either acks the window or shows it was lost.
      const throttled = pr.state === "replicate" && pr.inflights.full();
      ents = throttled ? [] : this.log.entriesFrom(pr.next, this.maxSizePerMsg);
    } catch (e) {
      if (!(e instanceof CompactedError)) throw e;
      return this.sendSnapshot(to, pr);
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    const last = prevIndex + ents.length;
    this.send({ type: "app", to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.log.committed });
    pr.sentEntries(ents.length, last);
    pr.sentCommitTo(Math.min(this.log.committed, last));
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) {
      this.debug(`not sending a snapshot to ${to}: not recently active`);
      return false;
    }
    const snap = this.log.snapshot();
    invariant(
      snap.meta.index >= this.log.firstIndex() - 1,
      `storage snapshot ${snap.meta.index} does not cover the compacted log (first index ${this.log.firstIndex()}): createSnapshot before compact`,
    );
    this.send({ type: "snap", to, snapshot: snap });
    pr.becomeSnapshot(snap.meta.index);
    this.debug(`sent snapshot ${snap.meta.index} to ${to}`);
    return true;
  }

  private bcastAppend(): void {
    for (const id of sorted(this.prs.keys())) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(ctx: string = this.readOnly.lastPendingCtx()): void {
    for (const id of sorted(this.prs.keys())) {
      if (id === this.id) continue;
      const pr = this.prs.get(id)!;
      // Never tell a follower to commit beyond what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ type: "heartbeat", to: id, commit, context: ctx });
      pr.sentCommitTo(commit);
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: "timeoutNow", to });
  }

  // ---- reads (ReadIndex) ----------------------------------------------------------------------

  private leaderReadIndex(m: Message): void {
    if (this.voters.size === 1 && this.voters.has(this.id)) {
      this.respondRead(m, this.log.committed);
      return;
    }
    if (!this.committedEntryInCurrentTerm()) {
      // Our commit index may lag the true one until an entry of our term commits.
      this.pendingReadIndexMessages.push(m);
      return;
    }
    this.readOnly.addRequest(this.log.committed, m);
    this.readOnly.recvAck(this.id, m.context);
    this.bcastHeartbeat(m.context);
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (!this.committedEntryInCurrentTerm()) return;
    const waiting = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of waiting) this.leaderReadIndex(m);
  }

  private respondRead(req: Message, index: number): void {
    if (req.from === this.id || req.from === None) this.readStates.push({ index, ctx: req.context });
    else this.send({ type: "readIndexResp", to: req.from, index, context: req.context });
  }

  // ---- leader transfer (thesis 3.10) ----------------------------------------------------------

  private leaderTransfer(transferee: NodeId): void {
    const pr = this.prs.get(transferee);
    if (!pr || pr.isLearner) return;
    if (this.leadTransferee !== None) {
      if (this.leadTransferee === transferee) return; // already under way
      this.abortLeaderTransfer();
    }
    if (transferee === this.id) return;
    // The transfer must finish within one election timeout.
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    this.debug(`transferring leadership to ${transferee}`);
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(transferee);
    else this.sendAppend(transferee);
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = None;
  }

  // ---- candidate and follower -----------------------------------------------------------------

  private stepCandidate(m: Message): void {
    const myResp: MessageType = this.state === "preCandidate" ? "preVoteResp" : "voteResp";
    switch (m.type) {
      case "prop":
        throw new ProposalDroppedError("no leader");
      case "app":
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case "snap":
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      default:
        break;
    }
    if (m.type !== myResp) return;
    const res = this.poll(m.from, !m.reject);
    if (res === "won") {
      if (this.state === "preCandidate") this.campaign("election");
      else {
        this.becomeLeader();
        this.bcastAppend();
      }
    } else if (res === "lost") {
      this.becomeFollower(this.term, None);
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "prop":
        if (this.lead === None) throw new ProposalDroppedError("no leader");
        this.send({ ...m, to: this.lead });
        return;
      case "app":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case "snap":
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case "transferLeader":
      case "readIndex":
        if (this.lead === None) return; // dropped; the driver times out
        this.send({ ...m, to: this.lead });
        return;
      case "timeoutNow":
        // The leader asks us to take over: campaign now, past any lease and without pre-vote.
        this.hup("transfer");
        return;
      case "readIndexResp":
        this.readStates.push({ index: m.index, ctx: m.context });
        return;
      default:
        return;
    }
  }

  private hasNoConf(): boolean {
    return this.voters.size === 0 && this.learners.size === 0;
  }

  private handleAppend(m: Message): void {
    if (this.hasNoConf()) {
      this.send({ type: "appResp", to: m.from, index: m.index, reject: true, context: NEED_SNAPSHOT_CONTEXT });
      return;
    }
    if (m.index < this.log.committed) {
      this.send({ type: "appResp", to: m.from, index: this.log.committed });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ type: "appResp", to: m.from, index: lastNew });
      return;
    }
    // Reject, with a hint: the last index at or below m.index whose term is <= m.logTerm.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({ type: "appResp", to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(m.commit);
    this.send({ type: "heartbeatResp", to: m.from, context: m.context });
  }

  private handleSnapshot(m: Message): void {
    invariant(m.snapshot, "snap message without a snapshot");
    if (this.restore(m.snapshot)) {
      this.send({ type: "appResp", to: m.from, index: this.log.lastIndex() });
    } else {
      this.send({ type: "appResp", to: m.from, index: this.log.committed });
    }
  }

  /** Installs a snapshot from the leader if it is newer than what we have committed. */
  private restore(s: Snapshot): boolean {
    // A joiner takes any snapshot that carries a configuration, even the bootstrap one at index 0.
    const joining = this.hasNoConf() && s.meta.conf.voters.length + s.meta.conf.learners.length > 0;
    if (!joining && s.meta.index <= this.log.committed) return false;
    if (joining && s.meta.index < this.log.committed) return false;
    invariant(this.state === "follower", "only a follower restores a snapshot");
    if (!joining && this.log.matchTerm(s.meta.index, s.meta.term)) {
      // We already have the snapshot's last entry: just move commit forward.
      this.log.commitTo(s.meta.index);
      return false;
    }
    this.log.restore(s);
    this.applyConfState(s.meta.conf);
    this.debug(`restored snapshot ${s.meta.index} (term ${s.meta.term})`);
    return true;
  }

  // ---- membership ----------------------------------------------------------------------------

  private applyConfState(cs: ConfState): void {
    const m = membershipOf(cs);
    this.voters = m.voters;
    this.learners = m.learners;
    const last = this.log.lastIndex();
    this.prs = new Map();
    for (const id of sorted([...this.voters, ...this.learners])) {
      const pr = new Progress(id === this.id ? last : 0, last + 1, this.maxInflight, this.learners.has(id));
      pr.recentActive = true;
      this.prs.set(id, pr);
    }
  }

  /** A committed conf change is being applied by the driver: it takes effect now. */
  applyConfChange(cc: ConfChange): ConfState {
    invariant(cc.nodeId !== None && cc.nodeId !== "", "conf change without a node id");
    const id = cc.nodeId;
    changeMembership(this, cc);
    if (cc.type === "removeNode") this.prs.delete(id);
    else this.ensureProgress(id, cc.type === "addLearner");
    this.debug(`applied conf change ${cc.type} ${id}: voters ${sorted(this.voters).join(",")}`);
    if (this.state === "leader") {
      if (!this.voters.has(this.id)) {
        this.debug("removed from the voters; stepping down");
        this.becomeFollower(this.term, None);
      } else {
        if (this.leadTransferee !== None && !this.voters.has(this.leadTransferee)) this.abortLeaderTransfer();
        // The quorum may have shrunk, so commit may move; new members need their first append.
        if (this.maybeCommitAndRelease()) this.bcastAppend();
        else for (const pid of sorted(this.prs.keys())) this.maybeSendAppend(pid, false);
      }
    }
    return this.confState();
  }

  private ensureProgress(id: NodeId, isLearner: boolean): void {
    const pr = this.prs.get(id);
    if (pr) {
      pr.isLearner = isLearner;
      return;
    }
    const last = this.log.lastIndex();
    // next = last (not last+1) so the first probe carries an entry and goes out at once.
    const fresh =
      id === this.id
        ? new Progress(last, last + 1, this.maxInflight, isLearner)
        : new Progress(0, Math.max(last, 1), this.maxInflight, isLearner);
    // Count a new member as active, so CheckQuorum does not fire before it could answer.
    fresh.recentActive = true;
    this.prs.set(id, fresh);
  }

  // ---- helpers -------------------------------------------------------------------------------

  private local(type: MessageType): Message {
    return makeMessage({ type, to: this.id, from: this.id });
  }

  private debug(line: string): void {
    if (this.logger) this.logger(`raft ${this.id} [term ${this.term}] ${line}`);
  }
}

function sorted(ids: Iterable<NodeId>): NodeId[] {
  return [...ids].sort();
}
