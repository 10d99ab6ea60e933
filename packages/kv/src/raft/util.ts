// Book 12.4: small helpers shared by the Raft core: entry sizes for batching, and invariant
// checks that throw (in the TigerBeetle style: the code states what must hold).
import type { Entry } from "./types.js";

/** Size of one entry for batching: its data length (one char per byte for our latin1 JSON). */
export function entrySize(e: Entry): number {
  return e.data.length;
}

export function entriesSize(ents: readonly Entry[]): number {
  let n = 0;
  for (const e of ents) n += entrySize(e);
  return n;
}

/** The longest prefix of `ents` whose total size is within maxSize; never fewer than one entry. */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]!);
  let n = 1;
  while (n < ents.length) {
    size += entrySize(ents[n]!);
    if (size > maxSize) break;
    n++;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/** Throws when an invariant of the algorithm does not hold: a bug, never an expected state. */
export function invariant(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`raft invariant violated: ${what}`);
}
