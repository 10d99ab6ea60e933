// Book 2.4 and 11.3: tests for the root CA publisher's reconcile: kube-root-ca.crt appears in each
// active namespace, edits to its data are undone, and namespaces going away are left alone.
import { describe, expect, it } from "vitest";
import type { KubeObject } from "@corekube/api";
import { CONFIGMAPS } from "@corekube/client";
import { readerOf } from "../framework/testing.js";
import { DESCRIPTION_ANNOTATION, ROOT_CA_CONFIGMAP, ROOT_CA_DESCRIPTION, reconcileRootCACert } from "./reconcile.js";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const ns = (name: string, phase = "Active", deletionTimestamp?: string): KubeObject => ({
  kind: "Namespace",
  metadata: { name, ...(deletionTimestamp ? { deletionTimestamp } : {}) },
  status: { phase },
});
const cm = (namespace: string, name: string, data: Record<string, string>, annotations?: Record<string, string>): KubeObject =>
  ({ kind: "ConfigMap", metadata: { namespace, name, resourceVersion: "7", ...(annotations ? { annotations } : {}) }, data }) as KubeObject;
const described = { [DESCRIPTION_ANNOTATION]: ROOT_CA_DESCRIPTION };

describe("reconcileRootCACert", () => {
  it("creates kube-root-ca.crt with the CA and the description in an active namespace that lacks it", () => {
    const r = reconcileRootCACert("app", {
      namespaces: readerOf([ns("app")]),
      configMaps: readerOf([cm("other", ROOT_CA_CONFIGMAP, { "ca.crt": CA }), cm("app", "settings", { a: "b" })]),
      rootCA: CA,
    });
    expect(r.actions).toEqual([
      {
        verb: "create",
        resource: CONFIGMAPS,
        object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: ROOT_CA_CONFIGMAP, namespace: "app", annotations: described }, data: { "ca.crt": CA } },
      },
    ]);
  });

  it("does nothing when the ConfigMap already carries the CA and a description", () => {
    const r = reconcileRootCACert("app", { namespaces: readerOf([ns("app")]), configMaps: readerOf([cm("app", ROOT_CA_CONFIGMAP, { "ca.crt": CA }, { [DESCRIPTION_ANNOTATION]: "ours" })]), rootCA: CA });
    expect(r.actions).toEqual([]);
  });

  it("puts the CA back over edited data, dropping extra keys and keeping other metadata", () => {
    const edited = cm("app", ROOT_CA_CONFIGMAP, { "ca.crt": "tampered", extra: "x" }, { owner: "me" });
    edited.metadata.labels = { keep: "yes" };
    const r = reconcileRootCACert("app", { namespaces: readerOf([ns("app")]), configMaps: readerOf([edited]), rootCA: CA });
    expect(r.actions).toHaveLength(1);
    const a = r.actions[0]!;
    expect(a.verb).toBe("update");
    const o = (a as { object: KubeObject & { data?: Record<string, string> } }).object;
    expect(o.data).toEqual({ "ca.crt": CA });
    expect(o.metadata).toMatchObject({ name: ROOT_CA_CONFIGMAP, namespace: "app", resourceVersion: "7", labels: { keep: "yes" } });
    expect(o.metadata.annotations).toEqual({ owner: "me", ...described });
    // The cached object is not modified.
    expect((edited as { data?: Record<string, string> }).data).toEqual({ "ca.crt": "tampered", extra: "x" });
  });

  it("follows a new CA, and restores a removed description", () => {
    const old = cm("app", ROOT_CA_CONFIGMAP, { "ca.crt": "old CA" }, described);
    const r = reconcileRootCACert("app", { namespaces: readerOf([ns("app")]), configMaps: readerOf([old]), rootCA: CA });
    expect(r.actions.map((a) => a.verb)).toEqual(["update"]);
    const bare = cm("app", ROOT_CA_CONFIGMAP, { "ca.crt": CA });
    const r2 = reconcileRootCACert("app", { namespaces: readerOf([ns("app")]), configMaps: readerOf([bare]), rootCA: CA });
    expect((r2.actions[0] as { object: KubeObject }).object.metadata.annotations).toEqual(described);
  });

  it("does nothing for a namespace that is gone, terminating, or marked for deletion", () => {
    const none = readerOf<KubeObject>([]);
    expect(reconcileRootCACert("app", { namespaces: readerOf([]), configMaps: none, rootCA: CA }).actions).toEqual([]);
    expect(reconcileRootCACert("app", { namespaces: readerOf([ns("app", "Terminating")]), configMaps: none, rootCA: CA }).actions).toEqual([]);
    expect(reconcileRootCACert("app", { namespaces: readerOf([ns("app", "Active", "2026-01-01T00:00:00Z")]), configMaps: none, rootCA: CA }).actions).toEqual([]);
  });
});
