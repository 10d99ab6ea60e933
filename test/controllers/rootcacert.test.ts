// Book 2.4 and 11.3: the root CA publisher end to end: on a real API server, every namespace gets
// ConfigMap kube-root-ca.crt with the cluster CA from the kubeconfig (or --root-ca-file); a deleted
// one comes back and an edited one is put right.
import { join } from "node:path";
import type { KubeObject } from "@corekube/api";
import { CONFIGMAPS, NAMESPACES, RestClient } from "@corekube/client";
import { type RunningControllerManager, runControllerManager } from "@corekube/controllers/run";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "../support/apiserver-process.js";
import { eventually } from "../support/eventually.js";

let cp: ControlPlane;
let client: RestClient;
let cm: RunningControllerManager | undefined;

beforeAll(async () => {
  cp = await startControlPlane();
  client = await RestClient.fromKubeconfig({ path: cp.kubeconfig, qps: 0 });
}, 90_000);

afterAll(async () => {
  await cm?.stop();
  await client?.close();
  await cp?.stop();
});

type ConfigMap = KubeObject & { data?: Record<string, string> };
const configMaps = () => client.resource<ConfigMap>(CONFIGMAPS);
const rootCA = (ns: string) => configMaps().get("kube-root-ca.crt", ns).catch(() => undefined);
const start = async (rootCAFile?: string) => {
  cm = await runControllerManager({ kubeconfig: cp.kubeconfig, leaderElect: false, controllers: ["root-ca-cert-publisher"], rootCAFile, log: () => undefined });
  await cm.leading;
};
const stop = async () => {
  await cm?.stop();
  cm = undefined;
};

describe("root-ca-cert-publisher", () => {
  it("publishes the kubeconfig's CA in a new namespace, recreates it when deleted, and undoes edits", async () => {
    await start();
    try {
      await client.resource(NAMESPACES).create({ metadata: { name: "ca-new" } });
      const first = await eventually("kube-root-ca.crt in ca-new", () => rootCA("ca-new"));
      expect(first.data).toEqual({ "ca.crt": cp.tls.ca });
      expect(first.metadata.annotations?.["kubernetes.io/description"]).toMatch(/CA bundle/);
      // Namespaces that existed before the controller started have it too.
      expect((await eventually("kube-root-ca.crt in default", () => rootCA("default"))).data).toEqual({ "ca.crt": cp.tls.ca });

      await configMaps().delete("kube-root-ca.crt", { namespace: "ca-new" });
      const again = await eventually("kube-root-ca.crt back in ca-new", async () => {
        const c = await rootCA("ca-new");
        return c && c.metadata.uid !== first.metadata.uid ? c : undefined;
      });
      expect(again.data).toEqual({ "ca.crt": cp.tls.ca });

      await configMaps().patch("kube-root-ca.crt", { data: { "ca.crt": "not a CA", extra: "x" } }, "merge", { namespace: "ca-new" });
      await eventually("the CA put back", async () => JSON.stringify((await rootCA("ca-new"))?.data) === JSON.stringify({ "ca.crt": cp.tls.ca }));
    } finally {
      await stop();
    }
  });

  it("publishes the bundle of --root-ca-file instead, and refuses a file without a certificate", async () => {
    // Any valid certificate will do as a bundle; the admin client certificate is at hand.
    const bundle = join(cp.stateDir, "pki", "admin.crt");
    await start(bundle);
    try {
      await eventually("ca-new's kube-root-ca.crt switched to the file's bundle", async () => (await rootCA("ca-new"))?.data?.["ca.crt"] === cp.tls.cert);
    } finally {
      await stop();
    }
    await expect(start(join(cp.stateDir, "pki", "admin.key"))).rejects.toThrow(/--root-ca-file: .*admin\.key holds no PEM certificate/);
    await expect(start(join(cp.stateDir, "pki", "missing.crt"))).rejects.toThrow(/--root-ca-file: cannot read/);
  });
});
