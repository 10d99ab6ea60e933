// Book 12.5 and 12.9: a simulated network between members. Every Raft message gets a random
// delay; links can drop, duplicate and reorder messages, be cut (partitions) or clogged, and a
// message to a dead or unreachable peer may be reported back as unreachable, as etcd's does.
import type { Message, NodeId } from "../raft/types.js";
import type { PeerInfo, Transport, TransportCallbacks } from "../server/deps.js";
import type { SimClock } from "./clock.js";
import type { Rng } from "./rng.js";

export interface NetFaults {
  /** One-way delay in virtual ms, [min, max]. */
  delayMs: [number, number];
  dropChance: number;
  dupChance: number;
  /** Chance of an extra delay of up to spikeMs (reorders messages unless fifo). */
  spikeChance: number;
  spikeMs: number;
  /** Keep each link in order, as a TCP stream does. */
  fifo: boolean;
  /** Duplicate forwarded proposals (MsgProp) too. Off by default: like the HTTP transport, the
   * simulated network never sends a message twice on purpose, and a duplicated proposal is a
   * second proposal, which the member applies twice (see sim.test.ts, "known issues"). Other
   * Raft messages are idempotent and are duplicated freely. */
  dupProposals: boolean;
  /** Chance that an undeliverable message is reported through onUnreachable. */
  unreachableChance: number;
}

export const defaultNetFaults: NetFaults = {
  delayMs: [0.5, 5],
  dropChance: 0.01,
  dupChance: 0.01,
  spikeChance: 0.01,
  spikeMs: 200,
  fifo: false,
  dupProposals: false,
  unreachableChance: 0.5,
};

const link = (from: NodeId, to: NodeId): string => `${from}>${to}`;

/** A deep copy of a message (strings are immutable, so they are shared). */
function copyMessage(m: Message): Message {
  const out: Message = { ...m, entries: m.entries.map((e) => ({ ...e })) };
  if (m.snapshot) {
    const meta = m.snapshot.meta;
    out.snapshot = { meta: { ...meta, conf: { voters: [...meta.conf.voters], learners: [...meta.conf.learners] } }, data: m.snapshot.data };
  }
  return out;
}

