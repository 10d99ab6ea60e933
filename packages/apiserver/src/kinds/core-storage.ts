// Book 7.3 and 8.1-8.2: PersistentVolumes and PersistentVolumeClaims — capacity, access modes, one
// source per PV, Pending at creation, claims that only grow once bound, and their `kubectl get` rows.
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, RequestContext, ResourceDef } from "../registry/types.js";
import { arr, clone, ensureObj, get, obj, s, semanticEqual, setDefault, setDefaultStr, type JsonObject } from "./json.js";
import { validateLabelSelector } from "./meta.js";
import { accessModesString, age, ageColumn, col, nameColumn, nameOf } from "./tables.js";
import { oneOf, quantityOf, validateQuantity, validateSubdomain } from "./validation.js";

export const ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];
const VOLUME_MODES = ["Block", "Filesystem"];

/** The volume source keys a PersistentVolume may carry (exactly one of them). */
export const PV_SOURCES = [
  "hostPath",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "nfs",
  "iscsi",
  "glusterfs",
  "rbd",
  "flexVolume",
  "cinder",
  "cephfs",
  "flocker",
  "fc",
  "azureFile",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "photonPersistentDisk",
  "portworxVolume",
  "scaleIO",
  "local",
  "storageos",
  "csi",
];

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function validateAccessModes(modes: unknown, path: string): FieldError[] {
  const list = arr(modes);
  if (list.length === 0) return [field.required(path, "at least 1 access mode is required")];
  const errs: FieldError[] = [];
  list.forEach((m) => {
    if (!ACCESS_MODES.includes(m as string)) errs.push(field.notSupported(path, m, ACCESS_MODES));
  });
  if (list.includes("ReadWriteOncePod") && list.length > 1) errs.push(field.forbidden(path, "may not use ReadWriteOncePod with other access modes"));
  return errs;
}

/** The storage class a PV or claim names: the old beta annotation wins over the field. */
export function storageClassOf(o: KubeObject): string {
  const annotated = obj(o.metadata?.annotations)?.["volume.beta.kubernetes.io/storage-class"];
  if (typeof annotated === "string") return annotated;
  return s(get(o, "spec", "storageClassName"));
}

// ---------------------------------------------------------------------------------------------
// PersistentVolume.

function validatePV(pv: KubeObject): FieldError[] {
  const spec = obj(pv.spec) ?? {};
  const errs: FieldError[] = [];
  const capacity = obj(spec.capacity);
  if (!capacity || Object.keys(capacity).length === 0) errs.push(field.required("spec.capacity", ""));
  else {
    const keys = Object.keys(capacity);
    if (!keys.includes("storage") || keys.length > 1) errs.push(field.notSupported("spec.capacity", keys, ["storage"]));
    for (const [k, v] of Object.entries(capacity)) {
      errs.push(...validateQuantity(v, `spec.capacity[${k}]`));
      if (quantityOf(v)?.isZero()) errs.push(field.invalid(`spec.capacity[${k}]`, v, "must be greater than zero"));
    }
  }
  errs.push(...validateAccessModes(spec.accessModes, "spec.accessModes"));
  errs.push(...oneOf(spec.persistentVolumeReclaimPolicy, ["Delete", "Recycle", "Retain"], "spec.persistentVolumeReclaimPolicy"));
  errs.push(...oneOf(spec.volumeMode, VOLUME_MODES, "spec.volumeMode", false));
  const present = PV_SOURCES.filter((k) => spec[k] !== undefined && spec[k] !== null);
  if (present.length === 0) errs.push(field.required("spec", "must specify a volume type"));
  if (present.length > 1) errs.push(field.forbidden(`spec.${present[1]}`, "may not specify more than 1 volume type"));
  const hostPath = obj(spec.hostPath);
  if (hostPath && s(hostPath.path) === "") errs.push(field.required("spec.hostPath.path", ""));
  const local = obj(spec.local);
  if (local) {
    if (s(local.path) === "") errs.push(field.required("spec.local.path", ""));
    if (!obj(spec.nodeAffinity)) errs.push(field.required("spec.nodeAffinity", "Local volume requires node affinity"));
  }
  const csi = obj(spec.csi);
  if (csi) {
    if (s(csi.driver) === "") errs.push(field.required("spec.csi.driver", ""));
    if (s(csi.volumeHandle) === "") errs.push(field.required("spec.csi.volumeHandle", ""));
  }
  if (s(spec.storageClassName) !== "") errs.push(...validateSubdomain(spec.storageClassName, "spec.storageClassName"));
  const claimRef = obj(spec.claimRef);
  if (claimRef && s(claimRef.name) === "") errs.push(field.required("spec.claimRef.name", ""));
  return errs;
}

