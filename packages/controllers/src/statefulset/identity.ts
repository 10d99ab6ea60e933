// Book 11.3: a StatefulSet pod's sticky identity: the ordinal in its name, its hostname under the
// governing service, its own PersistentVolumeClaims, and the labels that say who and which it is.
import type { KubeObject, LabelSelector, Pod } from "@corekube/api";
import { newControllerRef } from "../framework/owners.js";
import { podFromTemplate, type PodTemplateSpec } from "../framework/pods.js";

/** Label with the pod's own name, so a Service can pick exactly one member of the set. */
export const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
/** Label with the pod's ordinal. */
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";
/** Label with the name of the ControllerRevision the pod was stamped from. */
export const REVISION_LABEL = "controller-revision-hash";

export interface PersistentVolumeClaimTemplate {
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
}

/** The parts of a StatefulSet that decide its pods' identities. */
export interface IdentitySource extends KubeObject {
  spec: {
    selector?: LabelSelector;
    serviceName?: string;
    volumeClaimTemplates?: PersistentVolumeClaimTemplate[];
    [k: string]: unknown;
  };
}

const ORDINAL_NAME = /^(.*)-([0-9]+)$/;

/** The set name and ordinal a pod name encodes (`web-3` → web, 3), or ordinal -1 when it encodes none. */
export function parentAndOrdinal(podName: string | undefined): { parent: string; ordinal: number } {
  const m = ORDINAL_NAME.exec(podName ?? "");
  if (!m) return { parent: "", ordinal: -1 };
  const n = Number(m[2]);
  // Upstream parses into an int32; an ordinal that does not fit is no ordinal.
  return { parent: m[1]!, ordinal: Number.isSafeInteger(n) && n <= 0x7fffffff ? n : -1 };
}

export function ordinalOf(pod: Pod): number {
  return parentAndOrdinal(pod.metadata.name).ordinal;
}

/** Whether the pod's name says it belongs to the set called `setName`. */
export function isMemberOf(setName: string, pod: Pod): boolean {
  const { parent, ordinal } = parentAndOrdinal(pod.metadata.name);
  return ordinal >= 0 && parent === setName;
}

export function podName(set: KubeObject, ordinal: number): string {
  return `${set.metadata.name ?? ""}-${ordinal}`;
}

/** `<template>-<set>-<ordinal>`: the claim a pod's volume from `templateName` binds to. */
export function claimName(set: KubeObject, templateName: string, ordinal: number): string {
  return `${templateName}-${set.metadata.name ?? ""}-${ordinal}`;
}

/** The PersistentVolumeClaims the pod with `ordinal` needs, in template order. */
export function claimsFor(set: IdentitySource, ordinal: number): KubeObject[] {
  const selectorLabels = set.spec.selector?.matchLabels ?? {};
  return (set.spec.volumeClaimTemplates ?? []).map((t) => {
    const meta = t.metadata ?? {};
    return {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: {
        name: claimName(set, meta.name ?? "", ordinal),
        namespace: set.metadata.namespace,
        labels: { ...(meta.labels ?? {}), ...selectorLabels },
        ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      },
      spec: structuredClone(t.spec ?? {}),
    };
  });
}

/** Sets the identity labels, hostname and subdomain on `pod` (which already has its name). */
export function applyIdentity(set: IdentitySource, pod: Pod, ordinal: number): void {
  const name = podName(set, ordinal);
  pod.metadata.name = name;
  pod.metadata.namespace = set.metadata.namespace;
  pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ordinal) };
  pod.spec.hostname = name;
  if (set.spec.serviceName) pod.spec.subdomain = set.spec.serviceName;
}

/** Whether a live pod still carries the identity its name promises (only labels can be fixed in place). */
export function identityMatches(set: IdentitySource, pod: Pod): boolean {
  const { parent, ordinal } = parentAndOrdinal(pod.metadata.name);
  return (
    ordinal >= 0 &&
    parent === set.metadata.name &&
    pod.metadata.namespace === set.metadata.namespace &&
    pod.metadata.labels?.[POD_NAME_LABEL] === pod.metadata.name &&
    pod.metadata.labels?.[POD_INDEX_LABEL] === String(ordinal)
  );
}

interface ClaimVolume {
  name: string;
  persistentVolumeClaim?: { claimName?: string; readOnly?: boolean };
  [k: string]: unknown;
}

/** Whether the pod mounts every claim its volumeClaimTemplates call for. */
export function storageMatches(set: IdentitySource, pod: Pod): boolean {
  const ordinal = ordinalOf(pod);
  if (ordinal < 0) return false;
  const volumes = (pod.spec.volumes as ClaimVolume[] | undefined) ?? [];
  return (set.spec.volumeClaimTemplates ?? []).every((t) => {
    const v = volumes.find((x) => x.name === t.metadata?.name);
    return v?.persistentVolumeClaim?.claimName === claimName(set, t.metadata?.name ?? "", ordinal);
  });
}

/**
 * The pod for `ordinal` stamped from `template` (the template of the revision it should run):
 * fixed name, identity labels, the revision label, claim volumes in place of any template volume
 * of the same name, and a controller reference to the set.
 */
export function newStatefulPod(set: IdentitySource, template: PodTemplateSpec, ordinal: number, revisionName: string): Pod {
  const pod = podFromTemplate(template, set, newControllerRef(set, "apps/v1", "StatefulSet"), set.metadata.name ?? "");
  delete pod.metadata.generateName;
  applyIdentity(set, pod, ordinal);
  pod.metadata.labels = { ...pod.metadata.labels, [REVISION_LABEL]: revisionName };
  const templates = set.spec.volumeClaimTemplates ?? [];
  if (templates.length > 0) {
    const claimVolumes: ClaimVolume[] = templates.map((t) => ({
      name: t.metadata?.name ?? "",
      persistentVolumeClaim: { claimName: claimName(set, t.metadata?.name ?? "", ordinal) },
    }));
    const names = new Set(claimVolumes.map((v) => v.name));
    const others = ((pod.spec.volumes as ClaimVolume[] | undefined) ?? []).filter((v) => !names.has(v.name));
    pod.spec.volumes = [...claimVolumes, ...others];
  }
  return pod;
}
