// Test support (Book 12.10): raw etcd v3 JSON over fetch, with bodies written as etcd clients write
// them, plus a reader for the NDJSON streams (/v3/watch, /v3/lease/keepalive).

export const b64 = (s: string) => Buffer.from(s, "latin1").toString("base64");
export const unb64 = (s: string | undefined) => (s ? Buffer.from(s, "base64").toString("latin1") : "");

/** The range end that makes [p, end) the keys with prefix p. */
export function prefixEnd(p: string): string {
  return p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface WireResponse {
  status: number;
  text: string;
  json: Json;
  headers: Headers;
}

/** POST a body (an object is JSON.stringify'd; a string goes as is). */
export async function post(ep: string, path: string, body: string | object = {}, timeoutMs = 10_000): Promise<WireResponse> {
  return send(ep, path, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) }, timeoutMs);
}

export async function send(ep: string, path: string, init: RequestInit, timeoutMs = 10_000): Promise<WireResponse> {
  const res = await fetch(ep + path, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

/** POST that must succeed; returns the JSON. */
export async function ok(ep: string, path: string, body: string | object = {}): Promise<Json> {
  const r = await post(ep, path, body);
  if (r.status !== 200) throw new Error(`${path} ${JSON.stringify(body).slice(0, 200)} -> ${r.status} ${r.text}`);
  return r.json;
}

export async function put(ep: string, key: string, value: string, extra: object = {}): Promise<Json> {
  return ok(ep, "/v3/kv/put", { key: b64(key), value: b64(value), ...extra });
}

/** The header revision of a put, as a number. */
export async function putRev(ep: string, key: string, value: string, extra: object = {}): Promise<number> {
  return Number((await put(ep, key, value, extra)).header.revision);
}

export interface Stream {
  status: number;
  /** The next {"result":...} (or {"error":...}) line, parsed. */
  next(timeoutMs?: number): Promise<Json>;
  /** Resolves true if no line arrives within ms. */
  quiet(ms: number): Promise<boolean>;
  /** Resolves when the server ends the response. */
  ended(timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Open a stream. etcd 3.4's gateway (Go's HTTP/1 server) answers only once the request body has
 * ended, so every request message is sent up front, as real clients of the gateway must. */
export async function openStream(ep: string, path: string, messages: object[], timeoutMs = 10_000): Promise<Stream> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const res = await fetch(ep + path, { method: "POST", body: messages.map((m) => JSON.stringify(m)).join("\n"), signal: abort.signal });
  clearTimeout(timer);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  let done = false;
  let pending: Promise<void> | undefined;
  const fill = () => {
    pending ??= reader.read().then(
      ({ value, done: d }) => {
        pending = undefined;
        if (d) done = true;
        else buf += decoder.decode(value, { stream: true });
      },
      () => {
        pending = undefined;
        done = true;
      },
    );
    return pending;
  };
  const line = (): string | undefined => {
    const i = buf.indexOf("\n");
    if (i < 0) return undefined;
    const l = buf.slice(0, i);
    buf = buf.slice(i + 1);
    return l.trim() === "" ? line() : l;
  };
  const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
    Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${path}: ${what} within ${ms} ms`)), ms))]);
  const stream: Stream = {
    status: res.status,
    async next(ms = 5_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const l = line();
        if (l !== undefined) return JSON.parse(l);
        if (done) {
          if (buf.trim() !== "") {
            const rest = buf;
            buf = "";
            return JSON.parse(rest);
          }
          throw new Error(`${path}: stream ended`);
        }
        await withTimeout(fill(), Math.max(1, deadline - Date.now()), "no line");
      }
    },
    async quiet(ms) {
      const deadline = Date.now() + ms;
      for (;;) {
        if (buf.includes("\n")) return false;
        const left = deadline - Date.now();
        if (done || left <= 0) return true;
        await Promise.race([fill(), new Promise((r) => setTimeout(r, left))]);
      }
    },
    async ended(ms = 5_000) {
      const deadline = Date.now() + ms;
      while (!done) await withTimeout(fill(), Math.max(1, deadline - Date.now()), "no end");
    },
    close() {
      abort.abort();
      reader.cancel().catch(() => {});
    },
  };
  return stream;
}
