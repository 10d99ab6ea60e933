// Book 9.3: the probe manager: one worker per container and probe kind that probes on a period and turns
// runs of results into verdicts (ready, started, unhealthy) that the pod worker acts on.
import type { Container } from "@corekube/api";
import { type ExecSyncFn, type ProbeOutcome, type ProbeTarget, type RunProbeOptions, runProbe as defaultRunProbe } from "./run.js";
import { type ProbeTimers, realTimers } from "./timers.js";
import { type ProbeKind, ProbeSpecError, type ResolvedProbe, probeOf, resolveProbe } from "./types.js";

/** A liveness or startup verdict: "failed" once failureThreshold runs in a row failed. */
export type ProbeVerdict = "pending" | "passed" | "failed";

/** A Warning event the manager asks the kubelet to record against the pod (field spec.containers{name}). */
export interface ProbeEvent {
  pod: { uid: string; namespace?: string; name?: string };
  container: string;
  probe: ProbeKind;
  type: "Warning";
  reason: "Unhealthy" | "ProbeWarning";
  message: string;
}

export interface ProbeManagerOptions {
  /** Runs exec probes in containers; without it exec probes report "unknown". */
  execSync?: ExecSyncFn;
  /** Real timers by default; FakeProbeTimers in tests. */
  timers?: ProbeTimers;
  /** Called with the pod's uid when a verdict the probes found changes, so the pod worker resyncs. */
  onChange?: (podUid: string) => void;
  recordEvent?: (e: ProbeEvent) => void;
  /** How long one probe second lasts in ms (default 1000). Only tests change it, to run probes quickly. */
  secondMs?: number;
  /** Replaces the probe runner (tests). */
  runProbe?: (probe: ResolvedProbe, target: ProbeTarget, opts: RunProbeOptions) => Promise<ProbeOutcome>;
}

/** A container that just started, as the pod worker reports it. */
export interface ContainerStart {
  /** ip is the pod IP, the host of HTTP and TCP probes that name none. */
  pod: { uid: string; namespace?: string; name?: string; ip?: string };
  container: Container;
  containerId: string;
  /** When the container started: ms since the epoch, a Date or an RFC 3339 time; defaults to now. */
  startedAt?: number | string | Date;
}

type Result = "success" | "failure" | "unknown";

const INITIAL: Record<ProbeKind, Result> = { readiness: "failure", liveness: "unknown", startup: "unknown" };
const TITLE: Record<ProbeKind, string> = { readiness: "Readiness", liveness: "Liveness", startup: "Startup" };

interface Tracked {
  pod: ContainerStart["pod"];
  container: Container;
  containerId: string;
  startedAt: number;
  workers: Map<ProbeKind, Worker>;
}

class Worker {
  result: Result;
  private lastRun: "success" | "failure" | undefined;
  private runs = 0;
  private onHold = false;
  private inFlight = false;
  private timer: unknown;
  private generation = 0;
  private stopped = false;

  constructor(
    private readonly m: ProbeManager,
    private readonly entry: Tracked,
    readonly kind: ProbeKind,
    private readonly probe: ResolvedProbe | ProbeSpecError,
  ) {
    this.result = INITIAL[kind];
  }

  private get sec(): number {
    return this.m.secondMs;
  }

  private get periodMs(): number {
    return this.probe instanceof ProbeSpecError ? 10 * this.sec : this.probe.periodSeconds * this.sec;
  }

  private get firstAt(): number {
    return this.entry.startedAt + (this.probe instanceof ProbeSpecError ? 0 : this.probe.initialDelaySeconds * this.sec);
  }

  /** (Re)starts probing from the container's start: used at creation and when the container restarted. */
  start(): void {
    this.cancel();
    this.generation++;
    this.stopped = false;
    this.result = INITIAL[this.kind];
    this.lastRun = undefined;
    this.runs = 0;
    this.onHold = false;
    this.inFlight = false;
    this.schedule(Math.max(0, this.firstAt - this.m.timers.now()));
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.cancel();
  }

  /** Runs the probe now rather than at the next period, if it is waiting and past its initial delay. */
  trigger(): void {
    if (this.stopped || this.inFlight || this.timer === undefined || this.m.timers.now() < this.firstAt) return;
    this.cancel();
    this.schedule(0);
  }

