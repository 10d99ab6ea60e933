// Book 12.5: a linearizability checker in the style of Porcupine (Wing & Gong's search with Lowe's
// memoization). It looks for one order of the operations that respects real time (an operation
// that returned before another was invoked comes first) and that the model accepts. Histories are
// split per key first, since operations on different keys cannot constrain each other in the model.
import { describeOp, keysOf, type HistoryOp, type KvInput, type KvOutput } from "./history.js";
import { kvModel, type Model } from "./kv-model.js";

export interface Operation<I, O> {
  id: number;
  call: number;
  /** Infinity when the outcome is unknown: the operation may take effect at any later time. */
  ret: number;
  input: I;
  /** undefined when unknown. */
  output: O | undefined;
}

export type Verdict = "ok" | "illegal" | "unknown";

export interface PartitionResult {
  verdict: Verdict;
  ops: number;
  /** The longest order found that the model accepted (op ids), when illegal. */
  longest?: number[];
  /** The model's possible states after `longest`. */
  stateAfterLongest?: string;
  /** Operations that could come next in real time but that the model refused after `longest`. */
  refused?: number[];
  steps: number;
}

interface Node<I, O> {
  op?: Operation<I, O>;
  isCall: boolean;
  match?: Node<I, O>; // call -> its return
  prev?: Node<I, O>;
  next?: Node<I, O>;
}

/** Checks one partition. `maxSteps` bounds the search; past it the verdict is "unknown". */
export function checkOperations<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[], maxSteps = 5_000_000): PartitionResult {
  const n = ops.length;
  if (n === 0) return { verdict: "ok", ops: 0, steps: 0 };
  // The event list: calls and returns by time; at equal times calls first (the ops overlap).
  type Ev = { time: number; isCall: boolean; op: Operation<I, O> };
  const evs: Ev[] = [];
  for (const op of ops) {
    evs.push({ time: op.call, isCall: true, op }, { time: op.ret, isCall: false, op });
  }
  evs.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op.id - b.op.id : a.isCall ? -1 : 1));
  const head: Node<I, O> = { isCall: false };
  let last = head;
  const calls = new Map<number, Node<I, O>>();
  for (const ev of evs) {
    const node: Node<I, O> = { op: ev.op, isCall: ev.isCall, prev: last };
    last.next = node;
    last = node;
    if (ev.isCall) calls.set(ev.op.id, node);
    else calls.get(ev.op.id)!.match = node;
  }
  // Dense indexes for the bitset.
  const index = new Map<number, number>();
  ops.forEach((op, i) => index.set(op.id, i));
  const words = new Uint32Array(Math.ceil(n / 32));
  const bitKey = (): string => words.join(",");

  const lift = (e: Node<I, O>): void => {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
    const m = e.match!;
    m.prev!.next = m.next;
    if (m.next) m.next.prev = m.prev;
  };
  const unlift = (e: Node<I, O>): void => {
    const m = e.match!;
    m.prev!.next = m;
    if (m.next) m.next.prev = m;
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  };

  const hashStates = (ss: S[]): string => ss.map((s) => model.hash(s)).sort().join("\n");
  const stepAll = (ss: S[], op: Operation<I, O>): S[] => {
    const out = new Map<string, S>();
    for (const s of ss) for (const t of model.step(s, op.input, op.output)) out.set(model.hash(t), t);
    return [...out.values()];
  };

  const cache = new Set<string>();
  const stack: { entry: Node<I, O>; states: S[] }[] = [];
  let states: S[] = [model.init()];
  let entry = head.next;
  let steps = 0;
  let longest: number[] = [];
  let longestStates = states;
  let longestRefused: number[] = [];

  while (head.next) {
    if (++steps > maxSteps) return { verdict: "unknown", ops: n, steps };
    if (!entry) break; // cannot happen: a return always stops the scan first
    if (entry.isCall) {
      const op = entry.op!;
      const next = stepAll(states, op);
      let advanced = false;
      if (next.length > 0) {
        const i = index.get(op.id)!;
        words[i >>> 5]! |= 1 << (i & 31);
        const key = bitKey() + "|" + hashStates(next);
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ entry, states });
          states = next;
          lift(entry);
          entry = head.next;
          advanced = true;
          if (stack.length > longest.length) {
            longest = stack.map((c) => c.entry.op!.id);
            longestStates = states;
            longestRefused = [];
          }
        } else {
          words[i >>> 5]! &= ~(1 << (i & 31));
        }
      } else if (states === longestStates && longestRefused.length < 8 && !longestRefused.includes(op.id)) {
        longestRefused.push(op.id);
      }
      if (!advanced) entry = entry.next;
    } else {
      // Reached the return of an op not yet linearized: undo the last choice.
      const top = stack.pop();
      if (!top) {
        return {
          verdict: "illegal",
          ops: n,
          longest,
          stateAfterLongest: longestStates.map((s) => model.describe(s)).join(" OR "),
          refused: longestRefused,
          steps,
        };
      }
      entry = top.entry;
      states = top.states;
      const i = index.get(entry.op!.id)!;
      words[i >>> 5]! &= ~(1 << (i & 31));
      unlift(entry);
      entry = entry.next;
    }
  }
  return { verdict: "ok", ops: n, steps };
}

