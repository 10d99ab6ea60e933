// Book 2.3 and 9.3: what the API server fills in on every pod spec (pods and workload templates) —
// restart/DNS policy, scheduler, grace period, pull policy, probe timings, protocols, volume modes.
import type { KubeObject } from "../registry/types.js";
import { ensureObj, isObj, obj, objects, setDefault, setDefaultStr, type JsonObject } from "./json.js";

export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;
export const DEFAULT_SCHEDULER_NAME = "default-scheduler";
/** 0644: the file mode of secret, config map, downward API and projected volume files. */
export const DEFAULT_VOLUME_FILE_MODE = 0o644;

/**
 * The tag an image reference names: "" when it pins a digest without a tag, "latest" when it
 * names neither. `nginx` → latest, `nginx:1.27` → 1.27, `host:5000/app` → latest.
 */
export function imageTag(image: string): string {
  const at = image.indexOf("@");
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const slash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.lastIndexOf(":");
  if (colon > slash) return withoutDigest.slice(colon + 1);
  return at >= 0 ? "" : "latest";
}

/** Always for `:latest` (or no tag), IfNotPresent for anything pinned. */
export function defaultPullPolicy(image: unknown): "Always" | "IfNotPresent" {
  if (typeof image !== "string" || image.trim() === "") return "IfNotPresent";
  return imageTag(image) === "latest" ? "Always" : "IfNotPresent";
}

function defaultHTTPGet(action: unknown): void {
  if (!isObj(action)) return;
  setDefaultStr(action, "path", "/");
  setDefaultStr(action, "scheme", "HTTP");
}

function defaultProbe(probe: unknown): void {
  if (!isObj(probe)) return;
  for (const [key, value] of [
    ["timeoutSeconds", 1],
    ["periodSeconds", 10],
    ["successThreshold", 1],
    ["failureThreshold", 3],
  ] as const) {
    if (probe[key] === undefined || probe[key] === null || probe[key] === 0) probe[key] = value;
  }
  defaultHTTPGet(probe.httpGet);
}

function defaultFieldRef(ref: unknown): void {
  if (isObj(ref)) setDefaultStr(ref, "apiVersion", "v1");
}

function defaultContainer(c: JsonObject, hostNetwork: boolean): void {
  setDefaultStr(c, "imagePullPolicy", defaultPullPolicy(c.image));
  setDefaultStr(c, "terminationMessagePath", "/dev/termination-log");
  setDefaultStr(c, "terminationMessagePolicy", "File");
  for (const [port] of objects(c.ports)) {
    setDefaultStr(port, "protocol", "TCP");
    // On the host's network a container port is a host port.
    if (hostNetwork && (port.hostPort === undefined || port.hostPort === null || port.hostPort === 0)) port.hostPort = port.containerPort;
  }
  for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) defaultProbe(c[probe]);
  const lifecycle = obj(c.lifecycle);
  if (lifecycle) for (const hook of ["postStart", "preStop"]) defaultHTTPGet(obj(lifecycle[hook])?.httpGet);
  for (const [env] of objects(c.env)) defaultFieldRef(obj(env.valueFrom)?.fieldRef);
}

const VOLUME_SOURCES = [
  "hostPath",
  "emptyDir",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "gitRepo",
  "secret",
  "nfs",
  "iscsi",
  "glusterfs",
  "persistentVolumeClaim",
  "rbd",
  "flexVolume",
  "cinder",
  "cephfs",
  "flocker",
  "downwardAPI",
  "fc",
  "azureFile",
  "configMap",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "photonPersistentDisk",
  "projected",
  "portworxVolume",
  "scaleIO",
  "storageos",
  "csi",
  "ephemeral",
  "image",
] as const;

/** The volume source keys a pod volume may carry (exactly one of them). */
export const POD_VOLUME_SOURCES: readonly string[] = VOLUME_SOURCES;

