// Book 11.2 and 12.2: what a client relies on when it writes — create's server-set metadata,
// optimistic concurrency, the status and scale subresources, pods/binding and pods/eviction.
import { expect, it } from "vitest";
import { configMap, deployment, describeApiServer, pod } from "./semantics-support.js";

describeApiServer("writes", (t) => {
  it("create sets name from generateName, uid, creationTimestamp, generation 1 and resourceVersion = storage revision", async () => {
    const ns = await t.api.namespace();
    const before = await t.api.revision();
    const r = await t.api.post(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { generateName: "gen-", uid: "client-uid", resourceVersion: "5" }, data: { a: "1" } });
    expect(r.status).toBe(201);
    const m = r.body.metadata;
    expect(m.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(m.namespace).toBe(ns);
    expect(m.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(m.uid).not.toBe("client-uid");
    expect(Date.parse(m.creationTimestamp)).toBeGreaterThan(Date.now() - 60_000);
    expect(m.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(m.generation).toBe(1);
    const rv = Number(m.resourceVersion);
    expect(rv).toBeGreaterThan(before);
    expect(rv).toBe(await t.api.revision());
    expect(r.body.kind).toBe("ConfigMap");
    expect(r.body.apiVersion).toBe("v1");
    // The stored object reads back the same.
    const g = await t.api.get(`/api/v1/namespaces/${ns}/configmaps/${m.name}`);
    expect(g.body.metadata).toMatchObject({ uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp });
    // A second create of the same name is 409 AlreadyExists.
    const again = await t.api.post(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: m.name } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ kind: "Status", status: "Failure", reason: "AlreadyExists", code: 409 });
  });

  it("update: a stale resourceVersion is 409 Conflict, an update without one is unconditional, an unchanged object keeps its RV", async () => {
    const ns = await t.api.namespace();
    const path = `/api/v1/namespaces/${ns}/configmaps/cm`;
    const c = await t.api.post(`/api/v1/namespaces/${ns}/configmaps`, configMap("cm", { a: "1" }));
    const rv1 = c.body.metadata.resourceVersion;
    const u1 = await t.api.put(path, { ...c.body, data: { a: "2" } });
    expect(u1.status).toBe(200);
    const rv2 = u1.body.metadata.resourceVersion;
    expect(Number(rv2)).toBeGreaterThan(Number(rv1));
    // Stale: written against rv1.
    const stale = await t.api.put(path, { ...c.body, data: { a: "3" } });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ reason: "Conflict", details: { name: "cm", kind: "configmaps" } });
    expect((await t.api.get(path)).body.data).toEqual({ a: "2" });
    // No resourceVersion: last write wins.
    const { resourceVersion: _rv, ...meta } = c.body.metadata;
    const blind = await t.api.put(path, { ...c.body, metadata: meta, data: { a: "4" } });
    expect(blind.status).toBe(200);
    expect(blind.body.data).toEqual({ a: "4" });
    // Same content again: no write, same resourceVersion.
    const same = await t.api.put(path, blind.body);
    expect(same.status).toBe(200);
    expect(same.body.metadata.resourceVersion).toBe(blind.body.metadata.resourceVersion);
    // uid and creationTimestamp cannot be changed by an update.
    const sneaky = await t.api.put(path, { ...blind.body, metadata: { ...blind.body.metadata, uid: "x", creationTimestamp: "2000-01-01T00:00:00Z" } });
    expect(sneaky.body.metadata.uid ?? "").not.toBe("x");
    const after = await t.api.get(path);
    expect(after.body.metadata.uid).toBe(c.body.metadata.uid);
    expect(after.body.metadata.creationTimestamp).toBe(c.body.metadata.creationTimestamp);
    // PUT of a name that does not exist: configmaps are not created by update.
    const missing = await t.api.put(`/api/v1/namespaces/${ns}/configmaps/nope`, configMap("nope"));
    expect(missing.status).toBe(404);
    // A name on the URL that differs from the body is refused.
    const wrong = await t.api.put(path, { ...blind.body, metadata: { ...blind.body.metadata, name: "other" } });
    expect(wrong.status).toBe(400);
  });

  it("concurrent patches without a resourceVersion all land (the server retries), concurrent stale updates do not", async () => {
    const ns = await t.api.namespace();
    const path = `/api/v1/namespaces/${ns}/configmaps/busy`;
    const c = await t.api.post(`/api/v1/namespaces/${ns}/configmaps`, configMap("busy"));
    const patches = await Promise.all(Array.from({ length: 12 }, (_, i) => t.api.patch(path, { data: { [`k${i}`]: String(i) } })));
    expect(patches.map((p) => p.status)).toEqual(Array(12).fill(200));
    const after = await t.api.get(path);
    expect(Object.keys(after.body.data).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `k${i}`).sort());
    // Every patch got its own resourceVersion.
    expect(new Set(patches.map((p) => p.body.metadata.resourceVersion)).size).toBe(12);
    // Two updates from the same read: exactly one wins.
    const base = { ...after.body };
    const [a, b] = await Promise.all([t.api.put(path, { ...base, data: { who: "a" } }), t.api.put(path, { ...base, data: { who: "b" } })]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    expect(c.status).toBe(201);
    // A patch may carry a resourceVersion as a precondition.
    const stale = await t.api.patch(path, { metadata: { resourceVersion: c.body.metadata.resourceVersion }, data: { late: "1" } });
    expect(stale.status).toBe(409);
    const cur = await t.api.get(path);
    const fresh = await t.api.patch(path, { metadata: { resourceVersion: cur.body.metadata.resourceVersion }, data: { late: "1" } });
    expect(fresh.status).toBe(200);
    // No status subresource on configmaps.
    expect((await t.api.put(`${path}/status`, cur.body)).status).toBe(404);
  });

  it("deletecollection deletes only what the selectors pick", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    await t.api.post(base, configMap("x1", {}, { batch: "x" }));
    await t.api.post(base, configMap("x2", {}, { batch: "x" }));
    await t.api.post(base, configMap("y1", {}, { batch: "y" }));
    await t.api.post(base, { ...configMap("x3", {}, { batch: "x" }), metadata: { name: "x3", labels: { batch: "x" }, finalizers: ["example.com/keep"] } });
    const r = await t.api.call("DELETE", `${base}?labelSelector=batch%3Dx`);
    expect(r.status).toBe(200);
    expect(r.body.kind).toBe("ConfigMapList");
    const left = await t.api.get(base);
    expect(left.body.items.map((i: any) => i.metadata.name)).toEqual(["x3", "y1"]);
    expect(left.body.items[0].metadata.deletionTimestamp).toBeTruthy();
    const byField = await t.api.call("DELETE", `${base}?fieldSelector=metadata.name%3Dy1`);
    expect(byField.status).toBe(200);
    expect((await t.api.get(`${base}/y1`)).status).toBe(404);
    await t.api.patch(`${base}/x3`, { metadata: { finalizers: null } });
  });

  it("status subresource: the main resource cannot change status, /status cannot change spec, generation follows spec only", async () => {
    const ns = await t.api.namespace();
    const base = `/apis/apps/v1/namespaces/${ns}/deployments`;
    const c = await t.api.post(base, { ...deployment("web", 1), status: { replicas: 7 } });
    expect(c.status).toBe(201);
    expect(c.body.metadata.generation).toBe(1);
    expect(c.body.status?.replicas ?? 0).toBe(0); // status is not taken on create
    // Main update with a status change and a spec change: spec taken, status ignored, generation 2.
    const u = await t.api.put(`${base}/web`, { ...c.body, spec: { ...c.body.spec, replicas: 2 }, status: { replicas: 5 } });
    expect(u.status).toBe(200);
    expect(u.body.spec.replicas).toBe(2);
    expect(u.body.status?.replicas ?? 0).toBe(0);
    expect(u.body.metadata.generation).toBe(2);
    // A metadata-only change does not bump generation.
    const l = await t.api.patch(`${base}/web`, { metadata: { labels: { x: "y" } } });
    expect(l.status).toBe(200);
    expect(l.body.metadata.generation).toBe(2);
    // /status with a spec change: status taken, spec ignored, generation unchanged.
    const s = await t.api.put(`${base}/web/status`, { ...l.body, spec: { ...l.body.spec, replicas: 9 }, status: { replicas: 3, observedGeneration: 2 } });
    expect(s.status).toBe(200);
    expect(s.body.status.replicas).toBe(3);
    expect(s.body.spec.replicas).toBe(2);
    expect(s.body.metadata.generation).toBe(2);
    expect(s.body.metadata.labels).toEqual({ x: "y" });
    // PATCH /status, and GET /status.
    const p = await t.api.patch(`${base}/web/status`, { status: { readyReplicas: 1 }, spec: { replicas: 4 } });
    expect(p.status).toBe(200);
    expect(p.body.status).toMatchObject({ replicas: 3, readyReplicas: 1 });
    expect(p.body.spec.replicas).toBe(2);
    const gs = await t.api.get(`${base}/web/status`);
    expect(gs.status).toBe(200);
    expect(gs.body.status.readyReplicas).toBe(1);
    // /status with a stale resourceVersion is a conflict too.
    const stale = await t.api.put(`${base}/web/status`, { ...c.body, status: { replicas: 1 } });
    expect(stale.status).toBe(409);
    expect((await t.api.get(`${base}/web`)).body.metadata.generation).toBe(2);
  });

  it("scale subresource: GET, PUT and PATCH as autoscaling/v1 Scale, 409 on a stale resourceVersion", async () => {
    const ns = await t.api.namespace();
    const base = `/apis/apps/v1/namespaces/${ns}/deployments`;
    const c = await t.api.post(base, deployment("web", 2));
    const g = await t.api.get(`${base}/web/scale`);
    expect(g.status).toBe(200);
    expect(g.body).toMatchObject({
      kind: "Scale",
      apiVersion: "autoscaling/v1",
      metadata: { name: "web", namespace: ns, uid: c.body.metadata.uid, resourceVersion: c.body.metadata.resourceVersion },
      spec: { replicas: 2 },
      status: { replicas: 0, selector: "app=web" },
    });
    const put = await t.api.put(`${base}/web/scale`, { ...g.body, spec: { replicas: 4 } });
    expect(put.status).toBe(200);
    expect(put.body.spec.replicas).toBe(4);
    const d = await t.api.get(`${base}/web`);
    expect(d.body.spec.replicas).toBe(4);
    expect(d.body.metadata.generation).toBe(2);
    expect(put.body.metadata.resourceVersion).toBe(d.body.metadata.resourceVersion);
    // Stale resourceVersion (the one from the first GET).
    const stale = await t.api.put(`${base}/web/scale`, { ...g.body, spec: { replicas: 5 } });
    expect(stale.status).toBe(409);
    // PATCH (merge) and PATCH (json).
    const mp = await t.api.patch(`${base}/web/scale`, { spec: { replicas: 1 } });
    expect(mp.status).toBe(200);
    expect(mp.body.spec.replicas).toBe(1);
    const jp = await t.api.patch(`${base}/web/scale`, [{ op: "replace", path: "/spec/replicas", value: 3 }], { type: "application/json-patch+json" });
    expect(jp.status).toBe(200);
    expect((await t.api.get(`${base}/web`)).body.spec.replicas).toBe(3);
    // Negative replicas: 422.
    const neg = await t.api.put(`${base}/web/scale`, { spec: { replicas: -1 } });
    expect(neg.status).toBe(422);
    // No scale subresource on configmaps; missing deployment is 404.
    expect((await t.api.get(`${base}/nope/scale`)).status).toBe(404);
    expect((await t.api.get(`/api/v1/namespaces/${ns}/configmaps/x/scale`)).status).toBe(404);
  });

  it("pods/binding sets spec.nodeName once; a second binding is 409", async () => {
    const ns = await t.api.namespace();
    await t.api.post(`/api/v1/namespaces/${ns}/pods`, pod("p"));
    const b = await t.api.post(`/api/v1/namespaces/${ns}/pods/p/binding`, { apiVersion: "v1", kind: "Binding", metadata: { name: "p" }, target: { apiVersion: "v1", kind: "Node", name: "node-1" } });
    expect(b.status).toBe(201);
    expect(b.body).toMatchObject({ kind: "Status", status: "Success" });
    const p = await t.api.get(`/api/v1/namespaces/${ns}/pods/p`);
    expect(p.body.spec.nodeName).toBe("node-1");
    expect(p.body.status.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: "PodScheduled", status: "True" })]));
    const again = await t.api.post(`/api/v1/namespaces/${ns}/pods/p/binding`, { metadata: { name: "p" }, target: { kind: "Node", name: "node-2" } });
    expect(again.status).toBe(409);
    expect((await t.api.get(`/api/v1/namespaces/${ns}/pods/p`)).body.spec.nodeName).toBe("node-1");
    // The old collection form, and a missing pod.
    await t.api.post(`/api/v1/namespaces/${ns}/pods`, pod("q"));
    const old = await t.api.post(`/api/v1/namespaces/${ns}/bindings`, { metadata: { name: "q" }, target: { kind: "Node", name: "node-3" } });
    expect(old.status).toBe(201);
    expect((await t.api.get(`/api/v1/namespaces/${ns}/pods/q`)).body.spec.nodeName).toBe("node-3");
    expect((await t.api.post(`/api/v1/namespaces/${ns}/pods/none/binding`, { metadata: { name: "none" }, target: { kind: "Node", name: "n" } })).status).toBe(404);
  });

  it("pods/eviction deletes a pod, and is 429 while a PodDisruptionBudget allows no disruption", async () => {
    const ns = await t.api.namespace();
    const podsPath = `/api/v1/namespaces/${ns}/pods`;
    const running = async (name: string) => {
      const c = await t.api.post(podsPath, pod(name, { labels: { app: name } }));
      expect(c.status).toBe(201);
      const s = await t.api.patch(`${podsPath}/${name}/status`, { status: { phase: "Running" } });
      expect(s.status).toBe(200);
    };
    await running("free");
    const ev = await t.api.post(`${podsPath}/free/eviction`, { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "free", namespace: ns } });
    expect(ev.status).toBe(201);
    expect((await t.api.get(`${podsPath}/free`)).status).toBe(404);

    await running("guarded");
    const pdb = await t.api.post(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, { metadata: { name: "pdb" }, spec: { minAvailable: 1, selector: { matchLabels: { app: "guarded" } } } });
    expect(pdb.status).toBe(201);
    const st = await t.api.patch(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/pdb/status`, { status: { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1, observedGeneration: 1 } });
    expect(st.status).toBe(200);
    const refused = await t.api.post(`${podsPath}/guarded/eviction`, { metadata: { name: "guarded", namespace: ns } });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ kind: "Status", reason: "TooManyRequests", code: 429 });
    expect((await t.api.get(`${podsPath}/guarded`)).status).toBe(200);
    // Once the budget allows one disruption, the eviction goes through.
    await t.api.patch(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/pdb/status`, { status: { disruptionsAllowed: 1, currentHealthy: 2 } });
    const ok = await t.api.post(`${podsPath}/guarded/eviction`, { metadata: { name: "guarded", namespace: ns } });
    expect(ok.status).toBe(201);
    expect((await t.api.get(`${podsPath}/guarded`)).status).toBe(404);
    expect((await t.api.post(`${podsPath}/none/eviction`, { metadata: { name: "none" } })).status).toBe(404);
  });
});
