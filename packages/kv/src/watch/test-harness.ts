// Book 12.2: a tiny in-memory member for the watch tests: a state machine, a hub fed after each
// apply, and clients whose socket can be made to push back.
import type { CompactionRequest, DeleteRangeRequest, PutRequest, ResponseHeader, TxnRequest } from "../types.js";
import { StateMachine } from "../apply/state-machine.js";
import type { ApplyOutcome, Command } from "../apply/types.js";
import { WatchHub, type WatchHubOptions } from "./hub.js";
import type { WatchResponse, WatchStream } from "./types.js";

export class Member {
  sm = new StateMachine();
  readonly hub: WatchHub;
  private seq = 0;

  constructor(opts?: WatchHubOptions) {
    this.hub = new WatchHub(() => this.sm, opts);
  }

  apply(cmd: Command): ApplyOutcome {
    const o = this.sm.apply({ id: `m:${++this.seq}`, cmd });
    if (o.events.length > 0) this.hub.notify(o.revision, o.events);
    return o;
  }

  put(key: string, value: string, more: Partial<PutRequest> = {}): ApplyOutcome {
    return this.apply({ op: "put", req: { key, value, ...more } });
  }
  del(key: string, rangeEnd?: string, more: Partial<DeleteRangeRequest> = {}): ApplyOutcome {
    return this.apply({ op: "deleteRange", req: { key, ...(rangeEnd === undefined ? {} : { rangeEnd }), ...more } });
  }
  txn(req: Partial<TxnRequest>): ApplyOutcome {
    return this.apply({ op: "txn", req: { compare: [], success: [], failure: [], ...req } });
  }
  compact(revision: number, more: Partial<CompactionRequest> = {}): ApplyOutcome {
    return this.apply({ op: "compaction", req: { revision, ...more } });
  }

  client(): Client {
    return new Client(this.hub);
  }
}

export const testHeader = (revision: number): ResponseHeader => ({ clusterId: "1", memberId: "2", revision, raftTerm: 3 });

export class Client {
  readonly got: WatchResponse[] = [];
  readonly stream: WatchStream;
  /** What send() answers: true = keep going. */
  accept = true;

  constructor(hub: WatchHub) {
    this.stream = hub.openStream((r) => {
      this.got.push(r);
      return this.accept;
    }, testHeader);
  }

  /** Responses received since the last call. */
  private seen = 0;
  take(): WatchResponse[] {
    const out = this.got.slice(this.seen);
    this.seen = this.got.length;
    return out;
  }

  /** Every event received for a watch id, as "TYPE key@rev". */
  events(watchId: number): string[] {
    return this.got.filter((r) => r.watchId === watchId).flatMap((r) => r.events.map((e) => `${e.type} ${e.kv.key}@${e.kv.modRevision}`));
  }
}
