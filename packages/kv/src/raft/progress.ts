// Book 12.4: the leader's view of one follower's log (match/next), and its flow control:
// probe (one message at a time), replicate (pipelined, bounded by an inflight window), snapshot.

export type ProgressState = "probe" | "replicate" | "snapshot";

/** A bounded window of append messages in flight, each remembered by its last index. */
export class Inflights {
  private readonly cap: number;
  private buf: number[] = [];

  constructor(cap: number) {
    this.cap = cap;
  }

  add(lastIndex: number): void {
    if (this.full()) throw new Error("raft invariant violated: adding to a full inflight window");
    const prev = this.buf[this.buf.length - 1];
    if (prev !== undefined && lastIndex < prev) throw new Error("raft invariant violated: inflight indexes must grow");
    this.buf.push(lastIndex);
  }

  /** Frees every message whose last index is <= `index` (the follower acknowledged them). */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.buf.length && this.buf[n]! <= index) n++;
    if (n > 0) this.buf = this.buf.slice(n);
  }

  full(): boolean {
    return this.buf.length >= this.cap;
  }

  count(): number {
    return this.buf.length;
  }

  reset(): void {
    this.buf = [];
  }
}

export class Progress {
  /** Highest index known to be replicated on the follower. */
  match: number;
  /** Next index to send. Invariant: match < next. */
  next: number;
  state: ProgressState = "probe";
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from the follower since the last CheckQuorum round. */
  recentActive = false;
  /**
   * Sending is paused: in probe state after an append went out (until its answer); in replicate
   * state while the inflight window is full. A heartbeat answer lifts it, so that a lost window
   * cannot stall the follower forever.
   */
  paused = false;
  /** The highest commit index this follower can have learned from us. */
  sentCommit = 0;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(match: number, next: number, maxInflight: number, isLearner: boolean) {
    this.match = match;
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.paused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === "snapshot") {
      const pending = this.pendingSnapshot;
      this.resetState("probe");
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState("probe");
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
  }

  /** The follower acknowledged `n`. Returns true if match moved forward. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.paused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * The follower rejected an append whose previous index was `rejected`; `hint` is where its
   * log may match. Returns false for a stale rejection (nothing changes).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false; // stale: it already matched further
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false; // not an answer to our latest probe
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.paused = false;
    return true;
  }

  /** Records that an append with `count` entries ending at `lastIndex` went out. */
  sentEntries(count: number, lastIndex: number): void {
    if (this.state === "replicate") {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
      this.paused = this.inflights.full();
    } else if (this.state === "probe") {
      if (count > 0) this.paused = true;
    } else {
      throw new Error("raft invariant violated: sending entries in snapshot state");
    }
  }

  /** Records the commit index carried by a message we sent (as the follower will see it). */
  sentCommitTo(commit: number): void {
    this.sentCommit = Math.max(this.sentCommit, commit);
  }

  /** Could sending our commit index now move the follower's commit forward? */
  canBumpCommit(committed: number): boolean {
    return Math.min(committed, this.match) > this.sentCommit;
  }

  /** Whether sending more appends to this follower must wait. */
  isPaused(): boolean {
    switch (this.state) {
      case "probe":
      case "replicate":
        return this.paused;
      case "snapshot":
        return true;
    }
  }
}
