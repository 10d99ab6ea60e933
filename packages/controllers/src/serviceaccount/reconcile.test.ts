// Book 2.4 and 11.3: tests for the service account controller's reconcile: a "default" account in
// every active namespace, and none pushed into a namespace that is going away.
import { describe, expect, it } from "vitest";
import type { KubeObject } from "@corekube/api";
import { SERVICE_ACCOUNTS } from "@corekube/client";
import { readerOf } from "../framework/testing.js";
import { reconcileServiceAccounts } from "./reconcile.js";

const ns = (name: string, phase = "Active", deletionTimestamp?: string): KubeObject => ({
  kind: "Namespace",
  metadata: { name, ...(deletionTimestamp ? { deletionTimestamp } : {}) },
  status: { phase },
});
const sa = (namespace: string, name: string): KubeObject => ({ kind: "ServiceAccount", metadata: { namespace, name } });

describe("reconcileServiceAccounts", () => {
  it("creates the default account in an active namespace that lacks it", () => {
    const r = reconcileServiceAccounts("app", { namespaces: readerOf([ns("app")]), serviceAccounts: readerOf([sa("other", "default"), sa("app", "builder")]) });
    expect(r.actions).toEqual([
      { verb: "create", resource: SERVICE_ACCOUNTS, object: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: "app" } } },
    ]);
  });

  it("does nothing when the account exists", () => {
    const r = reconcileServiceAccounts("app", { namespaces: readerOf([ns("app")]), serviceAccounts: readerOf([sa("app", "default")]) });
    expect(r.actions).toEqual([]);
  });

  it("does nothing for a namespace that is gone, terminating, or marked for deletion", () => {
    const none = readerOf<KubeObject>([]);
    expect(reconcileServiceAccounts("app", { namespaces: readerOf([]), serviceAccounts: none }).actions).toEqual([]);
    expect(reconcileServiceAccounts("app", { namespaces: readerOf([ns("app", "Terminating")]), serviceAccounts: none }).actions).toEqual([]);
    expect(reconcileServiceAccounts("app", { namespaces: readerOf([ns("app", "Active", "2026-01-01T00:00:00Z")]), serviceAccounts: none }).actions).toEqual([]);
  });
});
