// Book 4.5: a pod's quality-of-service class (Guaranteed, Burstable, BestEffort), computed from its
// CPU and memory requests and limits the way upstream does; the kubelet uses it to place pod cgroups.
import { Quantity } from "./quantity.js";
import { parseResourceList } from "./quota.js";

export type PodQOSClass = "Guaranteed" | "Burstable" | "BestEffort";

/** The resources that decide a pod's QoS class; others (ephemeral-storage, GPUs) never count. */
const QOS_RESOURCES = ["cpu", "memory"];

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** The positive cpu/memory entries of a ResourceList; malformed or zero entries count as absent. */
function qosEntries(list: unknown): Map<string, Quantity> {
  const out = new Map<string, Quantity>();
  for (const [name, q] of parseResourceList(list)) {
    if (QOS_RESOURCES.includes(name) && q.sign() > 0) out.set(name, q);
  }
  return out;
}

function addInto(into: Map<string, Quantity>, from: Map<string, Quantity>): void {
  for (const [name, q] of from) into.set(name, (into.get(name) ?? Quantity.zero()).add(q));
}

/**
 * The QoS class from the spec alone. Pod-level `spec.resources`, when present, decides on its own;
 * otherwise every container and init container counts (ephemeral containers carry no resources).
 * BestEffort: no cpu/memory request or limit anywhere. Guaranteed: cpu and memory limits everywhere
 * they are judged, and each summed request equals its summed limit. Anything else is Burstable.
 */
export function computePodQOS(pod: { spec?: unknown }): PodQOSClass {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const requests = new Map<string, Quantity>();
  const limits = new Map<string, Quantity>();
  let guaranteed = true;
  const podLevel = isRecord(spec.resources) ? spec.resources : undefined;
  if (podLevel) {
    addInto(requests, qosEntries(podLevel.requests));
    const lim = qosEntries(podLevel.limits);
    addInto(limits, lim);
    if (isRecord(podLevel.limits) && Object.keys(podLevel.limits).length > 0 && !(lim.has("cpu") && lim.has("memory"))) {
      guaranteed = false;
    }
  } else {
    for (const key of ["containers", "initContainers"]) {
      const list = Array.isArray(spec[key]) ? (spec[key] as unknown[]) : [];
      for (const c of list) {
        const res = isRecord(c) && isRecord(c.resources) ? c.resources : {};
        addInto(requests, qosEntries(res.requests));
        const lim = qosEntries(res.limits);
        addInto(limits, lim);
        if (!lim.has("cpu") || !lim.has("memory")) guaranteed = false;
      }
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

/** The class recorded in status.qosClass when it is a valid one (it never changes), else computed. */
export function getPodQOS(pod: { spec?: unknown; status?: unknown }): PodQOSClass {
  const recorded = isRecord(pod.status) ? pod.status.qosClass : undefined;
  if (recorded === "Guaranteed" || recorded === "Burstable" || recorded === "BestEffort") return recorded;
  return computePodQOS(pod);
}
