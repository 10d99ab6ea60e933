// Book 2.4 and 11.3: the service account controller's reconcile: every active namespace gets a
// ServiceAccount named "default", the identity its pods run as unless they name another.
import type { KubeObject } from "@corekube/api";
import { SERVICE_ACCOUNTS } from "@corekube/client";
import { type ObjectReader, type ReconcileResult, nothingToDo } from "../framework/types.js";

/** The accounts every namespace should hold (upstream's controller is configured with just this one). */
export const DEFAULT_SERVICE_ACCOUNTS = ["default"];

export interface ServiceAccountState {
  namespaces: ObjectReader;
  serviceAccounts: ObjectReader;
}

/**
 * Reconcile the namespace `namespace` (a ServiceAccount's deletion is queued under its namespace):
 * create each missing default account, unless the namespace is gone or terminating, where the API
 * server would refuse the create anyway.
 */
export function reconcileServiceAccounts(namespace: string, s: ServiceAccountState, names: string[] = DEFAULT_SERVICE_ACCOUNTS): ReconcileResult {
  const ns = s.namespaces.get(namespace) as (KubeObject & { status?: { phase?: string } }) | undefined;
  if (!ns || ns.metadata.deletionTimestamp || ns.status?.phase === "Terminating") return nothingToDo();
  return {
    actions: names
      .filter((name) => !s.serviceAccounts.get(name, namespace))
      .map((name) => ({
        verb: "create" as const,
        resource: SERVICE_ACCOUNTS,
        object: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } },
      })),
  };
}