// ---- the KV history ----------------------------------------------------------------------------

export interface KvCheckResult {
  verdict: Verdict;
  partitions: { keys: string[]; result: PartitionResult }[];
  /** A readable account of the first illegal partition. */
  explanation?: string;
}

/** Operations the model needs: reads that returned, every write, and the definite failures that
 * say something about state (a lease that was not found). */
function relevant(op: HistoryOp): boolean {
  const i = op.input;
  if (op.unchecked) return false;
  if (i.type === "grant" || i.type === "compact") return false;
  if (i.type === "get" && i.atRev) return false; // the past: checked against the events instead
  if (i.type === "get" || i.type === "range") return !!op.output && !i.serializable;
  if (op.output?.type === "error") return op.output.code === 5 && (i.type === "revoke" || (i.type === "put" && !!i.lease));
  return true;
}

/** Groups operations by the keys they touch (an op on several keys joins their groups). */
export function partitionByKey(ops: HistoryOp[]): { keys: string[]; ops: HistoryOp[] }[] {
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let r = k;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(k, r);
    return r;
  };
  for (const op of ops) {
    const ks = keysOf(op.input);
    for (const k of ks) if (!parent.has(k)) parent.set(k, k);
    for (let i = 1; i < ks.length; i++) {
      const a = find(ks[0]!);
      const b = find(ks[i]!);
      if (a !== b) parent.set(a, b);
    }
  }
  const groups = new Map<string, { keys: string[]; ops: HistoryOp[] }>();
  for (const k of [...parent.keys()].sort()) {
    const r = find(k);
    if (!groups.has(r)) groups.set(r, { keys: [], ops: [] });
    groups.get(r)!.keys.push(k);
  }
  for (const op of ops) {
    const ks = keysOf(op.input);
    if (ks.length > 0) groups.get(find(ks[0]!))!.ops.push(op);
  }
  return [...groups.values()];
}

/** A read of several keys as one read per key, with the same interval: sound, and it keeps the
 * partitions small. (That the keys were read at one instant is checked by the read-state check
 * of history-check.ts, which compares the read with the state at its header revision.) */
export function splitReads(history: HistoryOp[]): HistoryOp[] {
  let next = history.reduce((m, op) => Math.max(m, op.id), 0) + 1;
  return history.flatMap((op): HistoryOp[] => {
    if (op.input.type !== "range") return [op];
    const { keys, serializable } = op.input;
    const out = op.output;
    return keys.map((key) => ({
      ...op,
      id: next++,
      input: { type: "get", key, ...(serializable ? { serializable } : {}) },
      ...(out && out.type === "range" ? { output: { type: "get", rev: out.rev, kv: out.kvs[key] ?? null } } : {}),
    }));
  });
}

export interface KvCheckOptions {
  maxStepsPerPartition?: number;
  /** Check multi-key reads key by key (default true). */
  splitReads?: boolean;
}

export function checkKvHistory(history: HistoryOp[], opts: KvCheckOptions = {}): KvCheckResult {
  const maxStepsPerPartition = opts.maxStepsPerPartition;
  const ops = (opts.splitReads ?? true ? splitReads(history) : history).filter(relevant);
  const parts = partitionByKey(ops);
  const out: KvCheckResult = { verdict: "ok", partitions: [] };
  for (const p of parts) {
    const operations: Operation<KvInput, KvOutput>[] = p.ops.map((op) => ({
      id: op.id, call: op.call, ret: op.output ? op.ret : Infinity, input: op.input, output: op.output,
    }));
    const result = checkOperations(kvModel, operations, maxStepsPerPartition);
    out.partitions.push({ keys: p.keys, result });
    if (result.verdict === "illegal" && out.verdict !== "illegal") {
      out.verdict = "illegal";
      out.explanation = explain(p.keys, p.ops, result);
    } else if (result.verdict === "unknown" && out.verdict === "ok") {
      out.verdict = "unknown";
      out.explanation = `keys ${p.keys.join(",")}: search gave up after ${result.steps} steps (${p.ops.length} ops)`;
    }
  }
  return out;
}

function explain(keys: string[], ops: HistoryOp[], r: PartitionResult): string {
  const byId = new Map(ops.map((o) => [o.id, o]));
  const lines = [`not linearizable: keys ${keys.join(",")} (${ops.length} ops)`];
  const tail = (r.longest ?? []).slice(-8);
  lines.push(`  longest legal order (${r.longest?.length ?? 0} ops), last ones:`);
  for (const id of tail) lines.push(`    ${describeOp(byId.get(id)!)}`);
  lines.push(`  model state then: ${r.stateAfterLongest}`);
  if (r.refused && r.refused.length > 0) {
    lines.push("  refused next:");
    for (const id of r.refused) lines.push(`    ${describeOp(byId.get(id)!)}`);
  }
  return lines.join("\n");
}
