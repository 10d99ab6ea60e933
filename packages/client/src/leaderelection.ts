// Book 11.2 (and 2.3): leader election over a coordination.k8s.io Lease, as client-go's
// tools/leaderelection does it, so only one replica of a scheduler or controller manager acts at once.
import { type Lease, isNotFound, rfc3339Micro } from "@corekube/api";
import type { RestClient, ResourceClient } from "./rest.js";
import { LEASES } from "./resources.js";

/** client-go's JitterFactor: waits between tries are stretched by up to this much, and renewDeadline must exceed retryPeriod times it. */
export const JITTER_FACTOR = 1.2;

export interface LeaderCallbacks {
  /** We hold the lease; do the work until `signal` aborts. Not awaited. */
  onStartedLeading(signal: AbortSignal): void;
  /** We were leading and stopped (lease lost or run cancelled). Called only after onStartedLeading. */
  onStoppedLeading(): void;
  /** Someone (perhaps us) was seen holding the lease who was not seen holding it before. */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectorOptions {
  client: RestClient;
  lock: { namespace: string; name: string };
  /** Unique per candidate, usually the host name plus a random suffix. */
  identity: string;
  /** How long others wait, after they last saw the lease change, before taking it. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up leading. Default 10 s. */
  renewDeadlineMs?: number;
  /** Time between tries to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  /** On cancel, clear the holder so another candidate can take over at once. Default true. */
  releaseOnCancel?: boolean;
  callbacks: LeaderCallbacks;
}

type LeaseSpec = Lease["spec"];

function sameRecord(a: LeaseSpec | undefined, b: LeaseSpec | undefined): boolean {
  return (
    (a?.holderIdentity ?? "") === (b?.holderIdentity ?? "") &&
    a?.leaseDurationSeconds === b?.leaseDurationSeconds &&
    a?.acquireTime === b?.acquireTime &&
    a?.renewTime === b?.renewTime &&
    (a?.leaseTransitions ?? 0) === (b?.leaseTransitions ?? 0)
  );
}

/** Resolves after `ms`, or early (with false) when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Checks options as client-go's NewLeaderElector does; throws an Error naming the bad value. */
export function validateLeaderElectorOptions(o: LeaderElectorOptions): Required<Omit<LeaderElectorOptions, "callbacks" | "client" | "lock">> {
  const leaseDurationMs = o.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
  const retryPeriodMs = o.retryPeriodMs ?? 2_000;
  for (const [name, v] of [
    ["leaseDurationMs", leaseDurationMs],
    ["renewDeadlineMs", renewDeadlineMs],
    ["retryPeriodMs", retryPeriodMs],
  ] as const) {
    if (!(Number.isFinite(v) && v > 0)) throw new Error(`leader election: ${name} must be greater than zero, got ${v}`);
  }
  if (!(leaseDurationMs > renewDeadlineMs)) {
    throw new Error(`leader election: leaseDurationMs (${leaseDurationMs}) must be greater than renewDeadlineMs (${renewDeadlineMs})`);
  }
  if (!(renewDeadlineMs > JITTER_FACTOR * retryPeriodMs)) {
    throw new Error(
      `leader election: renewDeadlineMs (${renewDeadlineMs}) must be greater than retryPeriodMs*${JITTER_FACTOR} (${JITTER_FACTOR * retryPeriodMs})`,
    );
  }
  if (!o.identity) throw new Error("leader election: identity must not be empty");
  if (!o.lock?.name || !o.lock?.namespace) throw new Error("leader election: lock needs a namespace and a name");
  if (typeof o.callbacks?.onStartedLeading !== "function") throw new Error("leader election: callbacks.onStartedLeading is required");
  if (typeof o.callbacks?.onStoppedLeading !== "function") throw new Error("leader election: callbacks.onStoppedLeading is required");
  return { identity: o.identity, leaseDurationMs, renewDeadlineMs, retryPeriodMs, releaseOnCancel: o.releaseOnCancel ?? true };
}

/**
 * One candidate. run() tries to take the Lease, leads while it keeps renewing it, and returns when it
 * stops leading or is cancelled. A lease held by someone else is taken only when it has not changed
 * for leaseDurationSeconds as timed on *this* machine, so clocks on other machines do not matter.
 */
export class LeaderElector {
  private readonly leases: ResourceClient<Lease>;
  private readonly cfg: ReturnType<typeof validateLeaderElectorOptions>;
  private readonly lock: { namespace: string; name: string };
  private readonly callbacks: LeaderCallbacks;
  /** The lease as last read or written, and when (monotonic ms) its record last changed. */
  private observed: Lease | undefined;
  private observedAt = 0;
  private reportedLeader = "";
  private leading = false;
  private running = false;

  constructor(opts: LeaderElectorOptions) {
    this.cfg = validateLeaderElectorOptions(opts);
    this.leases = opts.client.resource<Lease>(LEASES);
    this.lock = { namespace: opts.lock.namespace, name: opts.lock.name };
    this.callbacks = opts.callbacks;
  }

  /** True between onStartedLeading and onStoppedLeading. */
  isLeader(): boolean {
    return this.leading;
  }

  /** The holder in the lease as last seen ("" when none or not seen yet). */
  getLeader(): string {
    return this.observed?.spec?.holderIdentity ?? "";
  }

