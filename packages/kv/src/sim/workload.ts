// Book 12.5: simulated clients. Each client loops: pick a member, issue one operation through the
// member's KvService (reads, puts, Kubernetes-style txns that compare mod_revision, deletes, leases,
// compaction), and record invoke, return and result. Timeouts and Unavailable errors are recorded
// as indeterminate: the write may or may not have happened.
import { EtcdError, GrpcCode, type KeyValue, type RangeResponse, type TxnRequest, type TxnResponse } from "../types.js";
import type { SimClock } from "./clock.js";
import type { SimCluster, SimMember } from "./cluster.js";
import { describeOp, type HistoryOp, type KvInput, type KvOutput, type KvView } from "./history.js";
import type { Rng } from "./rng.js";
import type { Trace } from "./trace.js";

/** Hands out positions in the one global order of client events (ops and watch responses). */
export class Recorder {
  private seq = 0;
  readonly history: HistoryOp[] = [];
  /** Errors that are not etcd errors: a member bug (a TypeError escaping, say). */
  readonly unexpected: string[] = [];
  next(): number {
    return ++this.seq;
  }
}

export type OpKind = "get" | "sget" | "getAt" | "range" | "put" | "create" | "update" | "cdelete" | "delete" | "leasePut" | "revoke" | "ephemeral" | "compact";

export interface WorkloadOptions {
  clients: number;
  /** Keys checked for linearizability, all under `prefix`. */
  prefix: string;
  keys: string[];
  /** Keys put with long leases that are revoked by clients (checked too). */
  leaseKeys: string[];
  /** Keys put with short leases that expire on their own (not in the linearizability search). */
  ephemeralKeys: string[];
  thinkMs: [number, number];
  /** The client gives up on a call after this long (the member may be dead). */
  timeoutMs: number;
  weights: Record<OpKind, number>;
}

export const defaultWeights: Record<OpKind, number> = {
  get: 20, sget: 4, getAt: 3, range: 3, put: 16, create: 8, update: 14, cdelete: 5, delete: 4,
  leasePut: 3, revoke: 2, ephemeral: 1, compact: 1,
};

export function view(kv: KeyValue | undefined): KvView | null {
  return kv ? { value: kv.value, modRev: kv.modRevision, createRev: kv.createRevision, version: kv.version, lease: kv.lease || "0" } : null;
}

function failureKv(r: TxnResponse): KvView | null | undefined {
  const first = r.responses[0];
  if (!first || !("responseRange" in first)) return undefined;
  return view(first.responseRange.kvs[0]);
}

const INDETERMINATE = new Set<number>([GrpcCode.Unavailable, GrpcCode.DeadlineExceeded, GrpcCode.Canceled, GrpcCode.Unknown]);

class Timeout extends Error {}

export class Workload {
  private running = false;
  private active = 0;
  private counter = 0;
  /** Per client: the mod_revision it last saw per key (for updates and deletes). */
  private lastSeen: Map<string, number>[] = [];
  /** Per client: leases it granted and attached to a lease key. */
  private leases: { lease: string; key: string }[][] = [];
  private maxRev = 1;
  readonly counts = { ops: 0, indeterminate: 0, failed: 0 };

  constructor(
    private readonly cluster: SimCluster,
    private readonly clock: SimClock,
    private readonly rng: Rng,
    private readonly rec: Recorder,
    private readonly opts: WorkloadOptions,
    private readonly trace: Trace,
  ) {}

  start(): void {
    this.running = true;
    for (let c = 0; c < this.opts.clients; c++) {
      this.lastSeen.push(new Map());
      this.leases.push([]);
      this.active++;
      const rng = this.rng.fork();
      void this.loop(c, rng).finally(() => this.active--);
    }
  }

  /** Clients finish their current operation, then stop. */
  stop(): void {
    this.running = false;
  }

  get idle(): boolean {
    return this.active === 0;
  }

