// Book 2.4 and 11.3: the root CA publisher's reconcile: every active namespace holds a ConfigMap
// kube-root-ca.crt with the cluster CA, so a pod's projected token volume can verify the API server.
import type { KubeObject } from "@corekube/api";
import { CONFIGMAPS } from "@corekube/client";
import { type ObjectReader, type ReconcileResult, nothingToDo } from "../framework/types.js";

/** The ConfigMap's name and key, as pods' projected service account volumes expect them. */
export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";
export const ROOT_CA_KEY = "ca.crt";
/** The annotation that tells a reader what the ConfigMap is for (the same text as upstream's). */
export const DESCRIPTION_ANNOTATION = "kubernetes.io/description";
export const ROOT_CA_DESCRIPTION =
  "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

export interface RootCACertState {
  namespaces: ObjectReader;
  configMaps: ObjectReader;
  /** The CA bundle to publish (PEM). */
  rootCA: string;
}

type ConfigMap = KubeObject & { data?: Record<string, string> };

/** Whether a ConfigMap's data is exactly the one key with this CA (any other key is removed too). */
function dataMatches(data: Record<string, string> | undefined, rootCA: string): boolean {
  const keys = Object.keys(data ?? {});
  return keys.length === 1 && keys[0] === ROOT_CA_KEY && data![ROOT_CA_KEY] === rootCA;
}

/**
 * Reconcile the namespace `namespace` (a change to or deletion of its kube-root-ca.crt is queued under
 * the namespace): create the ConfigMap when missing; when someone edited its data or dropped the
 * description, put them back (an update from the cached copy, so a stale cache fails on resourceVersion
 * and is retried). Namespaces that are gone or terminating are left alone.
 */
export function reconcileRootCACert(namespace: string, s: RootCACertState): ReconcileResult {
  const ns = s.namespaces.get(namespace) as (KubeObject & { status?: { phase?: string } }) | undefined;
  if (!ns || ns.metadata.deletionTimestamp || ns.status?.phase === "Terminating") return nothingToDo();
  const cm = s.configMaps.get(ROOT_CA_CONFIGMAP, namespace) as ConfigMap | undefined;
  const data = { [ROOT_CA_KEY]: s.rootCA };
  if (!cm) {
    return {
      actions: [
        {
          verb: "create",
          resource: CONFIGMAPS,
          object: {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: ROOT_CA_CONFIGMAP, namespace, annotations: { [DESCRIPTION_ANNOTATION]: ROOT_CA_DESCRIPTION } },
            data,
          } as KubeObject,
        },
      ],
    };
  }
  if (dataMatches(cm.data, s.rootCA) && (cm.metadata.annotations?.[DESCRIPTION_ANNOTATION] ?? "") !== "") return nothingToDo();
  const fixed: ConfigMap = {
    ...cm,
    metadata: { ...cm.metadata, annotations: { ...cm.metadata.annotations, [DESCRIPTION_ANNOTATION]: ROOT_CA_DESCRIPTION } },
    data,
  };
  return { actions: [{ verb: "update", resource: CONFIGMAPS, object: fixed }] };
}
