// Book 4.5: a pod's quality-of-service class — Guaranteed, Burstable or BestEffort — recorded in
// status.qosClass at creation. The rule lives in @corekube/api, shared with the kubelet's cgroups.
import { computePodQOS, type Pod } from "@corekube/api";
import type { KubeObject } from "../registry/types.js";

export type QOSClass = "Guaranteed" | "Burstable" | "BestEffort";

export function podQOSClass(pod: KubeObject): QOSClass {
  return computePodQOS(pod as unknown as Pod);
}
