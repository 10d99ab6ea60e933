// Test support (Book 11.2 and 12.2): an in-process `corekube apiserver` on plain HTTP over a real
// storage process (corekube kv or Debian's etcd), plus a small HTTP client and a watch reader, for
// the API-semantics tests. Everything started here is stopped in afterAll, also after failures.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe } from "vitest";
import { Agent, request } from "undici";
import { startApiServer, type RunningApiServer } from "../../packages/apiserver/src/server/run.js";
import { etcdAvailable, startEtcd } from "../support/etcd-process.js";
import { startKv } from "../support/kv-process.js";
import { freePort } from "../support/ports.js";

export type Backend = "kv" | "etcd";

/** Which storage backends run: SEMANTICS_BACKENDS=kv,etcd (default both; CI insists on etcd). */
export const backends: Backend[] = (process.env.SEMANTICS_BACKENDS ?? "kv,etcd")
  .split(",")
  .map((s) => s.trim())
  .filter((s): s is Backend => {
    if (s === "") return false;
    if (s !== "kv" && s !== "etcd") throw new Error(`unknown backend "${s}" (known: kv, etcd)`);
    return true;
  })
  .filter((b) => {
    if (b !== "etcd" || etcdAvailable()) return true;
    if (process.env.CI) throw new Error("etcd is not installed: scripts/setup.sh --test installs Debian's etcd-server");
    return false;
  });

export const SERVICE_CIDR = "10.96.0.0/24";
export const NODE_PORTS = { min: 30000, max: 30049 };

export interface Reply<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

export interface CallOptions {
  body?: unknown;
  /** Content-Type; default application/json (or merge-patch for PATCH). */
  type?: string;
  accept?: string;
  headers?: Record<string, string>;
}

export interface WatchEvent {
  type: string;
  object: any;
}

export interface WatchReader {
  status: number;
  events: WatchEvent[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  isEnded(): boolean;
  /** Waits until an event passes `pred` (searching from `from`, default 0); returns it. */
  waitFor(pred: (e: WatchEvent) => boolean, timeoutMs?: number, from?: number): Promise<WatchEvent>;
  /** Waits until at least n events arrived. */
  waitCount(n: number, timeoutMs?: number): Promise<WatchEvent[]>;
  close(): void;
}

export interface Api {
  readonly url: string;
  readonly server: RunningApiServer;
  readonly storageEndpoint: string;
  readonly backend: Backend;
  call<T = any>(method: string, path: string, opts?: CallOptions): Promise<Reply<T>>;
  get<T = any>(path: string, opts?: CallOptions): Promise<Reply<T>>;
  post<T = any>(path: string, body: unknown, opts?: CallOptions): Promise<Reply<T>>;
  put<T = any>(path: string, body: unknown, opts?: CallOptions): Promise<Reply<T>>;
  patch<T = any>(path: string, body: unknown, opts?: CallOptions): Promise<Reply<T>>;
  del<T = any>(path: string, body?: unknown, opts?: CallOptions): Promise<Reply<T>>;
  /** Creates a namespace with a fresh name and returns the name. */
  namespace(prefix?: string): Promise<string>;
  watch(path: string, opts?: { accept?: string }): Promise<WatchReader>;
  /** Storage's current revision. */
  revision(): Promise<number>;
  /** Compacts storage up to rev through etcd's JSON API. */
  compact(rev: number): Promise<void>;
  /** Stops the API server and starts a fresh one (new caches) on the same storage. */
  restart(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until fn returns a truthy value (or throws after timeoutMs with the last result). */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 10_000, what = "condition"): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await sleep(50);
  }
}

let nsSeq = 0;

function makeApi(state: { server: RunningApiServer }, storageEndpoint: string, backend: Backend, agent: Agent, start: () => Promise<RunningApiServer>): Api {
  const api: Api = {
    get url() {
      return state.server.url;
    },
    get server() {
      return state.server;
    },
    storageEndpoint,
    backend,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
        headers["content-type"] = opts.type ?? (method === "PATCH" ? "application/merge-patch+json" : "application/json");
      }
      if (opts.accept) headers.accept = opts.accept;
      const r = await request(api.url + path, { method: method as never, body, headers, dispatcher: agent, headersTimeout: 15_000, bodyTimeout: 15_000 });
      const text = await r.body.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON: keep the text */
      }
      return { status: r.statusCode, headers: r.headers, body: parsed as never, text };
    },
    get: (p, o) => api.call("GET", p, o),
    post: (p, b, o) => api.call("POST", p, { ...o, body: b }),
    put: (p, b, o) => api.call("PUT", p, { ...o, body: b }),
    patch: (p, b, o) => api.call("PATCH", p, { ...o, body: b }),
    del: (p, b, o) => api.call("DELETE", p, { ...o, body: b }),
    async namespace(prefix = "t") {
      const name = `${prefix}-${process.pid}-${++nsSeq}`;
      const r = await api.post("/api/v1/namespaces", { metadata: { name } });
      if (r.status !== 201) throw new Error(`creating namespace ${name}: ${r.status} ${r.text}`);
      return name;
    },
    watch: (path, opts) => openWatch(api.url + path, agent, opts?.accept),
    revision: () => state.server.storage.currentRevision(),
    async restart() {
      await state.server.close();
      state.server = await start();
    },
    async compact(rev) {
      const r = await request(`${storageEndpoint}/v3/kv/compaction`, {
        method: "POST",
        body: JSON.stringify({ revision: String(rev), physical: true }),
        headers: { "content-type": "application/json" },
      });
      const text = await r.body.text();
      if (r.statusCode !== 200) throw new Error(`compaction to ${rev}: ${r.statusCode} ${text}`);
    },
  };
  return api;
}