export class SimNetwork {
  private receivers = new Map<NodeId, (messages: Message[]) => void>();
  private cut = new Set<string>();
  private clogged = new Map<string, number>();
  private lastOnLink = new Map<string, number>();
  readonly stats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, unreachable: 0 };

  constructor(
    private readonly clock: SimClock,
    private readonly rng: Rng,
    private faults: NetFaults = defaultNetFaults,
    private readonly trace: (line: string) => void = () => {},
  ) {}

  setFaults(f: NetFaults): void {
    this.faults = f;
  }

  get currentFaults(): NetFaults {
    return this.faults;
  }

  /** The member `id` is up and takes messages through `receive`, or (undefined) is down. */
  setReceiver(id: NodeId, receive: ((messages: Message[]) => void) | undefined): void {
    if (receive) this.receivers.set(id, receive);
    else this.receivers.delete(id);
  }

  /** A transport for one incarnation of member `from`. */
  transport(from: NodeId, cb: TransportCallbacks): SimTransport {
    return new SimTransport(this, from, cb);
  }

  // ---- partitions and clogs ------------------------------------------------------------------

  /** Cuts both directions between every node of `a` and every node of `b`. */
  partition(a: NodeId[], b: NodeId[]): void {
    for (const x of a) for (const y of b) {
      this.cut.add(link(x, y));
      this.cut.add(link(y, x));
    }
    this.trace(`net: partition [${a.join(",")}] | [${b.join(",")}]`);
  }

  /** Cuts one direction only (an asymmetric fault). */
  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(link(from, to));
    this.trace(`net: cut ${from} -> ${to}`);
  }

  /** Holds messages on from→to until `ms` from now, then lets them through. */
  clog(from: NodeId, to: NodeId, ms: number): void {
    this.clogged.set(link(from, to), this.clock.now() + ms);
    this.trace(`net: clog ${from} -> ${to} for ${Math.round(ms)}ms`);
  }

  heal(): void {
    this.cut.clear();
    this.clogged.clear();
    this.trace("net: healed");
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(link(from, to));
  }

  get partitioned(): boolean {
    return this.cut.size > 0;
  }

  // ---- delivery --------------------------------------------------------------------------------

  send(t: SimTransport, messages: Message[]): void {
    for (const m of messages) {
      this.stats.sent++;
      const copies = this.rng.chance(this.faults.dupChance) && (m.type !== "prop" || this.faults.dupProposals) ? 2 : 1;
      if (copies === 2) this.stats.duplicated++;
      for (let c = 0; c < copies; c++) this.route(t, m);
    }
  }

  private route(t: SimTransport, m: Message): void {
    const f = this.faults;
    const to = m.to;
    if (!this.receivers.has(to) || this.isCut(t.from, to) || this.rng.chance(f.dropChance)) {
      this.lose(t, m);
      return;
    }
    // Copy now, as the wire would: the receiver never shares objects with the sender.
    const wire = copyMessage(m);
    let delay = this.rng.between(f.delayMs[0], f.delayMs[1]);
    if (this.rng.chance(f.spikeChance)) delay += this.rng.between(0, f.spikeMs);
    const key = link(t.from, to);
    let at = this.clock.now() + delay;
    if (f.fifo) at = Math.max(at, this.lastOnLink.get(key) ?? 0);
    this.lastOnLink.set(key, at);
    this.clock.schedule(() => this.arrive(t, m, wire), at - this.clock.now(), `msg ${m.type} ${t.from}->${to}`);
  }

  private arrive(t: SimTransport, m: Message, wire: Message): void {
    const key = link(t.from, m.to);
    const until = this.clogged.get(key);
    if (until !== undefined && until > this.clock.now()) {
      this.clock.schedule(() => this.arrive(t, m, wire), until - this.clock.now() + this.rng.between(0, 1), `clogged ${key}`);
      return;
    }
    const receive = this.receivers.get(m.to);
    if (!receive || this.isCut(t.from, m.to)) {
      this.lose(t, m);
      return;
    }
    this.stats.delivered++;
    if (m.type === "snap") t.report(() => t.cb.onSnapshotStatus(m.to, true), this.rng.between(0, 2));
    receive([wire]);
  }

  private lose(t: SimTransport, m: Message): void {
    this.stats.dropped++;
    if (m.type === "snap") {
      t.report(() => t.cb.onSnapshotStatus(m.to, false), this.rng.between(1, 20));
    } else if (this.rng.chance(this.faults.unreachableChance)) {
      this.stats.unreachable++;
      t.report(() => t.cb.onUnreachable(m.to), this.rng.between(1, 20));
    }
  }

  /** Used by SimTransport to call back into its member later, on the virtual clock. */
  later(fn: () => void, ms: number, label: string): void {
    this.clock.schedule(fn, ms, label);
  }
}

/** One member incarnation's view of the network. Killed with the member on a crash. */
export class SimTransport implements Transport {
  private closed = false;
  peers: PeerInfo[] = [];

  constructor(private readonly net: SimNetwork, readonly from: NodeId, readonly cb: TransportCallbacks) {}

  send(messages: Message[]): void {
    if (!this.closed) this.net.send(this, messages);
  }

  setPeers(peers: PeerInfo[]): void {
    this.peers = peers;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The process died: nothing more goes out, and no callback comes back. */
  kill(): void {
    this.closed = true;
  }

  /** Calls back into the member later, unless it has died or closed by then. */
  report(fn: () => void, ms: number): void {
    this.net.later(() => {
      if (!this.closed) fn();
    }, ms, `transport-callback ${this.from}`);
  }
}
