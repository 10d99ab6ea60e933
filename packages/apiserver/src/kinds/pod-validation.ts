// Book 2.2 and 3.3: what makes a pod spec acceptable (named containers with images, valid ports,
// probes, env, mounts of real volumes, sane resources) and what an update may still change.
import { field, type FieldError } from "@corekube/api";
import type { KubeObject } from "../registry/types.js";
import { arr, clone, get, isObj, num, obj, objects, s, semanticEqual, str, type JsonObject } from "./json.js";
import { isDNS1123Label, isValidLabelValue, validateAnnotations, validateLabels } from "./meta.js";
import { POD_VOLUME_SOURCES } from "./pod-defaults.js";
import {
  isConfigMapKey,
  isEnvVarName,
  isValidPortName,
  isValidPortNum,
  nonNegative,
  oneOf,
  quantityOf,
  validatePortNumOrName,
  validateIP,
  validateQuantity,
  validateQualifiedName,
  validateSubdomain,
} from "./validation.js";

export const RESTART_POLICIES = ["Always", "OnFailure", "Never"];
export const DNS_POLICIES = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];
export const PULL_POLICIES = ["Always", "IfNotPresent", "Never"];
export const PROTOCOLS = ["SCTP", "TCP", "UDP"];
export const TAINT_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"];
const MAX_INT32 = 2147483647;

export interface PodSpecOptions {
  /** Volume names provided outside spec.volumes (a StatefulSet's volumeClaimTemplates). */
  extraVolumes?: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Volumes.

function validateVolumeSource(v: JsonObject, p: string): FieldError[] {
  const errs: FieldError[] = [];
  const present = POD_VOLUME_SOURCES.filter((k) => v[k] !== undefined && v[k] !== null);
  if (present.length === 0) errs.push(field.required(p, "must specify a volume type"));
  if (present.length > 1) errs.push(field.forbidden(`${p}.${present[1]}`, "may not specify more than 1 volume type"));
  const hostPath = obj(v.hostPath);
  if (hostPath) {
    if (s(hostPath.path) === "") errs.push(field.required(`${p}.hostPath.path`, ""));
    const types = ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"];
    if (hostPath.type !== undefined && !types.includes(s(hostPath.type))) errs.push(field.notSupported(`${p}.hostPath.type`, hostPath.type, types.slice(1)));
  }
  const emptyDir = obj(v.emptyDir);
  if (emptyDir) {
    errs.push(...oneOf(emptyDir.medium, ["", "Memory", "HugePages"], `${p}.emptyDir.medium`, false));
    if (emptyDir.sizeLimit !== undefined) errs.push(...validateQuantity(emptyDir.sizeLimit, `${p}.emptyDir.sizeLimit`));
  }
  const secret = obj(v.secret);
  if (secret && s(secret.secretName) === "") errs.push(field.required(`${p}.secret.secretName`, ""));
  const configMap = obj(v.configMap);
  if (configMap && s(configMap.name) === "") errs.push(field.required(`${p}.configMap.name`, ""));
  const pvc = obj(v.persistentVolumeClaim);
  if (pvc && s(pvc.claimName) === "") errs.push(field.required(`${p}.persistentVolumeClaim.claimName`, ""));
  const nfs = obj(v.nfs);
  if (nfs) {
    if (s(nfs.server) === "") errs.push(field.required(`${p}.nfs.server`, ""));
    if (s(nfs.path) === "") errs.push(field.required(`${p}.nfs.path`, ""));
    else if (!s(nfs.path).startsWith("/")) errs.push(field.invalid(`${p}.nfs.path`, nfs.path, "must be an absolute path"));
  }
  for (const [key, items] of [
    ["secret", secret?.items],
    ["configMap", configMap?.items],
  ] as const) {
    objects(items).forEach(([item, i]) => {
      const ip = `${p}.${key}.items[${i}]`;
      if (s(item.key) === "") errs.push(field.required(`${ip}.key`, ""));
      errs.push(...validateLocalPath(item.path, `${ip}.path`));
    });
  }
  return errs;
}

/** A file path inside a volume: relative, without "..", not empty. */
function validateLocalPath(path: unknown, p: string): FieldError[] {
  const text = s(path);
  if (text === "") return [field.required(p, "")];
  if (text.startsWith("/")) return [field.invalid(p, text, "must be a relative path")];
  if (text.split("/").includes("..")) return [field.invalid(p, text, "must not contain '..'")];
  return [];
}

function validateVolumes(volumes: unknown, path: string): { errs: FieldError[]; names: Set<string> } {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  arr(volumes).forEach((v, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(v)) {
      errs.push(field.typeInvalid(p, v, "must be an object"));
      return;
    }
    const name = s(v.name);
    if (name === "") errs.push(field.required(`${p}.name`, ""));
    else {
      for (const msg of isDNS1123Label(name)) errs.push(field.invalid(`${p}.name`, name, msg));
      if (names.has(name)) errs.push(field.duplicate(`${p}.name`, name));
      names.add(name);
    }
    errs.push(...validateVolumeSource(v, p));
  });
  return { errs, names };
}

