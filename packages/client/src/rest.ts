// Book 2.3 and 11.2: the REST client every component uses to talk to the API server: TLS with the
// kubeconfig's CA and client certificate (or a bearer token), JSON bodies, Status errors as
// StatusError, client-side rate limiting, and watch streams (one JSON event per line).
import { type KubeObject, type Status, type StatusReason, type WatchEvent, StatusError, failure, isStatus } from "@corekube/api";
import { type SecureContextOptions, createSecureContext } from "node:tls";
import { Agent, type Dispatcher } from "undici";
import { type RateLimiter, TokenBucket, unlimited } from "./flowcontrol.js";
import { type ClientConfig, type LoadKubeconfigOptions, loadKubeconfig } from "./kubeconfig.js";
import { type ResourceType, apiVersionOf, resourcePath } from "./resources.js";

export interface RestClientOptions {
  /** Sent as User-Agent, e.g. "corekube-scheduler". */
  userAgent?: string;
  /** Steady request rate; 0 or less turns rate limiting off. Default 50 (kube-scheduler's default). */
  qps?: number;
  burst?: number;
  /** Per-request timeout for non-watch requests. Default 60 s. */
  timeoutMs?: number;
  /**
   * Connections for ordinary requests (more requests wait for a free one). Default 64. Watches use
   * their own connections, one each, so a long watch never holds up a write.
   */
  maxConnections?: number;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

const REASON_FOR_CODE: Record<number, StatusReason> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  406: "NotAcceptable",
  409: "Conflict",
  410: "Expired",
  413: "RequestEntityTooLarge",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

export function queryString(q: Query | undefined): string {
  if (!q) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === "") continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

/** The error for a non-2xx answer: the server's Status when it sent one, else one made from the code. */
export function errorFromResponse(code: number, text: string, what: string): StatusError {
  try {
    const body = JSON.parse(text) as unknown;
    if (isStatus(body)) return new StatusError(body as Status);
  } catch {
    // not JSON
  }
  const reason = REASON_FOR_CODE[code] ?? (code >= 500 ? "InternalError" : "");
  return failure(code, reason, `${what}: the server answered ${code}${text ? `: ${text.slice(0, 300)}` : ""}`);
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  resourceVersionMatch?: "NotOlderThan" | "Exact";
  limit?: number;
  continue?: string;
  signal?: AbortSignal;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export interface ObjectList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export type PatchType = "merge" | "strategic" | "json" | "apply";

const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

export interface WriteOptions {
  namespace?: string;
  dryRun?: boolean;
  fieldManager?: string;
  signal?: AbortSignal;
}

export interface DeleteOptions {
  namespace?: string;
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  signal?: AbortSignal;
}

/** A client for one kind of resource: get, list, watch, create, update, patch, delete. */
export class ResourceClient<T extends KubeObject = KubeObject> {
  constructor(
    readonly rest: RestClient,
    readonly type: ResourceType,
  ) {}

  private ns(namespace: string | undefined, obj?: KubeObject): string | undefined {
    if (!this.type.namespaced) return undefined;
    return namespace ?? obj?.metadata.namespace ?? this.rest.config.namespace;
  }

  path(namespace?: string, name?: string, subresource?: string): string {
    return resourcePath(this.type, { namespace: this.ns(namespace), name, subresource });
  }

  get(name: string, namespace?: string, signal?: AbortSignal): Promise<T> {
    return this.rest.request<T>("GET", this.path(namespace, name), { signal });
  }

  /** Lists across all namespaces unless `namespace` is given (cluster-scoped types ignore it). */
  list(opts: ListOptions = {}): Promise<ObjectList<T>> {
    const p = resourcePath(this.type, { namespace: this.type.namespaced ? opts.namespace : undefined });
    return this.rest.request<ObjectList<T>>("GET", p, {
      signal: opts.signal,
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        resourceVersion: opts.resourceVersion,
        resourceVersionMatch: opts.resourceVersionMatch,
        limit: opts.limit,
        continue: opts.continue,
      },
    });
  }

  watch(opts: WatchOptions = {}): AsyncGenerator<WatchEvent<T>> {
    const p = resourcePath(this.type, { namespace: this.type.namespaced ? opts.namespace : undefined });
    return this.rest.watch<T>(
      p,
      {
        watch: 1,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        resourceVersion: opts.resourceVersion,
        allowWatchBookmarks: opts.allowWatchBookmarks ? "true" : undefined,
        timeoutSeconds: opts.timeoutSeconds,
      },
      opts.signal,
    );
  }

  create(obj: T, opts: WriteOptions = {}): Promise<T> {
    const body = { apiVersion: apiVersionOf(this.type), kind: this.type.kind, ...obj };
    return this.rest.request<T>("POST", this.path(this.ns(opts.namespace, obj)), { body, signal: opts.signal, query: writeQuery(opts) });
  }

  update(obj: T, opts: WriteOptions = {}): Promise<T> {
    const body = { apiVersion: apiVersionOf(this.type), kind: this.type.kind, ...obj };
    return this.rest.request<T>("PUT", this.path(this.ns(opts.namespace, obj), obj.metadata.name), {
      body,
      signal: opts.signal,
      query: writeQuery(opts),
    });
  }

  updateStatus(obj: T, opts: WriteOptions = {}): Promise<T> {
    const body = { apiVersion: apiVersionOf(this.type), kind: this.type.kind, ...obj };
    return this.rest.request<T>("PUT", this.path(this.ns(opts.namespace, obj), obj.metadata.name, "status"), {
      body,
      signal: opts.signal,
      query: writeQuery(opts),
    });
  }

  patch(name: string, patch: unknown, type: PatchType, opts: WriteOptions & { subresource?: string; force?: boolean } = {}): Promise<T> {
    return this.rest.request<T>("PATCH", this.path(opts.namespace, name, opts.subresource), {
      body: type === "apply" && typeof patch !== "string" ? JSON.stringify(patch) : patch,
      contentType: PATCH_CONTENT_TYPE[type],
      signal: opts.signal,
      query: { ...writeQuery(opts), force: opts.force ? "true" : undefined },
    });
  }

  /** The deleted object (or, for an object that waits on finalizers or grace, its current state). */
  delete(name: string, opts: DeleteOptions = {}): Promise<T | Status> {
    const body: Record<string, unknown> = { apiVersion: "v1", kind: "DeleteOptions" };
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.preconditions) body.preconditions = opts.preconditions;
    if (opts.dryRun) body.dryRun = ["All"];
    return this.rest.request<T | Status>("DELETE", this.path(opts.namespace, name), { body, signal: opts.signal });
  }

