// Book 2.3 and 11.2: group/version/resource coordinates and the REST paths they map to
// (/api/v1/namespaces/ns/pods/name/status, /apis/apps/v1/deployments), for the resources components use.

export interface ResourceType {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Plural, lower-case: "pods". */
  resource: string;
  kind: string;
  namespaced: boolean;
}

export interface PathParts {
  namespace?: string;
  name?: string;
  subresource?: string;
}

const enc = encodeURIComponent;

/** The REST path of a collection, an object or a subresource. */
export function resourcePath(rt: ResourceType, parts: PathParts = {}): string {
  let p = rt.group === "" ? `/api/${rt.version}` : `/apis/${rt.group}/${rt.version}`;
  if (rt.namespaced && parts.namespace) p += `/namespaces/${enc(parts.namespace)}`;
  p += `/${rt.resource}`;
  if (parts.name !== undefined) {
    if (parts.name === "") throw new Error(`resource name may not be empty (${rt.resource})`);
    p += `/${enc(parts.name)}`;
    if (parts.subresource) p += `/${parts.subresource}`;
  }
  return p;
}

export const apiVersionOf = (rt: ResourceType): string => (rt.group === "" ? rt.version : `${rt.group}/${rt.version}`);

const core = (resource: string, kind: string, namespaced = true): ResourceType => ({ group: "", version: "v1", resource, kind, namespaced });

export const PODS = core("pods", "Pod");
export const NODES = core("nodes", "Node", false);
export const NAMESPACES = core("namespaces", "Namespace", false);
export const SERVICES = core("services", "Service");
export const ENDPOINTS = core("endpoints", "Endpoints");
export const EVENTS = core("events", "Event");
export const CONFIGMAPS = core("configmaps", "ConfigMap");
export const SECRETS = core("secrets", "Secret");
export const SERVICE_ACCOUNTS = core("serviceaccounts", "ServiceAccount");
export const PERSISTENT_VOLUME_CLAIMS = core("persistentvolumeclaims", "PersistentVolumeClaim");
export const RESOURCE_QUOTAS = core("resourcequotas", "ResourceQuota");
export const LIMIT_RANGES = core("limitranges", "LimitRange");
export const REPLICATION_CONTROLLERS = core("replicationcontrollers", "ReplicationController");
export const LEASES: ResourceType = { group: "coordination.k8s.io", version: "v1", resource: "leases", kind: "Lease", namespaced: true };
export const PRIORITY_CLASSES: ResourceType = {
  group: "scheduling.k8s.io",
  version: "v1",
  resource: "priorityclasses",
  kind: "PriorityClass",
  namespaced: false,
};
export const POD_DISRUPTION_BUDGETS: ResourceType = {
  group: "policy",
  version: "v1",
  resource: "poddisruptionbudgets",
  kind: "PodDisruptionBudget",
  namespaced: true,
};
const apps = (resource: string, kind: string): ResourceType => ({ group: "apps", version: "v1", resource, kind, namespaced: true });
export const DEPLOYMENTS = apps("deployments", "Deployment");
export const REPLICASETS = apps("replicasets", "ReplicaSet");
export const STATEFULSETS = apps("statefulsets", "StatefulSet");
export const DAEMONSETS = apps("daemonsets", "DaemonSet");
export const CONTROLLER_REVISIONS = apps("controllerrevisions", "ControllerRevision");
export const JOBS: ResourceType = { group: "batch", version: "v1", resource: "jobs", kind: "Job", namespaced: true };
export const CRONJOBS: ResourceType = { group: "batch", version: "v1", resource: "cronjobs", kind: "CronJob", namespaced: true };
export const ENDPOINT_SLICES: ResourceType = {
  group: "discovery.k8s.io",
  version: "v1",
  resource: "endpointslices",
  kind: "EndpointSlice",
  namespaced: true,
};
