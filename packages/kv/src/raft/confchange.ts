// Book 12.8: membership changes one node at a time: each change sets one node's role (voter,
// learner or gone), so applying a change twice, or over a newer configuration, changes nothing.
import type { ConfChange, ConfState, Entry, NodeId } from "./types.js";

export interface Membership {
  voters: Set<NodeId>;
  learners: Set<NodeId>;
}

export function membershipOf(cs: ConfState): Membership {
  const m = { voters: new Set(cs.voters), learners: new Set(cs.learners) };
  for (const id of m.voters) {
    if (m.learners.has(id)) throw new Error(`raft invariant violated: ${id} is both voter and learner`);
  }
  return m;
}

export function confStateOf(m: Membership): ConfState {
  return { voters: [...m.voters].sort(), learners: [...m.learners].sort() };
}

/** Applies one change in place. */
export function changeMembership(m: Membership, cc: ConfChange): void {
  m.voters.delete(cc.nodeId);
  m.learners.delete(cc.nodeId);
  if (cc.type === "addNode") m.voters.add(cc.nodeId);
  else if (cc.type === "addLearner") m.learners.add(cc.nodeId);
}

/** The configuration after replaying the conf entries among `ents` over `cs`. */
export function replayConfEntries(cs: ConfState, ents: readonly Entry[]): ConfState {
  const m = membershipOf(cs);
  for (const e of ents) if (e.type === "conf") changeMembership(m, JSON.parse(e.data) as ConfChange);
  return confStateOf(m);
}