function validatePVUpdate(pv: KubeObject, old: KubeObject): FieldError[] {
  const spec = obj(pv.spec) ?? {};
  const prev = obj(old.spec) ?? {};
  const errs: FieldError[] = [];
  const source = (sp: JsonObject) => Object.fromEntries(PV_SOURCES.map((k) => [k, sp[k]]));
  if (!semanticEqual(source(spec), source(prev))) {
    errs.push(field.forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after creation"));
  }
  if (s(spec.volumeMode) !== s(prev.volumeMode)) errs.push(field.invalid("spec.volumeMode", spec.volumeMode ?? null, "field is immutable"));
  if (obj(prev.nodeAffinity) && !semanticEqual(spec.nodeAffinity, prev.nodeAffinity)) errs.push(field.invalid("spec.nodeAffinity", spec.nodeAffinity ?? null, "field is immutable"));
  return errs;
}

export const persistentVolumes: ResourceDef = {
  group: "",
  version: "v1",
  resource: "persistentvolumes",
  kind: "PersistentVolume",
  listKind: "PersistentVolumeList",
  singular: "persistentvolume",
  namespaced: false,
  shortNames: ["pv"],
  schemaName: "io.k8s.api.core.v1.PersistentVolume",
  subresources: { status: true },
  strategy: {
    defaults(pv) {
      const spec = ensureObj(pv as JsonObject, "spec");
      setDefaultStr(spec, "persistentVolumeReclaimPolicy", "Retain");
      setDefault(spec, "volumeMode", "Filesystem");
    },
    prepareForCreate(pv, ctx: RequestContext) {
      pv.status = { phase: "Pending", lastPhaseTransitionTime: rfc3339(ctx.now) };
    },
    prepareForStatusUpdate(pv, old, ctx: RequestContext) {
      const status = ensureObj(pv as JsonObject, "status");
      if (s(status.phase) !== s(get(old, "status", "phase"))) status.lastPhaseTransitionTime = rfc3339(ctx.now);
    },
    validate: validatePV,
    validateUpdate: validatePVUpdate,
    validateStatusUpdate: (pv) => oneOf(get(pv, "status", "phase"), ["Available", "Bound", "Failed", "Pending", "Released"], "status.phase", false),
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [
      nameColumn(),
      col("Capacity", "string", "The volume's size."),
      col("Access Modes", "string", "How the volume can be mounted (RWO, ROX, RWX, RWOP)."),
      col("Reclaim Policy", "string", "What happens to the volume when its claim goes away."),
      col("Status", "string", "The volume's phase: Pending, Available, Bound, Released or Failed."),
      col("Claim", "string", "The claim bound to the volume, as namespace/name."),
      col("StorageClass", "string", "The storage class of the volume."),
      col("VolumeAttributesClass", "string", "The volume attributes class of the volume."),
      col("Reason", "string", "Why the volume is in its phase, when known."),
      ageColumn(),
      col("VolumeMode", "string", "Filesystem or Block.", 1),
    ],
    cells(pv, now) {
      const spec = obj(pv.spec) ?? {};
      const claimRef = obj(spec.claimRef);
      const phase = s(pv.metadata?.deletionTimestamp) !== "" ? "Terminating" : s(get(pv, "status", "phase"));
      const capacity = get(spec, "capacity", "storage");
      return [
        nameOf(pv),
        capacity === undefined ? "0" : (quantityOf(capacity)?.toString() ?? String(capacity)),
        accessModesString(spec.accessModes),
        s(spec.persistentVolumeReclaimPolicy),
        phase,
        claimRef ? `${s(claimRef.namespace)}/${s(claimRef.name)}` : "",
        storageClassOf(pv),
        s(spec.volumeAttributesClassName) || "<unset>",
        s(get(pv, "status", "reason")),
        age(pv, now),
        s(spec.volumeMode) || "<unset>",
      ];
    },
  },
};

// ---------------------------------------------------------------------------------------------
// PersistentVolumeClaim.

/** A claim's spec checks; `path` is "spec" for claims, deeper for StatefulSet claim templates. */
export function validateClaimSpec(spec: unknown, path: string): FieldError[] {
  const sp = obj(spec) ?? {};
  const errs: FieldError[] = [];
  errs.push(...validateAccessModes(sp.accessModes, `${path}.accessModes`));
  errs.push(...validateLabelSelector(sp.selector, `${path}.selector`));
  const storage = get(sp, "resources", "requests", "storage");
  if (storage === undefined) errs.push(field.required(`${path}.resources[storage]`, ""));
  else {
    errs.push(...validateQuantity(storage, `${path}.resources.requests[storage]`));
    if (quantityOf(storage)?.isZero()) errs.push(field.invalid(`${path}.resources[storage]`, storage, "must be greater than zero"));
  }
  errs.push(...oneOf(sp.volumeMode, VOLUME_MODES, `${path}.volumeMode`, false));
  if (s(sp.storageClassName) !== "") errs.push(...validateSubdomain(sp.storageClassName, `${path}.storageClassName`));
  const dataSource = obj(sp.dataSource);
  if (dataSource) {
    if (s(dataSource.name) === "") errs.push(field.required(`${path}.dataSource.name`, ""));
    if (s(dataSource.kind) === "") errs.push(field.required(`${path}.dataSource.kind`, ""));
  }
  return errs;
}

/** A claim's spec is fixed after creation, except binding (volumeName once), a class for a classless claim, and growing a bound claim. */
function validatePVCUpdate(pvc: KubeObject, old: KubeObject): FieldError[] {
  const spec = obj(pvc.spec) ?? {};
  const prev = obj(old.spec) ?? {};
  const errs: FieldError[] = [];
  const munged = clone(spec);
  if (s(prev.volumeName) === "") munged.volumeName = prev.volumeName;
  if (prev.storageClassName === undefined || prev.storageClassName === null) munged.storageClassName = prev.storageClassName;
  const bound = s(get(old, "status", "phase")) === "Bound" || s(prev.volumeName) !== "";
  if (bound) {
    // A bound claim may ask for more storage (and another attributes class); nothing else.
    const oldStorage = get(prev, "resources", "requests", "storage");
    const requests = ensureObj(ensureObj(munged, "resources"), "requests");
    if (oldStorage === undefined) delete requests.storage;
    else requests.storage = oldStorage;
    munged.volumeAttributesClassName = prev.volumeAttributesClassName;
    const now = quantityOf(get(spec, "resources", "requests", "storage"));
    const before = quantityOf(oldStorage);
    if (now && before && now.cmp(before) < 0) {
      errs.push(field.forbidden("spec.resources.requests.storage", "field can not be less than previous value"));
    }
  }
  if (!semanticEqual(munged, prev)) {
    errs.push(field.forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"));
  }
  return errs;
}

export const persistentVolumeClaims: ResourceDef = {
  group: "",
  version: "v1",
  resource: "persistentvolumeclaims",
  kind: "PersistentVolumeClaim",
  listKind: "PersistentVolumeClaimList",
  singular: "persistentvolumeclaim",
  namespaced: true,
  shortNames: ["pvc"],
  schemaName: "io.k8s.api.core.v1.PersistentVolumeClaim",
  subresources: { status: true },
  strategy: {
    defaults(pvc) {
      setDefault(ensureObj(pvc as JsonObject, "spec"), "volumeMode", "Filesystem");
    },
    prepareForCreate(pvc) {
      pvc.status = { phase: "Pending" };
    },
    validate: (pvc) => validateClaimSpec(pvc.spec, "spec"),
    validateUpdate: validatePVCUpdate,
    validateStatusUpdate: (pvc) => oneOf(get(pvc, "status", "phase"), ["Bound", "Lost", "Pending"], "status.phase", false),
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [
      nameColumn(),
      col("Status", "string", "The claim's phase: Pending, Bound or Lost."),
      col("Volume", "string", "The volume bound to the claim."),
      col("Capacity", "string", "The bound volume's size."),
      col("Access Modes", "string", "How the bound volume can be mounted."),
      col("StorageClass", "string", "The storage class the claim asks for."),
      col("VolumeAttributesClass", "string", "The volume attributes class the claim asks for."),
      ageColumn(),
      col("VolumeMode", "string", "Filesystem or Block.", 1),
    ],
    cells(pvc, now) {
      const spec = obj(pvc.spec) ?? {};
      const phase = s(pvc.metadata?.deletionTimestamp) !== "" ? "Terminating" : s(get(pvc, "status", "phase"));
      const volume = s(spec.volumeName);
      let capacity = "";
      let modes = "";
      if (volume !== "") {
        modes = accessModesString(get(pvc, "status", "accessModes"));
        const c = get(pvc, "status", "capacity", "storage");
        capacity = c === undefined ? "0" : (quantityOf(c)?.toString() ?? String(c));
      }
      return [
        nameOf(pvc),
        phase,
        volume,
        capacity,
        modes,
        storageClassOf(pvc),
        s(spec.volumeAttributesClassName) || "<unset>",
        age(pvc, now),
        s(spec.volumeMode) || "<unset>",
      ];
    },
  },
};
