// Book 12.2-12.3 and 11.2: watch as informers use it — start points (resourceVersion N, 0, unset),
// bookmarks, timeoutSeconds, selector transitions turned into DELETED/ADDED, 410 for a start point
// the cache no longer has, and Table events for `kubectl get -w`.
import { afterAll, beforeAll, expect, it } from "vitest";
import { watchDefaults } from "../../packages/apiserver/src/server/watch-stream.js";
import { configMap, describeApiServer, pod } from "./semantics-support.js";

const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
const summary = (evs: { type: string; object: any }[]) => evs.map((e) => `${e.type} ${e.object?.metadata?.name ?? ""}`.trim());

let savedInterval = 0;
beforeAll(() => {
  savedInterval = watchDefaults.bookmarkIntervalMs;
  watchDefaults.bookmarkIntervalMs = 300;
});
afterAll(() => {
  watchDefaults.bookmarkIntervalMs = savedInterval;
});

describeApiServer("watch", (t) => {
  it("from resourceVersion N: only later events, in order, DELETED carrying the deletion's revision", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    await t.api.post(base, configMap("a"));
    const b = await t.api.post(base, configMap("b"));
    const w = await t.api.watch(`${base}?watch=true&resourceVersion=${b.body.metadata.resourceVersion}`);
    try {
      expect(w.status).toBe(200);
      await t.api.post(base, configMap("c"));
      const m = await t.api.patch(`${base}/a`, { data: { x: "1" } });
      const d = await t.api.del(`${base}/b`);
      const evs = await w.waitCount(3);
      expect(summary(evs)).toEqual(["ADDED c", "MODIFIED a", "DELETED b"]);
      expect(evs[1]!.object.metadata.resourceVersion).toBe(m.body.metadata.resourceVersion);
      expect(evs[1]!.object.data).toEqual({ x: "1" });
      expect(evs[0]!.object.kind).toBe("ConfigMap");
      const delRv = Number(evs[2]!.object.metadata.resourceVersion);
      expect(delRv).toBeGreaterThan(Number(m.body.metadata.resourceVersion));
      expect(d.status).toBe(200);
      // Revisions only go up.
      const rvs = evs.map((e) => Number(e.object.metadata.resourceVersion));
      expect([...rvs].sort((x, y) => x - y)).toEqual(rvs);
      // A second watch from the MODIFIED event's revision sees only the delete.
      const w2 = await t.api.watch(`${base}?watch=true&resourceVersion=${m.body.metadata.resourceVersion}`);
      try {
        const ev = await w2.waitCount(1);
        expect(summary(ev)).toEqual(["DELETED b"]);
        await new Promise((r) => setTimeout(r, 200));
        expect(w2.events).toHaveLength(1);
      } finally {
        w2.close();
      }
    } finally {
      w.close();
    }
  });

  it("resourceVersion 0 and unset start with ADDED events for what exists, then follow changes", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    await t.api.post(base, configMap("x"));
    await t.api.post(base, configMap("y"));
    for (const q of ["resourceVersion=0", ""]) {
      const w = await t.api.watch(`${base}?watch=true${q ? "&" + q : ""}`);
      try {
        const initial = await w.waitCount(2);
        expect(summary(initial).sort()).toEqual(["ADDED x", "ADDED y"]);
        await t.api.patch(`${base}/x`, { data: { n: q || "unset" } });
        const mod = await w.waitFor((e) => e.type === "MODIFIED");
        expect(mod.object.metadata.name).toBe("x");
      } finally {
        w.close();
      }
    }
    // A namespace's watch sees nothing from another namespace; the all-namespaces watch does.
    const other = await t.api.namespace();
    const nsWatch = await t.api.watch(`${base}?watch=true&resourceVersion=${await t.api.revision()}`);
    const allWatch = await t.api.watch(`/api/v1/configmaps?watch=true&resourceVersion=${await t.api.revision()}`);
    try {
      await t.api.post(`/api/v1/namespaces/${other}/configmaps`, configMap("elsewhere"));
      await t.api.post(base, configMap("here"));
      await allWatch.waitFor((e) => e.object.metadata.name === "here");
      expect(summary(allWatch.events)).toEqual(["ADDED elsewhere", "ADDED here"]);
      await nsWatch.waitFor((e) => e.object.metadata.name === "here");
      expect(summary(nsWatch.events)).toEqual(["ADDED here"]);
    } finally {
      nsWatch.close();
      allWatch.close();
    }
  });

  it("bookmarks with allowWatchBookmarks carry a resourceVersion one can resume from; none without", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    const rv = await t.api.revision();
    const w = await t.api.watch(`${base}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
    const plain = await t.api.watch(`${base}?watch=true&resourceVersion=${rv}`);
    try {
      const c = await t.api.post(base, configMap("k"));
      const bm = await w.waitFor((e) => e.type === "BOOKMARK" && Number(e.object.metadata.resourceVersion) >= Number(c.body.metadata.resourceVersion), 5_000);
      expect(bm.object.kind).toBe("ConfigMap");
      expect(bm.object.apiVersion).toBe("v1");
      expect(Object.keys(bm.object.metadata)).toEqual(["resourceVersion"]);
      expect(summary(w.events.filter((e) => e.type !== "BOOKMARK"))).toEqual(["ADDED k"]);
      // Resuming from the bookmark sees only what came after it.
      await t.api.post(base, configMap("l"));
      const resumed = await t.api.watch(`${base}?watch=true&resourceVersion=${bm.object.metadata.resourceVersion}`);
      try {
        await resumed.waitFor((e) => e.object.metadata.name === "l");
        expect(summary(resumed.events)).toEqual(["ADDED l"]);
      } finally {
        resumed.close();
      }
      await plain.waitFor((e) => e.object.metadata.name === "l");
      await new Promise((r) => setTimeout(r, 700));
      expect(plain.events.some((e) => e.type === "BOOKMARK")).toBe(false);
    } finally {
      w.close();
      plain.close();
    }
  });

  it("timeoutSeconds ends the stream", async () => {
    const ns = await t.api.namespace();
    const started = Date.now();
    const w = await t.api.watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&timeoutSeconds=1`);
    await Promise.race([w.ended, new Promise((_, rej) => setTimeout(() => rej(new Error("watch still open after 5 s")), 5_000))]);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(4_000);
    expect((await t.api.get(`/api/v1/namespaces/${ns}/configmaps?watch=true&timeoutSeconds=soon`)).status).toBe(400);
    // A very long timeout keeps the stream open (it must not overflow into "at once").
    const long = await t.api.watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&timeoutSeconds=31536000`);
    try {
      await t.api.post(`/api/v1/namespaces/${ns}/configmaps`, configMap("still-open"));
      await long.waitFor((e) => e.object?.metadata?.name === "still-open");
      expect(long.isEnded()).toBe(false);
    } finally {
      long.close();
    }
  });

  it("selector transitions: an object that stops matching is DELETED for the watcher, one that starts matching is ADDED", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    await t.api.post(base, configMap("m", {}, { team: "red" }));
    const w = await t.api.watch(`${base}?watch=true&labelSelector=team%3Dblue&resourceVersion=${await t.api.revision()}`);
    try {
      const toBlue = await t.api.patch(`${base}/m`, { metadata: { labels: { team: "blue" } } });
      await t.api.patch(`${base}/m`, { data: { still: "blue" } });
      const toRed = await t.api.patch(`${base}/m`, { metadata: { labels: { team: "red" } } });
      await t.api.patch(`${base}/m`, { data: { now: "red" } }); // not seen
      await t.api.post(base, configMap("n", {}, { team: "blue" }));
      const evs = await w.waitCount(4);
      expect(summary(evs)).toEqual(["ADDED m", "MODIFIED m", "DELETED m", "ADDED n"]);
      expect(evs[0]!.object.metadata.resourceVersion).toBe(toBlue.body.metadata.resourceVersion);
      expect(evs[2]!.object.metadata.resourceVersion).toBe(toRed.body.metadata.resourceVersion);
      // The DELETED event shows the object as the watcher last knew it (still blue).
      expect(evs[2]!.object.metadata.labels.team).toBe("blue");
    } finally {
      w.close();
    }
    // Field selectors: a kubelet's watch on spec.nodeName sees a pod when it is bound.
    const pods = `/api/v1/namespaces/${ns}/pods`;
    await t.api.post(pods, pod("p"));
    const kw = await t.api.watch(`/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3Dnode-9&resourceVersion=${await t.api.revision()}`);
    try {
      await t.api.post(`${pods}/p/binding`, { metadata: { name: "p" }, target: { kind: "Node", name: "node-9" } });
      const added = await kw.waitFor((e) => e.type === "ADDED");
      expect(added.object.metadata.name).toBe("p");
      expect(added.object.spec.nodeName).toBe("node-9");
      await t.api.del(`${pods}/p`);
      const mod = await kw.waitFor((e) => e.type === "MODIFIED");
      expect(mod.object.metadata.deletionTimestamp).toBeTruthy();
      await t.api.del(`${pods}/p?gracePeriodSeconds=0`);
      await kw.waitFor((e) => e.type === "DELETED");
    } finally {
      kw.close();
    }
  });

  it("a start point older than the cache's window is an in-stream ERROR 410 Expired, then the stream ends", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    const old = await t.api.post(base, configMap("o"));
    const oldRv = old.body.metadata.resourceVersion;
    await t.api.patch(`${base}/o`, { data: { a: "1" } });
    // While the cache still has the window, a watch from oldRv replays the change.
    const replay = await t.api.watch(`${base}?watch=true&resourceVersion=${oldRv}`);
    try {
      expect(summary(await replay.waitCount(1))).toEqual(["MODIFIED o"]);
    } finally {
      replay.close();
    }
    // A fresh server's cache starts at the present: oldRv is now too old.
    await t.api.restart();
    const w = await t.api.watch(`${base}?watch=true&resourceVersion=${oldRv}`);
    try {
      expect(w.status).toBe(200);
      const ev = await w.waitCount(1);
      expect(ev[0]!.type).toBe("ERROR");
      expect(ev[0]!.object).toMatchObject({ kind: "Status", apiVersion: "v1", status: "Failure", code: 410, reason: "Expired" });
      expect(ev[0]!.object.message).toContain(`too old resource version: ${oldRv}`);
      await Promise.race([w.ended, new Promise((_, rej) => setTimeout(() => rej(new Error("stream not ended")), 5_000))]);
      expect(w.events).toHaveLength(1);
    } finally {
      w.close();
    }
    // The remedy: list again and watch from the list's resourceVersion.
    const list = await t.api.get(base);
    const again = await t.api.watch(`${base}?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`);
    try {
      await t.api.del(`${base}/o`);
      expect(summary(await again.waitCount(1))).toEqual(["DELETED o"]);
    } finally {
      again.close();
    }
    // A resourceVersion that is not a number is refused, never a hang.
    const bad = await t.api.get(`${base}?watch=true&resourceVersion=abc&timeoutSeconds=2`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ kind: "Status", reason: "BadRequest" });
  });

  it("a watch of one object by name", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    await t.api.post(base, configMap("one"));
    await t.api.post(base, configMap("two"));
    const w = await t.api.watch(`${base}?watch=true&fieldSelector=metadata.name%3Done`);
    const w2 = await t.api.watch(`${base}/two?watch=true`);
    try {
      await t.api.patch(`${base}/one`, { data: { a: "1" } });
      await t.api.patch(`${base}/two`, { data: { a: "1" } });
      await w.waitCount(2);
      expect(summary(w.events)).toEqual(["ADDED one", "MODIFIED one"]);
      await w2.waitCount(2);
      expect(summary(w2.events)).toEqual(["ADDED two", "MODIFIED two"]);
    } finally {
      w.close();
      w2.close();
    }
  });

  it("Table watch events: one row each, column definitions only on the first", async () => {
    const ns = await t.api.namespace();
    const pods = `/api/v1/namespaces/${ns}/pods`;
    await t.api.post(pods, pod("t1"));
    const w = await t.api.watch(`${pods}?watch=true&resourceVersion=0`, { accept: TABLE });
    try {
      await t.api.post(pods, pod("t2", { nodeName: "n" }));
      const evs = await w.waitCount(2);
      expect(evs.map((e) => e.type)).toEqual(["ADDED", "ADDED"]);
      for (const e of evs) {
        expect(e.object).toMatchObject({ kind: "Table", apiVersion: "meta.k8s.io/v1" });
        expect(e.object.rows).toHaveLength(1);
        expect(e.object.rows[0].object).toMatchObject({ kind: "PartialObjectMetadata" });
        expect(e.object.metadata.resourceVersion).toBe(e.object.rows[0].object.metadata.resourceVersion);
      }
      expect(evs[0]!.object.columnDefinitions.map((c: any) => c.name).slice(0, 3)).toEqual(["Name", "Ready", "Status"]);
      expect(evs[1]!.object.columnDefinitions).toEqual([]);
      expect(evs[1]!.object.rows[0].cells[0]).toBe("t2");
      // A second watch gets its own column definitions on its first event.
      const w2 = await t.api.watch(`${pods}?watch=true&resourceVersion=0&includeObject=Object`, { accept: TABLE });
      try {
        const first = await w2.waitCount(1);
        expect(first[0]!.object.columnDefinitions.length).toBeGreaterThan(0);
        expect(first[0]!.object.rows[0].object.kind).toBe("Pod");
      } finally {
        w2.close();
      }
    } finally {
      w.close();
    }
  });
});
