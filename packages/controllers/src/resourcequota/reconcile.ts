// Book 4.3-4.5 and 11.3: the resource quota controller's reconcile — a quota's status.hard is its
// spec.hard, and status.used is recounted from the objects in its namespace, correcting what
// admission charged (deleted objects, finished pods, creates that failed after their charge).
import {
  addUsage,
  type GroupResource,
  type KubeObject,
  maskUsage,
  objectUsage,
  type Pod,
  parseResourceList,
  Quantity,
  quotaMatches,
  type ResourceQuota,
  type ResourceUsage,
  resourceListOf,
  resourceTracks,
  usageEquals,
} from "@corekube/api";
import { RESOURCE_QUOTAS, splitKey } from "@corekube/client";
import { type Clock, nothingToDo, type ObjectReader, type ReconcileResult, realClock } from "../framework/types.js";

export interface ResourceQuotaState {
  quotas: ObjectReader;
  pods: ObjectReader<Pod>;
  services: ObjectReader;
  configmaps: ObjectReader;
  secrets: ObjectReader;
  pvcs: ObjectReader;
  /**
   * Readers for further object counts, by "resource.group" ("deployments.apps") or, for the core
   * group, "resource" ("replicationcontrollers"). A `count/...` name with no reader keeps its used value.
   */
  others?: Record<string, ObjectReader>;
  clock?: Clock;
}

interface Source {
  gr: GroupResource;
  reader: ObjectReader;
}

function sourcesOf(s: ResourceQuotaState): Source[] {
  const core = (resource: string, reader: ObjectReader): Source => ({ gr: { group: "", resource }, reader });
  const out = [
    core("pods", s.pods as ObjectReader),
    core("services", s.services),
    core("configmaps", s.configmaps),
    core("secrets", s.secrets),
    core("persistentvolumeclaims", s.pvcs),
    core("resourcequotas", s.quotas),
  ];
  for (const [key, reader] of Object.entries(s.others ?? {})) {
    const dot = key.indexOf(".");
    const gr = dot < 0 ? { group: "", resource: key } : { group: key.slice(dot + 1), resource: key.slice(0, dot) };
    if (!out.some((o) => o.gr.group === gr.group && o.gr.resource === gr.resource)) out.push({ gr, reader });
  }
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** The hard limits a status should show: spec.hard, as the quota's author wrote it. */
function specHard(q: ResourceQuota): Record<string, string | number> {
  return isRecord(q.spec) && isRecord(q.spec.hard) ? (q.spec.hard as Record<string, string | number>) : {};
}

/** When a pod stuck in deletion stops counting (its deletion time plus grace), in ms; undefined if never. */
function stopsChargingAt(pod: KubeObject): number | undefined {
  const at = pod.metadata.deletionTimestamp ? Date.parse(pod.metadata.deletionTimestamp) : NaN;
  const grace = pod.metadata.deletionGracePeriodSeconds;
  return Number.isFinite(at) && typeof grace === "number" ? at + grace * 1000 : undefined;
}

/**
 * Recompute the quota "namespace/name": status.hard from spec.hard, status.used from every object of
 * the namespace the quota covers (scopes included). Writes status only when it differs.
 */
export function reconcileResourceQuota(key: string, s: ResourceQuotaState): ReconcileResult {
  const { namespace, name } = splitKey(key);
  if (!namespace) return nothingToDo();
  const quota = s.quotas.get(name, namespace) as ResourceQuota | undefined;
  if (!quota) return nothingToDo();
  const now = (s.clock ?? realClock).now();
  const hardList = specHard(quota);
  const hard = parseResourceList(hardList);
  // Scopes and matching judged against spec.hard, which is what status.hard is about to become.
  const judged: ResourceQuota = { ...quota, status: { hard: hardList } };

  let used: ResourceUsage = new Map();
  const counted = new Set<string>();
  let requeueAt: number | undefined;
  for (const { gr, reader } of sourcesOf(s)) {
    const tracked = [...hard.keys()].filter((n) => resourceTracks(gr, n));
    if (tracked.length === 0) continue;
    for (const n of tracked) {
      counted.add(n);
      if (!used.has(n)) used.set(n, Quantity.zero());
    }
    for (const obj of reader.list({ namespace })) {
      if (!quotaMatches(judged, gr, obj)) continue;
      used = addUsage(used, maskUsage(objectUsage(gr, obj, now), tracked));
      if (gr.group === "" && gr.resource === "pods") {
        const t = stopsChargingAt(obj);
        if (t !== undefined && t >= now.getTime() && (requeueAt === undefined || t < requeueAt)) requeueAt = t;
      }
    }
  }
  // Names nothing here can count (an object count with no reader) keep what admission charged.
  const old = parseResourceList(isRecord(quota.status) ? quota.status.used : undefined);
  for (const n of hard.keys()) if (!counted.has(n) && old.has(n)) used.set(n, old.get(n)!);

  const oldHard = parseResourceList(isRecord(quota.status) ? quota.status.hard : undefined);
  const hasHard = isRecord(quota.status) && isRecord(quota.status.hard);
  const result: ReconcileResult = { actions: [] };
  // A pod in deletion stops counting a moment after its grace runs out: look again then.
  if (requeueAt !== undefined) result.requeueAfterMs = requeueAt - now.getTime() + 1000;
  if ((hasHard || hard.size === 0) && usageEquals(oldHard, hard) && usageEquals(old, used)) return result;
  const object: ResourceQuota = { ...quota, status: { ...(isRecord(quota.status) ? quota.status : {}), hard: { ...hardList }, used: resourceListOf(used) } };
  result.actions.push({ verb: "updateStatus", resource: RESOURCE_QUOTAS, object });
  return result;
}
