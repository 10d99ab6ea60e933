// Book 12.8-12.9: an in-memory Raft cluster for tests and simulation: RawNodes + MemoryStorages, a driver
// loop honouring the Ready contract, a faulty network, and safety checks (one leader per term, one log).
import { MemoryStorage } from "./memory-storage.js";
import { RawNode } from "./rawnode.js";
import {
  None,
  ProposalDroppedError,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type RaftConfig,
  type ReadState,
  type Snapshot,
} from "./types.js";

/** A small seeded PRNG (mulberry32): the same seed gives the same run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface NetworkOptions {
  /** Initial voters, bootstrapped with a snapshot at index 0. */
  ids: NodeId[];
  /** Initial learners. */
  learners?: NodeId[];
  electionTick?: number;
  heartbeatTick?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  /** Seeds each node's randomness and the network's drop decisions. */
  seed?: number;
  /** Called with each fresh storage before its node starts (to craft a log for a test). */
  prepare?: (id: NodeId, storage: MemoryStorage) => void;
  logger?: (line: string) => void;
}

/** One member: its node, its "disk", and the toy application state it applied. */
export interface TestNode {
  id: NodeId;
  storage: MemoryStorage;
  node: RawNode;
  /** The application: data of every non-empty normal entry applied, in order. */
  state: string[];
  appliedIndex: number;
  conf: ConfState;
  readStates: ReadState[];
}

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages sent and not yet delivered. */
  inflight: Message[] = [];
  /** Nodes that are crashed: they neither tick nor receive. */
  readonly down = new Set<NodeId>();
  /** Probability that a message is lost. */
  dropRate = 0;
  /** Return false to drop a message (a test's surgical fault). */
  filter: ((m: Message) => boolean) | undefined;
  /** Every committed entry seen applied anywhere, by index: the one log all nodes must agree on. */
  readonly committed = new Map<number, { term: number; data: string }>();
  /** The leader seen for each term. */
  readonly leaders = new Map<number, NodeId>();

  private readonly cut = new Set<string>();
  private readonly opts: NetworkOptions;
  private readonly rng: () => number;
  private seq = 0;

  constructor(opts: NetworkOptions) {
    this.opts = opts;
    this.rng = seededRandom((opts.seed ?? 1) * 7919 + 17);
    const conf: ConfState = { voters: [...opts.ids], learners: [...(opts.learners ?? [])] };
    for (const id of [...opts.ids, ...(opts.learners ?? [])]) this.addNode(id, conf);
  }

  /** Adds a member. With `bootstrap` it starts a new cluster; without, it joins and learns from the leader. */
  addNode(id: NodeId, bootstrap?: ConfState): TestNode {
    const storage = new MemoryStorage();
    if (bootstrap) storage.applySnapshot({ meta: { index: 0, term: 0, conf: bootstrap }, data: "[]" });
    this.opts.prepare?.(id, storage);
    const snap = storage.snapshot();
    const t: TestNode = {
      id,
      storage,
      node: undefined as unknown as RawNode,
      state: parseState(snap),
      appliedIndex: snap.meta.index,
      conf: snap.meta.conf,
      readStates: [],
    };
    t.node = new RawNode(this.config(id, snap.meta.index), storage);
    this.nodes.set(id, t);
    return t;
  }

  private config(id: NodeId, applied: number): RaftConfig {
    const o = this.opts;
    const seed = (o.seed ?? 1) * 1000 + Number(id) * 31 + this.seq++;
    const c: RaftConfig = {
      id,
      electionTick: o.electionTick ?? 10,
      heartbeatTick: o.heartbeatTick ?? 1,
      applied,
      preVote: o.preVote ?? false,
      checkQuorum: o.checkQuorum ?? false,
      maxSizePerMsg: o.maxSizePerMsg ?? 1024 * 1024,
      maxInflightMsgs: o.maxInflightMsgs ?? 256,
      random: seededRandom(seed),
    };
    if (o.logger) c.logger = o.logger;
    return c;
  }

  get(id: NodeId): TestNode {
    const t = this.nodes.get(id);
    if (!t) throw new Error(`no node ${id}`);
    return t;
  }

  node(id: NodeId): RawNode {
    return this.get(id).node;
  }

  /** A crash: the node stops; its storage (synced on every Ready) survives. */
  crash(id: NodeId): void {
    this.down.add(id);
    const lost = this.inflight.filter((m) => m.to === id || m.from === id);
    this.inflight = this.inflight.filter((m) => m.to !== id && m.from !== id);
    for (const m of lost) {
      if (m.type === "snap" && !this.down.has(m.from)) this.get(m.from).node.reportSnapshot(m.to, false);
    }
  }

  /** Restarts a node from its storage; the application state survives with its applied index. */
  restart(id: NodeId): void {
    const t = this.get(id);
    this.down.delete(id);
    t.node = new RawNode(this.config(id, t.appliedIndex), t.storage);
    t.readStates = [];
  }

  // ---- the network's faults ----

  /** Cuts `id` off from everyone (both directions). */
  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }

  /** Only nodes in the same group can talk. Nodes in no group are isolated. */
  partition(...groups: NodeId[][]): void {
    this.heal();
    const groupOf = new Map<NodeId, number>();
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
    for (const a of this.nodes.keys()) {
      for (const b of this.nodes.keys()) {
        if (a !== b && (groupOf.get(a) === undefined || groupOf.get(a) !== groupOf.get(b))) this.cut.add(`${a}>${b}`);
      }
    }
  }

  /** Cuts one direction only. */
  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  // ---- the driver loop ----

  tick(ids: Iterable<NodeId> = this.nodes.keys()): void {
    for (const id of ids) if (!this.down.has(id)) this.get(id).node.tick();
  }

  /** Runs one node's Ready loop: persist, send, apply, advance. */
  processReady(id: NodeId): boolean {
    const t = this.get(id);
    let any = false;
    while (t.node.hasReady()) {
      any = true;
      const rd = t.node.ready();
      // 1. Persist (the snapshot first: it replaces the log the entries extend).
      if (rd.snapshot) t.storage.applySnapshot(rd.snapshot);
      if (rd.entries.length > 0) t.storage.append(rd.entries);
      if (rd.hardState) t.storage.setHardState(rd.hardState);
      // 2. Send.
      for (const m of rd.messages) {
        if (m.to === id) throw new Error("message to self in Ready");
        this.inflight.push(m);
      }
      // 3. Apply.
      if (rd.snapshot) {
        t.state = parseState(rd.snapshot);
        t.appliedIndex = rd.snapshot.meta.index;
        t.conf = rd.snapshot.meta.conf;
      }
      for (const e of rd.committedEntries) this.apply(t, e);
      t.readStates.push(...rd.readStates);
      t.node.advance(rd);
      this.checkLeader(t);
    }
    return any;
  }

  private apply(t: TestNode, e: Entry): void {
    if (e.index !== t.appliedIndex + 1) {
      throw new Error(`node ${t.id} applies ${e.index} after ${t.appliedIndex}: gap`);
    }
    const seen = this.committed.get(e.index);
    if (seen && (seen.term !== e.term || seen.data !== e.data)) {
      throw new Error(
        `committed logs diverge at ${e.index}: term ${seen.term} vs ${e.term} (node ${t.id})`,
      );
    }
    if (!seen) this.committed.set(e.index, { term: e.term, data: e.data });
    if (e.type === "conf") {
      t.conf = t.node.applyConfChange(JSON.parse(e.data) as ConfChange);
    } else if (e.data !== "") {
      t.state.push(e.data);
    }
    t.appliedIndex = e.index;
  }

  private checkLeader(t: TestNode): void {
    const st = t.node.status();
    if (st.state !== "leader") return;
    const prev = this.leaders.get(st.term);
    if (prev !== undefined && prev !== t.id) {
      throw new Error(`two leaders in term ${st.term}: ${prev} and ${t.id}`);
    }
    this.leaders.set(st.term, t.id);
  }

  private blocked(m: Message): boolean {
    if (this.down.has(m.to) || this.down.has(m.from) || !this.nodes.has(m.to)) return true;
    if (this.cut.has(`${m.from}>${m.to}`)) return true;
    if (this.filter && !this.filter(m)) return true;
    return this.dropRate > 0 && this.rng() < this.dropRate;
  }

  /** Delivers every message now in flight (some may be held back when `delayRate` > 0). */
  deliver(delayRate = 0): void {
    const batch = this.inflight;
    this.inflight = [];
    for (const m of batch) {
      if (delayRate > 0 && this.rng() < delayRate) {
        this.inflight.push(m); // delivered in a later round: reordering
        continue;
      }
      const lost = this.blocked(m);
      if (!lost) this.get(m.to).node.step(m);
      // The transport tells the leader how sending a snapshot went.
      if (m.type === "snap" && !this.down.has(m.from)) this.get(m.from).node.reportSnapshot(m.to, !lost);
    }
  }

  /** Processes Readies and delivers messages until nothing moves (no ticks). */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let any = false;
      for (const id of this.nodes.keys()) {
        if (!this.down.has(id) && this.processReady(id)) any = true;
      }
      if (this.inflight.length > 0) {
        any = true;
        this.deliver();
      }
      if (!any) return;
    }
    throw new Error("network did not stabilize");
  }

  /** Ticks every live node `n` times, stabilizing after each tick. */
  ticks(n: number): void {
    for (let i = 0; i < n; i++) {
      this.tick();
      this.stabilize();
    }
  }

  // ---- conveniences ----

  campaign(id: NodeId): void {
    this.node(id).campaign();
    this.stabilize();
  }

  /** The live node that believes it leads in the highest term, or None. */
  leader(): NodeId {
    let best: NodeId = None;
    let bestTerm = -1;
    for (const [id, t] of this.nodes) {
      if (this.down.has(id)) continue;
      const st = t.node.status();
      if (st.state === "leader" && st.term > bestTerm) {
        best = id;
        bestTerm = st.term;
      }
    }
    return best;
  }

  /** Proposes through `id`; returns false if the proposal was dropped. */
  propose(id: NodeId, data: string): boolean {
    try {
      this.node(id).propose(data);
      return true;
    } catch (e) {
      if (e instanceof ProposalDroppedError) return false;
      throw e;
    }
  }

  /** The application snapshots at its applied index and the log is compacted up to `keep` entries before it. */
  compact(id: NodeId, keep = 0): Snapshot {
    const t = this.get(id);
    const snap = t.storage.createSnapshot(t.appliedIndex, t.conf, JSON.stringify(t.state));
    t.storage.compact(Math.max(0, t.appliedIndex - keep));
    return snap;
  }

  /** The terms of the entries in a node's storage, from firstIndex. */
  logTerms(id: NodeId): number[] {
    const s = this.get(id).storage;
    const out: number[] = [];
    for (let i = s.firstIndex(); i <= s.lastIndex(); i++) out.push(s.term(i));
    return out;
  }
}

function parseState(snap: Snapshot): string[] {
  return snap.data === "" ? [] : (JSON.parse(snap.data) as string[]);
}
