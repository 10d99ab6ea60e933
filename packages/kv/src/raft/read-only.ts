// Book 12.3: linearizable reads without a log entry (ReadIndex, Raft thesis 6.4): the leader
// notes its commit index, proves it is still leader with a heartbeat round, then answers.
import type { Message, NodeId } from "./types.js";

export interface ReadIndexStatus {
  /** The original request (its `from` says who asked; its `context` is the read's ctx). */
  req: Message;
  /** The leader's commit index when the request arrived. */
  index: number;
  acks: Map<NodeId, boolean>;
}

export class ReadOnly {
  private pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  /** Starts a read at `index` (the leader's commit); a repeated ctx is ignored. */
  addRequest(index: number, req: Message): void {
    if (this.pending.has(req.context)) return;
    this.pending.set(req.context, { req, index, acks: new Map() });
    this.queue.push(req.context);
  }

  /** Records a heartbeat ack for ctx; returns the acks so far (undefined if unknown ctx). */
  recvAck(id: NodeId, ctx: string): Map<NodeId, boolean> | undefined {
    const rs = this.pending.get(ctx);
    if (!rs) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /** ctx is confirmed: it and every read queued before it are answered; they leave the queue. */
  advance(ctx: string): ReadIndexStatus[] {
    const at = this.queue.indexOf(ctx);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: ReadIndexStatus[] = [];
    for (const c of done) {
      const rs = this.pending.get(c);
      if (!rs) throw new Error("raft invariant violated: read-index queue and map disagree");
      this.pending.delete(c);
      out.push(rs);
    }
    return out;
  }

  lastPendingCtx(): string {
    return this.queue.length > 0 ? this.queue[this.queue.length - 1]! : "";
  }

  reset(): void {
    this.pending.clear();
    this.queue = [];
  }
}