  get highestRevision(): number {
    return this.maxRev;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => this.clock.setTimeout(r, ms));
  }

  private async loop(c: number, rng: Rng): Promise<void> {
    await this.sleep(rng.between(0, this.opts.thinkMs[1]));
    while (this.running) {
      const up = this.cluster.up();
      if (up.length === 0) {
        await this.sleep(100);
        continue;
      }
      const slot = rng.pick(up);
      await this.one(c, rng, slot.name, this.cluster.use(slot));
      await this.sleep(rng.between(this.opts.thinkMs[0], this.opts.thinkMs[1]));
    }
  }

  private value(c: number): string {
    return `c${c}.${++this.counter}`;
  }

  private async one(c: number, rng: Rng, name: string, m: SimMember): Promise<void> {
    const o = this.opts;
    const kind = rng.weighted(Object.entries(o.weights).map(([k, w]) => [w, k as OpKind] as const));
    const key = rng.pick(o.keys);
    const seen = this.lastSeen[c]!;
    const expect = (): number => (seen.has(key) && rng.chance(0.8) ? seen.get(key)! : rng.int(0, this.maxRev));
    switch (kind) {
      case "get":
      case "sget": {
        const serializable = kind === "sget";
        const k = o.leaseKeys.length > 0 && rng.chance(0.15) ? rng.pick(o.leaseKeys) : key;
        await this.call(c, name, { type: "get", key: k, serializable }, async () => {
          const r = await m.range({ key: k, serializable });
          return { type: "get", rev: r.header.revision, kv: view(r.kvs[0]) };
        });
        return;
      }
      case "getAt": {
        // A read of the past, as a paginated Kubernetes list does; may meet a compaction.
        const atRev = Math.max(1, this.maxRev - rng.int(0, 30));
        await this.call(c, name, { type: "get", key, serializable: true, atRev }, async () => {
          const r = await m.range({ key, revision: atRev, serializable: rng.chance(0.5) });
          return { type: "get", rev: r.header.revision, kv: view(r.kvs[0]) };
        });
        return;
      }
      case "range": {
        const end = o.prefix.slice(0, -1) + String.fromCharCode(o.prefix.charCodeAt(o.prefix.length - 1) + 1);
        await this.call(c, name, { type: "range", keys: o.keys }, async () => {
          const r: RangeResponse = await m.range({ key: o.prefix, rangeEnd: end });
          const kvs: Record<string, KvView> = {};
          for (const kv of r.kvs) kvs[kv.key] = view(kv)!;
          return { type: "range", rev: r.header.revision, kvs };
        });
        return;
      }
      case "put": {
        const value = this.value(c);
        await this.call(c, name, { type: "put", key, value }, async () => ({ type: "write", rev: (await m.put({ key, value })).header.revision }));
        return;
      }
      case "create":
      case "update":
      case "cdelete": {
        const value = this.value(c);
        const mod = kind === "create" ? 0 : expect();
        const input: KvInput = kind === "create" ? { type: "create", key, value } : kind === "update" ? { type: "update", key, value, expect: mod } : { type: "cdelete", key, expect: mod };
        const req: TxnRequest = {
          compare: [{ target: "MOD", result: "EQUAL", key, modRevision: mod }],
          success: [kind === "cdelete" ? { requestDeleteRange: { key } } : { requestPut: { key, value } }],
          failure: [{ requestRange: { key } }],
        };
        await this.call(c, name, input, async () => {
          const r = await m.txn(req);
          if (!r.succeeded) return { type: "txn", succeeded: false, rev: r.header.revision, kv: failureKv(r) };
          const first = r.responses[0];
          const deleted = first && "responseDeleteRange" in first ? { deleted: first.responseDeleteRange.deleted } : {};
          return { type: "txn", succeeded: true, rev: r.header.revision, ...deleted };
        });
        return;
      }
      case "delete":
        await this.call(c, name, { type: "delete", key }, async () => {
          const r = await m.deleteRange({ key });
          return { type: "delete", rev: r.header.revision, deleted: r.deleted };
        });
        return;
      case "leasePut":
      case "ephemeral": {
        const ephemeral = kind === "ephemeral";
        const ttl = ephemeral ? rng.int(2, 6) : 3600;
        const g = await this.call(c, name, { type: "grant", ttl }, async () => {
          const r = await m.leaseGrant({ TTL: ttl });
          return { type: "grant", lease: r.ID, rev: r.header.revision };
        }, ephemeral);
        if (!g || g.type !== "grant") return;
        const lkey = rng.pick(ephemeral ? o.ephemeralKeys : o.leaseKeys);
        const value = this.value(c);
        const out = await this.call(c, name, { type: "put", key: lkey, value, lease: g.lease }, async () => ({ type: "write", rev: (await m.put({ key: lkey, value, lease: g.lease })).header.revision }), ephemeral);
        if (!ephemeral && out?.type !== "error") this.leases[c]!.push({ lease: g.lease, key: lkey });
        return;
      }
      case "revoke": {
        const mine = this.leases[c]!;
        if (mine.length === 0) return;
        const { lease, key: lkey } = mine.splice(rng.int(0, mine.length - 1), 1)[0]!;
        await this.call(c, name, { type: "revoke", key: lkey, lease }, async () => ({ type: "write", rev: (await m.leaseRevoke(lease)).header.revision }));
        return;
      }
      case "compact": {
        const revision = Math.max(1, this.maxRev - rng.int(0, 40));
        await this.call(c, name, { type: "compact", revision }, async () => ({ type: "compact", rev: (await m.compact({ revision })).header.revision }));
        return;
      }
    }
  }

  /** Runs one call with the client's deadline and records it. Returns the output, if any. */
  private async call(c: number, member: string, input: KvInput, run: () => Promise<KvOutput>, unchecked = false): Promise<KvOutput | undefined> {
    const op: HistoryOp = {
      id: this.rec.history.length, client: c, member, call: this.rec.next(), ret: Infinity,
      callAt: this.clock.now(), retAt: Infinity, input, ...(unchecked ? { unchecked } : {}),
    };
    this.rec.history.push(op);
    this.counts.ops++;
    let cancel = (): void => {};
    const deadline = new Promise<never>((_, reject) => {
      cancel = this.clock.setTimeout(() => reject(new Timeout("client deadline exceeded")), this.opts.timeoutMs);
    });
    try {
      const out = await Promise.race([run(), deadline]);
      cancel();
      op.output = out;
      op.ret = this.rec.next();
      op.retAt = this.clock.now();
      this.learn(c, input, out);
      this.trace.add(describeOp(op));
      return out;
    } catch (err) {
      cancel();
      if (err instanceof EtcdError && !INDETERMINATE.has(err.code)) {
        op.output = { type: "error", code: err.code, message: err.message };
        op.ret = this.rec.next();
        op.retAt = this.clock.now();
        op.error = err.message;
        this.counts.failed++;
        this.trace.add(describeOp(op));
        return op.output;
      }
      op.error = err instanceof Error ? err.message : String(err);
      op.retAt = this.clock.now();
      this.counts.indeterminate++;
      this.trace.add(describeOp(op));
      if (!(err instanceof EtcdError) && !(err instanceof Timeout)) {
        this.rec.unexpected.push(`c${c}@${member} ${input.type}: ${(err as Error)?.stack ?? err}`);
      }
      return undefined;
    }
  }

  private learn(c: number, input: KvInput, out: KvOutput): void {
    if ("rev" in out) this.maxRev = Math.max(this.maxRev, out.rev);
    const seen = this.lastSeen[c]!;
    if (out.type === "get" && input.type === "get") {
      if (out.kv) seen.set(input.key, out.kv.modRev);
      else seen.delete(input.key);
    } else if (out.type === "range") {
      for (const [k, v] of Object.entries(out.kvs)) seen.set(k, v.modRev);
    } else if (out.type === "txn" && "key" in input) {
      if (out.succeeded) {
        if (input.type === "cdelete") seen.delete(input.key);
        else seen.set(input.key, out.rev);
      } else if (out.kv) seen.set(input.key, out.kv.modRev);
      else if (out.kv === null) seen.delete(input.key);
    } else if (out.type === "write" && input.type === "put") {
      seen.set(input.key, out.rev);
    }
  }
}
