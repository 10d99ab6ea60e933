// Book 12.9: a whole kv cluster in one process: real members on a simulated clock, network and
// disks. A crash drops a member with its timers and in-flight disk writes; a restart runs
// Member.start on the same disk, exactly as a rebooted machine would.
import type { Message, NodeId, Status } from "../raft/types.js";
import type { MemberConfig, MemberDeps } from "../server/member.js";
import type { PeerInfo } from "../server/deps.js";
import type { KvService } from "../service.js";
import { SimClock, type ScopedClock } from "./clock.js";
import { SimDisk, type DiskFaults } from "./disk.js";
import { SimNetwork, type NetFaults, type SimTransport } from "./network.js";
import type { Rng } from "./rng.js";
import type { Trace } from "./trace.js";

/** What the simulation needs from a member: the client API, plus Raft's inputs and status. */
export interface SimMember extends KvService {
  receive(messages: Message[]): void;
  stop(): Promise<void>;
  raftStatus(): Status;
  readonly appliedIndex: number;
}

export type MemberFactory = (cfg: MemberConfig, deps: MemberDeps) => Promise<SimMember>;

/** A digest of a member's applied state, for comparing replicas; undefined if not available. */
export type StateDigest = (m: SimMember) => string | undefined;

export interface ClusterOptions {
  size: number;
  member: Partial<MemberConfig>;
  net: NetFaults;
  disk: DiskFaults;
  factory: MemberFactory;
  digest: StateDigest;
  /** Pass each member's own log lines into the trace. */
  memberLogs: boolean;
}

export type SlotState = "down" | "starting" | "up";

export interface Slot {
  id: NodeId;
  name: string;
  peer: PeerInfo;
  disk: SimDisk;
  state: SlotState;
  /** Bumped on every start and every crash, so late callbacks of an old life are ignored. */
  life: number;
  member?: SimMember;
  clock?: ScopedClock;
  transport?: SimTransport;
  startError?: unknown;
}

export class SimCluster {
  readonly network: SimNetwork;
  readonly slots: Slot[] = [];
  private readonly crashListeners: ((id: NodeId) => void)[] = [];
  /** Members that failed to start (e.g. corrupt data): a failure unless a test expects it. */
  readonly startFailures: { id: NodeId; error: unknown }[] = [];
  /** Members something happened to since the last invariant check. */
  readonly touched = new Set<NodeId>();

  constructor(
    readonly clock: SimClock,
    private readonly rng: Rng,
    readonly opts: ClusterOptions,
    readonly trace: Trace,
  ) {
    this.network = new SimNetwork(clock, rng.fork(), opts.net, (l) => trace.add(l));
    for (let i = 1; i <= opts.size; i++) {
      const id = String(i);
      const name = `m${i}`;
      const peer: PeerInfo = { id, name, peerURLs: [`http://${name}:2380`], clientURLs: [`http://${name}:2379`] };
      const disk = new SimDisk(name, clock, rng.fork(), opts.disk, (l) => trace.add(l));
      disk.onComplete = () => this.touched.add(id);
      this.slots.push({ id, name, peer, disk, state: "down", life: 0 });
    }
  }

  get size(): number {
    return this.slots.length;
  }

  get quorum(): number {
    return Math.floor(this.slots.length / 2) + 1;
  }

  slot(id: NodeId): Slot {
    const s = this.slots.find((x) => x.id === id);
    if (!s) throw new Error(`no member ${id}`);
    return s;
  }

  config(s: Slot): MemberConfig {
    return {
      name: s.name,
      memberId: s.id,
      clusterId: "4242",
      initialCluster: this.slots.map((x) => x.peer),
      initialClusterState: "new",
      ...this.opts.member,
    };
  }

