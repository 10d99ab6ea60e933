// Book 8.1-8.2: storage.k8s.io StorageClass — which provisioner makes volumes for a claim, and how.
import type { Schema } from "./types.js";
import {
  arr,
  bool,
  CORE,
  dict,
  listOf,
  METADATA_FIELD,
  ref,
  root,
  STORAGE,
  str,
  strEnum,
} from "./dsl.js";

/** storage.k8s.io/v1 schemas, keyed by component name. */
export const storageSchemas: Record<string, Schema> = {
  [STORAGE + "StorageClass"]: root(
    "storage.k8s.io", "v1", "StorageClass",
    "A class of storage that claims can ask for, with its provisioner and parameters.",
    {
      metadata: METADATA_FIELD,
      provisioner: str("The provisioner that creates volumes of this class."),
      parameters: dict(str(), "Provisioner-specific parameters."),
      reclaimPolicy: strEnum(
        "Delete (the default) or Retain, for provisioned volumes.",
        ["Delete", "Recycle", "Retain"],
      ),
      mountOptions: arr(str(), "Mount options for provisioned volumes.", { list: "atomic" }),
      allowVolumeExpansion: bool("Whether claims of this class may grow."),
      volumeBindingMode: strEnum("Immediate or WaitForFirstConsumer.", ["Immediate", "WaitForFirstConsumer"]),
      allowedTopologies: arr(
        ref(CORE + "TopologySelectorTerm"),
        "Where volumes may be provisioned.",
        { list: "atomic" },
      ),
    },
    { required: ["provisioner"] },
  ),
  [STORAGE + "StorageClassList"]: listOf("storage.k8s.io", "v1", "StorageClass", STORAGE + "StorageClass"),
};
