// Book 4.5: a pod's quality-of-service class, derived from its containers' CPU and memory requests
// and limits — Guaranteed, Burstable or BestEffort — recorded in status.qosClass at creation.
import type { Quantity } from "@corekube/api";
import type { KubeObject } from "../registry/types.js";
import { get, obj, objects } from "./json.js";
import { quantityOf } from "./validation.js";

export type QOSClass = "Guaranteed" | "Burstable" | "BestEffort";

const QOS_RESOURCES = new Set(["cpu", "memory"]);

function addInto(totals: Map<string, Quantity>, name: string, q: Quantity): void {
  const cur = totals.get(name);
  totals.set(name, cur ? cur.add(q) : q);
}

/**
 * BestEffort: no container asks for or caps CPU or memory. Guaranteed: every container has both
 * CPU and memory limits, and the summed requests equal the summed limits. Otherwise Burstable.
 * Init containers count; ephemeral containers cannot carry resources and do not.
 */
export function podQOSClass(pod: KubeObject): QOSClass {
  const spec = obj(pod.spec) ?? {};
  const requests = new Map<string, Quantity>();
  const limits = new Map<string, Quantity>();
  let guaranteed = true;
  for (const list of ["containers", "initContainers"]) {
    for (const [c] of objects(spec[list])) {
      for (const [name, raw] of Object.entries(obj(get(c, "resources", "requests")) ?? {})) {
        const q = quantityOf(raw);
        if (QOS_RESOURCES.has(name) && q && q.sign() > 0) addInto(requests, name, q);
      }
      const found = new Set<string>();
      for (const [name, raw] of Object.entries(obj(get(c, "resources", "limits")) ?? {})) {
        const q = quantityOf(raw);
        if (QOS_RESOURCES.has(name) && q && q.sign() > 0) {
          found.add(name);
          addInto(limits, name, q);
        }
      }
      if (!found.has("cpu") || !found.has("memory")) guaranteed = false;
    }
  }
  if (requests.size === 0 && limits.size === 0) return "BestEffort";
  if (guaranteed) {
    for (const [name, req] of requests) {
      const lim = limits.get(name);
      if (!lim || lim.cmp(req) !== 0) {
        guaranteed = false;
        break;
      }
    }
  }
  return guaranteed && requests.size === limits.size ? "Guaranteed" : "Burstable";
}
