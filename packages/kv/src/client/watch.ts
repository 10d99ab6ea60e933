// Book 12.10: one watch as an async iterable of WatchResponse over its own /v3/watch stream, with
// progress requests, cancel, and resumption on the next endpoint from the next unseen revision.
import { EtcdError, GrpcCode } from "../types.js";
import type { WatchCreateRequest, WatchResponse } from "../watch/types.js";
import { fromNetworkError, retriable } from "./errors.js";
import { NdjsonStream } from "./stream.js";
import type { Transport } from "./transport.js";
import type { Json } from "./wire-base.js";
import { decodeWatchResponse, encodeWatchCreate } from "./wire-watch.js";

export interface WatchOptions {
  /** Timeout for opening the stream (each attempt); default the client's timeout. */
  timeoutMs?: number;
  /** Reopen the stream elsewhere, from the next revision, when it breaks (default true). */
  resume?: boolean;
  /** Give up resuming after this long, default 30 s. */
  resumeTimeoutMs?: number;
  /** Aborting it cancels the watch. */
  signal?: AbortSignal;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Watch implements AsyncIterableIterator<WatchResponse> {
  /** The server's first response: `created` (then maybe a canceled one follows, e.g. compacted). */
  readonly created: Promise<WatchResponse>;
  private stream?: NdjsonStream;
  private messages?: AsyncGenerator<Json, void, undefined>;
  private nextRev: number;
  private id = 0;
  private done = false;

  constructor(
    private readonly transport: Transport,
    private readonly req: WatchCreateRequest,
    private readonly opts: WatchOptions = {},
    /** Called once when the watch ends (the client forgets it). */
    private readonly onEnd?: () => void,
  ) {
    this.nextRev = req.startRevision && req.startRevision > 0 ? req.startRevision : 0;
    this.created = this.connect();
    this.created.catch(() => this.finish());
    if (opts.signal?.aborted) this.cancel();
    opts.signal?.addEventListener("abort", () => this.cancel(), { once: true });
  }

  get watchId(): number {
    return this.id;
  }

  /** The first revision not yet reported: where a resumed watch starts. */
  get nextRevision(): number {
    return this.nextRev;
  }

  /** Asks for a progress notification (a response with no events and the current revision). */
  progress(): void {
    this.stream?.send({ progress_request: {} });
  }

  /** Cancels the watch and ends the iteration. */
  cancel(): void {
    if (this.done) return;
    this.stream?.send({ cancel_request: { watch_id: String(this.id) } });
    this.finish();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async return(): Promise<IteratorReturnResult<undefined>> {
    this.cancel();
    return DONE;
  }

  async next(): Promise<IteratorResult<WatchResponse, undefined>> {
    for (;;) {
      if (this.done) return DONE;
      try {
        await this.created;
      } catch (e) {
        if (e instanceof EtcdError && e.code === GrpcCode.Canceled) return DONE;
        throw e;
      }
      try {
        const r = await this.messages!.next();
        if (r.done) return DONE; // closed by cancel()
        const resp = decodeWatchResponse(r.value);
        if (resp.created) continue; // a resumed stream's acknowledgement
        this.observe(resp);
        if (resp.canceled) this.finish();
        return { done: false, value: resp };
      } catch (e) {
        if (this.done) return DONE;
        const err = fromNetworkError(e, this.stream?.endpoint ?? "");
        if (this.opts.resume === false || !retriable(err, true)) {
          this.finish();
          throw err;
        }
        await this.resume();
      }
    }
  }

  private finish(): void {
    const first = !this.done;
    this.done = true;
    this.stream?.close();
    if (first) this.onEnd?.();
  }

  private observe(r: WatchResponse): void {
    if (r.events.length > 0) {
      this.nextRev = Math.max(this.nextRev, r.events[r.events.length - 1]!.kv.modRevision + 1);
    } else if (!r.created && !r.canceled && r.header.revision > 0) {
      // A progress notification: every event up to header.revision has been delivered.
      this.nextRev = Math.max(this.nextRev, r.header.revision + 1);
    }
  }

  /** Opens the stream on the first endpoint that answers, and reads its first response. */
  private async connect(): Promise<WatchResponse> {
    let last: EtcdError | undefined;
    for (const ep of this.transport.order()) {
      if (this.done) throw new EtcdError(GrpcCode.Canceled, "watch canceled");
      let s: NdjsonStream | undefined;
      try {
        const create = encodeWatchCreate({ ...this.req, startRevision: this.nextRev > 0 ? this.nextRev : undefined });
        s = await NdjsonStream.open(ep, "/v3/watch", { create_request: create },
          this.opts.timeoutMs ?? this.transport.timeoutMs, this.transport.connectTimeoutMs);
        const messages = s.messages();
        const first = await messages.next();
        if (first.done) throw new EtcdError(GrpcCode.Unavailable, `watch stream closed before it was created (${ep})`);
        const resp = decodeWatchResponse(first.value);
        if (this.done) throw new EtcdError(GrpcCode.Canceled, "watch canceled");
        this.stream = s;
        this.messages = messages;
        this.transport.prefer(ep);
        if (resp.created) {
          this.id = resp.watchId;
          if (this.nextRev === 0) this.nextRev = resp.header.revision + 1;
        }
        if (resp.canceled) this.finish(); // refused outright: nothing more will come
        return resp;
      } catch (e) {
        s?.close();
        const err = fromNetworkError(e, ep);
        if (!retriable(err, true)) throw err;
        last = err;
      }
    }
    throw last ?? new EtcdError(GrpcCode.Unavailable, "no endpoint available");
  }

  /** After a broken stream: reconnect with backoff until it works, the deadline passes, or cancel. */
  private async resume(): Promise<void> {
    this.stream?.close();
    const deadline = Date.now() + (this.opts.resumeTimeoutMs ?? 30_000);
    let delay = 50;
    for (;;) {
      try {
        const resp = await this.connect();
        if (resp.canceled) throw new EtcdError(GrpcCode.Unavailable, resp.cancelReason || "watch canceled on resume");
        return;
      } catch (e) {
        if (this.done) return;
        const err = fromNetworkError(e, "");
        if (!retriable(err, true) || Date.now() + delay > deadline) {
          this.finish();
          throw err;
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 1000);
      }
    }
  }
}