async function openWatch(url: string, agent: Agent, accept?: string): Promise<WatchReader> {
  const ac = new AbortController();
  const r = await request(url, { method: "GET", dispatcher: agent, signal: ac.signal, headers: accept ? { accept } : {}, headersTimeout: 15_000, bodyTimeout: 0 });
  const events: WatchEvent[] = [];
  let ended = false;
  let buf = "";
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  const endedP = (async () => {
    try {
      for await (const chunk of r.body) {
        buf += (chunk as Buffer).toString("utf8");
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (line) events.push(JSON.parse(line) as WatchEvent);
        }
        notify();
      }
      if (buf.trim()) events.push(JSON.parse(buf) as WatchEvent);
    } catch {
      /* aborted by close() */
    } finally {
      ended = true;
      notify();
    }
  })();
  const waitUntil = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const tryIt = () => {
        const v = check();
        if (v !== undefined) {
          cleanup();
          resolve(v);
        } else if (ended) {
          cleanup();
          reject(new Error(`watch ended before ${what}; events: ${JSON.stringify(events.map((e) => [e.type, e.object?.metadata?.name]))}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.map((e) => [e.type, e.object?.metadata?.name]))}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(tryIt);
      };
      listeners.add(tryIt);
      tryIt();
    });
  return {
    status: r.statusCode,
    events,
    ended: endedP,
    isEnded: () => ended,
    waitFor: (pred, timeoutMs = 10_000, from = 0) => waitUntil(() => events.slice(from).find(pred), timeoutMs, "a matching event"),
    waitCount: (n, timeoutMs = 10_000) => waitUntil(() => (events.length >= n ? events.slice(0, n) : undefined), timeoutMs, `${n} events`),
    close: () => ac.abort(),
  };
}

/**
 * One describe block per backend, each with its own storage process and in-process API server
 * (plain HTTP, every request is the admin). `fn` gets a getter for the running server.
 */
export function describeApiServer(title: string, fn: (ctx: { readonly api: Api }) => void): void {
  if (backends.length === 0) {
    describe.skip(`${title} (no storage backend selected)`, () => {});
    return;
  }
  describe.each(backends)(`%s: ${title}`, (backend) => {
    let api: Api | undefined;
    let storage: { stop(): Promise<void> } | undefined;
    const state: { server?: RunningApiServer } = {};
    let stateDir: string | undefined;
    let agent: Agent | undefined;
    beforeAll(async () => {
      const st = backend === "kv" ? await startKv() : await startEtcd();
      storage = st;
      const dir = (stateDir = mkdtempSync(join(tmpdir(), "corekube-semantics-")));
      const start = async () =>
        startApiServer({
          etcdServers: st.endpoints,
          stateDir: dir,
          securePort: await freePort(),
          bindAddress: "127.0.0.1",
          serviceClusterIpRange: SERVICE_CIDR,
          serviceNodePortRange: `${NODE_PORTS.min}-${NODE_PORTS.max}`,
          insecureHttp: true,
          compactionIntervalMs: 0,
          log: () => undefined,
        });
      state.server = await start();
      agent = new Agent({ connections: 32 });
      api = makeApi(state as { server: RunningApiServer }, st.endpoints[0]!, backend, agent, start);
    }, 60_000);
    afterAll(async () => {
      // The server first: it ends every open watch; then the client side, without waiting for them.
      // Neither may hold up stopping the storage process (a worker killed at the hook timeout
      // would leave it running).
      const bounded = (p: Promise<unknown> | undefined) =>
        Promise.race([p?.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
      await bounded(state.server?.close());
      await bounded(agent?.destroy());
      await storage?.stop();
      if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    }, 30_000);
    fn({
      get api() {
        if (!api) throw new Error(`the ${backend} API server did not start`);
        return api;
      },
    });
  });
}

/** A minimal valid pod. */
export function pod(name: string, extra: { labels?: Record<string, string>; nodeName?: string; finalizers?: string[]; grace?: number } = {}): any {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}), ...(extra.finalizers ? { finalizers: extra.finalizers } : {}) },
    spec: {
      containers: [{ name: "c", image: "busybox" }],
      ...(extra.nodeName ? { nodeName: extra.nodeName } : {}),
      ...(extra.grace !== undefined ? { terminationGracePeriodSeconds: extra.grace } : {}),
    },
  };
}

export function configMap(name: string, data: Record<string, string> = {}, labels?: Record<string, string>): any {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, ...(labels ? { labels } : {}) }, data };
}

export function deployment(name: string, replicas = 1): any {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "nginx" }] } },
    },
  };
}