  private cancel(): void {
    if (this.timer !== undefined) this.m.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    this.timer = this.m.timers.setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.onHold) return;
    if (this.kind === "startup" && this.result === "success") return; // started: the startup probe is done
    const began = this.m.timers.now();
    // Liveness and readiness wait for the startup probe, as upstream's workers do.
    if (this.kind !== "startup" && !this.m.startedNow(this.entry)) {
      this.schedule(this.periodMs);
      return;
    }
    const gen = this.generation;
    this.inFlight = true;
    let outcome: ProbeOutcome;
    if (this.probe instanceof ProbeSpecError) outcome = { result: "unknown", output: this.probe.message };
    else {
      try {
        outcome = await this.m.run(this.probe, this.entry);
      } catch (e) {
        outcome = { result: "unknown", output: (e as Error).message };
      }
    }
    if (this.stopped || gen !== this.generation) return;
    this.inFlight = false;
    this.judge(outcome);
    if (this.stopped || this.onHold || (this.kind === "startup" && this.result === "success")) return;
    this.schedule(Math.max(0, began + this.periodMs - this.m.timers.now()));
  }

  private judge(o: ProbeOutcome): void {
    const what = TITLE[this.kind];
    const output = o.output ?? "";
    if (o.result === "unknown") {
      // The probe could not run: say so, and keep the counts as they were.
      this.m.event(this.entry, this.kind, "Unhealthy", `${what} probe errored: ${output}`);
      return;
    }
    if (o.result === "failure") this.m.event(this.entry, this.kind, "Unhealthy", `${what} probe failed: ${output}`);
    else if (o.warning) this.m.event(this.entry, this.kind, "ProbeWarning", `${what} probe warning: ${output}`);

    if (this.lastRun === o.result) this.runs++;
    else {
      this.lastRun = o.result;
      this.runs = 1;
    }
    const p = this.probe as ResolvedProbe;
    if (o.result === "failure" && this.runs < p.failureThreshold) return;
    if (o.result === "success" && this.runs < p.successThreshold) return;

    const changed = this.result !== o.result;
    this.result = o.result;
    if (o.result === "failure" && this.kind !== "readiness") {
      // A failed liveness or startup probe waits for the container to be restarted.
      this.onHold = true;
      this.runs = 0;
    }
    if (changed) {
      if (this.kind === "startup" && o.result === "success") this.entry.workers.get("readiness")?.trigger();
      this.m.changed(this.entry.pod.uid);
    }
  }
}

const key = (podUid: string, container: string) => `${podUid}/${container}`;

function toMs(t: ContainerStart["startedAt"], now: number): number {
  if (t === undefined) return now;
  const ms = t instanceof Date ? t.getTime() : typeof t === "number" ? t : Date.parse(t);
  return Number.isFinite(ms) ? ms : now;
}

/**
 * Keeps probe workers for running containers and answers the pod worker's questions: is the container
 * ready, has it started, has its liveness or startup probe failed.
 */
export class ProbeManager {
  readonly timers: ProbeTimers;
  readonly secondMs: number;
  private readonly tracked = new Map<string, Tracked>();
  private readonly runner: NonNullable<ProbeManagerOptions["runProbe"]>;

  constructor(private readonly o: ProbeManagerOptions = {}) {
    this.timers = o.timers ?? realTimers;
    this.secondMs = o.secondMs && o.secondMs > 0 ? o.secondMs : 1000;
    this.runner = o.runProbe ?? defaultRunProbe;
  }

  /**
   * Starts probing a container that started. Calling it again for the same containerId only refreshes
   * the pod IP; a new containerId (the container restarted) resets every count and verdict.
   */
  containerStarted(start: ContainerStart): void {
    const k = key(start.pod.uid, start.container.name);
    const now = this.timers.now();
    const cur = this.tracked.get(k);
    if (cur && cur.containerId === start.containerId) {
      cur.pod = { ...start.pod };
      return;
    }
    if (cur) for (const w of cur.workers.values()) w.stop();
    const entry: Tracked = {
      pod: { ...start.pod },
      container: start.container,
      containerId: start.containerId,
      startedAt: toMs(start.startedAt, now),
      workers: new Map(),
    };
    for (const kind of ["startup", "liveness", "readiness"] as const) {
      const spec = probeOf(start.container, kind);
      if (spec === undefined) continue;
      let probe: ResolvedProbe | ProbeSpecError;
      try {
        probe = resolveProbe(kind, spec);
      } catch (e) {
        probe = e instanceof ProbeSpecError ? e : new ProbeSpecError(String(e));
      }
      entry.workers.set(kind, new Worker(this, entry, kind, probe));
    }
    this.tracked.set(k, entry);
    for (const w of entry.workers.values()) w.start();
  }

