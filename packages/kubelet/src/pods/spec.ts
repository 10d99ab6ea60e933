// Book 9.3: the parts of a pod's spec the kubelet reads beyond what the scheduler needs: DNS,
// namespaces to share, security contexts, environment, pull policy and secrets.
import type { Pod } from "@corekube/api";

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  supplementalGroups?: number[];
  /** Group of the pod's writable volumes, also added to every container's supplementary groups. */
  fsGroup?: number;
  capabilities?: { add?: string[]; drop?: string[] };
  privileged?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    configMapKeyRef?: { name?: string; key: string; optional?: boolean };
    secretKeyRef?: { name?: string; key: string; optional?: boolean };
  };
}

export interface KubeletContainer {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  imagePullPolicy?: string;
  securityContext?: SecurityContext;
}

/** All keys of a ConfigMap or Secret as variables, each name behind an optional prefix. */
export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}

export interface KubeletPodSpec {
  /** Service links: false leaves the pod namespace's Services out of the environment. */
  enableServiceLinks?: boolean;
  hostname?: string;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  shareProcessNamespace?: boolean;
  dnsPolicy?: string;
  dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: { name: string; value?: string }[] };
  securityContext?: SecurityContext;
  imagePullSecrets?: { name: string }[];
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
}

export const specOf = (pod: Pod): KubeletPodSpec => pod.spec as unknown as KubeletPodSpec;
export const containerOf = (c: Pod["spec"]["containers"][number]): KubeletContainer => c as unknown as KubeletContainer;