  /** POST to a subresource, e.g. pods/binding or pods/eviction. */
  createSubresource<R = unknown>(name: string, subresource: string, body: unknown, opts: WriteOptions = {}): Promise<R> {
    return this.rest.request<R>("POST", this.path(opts.namespace, name, subresource), { body, signal: opts.signal, query: writeQuery(opts) });
  }
}

function writeQuery(o: WriteOptions): Query {
  return { dryRun: o.dryRun ? "All" : undefined, fieldManager: o.fieldManager };
}

/** One API server connection pool plus rate limiter; share it between a component's informers and writers. */
export class RestClient {
  readonly agent: Agent;
  private readonly watchAgent: Agent;
  readonly limiter: RateLimiter;
  private readonly baseHeaders: Record<string, string>;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(
    readonly config: ClientConfig,
    opts: RestClientOptions = {},
  ) {
    const qps = opts.qps ?? 50;
    this.limiter = qps > 0 ? new TokenBucket(qps, opts.burst ?? Math.max(1, qps * 2)) : unlimited;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    // One TLS context for every connection: parsing the CA, certificate and key once, not per socket.
    const material: SecureContextOptions = {};
    if (config.caPem) material.ca = config.caPem;
    if (config.clientCertPem && config.clientKeyPem) {
      material.cert = config.clientCertPem;
      material.key = config.clientKeyPem;
    }
    const connect = { rejectUnauthorized: !config.insecureSkipTlsVerify, secureContext: createSecureContext(material) };
    // Bounded: a burst of writes reuses warm connections instead of paying a TLS handshake each.
    this.agent = new Agent({ connect, keepAliveTimeout: 30_000, pipelining: 1, connections: opts.maxConnections ?? 64 });
    this.watchAgent = new Agent({ connect, keepAliveTimeout: 30_000, pipelining: 1 });
    this.baseHeaders = { accept: "application/json", "user-agent": opts.userAgent ?? "corekube-client" };
    if (config.token) this.baseHeaders.authorization = `Bearer ${config.token}`;
  }

