// Book 14.3 (service accounts) and 11.2 (admission): the ServiceAccount admission plugin — every new
// pod runs as a ServiceAccount ("default" unless named) and gets a projected volume with a bound
// token, the cluster CA and its namespace, mounted in each container where the client libraries look.
import { randomInt } from "node:crypto";
import { forbidden } from "@corekube/api";
import type { AdmissionPlugin } from "../registry/admission.js";
import type { KubeObject } from "../registry/types.js";
import { SERVICE_ACCOUNT_MOUNT_PATH } from "../auth/serviceaccount.js";

export const DEFAULT_SERVICE_ACCOUNT = "default";
/** Token volumes are named kube-api-access-<5 random characters>. */
export const TOKEN_VOLUME_PREFIX = "kube-api-access-";
/** The ConfigMap (kept in each namespace by the root-CA publisher) whose ca.crt the volume carries. */
export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";
/** An hour and seven seconds: the odd value marks tokens the kubelet asked for on a pod's behalf. */
export const TOKEN_VOLUME_EXPIRATION_SECONDS = 3607;
const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";
/** The characters of generated names: no vowels, no look-alikes (as Kubernetes' rand.String). */
const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

export interface ServiceAccountLookup {
  /** The ServiceAccount, or undefined when it does not exist. */
  get(namespace: string, name: string): Promise<KubeObject | undefined>;
}

export interface ServiceAccountAdmissionOptions {
  /** Random suffix of the volume name (tests pass a fixed one). */
  suffix?: () => string;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);

function randomSuffix(): string {
  let s = "";
  for (let i = 0; i < 5; i++) s += NAME_ALPHABET[randomInt(NAME_ALPHABET.length)];
  return s;
}

/** The projected volume the plugin adds: a bound token, the cluster CA and the pod's namespace. */
export function tokenVolume(name: string): Json {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: TOKEN_VOLUME_EXPIRATION_SECONDS, path: "token" } },
        { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: "ca.crt", path: "ca.crt" }] } },
        { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
      ],
    },
  };
}

/**
 * Mounts the token volume read-only at /var/run/secrets/kubernetes.io/serviceaccount in every
 * init container and container that mounts nothing there, adding the volume when one needed it.
 * A volume already named kube-api-access-* is reused.
 */
export function mountServiceAccountToken(spec: Json, suffix: () => string = randomSuffix): void {
  const volumes = Array.isArray(spec.volumes) ? (spec.volumes as unknown[]) : [];
  const existing = volumes.find((v) => isObj(v) && typeof v.name === "string" && v.name.startsWith(TOKEN_VOLUME_PREFIX)) as Json | undefined;
  const names = new Set(volumes.filter(isObj).map((v) => v.name));
  let volumeName = existing ? String(existing.name) : "";
  while (volumeName === "" || (!existing && names.has(volumeName))) volumeName = `${TOKEN_VOLUME_PREFIX}${suffix()}`;
  let needed = false;
  for (const list of ["initContainers", "containers"]) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    for (const c of containers) {
      if (!isObj(c)) continue;
      const mounts = Array.isArray(c.volumeMounts) ? (c.volumeMounts as unknown[]) : undefined;
      if (mounts?.some((m) => isObj(m) && m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH)) continue;
      const mount = { name: volumeName, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH };
      if (mounts) mounts.push(mount);
      else if (c.volumeMounts === undefined || c.volumeMounts === null) c.volumeMounts = [mount];
      else continue; // not a list: validation will say so
      needed = true;
    }
  }
  if (needed && !existing) {
    if (spec.volumes === undefined || spec.volumes === null) spec.volumes = [];
    if (Array.isArray(spec.volumes)) spec.volumes.push(tokenVolume(volumeName));
  }
}

/**
 * On pod CREATE: defaults spec.serviceAccountName (and its old alias serviceAccount) to
 * "default"; refuses a pod whose named ServiceAccount does not exist (403, as kube-apiserver);
 * then, unless the pod or its ServiceAccount sets automountServiceAccountToken: false (the pod's
 * word wins), adds the token volume and its mounts. A missing "default" ServiceAccount is let
 * through — the controller-manager makes it just after the namespace, and pods created in that
 * window should not fail; the kubelet simply cannot fetch a token until it exists. Mirror pods
 * (static pods a kubelet reports) are left alone.
 */
export function serviceAccountAdmission(lookup: ServiceAccountLookup, o: ServiceAccountAdmissionOptions = {}): AdmissionPlugin {
  return {
    name: "ServiceAccount",
    async mutate(req) {
      if (req.operation !== "CREATE" || req.subresource !== "" || req.def.group !== "" || req.def.resource !== "pods" || !req.obj) return;
      const pod = req.obj;
      if (pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) return;
      if (!isObj(pod.spec)) return; // validation reports it
      const spec = pod.spec;
      let saName = typeof spec.serviceAccountName === "string" ? spec.serviceAccountName : "";
      if (saName === "") saName = DEFAULT_SERVICE_ACCOUNT;
      spec.serviceAccountName = saName;
      spec.serviceAccount = saName;
      const namespace = req.namespace || pod.metadata.namespace || "";
      const sa = await lookup.get(namespace, saName);
      if (!sa && saName !== DEFAULT_SERVICE_ACCOUNT)
        throw forbidden("pods", req.name, `error looking up service account ${namespace}/${saName}: serviceaccount "${saName}" not found`);
      const podSays = spec.automountServiceAccountToken;
      const saSays = sa?.automountServiceAccountToken;
      const automount = typeof podSays === "boolean" ? podSays : typeof saSays === "boolean" ? saSays : true;
      if (automount) mountServiceAccountToken(spec, o.suffix);
    },
  };
}
