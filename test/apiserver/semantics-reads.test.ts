// Book 11.2 and 12.2: reading as clients do — paged lists whose continue token keeps one snapshot
// (and expires with compaction), label and field selectors, the resourceVersion rules of list and
// get, and server-side Tables for kubectl.
import { expect, it } from "vitest";
import { configMap, describeApiServer, pod } from "./semantics-support.js";

const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
const names = (list: any) => list.items.map((i: any) => i.metadata.name);

describeApiServer("reads", (t) => {
  it("limit/continue pages keep the first page's snapshot; a compacted snapshot is 410 Expired", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    for (const n of ["a", "b", "c", "d", "e"]) await t.api.post(base, configMap(n));
    const p1 = await t.api.get(`${base}?limit=2`);
    expect(p1.status).toBe(200);
    expect(names(p1.body)).toEqual(["a", "b"]);
    const snap = p1.body.metadata.resourceVersion;
    expect(p1.body.metadata.continue).toBeTruthy();
    // Changes after the first page are not seen by later pages.
    await t.api.del(`${base}/c`);
    await t.api.post(base, configMap("bb"));
    await t.api.patch(`${base}/d`, { data: { changed: "yes" } });
    const p2 = await t.api.get(`${base}?limit=2&continue=${encodeURIComponent(p1.body.metadata.continue)}`);
    expect(p2.status).toBe(200);
    expect(names(p2.body)).toEqual(["c", "d"]);
    expect(p2.body.metadata.resourceVersion).toBe(snap);
    expect(p2.body.items[1].data ?? {}).toEqual({});
    const p3 = await t.api.get(`${base}?limit=2&continue=${encodeURIComponent(p2.body.metadata.continue)}`);
    expect(names(p3.body)).toEqual(["e"]);
    expect(p3.body.metadata.continue).toBeUndefined();
    expect(p3.body.metadata.resourceVersion).toBe(snap);
    // A fresh list sees the present.
    expect(names((await t.api.get(base)).body)).toEqual(["a", "b", "bb", "d", "e"]);
    // Garbage and a compacted snapshot.
    expect((await t.api.get(`${base}?limit=2&continue=not-a-token`)).status).toBe(400);
    expect((await t.api.get(`${base}?limit=100000000000000000000`)).status).toBe(400);
    const forged = Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: 1e20, start: `${ns}/a` })).toString("base64url");
    expect((await t.api.get(`${base}?limit=2&continue=${forged}`)).status).toBe(400);
    const q1 = await t.api.get(`${base}?limit=1`);
    await t.api.post(base, configMap("f"));
    await t.api.compact(await t.api.revision());
    const expired = await t.api.get(`${base}?limit=1&continue=${encodeURIComponent(q1.body.metadata.continue)}`);
    expect(expired.status).toBe(410);
    expect(expired.body).toMatchObject({ kind: "Status", reason: "Expired", code: 410 });
    // Exact reads of a compacted revision are 410 too; current ones still work.
    expect((await t.api.get(`${base}?resourceVersion=${snap}&resourceVersionMatch=Exact`)).status).toBe(410);
    expect((await t.api.get(`${base}?limit=2`)).status).toBe(200);
    // limit with a selector counts matching items only.
    await t.api.post(base, configMap("g", {}, { pick: "y" }));
    await t.api.post(base, configMap("h", {}, { pick: "y" }));
    const sel = await t.api.get(`${base}?limit=1&labelSelector=pick%3Dy`);
    expect(names(sel.body)).toEqual(["g"]);
    const sel2 = await t.api.get(`${base}?limit=1&labelSelector=pick%3Dy&continue=${encodeURIComponent(sel.body.metadata.continue)}`);
    expect(names(sel2.body)).toEqual(["h"]);
  });

  it("label selectors: equality and set-based requirements", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    await t.api.post(base, configMap("web-prod", {}, { app: "web", env: "prod" }));
    await t.api.post(base, configMap("web-dev", {}, { app: "web", env: "dev" }));
    await t.api.post(base, configMap("db-prod", {}, { app: "db", env: "prod", tier: "data" }));
    await t.api.post(base, configMap("plain"));
    const q = async (sel: string) => {
      const r = await t.api.get(`${base}?labelSelector=${encodeURIComponent(sel)}`);
      expect(r.status).toBe(200);
      return names(r.body).sort();
    };
    expect(await q("app=web")).toEqual(["web-dev", "web-prod"]);
    expect(await q("app==web,env!=dev")).toEqual(["web-prod"]);
    expect(await q("env in (prod,qa)")).toEqual(["db-prod", "web-prod"]);
    expect(await q("env notin (prod)")).toEqual(["plain", "web-dev"]);
    expect(await q("tier")).toEqual(["db-prod"]);
    expect(await q("!tier")).toEqual(["plain", "web-dev", "web-prod"]);
    expect(await q("app in (web,db),!tier")).toEqual(["web-dev", "web-prod"]);
    expect(await q("")).toEqual(["db-prod", "plain", "web-dev", "web-prod"]);
    const bad = await t.api.get(`${base}?labelSelector=${encodeURIComponent("app in web")}`);
    expect(bad.status).toBe(400);
    expect(bad.body.reason).toBe("BadRequest");
    // Across namespaces too.
    const all = await t.api.get(`/api/v1/configmaps?labelSelector=${encodeURIComponent("env=prod,app=db")}`);
    expect(all.body.items.map((i: any) => `${i.metadata.namespace}/${i.metadata.name}`)).toEqual([`${ns}/db-prod`]);
  });

  it("field selectors: metadata.*, pods' spec.nodeName and status.phase, events' involvedObject.*; an unsupported field is 400", async () => {
    const ns = await t.api.namespace();
    const pods = `/api/v1/namespaces/${ns}/pods`;
    await t.api.post(pods, pod("on-a", { nodeName: "node-a" }));
    await t.api.post(pods, pod("on-b", { nodeName: "node-b" }));
    await t.api.post(pods, pod("nowhere"));
    await t.api.patch(`${pods}/on-b/status`, { status: { phase: "Running" } });
    const q = async (path: string, sel: string) => {
      const r = await t.api.get(`${path}?fieldSelector=${encodeURIComponent(sel)}`);
      expect(r.status, r.text).toBe(200);
      return names(r.body).sort();
    };
    expect(await q(pods, "spec.nodeName=node-a")).toEqual(["on-a"]);
    expect(await q(pods, "spec.nodeName=")).toEqual(["nowhere"]);
    expect(await q(pods, "spec.nodeName!=")).toEqual(["on-a", "on-b"]);
    expect(await q(pods, "status.phase=Running")).toEqual(["on-b"]);
    expect(await q(pods, "status.phase!=Running,spec.nodeName!=")).toEqual(["on-a"]);
    expect(await q(pods, "metadata.name=nowhere")).toEqual(["nowhere"]);
    expect(await q(`/api/v1/pods`, `metadata.namespace=${ns},spec.nodeName=node-b`)).toEqual(["on-b"]);
    const events = `/api/v1/namespaces/${ns}/events`;
    const event = (name: string, kind: string, obj: string) => ({
      metadata: { name },
      involvedObject: { kind, name: obj, namespace: ns, apiVersion: "v1" },
      reason: "Tested",
      message: "m",
      type: "Normal",
      source: { component: "test" },
      firstTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      count: 1,
    });
    expect((await t.api.post(events, event("e1", "Pod", "on-a"))).status).toBe(201);
    await t.api.post(events, event("e2", "Pod", "on-b"));
    await t.api.post(events, event("e3", "Node", "on-a"));
    expect(await q(events, "involvedObject.kind=Pod,involvedObject.name=on-a")).toEqual(["e1"]);
    expect(await q(events, `involvedObject.name=on-a,involvedObject.namespace=${ns}`)).toEqual(["e1", "e3"]);
    expect(await q(events, "involvedObject.kind!=Pod")).toEqual(["e3"]);
    const bad = await t.api.get(`${pods}?fieldSelector=spec.colour%3Dred`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain("spec.colour");
    expect((await t.api.get(`/api/v1/namespaces/${ns}/configmaps?fieldSelector=spec.nodeName%3Dx`)).status).toBe(400);
    expect((await t.api.get(`${pods}?fieldSelector=${encodeURIComponent("spec.nodeName in (a)")}`)).status).toBe(400);
  });

  it('list resourceVersion: "" is consistent, "0" is any, N is not older than N, Exact is that revision', async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    const a = await t.api.post(base, configMap("a", { v: "1" }));
    const rvA = Number(a.body.metadata.resourceVersion);
    await t.api.patch(`${base}/a`, { data: { v: "2" } });
    const b = await t.api.post(base, configMap("b"));
    const rvB = Number(b.body.metadata.resourceVersion);
    const consistent = await t.api.get(base);
    expect(names(consistent.body)).toEqual(["a", "b"]);
    expect(Number(consistent.body.metadata.resourceVersion)).toBeGreaterThanOrEqual(rvB);
    expect(consistent.body.kind).toBe("ConfigMapList");
    expect(consistent.body.apiVersion).toBe("v1");
    const any = await t.api.get(`${base}?resourceVersion=0`);
    expect(any.status).toBe(200);
    expect(Number(any.body.metadata.resourceVersion)).toBeGreaterThan(0);
    const notOlder = await t.api.get(`${base}?resourceVersion=${rvB}`);
    expect(Number(notOlder.body.metadata.resourceVersion)).toBeGreaterThanOrEqual(rvB);
    expect(names(notOlder.body)).toEqual(["a", "b"]);
    const notOlder2 = await t.api.get(`${base}?resourceVersion=${rvB}&resourceVersionMatch=NotOlderThan`);
    expect(names(notOlder2.body)).toEqual(["a", "b"]);
    // Exact: the world as it was at rvA, with a's first data.
    const exact = await t.api.get(`${base}?resourceVersion=${rvA}&resourceVersionMatch=Exact`);
    expect(exact.status).toBe(200);
    expect(exact.body.metadata.resourceVersion).toBe(String(rvA));
    expect(names(exact.body)).toEqual(["a"]);
    expect(exact.body.items[0].data).toEqual({ v: "1" });
    expect(exact.body.items[0].metadata.resourceVersion).toBe(String(rvA));
    // Parameter errors.
    expect((await t.api.get(`${base}?resourceVersion=abc`)).status).toBe(400);
    expect((await t.api.get(`${base}?resourceVersionMatch=Exact`)).status).toBe(400);
    expect((await t.api.get(`${base}?resourceVersion=1&resourceVersionMatch=Sometimes`)).status).toBe(400);
    // get with resourceVersion=0 may be served from the cache; without it is a consistent read.
    expect((await t.api.get(`${base}/a?resourceVersion=0`)).status).toBe(200);
    expect((await t.api.get(`${base}/a`)).body.data).toEqual({ v: "2" });
  });

  it("a list or get far in the future times out with 504 (watch too), never hangs", async () => {
    const ns = await t.api.namespace();
    await t.api.post(`/api/v1/namespaces/${ns}/configmaps`, configMap("now"));
    const future = (await t.api.revision()) + 1_000_000;
    const started = Date.now();
    const [list, get, watch] = await Promise.all([
      t.api.get(`/api/v1/namespaces/${ns}/configmaps?resourceVersion=${future}`),
      t.api.get(`/api/v1/namespaces/${ns}/configmaps/now?resourceVersion=${future}`),
      t.api.get(`/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${future}`),
    ]);
    expect(list.status).toBe(504);
    expect(list.body.reason).toBe("Timeout");
    expect(get.status).toBe(504);
    expect(watch.text).toContain('"code":504');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await t.api.get(`/api/v1/namespaces/${ns}/configmaps/now?resourceVersion=x`)).status).toBe(400);
  });

  it("a resource whose cache has stopped (its CRD going away meanwhile) still answers lists and watches, never hangs", async () => {
    const ns = await t.api.namespace();
    const base = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`;
    const lease = (name: string) => ({ metadata: { name }, spec: { holderIdentity: "me" } });
    expect((await t.api.post(base, lease("pt"))).status).toBe(201);
    // What a request holding the store sees when the registry stops it in between.
    await t.api.server.registry.get("coordination.k8s.io", "v1", "leases")!.stop();
    expect((await t.api.post(base, lease("pt2"))).status).toBe(201);
    const started = Date.now();
    const list = await t.api.get(base);
    expect(list.status).toBe(200);
    expect(names(list.body)).toEqual(["pt", "pt2"]); // from storage: the cache missed pt2
    const paged = await t.api.get(`${base}?limit=1`);
    expect(names(paged.body)).toEqual(["pt"]);
    // Watches cannot be served without the cache: an in-stream 504, and the stream ends.
    const watch = await t.api.get(`${base}?watch=true`);
    expect(watch.text).toContain('"type":"ERROR"');
    expect(watch.text).toContain('"code":504');
    const fromRv = await t.api.get(`${base}?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`);
    expect(fromRv.text).toContain('"code":504');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("Table output for list and get (includeObject None/Metadata/Object), and the default columns", async () => {
    const ns = await t.api.namespace();
    const pods = `/api/v1/namespaces/${ns}/pods`;
    await t.api.post(pods, pod("p1", { nodeName: "n1" }));
    await t.api.post(pods, pod("p2"));
    const list = await t.api.get(pods, { accept: TABLE });
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ kind: "Table", apiVersion: "meta.k8s.io/v1" });
    expect(list.body.metadata.resourceVersion).toMatch(/^\d+$/);
    const cols = list.body.columnDefinitions.map((c: any) => c.name);
    expect(cols.slice(0, 5)).toEqual(["Name", "Ready", "Status", "Restarts", "Age"]);
    expect(list.body.rows).toHaveLength(2);
    expect(list.body.rows[0].cells[0]).toBe("p1");
    expect(list.body.rows[0].cells[1]).toBe("0/1");
    expect(list.body.rows[0].cells).toHaveLength(cols.length);
    // Default includeObject=Metadata: PartialObjectMetadata without managedFields.
    expect(list.body.rows[0].object).toMatchObject({ kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: { name: "p1", namespace: ns } });
    expect(list.body.rows[0].object.metadata.managedFields).toBeUndefined();
    const none = await t.api.get(`${pods}?includeObject=None`, { accept: TABLE });
    expect(none.body.rows[0].object).toBeUndefined();
    const full = await t.api.get(`${pods}?includeObject=Object`, { accept: TABLE });
    expect(full.body.rows[0].object).toMatchObject({ kind: "Pod", spec: { nodeName: "n1" } });
    expect((await t.api.get(`${pods}?includeObject=All`, { accept: TABLE })).status).toBe(400);
    const one = await t.api.get(`${pods}/p2`, { accept: TABLE });
    expect(one.body.kind).toBe("Table");
    expect(one.body.rows).toHaveLength(1);
    expect(one.body.rows[0].cells.slice(0, 3)).toEqual(["p2", "0/1", "Pending"]);
    // Paged Table lists carry continue.
    const paged = await t.api.get(`${pods}?limit=1`, { accept: TABLE });
    expect(paged.body.metadata.continue).toBeTruthy();
    // A kind with no columns of its own gets Name and Created At; v1beta1 is served too.
    await t.api.post(`/api/v1/namespaces/${ns}/configmaps`, configMap("c"));
    const cm = await t.api.get(`/api/v1/namespaces/${ns}/configmaps`, { accept: "application/json;as=Table;v=v1beta1;g=meta.k8s.io" });
    expect(cm.body.apiVersion).toBe("meta.k8s.io/v1beta1");
    expect(cm.body.columnDefinitions[0].name).toBe("Name");
    // Plain JSON when Table is not asked for.
    expect((await t.api.get(pods, { accept: "application/json" })).body.kind).toBe("PodList");
  });
});
