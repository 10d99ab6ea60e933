// Book 11.2: the API server's built-in resources — every kind's names for discovery, schema,
// strategy (defaults, validation, create/update preparation), Table and selectable fields.
import type { ResourceDef } from "../registry/types.js";
import { controllerRevisions, daemonSets, deployments, replicaSets, statefulSets } from "./apps.js";
import { horizontalPodAutoscalers } from "./autoscaling.js";
import { cronJobs, jobs } from "./batch.js";
import { namespaces, nodes } from "./core-cluster.js";
import { configMaps, secrets, serviceAccounts } from "./core-config.js";
import { pods } from "./core-pods.js";
import { limitRanges, resourceQuotas } from "./core-policy.js";
import { endpoints, services } from "./core-services.js";
import { persistentVolumeClaims, persistentVolumes } from "./core-storage.js";
import { leases } from "./coordination.js";
import { endpointSlices } from "./discovery.js";
import { coreEvents, eventsV1 } from "./events.js";
import { networkPolicies } from "./networking.js";
import { podDisruptionBudgets } from "./policy.js";
import { clusterRoleBindings, clusterRoles, roleBindings, roles } from "./rbac.js";
import { priorityClasses } from "./scheduling.js";
import { storageClasses } from "./storage.js";

/** Every built-in resource, core/v1 first, then the named groups. CRDs are registered elsewhere. */
export function builtinResources(): ResourceDef[] {
  return [
    namespaces,
    pods,
    services,
    endpoints,
    configMaps,
    secrets,
    nodes,
    coreEvents,
    serviceAccounts,
    persistentVolumes,
    persistentVolumeClaims,
    resourceQuotas,
    limitRanges,
    deployments,
    replicaSets,
    statefulSets,
    daemonSets,
    controllerRevisions,
    jobs,
    cronJobs,
    horizontalPodAutoscalers,
    leases,
    endpointSlices,
    eventsV1,
    networkPolicies,
    storageClasses,
    podDisruptionBudgets,
    priorityClasses,
    roles,
    roleBindings,
    clusterRoles,
    clusterRoleBindings,
  ];
}

export { ageOf, humanDuration } from "./age.js";
export { validateObjectMeta, validateObjectMetaUpdate } from "./meta.js";
export { podQOSClass } from "./qos.js";
export { summarizePod } from "./pod-table.js";
export { coreEventToEventsV1, eventsV1ToCoreEvent } from "./events.js";
