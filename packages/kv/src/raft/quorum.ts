// Book 12.5: majorities. A value is decided once more than half the voters hold it; two
// majorities always overlap, which is why Raft stays consistent (and unavailable) under partition.
import type { NodeId } from "./types.js";

export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** The highest index that a majority of `voters` have (0 if there are no voters). */
export function committedIndex(voters: Iterable<NodeId>, matchOf: (id: NodeId) => number): number {
  const matches = [...voters].map(matchOf).sort((a, b) => b - a);
  if (matches.length === 0) return 0;
  return matches[majority(matches.length) - 1]!;
}

export type VoteResult = "won" | "lost" | "pending";

/** Tallies yes/no answers from voters (answers from non-voters do not count). */
export function voteResult(voters: Iterable<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let n = 0;
  let yes = 0;
  let missing = 0;
  for (const id of voters) {
    n++;
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) yes++;
  }
  const q = majority(n);
  if (yes >= q) return "won";
  if (yes + missing >= q) return "pending";
  return "lost";
}
