// Book 11.2 and 12.3: a watch on the wire — one long chunked HTTP response carrying a JSON event per
// line (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR), served from the watch cache, ended by
// timeoutSeconds, a slow reader, or the client going away.
import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { badRequest, tooOldResourceVersion, type Status } from "@corekube/api";
import type { CacheEvent, CacheWatcher, Filter } from "../cacher/watch-cache.js";
import type { ResourceStore } from "../registry/store.js";
import type { KubeObject } from "../registry/types.js";

export interface WatchParams {
  filter: Filter;
  resourceVersion?: string;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
  /** Renders one event's object (plain object or a one-row Table); `first` = first event sent. */
  render?: (obj: KubeObject, first: boolean) => unknown;
  /** How often to send a BOOKMARK when allowBookmarks (default watchDefaults.bookmarkIntervalMs). */
  bookmarkIntervalMs?: number;
}

/**
 * Server-wide watch settings: how often a watch that allows bookmarks gets one (kube-apiserver
 * sends them about once a minute; tests shorten this).
 */
export const watchDefaults = { bookmarkIntervalMs: 30_000 };

/** Buffered bytes past which a watcher is considered stuck and is closed (clients re-watch). */
const MAX_BUFFERED = 32 * 1024 * 1024;

const uncork = (socket: Duplex) => socket.uncork();

export async function serveWatch(store: ResourceStore, res: ServerResponse, p: WatchParams, contentType = "application/json"): Promise<void> {
  // A malformed start point is refused before the stream starts, with a plain 400.
  const rv = p.resourceVersion;
  if (rv !== undefined && rv !== "" && !/^\d+$/.test(rv)) {
    const status = badRequest(`invalid resourceVersion: "${rv.slice(0, 64)}"`).status;
    res.writeHead(400, { "Content-Type": "application/json" });
    res.end(JSON.stringify(status));
    return;
  }
  res.writeHead(200, {
    "Content-Type": contentType,
    "Transfer-Encoding": "chunked",
    "Cache-Control": "no-cache, private",
  });
  res.flushHeaders?.();
  let closed = false;
  let first = true;
  let timer: NodeJS.Timeout | undefined;
  let bookmarks: NodeJS.Timeout | undefined;

  const line = (ev: CacheEvent): string | Uint8Array => {
    if (!p.render) {
      // One encoded buffer per event, shared by every watcher that sends it unchanged.
      const memo = (ev.memo ??= new Map());
      const k = `chunk:${ev.type}`;
      let b = memo.get(k);
      if (b === undefined) {
        // A complete HTTP chunk (size line, JSON line, CRLF), so each watcher's cost is one socket write.
        const body = Buffer.from(`{"type":"${ev.type}","object":${JSON.stringify(store.present(ev.obj))}}\n`);
        b = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from("\r\n")]);
        memo.set(k, b);
      }
      return b;
    }
    const out = JSON.stringify({ type: ev.type, object: p.render(store.present(ev.obj), first) }) + "\n";
    first = false;
    return out;
  };

  const finish = () => {
    if (closed) return;
    closed = true;
    if (timer) clearTimeout(timer);
    if (bookmarks) clearInterval(bookmarks);
    store.unwatch(watcher);
    if (!res.writableEnded) res.end();
  };

  const watcher: CacheWatcher = {
    filter: p.filter,
    push(ev) {
      if (closed) return true;
      const out = line(ev);
      const socket = res.socket;
      if (typeof out !== "string" && socket) {
        // The shared, already framed chunk goes straight to the socket (res.end() still sends the
        // final empty chunk). Everything else this response writes goes through res in order.
        // Events that come together (one batch from storage) leave in one socket write: the
        // socket stays corked until the batch has been handled, as Node does for res.write.
        // Socket writes are costly here, so this saves one per event after the first.
        if (!socket.writableCorked) {
          socket.cork();
          process.nextTick(uncork, socket);
        }
        socket.write(out);
        return socket.writableLength < MAX_BUFFERED;
      }
      res.write(typeof out === "string" ? out : Buffer.from(out));
      return res.writableLength < MAX_BUFFERED;
    },
    stop() {
      finish();
    },
  };

  res.on("close", finish);
  res.on("error", finish);

  const sendStatus = (status: Status) => {
    if (closed) return;
    res.write(JSON.stringify({ type: "ERROR", object: status }) + "\n");
  };

  let outcome: "ok" | "expired";
  try {
    outcome = await store.watch(watcher, p.resourceVersion);
  } catch (e) {
    const status = (e as { status?: Status }).status;
    if (status) sendStatus(status);
    finish();
    return;
  }
  if (outcome === "expired") {
    sendStatus(tooOldResourceVersion(p.resourceVersion ?? "0", store.cache.oldestRev).status);
    finish();
    return;
  }
  if (closed) {
    store.unwatch(watcher);
    return;
  }
  // Timers hold at most 2^31-1 ms (about 24 days); a longer timeoutSeconds would fire at once.
  const asked = p.timeoutSeconds !== undefined && p.timeoutSeconds > 0 ? p.timeoutSeconds * 1000 : (1800 + Math.random() * 1800) * 1000;
  const timeoutMs = Math.min(asked, 2 ** 31 - 1);
  timer = setTimeout(() => {
    if (p.allowBookmarks) bookmark();
    finish();
  }, timeoutMs);
  const bookmark = () => {
    if (closed) return;
    const obj = { kind: store.def.kind, apiVersion: store.apiVersion, metadata: { resourceVersion: String(store.cache.rev) } };
    res.write(JSON.stringify({ type: "BOOKMARK", object: obj }) + "\n");
  };
  if (p.allowBookmarks) bookmarks = setInterval(bookmark, p.bookmarkIntervalMs ?? watchDefaults.bookmarkIntervalMs);
}
