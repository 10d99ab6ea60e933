// Book 12.5: what the simulated clients saw. Each operation keeps when it was invoked and when it
// returned (in one global order of events), its input, and its output, or none at all when the
// outcome is indeterminate (a timeout or a lost leader: it may or may not have taken effect).

/** The parts of a key-value that a client can see and the checkers compare. */
export interface KvView {
  value: string;
  modRev: number;
  createRev: number;
  version: number;
  lease: string;
}

/** `after` (set by patchHistory, never by clients): the write's outcome is unknown, but if it
 * took effect its revision is above this (the watch history is complete up to there). */
export type KvInput =
  /** `atRev`: a read of the past (etcd's range at a revision), checked against the events. */
  | { type: "get"; key: string; serializable?: boolean; atRev?: number }
  /** A read of every key in `keys` (all the keys the workload uses under one prefix), at once. */
  | { type: "range"; keys: string[]; serializable?: boolean }
  | { type: "put"; key: string; value: string; lease?: string; after?: number }
  /** Kubernetes' create: txn If mod_revision(key) == 0 Then put Else range. */
  | { type: "create"; key: string; value: string; after?: number }
  /** Kubernetes' update: txn If mod_revision(key) == expect Then put Else range. */
  | { type: "update"; key: string; value: string; expect: number; after?: number }
  /** Kubernetes' delete: txn If mod_revision(key) == expect Then delete Else range. */
  | { type: "cdelete"; key: string; expect: number }
  | { type: "delete"; key: string }
  /** Revokes a lease that only `key` was ever attached to. */
  | { type: "revoke"; key: string; lease: string }
  | { type: "grant"; ttl: number }
  | { type: "compact"; revision: number };

export type KvOutput =
  | { type: "get"; rev: number; kv: KvView | null }
  | { type: "range"; rev: number; kvs: Record<string, KvView> }
  /** put: the write's revision. revoke: the store's revision when the reply was made (etcd
   * answers a LeaseRevoke with the current header), at or above the deletion's revision. */
  | { type: "write"; rev: number }
  /** A txn; `kv` is what the failure branch's range returned (null: no such key); `deleted`
   * is what a succeeded delete removed. */
  | { type: "txn"; succeeded: boolean; rev: number; kv?: KvView | null; deleted?: number }
  | { type: "delete"; rev: number; deleted: number }
  | { type: "grant"; lease: string; rev: number }
  | { type: "compact"; rev: number }
  /** A definite failure: the same answer on every member (e.g. lease not found, compacted). */
  | { type: "error"; code: number; message: string };

export interface HistoryOp {
  id: number;
  client: number;
  /** The member the client talked to. */
  member: string;
  /** Positions in the global order of client events (call < ret). ret = Infinity when the
   * outcome is indeterminate. */
  call: number;
  ret: number;
  /** Virtual times in ms, for traces. */
  callAt: number;
  retAt: number;
  input: KvInput;
  /** Absent when indeterminate. */
  output?: KvOutput;
  /** The error text, for indeterminate or definite failures. */
  error?: string;
  /** Left out of the linearizability search (keys whose leases expire on their own). */
  unchecked?: boolean;
}

/** The keys an operation touches (none for lease grants and compactions). */
export function keysOf(input: KvInput): string[] {
  switch (input.type) {
    case "range":
      return input.keys;
    case "grant":
    case "compact":
      return [];
    default:
      return [input.key];
  }
}

export function isWrite(input: KvInput): boolean {
  return input.type !== "get" && input.type !== "range" && input.type !== "grant" && input.type !== "compact";
}

/** The unique value a write stores, if it stores one. */
export function valueOf(input: KvInput): string | undefined {
  return input.type === "put" || input.type === "create" || input.type === "update" ? input.value : undefined;
}

export function describeOp(op: HistoryOp): string {
  const i = op.input;
  let what: string;
  switch (i.type) {
    case "get": what = `get(${i.key}${i.serializable ? ",serializable" : ""}${i.atRev ? `,at ${i.atRev}` : ""})`; break;
    case "range": what = `range(${i.keys.join(",")})`; break;
    case "put": what = `put(${i.key}=${i.value}${i.lease ? `,lease=${i.lease}` : ""})`; break;
    case "create": what = `create(${i.key}=${i.value})`; break;
    case "update": what = `update(${i.key}=${i.value} if mod=${i.expect})`; break;
    case "cdelete": what = `delete(${i.key} if mod=${i.expect})`; break;
    case "delete": what = `delete(${i.key})`; break;
    case "revoke": what = `revoke(${i.lease} of ${i.key})`; break;
    case "grant": what = `grant(ttl=${i.ttl})`; break;
    case "compact": what = `compact(${i.revision})`; break;
  }
  const ret = op.ret === Infinity ? "?" : `${op.ret}`;
  return `#${op.id} c${op.client}@${op.member} [${op.call},${ret}] t=${op.callAt.toFixed(1)}..${op.ret === Infinity ? "?" : op.retAt.toFixed(1)} ${what} -> ${describeOutput(op)}`;
}

export function describeView(kv: KvView | null | undefined): string {
  if (kv === undefined) return "-";
  if (kv === null) return "absent";
  return `${kv.value}@mod${kv.modRev}/create${kv.createRev}/v${kv.version}${kv.lease !== "0" ? `/lease${kv.lease}` : ""}`;
}

export function describeOutput(op: HistoryOp): string {
  const o = op.output;
  if (!o) return `indeterminate${op.error ? ` (${op.error})` : ""}`;
  switch (o.type) {
    case "get": return `rev${o.rev} ${describeView(o.kv)}`;
    case "range": return `rev${o.rev} {${Object.entries(o.kvs).map(([k, v]) => `${k}:${describeView(v)}`).join(" ")}}`;
    case "write": return `ok rev${o.rev}`;
    case "txn": return `${o.succeeded ? "succeeded" : "failed"} rev${o.rev}${o.succeeded ? "" : ` current ${describeView(o.kv)}`}`;
    case "delete": return `deleted ${o.deleted} rev${o.rev}`;
    case "grant": return `lease ${o.lease} rev${o.rev}`;
    case "compact": return `ok rev${o.rev}`;
    case "error": return `error ${o.code} ${o.message}`;
  }
}
