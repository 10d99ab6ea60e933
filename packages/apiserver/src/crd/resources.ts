// Book 11.2: a CRD becomes served resources — one ResourceDef per served version (strategy that prunes,
// defaults and validates; printer-column Table) and the OpenAPI schemas `kubectl explain` reads.
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, RequestContext, ResourceDef, ScaleDef, Strategy, TableColumn, TableConvertor } from "../registry/types.js";
import type { Schema } from "../schema/types.js";
import { ageOf } from "./age.js";
import { applyDefaults } from "./defaulting.js";
import { findFirst, formatValue, parseJsonPath, type JsonPath } from "./jsonpath.js";
import { pruneUnknownFields } from "./prune.js";
import { cachedValidator, type SchemaValidator } from "./schema-validator.js";
import type { CustomResourceColumnDefinition, CustomResourceDefinition, CustomResourceDefinitionVersion, JSONSchemaProps } from "./types.js";

type Obj = Record<string, unknown>;
const isRecord = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isNode = (v: unknown): v is JSONSchemaProps => typeof v === "object" && v !== null && !Array.isArray(v);
const isNodeMap = (v: unknown): v is Record<string, JSONSchemaProps> => isNode(v);

export const OBJECT_META_REF = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/** The components.schemas name of a custom kind: reversed group, version, kind ("com.example.stable.v1.CronTab"). */
export function schemaNameFor(group: string, version: string, kind: string): string {
  return [...group.split(".").reverse(), version, kind].join(".");
}

interface Names {
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  shortNames: string[];
  categories: string[];
}

function namesOf(crd: CustomResourceDefinition): Names {
  const n = crd.spec.names ?? {};
  const kind = n.kind ?? "";
  return {
    plural: n.plural ?? "",
    singular: n.singular || kind.toLowerCase(),
    kind,
    listKind: n.listKind || `${kind}List`,
    shortNames: n.shortNames ?? [],
    categories: n.categories ?? [],
  };
}

function servedVersions(crd: CustomResourceDefinition): CustomResourceDefinitionVersion[] {
  return (crd.spec.versions ?? []).filter((v) => v.served === true);
}

function versionOf(crd: CustomResourceDefinition, version: string): CustomResourceDefinitionVersion | undefined {
  return (crd.spec.versions ?? []).find((v) => v.name === version);
}

function schemaOf(v: CustomResourceDefinitionVersion | undefined): JSONSchemaProps | undefined {
  const s = v?.schema?.openAPIV3Schema;
  return isNode(s) ? s : undefined;
}

/**
 * Prune, in place, the fields of a custom object that its version's schema does not know, returning
 * their paths ("spec.foo") — for `unknown field` warnings, or errors under fieldValidation=Strict.
 * The strategy's defaults() prunes too; calling this first only tells you what goes.
 */
export function pruneCustomResource(crd: CustomResourceDefinition, version: string, obj: KubeObject): string[] {
  const schema = schemaOf(versionOf(crd, version));
  return schema ? pruneUnknownFields(obj, schema, { resourceRoot: true }) : [];
}

// ---------------------------------------------------------------------------------------------
// Tables

const NAME_COLUMN: TableColumn = {
  name: "Name",
  type: "string",
  format: "name",
  description: "The object's name, unique within its namespace or cluster.",
  priority: 0,
};

/** What a CRD without printer columns shows after NAME, as upstream's default. */
const AGE_COLUMN: CustomResourceColumnDefinition = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
  description: "How long ago the object was created.",
};

const COLUMN_TYPES = new Set<TableColumn["type"]>(["string", "integer", "number", "boolean", "date"]);

/** One cell as kube-apiserver renders it: typed for integer/number/boolean, an age for dates, null when absent. */
function cell(col: CustomResourceColumnDefinition, path: JsonPath | undefined, obj: KubeObject, now: Date): unknown {
  if (!path) return null;
  const { found, value } = findFirst(path, obj);
  if (!found || value === null || value === undefined) return null;
  switch (col.type) {
    case "string":
      return formatValue(value);
    case "integer":
      return typeof value === "number" ? Math.trunc(value) : null;
    case "number":
      return typeof value === "number" ? value : null;
    case "boolean":
      return typeof value === "boolean" ? value : null;
    case "date":
      return typeof value === "string" ? ageOf(value, now) : null;
    default:
      return null;
  }
}

/**
 * The Table of a CRD version: Name, then its additionalPrinterColumns (or an Age column when it has
 * none, as upstream does — a CRD that lists columns and wants AGE lists it too).
 */
