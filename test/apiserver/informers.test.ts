// Book 11.2-11.3 and 12.3: the list-then-watch loop every controller runs, with the real
// @kubernetes/client-node informer against a real `corekube apiserver` process over TLS — events for
// API changes, an apiserver restart, and the relist after a 410 for a compacted resourceVersion.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoreV1Api, KubeConfig, makeInformer, type ListWatch, type V1ConfigMap } from "@kubernetes/client-node";
import { startControlPlane, type Backend, type ControlPlane } from "../support/apiserver-process.js";
import { etcdAvailable } from "../support/etcd-process.js";
import { eventually } from "./semantics-support.js";

/** INFORMER_BACKENDS=kv,etcd (default: etcd when installed, which starts fastest; CI insists on it). */
const backends: Backend[] = (process.env.INFORMER_BACKENDS ?? (etcdAvailable() || process.env.CI ? "etcd" : "kv"))
  .split(",")
  .map((s) => s.trim())
  .filter((s): s is Backend => s === "kv" || s === "etcd");

interface Seen {
  add: string[];
  update: string[];
  delete: string[];
  errors: unknown[];
}

describe.each(backends)("%s: client-node informers against a TLS apiserver process", (backend) => {
  let cp: ControlPlane | undefined;
  let kc: KubeConfig;
  let core: CoreV1Api;
  /** makeInformer returns a ListWatch: an informer with its cache and resourceVersion. */
  let informer: ListWatch<V1ConfigMap>;
  let paused = false;
  let lists = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  const seen: Seen = { add: [], update: [], delete: [], errors: [] };
  const ns = `inf-${process.pid}`;

  const cm = (name: string, data: Record<string, string> = {}): V1ConfigMap => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns }, data });
  const cached = () =>
    informer
      .list(ns)
      .map((o) => `${o.metadata!.name}=${JSON.stringify(o.data ?? {})}`)
      .sort();
  const server = async () =>
    (await core.listNamespacedConfigMap({ namespace: ns })).items.map((o) => `${o.metadata!.name}=${JSON.stringify(o.data ?? {})}`).sort();
  const inSync = () => eventually(async () => JSON.stringify(cached()) === JSON.stringify(await server()), 20_000, "the informer's cache to match the server");

  beforeAll(async () => {
    cp = await startControlPlane({ backend });
    kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: cm("before", { v: "0" }) });
    informer = makeInformer(kc, `/api/v1/namespaces/${ns}/configmaps`, () => {
      lists++;
      return core.listNamespacedConfigMap({ namespace: ns });
    }) as ListWatch<V1ConfigMap>;
    informer.on("add", (o) => seen.add.push(o.metadata!.name!));
    informer.on("update", (o) => seen.update.push(o.metadata!.name!));
    informer.on("delete", (o) => seen.delete.push(o.metadata!.name!));
    // client-node leaves restarting to its user: the usual pattern is to start again after a pause.
    informer.on("error", (e) => {
      seen.errors.push(e);
      if (paused) return;
      clearTimeout(restartTimer);
      restartTimer = setTimeout(() => void informer.start().catch(() => undefined), 250);
    });
    await informer.start();
  }, 90_000);

  afterAll(async () => {
    paused = true;
    clearTimeout(restartTimer);
    await informer?.stop().catch(() => undefined);
    await cp?.stop();
  }, 30_000);

  it("lists, then delivers add, update and delete for changes made through the API", async () => {
    await eventually(() => seen.add.includes("before"), 10_000, "the initial list's add");
    expect(lists).toBe(1);
    await core.createNamespacedConfigMap({ namespace: ns, body: cm("one", { v: "1" }) });
    await eventually(() => seen.add.includes("one"), 10_000, "add of one");
    await core.replaceNamespacedConfigMap({ name: "one", namespace: ns, body: cm("one", { v: "2" }) });
    await eventually(() => seen.update.includes("one"), 10_000, "update of one");
    expect(informer.get("one", ns)?.data).toEqual({ v: "2" });
    await core.deleteNamespacedConfigMap({ name: "before", namespace: ns });
    await eventually(() => seen.delete.includes("before"), 10_000, "delete of before");
    expect(informer.get("before", ns)).toBeUndefined();
    // Something in another namespace is never seen.
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: `other-${process.pid}` } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: cm("two") });
    await eventually(() => seen.add.includes("two"), 10_000, "add of two");
    expect(seen.add).not.toContain(`other-${process.pid}`);
    await inSync();
    expect(lists).toBe(1); // one list, then one unbroken watch
  });

  it("survives an apiserver restart: changes after it are still delivered", async () => {
    await cp!.restartApiserver();
    await core.createNamespacedConfigMap({ namespace: ns, body: cm("after-restart", { r: "1" }) });
    await eventually(() => seen.add.includes("after-restart"), 20_000, "add after the restart");
    await core.patchNamespacedConfigMap({ name: "one", namespace: ns, body: [{ op: "replace", path: "/data/v", value: "3" }] });
    await eventually(() => informer.get("one", ns)?.data?.v === "3", 20_000, "update after the restart");
    await inSync();
  });

  it("relists after a 410 for a compacted resourceVersion and ends with the right set", async () => {
    await inSync();
    const oldRv = informer.latestResourceVersion();
    expect(oldRv).toMatch(/^\d+$/);
    // The informer goes away for a while; meanwhile many writes happen.
    paused = true;
    await informer.stop();
    const listsBefore = lists;
    const deletesBefore = seen.delete.length;
    for (let i = 0; i < 40; i++) await core.createNamespacedConfigMap({ namespace: ns, body: cm(`bulk-${i}`, { i: String(i) }) });
    for (let i = 0; i < 40; i += 2) await core.deleteNamespacedConfigMap({ name: `bulk-${i}`, namespace: ns });
    await core.deleteNamespacedConfigMap({ name: "two", namespace: ns });
    await core.replaceNamespacedConfigMap({ name: "one", namespace: ns, body: cm("one", { v: "gap" }) });
    // Storage forgets everything before now; a fresh apiserver's cache starts here too.
    const rev = await compactStorage(cp!.etcdServers[0]!);
    expect(rev).toBeGreaterThan(Number(oldRv));
    await cp!.restartApiserver();
    // Resuming from the old resourceVersion: 410 Expired, so the informer lists again.
    paused = false;
    await informer.start();
    await eventually(() => lists > listsBefore, 20_000, "a relist");
    await inSync();
    expect(informer.get("two", ns)).toBeUndefined();
    expect(seen.delete.slice(deletesBefore)).toContain("two");
    expect(informer.get("one", ns)?.data).toEqual({ v: "gap" });
    expect(informer.list(ns).filter((o) => o.metadata!.name!.startsWith("bulk-"))).toHaveLength(20);
    expect(Number(informer.latestResourceVersion())).toBeGreaterThanOrEqual(rev);
    // And it keeps watching after the relist.
    await core.createNamespacedConfigMap({ namespace: ns, body: cm("after-relist") });
    await eventually(() => seen.add.includes("after-relist"), 20_000, "add after the relist");
  });
});

/** Compacts the storage at its current revision through etcd's JSON API; returns that revision. */
async function compactStorage(endpoint: string): Promise<number> {
  const post = async (path: string, body: unknown) => {
    const r = await fetch(endpoint + path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    const j = (await r.json()) as Record<string, any>;
    if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(j)}`);
    return j;
  };
  const status = await post("/v3/kv/range", { key: Buffer.from("/").toString("base64"), count_only: true });
  const rev = Number(status.header.revision);
  await post("/v3/kv/compaction", { revision: String(rev), physical: true });
  return rev;
}
