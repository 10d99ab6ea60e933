// Book 12.9: the fault injector. At random virtual times it crashes members (the leader more
// often), restarts them, stops them cleanly, cuts the network into partitions, clogs links,
// makes the network lossy or slow and the disks slow — then, at the end, heals everything.
import type { SimClock } from "./clock.js";
import type { SimCluster } from "./cluster.js";
import type { DiskFaults } from "./disk.js";
import type { NetFaults } from "./network.js";
import type { Rng } from "./rng.js";
import type { Trace } from "./trace.js";

export interface NemesisOptions {
  /** Virtual ms between faults, [min, max]. */
  everyMs: [number, number];
  /** How long a crashed member stays down, [min, max]. */
  downMs: [number, number];
  /** How long a partition or clog lasts, [min, max]. */
  faultMs: [number, number];
  /** Allow more than a minority down at once (the cluster then stalls, but must stay safe). */
  allowMajorityDown: boolean;
  weights: Record<FaultKind, number>;
}

export type FaultKind =
  | "crash" | "crashLeader" | "crashMidWrite" | "stopClean" | "isolate" | "isolateLeader" | "split" | "cutOneWay"
  | "clog" | "lossy" | "slowDisk" | "moveLeader" | "none";

export const defaultFaultWeights: Record<FaultKind, number> = {
  crash: 3, crashLeader: 3, crashMidWrite: 3, stopClean: 1, isolate: 2, isolateLeader: 2, split: 2, cutOneWay: 1,
  clog: 2, lossy: 2, slowDisk: 1, moveLeader: 1, none: 2,
};

export class Nemesis {
  private running = false;
  private readonly baseNet: NetFaults;
  readonly counts: Record<string, number> = {};

  constructor(
    private readonly cluster: SimCluster,
    private readonly clock: SimClock,
    private readonly rng: Rng,
    private readonly opts: NemesisOptions,
    private readonly trace: Trace,
  ) {
    this.baseNet = cluster.network.currentFaults;
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  /** No more faults: heal the network, restore the disks, restart every member that is down. */
  healAll(): void {
    this.running = false;
    this.cluster.network.heal();
    this.cluster.setNetFaults(this.baseNet);
    for (const s of this.cluster.slots) {
      this.cluster.setDiskFaults(s.id, this.cluster.opts.disk);
      s.disk.armCrash(undefined);
      if (s.state === "down") this.cluster.start(s.id);
    }
    this.trace.add("nemesis: healed everything");
  }

  private schedule(): void {
    if (!this.running) return;
    this.clock.setTimeout(() => {
      if (!this.running) return;
      this.inject();
      this.schedule();
    }, this.rng.between(this.opts.everyMs[0], this.opts.everyMs[1]));
  }

  private later(ms: number, fn: () => void): void {
    this.clock.setTimeout(() => {
      if (this.running) fn();
    }, ms);
  }

  private inject(): void {
    const kind = this.rng.weighted(Object.entries(this.opts.weights).map(([k, w]) => [w, k as FaultKind] as const));
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    const c = this.cluster;
    const r = this.rng;
    const ids = c.slots.map((s) => s.id);
    const faultMs = (): number => r.between(this.opts.faultMs[0], this.opts.faultMs[1]);
    const maxDown = this.opts.allowMajorityDown ? c.size : c.size - c.quorum;
    const downCount = c.slots.filter((s) => s.state !== "up").length;
    switch (kind) {
      case "crash":
      case "crashLeader":
      case "crashMidWrite":
      case "stopClean": {
        if (downCount >= maxDown) return;
        const up = c.up();
        if (up.length === 0) return;
        const victim = kind === "crashLeader" ? (c.leader() ?? r.pick(up)) : r.pick(up);
        const restart = (): void => this.later(r.between(this.opts.downMs[0], this.opts.downMs[1]), () => {
          if (victim.state === "down") c.start(victim.id);
          else this.later(500, () => victim.state === "down" && c.start(victim.id));
        });
        if (kind === "stopClean") void c.stopClean(victim.id);
        else if (kind === "crashMidWrite") {
          // Dies while its next disk write is in flight (whenever that comes).
          victim.disk.armCrash(() => {
            if (victim.state !== "up" || !this.running) return;
            c.crash(victim.id);
            restart();
          });
          return;
        } else c.crash(victim.id);
        restart();
        return;
      }
      case "isolate":
      case "isolateLeader": {
        const who = kind === "isolateLeader" ? (c.leader()?.id ?? r.pick(ids)) : r.pick(ids);
        c.network.partition([who], ids.filter((x) => x !== who));
        this.later(faultMs(), () => c.network.heal());
        return;
      }
      case "split": {
        const shuffled = r.shuffle([...ids]);
        const k = r.int(1, Math.floor(c.size / 2));
        c.network.partition(shuffled.slice(0, k), shuffled.slice(k));
        this.later(faultMs(), () => c.network.heal());
        return;
      }
      case "cutOneWay": {
        const [a, b] = r.shuffle([...ids]);
        c.network.cutLink(a!, b!);
        this.later(faultMs(), () => c.network.heal());
        return;
      }
      case "clog": {
        const [a, b] = r.shuffle([...ids]);
        const ms = faultMs();
        c.network.clog(a!, b!, ms);
        if (r.chance(0.5)) c.network.clog(b!, a!, ms);
        return;
      }
      case "lossy": {
        const f: NetFaults = { ...this.baseNet, dropChance: r.between(0.05, 0.3), delayMs: [1, r.between(10, 80)], dupChance: r.between(0, 0.05) };
        c.setNetFaults(f);
        this.trace.add(`nemesis: lossy network (drop ${f.dropChance.toFixed(2)}, delay up to ${f.delayMs[1].toFixed(0)}ms)`);
        this.later(faultMs(), () => {
          c.setNetFaults(this.baseNet);
          this.trace.add("nemesis: network back to normal");
        });
        return;
      }
      case "slowDisk": {
        const who = r.pick(ids);
        const f: DiskFaults = { ...c.opts.disk, writeMs: [1, 20], syncMs: [5, r.between(20, 150)] };
        c.setDiskFaults(who, f);
        this.trace.add(`nemesis: slow disk on m${who}`);
        this.later(faultMs(), () => c.setDiskFaults(who, c.opts.disk));
        return;
      }
      case "moveLeader": {
        // etcdctl move-leader: a graceful leadership transfer (Raft's TimeoutNow).
        const l = c.leader();
        const to = l && r.pick(c.up().filter((s) => s.id !== l.id).concat([l]));
        if (!l || !to || to.id === l.id) return;
        this.trace.add(`nemesis: move leader ${l.name} -> ${to.name}`);
        c.use(l).moveLeader(to.id).then(
          () => this.trace.add(`nemesis: leader moved to ${to.name}`),
          (err: unknown) => this.trace.add(`nemesis: move leader failed: ${(err as Error).message}`),
        );
        return;
      }
      case "none":
        return;
    }
  }
}
