// Book 11.3: the controller loop against a real API server: informer events become keys, a pure
// reconcile decides, the loop performs the writes, and a failed round is retried with backoff.
import type { KubeObject } from "@corekube/api";
import { CONFIGMAPS, InformerFactory, NAMESPACES, PODS, RestClient } from "@corekube/client";
import { Controller, type ReconcileResult } from "@corekube/controllers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "../support/apiserver-process.js";
import { eventually } from "../support/eventually.js";

let cp: ControlPlane;
let client: RestClient;

beforeAll(async () => {
  cp = await startControlPlane();
  client = await RestClient.fromKubeconfig({ path: cp.kubeconfig, qps: 0 });
}, 90_000);

afterAll(async () => {
  await client?.close();
  await cp?.stop();
});

describe("Controller", () => {
  it("reconciles each namespace into a ConfigMap, retrying a failed round", async () => {
    const factory = new InformerFactory(client);
    const namespaces = factory.forResource<KubeObject>(NAMESPACES);
    const configMaps = factory.forResource<KubeObject>(CONFIGMAPS);
    let failuresLeft = 1;
    const seen: string[] = [];
    const reconcile = (key: string): ReconcileResult => {
      seen.push(key);
      if (key === "ctl-b" && failuresLeft-- > 0) throw new Error("the first round fails on purpose");
      if (!namespaces.lister().get(key) || configMaps.lister().get("hello", key)) return { actions: [] };
      return { actions: [{ verb: "create", resource: CONFIGMAPS, object: { metadata: { name: "hello", namespace: key }, data: { from: "controller" } } }] };
    };
    const controller = new Controller({ name: "hello", client, reconcile });
    namespaces.addEventHandler({ onAdd: controller.enqueue, onUpdate: (_o, n) => controller.enqueue(n) });
    factory.start();
    await factory.waitForCacheSync();
    const running = controller.run();
    try {
      for (const ns of ["ctl-a", "ctl-b"]) await client.resource(NAMESPACES).create({ metadata: { name: ns } });
      for (const ns of ["ctl-a", "ctl-b"]) {
        const cm = await eventually(`configmap in ${ns}`, async () => (await client.resource(CONFIGMAPS).list({ namespace: ns })).items.find((c) => c.metadata.name === "hello"));
        expect(cm.data).toEqual({ from: "controller" });
      }
      // ctl-b was reconciled at least twice: the failed round and the retry.
      expect(seen.filter((k) => k === "ctl-b").length).toBeGreaterThanOrEqual(2);
    } finally {
      await controller.stop();
      await running;
      await factory.stop();
    }
  });

  it("sends a run of pod creations in slow-start batches and stops after the first failing batch", async () => {
    const ns = "ctl-batch";
    await client.resource(NAMESPACES).create({ metadata: { name: ns } });
    const pod = (name: string) => ({ metadata: { name, namespace: ns }, spec: { containers: [{ name: "c", image: "busybox" }] } });
    // Ten creations; the second is invalid. Batches of 1, then 2 (which fails): 0 and 2 are made, 3..9 never tried.
    const names = Array.from({ length: 10 }, (_, i) => (i === 1 ? "Not_A_Valid_Name" : `p${i}`));
    const failed: string[] = [];
    let rounds = 0;
    const controller = new Controller({
      name: "batch",
      client,
      reconcile: () => (rounds++ === 0 ? { actions: names.map((n) => ({ verb: "create" as const, resource: PODS, object: pod(n) })) } : { actions: [] }),
      onActionFailed: (_k, a) => failed.push(a.verb === "create" ? (a.object.metadata.name ?? "") : ""),
    });
    const running = controller.run();
    try {
      controller.add("once");
      await eventually("the round to fail", async () => failed.length > 0);
      await eventually("the retry", async () => rounds >= 2);
      const made = (await client.resource(PODS).list({ namespace: ns })).items.map((p) => p.metadata.name).sort();
      expect(made).toEqual(["p0", "p2"]);
      expect(failed.sort()).toEqual(["Not_A_Valid_Name", ...names.slice(3)].sort());
      expect(controller.stats.errors).toBe(1);
    } finally {
      await controller.stop();
      await running;
      await client.resource(NAMESPACES).delete(ns).catch(() => undefined);
    }
  });
});
