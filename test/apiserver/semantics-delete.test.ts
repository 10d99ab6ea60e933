// Book 11.2 and 9.3: deletion as clients see it — finalizers and deletionTimestamp, propagation
// policies, graceful pod deletion, preconditions — plus dryRun on every write verb, fieldValidation
// and the NamespaceLifecycle rules.
import { expect, it } from "vitest";
import { configMap, describeApiServer, eventually, pod } from "./semantics-support.js";

describeApiServer("deletion, dryRun, fieldValidation, namespaces", (t) => {
  it("an object with finalizers gets deletionTimestamp and stays until its last finalizer is removed", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    const c = await t.api.post(base, { ...configMap("held"), metadata: { name: "held", finalizers: ["example.com/a", "example.com/b"] } });
    expect(c.status).toBe(201);
    const d = await t.api.del(`${base}/held`);
    expect(d.status).toBe(200);
    expect(d.body.metadata.deletionTimestamp).toBeTruthy();
    expect(d.body.metadata.deletionGracePeriodSeconds).toBe(0);
    const g = await t.api.get(`${base}/held`);
    expect(g.status).toBe(200);
    expect(g.body.metadata.deletionTimestamp).toBe(d.body.metadata.deletionTimestamp);
    // Deleting again changes nothing.
    const d2 = await t.api.del(`${base}/held`);
    expect(d2.status).toBe(200);
    expect((await t.api.get(`${base}/held`)).body.metadata.resourceVersion).toBe(g.body.metadata.resourceVersion);
    // No new finalizer may be added now.
    const add = await t.api.patch(`${base}/held`, { metadata: { finalizers: ["example.com/a", "example.com/b", "example.com/c"] } });
    expect(add.status).toBe(422);
    // Other changes are still allowed; the deletionTimestamp cannot be cleared.
    const lbl = await t.api.patch(`${base}/held`, { metadata: { labels: { k: "v" }, deletionTimestamp: null } });
    expect(lbl.status).toBe(200);
    expect(lbl.body.metadata.deletionTimestamp).toBe(d.body.metadata.deletionTimestamp);
    // Remove one finalizer: still there. Remove the last: gone.
    const one = await t.api.patch(`${base}/held`, { metadata: { finalizers: ["example.com/b"] } });
    expect(one.status).toBe(200);
    expect((await t.api.get(`${base}/held`)).status).toBe(200);
    const last = await t.api.patch(`${base}/held`, [{ op: "remove", path: "/metadata/finalizers" }], { type: "application/json-patch+json" });
    expect(last.status).toBe(200);
    expect((await t.api.get(`${base}/held`)).status).toBe(404);
    const list = await t.api.get(base);
    expect(list.body.items.map((i: any) => i.metadata.name)).not.toContain("held");
  });

  it("propagationPolicy Foreground and Orphan add their finalizers; Background deletes at once", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    for (const n of ["fg", "or", "bg", "od"]) await t.api.post(base, configMap(n));
    const fg = await t.api.del(`${base}/fg`, { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Foreground" });
    expect(fg.status).toBe(200);
    expect(fg.body.metadata.finalizers).toEqual(["foregroundDeletion"]);
    expect(fg.body.metadata.deletionTimestamp).toBeTruthy();
    const or = await t.api.del(`${base}/or?propagationPolicy=Orphan`);
    expect(or.body.metadata.finalizers).toEqual(["orphan"]);
    expect((await t.api.get(`${base}/or`)).body.metadata.deletionTimestamp).toBeTruthy();
    // The old orphanDependents=true means Orphan.
    const od = await t.api.del(`${base}/od`, { orphanDependents: true });
    expect(od.body.metadata.finalizers).toEqual(["orphan"]);
    const bg = await t.api.del(`${base}/bg`, { propagationPolicy: "Background" });
    expect(bg.status).toBe(200);
    expect((await t.api.get(`${base}/bg`)).status).toBe(404);
    // An unknown policy makes the DeleteOptions invalid.
    const bad = await t.api.del(`${base}/fg?propagationPolicy=Sometimes`);
    expect(bad.status).toBe(422);
    expect(bad.body.message).toContain("propagationPolicy");
    // Removing the policy finalizer finishes the deletion.
    await t.api.patch(`${base}/fg`, { metadata: { finalizers: null } });
    expect((await t.api.get(`${base}/fg`)).status).toBe(404);
  });

  it("graceful pod deletion: a scheduled pod stays with deletionTimestamp + grace, an unscheduled one goes at once, grace 0 removes it", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/pods`;
    await t.api.post(base, pod("bound", { nodeName: "node-1" }));
    await t.api.post(base, pod("short", { nodeName: "node-1", grace: 5 }));
    await t.api.post(base, pod("loose"));
    const before = Date.now();
    const d = await t.api.del(`${base}/bound`);
    expect(d.status).toBe(200);
    expect(d.body.metadata.deletionGracePeriodSeconds).toBe(30);
    const when = Date.parse(d.body.metadata.deletionTimestamp);
    expect(when).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 29_000);
    expect(when).toBeLessThanOrEqual(Date.now() + 31_000);
    expect((await t.api.get(`${base}/bound`)).body.metadata.deletionTimestamp).toBe(d.body.metadata.deletionTimestamp);
    // The pod's own terminationGracePeriodSeconds, and an explicit shorter one.
    expect((await t.api.del(`${base}/short`)).body.metadata.deletionGracePeriodSeconds).toBe(5);
    const shorter = await t.api.del(`${base}/bound`, { gracePeriodSeconds: 10 });
    expect(shorter.body.metadata.deletionGracePeriodSeconds).toBe(10);
    // A longer one does not extend it.
    expect((await t.api.del(`${base}/bound?gracePeriodSeconds=20`)).body.metadata.deletionGracePeriodSeconds).toBe(10);
    // Unscheduled: gone at once.
    const l = await t.api.del(`${base}/loose`);
    expect(l.status).toBe(200);
    expect((await t.api.get(`${base}/loose`)).status).toBe(404);
    // The kubelet's final delete.
    const fin = await t.api.del(`${base}/bound`, { gracePeriodSeconds: 0 });
    expect(fin.status).toBe(200);
    expect((await t.api.get(`${base}/bound`)).status).toBe(404);
    expect((await t.api.del(`${base}/short?gracePeriodSeconds=0`)).status).toBe(200);
    expect((await t.api.get(`${base}/short`)).status).toBe(404);
    expect((await t.api.del(`${base}/short`)).status).toBe(404);
    expect((await t.api.del(`${base}/x?gracePeriodSeconds=soon`)).status).toBe(400);
    // An enormous grace period is not a crash: the deletionTimestamp stops at year 9999.
    await t.api.post(base, pod("slow", { nodeName: "node-1" }));
    const huge = await t.api.del(`${base}/slow?gracePeriodSeconds=1000000000000000`);
    expect(huge.status).toBe(200);
    expect(huge.body.metadata.deletionTimestamp).toBe("9999-12-31T23:59:59Z");
    expect((await t.api.del(`${base}/slow?gracePeriodSeconds=0`)).status).toBe(200);
  });

  it("delete preconditions on uid and resourceVersion", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    const c = await t.api.post(base, configMap("pre"));
    const wrongUid = await t.api.del(`${base}/pre`, { preconditions: { uid: "00000000-0000-0000-0000-000000000000" } });
    expect(wrongUid.status).toBe(409);
    expect(wrongUid.body.reason).toBe("Conflict");
    const u = await t.api.patch(`${base}/pre`, { data: { x: "1" } });
    const staleRv = await t.api.del(`${base}/pre`, { preconditions: { resourceVersion: c.body.metadata.resourceVersion } });
    expect(staleRv.status).toBe(409);
    expect((await t.api.get(`${base}/pre`)).status).toBe(200);
    const ok = await t.api.del(`${base}/pre`, { preconditions: { uid: c.body.metadata.uid, resourceVersion: u.body.metadata.resourceVersion } });
    expect(ok.status).toBe(200);
    expect((await t.api.get(`${base}/pre`)).status).toBe(404);
  });

  it("dryRun=All runs every write verb without storing anything", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    const rev0 = await t.api.revision();
    const c = await t.api.post(`${base}?dryRun=All`, configMap("dry", { a: "1" }));
    expect(c.status).toBe(201);
    expect(c.body.metadata.uid).toBeTruthy();
    expect(c.body.metadata.creationTimestamp).toBeTruthy();
    expect((await t.api.get(`${base}/dry`)).status).toBe(404);
    // Validation still runs.
    expect((await t.api.post(`${base}?dryRun=All`, configMap("Bad_Name"))).status).toBe(422);
    // Only "All" exists; kube-apiserver refuses other values as invalid CreateOptions.
    const some = await t.api.post(`${base}?dryRun=Some`, configMap("x"));
    expect(some.status).toBe(422);
    expect(some.body.message).toContain("dryRun");
    expect(await t.api.revision()).toBe(rev0);

    const real = await t.api.post(base, configMap("real", { a: "1" }));
    const rev1 = await t.api.revision();
    const u = await t.api.put(`${base}/real?dryRun=All`, { ...real.body, data: { a: "2" } });
    expect(u.status).toBe(200);
    expect(u.body.data).toEqual({ a: "2" });
    const p = await t.api.patch(`${base}/real?dryRun=All`, { data: { b: "3" } });
    expect(p.status).toBe(200);
    expect(p.body.data).toEqual({ a: "1", b: "3" });
    const d = await t.api.del(`${base}/real?dryRun=All`);
    expect(d.status).toBe(200);
    const dBody = await t.api.del(`${base}/real`, { dryRun: ["All"] });
    expect(dBody.status).toBe(200);
    const dc = await t.api.call("DELETE", `${base}?dryRun=All`);
    expect(dc.status).toBe(200);
    const ap = await t.api.patch(`${base}/real?dryRun=All&fieldManager=me`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "real" }, data: { c: "4" } }, { type: "application/apply-patch+yaml" });
    expect(ap.status).toBe(200);
    const g = await t.api.get(`${base}/real`);
    expect(g.body.data).toEqual({ a: "1" });
    expect(g.body.metadata.resourceVersion).toBe(real.body.metadata.resourceVersion);
    expect(await t.api.revision()).toBe(rev1);

    // Subresources too.
    const dep = await t.api.post(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: { name: "d" },
      spec: { replicas: 1, selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "i" }] } } },
    });
    const rev2 = await t.api.revision();
    expect((await t.api.patch(`/apis/apps/v1/namespaces/${ns}/deployments/d/scale?dryRun=All`, { spec: { replicas: 5 } })).body.spec.replicas).toBe(5);
    expect((await t.api.patch(`/apis/apps/v1/namespaces/${ns}/deployments/d/status?dryRun=All`, { status: { replicas: 5 } })).body.status.replicas).toBe(5);
    await t.api.post(`/api/v1/namespaces/${ns}/pods`, pod("p"));
    const rev3 = await t.api.revision();
    expect((await t.api.post(`/api/v1/namespaces/${ns}/pods/p/binding?dryRun=All`, { metadata: { name: "p" }, target: { kind: "Node", name: "n" } })).status).toBe(201);
    expect((await t.api.post(`/api/v1/namespaces/${ns}/pods/p/eviction?dryRun=All`, { metadata: { name: "p" } })).status).toBe(201);
    expect(await t.api.revision()).toBe(rev3);
    expect((await t.api.get(`/api/v1/namespaces/${ns}/pods/p`)).body.spec.nodeName).toBeUndefined();
    expect((await t.api.get(`/apis/apps/v1/namespaces/${ns}/deployments/d`)).body.metadata.resourceVersion).toBe(dep.body.metadata.resourceVersion);
    expect(rev2).toBeLessThan(rev3);
  });

  it("fieldValidation: Strict refuses unknown and duplicate fields, Warn (the default) warns, Ignore is silent", async () => {
    const ns = await t.api.namespace();
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    const body = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "s1" }, data: { a: "1" }, bogus: true };
    const strict = await t.api.post(`${base}?fieldValidation=Strict`, body);
    expect(strict.status).toBe(400);
    expect(strict.body.message).toContain('unknown field "bogus"');
    const dup = await t.api.post(`${base}?fieldValidation=Strict`, '{"metadata":{"name":"s2"},"data":{"a":"1"},"data":{"b":"2"}}');
    expect(dup.status).toBe(400);
    expect(dup.body.message).toMatch(/duplicate field/);
    const warn = await t.api.post(`${base}?fieldValidation=Warn`, body);
    expect(warn.status).toBe(201);
    expect(String(warn.headers.warning)).toContain('unknown field \\"bogus\\"');
    expect(warn.body.bogus).toBeUndefined();
    const def = await t.api.post(base, { ...body, metadata: { name: "s3" } });
    expect(def.status).toBe(201);
    expect(String(def.headers.warning)).toMatch(/bogus/);
    const ign = await t.api.post(`${base}?fieldValidation=Ignore`, { ...body, metadata: { name: "s4" } });
    expect(ign.status).toBe(201);
    expect(ign.headers.warning).toBeUndefined();
    expect(ign.body.bogus).toBeUndefined();
    // Unknown nested fields, on update and patch too.
    const nested = await t.api.post(`/api/v1/namespaces/${ns}/pods?fieldValidation=Strict`, { ...pod("p"), spec: { containers: [{ name: "c", image: "i", colour: "red" }] } });
    expect(nested.status).toBe(400);
    expect(nested.body.message).toContain("spec.containers[0].colour");
    const put = await t.api.put(`${base}/s1?fieldValidation=Strict`, { ...warn.body, extra: 1 });
    expect(put.status).toBe(400);
    const patch = await t.api.patch(`${base}/s1?fieldValidation=Strict`, { metadata: { labelz: { a: "b" } } });
    expect(patch.status).toBe(400);
    const jp = await t.api.patch(`${base}/s1?fieldValidation=Strict`, [{ op: "add", path: "/extra", value: 1 }], { type: "application/json-patch+json" });
    expect(jp.status).toBe(400);
    // Ignore and Warn drop unknown fields from patches as well: they never reach storage.
    const mpIgn = await t.api.patch(`${base}/s1?fieldValidation=Ignore`, { extra: 1, data: { b: "2" } });
    expect(mpIgn.status).toBe(200);
    expect(mpIgn.body.extra).toBeUndefined();
    const jpWarn = await t.api.patch(`${base}/s1`, [{ op: "add", path: "/extra", value: 1 }], { type: "application/json-patch+json" });
    expect(jpWarn.status).toBe(200);
    expect(String(jpWarn.headers.warning)).toMatch(/extra/);
    const stored = await t.api.get(`${base}/s1`);
    expect(stored.body.extra).toBeUndefined();
    expect(stored.body.data).toEqual({ a: "1", b: "2" });
    // An unknown mode makes the CreateOptions invalid.
    const bad = await t.api.post(`${base}?fieldValidation=Loud`, body);
    expect(bad.status).toBe(422);
    expect(bad.body.message).toContain("fieldValidation");
  });

  it("namespace lifecycle: no creates in a missing or terminating namespace; default and kube-system cannot be deleted", async () => {
    const missing = await t.api.post(`/api/v1/namespaces/no-such-ns/configmaps`, configMap("x"));
    expect(missing.status).toBe(404);
    expect(missing.body.details).toMatchObject({ name: "no-such-ns", kind: "namespaces" });
    for (const ns of ["default", "kube-system"]) {
      const d = await t.api.del(`/api/v1/namespaces/${ns}`);
      expect(d.status).toBe(403);
      expect((await t.api.get(`/api/v1/namespaces/${ns}`)).body.metadata.deletionTimestamp).toBeUndefined();
    }
    const ns = await t.api.namespace();
    await t.api.post(`/api/v1/namespaces/${ns}/configmaps`, configMap("before"));
    const d = await t.api.del(`/api/v1/namespaces/${ns}`);
    expect(d.status).toBe(200);
    // The namespace stays, Terminating, until its spec.finalizers are done.
    const g = await t.api.get(`/api/v1/namespaces/${ns}`);
    expect(g.status).toBe(200);
    expect(g.body.metadata.deletionTimestamp).toBeTruthy();
    expect(g.body.status.phase).toBe("Terminating");
    expect(g.body.spec.finalizers).toEqual(["kubernetes"]);
    await t.api.get(`/api/v1/namespaces`); // a consistent read: the admission cache has seen the delete
    const refused = await t.api.post(`/api/v1/namespaces/${ns}/configmaps`, configMap("after"));
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain("being terminated");
    // Existing content can still be changed and deleted.
    expect((await t.api.patch(`/api/v1/namespaces/${ns}/configmaps/before`, { data: { a: "b" } })).status).toBe(200);
    expect((await t.api.del(`/api/v1/namespaces/${ns}/configmaps/before`)).status).toBe(200);
    // finalize empties spec.finalizers; a later delete removes the namespace.
    const fin = await t.api.put(`/api/v1/namespaces/${ns}/finalize`, { ...g.body, spec: { finalizers: [] } });
    expect(fin.status).toBe(200);
    await t.api.del(`/api/v1/namespaces/${ns}`);
    await eventually(async () => (await t.api.get(`/api/v1/namespaces/${ns}`)).status === 404, 5_000, "namespace gone");
  });
});
