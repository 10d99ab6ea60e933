// Book 12.5: client-side load balancing — one keep-alive undici Pool per endpoint, a pinned
// endpoint (or round-robin), and failover to the next endpoint on connection errors and 503s.
import { Pool } from "undici";
import { EtcdError, GrpcCode } from "../types.js";
import { AttemptError, fromErrorBody, fromNetworkError, retriable } from "./errors.js";
import type { CallOptions, EtcdClientOptions } from "./types.js";
import { type Json, obj } from "./wire-base.js";

const JSON_HEADERS = { "content-type": "application/json" };

/** "host:port" → "http://host:port"; anything else must be an http(s) URL. */
export function normalizeEndpoint(e: string): string {
  let s = e.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) s = `http://${s}`;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new EtcdError(GrpcCode.InvalidArgument, `invalid endpoint ${JSON.stringify(e)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new EtcdError(GrpcCode.InvalidArgument, `invalid endpoint ${JSON.stringify(e)}: only http and https`);
  }
  return u.origin;
}

export function parseEndpoints(e: string[] | string): string[] {
  const list = (Array.isArray(e) ? e : e.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  if (list.length === 0) throw new EtcdError(GrpcCode.InvalidArgument, "no endpoints given");
  return [...new Set(list.map(normalizeEndpoint))];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Transport {
  readonly endpoints: string[];
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  private readonly connections: number;
  private readonly roundRobin: boolean;
  private readonly rounds: number;
  private readonly pools = new Map<string, Pool>();
  private pinned = 0;

  constructor(opts: EtcdClientOptions) {
    this.endpoints = parseEndpoints(opts.endpoints);
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
    this.connections = opts.connections ?? 128;
    this.roundRobin = opts.balance === "round-robin";
    this.rounds = Math.max(1, opts.retryRounds ?? 2);
  }

  /** The endpoints one call should try, in order: the pinned one first (or the next, round-robin). */
  order(only?: string): string[] {
    if (only !== undefined) return [normalizeEndpoint(only)];
    const start = this.pinned % this.endpoints.length;
    if (this.roundRobin) this.pinned = start + 1;
    return [...this.endpoints.slice(start), ...this.endpoints.slice(0, start)];
  }

  /** Stick to an endpoint that just worked (failover mode). */
  prefer(endpoint: string): void {
    const i = this.endpoints.indexOf(endpoint);
    if (!this.roundRobin && i >= 0) this.pinned = i;
  }

  private pool(endpoint: string): Pool {
    let p = this.pools.get(endpoint);
    if (!p) {
      p = new Pool(endpoint, { connections: this.connections, pipelining: 1, connectTimeout: this.connectTimeoutMs });
      this.pools.set(endpoint, p);
    }
    return p;
  }

  /** Runs `fn` on each endpoint in turn until one succeeds or the error is not retriable. Another
   * round over the list follows a short pause, unless a timeout already spent the caller's time. */
  async withFailover<T>(idempotent: boolean, opts: CallOptions, fn: (endpoint: string) => Promise<T>): Promise<T> {
    let last: EtcdError | undefined;
    for (let round = 0; round < this.rounds; round++) {
      if (round > 0 && last?.code === GrpcCode.DeadlineExceeded) break;
      if (round > 0) await sleep(100 * round);
      for (const ep of this.order(opts.endpoint)) {
        if (opts.signal?.aborted) throw new EtcdError(GrpcCode.Canceled, "context canceled");
        try {
          const r = await fn(ep);
          this.prefer(ep);
          return r;
        } catch (e) {
          const err = fromNetworkError(e, ep);
          if (!retriable(err, idempotent)) throw err;
          last = err;
        }
      }
    }
    throw last ?? new EtcdError(GrpcCode.Unavailable, "no endpoint available");
  }

  /** POST a JSON request to the gateway; the parsed response, or EtcdError. */
  call(path: string, body: Json, idempotent: boolean, opts: CallOptions = {}): Promise<Json> {
    const text = JSON.stringify(body);
    return this.withFailover(idempotent, opts, async (ep) => {
      const { status, json, raw } = await this.send(ep, "POST", path, text, opts);
      if (status !== 200) throw fromErrorBody(status, raw);
      return json;
    });
  }

  /** One request to one endpoint; the HTTP status and parsed body (non-200 bodies too). The timeout
   * is our own timer: undici's headersTimeout/bodyTimeout only fire to the nearest second. */
  async send(endpoint: string, method: "GET" | "POST", path: string, body: string | undefined, opts: CallOptions = {}) {
    const t = opts.timeoutMs ?? this.timeoutMs;
    const ac = new AbortController();
    let timedOut = false;
    const timer = t > 0 ? setTimeout(() => { timedOut = true; ac.abort(); }, t) : undefined;
    const onAbort = () => ac.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const res = await this.pool(endpoint).request({
        path, method, body, headers: body === undefined ? undefined : JSON_HEADERS, signal: ac.signal,
      });
      const raw = await res.body.text();
      let json: Json = {};
      try {
        json = obj(JSON.parse(raw));
      } catch {
        if (res.statusCode === 200) throw new EtcdError(GrpcCode.Unknown, `non-JSON response from ${endpoint}${path}: ${raw.slice(0, 200)}`);
      }
      return { status: res.statusCode, json, raw };
    } catch (e) {
      if (timedOut) throw new AttemptError(GrpcCode.DeadlineExceeded, `context deadline exceeded after ${t} ms (${endpoint})`, true);
      throw e;
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
  }
}
