// Book 12.2: small helpers for the state machine's tests: build proposals and apply them.
import type { CompactionRequest, DeleteRangeRequest, PutRequest, TxnRequest } from "../types.js";
import { StateMachine } from "./state-machine.js";
import type { ApplyOutcome, Command } from "./types.js";

let seq = 0;

export function run(sm: StateMachine, cmd: Command): ApplyOutcome {
  return sm.apply({ id: `t:${++seq}`, cmd });
}

export const put = (sm: StateMachine, key: string, value: string, more: Partial<PutRequest> = {}) =>
  run(sm, { op: "put", req: { key, value, ...more } });
export const del = (sm: StateMachine, key: string, rangeEnd?: string, more: Partial<DeleteRangeRequest> = {}) =>
  run(sm, { op: "deleteRange", req: { key, ...(rangeEnd === undefined ? {} : { rangeEnd }), ...more } });
export const txn = (sm: StateMachine, req: Partial<TxnRequest>) =>
  run(sm, { op: "txn", req: { compare: [], success: [], failure: [], ...req } });
export const compact = (sm: StateMachine, revision: number, more: Partial<CompactionRequest> = {}) =>
  run(sm, { op: "compaction", req: { revision, ...more } });
export const grant = (sm: StateMachine, ID: string, TTL: number) => run(sm, { op: "leaseGrant", req: { ID, TTL } });
export const revoke = (sm: StateMachine, ID: string) => run(sm, { op: "leaseRevoke", req: { ID } });

/** Keys of a range, for short assertions. */
export function keys(sm: StateMachine, key: string, rangeEnd = "\0", revision?: number): string[] {
  return sm.range({ key, rangeEnd, ...(revision ? { revision } : {}) }).kvs.map((kv) => kv.key);
}
