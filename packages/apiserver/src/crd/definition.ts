// Book 11.2: the customresourcedefinitions resource (apiextensions.k8s.io/v1) — defaults, validation,
// the status Kubernetes' controllers would write (names accepted, Established) and `kubectl get crd`.
import type { KubeObject, RequestContext, ResourceDef, Strategy, TableConvertor } from "../registry/types.js";
import { stripUnknownKeywords, usesCELRules } from "./structural.js";
import {
  CRD_GROUP,
  CRD_KIND,
  CRD_VERSION,
  type CustomResourceDefinition,
  type CustomResourceDefinitionCondition,
  type CustomResourceDefinitionNames,
  type CustomResourceDefinitionStatus,
} from "./types.js";
import { validateCRD, validateCRDStatus, validateCRDUpdate } from "./validation.js";

type Obj = Record<string, unknown>;
const isRecord = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** RFC 3339 with second precision, as metav1.Time serializes. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Defaults of apiextensions/v1: conversion None, listKind = kind+"List", singular = lower-case kind. */
export function defaultCRD(obj: KubeObject): void {
  const spec = obj.spec;
  if (!isRecord(spec)) return;
  if (spec.conversion === undefined) spec.conversion = { strategy: "None" };
  const names = spec.names;
  if (!isRecord(names) || typeof names.kind !== "string" || names.kind === "") return;
  if (names.listKind === undefined || names.listKind === "") names.listKind = `${names.kind}List`;
  if (names.singular === undefined || names.singular === "") names.singular = names.kind.toLowerCase();
}

/** The version marked `storage: true`, if exactly one is. */
export function storageVersion(crd: CustomResourceDefinition | KubeObject): string | undefined {
  const spec = (crd as KubeObject).spec;
  const versions = isRecord(spec) && Array.isArray(spec.versions) ? spec.versions.filter(isRecord) : [];
  const stored = versions.filter((v) => v.storage === true);
  return stored.length === 1 && typeof stored[0]!.name === "string" ? stored[0]!.name : undefined;
}

function setCondition(
  conditions: CustomResourceDefinitionCondition[],
  type: string,
  reason: string,
  message: string,
  now: Date,
): CustomResourceDefinitionCondition[] {
  const prev = conditions.find((c) => c.type === type);
  const next: CustomResourceDefinitionCondition = {
    type,
    status: "True",
    lastTransitionTime: prev?.status === "True" && prev.lastTransitionTime ? prev.lastTransitionTime : rfc3339(now),
    reason,
    message,
  };
  return prev ? conditions.map((c) => (c === prev ? next : c)) : [...conditions, next];
}

/**
 * The status the CRD's controllers would settle on. Upstream, a naming controller accepts the names
 * and an establishing controller marks the CRD Established a moment later; corekube serves a CRD as
 * soon as it is stored, so both conditions are set here, at once, in the same write.
 */
export function establish(obj: KubeObject, previous: CustomResourceDefinitionStatus | undefined, now: Date): void {
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const status: CustomResourceDefinitionStatus = isRecord(previous) ? structuredClone(previous) : {};
  if (isRecord(spec.names)) status.acceptedNames = structuredClone(spec.names) as CustomResourceDefinitionNames;
  let conditions = Array.isArray(status.conditions) ? status.conditions.filter(isRecord) : [];
  conditions = setCondition(conditions, "NamesAccepted", "NoConflicts", "no conflicts found", now);
  conditions = setCondition(conditions, "Established", "InitialNamesAccepted", "the initial names have been accepted", now);
  status.conditions = conditions;
  const storage = storageVersion(obj);
  const stored = Array.isArray(status.storedVersions) ? status.storedVersions.filter((s) => typeof s === "string") : [];
  if (storage !== undefined && !stored.includes(storage)) stored.push(storage);
  status.storedVersions = stored;
  obj.status = status;
}

/**
 * Drop schema keywords JSONSchemaProps does not have (as decoding a CRD would) and tell the client,
 * and warn about what corekube does not enforce (CEL rules).
 */
function tidySchemas(obj: KubeObject, ctx: RequestContext): void {
  const spec = obj.spec;
  if (!isRecord(spec) || !Array.isArray(spec.versions)) return;
  spec.versions.forEach((v: unknown, i: number) => {
    if (!isRecord(v) || !isRecord(v.schema) || !isRecord(v.schema.openAPIV3Schema)) return;
    const schema = v.schema.openAPIV3Schema;
    for (const p of stripUnknownKeywords(schema, `spec.versions[${i}].schema.openAPIV3Schema`)) ctx.warnings.push(`unknown field "${p}"`);
    if (usesCELRules(schema)) {
      ctx.warnings.push(`spec.versions[${i}].schema.openAPIV3Schema: x-kubernetes-validations rules are stored but not enforced by corekube`);
    }
  });
}

const crdStrategy: Strategy = {
  defaults: defaultCRD,
  prepareForCreate(obj, ctx) {
    tidySchemas(obj, ctx);
    establish(obj, undefined, ctx.now);
  },
  prepareForUpdate(obj, old, ctx) {
    tidySchemas(obj, ctx);
    establish(obj, isRecord(old.status) ? (old.status as CustomResourceDefinitionStatus) : undefined, ctx.now);
  },
  validate: (obj) => validateCRD(obj),
  validateUpdate: (obj, old) => validateCRDUpdate(obj, old),
  validateStatusUpdate: (obj) => validateCRDStatus(obj),
  allowCreateOnUpdate: false,
};

/** `kubectl get crd`: NAME and CREATED AT (an RFC 3339 time, not an age, as upstream prints it). */
export const crdTable: TableConvertor = {
  columns: [
    { name: "Name", type: "string", format: "name", description: "The object's name, unique within its namespace or cluster.", priority: 0 },
    { name: "Created At", type: "date", description: "When the object was created (RFC 3339, UTC).", priority: 0 },
  ],
  cells(obj) {
    const ts = obj.metadata.creationTimestamp;
    const t = typeof ts === "string" ? Date.parse(ts) : Number.NaN;
    return [obj.metadata.name ?? "", Number.isNaN(t) ? "" : rfc3339(new Date(t))];
  },
};

/** The ResourceDef of customresourcedefinitions.apiextensions.k8s.io. */
export const customResourceDefinitionsDef: ResourceDef = {
  group: CRD_GROUP,
  version: CRD_VERSION,
  resource: "customresourcedefinitions",
  kind: CRD_KIND,
  listKind: `${CRD_KIND}List`,
  singular: "customresourcedefinition",
  namespaced: false,
  shortNames: ["crd", "crds"],
  categories: ["api-extensions"],
  schemaName: "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
  subresources: { status: true },
  strategy: crdStrategy,
  table: crdTable,
};