// ---------------------------------------------------------------------------------------------
// Containers.

const CONTAINER_RESOURCES = new Set(["cpu", "memory", "ephemeral-storage"]);

function isContainerResourceName(name: string): boolean {
  if (CONTAINER_RESOURCES.has(name) || name.startsWith("hugepages-")) return true;
  // Extended resources (example.com/gpu) are qualified names outside kubernetes.io.
  return name.includes("/") && !name.startsWith("kubernetes.io/") && !name.startsWith("requests.");
}

/** A container's `resources`: known names, non-negative quantities, requests no higher than limits. */
export function validateResourceRequirements(resources: unknown, p: string): FieldError[] {
  const res = obj(resources);
  if (!res) return [];
  const errs: FieldError[] = [];
  for (const kind of ["limits", "requests"]) {
    for (const [name, qty] of Object.entries(obj(res[kind]) ?? {})) {
      const key = `${p}.${kind}[${name}]`;
      if (!isContainerResourceName(name)) {
        errs.push(field.invalid(key, name, "must be a standard resource for containers"));
        continue;
      }
      errs.push(...validateQuantity(qty, key));
    }
  }
  const limits = obj(res.limits) ?? {};
  for (const [name, raw] of Object.entries(obj(res.requests) ?? {})) {
    const req = quantityOf(raw);
    const lim = quantityOf(limits[name]);
    if (!req || !lim || limits[name] === undefined) continue;
    if (req.cmp(lim) > 0) {
      errs.push(field.invalid(`${p}.requests[${name}]`, req.toString(), `must be less than or equal to ${name} limit of ${lim.toString()}`));
    }
  }
  return errs;
}

const HANDLERS = ["exec", "httpGet", "tcpSocket", "grpc"];

function validateHandler(h: JsonObject, p: string): FieldError[] {
  const errs: FieldError[] = [];
  const present = HANDLERS.filter((k) => h[k] !== undefined && h[k] !== null);
  if (present.length === 0) errs.push(field.required(p, "must specify a handler type"));
  if (present.length > 1) errs.push(field.forbidden(`${p}.${present[1]}`, "may not specify more than 1 handler type"));
  const httpGet = obj(h.httpGet);
  if (httpGet) {
    errs.push(...validatePortNumOrName(httpGet.port, `${p}.httpGet.port`));
    errs.push(...oneOf(httpGet.scheme, ["HTTP", "HTTPS"], `${p}.httpGet.scheme`));
  }
  const tcp = obj(h.tcpSocket);
  if (tcp) errs.push(...validatePortNumOrName(tcp.port, `${p}.tcpSocket.port`));
  const grpc = obj(h.grpc);
  if (grpc) {
    const port = grpc.port;
    if (typeof port !== "number") errs.push(field.required(`${p}.grpc.port`, ""));
    else for (const msg of isValidPortNum(port)) errs.push(field.invalid(`${p}.grpc.port`, port, msg));
  }
  const exec = obj(h.exec);
  if (exec && arr(exec.command).length === 0) errs.push(field.required(`${p}.exec.command`, ""));
  return errs;
}