function defaultVolume(v: JsonObject): void {
  if (!VOLUME_SOURCES.some((k) => v[k] !== undefined && v[k] !== null)) v.emptyDir = {};
  const hostPath = obj(v.hostPath);
  if (hostPath) setDefault(hostPath, "type", "");
  for (const key of ["secret", "configMap", "downwardAPI", "projected"]) {
    const src = obj(v[key]);
    if (src) setDefault(src, "defaultMode", DEFAULT_VOLUME_FILE_MODE);
  }
  for (const [item] of objects(obj(v.downwardAPI)?.items)) defaultFieldRef(item.fieldRef);
  for (const [source] of objects(obj(v.projected)?.sources)) {
    const token = obj(source.serviceAccountToken);
    if (token) setDefault(token, "expirationSeconds", 3600);
    for (const [item] of objects(obj(source.downwardAPI)?.items)) defaultFieldRef(item.fieldRef);
  }
}

/** Defaults for any PodSpec, including templates (mutates `spec`). */
export function defaultPodSpec(spec: JsonObject): void {
  setDefaultStr(spec, "dnsPolicy", "ClusterFirst");
  setDefaultStr(spec, "restartPolicy", "Always");
  setDefaultStr(spec, "schedulerName", DEFAULT_SCHEDULER_NAME);
  setDefault(spec, "terminationGracePeriodSeconds", DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS);
  if (!isObj(spec.securityContext)) spec.securityContext = {};
  // serviceAccount is the old name of serviceAccountName: the two are kept equal.
  if ((spec.serviceAccountName === undefined || spec.serviceAccountName === "") && typeof spec.serviceAccount === "string" && spec.serviceAccount !== "") {
    spec.serviceAccountName = spec.serviceAccount;
  }
  if (typeof spec.serviceAccountName === "string" && spec.serviceAccountName !== "") spec.serviceAccount = spec.serviceAccountName;
  const hostNetwork = spec.hostNetwork === true;
  for (const list of ["initContainers", "containers", "ephemeralContainers"]) {
    for (const [c] of objects(spec[list])) defaultContainer(c, hostNetwork);
  }
  for (const [v] of objects(spec.volumes)) defaultVolume(v);
}

/** Defaults for a PodTemplateSpec (`spec.template` of workloads); creates the spec if missing. */
export function defaultPodTemplate(template: unknown): void {
  if (!isObj(template)) return;
  defaultPodSpec(ensureObj(template, "spec"));
}

/** Requests a container leaves out default to its limits (a pod-only rule; templates keep theirs). */
function defaultRequestsFromLimits(c: JsonObject): void {
  const resources = obj(c.resources);
  const limits = obj(resources?.limits);
  if (!resources || !limits || Object.keys(limits).length === 0) return;
  const requests = ensureObj(resources, "requests");
  for (const [name, qty] of Object.entries(limits)) setDefault(requests, name, qty);
}

/**
 * podIP is the first of podIPs (and hostIP of hostIPs): whichever a client (the kubelet) writes,
 * both are filled in.
 */
export function syncPodIPs(pod: KubeObject): void {
  const status = obj(pod.status);
  if (!status) return;
  for (const [single, list] of [
    ["podIP", "podIPs"],
    ["hostIP", "hostIPs"],
  ] as const) {
    const first = objects(status[list])[0]?.[0];
    if (first && typeof first.ip === "string") status[single] = first.ip;
    else if (typeof status[single] === "string" && status[single] !== "") status[list] = [{ ip: status[single] }];
  }
}

/** Defaults for a Pod object: the PodSpec rules plus service links and requests from limits. */
export function defaultPod(pod: KubeObject): void {
  const spec = ensureObj(pod as JsonObject, "spec");
  defaultPodSpec(spec);
  setDefault(spec, "enableServiceLinks", true);
  for (const list of ["initContainers", "containers"]) for (const [c] of objects(spec[list])) defaultRequestsFromLimits(c);
  syncPodIPs(pod);
}