  /** A client from a kubeconfig (a path, $KUBECONFIG or ~/.kube/config). */
  static async fromKubeconfig(opts: LoadKubeconfigOptions & RestClientOptions = {}): Promise<RestClient> {
    return new RestClient(await loadKubeconfig(opts), opts);
  }

  resource<T extends KubeObject = KubeObject>(type: ResourceType): ResourceClient<T> {
    return new ResourceClient<T>(this, type);
  }

  private async send(method: string, path: string, o: RequestOptions, timeoutMs: number, agent = this.agent): Promise<Dispatcher.ResponseData> {
    if (this.closed) throw new Error("client is closed");
    await this.limiter.wait(o.signal);
    const headers: Record<string, string> = { ...this.baseHeaders };
    let body: string | undefined;
    if (o.body !== undefined) {
      body = typeof o.body === "string" ? o.body : JSON.stringify(o.body);
      headers["content-type"] = o.contentType ?? "application/json";
    }
    const url = new URL(this.config.server + path + queryString(o.query));
    return agent.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: method as Dispatcher.HttpMethod,
      headers,
      body,
      signal: o.signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  }

  /** One request; resolves with the parsed JSON body, or throws StatusError for a non-2xx answer. */
  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const res = await this.send(method, path, o, timeoutMs);
      const text = await res.body.text();
      if (res.statusCode >= 200 && res.statusCode < 300) return (text === "" ? undefined : JSON.parse(text)) as T;
      // 429 with Retry-After: the server did not process the request; wait and try again, as client-go does.
      const retryAfter = Number(res.headers["retry-after"]);
      if (res.statusCode === 429 && Number.isFinite(retryAfter) && attempt < 5) {
        await new Promise((r) => setTimeout(r, Math.min(10, Math.max(retryAfter, 0.1)) * 1000));
        continue;
      }
      throw errorFromResponse(res.statusCode, text, `${method} ${path}`);
    }
  }

  /**
   * A watch: yields events until the server ends the stream (timeoutSeconds) or `signal` aborts.
   * An ERROR event (e.g. 410 Expired) is thrown as a StatusError.
   */
  async *watch<T = KubeObject>(path: string, query: Query, signal?: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    const res = await this.send("GET", path, { query, signal }, this.timeoutMs, this.watchAgent).then(
      (r) => r,
      (e: unknown) => {
        if (signal?.aborted) return undefined;
        throw e;
      },
    );
    if (!res) return;
    if (res.statusCode !== 200) throw errorFromResponse(res.statusCode, await res.body.text(), `GET ${path} (watch)`);
    // Events are newline-delimited JSON; a line may span chunks, and a chunk may hold many lines.
    // Newlines are found in the bytes, so each line is decoded once.
    let pending: Buffer[] = [];
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        let start = 0;
        let nl: number;
        while ((nl = chunk.indexOf(10, start)) >= 0) {
          const piece = chunk.subarray(start, nl);
          start = nl + 1;
          const line = pending.length === 0 ? piece.toString("utf8") : Buffer.concat([...pending, piece]).toString("utf8");
          pending = [];
          if (line.trim() === "") continue;
          const ev = JSON.parse(line) as WatchEvent<T>;
          if (ev.type === "ERROR") throw isStatus(ev.object) ? new StatusError(ev.object as unknown as Status) : failure(500, "InternalError", line);
          yield ev;
        }
        if (start < chunk.length) pending.push(chunk.subarray(start));
      }
    } catch (e) {
      if (signal?.aborted) return;
      throw e;
    } finally {
      if (!res.body.destroyed) res.body.destroy();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.agent.destroy(), this.watchAgent.destroy()]);
  }
}
