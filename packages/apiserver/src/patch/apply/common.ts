// Book 11.2 and 12.3: what field management leaves out — type and identity fields no manager owns,
// and the half of an object (status or spec) that a given endpoint is not allowed to write.
import type { KubeObject } from "../../registry/types.js";
import { FieldSet } from "./fieldset.js";
import { fieldPE } from "./fieldpath.js";
import type { NullPolicy } from "./merge.js";
import { clone, isObject } from "./value.js";

/** Server-set metadata: never owned, and an explicit null for them in a configuration is ignored. */
export const SERVER_METADATA = [
  "name",
  "namespace",
  "creationTimestamp",
  "selfLink",
  "uid",
  "clusterName",
  "generation",
  "managedFields",
  "resourceVersion",
] as const;

/** Paths removed from the acting manager's set after every operation. */
export const STRIPPED: FieldSet = FieldSet.of(
  [fieldPE("apiVersion")],
  [fieldPE("kind")],
  [fieldPE("metadata")],
  ...SERVER_METADATA.map((n) => [fieldPE("metadata"), fieldPE(n)]),
);

/**
 * Fields an endpoint resets whatever the request says, so nobody owns them through it: the main
 * resource does not write status; the status subresource does not write spec.
 */
export function ignoredFields(subresource: string | undefined): FieldSet {
  if (subresource === undefined || subresource === "") return FieldSet.of([fieldPE("status")]);
  if (subresource === "status") return FieldSet.of([fieldPE("spec")]);
  return new FieldSet();
}

/** A copy of the object without metadata.managedFields (they are never part of the comparison). */
export function withoutManagedFields(obj: KubeObject | undefined): Record<string, unknown> {
  if (!isObject(obj)) return {};
  const copy = clone(obj) as Record<string, unknown>;
  if (isObject(copy.metadata)) delete copy.metadata.managedFields;
  return copy;
}

/**
 * The object without metadata.managedFields, for reading only: a shallow copy of the object and
 * of its metadata, sharing everything else. compare() never changes its inputs, so a full deep
 * copy (which cost more than the comparison itself on every write) is not needed there.
 */
export function viewWithoutManagedFields(obj: KubeObject | undefined): Record<string, unknown> {
  if (!isObject(obj)) return {};
  const view: Record<string, unknown> = { ...obj };
  if (isObject(view.metadata)) {
    const { managedFields: _mf, ...meta } = view.metadata;
    view.metadata = meta;
  }
  return view;
}

/** Nulls in an applied configuration drop fields, except identity fields, which keep the live value. */
export const keepServerFieldsOnNull: NullPolicy = (path, key) => {
  if (path.length === 0 && (key === "apiVersion" || key === "kind" || key === "metadata")) return "keep-live";
  if (path.length === 1 && path[0]!.t === "f" && path[0]!.name === "metadata" && (SERVER_METADATA as readonly string[]).includes(key)) {
    return "keep-live";
  }
  return "drop";
};
