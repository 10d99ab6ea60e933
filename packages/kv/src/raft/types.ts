// Book 12.3–12.4: the shapes that go in and out of the Raft core (messages, log entries,
// hard state, snapshots, and the Ready hand-off), after etcd-io/raft's design.

/** A member's id: a uint64 as a decimal string, never "0". */
export type NodeId = string;

/** "0" means no node (no vote, no leader). */
export const None: NodeId = "0";

export type EntryType = "normal" | "conf";

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque to Raft. For "normal": the application's command (JSON text), "" for the empty
   * entry a new leader appends. For "conf": JSON of a ConfChange. */
  data: string;
}

export type ConfChangeType = "addNode" | "removeNode" | "addLearner";

export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  /** Opaque to Raft: the application puts the member's name and peer URLs here. */
  context: string;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  conf: ConfState;
}

export interface Snapshot {
  meta: SnapshotMetadata;
  /** The application's state machine, serialized (opaque to Raft). */
  data: string;
}

export type MessageType =
  | "hup" // local: start an election now
  | "beat" // local: leader sends heartbeats
  | "prop" // a proposal (local, or forwarded from a follower to the leader)
  | "app"
  | "appResp"
  | "vote"
  | "voteResp"
  | "preVote"
  | "preVoteResp"
  | "snap"
  | "heartbeat"
  | "heartbeatResp"
  | "unreachable" // local: the transport could not reach `from`
  | "snapStatus" // local: result of sending a snapshot to `from` (reject = failed)
  | "checkQuorum" // local
  | "transferLeader" // local or forwarded: transfer leadership to `from`
  | "timeoutNow" // leader tells the transferee to campaign at once
  | "readIndex" // local or forwarded from a follower
  | "readIndexResp";

export interface Message {
  type: MessageType;
  to: NodeId;
  from: NodeId;
  term: number;
  /** For app: the term of the entry just before `entries` (prevLogTerm). For votes: the candidate's last log term. */
  logTerm: number;
  /** For app: prevLogIndex. For votes: last log index. For appResp: the index acknowledged (or rejected). */
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot;
  reject: boolean;
  rejectHint: number;
  /** Opaque context, used by readIndex (request ctx) and campaign-transfer votes ("transfer"). */
  context: string;
}

export interface SoftState {
  lead: NodeId;
  state: StateType;
}

export type StateType = "follower" | "candidate" | "leader" | "preCandidate";

export interface ReadState {
  index: number;
  /** The ctx passed to readIndex(). */
  ctx: string;
}

/**
 * Everything the core wants done, handed out at once. The driver must, in order:
 * 1. persist `snapshot` (if any), `entries` and `hardState` durably (one synced write);
 * 2. then send `messages`;
 * 3. apply `snapshot` then `committedEntries` to the state machine;
 * 4. call `advance()`.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  readStates: ReadState[];
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  /** True when entries or the hard state's term/vote changed: the write must be synced. */
  mustSync: boolean;
}

export interface RaftConfig {
  id: NodeId;
  /** Ticks a follower waits without hearing a leader before campaigning; the actual
   * timeout is randomized in [electionTick, 2*electionTick). */
  electionTick: number;
  heartbeatTick: number;
  /** Applied index to resume from after a restart (entries up to it are not re-applied). */
  applied?: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Most bytes of entry data in one append message. */
  maxSizePerMsg: number;
  /** Most append messages in flight to one follower. */
  maxInflightMsgs: number;
  /** Deterministic randomness in [0, 1): the only source of chance inside the core. */
  random: () => number;
  /** Optional: a hook for debug logging. */
  logger?: (line: string) => void;
}

export interface Status {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  lead: NodeId;
  state: StateType;
  applied: number;
  lastIndex: number;
  /** Only on the leader: each peer's match and next index. */
  progress?: Record<NodeId, { match: number; next: number; state: "probe" | "replicate" | "snapshot" }>;
  leadTransferee: NodeId;
  conf: ConfState;
}

/** The in-memory view of the durable log that the core reads (etcd-raft's Storage). */
export interface RaftStorage {
  initialState(): { hardState: HardState; conf: ConfState };
  /** Entries in [lo, hi), at most maxSize bytes of data (always at least one entry). */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /** The term of entry i; throws CompactedError if i < firstIndex()-1, UnavailableError if i > lastIndex(). */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

export class CompactedError extends Error {
  constructor() {
    super("requested index is unavailable due to compaction");
  }
}

export class UnavailableError extends Error {
  constructor() {
    super("requested entry at index is unavailable");
  }
}

export class ProposalDroppedError extends Error {
  constructor(reason = "raft proposal dropped") {
    super(reason);
  }
}