  /** Starts member `id` on its disk; it joins the network once Member.start resolves. */
  start(id: NodeId): void {
    const s = this.slot(id);
    if (s.state !== "down") return;
    const life = ++s.life;
    s.state = "starting";
    const scoped = this.clock.scope(() => this.touched.add(s.id));
    s.clock = scoped;
    const rng = this.rng.fork();
    const deps: MemberDeps = {
      log: s.disk.open(),
      transport: (cb) => {
        const t = this.network.transport(s.id, cb);
        if (s.life === life) s.transport = t;
        else t.kill();
        return t;
      },
      clock: scoped,
      random: () => rng.next(),
      ...(this.opts.memberLogs ? { logger: (line: string) => this.trace.add(line) } : {}),
    };
    this.trace.add(`cluster: starting ${s.name}`);
    this.opts.factory(this.config(s), deps).then(
      (m) => {
        if (s.life !== life) {
          void m.stop().catch(() => {});
          return;
        }
        s.member = m;
        s.state = "up";
        this.touched.add(s.id);
        this.network.setReceiver(s.id, (msgs) => {
          if (s.life !== life) return;
          this.touched.add(s.id);
          m.receive(msgs);
        });
        this.trace.add(`cluster: ${s.name} is up`);
      },
      (err: unknown) => {
        if (s.life !== life) return;
        s.state = "down";
        s.startError = err;
        scoped.kill();
        this.startFailures.push({ id: s.id, error: err });
        this.trace.add(`cluster: ${s.name} failed to start: ${(err as Error)?.message ?? err}`);
      },
    );
  }

  /** kill -9: the process and everything in its memory is gone; the disk decides what stays. */
  crash(id: NodeId): void {
    const s = this.slot(id);
    if (s.state === "down") return;
    s.life++;
    s.state = "down";
    s.clock?.kill();
    s.transport?.kill();
    this.network.setReceiver(s.id, undefined);
    const r = s.disk.crash();
    this.trace.add(`cluster: CRASH ${s.name} (disk: ${r.lostInFlight} in-flight lost, ${r.tornInFlight} torn, ${r.completedInFlight} completed, ${r.lostUnsynced} unsynced lost)`);
    s.member = undefined;
    s.clock = undefined;
    s.transport = undefined;
    for (const l of this.crashListeners) l(s.id);
  }

  /** A clean stop (Member.stop), then the disk is flushed as the OS would on exit. */
  async stopClean(id: NodeId): Promise<void> {
    const s = this.slot(id);
    if (s.state !== "up" || !s.member) return;
    const m = s.member;
    const life = s.life;
    this.trace.add(`cluster: stopping ${s.name}`);
    for (const l of this.crashListeners) l(s.id);
    await m.stop();
    if (s.life !== life) return;
    s.life++;
    s.state = "down";
    s.clock?.kill();
    s.transport?.kill();
    this.network.setReceiver(s.id, undefined);
    s.disk.flush();
    s.member = undefined;
    this.trace.add(`cluster: ${s.name} stopped`);
  }

  onCrash(fn: (id: NodeId) => void): void {
    this.crashListeners.push(fn);
  }

  /** The member a client is about to call (marks it as touched). */
  use(s: Slot): SimMember {
    this.touched.add(s.id);
    return s.member!;
  }

  up(): Slot[] {
    return this.slots.filter((s) => s.state === "up" && s.member);
  }

  down(): Slot[] {
    return this.slots.filter((s) => s.state === "down");
  }

  /** The member that is leader in the highest term, if any. */
  leader(): Slot | undefined {
    let best: Slot | undefined;
    let term = -1;
    for (const s of this.up()) {
      const st = s.member!.raftStatus();
      if (st.state === "leader" && st.term > term) {
        best = s;
        term = st.term;
      }
    }
    return best;
  }

  /** Every member up, and all agree on one leader. */
  stable(): boolean {
    const up = this.up();
    if (up.length !== this.size) return false;
    const l = this.leader();
    return !!l && up.every((s) => s.member!.raftStatus().lead === l.id);
  }

  setNetFaults(f: NetFaults): void {
    this.network.setFaults(f);
  }

  setDiskFaults(id: NodeId, f: DiskFaults): void {
    this.slot(id).disk.setFaults(f);
  }
}
