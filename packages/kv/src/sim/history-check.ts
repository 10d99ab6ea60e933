// Book 12.5: checks that tie the clients' history to the watch history. Revisions are one logical
// clock for the whole store, so: no two writes share a revision, revisions never go back in real
// time, every acknowledged write shows up as its event, no failed write does, and every read
// returns exactly the state at its header revision, replayed from the events. Watch events also
// settle indeterminate writes (did they apply, and at which revision?) before the search runs.
import { describeOp, valueOf, type HistoryOp, type KvView } from "./history.js";
import { showEvent, type MergedHistory, type WatchEventRecord, type WatchRecord } from "./watch-check.js";

export interface HistoryViolation {
  check: "revision-unique" | "revision-order" | "write-event" | "ghost-write" | "read-state";
  message: string;
}

/** The revision an op's output carries, and whether the op made a new one. */
function revOf(op: HistoryOp): { rev: number; wrote: boolean } | undefined {
  const o = op.output;
  if (!o) return undefined;
  switch (o.type) {
    case "get":
    case "range":
      return op.input.type === "get" || op.input.type === "range" ? (op.input.serializable ? undefined : { rev: o.rev, wrote: false }) : undefined;
    case "write":
      return { rev: o.rev, wrote: op.input.type === "put" };
    case "txn":
      return { rev: o.rev, wrote: o.succeeded && (op.input.type !== "cdelete" || (o.deleted ?? 1) > 0) };
    case "delete":
      return { rev: o.rev, wrote: o.deleted > 0 };
    case "grant":
    case "compact":
      return { rev: o.rev, wrote: false };
    case "error":
      return undefined;
  }
}

/** Revisions are unique per write and never go back in real time. */
export function checkRevisionOrder(history: HistoryOp[]): HistoryViolation[] {
  const out: HistoryViolation[] = [];
  const writers = new Map<number, HistoryOp>();
  const done = history.filter((op) => revOf(op) !== undefined && op.ret !== Infinity);
  for (const op of done) {
    const { rev, wrote } = revOf(op)!;
    if (!wrote) continue;
    const other = writers.get(rev);
    if (other) out.push({ check: "revision-unique", message: `two writes got revision ${rev}:\n  ${describeOp(other)}\n  ${describeOp(op)}` });
    else writers.set(rev, op);
  }
  const byRet = [...done].sort((a, b) => a.ret - b.ret);
  const byCall = [...done].sort((a, b) => a.call - b.call);
  let j = 0;
  let maxRev = 0;
  let maxOp: HistoryOp | undefined;
  for (const op of byCall) {
    while (j < byRet.length && byRet[j]!.ret < op.call) {
      const r = revOf(byRet[j]!)!.rev;
      if (r > maxRev) {
        maxRev = r;
        maxOp = byRet[j];
      }
      j++;
    }
    const { rev, wrote } = revOf(op)!;
    if (rev < maxRev || (wrote && rev === maxRev)) {
      if (out.length < 10) {
        out.push({ check: "revision-order", message: `revision went back in real time: ${describeOp(op)}\n  was invoked after ${describeOp(maxOp!)}` });
      }
    }
  }
  return out;
}

/** Per key, the events in revision order, to replay the state at any revision. */
class Replay {
  private perKey = new Map<string, WatchEventRecord[]>();
  constructor(readonly merged: MergedHistory) {
    for (const e of merged.events) {
      let l = this.perKey.get(e.key);
      if (!l) this.perKey.set(e.key, (l = []));
      l.push(e);
    }
  }
  /** The key at revision `rev` (null: absent); undefined if the history is not complete there. */
  at(key: string, rev: number): KvView | null | undefined {
    if (rev > this.merged.completeUpTo) return undefined;
    const l = this.perKey.get(key) ?? [];
    let lo = 0;
    let hi = l.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (l[mid]!.rev <= rev) lo = mid + 1;
      else hi = mid;
    }
    const e = l[lo - 1];
    if (!e || e.type === "DELETE") return null;
    return { value: e.value, modRev: e.rev, createRev: e.createRev, version: e.version, lease: e.lease };
  }
}

const sameView = (a: KvView | null, b: KvView | null): boolean =>
  a === b || (!!a && !!b && a.value === b.value && a.modRev === b.modRev && a.createRev === b.createRev && a.version === b.version && a.lease === b.lease);
const showView = (v: KvView | null): string => (v ? `${v.value}@${v.modRev}(create ${v.createRev}, v${v.version}, lease ${v.lease})` : "absent");

