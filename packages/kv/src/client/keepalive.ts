// Book 12.10: keeping a lease alive over /v3/lease/keepalive — one renewal ("once"), or a loop
// that renews every TTL/3 on one stream and reconnects to another endpoint when the stream breaks.
import { Errors, EtcdError, GrpcCode, type Id } from "../types.js";
import { fromNetworkError, retriable } from "./errors.js";
import { NdjsonStream } from "./stream.js";
import type { Transport } from "./transport.js";
import type { CallOptions, LeaseKeepAliveResponse } from "./types.js";
import { decodeLeaseKeepAlive } from "./wire-ops.js";

/** Reads one response, or closes the stream after `ms` (the read then ends with done). */
async function nextWithin(s: NdjsonStream, it: AsyncGenerator<Record<string, unknown>>, ms: number): Promise<LeaseKeepAliveResponse> {
  const timer = ms > 0 ? setTimeout(() => s.close(), ms) : undefined;
  try {
    const r = await it.next();
    if (r.done) throw new EtcdError(GrpcCode.Unavailable, `keepalive stream ended (${s.endpoint})`);
    const resp = decodeLeaseKeepAlive(r.value);
    if (resp.TTL <= 0) throw Errors.leaseNotFound(); // etcd answers an unknown lease with TTL 0
    return resp;
  } finally {
    clearTimeout(timer);
  }
}

/** Renews a lease once. Throws "requested lease not found" when it has expired or never existed. */
export function keepAliveOnce(t: Transport, id: Id, opts: CallOptions = {}): Promise<LeaseKeepAliveResponse> {
  const ms = opts.timeoutMs ?? t.timeoutMs;
  return t.withFailover(true, opts, async (ep) => {
    const s = await NdjsonStream.open(ep, "/v3/lease/keepalive", { ID: id }, ms, t.connectTimeoutMs);
    try {
      return await nextWithin(s, s.messages(), ms);
    } finally {
      s.close();
    }
  });
}

export interface KeepAliveOptions {
  /** Renewal period; default a third of the TTL the server reports. */
  intervalMs?: number;
  onResponse?: (r: LeaseKeepAliveResponse) => void;
  signal?: AbortSignal;
}

/** A running keep-alive loop: `done` resolves on stop() and rejects when the lease is gone. */
export class LeaseKeepAlive {
  readonly done: Promise<void>;
  last?: LeaseKeepAliveResponse;
  private stopped = false;
  private stream?: NdjsonStream;
  private wake?: () => void;

  constructor(private readonly t: Transport, readonly id: Id, private readonly opts: KeepAliveOptions = {}) {
    this.done = this.run();
    this.done.catch(() => undefined);
    if (opts.signal?.aborted) this.stop();
    opts.signal?.addEventListener("abort", () => this.stop(), { once: true });
  }

  stop(): void {
    this.stopped = true;
    this.stream?.close();
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((r) => {
      const timer = setTimeout(r, ms);
      this.wake = () => { clearTimeout(timer); r(); };
    });
  }

  private async run(): Promise<void> {
    const ms = this.t.timeoutMs;
    let it: AsyncGenerator<Record<string, unknown>> | undefined;
    let backoff = 100;
    while (!this.stopped) {
      try {
        if (!this.stream || this.stream.isClosed) {
          this.stream = await this.t.withFailover(true, {}, (ep) =>
            NdjsonStream.open(ep, "/v3/lease/keepalive", { ID: this.id }, ms, this.t.connectTimeoutMs));
          it = this.stream.messages();
          if (this.stopped) break;
        } else {
          this.stream.send({ ID: this.id });
        }
        const resp = await nextWithin(this.stream, it!, ms);
        this.last = resp;
        backoff = 100;
        this.opts.onResponse?.(resp);
        await this.sleep(this.opts.intervalMs ?? Math.max(500, (resp.TTL * 1000) / 3));
      } catch (e) {
        this.stream?.close();
        if (this.stopped) break;
        const err = fromNetworkError(e, this.stream?.endpoint ?? "");
        if (!retriable(err, true)) throw err;
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
    this.stream?.close();
  }
}
