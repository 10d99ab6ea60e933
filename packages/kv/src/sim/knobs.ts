// Book 12.9: everything about a simulated run that the seed decides: member timings (with
// BUGGIFY-style extremes such as a snapshot every 3 entries), network and disk quality, the
// client mix and how often the nemesis strikes.
import type { MemberConfig } from "../server/member.js";
import { defaultDiskFaults, type DiskFaults } from "./disk.js";
import { defaultFaultWeights, type NemesisOptions } from "./nemesis.js";
import { defaultNetFaults, type NetFaults } from "./network.js";
import type { Rng } from "./rng.js";
import { defaultWeights, type WorkloadOptions } from "./workload.js";

export interface KnobOptions {
  clients?: number;
  /** Aggressive knobs (default true): tiny snapshot counts, slow disks, lossy links. */
  buggify?: boolean;
}

export interface Knobs {
  member: Partial<MemberConfig>;
  net: NetFaults;
  disk: DiskFaults;
  workload: WorkloadOptions;
  nemesis: NemesisOptions;
  slowChance: number;
  reconnectEveryMs: number;
}

/** Draws the run's configuration from the seed. */
export function knobs(rng: Rng, o: KnobOptions): Knobs {
  const b = o.buggify ?? true;
  const member: Partial<MemberConfig> = {
    tickMs: 100,
    electionTicks: 10,
    heartbeatTicks: 1,
    snapshotCount: b ? rng.pick([3, 5, 8, 16, 40, 10_000]) : 10_000,
    snapshotCatchUpEntries: b ? rng.pick([1, 2, 5, 20, 100]) : 5_000,
    requestTimeoutMs: rng.pick([2_000, 4_000]),
    progressNotifyIntervalMs: rng.pick([500, 1_000, 3_000]),
  };
  const net: NetFaults = {
    ...defaultNetFaults,
    delayMs: [0.2, b ? rng.pick([2, 5, 20]) : 5],
    dropChance: b ? rng.pick([0, 0.01, 0.05]) : 0.01,
    dupChance: b ? rng.pick([0, 0.01, 0.03]) : 0.01,
    fifo: rng.chance(0.5),
  };
  const disk: DiskFaults = b && rng.chance(0.3) ? { ...defaultDiskFaults, writeMs: [0.5, 5], syncMs: [1, 20], spikeChance: 0.05 } : defaultDiskFaults;
  const keys = ["/k/a", "/k/b", "/k/c", "/k/d"].slice(0, rng.int(2, 4));
  const workload: WorkloadOptions = {
    clients: o.clients ?? rng.int(4, 8),
    prefix: "/k/",
    keys,
    leaseKeys: ["/l/a", "/l/b"],
    ephemeralKeys: ["/e/a"],
    thinkMs: [0, rng.pick([20, 100, 300])],
    timeoutMs: 5_000,
    weights: { ...defaultWeights, range: rng.chance(0.3) ? defaultWeights.range : 0 },
  };
  const nemesis: NemesisOptions = {
    everyMs: [300, rng.pick([1_500, 3_000])],
    downMs: [100, rng.pick([2_000, 6_000])],
    faultMs: [200, rng.pick([2_000, 5_000])],
    allowMajorityDown: rng.chance(0.2),
    weights: defaultFaultWeights,
  };
  return { member, net, disk, workload, nemesis, slowChance: b ? rng.pick([0, 0.05, 0.3]) : 0, reconnectEveryMs: rng.pick([0, 3_000]) };
}