function validateProbe(probe: unknown, p: string, mustSucceedOnce: boolean): FieldError[] {
  if (!isObj(probe)) return [];
  const errs = validateHandler(probe, p);
  for (const k of ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"]) {
    errs.push(...nonNegative(probe[k], `${p}.${k}`));
  }
  if (mustSucceedOnce && probe.successThreshold !== undefined && probe.successThreshold !== 1) {
    errs.push(field.invalid(`${p}.successThreshold`, probe.successThreshold, "must be 1"));
  }
  return errs;
}

const FIELD_REF_PATHS = [
  "metadata.name",
  "metadata.namespace",
  "metadata.uid",
  "spec.nodeName",
  "spec.serviceAccountName",
  "status.hostIP",
  "status.hostIPs",
  "status.podIP",
  "status.podIPs",
];

function validateFieldRef(ref: JsonObject, p: string): FieldError[] {
  const fp = s(ref.fieldPath);
  if (fp === "") return [field.required(`${p}.fieldPath`, "")];
  if (/^metadata\.(labels|annotations)\['[^']+'\]$/.test(fp) || fp === "metadata.labels" || fp === "metadata.annotations") return [];
  if (FIELD_REF_PATHS.includes(fp)) return [];
  return [field.notSupported(`${p}.fieldPath`, fp, [...FIELD_REF_PATHS, "metadata.labels", "metadata.annotations"])];
}

function validateEnv(env: unknown, p: string): FieldError[] {
  const errs: FieldError[] = [];
  arr(env).forEach((e, i) => {
    const ep = `${p}[${i}]`;
    if (!isObj(e)) {
      errs.push(field.typeInvalid(ep, e, "must be an object"));
      return;
    }
    const name = s(e.name);
    if (name === "") errs.push(field.required(`${ep}.name`, ""));
    else for (const msg of isEnvVarName(name)) errs.push(field.invalid(`${ep}.name`, name, msg));
    const from = obj(e.valueFrom);
    if (!from) return;
    const sources = ["fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef", "fileKeyRef"].filter((k) => isObj(from[k]));
    if (sources.length === 0) {
      errs.push(field.invalid(`${ep}.valueFrom`, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
    } else if (sources.length > 1) {
      errs.push(field.invalid(`${ep}.valueFrom`, "", "may not have more than one field specified at a time"));
    }
    if (s(e.value) !== "") errs.push(field.invalid(`${ep}.valueFrom`, "", "may not be specified when `value` is not empty"));
    const fieldRef = obj(from.fieldRef);
    if (fieldRef) errs.push(...validateFieldRef(fieldRef, `${ep}.valueFrom.fieldRef`));
    for (const k of ["configMapKeyRef", "secretKeyRef"]) {
      const ref = obj(from[k]);
      if (!ref) continue;
      const key = s(ref.key);
      if (key === "") errs.push(field.required(`${ep}.valueFrom.${k}.key`, ""));
      else for (const msg of isConfigMapKey(key)) errs.push(field.invalid(`${ep}.valueFrom.${k}.key`, key, msg));
    }
    const resourceRef = obj(from.resourceFieldRef);
    if (resourceRef && s(resourceRef.resource) === "") errs.push(field.required(`${ep}.valueFrom.resourceFieldRef.resource`, ""));
  });
  return errs;
}

function validateEnvFrom(envFrom: unknown, p: string): FieldError[] {
  const errs: FieldError[] = [];
  objects(envFrom).forEach(([e, i]) => {
    const ep = `${p}[${i}]`;
    const count = ["configMapRef", "secretRef"].filter((k) => isObj(e[k])).length;
    if (count === 0) errs.push(field.invalid(ep, "", "must specify one of: `configMapRef` or `secretRef`"));
    if (count > 1) errs.push(field.invalid(ep, "", "may not have more than one field specified at a time"));
    if (s(e.prefix) !== "") for (const msg of isEnvVarName(s(e.prefix))) errs.push(field.invalid(`${ep}.prefix`, e.prefix, msg));
  });
  return errs;
}

function validateMounts(mounts: unknown, p: string, volumes: ReadonlySet<string>): FieldError[] {
  const errs: FieldError[] = [];
  const paths = new Set<string>();
  arr(mounts).forEach((m, i) => {
    const mp = `${p}[${i}]`;
    if (!isObj(m)) {
      errs.push(field.typeInvalid(mp, m, "must be an object"));
      return;
    }
    const name = s(m.name);
    if (name === "") errs.push(field.required(`${mp}.name`, ""));
    else if (!volumes.has(name)) errs.push(field.notFound(`${mp}.name`, name));
    const mountPath = s(m.mountPath);
    if (mountPath === "") errs.push(field.required(`${mp}.mountPath`, ""));
    else if (paths.has(mountPath)) errs.push(field.invalid(`${mp}.mountPath`, mountPath, "must be unique"));
    paths.add(mountPath);
    const subPath = s(m.subPath);
    if (subPath !== "") {
      if (subPath.startsWith("/")) errs.push(field.invalid(`${mp}.subPath`, subPath, "must be a relative path"));
      else if (subPath.split("/").includes("..")) errs.push(field.invalid(`${mp}.subPath`, subPath, "must not contain '..'"));
    }
    errs.push(...oneOf(m.mountPropagation, ["None", "HostToContainer", "Bidirectional"], `${mp}.mountPropagation`, false));
  });
  return errs;
}

function validatePorts(ports: unknown, p: string, hostNetwork: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  arr(ports).forEach((port, i) => {
    const pp = `${p}[${i}]`;
    if (!isObj(port)) {
      errs.push(field.typeInvalid(pp, port, "must be an object"));
      return;
    }
    const name = s(port.name);
    if (name !== "") {
      for (const msg of isValidPortName(name)) errs.push(field.invalid(`${pp}.name`, name, msg));
      if (names.has(name)) errs.push(field.duplicate(`${pp}.name`, name));
      names.add(name);
    }
    const containerPort = port.containerPort;
    if (containerPort === undefined || containerPort === null || containerPort === 0) errs.push(field.required(`${pp}.containerPort`, ""));
    else if (typeof containerPort !== "number") errs.push(field.typeInvalid(`${pp}.containerPort`, containerPort, "must be an integer"));
    else for (const msg of isValidPortNum(containerPort)) errs.push(field.invalid(`${pp}.containerPort`, containerPort, msg));
    const hostPort = port.hostPort;
    if (typeof hostPort === "number" && hostPort !== 0) {
      for (const msg of isValidPortNum(hostPort)) errs.push(field.invalid(`${pp}.hostPort`, hostPort, msg));
      if (hostNetwork && hostPort !== containerPort) {
        errs.push(field.invalid(`${pp}.containerPort`, containerPort, "must match `hostPort` when `hostNetwork` is true"));
      }
    }
    errs.push(...oneOf(port.protocol, PROTOCOLS, `${pp}.protocol`));
    if (port.hostIP !== undefined && port.hostIP !== null && port.hostIP !== "") errs.push(...validateIP(port.hostIP, `${pp}.hostIP`));
  });
  return errs;
}

type ContainerKind = "container" | "init" | "ephemeral";

function validateContainer(
  c: JsonObject,
  cp: string,
  kind: ContainerKind,
  volumes: ReadonlySet<string>,
  names: Set<string>,
  hostNetwork: boolean,
): FieldError[] {
  const errs: FieldError[] = [];
  const name = s(c.name);
  if (name === "") errs.push(field.required(`${cp}.name`, ""));
  else {
    for (const msg of isDNS1123Label(name)) errs.push(field.invalid(`${cp}.name`, name, msg));
    if (names.has(name)) errs.push(field.duplicate(`${cp}.name`, name));
    names.add(name);
  }
  const image = str(c.image);
  if (image === undefined || image === "") errs.push(field.required(`${cp}.image`, ""));
  else if (image.trim() !== image) errs.push(field.invalid(`${cp}.image`, image, "must not have leading or trailing whitespace"));
  errs.push(...oneOf(c.imagePullPolicy, PULL_POLICIES, `${cp}.imagePullPolicy`));
  errs.push(...oneOf(c.terminationMessagePolicy, ["File", "FallbackToLogsOnError"], `${cp}.terminationMessagePolicy`));
  const sidecar = kind === "init" && c.restartPolicy === "Always";
  if (c.restartPolicy !== undefined && c.restartPolicy !== null && c.restartPolicy !== "") {
    if (kind === "init") errs.push(...oneOf(c.restartPolicy, ["Always"], `${cp}.restartPolicy`));
    else errs.push(field.forbidden(`${cp}.restartPolicy`, "may not be set for non-init containers"));
  }
  if (kind === "ephemeral") {
    for (const k of ["ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "resources"]) {
      const v = c[k];
      if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) errs.push(field.forbidden(`${cp}.${k}`, "cannot be set for an Ephemeral Container"));
    }
  } else {
    errs.push(...validatePorts(c.ports, `${cp}.ports`, hostNetwork));
    for (const [probe, once] of [
      ["livenessProbe", true],
      ["readinessProbe", false],
      ["startupProbe", true],
    ] as const) {
      if (c[probe] === undefined || c[probe] === null) continue;
      if (kind === "init" && !sidecar) {
        errs.push(field.forbidden(`${cp}.${probe}`, "may not be set for init containers without restartPolicy=Always"));
        continue;
      }
      errs.push(...validateProbe(c[probe], `${cp}.${probe}`, once));
    }
    const lifecycle = obj(c.lifecycle);
    if (lifecycle) {
      if (kind === "init" && !sidecar) errs.push(field.forbidden(`${cp}.lifecycle`, "may not be set for init containers without restartPolicy=Always"));
      else
        for (const hook of ["postStart", "preStop"]) {
          const h = obj(lifecycle[hook]);
          if (h && !isObj(h.sleep)) errs.push(...validateHandler(h, `${cp}.lifecycle.${hook}`));
        }
    }
    errs.push(...validateResourceRequirements(c.resources, `${cp}.resources`));
  }
  errs.push(...validateEnv(c.env, `${cp}.env`));
  errs.push(...validateEnvFrom(c.envFrom, `${cp}.envFrom`));
  errs.push(...validateMounts(c.volumeMounts, `${cp}.volumeMounts`, volumes));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Tolerations.

export function validateTolerations(tolerations: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  arr(tolerations).forEach((t, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(t)) {
      errs.push(field.typeInvalid(p, t, "must be an object"));
      return;
    }
    const key = s(t.key);
    if (key !== "") errs.push(...validateQualifiedName(key, `${p}.key`));
    const op = s(t.operator);
    if (key === "" && op !== "Exists") {
      errs.push(field.invalid(`${p}.operator`, op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null && t.effect !== "NoExecute") {
      errs.push(field.invalid(`${p}.effect`, s(t.effect), "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    if (op === "" || op === "Equal") {
      const msgs = isValidLabelValue(s(t.value));
      if (msgs.length > 0) errs.push(field.invalid(`${p}.operator`, s(t.value), msgs.join(";")));
    } else if (op === "Exists") {
      if (s(t.value) !== "") errs.push(field.invalid(`${p}.operator`, t, "value must be empty when `operator` is 'Exists'"));
    } else {
      errs.push(field.notSupported(`${p}.operator`, op, ["Equal", "Exists"]));
    }
    if (s(t.effect) !== "") errs.push(...oneOf(t.effect, TAINT_EFFECTS, `${p}.effect`));
  });
  return errs;
}

// ---------------------------------------------------------------------------------------------
// The whole spec.

/** Every rule for a PodSpec at `path` ("spec" for pods, "spec.template.spec" for workloads). */
export function validatePodSpec(spec: unknown, path: string, opts: PodSpecOptions = {}): FieldError[] {
  if (!isObj(spec)) return [field.required(`${path}.containers`, "")];
  const errs: FieldError[] = [];
  const { errs: volErrs, names: volumes } = validateVolumes(spec.volumes, `${path}.volumes`);
  errs.push(...volErrs);
  for (const extra of opts.extraVolumes ?? []) volumes.add(extra);
  const hostNetwork = spec.hostNetwork === true;
  const names = new Set<string>();
  objects(spec.initContainers).forEach(([c, i]) => errs.push(...validateContainer(c, `${path}.initContainers[${i}]`, "init", volumes, names, hostNetwork)));
  if (arr(spec.containers).length === 0) errs.push(field.required(`${path}.containers`, ""));
  objects(spec.containers).forEach(([c, i]) => errs.push(...validateContainer(c, `${path}.containers[${i}]`, "container", volumes, names, hostNetwork)));
  objects(spec.ephemeralContainers).forEach(([c, i]) =>
    errs.push(...validateContainer(c, `${path}.ephemeralContainers[${i}]`, "ephemeral", volumes, names, hostNetwork)),
  );
  errs.push(...oneOf(spec.restartPolicy, RESTART_POLICIES, `${path}.restartPolicy`));
  errs.push(...oneOf(spec.dnsPolicy, DNS_POLICIES, `${path}.dnsPolicy`));
  if (spec.dnsPolicy === "None" && !isObj(spec.dnsConfig)) {
    errs.push(field.required(`${path}.dnsConfig`, "must provide `dnsConfig` when `dnsPolicy` is None"));
  }
  errs.push(...validateLabels(spec.nodeSelector, `${path}.nodeSelector`));
  for (const k of ["serviceAccountName", "nodeName", "priorityClassName", "schedulerName"]) {
    if (typeof spec[k] === "string" && spec[k] !== "") errs.push(...validateSubdomain(spec[k], `${path}.${k}`));
  }
  for (const k of ["hostname", "subdomain"]) {
    const v = s(spec[k]);
    if (v !== "") for (const msg of isDNS1123Label(v)) errs.push(field.invalid(`${path}.${k}`, v, msg));
  }
  const deadline = spec.activeDeadlineSeconds;
  if (deadline !== undefined && deadline !== null && (typeof deadline !== "number" || !Number.isInteger(deadline) || deadline < 1 || deadline > MAX_INT32)) {
    errs.push(field.invalid(`${path}.activeDeadlineSeconds`, deadline, `must be between 1 and ${MAX_INT32}, inclusive`));
  }
  errs.push(...validateTolerations(spec.tolerations, `${path}.tolerations`));
  objects(spec.imagePullSecrets).forEach(([ref, i]) => {
    if (s(ref.name) === "") errs.push(field.required(`${path}.imagePullSecrets[${i}].name`, ""));
  });
  return errs;
}

/** A PodTemplateSpec (`spec.template` of workloads): its labels, annotations and spec. */
export function validatePodTemplate(template: unknown, path: string, opts: PodSpecOptions = {}): FieldError[] {
  if (!isObj(template)) return [field.required(path, "")];
  const errs: FieldError[] = [];
  errs.push(...validateLabels(get(template, "metadata", "labels"), `${path}.metadata.labels`));
  errs.push(...validateAnnotations(get(template, "metadata", "annotations"), `${path}.metadata.annotations`));
  errs.push(...validatePodSpec(template.spec, `${path}.spec`, opts));
  if (arr(get(template, "spec", "ephemeralContainers")).length > 0) {
    errs.push(field.forbidden(`${path}.spec.ephemeralContainers`, "ephemeral containers not allowed in pod template"));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Updates.

const UPDATABLE =
  "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

function onlyAddedTolerations(next: unknown, old: unknown, path: string): FieldError[] {
  const nextList = objects(next).map(([t]) => t);
  for (const [o] of objects(old)) {
    const found = nextList.some((n) => semanticEqual({ ...o, tolerationSeconds: n.tolerationSeconds }, n));
    if (!found) return [field.forbidden(path, "existing toleration can not be modified except its tolerationSeconds")];
  }
  return [];
}

function deadlineUpdate(next: unknown, old: unknown, path: string): FieldError[] {
  if (typeof next === "number") {
    if (typeof old === "number" && old < next) return [field.invalid(path, next, "must be less than or equal to previous value")];
    return [];
  }
  if (typeof old === "number") return [field.invalid(path, next ?? null, "must not update from a positive integer to nil value")];
  return [];
}

/** The dotted paths under `a`/`b` whose values differ (for the update-refused message). */
function diffPaths(a: unknown, b: unknown, path: string, out: string[]): void {
  if (out.length >= 10 || semanticEqual(a, b)) return;
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diffPaths(a[k], b[k], `${path}.${k}`, out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((v, i) => diffPaths(v, b[i], `${path}[${i}]`, out));
    return;
  }
  out.push(path);
}

/** Which changes an update may make to a pod's spec (its metadata and status follow other rules). */
export function validatePodUpdate(pod: KubeObject, old: KubeObject): FieldError[] {
  const next = obj(pod.spec) ?? {};
  const prev = obj(old.spec) ?? {};
  const errs: FieldError[] = [];
  errs.push(...deadlineUpdate(next.activeDeadlineSeconds, prev.activeDeadlineSeconds, "spec.activeDeadlineSeconds"));
  const tolErrs = onlyAddedTolerations(next.tolerations, prev.tolerations, "spec.tolerations");
  errs.push(...tolErrs);

  // Put the old value back into every field an update may change; what still differs is refused.
  const munged = clone(next);
  for (const list of ["containers", "initContainers"]) {
    const oldList = arr(prev[list]);
    objects(munged[list]).forEach(([c, i]) => {
      const o = obj(oldList[i]);
      if (o) c.image = o.image;
    });
  }
  munged.activeDeadlineSeconds = prev.activeDeadlineSeconds;
  munged.tolerations = prev.tolerations;
  // Scheduling gates may only be removed (the pod then becomes schedulable), never added.
  const oldGates = new Set(objects(prev.schedulingGates).map(([g]) => s(g.name)));
  for (const [g] of objects(next.schedulingGates)) {
    if (!oldGates.has(s(g.name))) errs.push(field.forbidden("spec.schedulingGates", `only deletion is allowed, but found new scheduling gate '${s(g.name)}'`));
  }
  munged.schedulingGates = prev.schedulingGates;
  const oldGrace = num(prev.terminationGracePeriodSeconds);
  if (oldGrace !== undefined && oldGrace < 0 && next.terminationGracePeriodSeconds === 1) munged.terminationGracePeriodSeconds = oldGrace;
  if (!semanticEqual(munged, prev)) {
    const changed: string[] = [];
    diffPaths(munged, prev, "spec", changed);
    errs.push(field.forbidden("spec", `pod updates may not change fields other than ${UPDATABLE}\n  changed: ${changed.join(", ")}`));
  }
  return errs;
}

const PHASES = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

/** A status write (kubelet, scheduler): a known phase and well-formed addresses. */
export function validatePodStatus(pod: KubeObject, old: KubeObject): FieldError[] {
  const status = obj(pod.status) ?? {};
  const errs: FieldError[] = [];
  errs.push(...oneOf(status.phase, PHASES, "status.phase", false));
  if (s(status.nominatedNodeName) !== "") errs.push(...validateSubdomain(status.nominatedNodeName, "status.nominatedNodeName"));
  const seen = new Set<string>();
  objects(status.podIPs).forEach(([ip, i]) => {
    const text = s(ip.ip);
    errs.push(...validateIP(text, `status.podIPs[${i}].ip`));
    if (seen.has(text)) errs.push(field.duplicate(`status.podIPs[${i}]`, text));
    seen.add(text);
  });
  const podIPs = arr(status.podIPs);
  if (s(status.podIP) !== "" && podIPs.length > 0 && s(get(podIPs[0], "ip")) !== s(status.podIP)) {
    errs.push(field.invalid("status.podIPs[0]", podIPs, "must match `status.podIP`"));
  }
  // A finished container cannot come back to life when the pod never restarts it.
  if (get(old, "spec", "restartPolicy") === "Never") {
    const oldStatuses = new Map(objects(get(old, "status", "containerStatuses")).map(([c]) => [s(c.name), c]));
    objects(status.containerStatuses).forEach(([c, i]) => {
      const before = oldStatuses.get(s(c.name));
      if (before && isObj(get(before, "state", "terminated")) && !isObj(get(c, "state", "terminated"))) {
        errs.push(field.forbidden(`status.containerStatuses[${i}].state`, "may not be transitioned to non-terminated state"));
      }
    });
  }
  return errs;
}