  /** Stops probing a container that stopped; its verdicts are forgotten (not ready, not started). */
  containerStopped(podUid: string, container: string): void {
    const k = key(podUid, container);
    const cur = this.tracked.get(k);
    if (!cur) return;
    for (const w of cur.workers.values()) w.stop();
    this.tracked.delete(k);
  }

  /** Stops probing every container of a pod. */
  removePod(podUid: string): void {
    for (const e of [...this.tracked.values()]) if (e.pod.uid === podUid) this.containerStopped(podUid, e.container.name);
  }

  /** Stops every worker (kubelet shutdown). */
  stop(): void {
    for (const e of this.tracked.values()) for (const w of e.workers.values()) w.stop();
    this.tracked.clear();
  }

  /** Whether the container counts as ready: started, and its readiness probe (if any) passed last. */
  readiness(podUid: string, container: string): boolean {
    const e = this.tracked.get(key(podUid, container));
    if (!e || !this.startedNow(e)) return false;
    const w = e.workers.get("readiness");
    return w ? w.result === "success" : true;
  }

  /** Whether the container counts as started (ContainerStatus.started): its startup probe passed, or it has none. */
  started(podUid: string, container: string): boolean {
    const e = this.tracked.get(key(podUid, container));
    return e ? this.startedNow(e) : false;
  }

  /** "failed" once the liveness probe failed failureThreshold times in a row; "passed" with no probe. */
  liveness(podUid: string, container: string): ProbeVerdict {
    return this.verdict(podUid, container, "liveness");
  }

  /** "failed" once the startup probe failed failureThreshold times in a row; "passed" once it passed or with no probe. */
  startup(podUid: string, container: string): ProbeVerdict {
    return this.verdict(podUid, container, "startup");
  }

  /** The containerId the manager is probing for a container, if any. */
  containerId(podUid: string, container: string): string | undefined {
    return this.tracked.get(key(podUid, container))?.containerId;
  }

  private verdict(podUid: string, container: string, kind: ProbeKind): ProbeVerdict {
    const w = this.tracked.get(key(podUid, container))?.workers.get(kind);
    if (!w) return "passed";
    return w.result === "success" ? "passed" : w.result === "failure" ? "failed" : "pending";
  }

  /** @internal */
  startedNow(e: Tracked): boolean {
    const w = e.workers.get("startup");
    return !w || w.result === "success";
  }

  /** @internal */
  run(probe: ResolvedProbe, e: Tracked): Promise<ProbeOutcome> {
    return this.runner(
      probe,
      { container: e.container, containerId: e.containerId, ...(e.pod.ip ? { podIP: e.pod.ip } : {}) },
      { timeoutMs: probe.timeoutSeconds * this.secondMs, timers: this.timers, ...(this.o.execSync ? { execSync: this.o.execSync } : {}) },
    );
  }

  /** @internal */
  event(e: Tracked, probe: ProbeKind, reason: ProbeEvent["reason"], message: string): void {
    const pod: ProbeEvent["pod"] = { uid: e.pod.uid };
    if (e.pod.namespace !== undefined) pod.namespace = e.pod.namespace;
    if (e.pod.name !== undefined) pod.name = e.pod.name;
    try {
      this.o.recordEvent?.({ pod, container: e.container.name, probe, type: "Warning", reason, message });
    } catch {
      // A failing event sink must not stop the probes.
    }
  }

  /** @internal */
  changed(podUid: string): void {
    try {
      this.o.onChange?.(podUid);
    } catch {
      // The pod worker's callback failing must not stop the probes.
    }
  }
}
