// Book 11.2: a small builder language for API schemas. Each call returns a plain OpenAPI v3 node in
// Kubernetes' dialect, so a kind's schema reads almost like its Go type: fields, lists with their
// merge keys, maps, and references to other named schemas.
import type { GroupVersionKind, Schema } from "./types.js";

/** Where named schemas live inside an OpenAPI v3 document. */
export const REF_PREFIX = "#/components/schemas/";

/** Name prefixes of the schema components, in Kubernetes' own spelling. */
export const META = "io.k8s.apimachinery.pkg.apis.meta.v1.";
export const CORE = "io.k8s.api.core.v1.";
export const APPS = "io.k8s.api.apps.v1.";
export const BATCH = "io.k8s.api.batch.v1.";
export const AS1 = "io.k8s.api.autoscaling.v1.";
export const AS2 = "io.k8s.api.autoscaling.v2.";
export const COORD = "io.k8s.api.coordination.v1.";
export const DISC = "io.k8s.api.discovery.v1.";
export const EVENTS = "io.k8s.api.events.v1.";
export const NET = "io.k8s.api.networking.v1.";
export const STORAGE = "io.k8s.api.storage.v1.";
export const POLICY = "io.k8s.api.policy.v1.";
export const SCHED = "io.k8s.api.scheduling.v1.";
export const RBAC = "io.k8s.api.rbac.v1.";
export const APIEXT = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.";
export const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
export const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
export const RAW_EXTENSION = "io.k8s.apimachinery.pkg.runtime.RawExtension";

/** Anything else a node may carry: extensions, required, enum... */
export type Extra = Partial<Schema>;

function node(base: Schema, description?: string, extra?: Extra): Schema {
  const out: Schema = { ...base };
  if (description !== undefined) out.description = description;
  if (extra) Object.assign(out, extra);
  return out;
}

type Scalar = (description?: string, extra?: Extra) => Schema;
const scalar =
  (base: Schema): Scalar =>
  (description, extra) =>
    node(base, description, extra);

export const str = scalar({ type: "string" });
export const int32 = scalar({ type: "integer", format: "int32" });
export const int64 = scalar({ type: "integer", format: "int64" });
export const num = scalar({ type: "number", format: "double" });
export const bool = scalar({ type: "boolean" });
/** Binary data, base64 in JSON. */
export const bytes = scalar({ type: "string", format: "byte" });

/** A string limited to known values (a Go `+enum` type). */
export function strEnum(description: string | undefined, values: readonly string[], extra?: Extra): Schema {
  return node({ type: "string", enum: [...values] }, description, extra);
}

/**
 * A reference to a named schema. With a description or extensions it is wrapped in allOf, as
 * Kubernetes publishes it, because siblings of a bare $ref are ignored by OpenAPI 3.0 readers.
 */
export function ref(name: string, description?: string, extra?: Extra): Schema {
  const target: Schema = { $ref: REF_PREFIX + name };
  if (description === undefined && !extra) return target;
  return node({ allOf: [target] }, description, extra);
}

/** How a list merges: SSA list type and keys, SMP merge key and strategy. */
export interface ListSemantics {
  /** x-kubernetes-list-type */
  list?: "atomic" | "set" | "map";
  /** x-kubernetes-list-map-keys (with list: "map") */
  keys?: string[];
  /** Shorthand for patch strategy "merge" with this merge key. */
  merge?: string;
  /** x-kubernetes-patch-merge-key, when the strategy is not plain "merge". */
  mergeKey?: string;
  /** x-kubernetes-patch-strategy, e.g. "merge" (primitive lists) or "merge,retainKeys". */
  strategy?: string;
}

export function arr(items: Schema, description?: string, sem?: ListSemantics): Schema {
  const out = node({ type: "array", items }, description);
  if (!sem) return out;
  if (sem.merge !== undefined) {
    out["x-kubernetes-patch-merge-key"] = sem.merge;
    out["x-kubernetes-patch-strategy"] = "merge";
  }
  if (sem.mergeKey !== undefined) out["x-kubernetes-patch-merge-key"] = sem.mergeKey;
  if (sem.strategy !== undefined) out["x-kubernetes-patch-strategy"] = sem.strategy;
  if (sem.list !== undefined) out["x-kubernetes-list-type"] = sem.list;
  if (sem.keys !== undefined) out["x-kubernetes-list-map-keys"] = [...sem.keys];
  return out;
}

/** A map with string keys (Go map[string]T). */
export function dict(values: Schema, description?: string, extra?: Extra): Schema {
  return node({ type: "object", additionalProperties: values }, description, extra);
}

/** A struct: named properties (extra.required lists the ones that must be present). */
export function obj(description: string | undefined, properties: Record<string, Schema>, extra?: Extra): Schema {
  return node({ type: "object", properties }, description, extra);
}

/** An object whose fields are not modelled: anything is kept, nothing is reported unknown. */
export function loose(description: string): Schema {
  return { type: "object", description, "x-kubernetes-preserve-unknown-fields": true };
}

export const API_VERSION_FIELD: Schema = str("The object's schema version, as group/version (v1 for the core group).");
export const KIND_FIELD: Schema = str("The kind of this object, in CamelCase, e.g. Pod.");
/** Every kind's metadata field. */
export const METADATA_FIELD: Schema = ref(META + "ObjectMeta", "The object's metadata: name, namespace, labels, annotations and more.");
/** A kind's spec field: what the user wants. */
export const specField = (name: string): Schema => ref(name, "The desired state of the object.");
/** A kind's status field: what the system observed. */
export const statusField = (name: string): Schema => ref(name, "The observed state of the object, written by the system.");

/** The root schema of a kind: apiVersion and kind first, then its own fields, tagged with its GVK. */
export function root(
  group: string,
  version: string,
  kind: string,
  description: string | undefined,
  properties: Record<string, Schema>,
  extra?: Extra,
): Schema {
  const gvk: GroupVersionKind = { group, version, kind };
  return node(
    {
      type: "object",
      properties: { apiVersion: API_VERSION_FIELD, kind: KIND_FIELD, ...properties },
      "x-kubernetes-group-version-kind": [gvk],
    },
    description,
    extra,
  );
}

/** The list type of a kind ("DeploymentList"): list metadata and the items. */
export function listOf(group: string, version: string, kind: string, itemName: string): Schema {
  return root(
    group,
    version,
    `${kind}List`,
    `A list of ${kind} objects.`,
    {
      metadata: ref(META + "ListMeta", "List metadata: resourceVersion and the continue token."),
      items: arr(ref(itemName), `The ${kind} objects.`),
    },
    { required: ["items"] },
  );
}
