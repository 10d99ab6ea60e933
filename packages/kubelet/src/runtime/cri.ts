// Book 3.3-3.4, 9.3: the Container Runtime Interface as TypeScript types: the verbs a kubelet calls on
// a runtime (RunPodSandbox ... ListContainers) and config shapes kept close to the CRI's protobufs.

/** CRI NamespaceMode: POD shares the pod's namespace, CONTAINER gives each container its own, NODE uses the host's. */
export type NamespaceMode = "POD" | "CONTAINER" | "NODE";

export interface NamespaceOption {
  /** NODE = hostNetwork (also shares the host's UTS namespace, as containerd does). Default POD. */
  network?: NamespaceMode;
  /** POD = shareProcessNamespace, CONTAINER (default) = one pid namespace per container, NODE = hostPID. */
  pid?: NamespaceMode;
  /** NODE = hostIPC. Default POD. */
  ipc?: NamespaceMode;
}

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt?: number;
}

export interface DNSConfig {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

export interface PortMapping {
  protocol?: "TCP" | "UDP" | "SCTP";
  containerPort: number;
  hostPort?: number;
  hostIp?: string;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  /** Directory the containers' relative logPath values are resolved against. */
  logDirectory?: string;
  dnsConfig?: DNSConfig;
  /** Accepted and ignored: host ports are the CNI portmap plugin's job here. */
  portMappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: {
    cgroupParent?: string;
    securityContext?: { namespaceOptions?: NamespaceOption; privileged?: boolean };
  };
}

export type PodSandboxState = "SANDBOX_READY" | "SANDBOX_NOTREADY";

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  /** RFC 3339 with nanoseconds. */
  createdAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface PodSandboxStatus extends PodSandbox {
  network: {
    /** Path of the bind-mounted network namespace file: the CNI_NETNS of the caller's CNI ADD/DEL.
     * Undefined for hostNetwork sandboxes. */
    netnsPath?: string;
  };
  /** Host pid of the pause process (catatonit -P); undefined once it is gone. */
  pausePid?: number;
  linux: {
    namespaces: { options: Required<NamespaceOption>; paths: { net?: string; ipc?: string; uts?: string; pid?: string } };
  };
  hostname: string;
}

export interface PodSandboxFilter {
  id?: string;
  state?: PodSandboxState;
  labelSelector?: Record<string, string>;
}

export interface KeyValue {
  key: string;
  value: string;
}

export type MountPropagation = "PROPAGATION_PRIVATE" | "PROPAGATION_HOST_TO_CONTAINER" | "PROPAGATION_BIDIRECTIONAL";

export interface Mount {
  hostPath: string;
  containerPath: string;
  readonly?: boolean;
  propagation?: MountPropagation;
}

export interface Capability {
  /** Names as in the pod spec ("NET_ADMIN", "CAP_NET_ADMIN" or "ALL"). */
  add?: string[];
  drop?: string[];
}

export interface LinuxContainerSecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  supplementalGroups?: number[];
  capabilities?: Capability;
  privileged?: boolean;
  readonlyRootfs?: boolean;
  noNewPrivs?: boolean;
  /** Overrides the sandbox's pid mode for this container (POD/CONTAINER/NODE). */
  namespaceOptions?: { pid?: NamespaceMode };
}

export interface ContainerMetadata {
  name: string;
  attempt?: number;
}

export interface ContainerConfig {
  metadata: ContainerMetadata;
  /** The image, already unpacked: layer directories, lowest first. `ref` is only recorded. */
  image: { layers: string[]; ref?: string };
  /** Entrypoint and arguments, already resolved against the image config by the caller. */
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: KeyValue[];
  mounts?: Mount[];
  /** Relative to the sandbox's logDirectory, or absolute. */
  logPath?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Not supported yet: must be false/absent. */
  stdin?: boolean;
  tty?: boolean;
  linux?: {
    securityContext?: LinuxContainerSecurityContext;
    /** The container's cgroup as the kubelet's cgroup driver names it; handed to placeInCgroup. */
    cgroupParent?: string;
    /** Called with the container's host pid before any of its code runs (kept in memory only;
     * RuntimeOptions.placeInCgroup covers containers started after a kubelet restart). */
    placeInCgroup?: (pid: number) => Promise<void> | void;
  };
}

export type ContainerState = "CONTAINER_CREATED" | "CONTAINER_RUNNING" | "CONTAINER_EXITED" | "CONTAINER_UNKNOWN";

export interface Container {
  id: string;
  podSandboxId: string;
  metadata: ContainerMetadata;
  image: { layers: string[]; ref?: string };
  state: ContainerState;
  createdAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerStatus extends Container {
  /** Host pid of the container's first process while it runs. */
  pid?: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** Completed (exit 0), Error, OOMKilled, StartError, Unknown. */
  reason?: string;
  message?: string;
  logPath?: string;
  mounts: Mount[];
}

export interface ContainerFilter {
  id?: string;
  podSandboxId?: string;
  state?: ContainerState;
  labelSelector?: Record<string, string>;
}

/** The CRI's RuntimeService verbs (sandbox and container lifecycle), promise-returning. */
export interface RuntimeService {
  RunPodSandbox(config: PodSandboxConfig): Promise<string>;
  StopPodSandbox(podSandboxId: string): Promise<void>;
  RemovePodSandbox(podSandboxId: string): Promise<void>;
  PodSandboxStatus(podSandboxId: string): Promise<PodSandboxStatus>;
  ListPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]>;
  CreateContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig?: PodSandboxConfig): Promise<string>;
  StartContainer(containerId: string): Promise<void>;
  StopContainer(containerId: string, timeoutSeconds: number): Promise<void>;
  RemoveContainer(containerId: string): Promise<void>;
  ContainerStatus(containerId: string): Promise<ContainerStatus>;
  ListContainers(filter?: ContainerFilter): Promise<Container[]>;
}

/** Thrown for unknown sandbox/container ids (the CRI's NotFound). */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}
