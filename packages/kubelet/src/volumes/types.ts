// Book 7.1-7.3: the pod-spec shapes the kubelet's volume manager reads (volumes, volumeMounts, the
// sources of configMap/secret/downwardAPI/projected volumes) and the typed error it reports.
import type { KubeObject } from "@corekube/api";

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export interface ObjectFieldSelector {
  apiVersion?: string;
  fieldPath: string;
}

export interface ResourceFieldSelector {
  containerName?: string;
  resource: string;
  divisor?: string | number;
}

export interface DownwardAPIVolumeFile {
  path: string;
  fieldRef?: ObjectFieldSelector;
  resourceFieldRef?: ResourceFieldSelector;
  mode?: number;
}

export interface ConfigMapVolumeSource {
  name?: string;
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}

export interface SecretVolumeSource {
  secretName?: string;
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}

export interface DownwardAPIVolumeSource {
  items?: DownwardAPIVolumeFile[];
  defaultMode?: number;
}

export interface ServiceAccountTokenProjection {
  audience?: string;
  expirationSeconds?: number;
  path: string;
}

export interface VolumeProjection {
  configMap?: { name?: string; items?: KeyToPath[]; optional?: boolean };
  secret?: { name?: string; items?: KeyToPath[]; optional?: boolean };
  downwardAPI?: { items?: DownwardAPIVolumeFile[] };
  serviceAccountToken?: ServiceAccountTokenProjection;
  [other: string]: unknown;
}

export interface ProjectedVolumeSource {
  sources?: VolumeProjection[] | null;
  defaultMode?: number;
}

export type HostPathType = "" | "DirectoryOrCreate" | "Directory" | "FileOrCreate" | "File" | "Socket" | "CharDevice" | "BlockDevice";

export interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string | number };
  hostPath?: { path: string; type?: HostPathType | string };
  configMap?: ConfigMapVolumeSource;
  secret?: SecretVolumeSource;
  downwardAPI?: DownwardAPIVolumeSource;
  projected?: ProjectedVolumeSource;
  [source: string]: unknown;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
  subPathExpr?: string;
  mountPropagation?: "None" | "HostToContainer" | "Bidirectional" | string;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: ObjectFieldSelector; [other: string]: unknown };
}

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  immutable?: boolean;
}

export interface Secret extends KubeObject {
  /** Base64, as the API returns it. */
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  type?: string;
}

export interface TokenRequestSpec {
  audiences?: string[];
  expirationSeconds: number;
  boundObjectRef?: { apiVersion: string; kind: string; name: string; uid: string };
}

export interface TokenRequestStatus {
  token: string;
  expirationTimestamp?: string;
}

/** The volume plugins this kubelet has, named as in the pod spec. */
export type VolumePlugin = "emptyDir" | "hostPath" | "configMap" | "secret" | "downwardAPI" | "projected";

/** Where each plugin keeps its volumes under pods/<uid>/volumes (upstream's kubernetes.io~<name> dirs). */
export const PLUGIN_DIRS: Record<Exclude<VolumePlugin, "hostPath">, string> = {
  emptyDir: "kubernetes.io~empty-dir",
  configMap: "kubernetes.io~configmap",
  secret: "kubernetes.io~secret",
  downwardAPI: "kubernetes.io~downward-api",
  projected: "kubernetes.io~projected",
};

/** A Warning or Normal event the manager wants recorded on the pod. */
export interface VolumeEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/**
 * FailedMount: setUp could not prepare a volume (the pod's containers keep waiting; record it as an
 * event). CreateContainerConfigError: a container's volumeMounts cannot be turned into mounts (the
 * container's waiting reason). FailedUnmount: tearDown could not unmount or remove something.
 */
export type VolumeErrorReason = "FailedMount" | "CreateContainerConfigError" | "FailedUnmount";

export class VolumeError extends Error {
  override readonly name = "VolumeError";
  /** What went wrong without the "MountVolume.SetUp failed for volume" prefix, e.g. `configmap "x" not found`. */
  readonly detail: string;
  /** Each volume's own error when several failed at once. */
  readonly failures: VolumeError[];

  constructor(
    readonly reason: VolumeErrorReason,
    detail: string,
    readonly volume?: string,
    failures: VolumeError[] = [],
  ) {
    super(reason === "FailedMount" && volume ? `MountVolume.SetUp failed for volume "${volume}" : ${detail}` : detail);
    this.detail = detail;
    this.failures = failures;
  }
}

export const isVolumeError = (e: unknown): e is VolumeError => e instanceof VolumeError;
