// Book 11.2: tests for the Reflector's list-then-watch loop, resumption and relist on 410.
import { type KubeObject, type WatchEvent, gone, resourceExpired } from "@corekube/api";
import { describe, expect, it } from "vitest";
import { type ListerWatcher, Reflector, type ReflectorSink } from "./reflector.js";
import type { ObjectList } from "./rest.js";

const obj = (name: string, rv: number): KubeObject => ({ metadata: { name, resourceVersion: String(rv) } });

type Script = { watch: (rv: string) => WatchEvent[] | Error };

function fakeLW(lists: ObjectList<KubeObject>[], script: Script) {
  const calls: string[] = [];
  const lw: ListerWatcher<KubeObject> = {
    async list(o) {
      calls.push(`list rv=${o.resourceVersion ?? ""} limit=${o.limit ?? ""}`);
      return lists.shift() ?? { metadata: { resourceVersion: "99" }, items: [] };
    },
    watch(o) {
      calls.push(`watch rv=${o.resourceVersion}`);
      const r = script.watch(o.resourceVersion);
      return (async function* () {
        await new Promise((res) => setTimeout(res, 1));
        if (r instanceof Error) throw r;
        yield* r;
      })();
    },
  };
  return { lw, calls };
}

function recordingSink() {
  const log: string[] = [];
  const sink: ReflectorSink<KubeObject> = {
    replace: (items, rv) => log.push(`replace ${items.map((i) => i.metadata.name).join(",")} @${rv}`),
    added: (o) => log.push(`add ${o.metadata.name}`),
    modified: (o) => log.push(`mod ${o.metadata.name}`),
    deleted: (o) => log.push(`del ${o.metadata.name}`),
  };
  return { sink, log };
}

async function runUntil(r: Reflector<KubeObject>, cond: () => boolean): Promise<void> {
  const ac = new AbortController();
  const done = r.run(ac.signal);
  const deadline = Date.now() + 3000;
  while (!cond() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 2));
  ac.abort();
  await done;
}

describe("Reflector", () => {
  it("lists from the cache (rv=0), then watches from the list's version and resumes from the last event", async () => {
    let n = 0;
    const { lw, calls } = fakeLW([{ metadata: { resourceVersion: "10" }, items: [obj("a", 5)] }], {
      watch: () =>
        ++n === 1
          ? [
              { type: "ADDED", object: obj("b", 11) },
              { type: "MODIFIED", object: obj("a", 12) },
            ]
          : n === 2
            ? [
                { type: "BOOKMARK", object: obj("", 20) },
                { type: "DELETED", object: obj("b", 21) },
              ]
            : [],
    });
    const { sink, log } = recordingSink();
    const r = new Reflector(lw, sink, { name: "test", backoffInitialMs: 1 });
    await runUntil(r, () => n >= 3);
    expect(calls.slice(0, 3)).toEqual(["list rv=0 limit=", "watch rv=10", "watch rv=12"]);
    expect(calls[3]).toBe("watch rv=21");
    expect(log).toEqual(["replace a @10", "add b", "mod a", "del b"]);
    expect(r.hasSynced()).toBe(true);
  });

  it("relists consistently, in pages, when the watch says the version is too old", async () => {
    let n = 0;
    const { lw, calls } = fakeLW(
      [
        { metadata: { resourceVersion: "10" }, items: [obj("a", 5)] },
        { metadata: { resourceVersion: "50", continue: "next" }, items: [obj("a", 40)] },
        { metadata: { resourceVersion: "50" }, items: [obj("c", 45)] },
      ],
      { watch: () => (++n === 1 ? resourceExpired("too old resource version: 10 (40)") : []) },
    );
    const { sink, log } = recordingSink();
    const errors: unknown[] = [];
    const r = new Reflector(lw, sink, { name: "test", backoffInitialMs: 1, onError: (e) => errors.push(e) });
    await runUntil(r, () => n >= 2);
    expect(calls.slice(0, 5)).toEqual(["list rv=0 limit=", "watch rv=10", "list rv= limit=500", "list rv= limit=500", "watch rv=50"]);
    expect(log).toEqual(["replace a @10", "replace a,c @50"]);
    expect(errors).toHaveLength(1);
  });

  it("treats 410 Gone like Expired, and retries other failures with backoff from the same version", async () => {
    let n = 0;
    const { lw, calls } = fakeLW([{ metadata: { resourceVersion: "7" }, items: [] }], {
      watch: () => {
        n++;
        if (n === 1) return new Error("connection reset");
        if (n === 2) return gone("gone");
        return [];
      },
    });
    const { sink } = recordingSink();
    const r = new Reflector(lw, sink, { name: "test", backoffInitialMs: 1 });
    await runUntil(r, () => n >= 3);
    expect(calls.slice(0, 4)).toEqual(["list rv=0 limit=", "watch rv=7", "watch rv=7", "list rv= limit=500"]);
  });
});
