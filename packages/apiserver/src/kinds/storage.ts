// Book 8.1-8.2: storage.k8s.io StorageClasses — which provisioner creates volumes for a claim,
// with what parameters, reclaim policy and binding mode; "(default)" marks the cluster default.
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { obj, s, semanticEqual, setDefaultStr, type JsonObject } from "./json.js";
import { age, ageColumn, col, nameColumn, nameOf } from "./tables.js";
import { isQualifiedName, validateImmutable } from "./meta.js";
import { oneOf } from "./validation.js";

const MAX_PARAMETERS = 512;
const MAX_PARAMETERS_SIZE = 256 * 1024;

/** Whether a StorageClass is marked as the default for claims that name none. */
export function isDefaultStorageClass(sc: KubeObject): boolean {
  const a = obj(sc.metadata.annotations) ?? {};
  return a["storageclass.kubernetes.io/is-default-class"] === "true" || a["storageclass.beta.kubernetes.io/is-default-class"] === "true";
}

function validateStorageClass(sc: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const provisioner = s(sc.provisioner);
  if (provisioner === "") errs.push(field.required("provisioner", ""));
  else {
    for (const msg of isQualifiedName(provisioner.toLowerCase())) errs.push(field.invalid("provisioner", provisioner, msg));
    if (provisioner.length > 63) errs.push(field.tooLong("provisioner", provisioner, 63));
  }
  const params = obj(sc.parameters) ?? {};
  let size = 0;
  for (const [k, v] of Object.entries(params)) {
    if (k === "") errs.push(field.invalid("parameters", k, "key cannot be empty"));
    size += k.length + (typeof v === "string" ? v.length : 0);
  }
  if (Object.keys(params).length > MAX_PARAMETERS) errs.push(field.tooMany("parameters", Object.keys(params).length, MAX_PARAMETERS));
  if (size > MAX_PARAMETERS_SIZE) errs.push(field.tooLong("parameters", "", MAX_PARAMETERS_SIZE));
  errs.push(...oneOf(sc.reclaimPolicy, ["Delete", "Retain"], "reclaimPolicy", false));
  errs.push(...oneOf(sc.volumeBindingMode, ["Immediate", "WaitForFirstConsumer"], "volumeBindingMode", false));
  return errs;
}

function validateStorageClassUpdate(sc: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if (!semanticEqual(sc.parameters, old.parameters)) errs.push(field.forbidden("parameters", "updates to parameters are forbidden."));
  if (s(sc.provisioner) !== s(old.provisioner)) errs.push(field.forbidden("provisioner", "updates to provisioner are forbidden."));
  if (s(sc.reclaimPolicy) !== s(old.reclaimPolicy)) errs.push(field.forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."));
  errs.push(...validateImmutable(sc.volumeBindingMode, old.volumeBindingMode, "volumeBindingMode"));
  return errs;
}

export const storageClasses: ResourceDef = {
  group: "storage.k8s.io",
  version: "v1",
  resource: "storageclasses",
  kind: "StorageClass",
  listKind: "StorageClassList",
  singular: "storageclass",
  namespaced: false,
  shortNames: ["sc"],
  schemaName: "io.k8s.api.storage.v1.StorageClass",
  strategy: {
    defaults(sc) {
      setDefaultStr(sc as JsonObject, "reclaimPolicy", "Delete");
      setDefaultStr(sc as JsonObject, "volumeBindingMode", "Immediate");
    },
    validate: validateStorageClass,
    validateUpdate: validateStorageClassUpdate,
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [
      nameColumn(),
      col("Provisioner", "string", "The driver that creates volumes of this class."),
      col("ReclaimPolicy", "string", "What happens to a volume when its claim goes away."),
      col("VolumeBindingMode", "string", "Immediate, or WaitForFirstConsumer (bind once a pod is scheduled)."),
      col("AllowVolumeExpansion", "string", "Whether claims of this class may grow."),
      ageColumn(),
    ],
    cells: (sc, now) => [
      isDefaultStorageClass(sc) ? `${nameOf(sc)} (default)` : nameOf(sc),
      s(sc.provisioner),
      s(sc.reclaimPolicy) || "Delete",
      s(sc.volumeBindingMode) || "Immediate",
      sc.allowVolumeExpansion === true,
      age(sc, now),
    ],
  },
};
