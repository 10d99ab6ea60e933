// Book 4.2-4.5: the kubelet's cgroup tree with the cgroupfs driver: kubepods (Guaranteed pods),
// kubepods/burstable and kubepods/besteffort, pod<uid> under its QoS cgroup, containers below the pod.
import { join } from "node:path";
import type { PodQOSClass } from "./qos.js";

/** Naming options: cgroupRoot is kubelet --cgroup-root ("/" by default); kubepods the node-allocatable cgroup. */
export interface CgroupNaming {
  /** Cgroup (relative to each hierarchy's root) that holds kubepods; "" or "/" = the hierarchy root. */
  cgroupRoot?: string;
  /** Name of the cgroup every pod lives under; "kubepods" upstream (tests use a unique one). */
  kubepodsName?: string;
}

export const KUBEPODS = "kubepods";

const SEGMENT = /^[A-Za-z0-9_.:@=+-]+$/;

/** Checks and normalises a cgroup path ("a/b/c", no leading slash); throws on "..", empty parts or odd characters. */
export function normalizeCgroupPath(path: string): string {
  if (typeof path !== "string") throw new TypeError(`cgroup path must be a string, got ${typeof path}`);
  const parts = path.split("/").filter((p) => p !== "");
  for (const p of parts) {
    if (p === "." || p === ".." || !SEGMENT.test(p)) throw new Error(`invalid cgroup path ${JSON.stringify(path)}: bad segment ${JSON.stringify(p)}`);
  }
  return parts.join("/");
}

function segment(name: string, what: string): string {
  if (!SEGMENT.test(name) || name === "." || name === "..") throw new Error(`invalid ${what} ${JSON.stringify(name)} for a cgroup name`);
  return name;
}

/** The node-allocatable cgroup, e.g. "kubepods". */
export function kubepodsPath(naming: CgroupNaming = {}): string {
  const root = normalizeCgroupPath(naming.cgroupRoot ?? "");
  const name = segment(naming.kubepodsName ?? KUBEPODS, "kubepods name");
  return root ? `${root}/${name}` : name;
}

/** The cgroup a QoS class's pods go under: Guaranteed → kubepods, others → kubepods/<class in lower case>. */
export function qosCgroupPath(qos: PodQOSClass, naming: CgroupNaming = {}): string {
  const base = kubepodsPath(naming);
  switch (qos) {
    case "Guaranteed":
      return base;
    case "Burstable":
      return `${base}/burstable`;
    case "BestEffort":
      return `${base}/besteffort`;
    default:
      throw new Error(`unknown QoS class ${JSON.stringify(qos)}`);
  }
}

/** A pod's cgroup: <qos cgroup>/pod<uid> (the cgroupfs driver keeps the uid as it is). */
export function podCgroupPath(uid: string, qos: PodQOSClass, naming: CgroupNaming = {}): string {
  if (!uid) throw new Error("pod uid is required for its cgroup name");
  return `${qosCgroupPath(qos, naming)}/${segment(`pod${uid}`, "pod uid")}`;
}

/** A container's cgroup, directly under its pod's: <pod cgroup>/<containerId>. */
export function containerCgroupPath(podPath: string, containerId: string): string {
  if (!containerId) throw new Error("container id is required for its cgroup name");
  return `${normalizeCgroupPath(podPath)}/${segment(containerId, "container id")}`;
}

/** Where a cgroup path lives on disk under a hierarchy's mount point (v2: the one mount; v1: each controller's). */
export function cgroupDir(mountPoint: string, path: string): string {
  const rel = normalizeCgroupPath(path);
  return rel ? join(mountPoint, rel) : mountPoint;
}
