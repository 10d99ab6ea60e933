// Book 12.5 and 12.9: the safety properties checked after every simulated event. At most one
// leader per term; a committed entry is the same on every member and never lost (it is durable on
// a quorum); members at the same applied index hold the same state; a member's revision never
// goes back. Any breach stops the run with the seed and a trace.
import type { Entry, NodeId } from "../raft/types.js";
import type { SimCluster, Slot } from "./cluster.js";

export class InvariantViolation extends Error {
  constructor(readonly invariant: string, message: string) {
    super(`${invariant}: ${message}`);
    this.name = "InvariantViolation";
  }
}

interface Seen {
  life: number;
  /** Highest index checked against the committed ledger in this life. */
  checked: number;
  revision: number;
  digestAt: number;
}

export class Invariants {
  private leaders = new Map<number, NodeId>();
  private committed = new Map<number, { term: number; data: string; by: NodeId }>();
  private revisionAt = new Map<number, { revision: number; by: NodeId }>();
  private digestAt = new Map<number, { digest: string; by: NodeId }>();
  private seen = new Map<NodeId, Seen>();
  private maxCommitted = 0;
  checks = 0;

  constructor(private readonly cluster: SimCluster) {}

  /** Runs after every event. Throws InvariantViolation. */
  check(): void {
    this.checks++;
    const touched = this.cluster.touched;
    // Only members something happened to can have changed; every 64th check looks at all.
    const all = this.checks % 64 === 0;
    for (const s of this.cluster.up()) if (all || touched.has(s.id)) this.checkMember(s);
    touched.clear();
  }

  private checkMember(s: Slot): void {
    const m = s.member!;
    const st = m.raftStatus();
    let seen = this.seen.get(s.id);
    if (!seen || seen.life !== s.life) {
      seen = { life: s.life, checked: 0, revision: 0, digestAt: -1 };
      this.seen.set(s.id, seen);
    }
    // Election safety: one leader per term.
    if (st.state === "leader") {
      const other = this.leaders.get(st.term);
      if (other === undefined) this.leaders.set(st.term, s.id);
      else if (other !== s.id) throw new InvariantViolation("election-safety", `members ${other} and ${s.id} both leader in term ${st.term}`);
    }
    if (st.applied > st.commit) throw new InvariantViolation("applied<=commit", `${s.name} applied ${st.applied} > commit ${st.commit}`);
    // Log matching on the committed prefix, read from what the member wrote to its disk.
    const hs = s.disk.hardStateView();
    const upto = hs ? hs.commit : 0;
    for (let i = seen.checked + 1; i <= upto; i++) {
      const e = s.disk.entryAt(i);
      if (!e) continue; // compacted into a snapshot
      this.record(i, e, s);
    }
    seen.checked = Math.max(seen.checked, upto);
    // Same applied index, same revision; and a member's revision never goes back.
    const applied = m.appliedIndex;
    const rev = m.header().revision;
    if (rev < seen.revision) throw new InvariantViolation("revision-monotonic", `${s.name} revision went from ${seen.revision} to ${rev}`);
    seen.revision = rev;
    const r = this.revisionAt.get(applied);
    if (!r) this.revisionAt.set(applied, { revision: rev, by: s.id });
    else if (r.revision !== rev) {
      throw new InvariantViolation("state-agreement", `at applied index ${applied}, ${s.name} has revision ${rev} but member ${r.by} had ${r.revision}`);
    }
    if (seen.digestAt !== applied) {
      seen.digestAt = applied;
      const d = this.cluster.opts.digest(m);
      if (d !== undefined) {
        const prev = this.digestAt.get(applied);
        if (!prev) this.digestAt.set(applied, { digest: d, by: s.id });
        else if (prev.digest !== d) {
          throw new InvariantViolation("state-agreement", `at applied index ${applied}, ${s.name}'s state differs from member ${prev.by}'s:\n  ${s.name}: ${d.slice(0, 600)}\n  ${prev.by}: ${prev.digest.slice(0, 600)}`);
        }
      }
    }
  }

  private record(i: number, e: Entry, s: Slot): void {
    const c = this.committed.get(i);
    if (!c) {
      this.committed.set(i, { term: e.term, data: e.data, by: s.id });
      if (i > this.maxCommitted) this.maxCommitted = i;
      this.checkDurable(i, e);
      return;
    }
    if (c.term !== e.term || c.data !== e.data) {
      throw new InvariantViolation(
        "committed-entry-agreement",
        `entry ${i} is committed as term ${c.term} ${JSON.stringify(c.data.slice(0, 120))} on member ${c.by}, but ${s.name} has term ${e.term} ${JSON.stringify(e.data.slice(0, 120))}`,
      );
    }
  }

  /** A committed entry must survive any crash: it is on a quorum of disks, or under a snapshot. */
  private checkDurable(i: number, e: Entry): void {
    if (e.term === 1 && i <= this.cluster.size) return; // the bootstrap entries every member writes itself
    let n = 0;
    for (const s of this.cluster.slots) {
      if (s.disk.durableSnapshotIndex() >= i) n++;
      else {
        const d = s.disk.durableEntryAt(i);
        if (d && d.term === e.term && d.data === e.data) n++;
      }
    }
    if (n < this.cluster.quorum) {
      throw new InvariantViolation("committed-durable", `entry ${i} (term ${e.term}) is committed but durable on only ${n} of ${this.cluster.size} disks`);
    }
  }

  /** Re-checks that every committed entry is still durable on a quorum (after crashes). */
  checkAllDurable(): void {
    for (const [i, c] of this.committed) this.checkDurable(i, { index: i, term: c.term, data: c.data, type: "normal" });
  }

  get committedCount(): number {
    return this.maxCommitted;
  }

  get terms(): number {
    return this.leaders.size;
  }
}