export function customResourceTable(version: CustomResourceDefinitionVersion): TableConvertor {
  const declared = version.additionalPrinterColumns ?? [];
  const cols = declared.length > 0 ? declared : [AGE_COLUMN];
  const paths = cols.map((c) => {
    try {
      return parseJsonPath(c.jsonPath);
    } catch {
      return undefined; // rejected when the CRD was validated; an unreadable column stays empty
    }
  });
  const columns: TableColumn[] = [NAME_COLUMN];
  for (const c of cols) {
    const col: TableColumn = {
      name: c.name,
      type: COLUMN_TYPES.has(c.type as TableColumn["type"]) ? (c.type as TableColumn["type"]) : "string",
      description: c.description ?? "",
      priority: c.priority ?? 0,
    };
    if (c.format) col.format = c.format;
    columns.push(col);
  }
  return {
    columns,
    cells(obj, now) {
      return [obj.metadata.name ?? "", ...cols.map((c, i) => cell(c, paths[i], obj, now))];
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Strategy

function lookup(obj: unknown, path: string): { found: boolean; value: unknown } {
  try {
    return findFirst(path, obj);
  } catch {
    return { found: false, value: undefined };
  }
}

const MAX_INT32 = 2 ** 31 - 1;

function replicasErrors(obj: KubeObject, path: string): FieldError[] {
  const { found, value } = lookup(obj, path);
  if (!found) return [];
  if (typeof value !== "number" || !Number.isInteger(value)) return [field.invalid(path, value, "should be an integer")];
  if (value < 0) return [field.invalid(path, value, "should be a non-negative integer")];
  if (value > MAX_INT32) return [field.invalid(path, value, `should be less than or equal to ${MAX_INT32}`)];
  return [];
}

function selectorErrors(obj: KubeObject, path: string | undefined): FieldError[] {
  if (!path) return [];
  const { found, value } = lookup(obj, path);
  return found && typeof value !== "string" ? [field.invalid(path, value, "should be a string")] : [];
}

/** Scale checks whose field the schema already complained about add nothing but noise. */
function unlessReported(schemaErrs: readonly FieldError[], scaleErrs: readonly FieldError[]): FieldError[] {
  const reported = new Set(schemaErrs.map((e) => e.field));
  return scaleErrs.filter((e) => !reported.has(e.field.replace(/^\./, "")));
}

function deprecationWarning(crd: CustomResourceDefinition, v: CustomResourceDefinitionVersion): string | undefined {
  if (v.deprecated !== true) return undefined;
  return v.deprecationWarning || `${crd.spec.group}/${v.name} ${crd.spec.names.kind ?? ""} is deprecated`;
}

function customResourceStrategy(crd: CustomResourceDefinition, v: CustomResourceDefinitionVersion): Strategy {
  const schema = schemaOf(v);
  const key = `${crd.metadata.name ?? ""}/${v.name}`;
  const scale = v.subresources?.scale;
  const warning = deprecationWarning(crd, v);
  const warn = (ctx: RequestContext): void => {
    if (warning && !ctx.warnings.includes(warning)) ctx.warnings.push(warning);
  };
  let validator: SchemaValidator | undefined; // compiled on first use, shared through the cache
  const schemaErrors = (obj: KubeObject): FieldError[] => {
    if (!schema) return [];
    try {
      validator ??= cachedValidator(key, schema);
      return validator.validate(obj);
    } catch (err) {
      return [field.internal("", err)];
    }
  };
  return {
    defaults(obj) {
      if (!schema) return;
      pruneUnknownFields(obj, schema, { resourceRoot: true });
      applyDefaults(obj, schema);
    },
    prepareForCreate: (_obj, ctx) => warn(ctx),
    prepareForUpdate: (_obj, _old, ctx) => warn(ctx),
    validate(obj) {
      const errs = schemaErrors(obj);
      if (scale) errs.push(...unlessReported(errs, replicasErrors(obj, scale.specReplicasPath)));
      return errs;
    },
    validateStatusUpdate(obj) {
      const errs = schemaErrors(obj);
      if (scale) errs.push(...unlessReported(errs, [...replicasErrors(obj, scale.statusReplicasPath), ...selectorErrors(obj, scale.labelSelectorPath)]));
      return errs;
    },
    allowCreateOnUpdate: false,
  };
}

function selectableFields(v: CustomResourceDefinitionVersion): ((obj: KubeObject) => Record<string, string>) | undefined {
  const paths = (v.selectableFields ?? []).flatMap((f) => {
    try {
      return [{ name: f.jsonPath.replace(/^\./, ""), path: parseJsonPath(f.jsonPath) }];
    } catch {
      return [];
    }
  });
  if (paths.length === 0) return undefined;
  return (obj) => {
    const out: Record<string, string> = {};
    for (const { name, path } of paths) {
      const { found, value } = findFirst(path, obj);
      out[name] = found && value !== null && value !== undefined ? formatValue(value) : "";
    }
    return out;
  };
}

function resourceDef(crd: CustomResourceDefinition, v: CustomResourceDefinitionVersion): ResourceDef {
  const names = namesOf(crd);
  const def: ResourceDef = {
    group: crd.spec.group,
    version: v.name,
    resource: names.plural,
    kind: names.kind,
    listKind: names.listKind,
    singular: names.singular,
    namespaced: crd.spec.scope === "Namespaced",
    schemaName: schemaNameFor(crd.spec.group, v.name, names.kind),
    strategy: customResourceStrategy(crd, v),
    table: customResourceTable(v),
    crd: crd.metadata.name ?? `${names.plural}.${crd.spec.group}`,
  };
  if (names.shortNames.length > 0) def.shortNames = [...names.shortNames];
  if (names.categories.length > 0) def.categories = [...names.categories];
  const sub = v.subresources;
  const subresources: NonNullable<ResourceDef["subresources"]> = {};
  if (isRecord(sub?.status)) subresources.status = true;
  if (sub?.scale) {
    const scale: ScaleDef = { specReplicasPath: sub.scale.specReplicasPath, statusReplicasPath: sub.scale.statusReplicasPath };
    if (sub.scale.labelSelectorPath) scale.labelSelectorPath = sub.scale.labelSelectorPath;
    subresources.scale = scale;
  }
  if (subresources.status || subresources.scale) def.subresources = subresources;
  const fields = selectableFields(v);
  if (fields) def.fields = fields;
  return def;
}

/** One ResourceDef per served version of a (validated) CRD; none while no version is served. */
export function crdToResourceDefs(crd: CustomResourceDefinition): ResourceDef[] {
  return servedVersions(crd).map((v) => resourceDef(crd, v));
}

// ---------------------------------------------------------------------------------------------
// OpenAPI

const SCHEMA_KEYS = [
  "format",
  "description",
  "required",
  "enum",
  "default",
  "nullable",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "pattern",
] as const;
const TYPES = new Set(["object", "array", "string", "integer", "number", "boolean"]);

/** A CRD schema node in the shape of schema/types.ts (keywords it has no field for are left out). */
export function toSchema(node: JSONSchemaProps): Schema {
  const out: Schema = {};
  if (!isNode(node)) return out;
  if (typeof node.type === "string" && TYPES.has(node.type)) out.type = node.type as Schema["type"];
  const copy = out as Record<string, unknown>;
  for (const k of SCHEMA_KEYS) if (node[k] !== undefined) copy[k] = structuredClone(node[k]);
  for (const [k, v] of Object.entries(node)) if (k.startsWith("x-kubernetes-")) copy[k] = structuredClone(v);
  if (isNodeMap(node.properties)) {
    out.properties = {};
    for (const [k, v] of Object.entries(node.properties)) out.properties[k] = toSchema(v);
  }
  if (isNode(node.items)) out.items = toSchema(node.items);
  if (typeof node.additionalProperties === "boolean") out.additionalProperties = node.additionalProperties;
  else if (isNode(node.additionalProperties)) out.additionalProperties = toSchema(node.additionalProperties);
  for (const k of ["allOf", "anyOf", "oneOf"] as const) {
    const list = node[k];
    if (Array.isArray(list)) out[k] = list.map(toSchema);
  }
  if (isNode(node.not)) out.not = toSchema(node.not);
  return out;
}

/** The whole-kind schema of one version: TypeMeta and ObjectMeta at the root, then the CRD's own fields. */
function kindSchema(crd: CustomResourceDefinition, v: CustomResourceDefinitionVersion, names: Names): Schema {
  const root = schemaOf(v) ?? { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  const own = toSchema(root);
  const properties: Record<string, Schema> = {
    apiVersion: { type: "string", description: "The versioned schema of this object: <group>/<version>." },
    kind: { type: "string", description: "The kind of this object, in CamelCase." },
    metadata: { $ref: OBJECT_META_REF },
  };
  for (const [k, s] of Object.entries(own.properties ?? {})) {
    if (k !== "apiVersion" && k !== "kind" && k !== "metadata") properties[k] = s;
  }
  const out: Schema = { ...own, type: "object", properties };
  out["x-kubernetes-group-version-kind"] = [{ group: crd.spec.group, version: v.name, kind: names.kind }];
  return out;
}

/** components.schemas entries for a CRD: one whole-kind schema per served version, under its schemaName. */
export function crdSchemas(crd: CustomResourceDefinition): Record<string, Schema> {
  const names = namesOf(crd);
  const out: Record<string, Schema> = {};
  for (const v of servedVersions(crd)) out[schemaNameFor(crd.spec.group, v.name, names.kind)] = kindSchema(crd, v, names);
  return out;
}
