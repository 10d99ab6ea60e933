// Book 11.2: the client library against a real API server: REST calls and Status errors, watch
// streams, and shared informers that list, watch, survive an API server restart and relist.
import { type KubeObject, type Pod, isAlreadyExists, isConflict, isNotFound, StatusError } from "@corekube/api";
import { InformerFactory, NAMESPACES, PODS, RestClient, SharedInformer } from "@corekube/client";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensurePki } from "@corekube/apiserver/pki/index";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "../support/apiserver-process.js";

let cp: ControlPlane;
let client: RestClient;

beforeAll(async () => {
  cp = await startControlPlane();
  client = await RestClient.fromKubeconfig({ path: cp.kubeconfig, userAgent: "informer-test", qps: 0 });
  await client.resource(NAMESPACES).create({ metadata: { name: "inf" } });
}, 90_000);

afterAll(async () => {
  await client?.close();
  await cp?.stop();
});

const pod = (name: string, labels: Record<string, string> = {}): Pod => ({
  metadata: { name, namespace: "inf", labels },
  spec: { containers: [{ name: "c", image: "busybox" }] },
});

async function eventually(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("RestClient", () => {
  it("creates, reads, updates, patches and deletes, with Kubernetes Status errors", async () => {
    const pods = client.resource<Pod>(PODS);
    const created = await pods.create(pod("rest-a"));
    expect(created.metadata.uid).toBeTruthy();
    expect(created.apiVersion).toBe("v1");
    const dup = await pods.create(pod("rest-a")).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(StatusError);
    expect(isAlreadyExists(dup)).toBe(true);
    expect((dup as StatusError).message).toBe('pods "rest-a" already exists');

    const got = await pods.get("rest-a", "inf");
    got.metadata.labels = { tier: "web" };
    const updated = await pods.update(got);
    expect(updated.metadata.labels).toEqual({ tier: "web" });
    const stale = await pods.update(got).catch((e: unknown) => e);
    expect(isConflict(stale)).toBe(true);

    const patched = await pods.patch("rest-a", { metadata: { annotations: { a: "1" } } }, "merge", { namespace: "inf" });
    expect(patched.metadata.annotations).toEqual({ a: "1" });
    const list = await pods.list({ namespace: "inf", labelSelector: "tier=web" });
    expect(list.items.map((p) => p.metadata.name)).toEqual(["rest-a"]);
    expect(Number(list.metadata.resourceVersion)).toBeGreaterThan(0);

    await pods.delete("rest-a", { namespace: "inf", gracePeriodSeconds: 0 });
    const missing = await pods.get("rest-a", "inf").catch((e: unknown) => e);
    expect(isNotFound(missing)).toBe(true);
    expect((missing as StatusError).code).toBe(404);
  });

  it("streams watch events from a resourceVersion", async () => {
    const pods = client.resource<Pod>(PODS);
    const list = await pods.list({ namespace: "inf" });
    const ac = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const ev of pods.watch({ namespace: "inf", resourceVersion: list.metadata.resourceVersion, signal: ac.signal })) {
        seen.push(`${ev.type} ${ev.object.metadata.name}`);
        if (seen.length === 3) ac.abort();
      }
    })();
    await pods.create(pod("watch-a"));
    await pods.patch("watch-a", { metadata: { labels: { x: "y" } } }, "merge", { namespace: "inf" });
    await pods.delete("watch-a", { namespace: "inf", gracePeriodSeconds: 0 });
    await watching;
    expect(seen).toEqual(["ADDED watch-a", "MODIFIED watch-a", "DELETED watch-a"]);
  });
});

describe("TLS", () => {
  it("refuses an API server whose certificate another CA signed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "corekube-otherca-"));
    try {
      const other = await ensurePki(dir, { hosts: ["127.0.0.1"] });
      const wrong = new RestClient({ ...client.config, caPem: other.ca.certPem }, { qps: 0 });
      const err = await wrong.resource(NAMESPACES).list().catch((e: unknown) => e as Error);
      expect(String((err as Error).message ?? err)).toMatch(/certificate|self.signed|unable to verify/i);
      await wrong.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("SharedInformer", () => {
  it("fills its cache, calls handlers, serves listers, and catches up after an API server restart", async () => {
    const pods = client.resource<Pod>(PODS);
    await pods.create(pod("inf-before", { app: "a" }));
    const factory = new InformerFactory(client, { minWatchTimeoutSeconds: 5 });
    const informer = factory.forResource<Pod>(PODS, { namespace: "inf" });
    expect(factory.forResource<Pod>(PODS, { namespace: "inf" })).toBe(informer);
    const events: string[] = [];
    informer.addEventHandler({
      onAdd: (o, initial) => events.push(`add ${o.metadata.name}${initial ? " (list)" : ""}`),
      onUpdate: (a, b) => events.push(`update ${b.metadata.name} ${a.metadata.resourceVersion}->${b.metadata.resourceVersion}`),
      onDelete: (o) => events.push(`delete ${o.metadata.name}`),
    });
    factory.start();
    expect(await factory.waitForCacheSync()).toBe(true);
    expect(events).toEqual(["add inf-before (list)"]);

    await pods.create(pod("inf-after", { app: "b" }));
    await eventually(() => informer.lister().get("inf-after", "inf") !== undefined);
    expect(events).toContain("add inf-after");
    const lister = informer.lister();
    expect(lister.list({ namespace: "inf" }).map((p) => p.metadata.name).sort()).toEqual(["inf-after", "inf-before"]);

    // A late handler first hears about everything already cached.
    const late: string[] = [];
    informer.addEventHandler({ onAdd: (o) => late.push(o.metadata.name!) });
    expect(late.sort()).toEqual(["inf-after", "inf-before"]);

    // Changes made while the API server is down arrive once it is back.
    await cp.restartApiserver();
    await pods.delete("inf-before", { namespace: "inf", gracePeriodSeconds: 0 });
    await pods.create(pod("inf-while-restarted"));
    await eventually(() => lister.get("inf-while-restarted", "inf") !== undefined && lister.get("inf-before", "inf") === undefined, 30_000);
    expect(events).toContain("delete inf-before");
    await factory.stop();
  }, 90_000);

  it("a restarted informer starts from a fresh LIST without objects deleted meanwhile", async () => {
    const pods = client.resource<Pod>(PODS);
    const informer = SharedInformer.forResource<KubeObject>(client, PODS, { namespace: "inf", labelSelector: "relist=yes" });
    await pods.create(pod("relist-a", { relist: "yes" }));
    informer.start();
    await informer.waitForSync();
    await eventually(() => informer.store.size === 1);
    await informer.stop();
    await pods.delete("relist-a", { namespace: "inf", gracePeriodSeconds: 0 });
    await pods.create(pod("relist-b", { relist: "yes" }));
    const restarted = SharedInformer.forResource<KubeObject>(client, PODS, { namespace: "inf", labelSelector: "relist=yes" });
    restarted.start();
    await restarted.waitForSync();
    await eventually(() => restarted.store.size === 1);
    expect(restarted.store.list().map((o) => o.metadata.name)).toEqual(["relist-b"]);
    await restarted.stop();
  });
});