/** Writes against events: acknowledged writes appear with their revision, failed ones never do,
 * and every PUT event comes from some client's write. Reads return the replayed state. */
export function checkAgainstEvents(history: HistoryOp[], merged: MergedHistory): HistoryViolation[] {
  const out: HistoryViolation[] = [];
  const add = (v: HistoryViolation): void => {
    if (out.length < 10) out.push(v);
  };
  const byValue = new Map<string, HistoryOp>();
  for (const op of history) {
    const v = valueOf(op.input);
    if (v !== undefined) byValue.set(v, op);
  }
  for (const e of merged.events) {
    if (e.type !== "PUT") continue;
    const op = byValue.get(e.value);
    if (!op) {
      add({ check: "ghost-write", message: `event ${showEvent(e)} was written by no client` });
      continue;
    }
    const o = op.output;
    if (!o) continue;
    if ((o.type === "txn" && !o.succeeded) || o.type === "error") {
      add({ check: "ghost-write", message: `event ${showEvent(e)} comes from a write that failed: ${describeOp(op)}` });
    } else if ((o.type === "write" || o.type === "txn") && o.rev !== e.rev) {
      add({ check: "write-event", message: `event ${showEvent(e)} but its write returned revision ${o.rev}: ${describeOp(op)}` });
    }
  }
  for (const op of history) {
    const r = revOf(op);
    if (!r || !r.wrote || r.rev > merged.completeUpTo) continue;
    const i = op.input;
    const evs = merged.byRev.get(r.rev) ?? [];
    if (i.type === "revoke" || i.type === "grant" || i.type === "compact" || i.type === "get" || i.type === "range") continue;
    const e = evs.find((x) => x.key === i.key);
    const ok = i.type === "delete" || i.type === "cdelete" ? e?.type === "DELETE" : e?.type === "PUT" && e.value === valueOf(i);
    if (!ok) add({ check: "write-event", message: `acknowledged write has no matching event at revision ${r.rev} (found ${evs.map(showEvent).join(", ") || "nothing"}): ${describeOp(op)}` });
  }
  const replay = new Replay(merged);
  for (const op of history) {
    const o = op.output;
    if (!o || o.type === "error") continue;
    const rev = op.input.type === "get" && op.input.atRev ? op.input.atRev : o.rev;
    const checks: [string, KvView | null][] = [];
    if (o.type === "get" && op.input.type === "get") checks.push([op.input.key, o.kv]);
    else if (o.type === "range" && op.input.type === "range") for (const k of op.input.keys) checks.push([k, o.kvs[k] ?? null]);
    else if (o.type === "txn" && !o.succeeded && o.kv !== undefined && "key" in op.input) checks.push([op.input.key, o.kv]);
    for (const [key, saw] of checks) {
      const want = replay.at(key, rev);
      if (want !== undefined && !sameView(want, saw)) {
        add({ check: "read-state", message: `read at revision ${rev} returned ${key}=${showView(saw)}, but the events say ${showView(want)}: ${describeOp(op)}` });
      }
    }
  }
  return out;
}

/** Indeterminate writes settled by the events: one whose unique value appears took effect at
 * that revision, no later than the first time a watch delivered it; one that never appears, in a
 * history complete up to `finalRevision`, never took effect and is dropped. */
export function patchHistory(history: HistoryOp[], watches: WatchRecord[], merged: MergedHistory, finalRevision: number): HistoryOp[] {
  const firstSeen = new Map<string, { rev: number; seq: number; at: number }>();
  for (const w of watches) {
    for (const r of w.responses) {
      for (const e of r.events) {
        if (e.type !== "PUT") continue;
        const prev = firstSeen.get(e.value);
        if (!prev || r.seq < prev.seq) firstSeen.set(e.value, { rev: e.rev, seq: r.seq, at: r.at });
      }
    }
  }
  const complete = merged.completeUpTo >= finalRevision;
  const out: HistoryOp[] = [];
  for (const op of history) {
    const v = valueOf(op.input);
    if (op.output || v === undefined) {
      out.push(op);
      continue;
    }
    const seen = firstSeen.get(v);
    if (seen) {
      const output = op.input.type === "put" ? { type: "write" as const, rev: seen.rev } : { type: "txn" as const, succeeded: true, rev: seen.rev };
      out.push({ ...op, output, ret: Math.max(seen.seq, op.call + 0.5), retAt: seen.at });
    } else if (!complete) {
      // Had it taken effect at or below completeUpTo, a watch would have shown it.
      out.push({ ...op, input: { ...op.input, after: merged.completeUpTo } as typeof op.input });
    }
  }
  return out;
}
