// Book 12.4: the message vocabulary of the Raft core: which kinds are local-only, which are
// answers, and a builder that fills in the empty fields.
import type { Message, MessageType } from "./types.js";

/** Produced only inside a node (ticks, transport reports); never accepted from the network. */
const LOCAL: ReadonlySet<MessageType> = new Set(["hup", "beat", "unreachable", "snapStatus", "checkQuorum"]);

/** Answers (or reports) about a peer: meaningless if that peer is not in the configuration. */
const RESPONSE: ReadonlySet<MessageType> = new Set([
  "appResp",
  "voteResp",
  "preVoteResp",
  "heartbeatResp",
  "unreachable",
  "snapStatus",
]);

export function isLocalMsg(t: MessageType): boolean {
  return LOCAL.has(t);
}

export function isResponseMsg(t: MessageType): boolean {
  return RESPONSE.has(t);
}

/** Messages that must carry an explicit, non-zero term (elections run ahead of our own term). */
export function isVoteMsg(t: MessageType): boolean {
  return t === "vote" || t === "voteResp" || t === "preVote" || t === "preVoteResp";
}

/** The context a vote request carries when it comes from a leader transfer (bypasses the lease). */
export const TRANSFER_CONTEXT = "transfer";

export type MessageInit = Partial<Message> & Pick<Message, "type" | "to">;

export function makeMessage(m: MessageInit): Message {
  return {
    from: "0",
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: "",
    ...m,
  };
}

/**
 * The context of an append rejection from a member that has no configuration at all (it joined
 * an existing cluster with empty storage): it needs the leader's snapshot, because the initial
 * configuration lives only in the bootstrap snapshot, never in the log.
 */
export const NEED_SNAPSHOT_CONTEXT = "needSnapshot";
