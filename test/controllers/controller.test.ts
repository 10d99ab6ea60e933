// Book 11.3: the controller loop against a real API server: informer events become keys, a pure
// reconcile decides, the loop performs the writes, and a failed round is retried with backoff.
import type { KubeObject } from "@corekube/api";
import { CONFIGMAPS, InformerFactory, NAMESPACES, RestClient } from "@corekube/client";
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
});
