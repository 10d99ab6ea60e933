// Book 12.3: the watch cache's promises — lists in key order with paging, watches that replay from
// a revision, 410 once a revision leaves the window, and "stopped matching" seen as DELETED.
import { describe, expect, it } from "vitest";
import { parseSelector } from "@corekube/api";
import type { KubeObject } from "../registry/types.js";
import { WatchCache, type CacheEvent, type CacheWatcher, type Filter } from "./watch-cache.js";

const P = "/registry/pods/";
const pod = (ns: string, name: string, rv: number, labels?: Record<string, string>): KubeObject => ({
  metadata: { name, namespace: ns, resourceVersion: String(rv), labels },
});
const key = (ns: string, name: string) => `${P}${ns}/${name}`;

function collector(filter: Filter = { keyPrefix: "" }) {
  const events: CacheEvent[] = [];
  let stopped = "";
  const w: CacheWatcher = {
    filter,
    push: (ev) => {
      events.push(ev);
      return true;
    },
    stop: (r) => {
      stopped = r;
    },
  };
  return { w, events, stopped: () => stopped };
}

function put(c: WatchCache, ns: string, name: string, rev: number, labels?: Record<string, string>) {
  const k = key(ns, name);
  const prev = c.get(k);
  c.apply({ type: prev ? "MODIFIED" : "ADDED", key: k, obj: pod(ns, name, rev, labels), prev, rev });
}

describe("WatchCache", () => {
  it("lists in key order, by namespace, with limit and a continue key", () => {
    const c = new WatchCache({ prefix: P });
    c.replace([], 1);
    put(c, "b", "x", 2);
    put(c, "a", "z", 3);
    put(c, "a", "y", 4);
    expect(c.list({ keyPrefix: "" }).items.map((i) => i.key)).toEqual([key("a", "y"), key("a", "z"), key("b", "x")]);
    expect(c.list({ keyPrefix: "a/" }).items.map((i) => i.obj.metadata.name)).toEqual(["y", "z"]);
    const p1 = c.list({ keyPrefix: "" }, { limit: 2 });
    expect(p1.more).toBe(true);
    const p2 = c.list({ keyPrefix: "" }, { limit: 2, afterKey: p1.lastKey });
    expect(p2.items.map((i) => i.obj.metadata.name)).toEqual(["x"]);
    expect(p2.more).toBe(false);
  });

  it("filters lists by label selector", () => {
    const c = new WatchCache({ prefix: P });
    c.replace([{ key: key("a", "1"), obj: pod("a", "1", 1, { app: "web" }) }, { key: key("a", "2"), obj: pod("a", "2", 1, { app: "db" }) }], 1);
    expect(c.list({ keyPrefix: "", labels: parseSelector("app in (web)") }).items.map((i) => i.obj.metadata.name)).toEqual(["1"]);
  });

  it("replays events after a revision and then streams new ones", () => {
    const c = new WatchCache({ prefix: P });
    c.replace([], 10);
    put(c, "a", "p", 11);
    put(c, "a", "q", 12);
    const { w, events } = collector();
    expect(c.watch(w, 11)).toBe("ok");
    expect(events.map((e) => [e.type, e.rev])).toEqual([["ADDED", 12]]);
    put(c, "a", "p", 13);
    expect(events.map((e) => [e.type, e.rev])).toEqual([["ADDED", 12], ["MODIFIED", 13]]);
  });

  it("starts a watch without a revision with the current state as ADDED", () => {
    const c = new WatchCache({ prefix: P });
    c.replace([{ key: key("a", "p"), obj: pod("a", "p", 5) }], 5);
    const { w, events } = collector();
    c.watch(w, undefined);
    expect(events.map((e) => e.type)).toEqual(["ADDED"]);
  });

  it("says expired for a revision older than the window", () => {
    const c = new WatchCache({ prefix: P, capacity: 2 });
    c.replace([], 1);
    for (let r = 2; r <= 6; r++) put(c, "a", `p${r}`, r);
    expect(c.oldestRev).toBeGreaterThan(2);
    expect(c.watch(collector().w, 2)).toBe("expired");
    expect(c.watch(collector().w, c.oldestRev)).toBe("ok");
  });

  it("turns an object that stops matching into DELETED and one that starts matching into ADDED", () => {
    const c = new WatchCache({ prefix: P });
    c.replace([{ key: key("a", "p"), obj: pod("a", "p", 1, { app: "web" }) }], 1);
    const { w, events } = collector({ keyPrefix: "", labels: parseSelector("app=web") });
    c.watch(w, 1);
    put(c, "a", "p", 2, { app: "db" });
    put(c, "a", "p", 3, { app: "web" });
    expect(events.map((e) => [e.type, e.rev, e.obj.metadata.resourceVersion])).toEqual([
      ["DELETED", 2, "2"],
      ["ADDED", 3, "3"],
    ]);
  });

  it("waits for a revision and wakes on progress", async () => {
    const c = new WatchCache({ prefix: P });
    c.replace([], 1);
    let done = false;
    const p = c.waitFor(5).then(() => (done = true));
    c.progress(4);
    await Promise.resolve();
    expect(done).toBe(false);
    c.progress(5);
    await p;
    expect(done).toBe(true);
  });

  it("waitFor with a timeout answers false and forgets the waiter; true when reached in time", async () => {
    const c = new WatchCache({ prefix: P });
    c.replace([], 1);
    expect(await c.waitFor(1_000_000, 20)).toBe(false);
    // The forgotten waiter is not woken later, and a new one still works.
    const p = c.waitFor(3, 5_000);
    c.progress(3);
    expect(await p).toBe(true);
    expect(await c.waitFor(2, 10)).toBe(true);
  });

  it("once closed, waiters learn at once that the cache will not catch up, and new watches end at once", async () => {
    const c = new WatchCache({ prefix: P });
    c.replace([], 1);
    const pending = c.waitFor(50);
    const w = collector();
    c.watch(w.w, 1);
    c.close("the resource is gone");
    expect(await pending).toBe(false);
    expect(w.stopped()).toBe("the resource is gone");
    expect(await c.waitFor(60)).toBe(false);
    expect(await c.waitFor(1)).toBe(true); // already there: no waiting needed
    const late = collector();
    expect(c.watch(late.w, undefined)).toBe("ok");
    expect(late.stopped()).toBe("the resource is gone");
    expect(c.watcherCount).toBe(0);
  });

  it("stops watchers that cannot keep up and on reload", () => {
    const c = new WatchCache({ prefix: P });
    c.replace([], 1);
    let stopped = "";
    const slow: CacheWatcher = { filter: { keyPrefix: "" }, push: () => false, stop: (r) => (stopped = r) };
    c.watch(slow, 1);
    put(c, "a", "p", 2);
    expect(stopped).toMatch(/behind/);
    const other = collector();
    c.watch(other.w, 2);
    c.replace([], 10);
    expect(other.stopped()).toMatch(/reloaded/);
    expect(c.watcherCount).toBe(0);
  });
});