  /** Whole seconds, rounded up, so the lease never says less than we were asked for. */
  private get leaseDurationSeconds(): number {
    return Math.max(1, Math.ceil(this.cfg.leaseDurationMs / 1000));
  }

  async run(signal: AbortSignal): Promise<void> {
    if (this.running) throw new Error("leader election: run() is already running");
    this.running = true;
    try {
      if (!(await this.acquire(signal))) return;
      const lead = new AbortController();
      const onCancel = () => lead.abort(signal.reason);
      signal.addEventListener("abort", onCancel, { once: true });
      this.leading = true;
      try {
        this.callbacks.onStartedLeading(lead.signal);
        await this.renew(signal);
      } finally {
        signal.removeEventListener("abort", onCancel);
        lead.abort(new Error("leader election: stopped leading"));
        this.leading = false;
        if (this.cfg.releaseOnCancel) await this.release();
        this.callbacks.onStoppedLeading();
      }
    } finally {
      this.running = false;
    }
  }

  /** Tries every retryPeriod (with jitter) until we hold the lease; false when cancelled first. */
  private async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew(signal)) return true;
      const wait = this.cfg.retryPeriodMs * (1 + Math.random() * JITTER_FACTOR);
      if (!(await sleep(wait, signal))) return false;
    }
    return false;
  }

  /** Renews every retryPeriod; returns when cancelled or when a round could not renew within renewDeadline. */
  private async renew(signal: AbortSignal): Promise<void> {
    for (;;) {
      if (!(await sleep(this.cfg.retryPeriodMs, signal))) return;
      const deadline = performance.now() + this.cfg.renewDeadlineMs;
      const round = AbortSignal.any([signal, AbortSignal.timeout(this.cfg.renewDeadlineMs)]);
      let renewed = false;
      while (!round.aborted) {
        if (await this.tryAcquireOrRenew(round)) {
          renewed = true;
          break;
        }
        if (performance.now() >= deadline) break;
        if (!(await sleep(this.cfg.retryPeriodMs, round))) break;
      }
      if (!renewed) return;
    }
  }

  private observe(lease: Lease): void {
    if (!this.observed || !sameRecord(this.observed.spec, lease.spec)) this.observedAt = performance.now();
    this.observed = lease;
    const holder = lease.spec?.holderIdentity ?? "";
    if (holder !== "" && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      this.callbacks.onNewLeader?.(holder);
    }
  }

  /** Whether the lease, as last seen, names us. */
  private observedSelf(): boolean {
    return this.getLeader() === this.cfg.identity;
  }

  private observedValid(now: number): boolean {
    const seconds = this.observed?.spec?.leaseDurationSeconds ?? this.leaseDurationSeconds;
    return this.observedAt + seconds * 1000 > now;
  }

  /** One try: create the lease, renew ours, or take over an expired or released one. */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { namespace, name } = this.lock;
    const nowIso = rfc3339Micro(new Date());
    let current: Lease;
    try {
      current = await this.leases.get(name, namespace, signal);
    } catch (e) {
      if (!isNotFound(e)) return false;
      try {
        const created = await this.leases.create(
          {
            metadata: { name, namespace },
            spec: {
              holderIdentity: this.cfg.identity,
              leaseDurationSeconds: this.leaseDurationSeconds,
              acquireTime: nowIso,
              renewTime: nowIso,
              leaseTransitions: 0,
            },
          },
          { namespace, signal },
        );
        this.observe(created);
        return true;
      } catch {
        return false; // someone else created it first (AlreadyExists), or the server failed
      }
    }
    this.observe(current);
    const old = current.spec ?? {};
    if ((old.holderIdentity ?? "") !== "" && !this.observedSelf() && this.observedValid(performance.now())) return false;

    const ours = this.observedSelf();
    const spec: LeaseSpec = {
      holderIdentity: this.cfg.identity,
      leaseDurationSeconds: this.leaseDurationSeconds,
      acquireTime: ours && old.acquireTime ? old.acquireTime : nowIso,
      renewTime: nowIso,
      leaseTransitions: (old.leaseTransitions ?? 0) + (ours ? 0 : 1),
    };
    try {
      // `current` carries its resourceVersion: if anyone wrote since our read, this is a Conflict.
      const updated = await this.leases.update({ ...current, spec }, { namespace, signal });
      this.observe(updated);
      return true;
    } catch {
      return false; // a Conflict means someone else wrote; the next try reads again
    }
  }

  /** Gives the lease up (holder cleared, 1 s duration) if we still hold it as last seen. */
  private async release(): Promise<void> {
    if (!this.observed || !this.observedSelf()) return;
    const nowIso = rfc3339Micro(new Date());
    const spec: LeaseSpec = {
      holderIdentity: "",
      leaseDurationSeconds: 1,
      acquireTime: nowIso,
      renewTime: nowIso,
      leaseTransitions: this.observed.spec?.leaseTransitions ?? 0,
    };
    try {
      const updated = await this.leases.update(
        { ...this.observed, spec },
        { namespace: this.lock.namespace, signal: AbortSignal.timeout(this.cfg.renewDeadlineMs) },
      );
      this.observe(updated);
    } catch {
      // Best effort: others take over once leaseDuration passes anyway.
    }
  }
}
