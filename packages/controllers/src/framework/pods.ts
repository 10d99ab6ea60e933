// Book 2.3.3 and 11.3: pod facts every workload controller needs: active, ready, available for
// minReadySeconds, and a new pod stamped from a template with its owner's reference.
import type { KubeObject, OwnerReference, Pod, PodSpec } from "@corekube/api";

export interface PodTemplateSpec {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  spec: PodSpec;
}

/** Not finished and not being deleted: counts toward replicas. */
export function isPodActive(p: Pod): boolean {
  const phase = p.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed" && !p.metadata.deletionTimestamp;
}

export function isPodTerminating(p: Pod): boolean {
  return !!p.metadata.deletionTimestamp;
}

/** The Ready condition is True. */
export function isPodReady(p: Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** Ready for at least minReadySeconds at `now` (ready since the Ready condition's lastTransitionTime). */
export function isPodAvailable(p: Pod, minReadySeconds: number, now: Date): boolean {
  const ready = p.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True");
  if (!ready) return false;
  if (minReadySeconds <= 0) return true;
  const since = ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : NaN;
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= now.getTime();
}

/**
 * A pod to create from `template` for `owner`: the template's labels and annotations, a
 * generateName of `<prefix>-`, the owner's namespace and a controller reference.
 */
export function podFromTemplate(template: PodTemplateSpec, owner: KubeObject, ref: OwnerReference, generateNamePrefix: string): Pod {
  const meta = template.metadata ?? {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${generateNamePrefix}-`,
      namespace: owner.metadata.namespace,
      labels: { ...(meta.labels ?? {}) },
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ownerReferences: [ref],
    },
    spec: structuredClone(template.spec),
  };
}
